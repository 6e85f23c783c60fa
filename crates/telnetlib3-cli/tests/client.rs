//! `telnetlib3-client` as a process: against our server, against a scripted server that
//! checks bytes, and against nothing.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::{run, show, start_server, Proc, CLIENT, PATIENCE};

#[test]
fn piped_help_and_quit_print_the_whole_dialogue_against_our_server() {
    let (_server, port) = start_server(&["--connect-maxwait", "30"]);
    let mut command = Command::new(CLIENT);
    command.args(["127.0.0.1", &port.to_string()]);
    let out = run(command, b"help\r\nquit\r\n");
    assert_eq!(
        show(&out.stdout),
        show(b"Ready.\r\ntel:sh> help\r\nquit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud\r\ntel:sh> quit\r\nGoodbye.\r\n")
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stderr, "");
}

/// Read exactly `n` bytes from a scripted server's socket, within [`PATIENCE`].
fn read_n(stream: &mut std::net::TcpStream, n: usize) -> Vec<u8> {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn answers_negotiation_sends_cr_lf_and_reads_until_the_server_closes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut command = Command::new(CLIENT);
    command
        .args(["127.0.0.1", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut client = Proc::spawn(command);
    let mut stdin = client.child.stdin.take().unwrap();
    let mut stdout = client.child.stdout.take().unwrap();
    let printed = thread::spawn(move || {
        let mut all = Vec::new();
        stdout.read_to_end(&mut all).unwrap();
        all
    });

    let (mut server, _) = listener.accept().unwrap();
    // WILL ECHO, WILL SGA, DO ECHO, DO TTYPE, DO NAWS, then data.
    server
        .write_all(b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x01\xff\xfd\x18\xff\xfd\x1fhello\r\n")
        .unwrap();
    // DO ECHO, DO SGA, WONT ECHO (a client never echoes), WILL TTYPE, and WILL NAWS
    // followed at once by its size (telnetlib3's default 80 x 25).
    assert_eq!(
        show(&read_n(&mut server, 24)),
        show(
            b"\xff\xfd\x01\xff\xfd\x03\xff\xfc\x01\xff\xfb\x18\xff\xfb\x1f\
              \xff\xfa\x1f\x00\x50\x00\x19\xff\xf0"
        )
    );
    // Lines ending in LF go out as CR LF; then standard input ends.
    stdin.write_all(b"one\ntwo\n").unwrap();
    drop(stdin);
    assert_eq!(show(&read_n(&mut server, 10)), show(b"one\r\ntwo\r\n"));
    // The client keeps reading after its input ended: IAC IAC is one 0xff byte, and
    // IAC GA is no data.
    server.write_all(b"bye\xff\xff\r\n\xff\xf9").unwrap();
    thread::sleep(Duration::from_millis(200));
    server.write_all(b"late").unwrap();
    drop(server);

    let status = client.wait();
    assert!(status.success(), "{status:?}: {:?}", client.stderr_seen);
    assert_eq!(
        show(&printed.join().unwrap()),
        show(b"hello\r\nbye\xff\r\nlate")
    );
}

/// A privileged port that refuses connections. Not a freed ephemeral port: connecting to
/// one of those can pick the same port as its source and connect to itself.
fn closed_port() -> u16 {
    [1, 7, 9, 13, 37, 79]
        .into_iter()
        .find(|&port| {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            matches!(
                std::net::TcpStream::connect_timeout(&addr, PATIENCE),
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused
            )
        })
        .expect("no closed privileged port on 127.0.0.1")
}

#[test]
fn a_closed_port_is_a_one_line_error_and_exit_1() {
    let port = closed_port();
    let mut command = Command::new(CLIENT);
    command.args(["127.0.0.1", &port.to_string()]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "telnetlib3-client: error: cannot connect to 127.0.0.1:{port}: Connection refused\n"
        )
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unknown_host_is_a_one_line_error_and_exit_1() {
    let mut command = Command::new(CLIENT);
    command.args(["no-such-host.invalid", "23", "--connect-timeout", "5"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
    assert!(
        out.stderr.starts_with("telnetlib3-client: error: cannot ")
            && out.stderr.contains("no-such-host.invalid"),
        "{:?}",
        out.stderr
    );
}

#[test]
fn a_missing_host_is_a_one_line_usage_error() {
    let out = run(Command::new(CLIENT), b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        out.stderr,
        "telnetlib3-client: error: the following required arguments were not provided: <HOST>\n"
    );
}

#[test]
fn an_unknown_encoding_is_a_one_line_error() {
    let mut command = Command::new(CLIENT);
    command.args(["127.0.0.1", "1", "--encoding", "klingon"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        out.stderr,
        "telnetlib3-client: error: unknown encoding: klingon\n"
    );
}

#[test]
fn the_built_in_shells_by_name() {
    let (_server, port) = start_server(&["--shell", "wargame", "--connect-maxwait", "2"]);
    let mut command = Command::new(CLIENT);
    command.args(["127.0.0.1", &port.to_string()]);
    let out = run(command, b"y");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        show(&out.stdout),
        show(b"\r\nWould you like to play a game? \r\nThey say the only way to win is to not play at all.\r\n")
    );

    // Not a built-in name: a program (`--shell PROGRAM`), which must exist. telnetlib3's
    // `module.fn` shells are Python functions; Rust cannot load them at run time.
    let mut bad = Command::new(common::SERVER);
    bad.args(["--shell", "module.fn"]);
    let out = run(bad, b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        out.stderr,
        "telnetlib3-server: error: cannot run module.fn: not found in PATH\n"
    );
}

#[test]
fn always_flags_offer_and_refuse_options() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut command = Command::new(CLIENT);
    command
        .args(["127.0.0.1", &port.to_string()])
        .args([
            "--always-will",
            "tspeed",
            "--always-do",
            "STATUS",
            "--always-dont",
            "echo",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut client = Proc::spawn(command);
    let (mut server, _) = listener.accept().unwrap();
    // The client opens with WILL TSPEED and DO STATUS, nothing else.
    assert_eq!(
        show(&read_n(&mut server, 6)),
        show(b"\xff\xfb\x20\xff\xfd\x05")
    );
    // WILL ECHO is refused although a client normally accepts it.
    server.write_all(b"\xff\xfb\x01").unwrap();
    assert_eq!(show(&read_n(&mut server, 3)), show(b"\xff\xfe\x01"));
    drop(server);
    drop(client.child.stdin.take());
    assert!(client.wait().success());
}

/// Our client greets a GMCP server as telnetlib3's does, with `--gmcp-modules`.
#[test]
fn gmcp_modules_reach_a_gmcp_server() {
    let (_server, port) = start_server(&["--connect-maxwait", "30", "--always-will", "GMCP"]);
    let mut command = Command::new(CLIENT);
    command.args([
        "127.0.0.1",
        &port.to_string(),
        "--gmcp-modules",
        "Char 1, Room.Info 1",
    ]);
    let out = run(command, b"mud\r\nquit\r\n");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let version = env!("CARGO_PKG_VERSION");
    for expected in [
        "MUD options: GMCP".to_string(),
        format!(r#"GMCP Core.Hello {{"client":"telnetlib3","version":"{version}"}}"#),
        r#"GMCP Core.Supports.Set ["char 1","room.info 1"]"#.to_string(),
    ] {
        assert!(text.contains(&expected), "{expected:?} missing: {text}");
    }
}
