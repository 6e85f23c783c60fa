//! The PROXY protocol through `create_server`: the client a header names is the peer
//! the shell and the server see, the Telnet bytes that follow the header in the same
//! segment reach the session, and a header that does not come in time closes the
//! connection.

use std::net::SocketAddr;
use std::time::Duration;

use telnetlib3::{create_server, ProxyProtocol, Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const PATIENCE: Duration = Duration::from_secs(10);

/// A server trusting 127.0.0.1 whose shell writes its peer's name and echoes one line.
async fn server(header_timeout: Duration) -> (Server, u16) {
    let mut config = ServerConfig::default();
    config.host = "127.0.0.1".into();
    config.port = 0;
    config.connect_maxwait = Duration::from_millis(50);
    let mut proxy = ProxyProtocol::new(["127.0.0.1/32".parse().unwrap()]);
    proxy.header_timeout = header_timeout;
    config.proxy_protocol = Some(proxy);
    let server = create_server(config, |mut reader, mut writer| async move {
        let greeting = format!("peer={}\r\n", writer.peer());
        let _ = writer.write(greeting.as_bytes()).await;
        if let Ok(line) = reader.read_line().await {
            let _ = writer.write(&line).await;
        }
    })
    .await
    .unwrap();
    let port = server.local_addrs()[0].port();
    (server, port)
}

/// Everything the server sends until it closes.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    timeout(PATIENCE, stream.read_to_end(&mut got))
        .await
        .expect("the server closes")
        .unwrap();
    got
}

/// The Telnet data in `bytes`: IAC commands (3 bytes here: the opening's DO/WILL) out.
fn data(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&b| b == 0xff) {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[(at + 3).min(rest.len())..];
    }
    out.extend_from_slice(rest);
    out
}

#[tokio::test]
async fn the_header_names_the_peer_and_telnet_follows_in_the_same_segment() {
    let (_server, port) = server(Duration::from_secs(5)).await;
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    client
        .write_all(b"PROXY TCP4 192.0.2.7 127.0.0.1 4000 23\r\nhello\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0; 1024];
    while !String::from_utf8_lossy(&data(&seen)).contains("hello") {
        let n = timeout(PATIENCE, client.read(&mut buf))
            .await
            .expect("the shell answers")
            .unwrap();
        assert_ne!(n, 0, "closed early: {seen:?}");
        seen.extend_from_slice(&buf[..n]);
    }
    assert_eq!(
        String::from_utf8_lossy(&data(&seen)),
        "peer=192.0.2.7 4000\r\nhello\r\n"
    );
}

#[tokio::test]
async fn the_server_lists_the_named_client() {
    let (server, port) = server(Duration::from_secs(5)).await;
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    client
        .write_all(b"PROXY TCP6 2001:db8::7 ::1 4000 23\r\n")
        .await
        .unwrap();
    let mut buf = [0; 64];
    // The shell's greeting comes once the connection is registered.
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&data(&seen)).contains("peer=") {
        let n = timeout(PATIENCE, client.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_ne!(n, 0);
        seen.extend_from_slice(&buf[..n]);
    }
    assert_eq!(
        server.connections(),
        ["[2001:db8::7]:4000".parse::<SocketAddr>().unwrap()]
    );
}

#[tokio::test]
async fn a_v2_local_header_keeps_the_proxys_address() {
    let (_server, port) = server(Duration::from_secs(5)).await;
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let local_port = client.local_addr().unwrap().port();
    // Signature, version 2 + LOCAL, unspecified family, no addresses: a health check.
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend_from_slice(&[0x20, 0x00, 0, 0]);
    header.extend_from_slice(b"hi\r\n");
    client.write_all(&header).await.unwrap();
    let got = read_to_close(&mut client).await;
    assert_eq!(
        String::from_utf8_lossy(&data(&got)),
        format!("peer=127.0.0.1 {local_port}\r\nhi\r\n")
    );
}

#[tokio::test]
async fn a_header_that_does_not_come_closes_the_connection() {
    let (server, port) = server(Duration::from_millis(200)).await;
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // Half a header, then nothing.
    client.write_all(b"PROXY TCP4 192.0.2.7").await.unwrap();
    let started = tokio::time::Instant::now();
    // Closed with the half header unread: a reset, or an end of file once it is read.
    let mut rest = Vec::new();
    match timeout(PATIENCE, client.read_to_end(&mut rest))
        .await
        .unwrap()
    {
        Ok(_) => assert_eq!(rest, b""),
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
    }
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(server.connection_count(), 0);
}

/// A connection still waiting for its header when the server closes is dropped then,
/// not when its header timeout (a minute here) runs out.
#[tokio::test]
async fn close_drops_a_connection_still_waiting_for_its_header() {
    let (server, port) = server(Duration::from_secs(60)).await;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // The server has taken the connection (a header on another one is served first).
    let mut probe = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    probe
        .write_all(b"PROXY TCP4 127.0.0.9 127.0.0.1 4000 23\r\n")
        .await
        .unwrap();
    let mut greeting = Vec::new();
    let mut buf = [0; 256];
    while !greeting.ends_with(b"\r\n") {
        let n = timeout(PATIENCE, probe.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        greeting.extend_from_slice(&buf[..n]);
    }
    server.close();
    assert_eq!(read_to_close(&mut stream).await, b"");
    timeout(PATIENCE, server.wait_closed()).await.unwrap();
}
