//! The seed README's client: it plays the war game, answering every question with `y`.
//!
//! `cargo run -p telnetlib3 --example client_wargame [PORT]` (default 6023) against the
//! `server_wargame` example. Prints everything the server says.

use std::io::Write as _;

use telnetlib3::{open_connection_with_shell, ClientConfig};

#[tokio::main]
async fn main() -> Result<(), telnetlib3::Error> {
    let port = match std::env::args().nth(1) {
        Some(port) => port.parse().expect("usage: client_wargame [PORT]"),
        None => 6023,
    };
    open_connection_with_shell(
        "localhost",
        port,
        ClientConfig::default(),
        |mut reader, mut writer| async move {
            loop {
                let output = reader.read(1024).await.unwrap_or_default();
                if output.is_empty() {
                    break; // end of file
                }
                if output.contains(&b'?') {
                    // Reply to all questions with 'y'.
                    let _ = writer.write(b"y").await;
                }
                let mut stdout = std::io::stdout();
                let _ = stdout.write_all(&output);
                let _ = stdout.flush();
            }
        },
    )
    .await
}
