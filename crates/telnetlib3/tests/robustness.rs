//! Connections that misbehave, or are left behind, cost only themselves and end in bounded
//! time; the driver reads and writes at once so two busy peers cannot deadlock.

mod support;

use std::time::Duration;

use support::{next_line, port, wait_for_binary, PATIENCE};
use telnetlib3::{create_server, open_connection, ClientConfig, Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// A local server that waits at most 200 ms for negotiation.
fn local() -> ServerConfig {
    let mut config = support::local();
    config.connect_maxwait = Duration::from_millis(200);
    config
}

async fn until_no_connections(server: &Server) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.connection_count() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} connections left",
            server.connection_count()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn until_connections(server: &Server, n: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.connection_count() != n {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An echo shell writes back while the client is still writing: with both kernels'
/// buffers full, each driver must keep reading while its write waits.
#[tokio::test]
async fn echoing_while_the_peer_writes_does_not_deadlock() {
    let server = create_server(local(), |mut reader, mut writer| async move {
        loop {
            let data = reader.read(8192).await.unwrap();
            if data.is_empty() || writer.write(&data).await.is_err() {
                break;
            }
        }
    })
    .await
    .unwrap();
    let (mut reader, mut writer) =
        open_connection("127.0.0.1", port(&server), ClientConfig::default())
            .await
            .unwrap();
    wait_for_binary(&writer).await;
    const TOTAL: usize = 32 << 20;
    let send = tokio::spawn(async move {
        let block: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
        let mut sent = 0;
        while sent < TOTAL {
            writer.write(&block).await.unwrap();
            sent += block.len();
        }
        writer
    });
    let received = timeout(Duration::from_secs(60), async {
        let mut received = 0;
        while received < TOTAL {
            let chunk = reader.read(65536).await.unwrap();
            assert!(!chunk.is_empty(), "EOF after {received}");
            received += chunk.len();
        }
        received
    })
    .await
    .expect("deadlock: the echo stopped");
    assert_eq!(received, TOTAL);
    let _writer = send.await.unwrap();
}

/// A shell that ends while its peer reads nothing: the connection still ends.
#[tokio::test]
async fn a_finished_shell_with_a_peer_that_never_reads_still_ends() {
    let mut config = local();
    config.close_timeout = Duration::from_millis(300);
    let server = create_server(config, |_reader, mut writer| async move {
        let block = vec![b'x'; 64 * 1024];
        // Far more than the kernels buffer: the last writes wait.
        let _ = timeout(Duration::from_millis(1000), async {
            while writer.write(&block).await.is_ok() {}
        })
        .await;
    })
    .await
    .unwrap();
    let _silent = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    until_connections(&server, 1).await;
    until_no_connections(&server).await;
}

/// `Server::close` ends connections whose peer reads nothing and whose shell is stuck.
#[tokio::test]
async fn close_ends_connections_stuck_writing() {
    let server = create_server(local(), |_reader, mut writer| async move {
        let block = vec![b'x'; 64 * 1024];
        while writer.write(&block).await.is_ok() {}
    })
    .await
    .unwrap();
    let _silent = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    until_connections(&server, 1).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.close();
    until_no_connections(&server).await;
}

/// A shell that panics costs its connection only: the peer sees the end, the server
/// forgets it and serves the next.
#[tokio::test]
async fn a_panicking_shell_closes_only_its_connection() {
    let server = create_server(local(), |mut reader, mut writer| async move {
        let line = reader.read_line().await.unwrap();
        assert!(line != b"panic\r\n", "the shell was asked to panic");
        writer.write(&line).await.unwrap();
    })
    .await
    .unwrap();
    let mut raw = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    raw.write_all(b"panic\r\n").await.unwrap();
    let mut rest = Vec::new();
    timeout(PATIENCE, raw.read_to_end(&mut rest))
        .await
        .expect("the connection of the panicked shell stayed open")
        .unwrap();
    until_no_connections(&server).await;
    let (mut reader, mut writer) =
        open_connection("127.0.0.1", port(&server), ClientConfig::default())
            .await
            .unwrap();
    writer.write(b"fine\r\n").await.unwrap();
    let line = next_line(&mut reader).await;
    assert_eq!(line, b"fine\r\n");
}

/// A client that drops its reader and writer closes the connection.
#[tokio::test]
async fn dropping_both_handles_closes_the_connection() {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let server = create_server(local(), move |mut reader, mut writer| {
        let tx = tx.clone();
        async move {
            let _ = writer.write(b"ready\r\n").await;
            while !reader.read(100).await.unwrap_or_default().is_empty() {}
            let _ = tx.send(()).await;
        }
    })
    .await
    .unwrap();
    let (mut reader, writer) = open_connection("127.0.0.1", port(&server), ClientConfig::default())
        .await
        .unwrap();
    // The shell runs (a client gone during negotiation would get none).
    let line = next_line(&mut reader).await;
    assert_eq!(line, b"ready\r\n");
    drop(reader);
    drop(writer);
    timeout(PATIENCE, rx.recv())
        .await
        .expect("the server never saw the end")
        .unwrap();
}

/// Shells that finish within the grace period are not cut short; afterwards the server
/// accepts nothing and `wait_closed` returns.
#[tokio::test]
async fn shutdown_waits_for_shells_that_finish_in_time() {
    let server = create_server(local(), |_reader, mut writer| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = writer.write(b"done").await;
    })
    .await
    .unwrap();
    let mut raw = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    until_connections(&server, 1).await;
    let closed = timeout(PATIENCE, server.shutdown(PATIENCE)).await.unwrap();
    assert_eq!(closed, 0);
    let mut got = Vec::new();
    timeout(PATIENCE, raw.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert!(got.ends_with(b"done"), "{got:?}");
    timeout(PATIENCE, server.wait_closed()).await.unwrap();
    assert!(TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .is_err());
}

/// `Server::close` during the opening negotiation: no shell runs.
#[tokio::test]
async fn close_during_negotiation_runs_no_shell() {
    let mut config = local();
    config.connect_maxwait = Duration::from_secs(5);
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&ran);
    let server = create_server(config, move |_reader, _writer| {
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        async {}
    })
    .await
    .unwrap();
    let mut raw = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    until_connections(&server, 1).await;
    server.close();
    let mut got = Vec::new();
    timeout(PATIENCE, raw.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"\xff\xfd\x18", "only DO TTYPE");
    timeout(PATIENCE, server.wait_closed()).await.unwrap();
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
}

/// IPv6: a server on `::1` and a client to it (where the host has IPv6 loopback).
#[tokio::test]
async fn ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: nothing to test");
        return;
    }
    let mut config = local();
    config.host = "::1".into();
    let server = create_server(config, |mut reader, mut writer| async move {
        let line = reader.read_line().await.unwrap_or_default();
        let _ = writer.write(&line).await;
    })
    .await
    .unwrap();
    assert!(server.local_addrs()[0].is_ipv6());
    let (mut reader, mut writer) = open_connection("::1", port(&server), ClientConfig::default())
        .await
        .unwrap();
    assert!(writer.peer().starts_with("::1 "), "{}", writer.peer());
    assert_eq!(server.connections()[0].ip().to_string(), "::1");
    writer.write(b"over six\r\n").await.unwrap();
    let line = next_line(&mut reader).await;
    assert_eq!(line, b"over six\r\n");
}

