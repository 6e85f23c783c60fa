//! `telnetlib3-server` in operation: the drain on SIGTERM with 200 sessions in a
//! `dump`, the connection limits, the robot check and the status line.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::Duration;

use common::{show, start_server, wait_within, Proc, Raw, PATIENCE};

const NOTICE: &[u8] = b"\r\nServer restarting, please reconnect.\r\n";

/// The debug shell's prompt.
const PROMPT: &[u8] = b"tel:sh> ";

/// Send `signal` to the server.
fn signal(server: &Proc, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The dump's output, `kb` KiB of it: alternating lines of 80 slashes and backslashes,
/// each ending with `ESC [1G`.
fn dump_stream(lines: usize) -> Vec<u8> {
    let mut all = Vec::with_capacity(lines * 84);
    for index in 0..lines {
        let glyph = if index % 2 == 0 { b'/' } else { b'\\' };
        all.extend_from_slice(&[glyph; 80]);
        all.extend_from_slice(b"\x1b[1G");
    }
    all
}

/// A client in the middle of a slow `dump`: it has read up to the dump's header and
/// at least one line.
struct Dumping {
    stream: TcpStream,
    /// What came after the dump's header so far.
    after_header: Vec<u8>,
}

const DUMP: &[u8] = b"dump 100000 20\r\n";
const DUMP_HEADER: &[u8] = b"kb_limit=100000, delay=0.02, drain=True, do_close=False:\r\n";

impl Dumping {
    fn start(port: u16) -> Self {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut seen = Vec::new();
        read_past(&mut stream, &mut seen, PROMPT);
        stream.write_all(DUMP).unwrap();
        let mut seen = Vec::new();
        let at = read_past(&mut stream, &mut seen, DUMP_HEADER);
        let mut after_header = seen.split_off(at);
        while after_header.len() < 84 {
            let mut chunk = [0; 4096];
            let n = match stream.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("no dump line: {e}"),
            };
            assert!(n > 0, "closed in the dump");
            after_header.extend_from_slice(&chunk[..n]);
        }
        Self {
            stream,
            after_header,
        }
    }

    /// Everything until the server closes, after the header.
    fn finish(mut self) -> Vec<u8> {
        self.stream
            .read_to_end(&mut self.after_header)
            .expect("no close");
        self.after_header
    }
}

/// Read into `seen` until it holds `needle`; returns where the needle ends.
fn read_past(stream: &mut TcpStream, seen: &mut Vec<u8>, needle: &[u8]) -> usize {
    loop {
        if let Some(at) = seen.windows(needle.len()).position(|w| w == needle) {
            return at + needle.len();
        }
        let mut chunk = [0; 4096];
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("no {}: {e}; got {}", show(needle), show(seen)),
        };
        assert!(n > 0, "closed before {}; got {}", show(needle), show(seen));
        seen.extend_from_slice(&chunk[..n]);
    }
}

/// `received` is dump lines with the notice once among them (after one at least),
/// and, without it, whole lines of the dump from its first: nothing written before
/// the notice was lost.
fn assert_drained(received: &[u8]) {
    let at = received
        .windows(NOTICE.len())
        .position(|w| w == NOTICE)
        .unwrap_or_else(|| panic!("no notice in {} bytes", received.len()));
    assert!(at >= 84, "the notice came before the first line");
    let mut without = received[..at].to_vec();
    without.extend_from_slice(&received[at + NOTICE.len()..]);
    assert_eq!(without.len() % 84, 0, "a line cut short");
    assert!(
        without == dump_stream(without.len() / 84),
        "the dump lost or changed bytes"
    );
}

