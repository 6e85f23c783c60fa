//! Operating a server: its client list, the drain, the connection limits, the robot
//! check and the status, over real TCP connections on 127.0.0.1.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use support::{local, port, xterm, PATIENCE};
use telnetlib3::{
    create_server, open_connection, robot_check, Refusal, Refused, Server, TelnetReader,
    TelnetWriter,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

/// A shell that keeps its connection until the client leaves.
async fn idle_shell(mut reader: TelnetReader, _writer: TelnetWriter) {
    while let Ok(data) = reader.read(1024).await {
        if data.is_empty() {
            break;
        }
    }
}

/// A raw client from `source` (any port).
async fn connect_from(source: Ipv4Addr, port: u16) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).unwrap();
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap()
}

/// Everything until the peer closes.
async fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    timeout(PATIENCE, stream.read_to_end(&mut all))
        .await
        .expect("no end within PATIENCE")
        .unwrap();
    all
}

/// Wait until `done` holds for `server`.
async fn until(server: &Server, done: impl Fn(&Server) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done(server) {
        assert!(tokio::time::Instant::now() < deadline, "never happened");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn clients_arrive_in_order_with_their_terminal_and_a_writer() {
    let server = create_server(local(), idle_shell).await.unwrap();
    let port = port(&server);
    let mut first = xterm();
    // This server asks for all it wants at once: no need to wait for more.
    first.connect_maxwait = Duration::from_millis(500);
    first.term = "vt220".into();
    first.cols = 100;
    first.rows = 30;
    let (mut reader1, writer1) = open_connection("127.0.0.1", port, first).await.unwrap();
    let mut client = timeout(PATIENCE, server.wait_for_client())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.terminal_type(), "vt220");
    assert_eq!(client.window_size(), (100, 30));
    assert_eq!(client.peer().ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert!(client.connected_at() <= std::time::SystemTime::now());
    assert!(client.idle() < PATIENCE);
    assert_eq!(client.name(), None);

    let mut second = xterm();
    second.connect_maxwait = Duration::from_millis(500);
    let (mut reader2, writer2) = open_connection("127.0.0.1", port, second).await.unwrap();
    let second = timeout(PATIENCE, server.wait_for_client())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.terminal_type(), "xterm-256color");
    assert_eq!(second.window_size(), (132, 43));
    assert!(!second.is(client.writer()));

    // The client's writer reaches that client only.
    client.writer().write(b"to the first\r\n").await.unwrap();
    assert_eq!(support::next_line(&mut reader1).await, b"to the first\r\n");

    // Both are listed, in their order; a name set for one shows in the list.
    assert!(server.name_client(client.writer(), "first"));
    let listed: Vec<(u16, Option<String>)> = server
        .clients()
        .iter()
        .map(|c| (c.peer().port(), c.name().map(str::to_owned)))
        .collect();
    assert_eq!(
        listed,
        [
            (client.peer().port(), Some("first".to_owned())),
            (second.peer().port(), None)
        ]
    );

    // A client that leaves is no longer listed.
    drop((reader1, writer1, client));
    until(&server, |s| s.clients().len() == 1).await;
    assert_eq!(server.clients()[0].peer(), second.peer());

    let mut second = second;
    second.writer().write(b"still here\r\n").await.unwrap();
    assert_eq!(support::next_line(&mut reader2).await, b"still here\r\n");
    drop(writer2);

    // Once closed, waiting gives nothing.
    server.close();
    assert!(timeout(PATIENCE, server.wait_for_client())
        .await
        .unwrap()
        .is_none());
}

/// A shell that writes `line N\r\n` for ever, a line every 2 ms.
async fn counting_shell(_reader: TelnetReader, mut writer: TelnetWriter) {
    for n in 0u64.. {
        if writer
            .write(format!("line {n}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

const NOTICE: &[u8] = b"\r\nServer restarting, please reconnect.\r\n";

/// `received`, from the first line of the count: consecutive whole lines from
/// `line 0`, with `NOTICE` once among them. Returns how many lines came.
fn check_drained(received: &[u8]) -> usize {
    let start = received
        .windows(6)
        .position(|w| w == b"line 0")
        .unwrap_or_else(|| panic!("no count in {:?}", received.escape_ascii().to_string()));
    let data = &received[start..];
    let at = data
        .windows(NOTICE.len())
        .position(|w| w == NOTICE)
        .expect("no notice");
    let mut without = data[..at].to_vec();
    without.extend_from_slice(&data[at + NOTICE.len()..]);
    assert!(
        !without.windows(NOTICE.len()).any(|w| w == NOTICE),
        "two notices"
    );
    let text = String::from_utf8(without).unwrap();
    assert!(text.ends_with("\r\n"), "a line cut short: {text:?}");
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("line {n}"), "a line lost or out of order");
    }
    assert!(at > 0, "the notice came before any line");
    lines.len()
}

#[tokio::test]
async fn drain_tells_every_session_then_closes_with_nothing_lost() {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(100);
    let server = create_server(config, counting_shell).await.unwrap();
    let port = port(&server);
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    until(&server, |s| s.clients().len() == 3).await;
    // Some lines before the drain.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut client| tokio::spawn(async move { read_to_end(&mut client).await }))
        .collect();
    let summary = server.drain(NOTICE, Duration::from_millis(300)).await;
    assert_eq!(
        (
            summary.open,
            summary.notified,
            summary.finished,
            summary.closed
        ),
        (3, 3, 0, 3)
    );
    for reader in readers {
        let received = reader.await.unwrap();
        assert!(check_drained(&received) > 1);
    }
    timeout(PATIENCE, server.wait_closed()).await.unwrap();
    // Stopped accepting: a new connection is refused or closed at once.
    if let Ok(mut late) = TcpStream::connect(("127.0.0.1", port)).await {
        assert!(read_to_end(&mut late).await.is_empty());
    }
}

#[tokio::test]
async fn drain_returns_early_when_the_shells_finish() {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(100);
    // The shell ends on the client's next line.
    let server = create_server(config, |mut reader: TelnetReader, _writer| async move {
        let _ = reader.read_line().await;
    })
    .await
    .unwrap();
    let mut client = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    until(&server, |s| s.clients().len() == 1).await;
    let drain = server.drain(NOTICE, PATIENCE * 10);
    let answer = async {
        let mut seen = Vec::new();
        let mut buf = [0; 256];
        while !seen.windows(NOTICE.len()).any(|w| w == NOTICE) {
            let n = client.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the notice");
            seen.extend_from_slice(&buf[..n]);
        }
        client.write_all(b"ok, bye\r\n").await.unwrap();
    };
    let (summary, ()) = timeout(PATIENCE, async { tokio::join!(drain, answer) })
        .await
        .expect("the drain waited for its deadline");
    assert_eq!((summary.open, summary.finished, summary.closed), (1, 1, 0));
}

#[tokio::test]
async fn connections_over_max_connections_get_one_line_and_the_close() {
    let mut config = local();
    config.max_connections = Some(2);
    let server = create_server(config, idle_shell).await.unwrap();
    let port = port(&server);
    let _a = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let b = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    until(&server, |s| s.connection_count() == 2).await;
    let mut over = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    assert_eq!(
        read_to_end(&mut over).await,
        b"Machine is busy, do not touch! Too many connections.\r\n"
    );
    assert_eq!(
        Refusal::MaxConnections.message(),
        b"Machine is busy, do not touch! Too many connections.\r\n"
    );
    let refused: Refused = server.refused();
    assert_eq!((refused.max_connections, refused.max_per_ip), (1, 0));
    // One leaves: there is room again.
    drop(b);
    until(&server, |s| s.connection_count() == 1).await;
    let _c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    until(&server, |s| s.connection_count() == 2).await;
    assert_eq!(server.refused().max_connections, 1);
}

#[tokio::test]
async fn connections_over_max_per_ip_are_refused_only_for_that_address() {
    let mut config = local();
    config.max_per_ip = Some(1);
    let server = create_server(config, idle_shell).await.unwrap();
    let port = port(&server);
    let _first = connect_from(Ipv4Addr::LOCALHOST, port).await;
    until(&server, |s| s.connection_count() == 1).await;
    let mut again = connect_from(Ipv4Addr::LOCALHOST, port).await;
    assert_eq!(
        read_to_end(&mut again).await,
        b"Machine is busy, do not touch! Too many connections from your address.\r\n"
    );
    // Another address of this machine is another peer.
    let _other = connect_from(Ipv4Addr::new(127, 0, 0, 2), port).await;
    until(&server, |s| s.connection_count() == 2).await;
    let mut peers: Vec<IpAddr> = server.connections().iter().map(SocketAddr::ip).collect();
    peers.sort();
    assert_eq!(
        peers,
        [Ipv4Addr::LOCALHOST, Ipv4Addr::new(127, 0, 0, 2)].map(IpAddr::V4)
    );
    assert_eq!(server.refused().max_per_ip, 1);
    assert_eq!(server.refused().max_connections, 0);
}

/// A server whose shell reports the robot check's verdict, with `wait` per probe.
async fn robot_server(wait: Duration) -> Server {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(100);
    create_server(config, move |mut reader, mut writer| async move {
        let passed = robot_check(&mut reader, &mut writer, wait).await;
        let verdict: &[u8] = if passed { b"human\r\n" } else { b"robot\r\n" };
        let _ = writer.write(verdict).await;
    })
    .await
    .unwrap()
}

/// Read from `client` until `needle` has come; returns what came.
async fn read_past(client: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0; 256];
    while !seen.windows(needle.len()).any(|w| w == needle) {
        let n = timeout(PATIENCE, client.read(&mut buf))
            .await
            .expect("nothing within PATIENCE")
            .unwrap();
        assert!(n > 0, "closed; seen {:?}", seen.escape_ascii().to_string());
        seen.extend_from_slice(&buf[..n]);
    }
    seen
}

#[tokio::test]
async fn a_client_answering_the_cursor_probe_like_a_terminal_passes() {
    let server = robot_server(PATIENCE).await;
    let mut client = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    read_past(&mut client, b"\x1b[6n").await;
    client.write_all(b"\x1b[5;1R").await.unwrap();
    // The space, then the second probe.
    let seen = read_past(&mut client, b"\x1b[6n").await;
    assert_eq!(seen, b" \x1b[6n");
    client.write_all(b"\x1b[5;2R").await.unwrap();
    // The space wiped, and the verdict.
    assert_eq!(read_to_end(&mut client).await, b"\x1b[1G \x1b[1Ghuman\r\n");
}

#[tokio::test]
async fn a_client_that_does_not_answer_or_moves_wrongly_is_a_robot() {
    let server = robot_server(Duration::from_millis(200)).await;
    let mut silent = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    let seen = read_to_end(&mut silent).await;
    assert!(
        seen.ends_with(b"\x1b[6nrobot\r\n"),
        "{:?}",
        seen.escape_ascii().to_string()
    );

    // A terminal where the space took two columns.
    let mut wide = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    read_past(&mut wide, b"\x1b[6n").await;
    wide.write_all(b"typed ahead\x1b[3;10R").await.unwrap();
    read_past(&mut wide, b" \x1b[6n").await;
    wide.write_all(b"\x1b[3;12R").await.unwrap();
    assert_eq!(read_to_end(&mut wide).await, b"\x1b[10G  \x1b[10Grobot\r\n");
}

#[tokio::test]
async fn the_status_names_each_connection_in_telnetlib3_words() {
    let server = create_server(local(), idle_shell).await.unwrap();
    assert_eq!(server.status().to_string(), "0 clients connected");
    let mut client = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    client.write_all(b"hi").await.unwrap();
    until(&server, |s| {
        s.status().clients.first().is_some_and(|c| c.rx == 2)
    })
    .await;
    let status = server.status();
    let tx = status.clients[0].tx;
    assert!(tx > 0, "the opening negotiation was sent");
    let local = client.local_addr().unwrap();
    assert_eq!(
        status.to_string(),
        format!(
            "1 client(s): 127.0.0.1:{} (rx=2, tx={tx}, idle=0)",
            local.port()
        )
    );
}

#[tokio::test]
async fn a_stream_served_by_the_server_is_listed_limited_and_drained() {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(100);
    config.max_per_ip = Some(1);
    let server = std::sync::Arc::new(create_server(config, idle_shell).await.unwrap());
    let peer = SocketAddr::from(([192, 0, 2, 7], 4000));
    let (mut ours, theirs) = tokio::io::duplex(64 * 1024);
    let serving = {
        let server = std::sync::Arc::clone(&server);
        tokio::spawn(async move { server.serve_stream(theirs, peer, idle_shell).await })
    };
    until(&server, |s| s.clients().len() == 1).await;
    assert_eq!(server.clients()[0].peer(), peer);

    // The same address again, over the per-address limit.
    let (mut refused, theirs) = tokio::io::duplex(1024);
    server.serve_stream(theirs, peer, idle_shell).await;
    let mut line = Vec::new();
    timeout(PATIENCE, refused.read_to_end(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line, Refusal::MaxPerIp.message());
    assert_eq!(server.refused().max_per_ip, 1);

    // The drain reaches it: the notice, then the close.
    let summary = server.drain(NOTICE, Duration::from_millis(100)).await;
    assert_eq!((summary.open, summary.notified, summary.closed), (1, 1, 1));
    let mut received = Vec::new();
    timeout(PATIENCE, ours.read_to_end(&mut received))
        .await
        .unwrap()
        .unwrap();
    assert!(
        received.ends_with(NOTICE),
        "{:?}",
        received.escape_ascii().to_string()
    );
    timeout(PATIENCE, serving).await.unwrap().unwrap();

    // A stopped server serves nothing more.
    let (mut late, theirs) = tokio::io::duplex(1024);
    server.serve_stream(theirs, peer, idle_shell).await;
    let mut nothing = Vec::new();
    timeout(PATIENCE, late.read_to_end(&mut nothing))
        .await
        .unwrap()
        .unwrap();
    assert!(nothing.is_empty());
}
