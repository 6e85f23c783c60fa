//! Our client against busybox telnetd (package `busybox-static`, which `scripts/test.sh`
//! installs), started on 127.0.0.1 and a free port below 32768. A missing program fails
//! the test with the command that installs it.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::{free_port, require, run, show, Proc, Tmux, CLIENT, PATIENCE};

/// The shell's prompt (PS1, which busybox telnetd passes on to the shell).
const PROMPT: &str = "bb-sh$ ";

/// `busybox telnetd -F -l /bin/sh` on a free port; returns once the port answers.
fn start_telnetd() -> (Proc, u16) {
    require("/usr/bin/busybox", "busybox-static");
    let port = free_port();
    let mut telnetd = Command::new("/usr/bin/busybox");
    telnetd
        .args([
            "telnetd",
            "-F",
            "-p",
            &port.to_string(),
            "-b",
            "127.0.0.1",
            "-l",
            "/bin/sh",
        ])
        .env("PS1", PROMPT)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut telnetd = Proc::spawn(telnetd);
    // busybox logs nothing when ready: wait until the port answers (a loaded machine may
    // take a while), and not by a connection to itself (TCP's simultaneous open, when
    // the free port is also picked as the source port).
    let deadline = Instant::now() + PATIENCE;
    loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) if stream.local_addr().ok() != stream.peer_addr().ok() => break,
            _ => {}
        }
        assert!(
            telnetd.child.try_wait().unwrap().is_none(),
            "busybox telnetd ended: {:?}",
            telnetd.stderr_seen
        );
        assert!(Instant::now() < deadline, "busybox telnetd did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    (telnetd, port)
}

#[test]
fn our_client_against_busybox_telnetd() {
    let (_telnetd, port) = start_telnetd();
    let mut client = Command::new(CLIENT);
    client.args(["127.0.0.1", &port.to_string()]);
    // The arithmetic proves the line ran in the remote shell, not just echoed.
    let out = run(client, b"echo hello-from-$((6*7))\nexit\n");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hello-from-42"), "{text}");
}

/// Issue 12, item 5. busybox telnetd drops the byte after a CR only when both come in
/// one read: Enter must go out as CR NUL in one write (RFC 854; BSD telnet does so), or
/// the late NUL reaches the shell as `^@` in front of the next command.
#[test]
fn enter_goes_out_as_cr_nul_in_one_write() {
    let (_telnetd, port) = start_telnetd();
    let proxy = Proxy::start(port);
    let tmux = Tmux::start(&format!("{CLIENT} 127.0.0.1 {}", proxy.port()));
    tmux.wait_for(PROMPT.trim_end());
    // busybox says WILL ECHO and WILL SGA: the client sends keys as typed (kludge mode),
    // and BINARY is never agreed, so the NVT rules apply.
    tmux.send_line("echo one");
    tmux.wait_for_line("one");
    tmux.send_line("echo two");
    let screen = tmux.wait_for_line("two");
    assert!(
        screen.contains(&format!("{PROMPT}echo two")),
        "the second command is not shown as typed:\n{screen}"
    );
    assert!(!screen.contains("^@"), "a NUL reached the shell:\n{screen}");
    assert!(!screen.contains("not found"), "{screen}");

    let wire = proxy.to_server();
    for line in [&b"echo one\r\0"[..], b"echo two\r\0"] {
        assert!(
            wire.windows(line.len()).any(|w| w == line),
            "{} not sent; the client's reads:\n{}",
            show(line),
            proxy.show_reads_to_server()
        );
    }
    // The NUL is in the same read as its CR: no read ends with a CR.
    assert!(
        proxy
            .reads_to_server()
            .iter()
            .all(|read| !read.ends_with(b"\r")),
        "a CR without its NUL; the client's reads:\n{}",
        proxy.show_reads_to_server()
    );
}

/// Issue 16: the stdlib-style `Telnet` (options all refused, as CPython's) runs commands
/// in busybox's shell by prompt.
#[test]
fn the_telnetlib_port_against_busybox_telnetd() {
    use telnetlib3::regex::bytes::Regex;
    use telnetlib3::telnetlib::Telnet;

    let (_telnetd, port) = start_telnetd();
    let wait = Some(PATIENCE);
    let mut tn = Telnet::open("127.0.0.1", port, wait).unwrap();
    let banner = tn.read_until(PROMPT.as_bytes(), wait).unwrap();
    assert!(banner.ends_with(PROMPT.as_bytes()), "{banner:?}");
    // The arithmetic proves the line ran in the remote shell, not just echoed.
    tn.write(b"echo hello-from-$((6*7))\r\n").unwrap();
    let patterns = [
        Regex::new(r"not found").unwrap(),
        Regex::new(r"hello-from-(\d+)\r?\n").unwrap(),
    ];
    let (index, matched, _) = tn.expect(&patterns, wait).unwrap();
    assert_eq!(index, Some(1), "{matched:?}");
    assert_eq!(matched.unwrap(), b"hello-from-42\r\n");
    tn.read_until(PROMPT.as_bytes(), wait).unwrap();
    tn.write(b"exit\r\n").unwrap();
    // The shell's end closes the connection: read_all returns at EOF.
    tn.read_all().unwrap();
    assert!(matches!(
        tn.read_very_eager(),
        Err(telnetlib3::Error::Closed)
    ));
    tn.close();
}

/// Issue 16: the blocking client's expect-style reads drive busybox's shell by prompt.
#[test]
fn the_blocking_client_expects_busybox_prompts() {
    use telnetlib3::blocking::TelnetConnection;
    use telnetlib3::regex::bytes::Regex;

    let (_telnetd, port) = start_telnetd();
    let wait = Some(PATIENCE);
    let mut conn =
        TelnetConnection::connect("127.0.0.1", port, telnetlib3::ClientConfig::default()).unwrap();
    let prompt = Regex::new(r"\S+\$ $").unwrap();
    let banner = conn.read_until_pattern(&prompt, wait).unwrap();
    assert!(banner.ends_with(PROMPT.as_bytes()), "{banner:?}");
    conn.write(b"echo hello-from-$((6*7))\r\n").unwrap();
    let found = conn
        .expect(&[Regex::new(r"hello-from-\d+").unwrap()], wait)
        .unwrap();
    assert_eq!(found.matched, b"hello-from-42");
    conn.read_until(PROMPT, wait).unwrap();
    conn.close();
}
