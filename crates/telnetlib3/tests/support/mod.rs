//! What the async crate's integration tests share.

#![allow(dead_code)] // Each test binary uses a different part.

use std::time::Duration;

use telnetlib3::proto::TelnetOption;
use telnetlib3::{ClientConfig, Server, ServerConfig, TelnetReader, TelnetWriter};

#[path = "../../../telnetlib3-proto/tests/support/python.rs"]
pub mod python;

/// How long any single wait in these tests may take.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The next line from `reader`, within [`PATIENCE`].
pub async fn next_line(reader: &mut TelnetReader) -> Vec<u8> {
    tokio::time::timeout(PATIENCE, reader.read_line())
        .await
        .expect("no line within PATIENCE")
        .unwrap()
}

/// A deterministic pseudo-random megabyte (xorshift) with every byte value.
pub fn megabyte() -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let data: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    assert!((0..=255u8).all(|b| data.contains(&b)));
    data
}

/// Wait until BINARY is agreed both ways: a server asks for our direction only once its
/// own is agreed, after the connection is already handed over.
pub async fn wait_for_binary(writer: &TelnetWriter) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !writer.with_session(|s| {
        s.local_enabled(TelnetOption::Binary) && s.remote_enabled(TelnetOption::Binary)
    }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "BINARY never agreed both ways"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The default server configuration on 127.0.0.1 and a port the system picks.
pub fn local() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.host = "127.0.0.1".into();
    config.port = 0;
    config
}

/// The port a [`local`] server listens on.
pub fn port(server: &Server) -> u16 {
    server.local_addrs()[0].port()
}

/// A client that reports an xterm-256color of 132 x 43 with a UTF-8 LANG.
pub fn xterm() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.term = "xterm-256color".into();
    config.cols = 132;
    config.rows = 43;
    config.lang = "en_US.UTF-8".into();
    config
}

/// The shell: what the server negotiated, its writer's repr, then one line echoed.
pub async fn report_shell(mut reader: TelnetReader, mut writer: TelnetWriter) {
    let report = writer.with_session(|s| {
        let var = |name: &str| {
            s.environ_var(name)
                .and_then(|v| v.value.clone())
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default()
        };
        format!(
            "TERM={} size={:?} LANG={} charset={:?} mode={}\r\n",
            s.terminal_type().unwrap_or("-"),
            s.peer_window_size(),
            var("LANG"),
            s.charset(),
            s.mode()
        )
    });
    writer.write(report.as_bytes()).await.unwrap();
    writer
        .write(format!("{writer}\r\n").as_bytes())
        .await
        .unwrap();
    let line = reader.read_line().await.unwrap();
    writer.write(&line).await.unwrap();
}
