//! A MUD client that prints every GMCP message the server sends (`GMCP Package {json}`),
//! the server's text as it comes, and sends each line typed on stdin; MCCP2 is accepted
//! when the server offers it.
//!
//! `cargo run -p telnetlib3 --example gmcp_client [HOST] [PORT]` (default localhost
//! 4000), for instance against `cargo run -p telnetlib3 --example mud_server`.

use std::io::{BufRead, Write};
use std::sync::Arc;

use telnetlib3::proto::options::gmcp;
use telnetlib3::proto::Event;
use telnetlib3::{open_connection, ClientConfig};

/// A client configuration whose event hook hands each GMCP message to `seen`.
pub fn config(seen: impl Fn(&gmcp::GmcpMessage) + Send + Sync + 'static) -> ClientConfig {
    let mut config = ClientConfig::default();
    // Announced in Core.Supports.Set after Core.Hello.
    config.gmcp_modules = vec!["Char 1".into(), "Room 1".into()];
    config.on_event = Some(Arc::new(move |event: &Event<'_>| {
        if let Event::Gmcp(gmcp::Event::Message(message)) = event {
            seen(message);
        }
    }));
    config
}

/// A GMCP message as this client prints it.
pub fn show(message: &gmcp::GmcpMessage) -> String {
    match &message.data {
        Some(data) => format!("GMCP {} {data}", message.package),
        None => format!("GMCP {}", message.package),
    }
}

#[tokio::main]
#[allow(dead_code)] // Included by a test, which has a main of its own.
async fn main() -> Result<(), telnetlib3::Error> {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "localhost".into());
    let port = match args.next() {
        Some(port) => port.parse().expect("usage: gmcp_client [HOST] [PORT]"),
        None => 4000,
    };
    let config = config(|message| println!("{}", show(message)));
    let (mut reader, mut writer) = open_connection(&host, port, config).await?;
    // Typed lines, from a thread (stdin blocks).
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        tokio::select! {
            data = reader.read(4096) => {
                let data = data?;
                if data.is_empty() {
                    break; // The server closed.
                }
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(&data);
                let _ = stdout.flush();
            }
            line = lines.recv() => {
                let Some(line) = line else { break };
                writer.write(format!("{line}\r\n").as_bytes()).await?;
            }
        }
    }
    writer.close().await;
    Ok(())
}
