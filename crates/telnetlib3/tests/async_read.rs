//! `TelnetReader` as a `tokio::io::AsyncRead`: `tokio::io::copy`, `BufReader`, and the
//! back-pressure of the reader's limit. The connections run over an in-memory duplex
//! (`serve_stream` / `connect_stream`). Every wait is bounded.

mod support;

use std::time::Duration;

use support::{xterm, PATIENCE};
use telnetlib3::{connect_stream, serve_stream, ClientConfig, ServerConfig, TelnetReader};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::time::timeout;

/// `size` bytes of text with no CR, LF or IAC (the NVT rules leave it as it is).
fn text(size: usize) -> Vec<u8> {
    b"abcdefghijklmnopqrstuvwxyz0123456789"
        .iter()
        .copied()
        .cycle()
        .take(size)
        .collect()
}

/// A client reader (with `client`'s settings) on a server whose shell writes `data` and
/// returns, which closes the connection.
async fn reader_of(data: Vec<u8>, client: ClientConfig) -> TelnetReader {
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let mut config = ServerConfig::default();
        config.connect_maxwait = Duration::from_millis(500);
        serve_stream(
            server_end,
            "client",
            &config,
            |_reader, mut writer| async move {
                writer.write(&data).await.unwrap();
            },
        )
        .await;
    });
    let (reader, _writer) = timeout(PATIENCE, connect_stream(client_end, "server", &client))
        .await
        .unwrap();
    reader
}

#[tokio::test]
async fn tokio_io_copy_reads_everything_to_eof() {
    let data = text(300_000);
    let mut reader = reader_of(data.clone(), xterm()).await;
    let mut copied = Vec::new();
    let n = timeout(PATIENCE, tokio::io::copy(&mut reader, &mut copied))
        .await
        .expect("copy never saw EOF")
        .unwrap();
    assert_eq!(n, data.len() as u64);
    assert_eq!(copied, data);
    assert!(reader.at_eof());
    // After EOF: 0 bytes, again and again.
    let mut buf = [0u8; 8];
    assert_eq!(AsyncReadExt::read(&mut reader, &mut buf).await.unwrap(), 0);
}

#[tokio::test]
async fn a_buf_reader_gives_lf_lines_and_read_line_telnet_lines() {
    let mut reader = reader_of(b"one\r\ntwo\r\nthree".to_vec(), xterm()).await;
    // Telnet's rules first: CR LF kept.
    assert_eq!(
        timeout(PATIENCE, reader.read_line())
            .await
            .unwrap()
            .unwrap(),
        b"one\r\n"
    );
    // Then tokio's, on the same connection.
    let mut lines = BufReader::new(reader);
    let mut line = String::new();
    timeout(PATIENCE, lines.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line, "two\r\n");
    line.clear();
    timeout(PATIENCE, lines.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line, "three");
    line.clear();
    assert_eq!(lines.read_line(&mut line).await.unwrap(), 0, "EOF");
}

#[tokio::test]
async fn a_small_read_buffer_takes_the_data_in_order() {
    let data = text(10_000);
    let mut reader = reader_of(data.clone(), xterm()).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let n = timeout(PATIENCE, AsyncReadExt::read(&mut reader, &mut buf))
            .await
            .unwrap()
            .unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, data);
}

#[tokio::test]
async fn reading_through_async_read_makes_room_and_wakes_the_driver() {
    // A limit far below the data: the driver stops reading the stream at the limit,
    // and only reads through AsyncRead can make it go on.
    let mut client = xterm();
    client.limit = 1024;
    let data = text(200_000);
    let mut reader = reader_of(data.clone(), client).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while reader.buffered() < 1024 {
        assert!(tokio::time::Instant::now() < deadline, "never filled");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Full, and no more is taken while nobody reads.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(reader.buffered(), 1024);
    let mut got = Vec::new();
    timeout(PATIENCE, reader.read_to_end(&mut got))
        .await
        .expect("the driver was not woken by AsyncRead reads")
        .unwrap();
    assert_eq!(got, data);
}

#[tokio::test]
async fn a_read_waiting_in_async_read_is_woken_by_data() {
    let (client_end, server_end) = tokio::io::duplex(1024);
    let (go, ready) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        serve_stream(
            server_end,
            "client",
            &ServerConfig::default(),
            |_reader, mut writer| async move {
                let _ = ready.await;
                writer.write(b"late").await.unwrap();
            },
        )
        .await;
    });
    let (mut reader, _writer) = timeout(PATIENCE, connect_stream(client_end, "server", &xterm()))
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::spawn(async move {
        let n = AsyncReadExt::read(&mut reader, &mut buf).await.unwrap();
        buf[..n].to_vec()
    });
    // The read is parked (nothing sent yet) when the data comes.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!read.is_finished());
    go.send(()).unwrap();
    assert_eq!(timeout(PATIENCE, read).await.unwrap().unwrap(), b"late");
}
