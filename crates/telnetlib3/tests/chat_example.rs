//! The chat server example, built by `cargo test`, with three real TCP clients: each
//! sees exactly the lines the others' actions give it, and nothing else.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use support::python::Reaped;
use support::PATIENCE;
use telnetlib3::{open_connection, ClientConfig, TelnetReader, TelnetWriter};

/// Build the example as a program and return its path.
fn chat_server() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "telnetlib3",
            "--example",
            "chat_server",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "cannot build the example");
    // `target/<profile>/deps/this-test` -> `target/<profile>/examples/chat_server`.
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("chat_server");
    assert!(path.exists(), "{} missing", path.display());
    path
}

/// A port below 32768 that nothing listened on a moment ago (the ephemeral range above
/// it is the machine's own).
fn free_port() -> u16 {
    let seed = std::process::id() as u16;
    (0..12_000u16)
        .map(|step| 20_000 + (seed.wrapping_mul(31).wrapping_add(step.wrapping_mul(7))) % 12_000)
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("no free port")
}

struct Chatter {
    reader: TelnetReader,
    writer: TelnetWriter,
}

impl Chatter {
    /// Connect, answer the nickname question, and read the welcome.
    async fn join(port: u16, nick: &str) -> Self {
        // The server asks for little in line mode: do not wait long for more.
        let mut config = ClientConfig::default();
        config.connect_maxwait = std::time::Duration::from_millis(300);
        let (reader, writer) =
            tokio::time::timeout(PATIENCE, open_connection("127.0.0.1", port, config))
                .await
                .expect("no connection within PATIENCE")
                .unwrap();
        let mut chatter = Self { reader, writer };
        chatter.expect_until(b"Nickname? ").await;
        chatter.say(nick).await;
        chatter
            .expect(&format!(
                "Welcome, {nick}! /who lists who is here, /quit leaves.\r\n"
            ))
            .await;
        chatter
    }

    async fn say(&mut self, line: &str) {
        self.writer
            .write(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    }

    async fn expect_until(&mut self, end: &[u8]) {
        let got = tokio::time::timeout(PATIENCE, self.reader.read_until(end))
            .await
            .expect("nothing within PATIENCE")
            .unwrap();
        assert_eq!(
            got.escape_ascii().to_string(),
            end.escape_ascii().to_string()
        );
    }

    /// The next line is exactly `line`.
    async fn expect(&mut self, line: &str) {
        let got = tokio::time::timeout(PATIENCE, self.reader.read_line())
            .await
            .expect("no line within PATIENCE")
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&got), line);
    }

    /// Everything until the server closes is exactly `rest`.
    async fn expect_end(&mut self, rest: &str) {
        let mut got = Vec::new();
        loop {
            let chunk = tokio::time::timeout(PATIENCE, self.reader.read(4096))
                .await
                .expect("no end within PATIENCE")
                .unwrap();
            if chunk.is_empty() {
                break;
            }
            got.extend_from_slice(&chunk);
        }
        assert_eq!(String::from_utf8_lossy(&got), rest);
    }
}

#[tokio::test]
async fn three_clients_chat_with_who_quit_and_leaving() {
    let port = free_port();
    let mut server = Reaped(
        Command::new(chat_server())
            .args([&port.to_string(), "127.0.0.1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut ready = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), format!("listening on 127.0.0.1:{port}"));

    let mut alice = Chatter::join(port, "alice").await;
    let mut bob = Chatter::join(port, "bob").await;
    alice.expect("* bob has joined\r\n").await;
    let mut carol = Chatter::join(port, "carol").await;
    alice.expect("* carol has joined\r\n").await;
    bob.expect("* carol has joined\r\n").await;

    alice.say("hello all").await;
    bob.expect("<alice> hello all\r\n").await;
    carol.expect("<alice> hello all\r\n").await;

    bob.say("/who").await;
    bob.expect("Here: alice, bob, carol\r\n").await;

    carol.say("/quit").await;
    carol.expect_end("Goodbye.\r\n").await;
    alice.expect("* carol has left\r\n").await;
    bob.expect("* carol has left\r\n").await;

    // Bob hangs up without a word.
    let Chatter { reader, writer } = bob;
    drop((reader, writer));
    alice.expect("* bob has left\r\n").await;

    alice.say("/who").await;
    alice.expect("Here: alice\r\n").await;
    alice.say("/quit").await;
    alice.expect_end("Goodbye.\r\n").await;
    assert!(server.0.try_wait().unwrap().is_none(), "the server ended");
}