/// A client that goes away during the opening negotiation gets no shell (as with
/// telnetlib3), and the server serves the next one.
#[tokio::test]
async fn a_client_gone_during_negotiation_gets_no_shell() {
    let mut config = local();
    config.connect_maxwait = Duration::from_secs(5);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let server = create_server(config, move |_reader, writer| {
        let _ = tx.send(writer.peer().to_string());
        async {}
    })
    .await
    .unwrap();
    let mut raw = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    let mut first = [0u8; 3];
    raw.read_exact(&mut first).await.unwrap();
    raw.write_all(b"\xff\xfb\x18").await.unwrap(); // WILL TTYPE, then gone
    drop(raw);
    until_no_connections(&server).await;
    assert!(rx.try_recv().is_err(), "a shell ran");
    let (_reader, writer) = open_connection("127.0.0.1", port(&server), ClientConfig::default())
        .await
        .unwrap();
    let peer = timeout(PATIENCE, rx.recv()).await.unwrap().unwrap();
    assert!(peer.starts_with("127.0.0.1 "), "{peer}");
    drop(writer);
}

/// A client that sends data before answering the negotiation gets its shell as soon as
/// that data fills the reader's buffer, not after `connect_maxwait`: answers behind the
/// data could not be read before the shell reads it.
#[tokio::test]
async fn data_filling_the_buffer_during_negotiation_starts_the_shell() {
    let mut config = local();
    config.connect_maxwait = Duration::from_secs(30);
    let server = create_server(config, |mut reader, mut writer| async move {
        let data = reader.read_exact(1 << 20).await.unwrap();
        assert!(data.iter().all(|&b| b == b'x'));
        let _ = writer.write(b"got it").await;
    })
    .await
    .unwrap();
    let raw = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    let (mut rd, mut wr) = raw.into_split();
    let started = tokio::time::Instant::now();
    // WILL TTYPE (the server now asks SEND and more), then a megabyte, answering nothing.
    wr.write_all(b"\xff\xfb\x18").await.unwrap();
    wr.write_all(&vec![b'x'; 1 << 20]).await.unwrap();
    let mut got = Vec::new();
    timeout(PATIENCE, async {
        while !got.ends_with(b"got it") {
            let mut buf = [0u8; 4096];
            let n = rd.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed: {got:?}");
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap();
    assert!(started.elapsed() < PATIENCE);
}
