//! The seed README's server: a war game offered to every Telnet client.
//!
//! `cargo run -p telnetlib3 --example server_wargame [PORT]` (default 6023; 0 picks a free
//! port), then `telnet localhost 6023`. Prints `listening on ADDRESS` once ready.

use telnetlib3::{create_server, ServerConfig};

#[tokio::main]
async fn main() -> Result<(), telnetlib3::Error> {
    let mut config = ServerConfig::default();
    config.port = match std::env::args().nth(1) {
        Some(port) => port.parse().expect("usage: server_wargame [PORT]"),
        None => 6023,
    };
    let server = create_server(config, |mut reader, mut writer| async move {
        let _ = writer.write(b"\r\nWould you like to play a game? ").await;
        let answer = reader.read(1).await.unwrap_or_default();
        if !answer.is_empty() {
            let _ = writer
                .write(b"\r\nThey say the only way to win is to not play at all.\r\n")
                .await;
            let _ = writer.drain().await;
        }
    })
    .await?;
    println!("listening on {}", server.local_addrs()[0]);
    server.wait_closed().await;
    Ok(())
}