#[test]
fn sigterm_drains_200_sessions_in_a_dump_and_exits_0() {
    const CLIENTS: usize = 200;
    let drain_timeout = Duration::from_secs(3);
    let (mut server, port) = start_server(&[
        "--connect-maxwait",
        "0.2",
        "--drain-timeout",
        "3",
        "--timeout",
        "0",
    ]);
    // Started from a few threads: a connection waits out the negotiation before its
    // prompt, so one thread would take 200 times that.
    let starters: Vec<_> = (0..10)
        .map(|_| {
            thread::spawn(move || {
                (0..CLIENTS / 10)
                    .map(|_| Dumping::start(port))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let clients: Vec<Dumping> = starters
        .into_iter()
        .flat_map(|starter| starter.join().unwrap())
        .collect();
    assert_eq!(clients.len(), CLIENTS);
    let readers: Vec<_> = clients
        .into_iter()
        .map(|client| thread::spawn(move || client.finish()))
        .collect();
    signal(&server, "-TERM");
    server.wait_for_line("Draining: 3 s").unwrap();
    let line = server.wait_for_line("drained: ").unwrap();
    assert!(
        line.ends_with("drained: 200 open, 200 told, 0 ended, 200 closed at the deadline"),
        "{line}"
    );
    for reader in readers {
        assert_drained(&reader.join().unwrap());
    }
    // Within the drain timeout, and the close timeout for what was queued.
    let status = wait_within(&mut server.child, drain_timeout + PATIENCE);
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_second_sigterm_closes_at_once() {
    let (mut server, port) = start_server(&[
        "--connect-maxwait",
        "0.2",
        "--drain-timeout",
        "600",
        "--drain-message",
        r"\r\nGoing down.\r\n",
    ]);
    let client = Dumping::start(port);
    signal(&server, "-TERM");
    server.wait_for_line("Draining: 600 s").unwrap();
    signal(&server, "-TERM");
    server.wait_for_line("Closing at once.").unwrap();
    let status = server.wait();
    assert!(status.success(), "{status:?}");
    let received = client.finish();
    assert!(
        received.windows(15).any(|w| w == b"\r\nGoing down.\r\n"),
        "no notice"
    );
}

/// A raw client from `source`.
fn connect_from(source: Ipv4Addr, port: u16) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((source, 0)).into()).unwrap();
    socket
        .connect(&SocketAddr::from(([127, 0, 0, 1], port)).into())
        .unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Everything until the server closes.
fn read_all(mut stream: TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    all
}

#[test]
fn max_connections_and_max_per_ip_refuse_with_one_line() {
    let (mut server, port) = start_server(&["--max-connections", "2", "--max-per-ip", "1"]);
    let mut first = connect_from(Ipv4Addr::LOCALHOST, port);
    let mut seen = Vec::new();
    read_past(&mut first, &mut seen, PROMPT);
    // The same address again: over --max-per-ip.
    assert_eq!(
        show(&read_all(connect_from(Ipv4Addr::LOCALHOST, port))),
        show(b"Machine is busy, do not touch! Too many connections from your address.\r\n")
    );
    server.wait_for_line("refused: max_per_ip").unwrap();
    // Another address is let in; a third one is over --max-connections.
    let mut second = connect_from(Ipv4Addr::new(127, 0, 0, 2), port);
    let mut seen = Vec::new();
    read_past(&mut second, &mut seen, PROMPT);
    assert_eq!(
        show(&read_all(connect_from(Ipv4Addr::new(127, 0, 0, 3), port))),
        show(b"Machine is busy, do not touch! Too many connections.\r\n")
    );
    let line = server.wait_for_line("refused: max_connections").unwrap();
    assert!(line.contains("Connection from <Peer 127.0.0.3 "), "{line}");
    // One leaves: the first address may come back.
    drop(first);
    server
        .wait_for_line("Connection closed for <Peer 127.0.0.1 ")
        .unwrap();
    let mut again = connect_from(Ipv4Addr::LOCALHOST, port);
    let mut seen = Vec::new();
    read_past(&mut again, &mut seen, PROMPT);
}

#[test]
fn limits_are_checked_as_flags() {
    for (flag, bad) in [
        ("--max-connections", "--max-connections=-1"),
        ("--max-per-ip", "--max-per-ip=many"),
    ] {
        let out = common::run(
            {
                let mut command = Command::new(common::SERVER);
                command.arg(bad);
                command
            },
            b"",
        );
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains(flag), "{}", out.stderr);
    }
}

#[test]
fn a_terminal_passes_the_robot_check_and_gets_the_shell() {
    let (_server, port) = start_server(&["--robot-check", "--connect-maxwait", "0.2"]);
    let mut client = Raw::connect(port);
    client.read_until(b"\x1b[6n");
    client.send(b"\x1b[24;1R");
    client.expect(b" \x1b[6n");
    client.send(b"\x1b[24;2R");
    client.expect(b"\x1b[1G \x1b[1GReady.\r\ntel:sh> ");
    client.send(b"quit\r\n");
    client.read_until(b"Goodbye.\r\n");
    client.expect_close();
}

#[test]
fn a_plain_socket_fails_the_robot_check_and_gets_the_robot_shell() {
    let (mut server, port) = start_server(&["--robot-check", "--connect-maxwait", "0.2"]);
    let mut client = Raw::connect(port);
    client.read_until(b"\x1b[6n");
    // No cursor report: after telnetlib3's 5 s, the questions.
    client.read_until(b"Do robots dream of electric sheep? [yn] ");
    server
        .wait_for_line("robot_shell: connection from 127.0.0.1 ")
        .unwrap();
    // A blank answer asks again.
    client.send(b"\r\n");
    client.expect(b"\r\nDo robots dream of electric sheep? [yn] ");
    client.send(b"n\r\n");
    client.expect(b"\r\nHave you ever wondered, who are the windowmakers? ");
    client.send(b"the robots\r\n");
    client.expect(b"\r\n");
    client.expect_close();
    let line = server.wait_for_line("robot denied").unwrap();
    assert!(
        line.ends_with("robot denied, answers=['n', 'the robots']"),
        "{line}"
    );
}

#[test]
fn the_status_line_is_logged_when_the_clients_change_and_only_then() {
    let (mut server, port) = start_server(&["--status-interval", "0.2", "--timeout", "0"]);
    // No client yet: several intervals pass without a status line.
    thread::sleep(Duration::from_millis(700));
    assert!(
        !server.stderr_so_far().iter().any(|l| l.contains("Status:")),
        "{:?}",
        server.stderr_seen
    );
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let local = client.local_addr().unwrap();
    let line = server.wait_for_line("Status: ").unwrap();
    let expected = format!("Status: 1 client(s): 127.0.0.1:{} (rx=0, tx=", local.port());
    assert!(line.contains(&expected), "{line}");
    assert!(line.ends_with(", idle=0)"), "{line}");
    drop(client);
    let line = server.wait_for_line("Status: 0").unwrap();
    assert!(line.ends_with("Status: 0 clients connected"), "{line}");
    // Unchanged since: not logged again.
    thread::sleep(Duration::from_millis(700));
    let after = server.stderr_so_far();
    let zero_lines = after.iter().filter(|l| l.contains("Status: 0")).count();
    assert_eq!(zero_lines, 1, "{after:?}");
}
