//! A chat server that keeps no list of its own: the server's [`Server::clients`] is the
//! list of who is here, and each client's name is set with [`Server::name_client`].
//!
//! `cargo run -p telnetlib3 --example chat_server [PORT [HOST]]` (default 6023 on
//! localhost; port 0 picks a free one), then `telnet localhost 6023` from several terminals. Prints
//! `listening on ADDRESS` once ready. Each client is asked a nickname; a line is sent to
//! everyone else as `<nick> line`; `/who` lists who is here, `/quit` leaves; arrivals
//! and departures are announced (`* nick has joined`, `* nick has left`).

use std::sync::Arc;

use telnetlib3::{create_server, Server, ServerConfig, TelnetReader, TelnetWriter};
use tokio::sync::SetOnce;

/// The longest nickname kept.
const NICK_MAX: usize = 20;

#[tokio::main]
async fn main() -> Result<(), telnetlib3::Error> {
    let mut config = ServerConfig::default();
    let mut args = std::env::args().skip(1);
    config.port = match args.next() {
        Some(port) => port.parse().expect("usage: chat_server [PORT [HOST]]"),
        None => 6023,
    };
    if let Some(host) = args.next() {
        config.host = host;
    }
    // Line mode: the client edits and echoes the line, and sends it whole.
    config.plan.line_mode = true;
    // The shells need the server, which exists once `create_server` returns.
    let cell: Arc<SetOnce<Server>> = Arc::new(SetOnce::new());
    let shells = Arc::clone(&cell);
    let server = create_server(config, move |reader, writer| {
        let cell = Arc::clone(&shells);
        async move {
            let server = cell.wait().await;
            chat(server, reader, writer).await;
        }
    })
    .await?;
    println!("listening on {}", server.local_addrs()[0]);
    let _ = cell.set(server);
    if let Some(server) = cell.get() {
        server.wait_closed().await;
    }
    Ok(())
}

/// One client's session: its nickname, then its lines until `/quit` or the end.
async fn chat(server: &Server, mut reader: TelnetReader, mut writer: TelnetWriter) {
    let Some(nick) = ask_nick(&mut reader, &mut writer).await else {
        return;
    };
    server.name_client(&writer, &nick);
    let _ = writer
        .write(format!("Welcome, {nick}! /who lists who is here, /quit leaves.\r\n").as_bytes())
        .await;
    broadcast(server, &writer, &format!("* {nick} has joined\r\n")).await;
    while let Ok(line) = reader.read_line().await {
        if line.is_empty() {
            break; // the client left
        }
        let line = String::from_utf8_lossy(&line);
        match line.trim() {
            "" => {}
            "/quit" => {
                let _ = writer.write(b"Goodbye.\r\n").await;
                break;
            }
            "/who" => {
                let names: Vec<String> = server
                    .clients()
                    .iter()
                    .filter_map(|client| client.name().map(str::to_owned))
                    .collect();
                let list = format!("Here: {}\r\n", names.join(", "));
                let _ = writer.write(list.as_bytes()).await;
            }
            said => broadcast(server, &writer, &format!("<{nick}> {said}\r\n")).await,
        }
    }
    broadcast(server, &writer, &format!("* {nick} has left\r\n")).await;
}

/// Ask until a nickname is given; `None` if the client leaves first.
async fn ask_nick(reader: &mut TelnetReader, writer: &mut TelnetWriter) -> Option<String> {
    loop {
        writer.write(b"Nickname? ").await.ok()?;
        let line = reader.read_line().await.ok()?;
        if line.is_empty() {
            return None;
        }
        let nick: String = String::from_utf8_lossy(&line)
            .trim()
            .chars()
            .filter(|c| !c.is_control() && !c.is_whitespace())
            .take(NICK_MAX)
            .collect();
        if !nick.is_empty() {
            return Some(nick);
        }
    }
}

/// Send `message` to every named client but the one `from` writes to.
async fn broadcast(server: &Server, from: &TelnetWriter, message: &str) {
    for mut client in server.clients() {
        if client.is(from) || client.name().is_none() {
            continue;
        }
        // One that does not read within a while must not stall the others.
        let send = client.writer().write(message.as_bytes());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), send).await;
    }
}
