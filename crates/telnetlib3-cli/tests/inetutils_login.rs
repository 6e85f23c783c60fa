//! Issue 16: scripts log into inetutils telnetd (package `inetutils-telnetd`, which
//! `scripts/test.sh` installs) and run commands by prompt, with the stdlib-style
//! `telnetlib::Telnet` and with the blocking client.
//!
//! telnetd is inetd-style (see `inetutils_telnetd.rs`): the test accepts one connection
//! on 127.0.0.1 and a free port below 32768 and starts `telnetd -E LOGIN` on it. LOGIN is
//! a login program written by the test: it asks `login: ` and `Password: ` as login(1)
//! does, and for the right pair runs /bin/sh with a switch-like prompt.

mod common;

use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;

use common::{listen_local, require, Proc, PATIENCE};
use telnetlib3::regex::bytes::Regex;

const TELNETD: &str = "/usr/sbin/telnetd";
/// The shell's prompt after a good login.
const PROMPT: &str = "sw1# ";

/// The login program: login(1)'s dialogue, then a shell with [`PROMPT`] (telnetd
/// clears the environment, so PS1 is given through env(1)). It writes LF: the pty
/// makes it CR LF (ONLCR).
const LOGIN: &str = r#"#!/bin/sh
printf 'Test switch\n\nlogin: '
read -r name
printf 'Password: '
stty -echo 2>/dev/null
read -r password
stty echo 2>/dev/null
printf '\n'
if [ "$name" = admin ] && [ "$password" = s3cret ]; then
    printf 'Welcome, %s\n' "$name"
    exec /usr/bin/env "PS1=sw1# " /bin/sh
fi
printf 'Login incorrect\n'
exit 1
"#;

/// The login program in a file of its own, removed at the end.
struct LoginProgram {
    path: PathBuf,
}

impl LoginProgram {
    fn write() -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "telnetlib3-login-{}-{}.sh",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, LOGIN).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { path }
    }
}

impl Drop for LoginProgram {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// telnetd running `login` for the first connection to the returned port; the receiver
/// gets its process (killed when dropped).
fn start_telnetd(login: &LoginProgram) -> (u16, Receiver<Proc>) {
    require(TELNETD, "inetutils-telnetd");
    let listener = listen_local();
    let port = listener.local_addr().unwrap().port();
    let mut command = Command::new(TELNETD);
    command.args(["-E", login.path.to_str().unwrap()]);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let socket = OwnedFd::from(stream);
        command
            .stdin(Stdio::from(socket.try_clone().unwrap()))
            .stdout(Stdio::from(socket));
        let _ = tx.send(Proc::spawn(command));
    });
    (port, rx)
}

fn prompts() -> [Regex; 2] {
    [
        Regex::new(r"[#>] $").unwrap(),
        Regex::new(r"(?i)login incorrect").unwrap(),
    ]
}

#[test]
fn the_telnetlib_port_logs_into_inetutils_telnetd_and_runs_commands() {
    use telnetlib3::telnetlib::Telnet;

    let login = LoginProgram::write();
    let (port, _telnetd) = start_telnetd(&login);
    let wait = Some(PATIENCE);
    let mut tn = Telnet::open("127.0.0.1", port, wait).unwrap();
    let banner = tn.read_until(b"login: ", wait).unwrap();
    assert!(
        banner.ends_with(b"Test switch\r\n\r\nlogin: "),
        "{banner:?}"
    );
    tn.write(b"admin\r\n").unwrap();
    tn.read_until(b"Password: ", wait).unwrap();
    tn.write(b"s3cret\r\n").unwrap();
    let (index, matched, before) = tn.expect(&prompts(), wait).unwrap();
    assert_eq!(index, Some(0), "{:?}", String::from_utf8_lossy(&before));
    assert_eq!(matched.unwrap(), b"# ");
    // CPython's expect gives the text up to and including the match.
    assert!(
        before.ends_with(b"Welcome, admin\r\nsw1# "),
        "{:?}",
        String::from_utf8_lossy(&before)
    );
    // The arithmetic proves the line ran in the remote shell, not just echoed.
    tn.write(b"echo up-$((6*7))\r\n").unwrap();
    let output = tn.read_until(PROMPT.as_bytes(), wait).unwrap();
    assert!(
        output.ends_with(b"\r\nup-42\r\nsw1# "),
        "{:?}",
        String::from_utf8_lossy(&output)
    );
    tn.write(b"exit\r\n").unwrap();
    tn.read_all().unwrap();
    tn.close();
}

#[test]
fn the_telnetlib_port_sees_a_refused_login() {
    use telnetlib3::telnetlib::Telnet;

    let login = LoginProgram::write();
    let (port, _telnetd) = start_telnetd(&login);
    let wait = Some(PATIENCE);
    let mut tn = Telnet::open("127.0.0.1", port, wait).unwrap();
    tn.read_until(b"login: ", wait).unwrap();
    tn.write(b"admin\r\n").unwrap();
    tn.read_until(b"Password: ", wait).unwrap();
    tn.write(b"guess\r\n").unwrap();
    let (index, matched, _) = tn.expect(&prompts(), wait).unwrap();
    assert_eq!(index, Some(1));
    assert_eq!(matched.unwrap(), b"Login incorrect");
    // The login program ends: so does the connection.
    assert_eq!(tn.read_all().unwrap(), b"\r\n");
    tn.close();
}

#[test]
fn the_blocking_client_logs_into_inetutils_telnetd_and_runs_commands() {
    use telnetlib3::blocking::TelnetConnection;

    let login = LoginProgram::write();
    let (port, _telnetd) = start_telnetd(&login);
    let wait = Some(PATIENCE);
    let mut conn =
        TelnetConnection::connect("127.0.0.1", port, telnetlib3::ClientConfig::default()).unwrap();
    let banner = conn.read_until(b"login: ", wait).unwrap();
    assert!(
        banner.ends_with(b"Test switch\r\n\r\nlogin: "),
        "{banner:?}"
    );
    // Our client agrees BINARY with telnetd, which then hands the pty the bytes as
    // they are: a line ends with LF, as Unix wants it (a CR LF would be two line ends
    // after the pty's ICRNL: an empty password).
    assert!(conn.local_enabled(telnetlib3::proto::TelnetOption::Binary));
    conn.write(b"admin\n").unwrap();
    conn.read_until(b"Password: ", wait).unwrap();
    conn.write(b"s3cret\n").unwrap();
    let found = conn.expect(&prompts(), wait).unwrap();
    assert_eq!(found.index, 0, "{found:?}");
    assert!(
        found.before.ends_with(b"Welcome, admin\r\nsw1"),
        "{found:?}"
    );
    conn.write(b"echo up-$((6*7))\n").unwrap();
    let output = conn.read_until(PROMPT, wait).unwrap();
    assert!(
        output.ends_with(b"\r\nup-42\r\nsw1# "),
        "{:?}",
        String::from_utf8_lossy(&output)
    );
    conn.write(b"exit\n").unwrap();
    // The shell ends, and so does the connection. The pty's echo of the line may come
    // first, or telnetd may hang up before it relays it: no more than the echo comes.
    let mut rest = Vec::new();
    loop {
        let data = conn.read_some(wait).unwrap();
        if data.is_empty() {
            break;
        }
        rest.extend_from_slice(&data);
    }
    assert!(b"exit\r\n".starts_with(&rest), "{rest:?}");
    assert!(conn.at_eof());
    conn.close();
}
