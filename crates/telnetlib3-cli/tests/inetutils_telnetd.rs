//! Our client against inetutils telnetd 2.4 (package `inetutils-telnetd`, which
//! `scripts/test.sh` installs), with real LINEMODE (`-l`) and without, in tmux as a user
//! types, with the bytes on the wire recorded by a proxy.
//!
//! telnetd is inetd-style: it talks Telnet on its standard input and output, and wants a
//! socket there (it asks for the peer's address). The test is its inetd: it listens on
//! 127.0.0.1 and a free port below 32768, accepts one connection and starts
//! `telnetd -E PROGRAM` with the accepted socket as standard input and output (as
//! `socat TCP-LISTEN:PORT,bind=127.0.0.1,reuseaddr EXEC:"/usr/sbin/telnetd -E /bin/sh"`
//! would). telnetd opens a pty of its own for the program; `-E` runs it instead of
//! login. telnetd clears the environment, so the prompt is set through env(1).

mod common;

use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::{contains, listen_local, require, show, Proc, Tmux, CLIENT, PATIENCE};

const TELNETD: &str = "/usr/sbin/telnetd";
/// The shell's prompt (no blank: telnetd splits `-E` at blanks).
const PROMPT: &str = "tl3-sh>";
const COMMAND: &str = "echo $((6*7))";

/// telnetd with `flags` for the first connection to the returned port; the receiver
/// gets its process (killed when dropped, which ends the shell too: its pty hangs up).
fn start_telnetd(flags: &[&str]) -> (u16, Receiver<Proc>) {
    require(TELNETD, "inetutils-telnetd");
    let listener = listen_local();
    let port = listener.local_addr().unwrap().port();
    let mut command = Command::new(TELNETD);
    command
        .args(flags)
        .args(["-E", &format!("/usr/bin/env PS1={PROMPT} /bin/sh")]);
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

/// The screen once it has settled: unchanged for half a second (a late extra prompt
/// would show by then).
fn settled(tmux: &Tmux) -> String {
    let deadline = Instant::now() + PATIENCE;
    let mut last = tmux.screen();
    loop {
        thread::sleep(Duration::from_millis(500));
        let screen = tmux.screen();
        if screen == last {
            return screen;
        }
        assert!(
            Instant::now() < deadline,
            "the screen never settled:\n{screen}"
        );
        last = screen;
    }
}

/// Type [`COMMAND`] at the shell through our client and telnetd with `flags`; returns
/// the settled screen and the proxy that saw the client's bytes.
fn type_a_line(flags: &[&str]) -> (String, Proxy, Receiver<Proc>) {
    let (port, telnetd) = start_telnetd(flags);
    let proxy = Proxy::start(port);
    let tmux = Tmux::start(&format!("{CLIENT} 127.0.0.1 {}", proxy.port()));
    tmux.wait_for(PROMPT);
    settled(&tmux);
    tmux.send_line(COMMAND);
    tmux.wait_for("\n42\n");
    (settled(&tmux), proxy, telnetd)
}

/// The line ran once: `42` once, and after it exactly one prompt and nothing else.
fn assert_ran_once(screen: &str) {
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let answers: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == "42").collect();
    assert_eq!(answers.len(), 1, "not one answer:\n{screen}");
    let after: Vec<&str> = lines[answers[0] + 1..]
        .iter()
        .copied()
        .filter(|line| !line.is_empty())
        .collect();
    assert_eq!(after, [PROMPT], "an extra command ran:\n{screen}");
    // Nor an empty line echoed between the command and its answer.
    assert_ne!(
        lines[answers[0] - 1],
        "",
        "an empty line was sent:\n{screen}"
    );
    assert_eq!(screen.matches(PROMPT).count(), 2, "{screen}");
}

/// Issue 12, item 6. `telnetd -l` agrees LINEMODE with EDIT (the client's terminal edits
/// the line) and asks DO BINARY. In BINARY there is no end-of-line convention (RFC 856,
/// RFC 1123 3.2.7) and telnetd passes the line to its pty as it is: a CR LF ran an
/// extra, empty command. BSD and inetutils telnet send the line with LF.
#[test]
fn a_line_in_linemode_with_binary_runs_once() {
    let (screen, proxy, _telnetd) = type_a_line(&["-l"]);
    assert_ran_once(&screen);
    let wire = proxy.to_server();
    // WILL LINEMODE and WILL BINARY: the conditions of the rule.
    assert!(contains(&wire, b"\xff\xfb\x22"), "{}", show(&wire));
    assert!(contains(&wire, b"\xff\xfb\x00"), "{}", show(&wire));
    let line = format!("{COMMAND}\n");
    assert!(
        proxy
            .reads_to_server()
            .iter()
            .any(|read| read == line.as_bytes()),
        "the line did not go as {} in one write; the client's reads:\n{}",
        show(line.as_bytes()),
        proxy.show_reads_to_server()
    );
    assert!(
        !contains(&wire, b"\r\n"),
        "{}",
        proxy.show_reads_to_server()
    );
}

/// Without `-l`, telnetd refuses LINEMODE and echoes (kludge mode): keys go as typed,
/// and Enter in BINARY is CR alone (CR NUL is for the NVT), as BSD telnet sends it.
#[test]
fn a_line_in_kludge_mode_with_binary_runs_once() {
    let (screen, proxy, _telnetd) = type_a_line(&[]);
    assert_ran_once(&screen);
    let wire = proxy.to_server();
    assert!(contains(&wire, b"\xff\xfb\x00"), "{}", show(&wire));
    let line = format!("{COMMAND}\r");
    assert!(
        contains(&wire, line.as_bytes()),
        "{}",
        proxy.show_reads_to_server()
    );
    assert!(
        !contains(&wire, b"\r\0"),
        "{}",
        proxy.show_reads_to_server()
    );
    assert!(
        !contains(&wire, b"\r\n"),
        "{}",
        proxy.show_reads_to_server()
    );
}
