//! `TelnetWriter::write_eof` is a true half-close over TCP: the peer reads everything
//! written before it, then end of file, and can still send; our reader gets what it
//! sends. Our server and our client on 127.0.0.1, and a raw socket that sees the FIN
//! itself. Every wait is bounded.

mod support;

use std::time::Duration;

use support::{local, port, xterm, PATIENCE};
use telnetlib3::{create_server, open_connection, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Enough output that the socket cannot take it in one write: write_eof must wait for
/// all of it before the FIN.
fn report() -> Vec<u8> {
    (0..4000)
        .flat_map(|n| format!("line {n:04}\r\n").into_bytes())
        .collect()
}

/// A server whose shell writes [`report`], ends its output, tells whether a write after
/// that is refused, then sends on `lines` every line the client still sends, to its end
/// of file.
async fn half_closing_server(lines: mpsc::Sender<Vec<u8>>) -> telnetlib3::Server {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(300);
    create_server(config, move |mut reader, mut writer| {
        let lines = lines.clone();
        async move {
            writer.write(&report()).await.unwrap();
            writer.write_eof().await.unwrap();
            let refused = matches!(writer.write(b"late").await, Err(Error::Closed));
            assert!(writer.is_output_ended());
            lines
                .send(format!("refused={refused}").into_bytes())
                .await
                .unwrap();
            loop {
                let line = reader.read_line().await.unwrap();
                if line.is_empty() {
                    break;
                }
                lines.send(line).await.unwrap();
            }
            lines.send(b"<eof>".to_vec()).await.unwrap();
        }
    })
    .await
    .unwrap()
}

async fn next(lines: &mut mpsc::Receiver<Vec<u8>>) -> String {
    let line = timeout(PATIENCE, lines.recv()).await.unwrap().unwrap();
    String::from_utf8(line).unwrap()
}

#[tokio::test]
async fn our_client_reads_all_then_eof_and_can_still_send() {
    let (tx, mut lines) = mpsc::channel(8);
    let server = half_closing_server(tx).await;
    let (mut reader, mut writer) = timeout(
        PATIENCE,
        open_connection("127.0.0.1", port(&server), xterm()),
    )
    .await
    .unwrap()
    .unwrap();
    let mut got = Vec::new();
    loop {
        let data = timeout(PATIENCE, reader.read(65536))
            .await
            .unwrap()
            .unwrap();
        if data.is_empty() {
            break;
        }
        got.extend_from_slice(&data);
    }
    assert_eq!(got, report());
    assert!(reader.at_eof());
    assert_eq!(next(&mut lines).await, "refused=true");
    // The server's side is shut down, ours is not: it still reads us.
    writer.write(b"first answer\r\n").await.unwrap();
    writer.write(b"second answer\r\n").await.unwrap();
    writer.flush().await.unwrap();
    assert_eq!(next(&mut lines).await, "first answer\r\n");
    assert_eq!(next(&mut lines).await, "second answer\r\n");
    timeout(PATIENCE, writer.close()).await.unwrap();
    assert_eq!(next(&mut lines).await, "<eof>");
}

#[tokio::test]
async fn a_raw_socket_sees_the_fin_and_its_data_still_arrives() {
    let (tx, mut lines) = mpsc::channel(8);
    let server = half_closing_server(tx).await;
    let mut socket = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    // The raw peer answers no negotiation: the server's DO TTYPE, then (after
    // connect_maxwait) the shell's report, then the FIN: read returns 0.
    let mut got = Vec::new();
    timeout(PATIENCE, socket.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, [&b"\xff\xfd\x18"[..], &report()].concat());
    assert_eq!(next(&mut lines).await, "refused=true");
    socket.write_all(b"from a raw peer\r\n").await.unwrap();
    assert_eq!(next(&mut lines).await, "from a raw peer\r\n");
    socket.shutdown().await.unwrap();
    assert_eq!(next(&mut lines).await, "<eof>");
}

#[tokio::test]
async fn our_client_ends_its_request_with_eof_and_reads_the_answer() {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(300);
    // The server answers once the client's input ended: it reads to end of file first.
    let server = create_server(config, |mut reader, mut writer| async move {
        writer.write(b"ready\r\n").await.unwrap();
        let mut request = Vec::new();
        loop {
            let data = reader.read(4096).await.unwrap();
            if data.is_empty() {
                break;
            }
            request.extend_from_slice(&data);
        }
        writer
            .write(format!("got {} bytes: ", request.len()).as_bytes())
            .await
            .unwrap();
        writer.write(&request).await.unwrap();
    })
    .await
    .unwrap();
    let (mut reader, mut writer) = timeout(
        PATIENCE,
        open_connection("127.0.0.1", port(&server), xterm()),
    )
    .await
    .unwrap()
    .unwrap();
    // A peer whose input ends before its shell starts gets no shell (as telnetlib3).
    let ready = timeout(PATIENCE, reader.read_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ready, b"ready\r\n");
    writer.write(b"one\r\ntwo\r\n").await.unwrap();
    timeout(PATIENCE, writer.write_eof())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(writer.write(b"x").await, Err(Error::Closed)));
    let mut answer = Vec::new();
    loop {
        let data = timeout(PATIENCE, reader.read(4096)).await.unwrap().unwrap();
        if data.is_empty() {
            break;
        }
        answer.extend_from_slice(&data);
    }
    assert_eq!(answer, b"got 10 bytes: one\r\ntwo\r\n");
}
