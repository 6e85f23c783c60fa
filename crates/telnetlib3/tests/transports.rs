//! The server and the client over transports other than TCP (`serve_stream`,
//! `connect_stream`): an in-memory `tokio::io::duplex`, a Unix socket pair, and a Unix
//! listener. The negotiation's outcome and the shell's dialogue must be byte for byte
//! those of the same exchange over TCP. Every wait is bounded.

mod support;

use std::sync::Arc;

use support::{local, next_line, port, report_shell, xterm, PATIENCE};
use telnetlib3::proto::{Mode, TelnetOption};
use telnetlib3::{
    connect_stream, create_server, open_connection, serve_stream, ServerConfig, TelnetReader,
    TelnetWriter,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::timeout;

/// What the client sees of the exchange: the server's two lines, the echo, and its own
/// view of the negotiation.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    report: String,
    repr: String,
    echoed: Vec<u8>,
    mode: Mode,
    binary_both_ways: bool,
    charset: Option<String>,
    peer: String,
    eof: bool,
}

/// Run the client's side of the dialogue on an open connection.
async fn client_side(mut reader: TelnetReader, mut writer: TelnetWriter) -> Outcome {
    let report = String::from_utf8_lossy(&next_line(&mut reader).await).into_owned();
    let repr = String::from_utf8_lossy(&next_line(&mut reader).await).into_owned();
    writer.write(b"echo me\r\n").await.unwrap();
    let echoed = next_line(&mut reader).await;
    let eof = timeout(PATIENCE, reader.read(10))
        .await
        .unwrap()
        .unwrap()
        .is_empty();
    Outcome {
        report,
        repr,
        echoed,
        mode: writer.mode(),
        binary_both_ways: writer.with_session(|s| {
            s.local_enabled(TelnetOption::Binary) && s.remote_enabled(TelnetOption::Binary)
        }),
        charset: writer.with_session(|s| s.charset().map(str::to_owned)),
        peer: writer.peer().to_owned(),
        eof,
    }
}

/// The outcome over TCP, the reference, with the peer label replaced by `peer`.
fn expected(peer: &str) -> Outcome {
    Outcome {
        report: "TERM=xterm-256color size=Some(WindowSize { cols: 132, rows: 43 }) \
                 LANG=en_US.UTF-8 charset=Some(\"UTF-8\") mode=kludge\r\n"
            .into(),
        repr: "<TelnetWriter server mode:kludge +lineflow -xon_any +slc_sim \
               server-will:BINARY,CHARSET,ECHO,SGA \
               client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE>\r\n"
            .into(),
        echoed: b"echo me\r\n".to_vec(),
        mode: Mode::Kludge,
        binary_both_ways: true,
        charset: Some("UTF-8".into()),
        peer: peer.into(),
        eof: true,
    }
}

/// The dialogue over a connected pair of streams: `serve_stream` on one end (in a
/// task, whose end is awaited too), `connect_stream` on the other.
async fn over<C, S>(client_end: C, server_end: S) -> Outcome
where
    C: AsyncRead + AsyncWrite + Send + 'static,
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let served = tokio::spawn(async move {
        let config = ServerConfig::default();
        serve_stream(server_end, "the client", &config, report_shell).await;
    });
    let (reader, writer) = timeout(PATIENCE, connect_stream(client_end, "the server", &xterm()))
        .await
        .expect("connect_stream waited");
    let outcome = client_side(reader, writer).await;
    timeout(PATIENCE, served)
        .await
        .expect("serve_stream did not return once the shell ended")
        .unwrap();
    outcome
}

#[tokio::test]
async fn over_tcp_the_reference() {
    let server = create_server(local(), report_shell).await.unwrap();
    let (reader, writer) = timeout(
        PATIENCE,
        open_connection("127.0.0.1", port(&server), xterm()),
    )
    .await
    .unwrap()
    .unwrap();
    let outcome = client_side(reader, writer).await;
    let peer = format!("127.0.0.1 {}", port(&server));
    assert_eq!(outcome, expected(&peer));
}

#[tokio::test]
async fn over_an_in_memory_duplex_as_over_tcp() {
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    assert_eq!(over(client_end, server_end).await, expected("the server"));
}

#[tokio::test]
async fn over_a_small_duplex_as_over_tcp() {
    // A pipe that holds 7 bytes: every write is cut, every command split across reads.
    let (client_end, server_end) = tokio::io::duplex(7);
    assert_eq!(over(client_end, server_end).await, expected("the server"));
}

#[cfg(unix)]
#[tokio::test]
async fn over_a_unix_socket_pair_as_over_tcp() {
    let (client_end, server_end) = tokio::net::UnixStream::pair().unwrap();
    assert_eq!(over(client_end, server_end).await, expected("the server"));
}

#[cfg(unix)]
#[tokio::test]
async fn a_unix_listener_serves_each_connection() {
    use tokio::net::{UnixListener, UnixStream};

    let path = std::env::temp_dir().join(format!("telnetlib3-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let config = Arc::new(ServerConfig::default());
    let accepting = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let config = Arc::clone(&config);
            tokio::spawn(async move {
                serve_stream(stream, "unix", &config, report_shell).await;
            });
        }
    });
    for _ in 0..2 {
        let stream = UnixStream::connect(&path).await.unwrap();
        let (reader, writer) = timeout(PATIENCE, connect_stream(stream, "socket", &xterm()))
            .await
            .unwrap();
        assert_eq!(client_side(reader, writer).await, expected("socket"));
    }
    accepting.abort();
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_server_over_a_stream_keeps_its_idle_timeout() {
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let mut config = ServerConfig::default();
    config.timeout = Some(std::time::Duration::from_millis(300));
    let served = tokio::spawn(async move {
        serve_stream(server_end, "idle", &config, |_reader, _writer| {
            std::future::pending::<()>()
        })
        .await;
    });
    let (mut reader, _writer) = connect_stream(client_end, "server", &xterm()).await;
    let mut seen = Vec::new();
    loop {
        let chunk = timeout(PATIENCE, reader.read(100)).await.unwrap().unwrap();
        if chunk.is_empty() {
            break;
        }
        seen.extend_from_slice(&chunk);
    }
    assert_eq!(seen, b"\r\nTimeout.\r\n");
    timeout(PATIENCE, served).await.unwrap().unwrap();
}
