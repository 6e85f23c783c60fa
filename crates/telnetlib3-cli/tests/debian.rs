//! Interoperability with Debian's telnet programs, which `scripts/test.sh` installs:
//! the `inetutils-telnet` client against our server (in a real terminal, tmux), and our
//! client against `busybox telnetd -F` (package `busybox-static`). A missing program fails
//! the test with the command that installs it.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, require, run, start_server, Proc, Tmux, CLIENT, PATIENCE};

#[test]
fn inetutils_telnet_against_our_server() {
    require("/usr/bin/telnet", "inetutils-telnet");
    let (_server, port) = start_server(&["--connect-maxwait", "2"]);
    let tmux = Tmux::start(&format!("telnet 127.0.0.1 {port}"));
    tmux.wait_for("tel:sh> ");
    tmux.send_line("help");
    tmux.wait_for("quit, writer, slc, linemode, toggle [option|all], reader, proto, dump");
    tmux.send_line("writer");
    // BSD telnet agrees to kludge mode, and reports its window, type and environment.
    let screen = tmux.wait_for("<TelnetWriter server mode:kludge");
    let screen = screen.replace('\n', "");
    assert!(
        screen.contains("server-will:BINARY,ECHO,SGA client-will:BINARY,NAWS,NEW_ENVIRON,TTYPE>"),
        "{screen}"
    );
    tmux.send_line("quit");
    let screen = tmux.wait_for("Connection closed by foreign host.");
    assert!(screen.contains("Goodbye."), "{screen}");
}

#[test]
fn our_client_against_busybox_telnetd() {
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
    let mut client = Command::new(CLIENT);
    client.args(["127.0.0.1", &port.to_string()]);
    // The arithmetic proves the line ran in the remote shell, not just echoed.
    let out = run(client, b"echo hello-from-$((6*7))\nexit\n");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hello-from-42"), "{text}");
}
