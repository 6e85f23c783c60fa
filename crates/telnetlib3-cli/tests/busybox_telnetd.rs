//! Our client against busybox telnetd (package `busybox-static`, which `scripts/test.sh`
//! installs), started on 127.0.0.1 and a free port below 32768. A missing program fails
//! the test with the command that installs it.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, require, run, Proc, CLIENT, PATIENCE};

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
