//! A tiny MUD: a few rooms, `look`, `go <exit>` (or the exit's name alone) and `quit`,
//! with the MUD protocols on: GMCP `Room.Info` and `Char.Vitals` sent on each move, MSSP
//! variables for crawlers, and MCCP2 compression offered (`compression=True`).
//!
//! `cargo run -p telnetlib3 --example mud_server [PORT]` (default 4000; 0 picks a free
//! port), then a MUD client (`tt++`, Mudlet) or `cargo run -p telnetlib3 --example
//! gmcp_client localhost 4000`. Prints `listening on ADDRESS` once ready.

use std::sync::Arc;

use telnetlib3::proto::options::gmcp::GmcpMessage;
use telnetlib3::proto::{Policy, SessionConfig, TelnetOption};
use telnetlib3::{create_server, Server, ServerConfig, TelnetReader, TelnetWriter};

/// A room: its name, description and exits (direction, room number).
struct Room {
    name: &'static str,
    description: &'static str,
    exits: &'static [(&'static str, usize)],
}

/// The world: room 0 is where everyone starts.
const ROOMS: [Room; 4] = [
    Room {
        name: "The Temple Square",
        description: "A fountain splashes in the middle of the square. The temple lies \
                      north, the market east.",
        exits: &[("north", 1), ("east", 2)],
    },
    Room {
        name: "Inside the Temple",
        description: "Candles flicker before a stone altar. The square is south.",
        exits: &[("south", 0)],
    },
    Room {
        name: "The Market",
        description: "Merchants call out their wares. The square is west, the city gate \
                      east.",
        exits: &[("west", 0), ("east", 3)],
    },
    Room {
        name: "The City Gate",
        description: "Guards watch the road that winds away into the forest. The market \
                      is west.",
        exits: &[("west", 2)],
    },
];

/// The MUD's name, as MSSP gives it.
pub const NAME: &str = "telnetlib3 example MUD";

/// Our server's configuration for the MUD on `host`:`port`: GMCP offered, MSSP
/// variables, MCCP2 (and MCCP3) offered.
pub fn config(host: &str, port: u16) -> ServerConfig {
    let mut protocol = SessionConfig::with_policy(Policy::server());
    // MSSP: a crawler's DO MSSP is answered with these (and MSSP is offered).
    protocol.mssp.variables = vec![
        ("NAME".into(), vec![NAME.into()]),
        ("PLAYERS".into(), vec!["0".into()]),
        ("UPTIME".into(), vec!["0".into()]),
        ("CODEBASE".into(), vec!["telnetlib3-rs".into()]),
        ("AREAS".into(), vec!["1".into()]),
        ("ROOMS".into(), vec![ROOMS.len().to_string()]),
        ("GMCP".into(), vec!["1".into()]),
        ("MCCP".into(), vec!["1".into()]),
    ];
    let mut config = ServerConfig::default();
    config.host = host.into();
    config.port = port;
    config.protocol = Arc::new(protocol);
    config.plan.offers = Arc::from([TelnetOption::Gmcp]);
    config.compression = Some(true);
    config
}

/// Start the MUD with `config` (see [`config`]).
pub async fn serve(config: ServerConfig) -> Result<Server, telnetlib3::Error> {
    create_server(config, play).await
}

/// One player's session.
async fn play(mut reader: TelnetReader, mut writer: TelnetWriter) {
    let (mut room, mut hp) = (0, 100);
    let _ = writer
        .write(format!("Welcome to the {NAME}!\r\n").as_bytes())
        .await;
    enter(&mut writer, room, hp).await;
    loop {
        let _ = writer.write(format!("[{hp}hp] > ").as_bytes()).await;
        writer.send_go_ahead();
        let Ok(line) = reader.read_line().await else {
            return;
        };
        if line.is_empty() {
            return; // The client closed.
        }
        let line = String::from_utf8_lossy(&line).trim().to_lowercase();
        let mut words = line.split_whitespace();
        let (verb, argument) = (words.next().unwrap_or(""), words.next());
        let exit = match (verb, argument) {
            ("", _) => continue,
            ("look" | "l", _) => {
                enter(&mut writer, room, hp).await;
                continue;
            }
            ("quit", _) => {
                let _ = writer.write(b"Farewell.\r\n").await;
                let _ = writer.drain().await;
                return;
            }
            ("go", Some(direction)) => direction.to_owned(),
            ("go", None) => {
                let _ = writer.write(b"Go where?\r\n").await;
                continue;
            }
            (direction, _) => direction.to_owned(),
        };
        match ROOMS[room].exits.iter().find(|(name, _)| *name == exit) {
            Some(&(_, to)) => {
                room = to;
                // Walking tires: a point per move, down to 10.
                hp = (hp - 1).max(10);
                enter(&mut writer, room, hp).await;
            }
            None => {
                let _ = writer.write(b"You cannot go that way.\r\n").await;
            }
        }
    }
}

/// Show `room` and send its GMCP `Room.Info` and the player's `Char.Vitals`.
async fn enter(writer: &mut TelnetWriter, room: usize, hp: u32) {
    let here = &ROOMS[room];
    let exits: Vec<&str> = here.exits.iter().map(|(name, _)| *name).collect();
    let text = format!(
        "\x1b[1;36m{}\x1b[0m\r\n{}\r\n\x1b[32m[ Exits: {} ]\x1b[0m\r\n",
        here.name,
        here.description,
        exits.join(" ")
    );
    let _ = writer.write(text.as_bytes()).await;
    // IRE's Room.Info: the room number, name, area and exits as direction: number.
    let exits_json: Vec<String> = here
        .exits
        .iter()
        .map(|(name, to)| format!(r#""{name}":{to}"#))
        .collect();
    let info = format!(
        r#"Room.Info {{"num":{room},"name":"{}","area":"The City","exits":{{{}}}}}"#,
        here.name,
        exits_json.join(",")
    );
    let vitals = format!(r#"Char.Vitals {{"hp":{hp},"maxhp":100,"mp":50,"maxmp":50}}"#);
    for message in [info, vitals] {
        if let Ok(message) = GmcpMessage::decode(message.as_bytes()) {
            // Sent only if the client agreed to GMCP.
            writer.send_gmcp(&message);
        }
    }
}

#[tokio::main]
#[allow(dead_code)] // Included by a test, which has a main of its own.
async fn main() -> Result<(), telnetlib3::Error> {
    let port = match std::env::args().nth(1) {
        Some(port) => port.parse().expect("usage: mud_server [PORT]"),
        None => 4000,
    };
    let server = serve(config("localhost", port)).await?;
    println!("listening on {}", server.local_addrs()[0]);
    server.wait_closed().await;
    Ok(())
}
