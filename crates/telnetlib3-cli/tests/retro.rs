//! The tools with the BBS encodings, and `telnetlib3-client`'s flags for retro-computing
//! BBSes against a scripted server that checks the exact bytes: the BBS encodings (binary
//! forced, the machine's key codes, `--ansi-keys`, `--ascii-eol`), SyncTERM font
//! selections switching the decoding, the `--always-*` option lists by name or number,
//! `--send-environ USER` and the `--connect-maxwait` default.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use common::{listen_local, run, show, start_server, Proc, Tmux, CLIENT, PATIENCE};

/// A client started on a scripted server: its standard input, what it prints (read on a
/// thread until it exits), and the server's end of the connection.
struct Session {
    client: Proc,
    stdin: Option<std::process::ChildStdin>,
    printed: Option<JoinHandle<Vec<u8>>>,
    server: TcpStream,
}

impl Session {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let listener: TcpListener = listen_local();
        let port = listener.local_addr().unwrap().port();
        let mut command = Command::new(CLIENT);
        command
            .args(["127.0.0.1", &port.to_string(), "--connect-maxwait", "0.5"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut client = Proc::spawn(command);
        let stdin = client.child.stdin.take();
        let mut stdout = client.child.stdout.take().unwrap();
        let printed = thread::spawn(move || {
            let mut all = Vec::new();
            let _ = stdout.read_to_end(&mut all);
            all
        });
        let (server, _) = listener.accept().unwrap();
        server.set_read_timeout(Some(PATIENCE)).unwrap();
        Self {
            client,
            stdin,
            printed: Some(printed),
            server,
        }
    }

    fn type_keys(&mut self, keys: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(keys).unwrap();
        stdin.flush().unwrap();
    }

    /// Exactly `n` bytes from the client.
    fn receive(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        self.server.read_exact(&mut buf).unwrap();
        buf
    }

    /// The server sends `data` in pieces a moment apart (so that they arrive in
    /// separate reads), closes, and the client's output is returned once it exits.
    fn serve_and_close(mut self, pieces: &[&[u8]]) -> Vec<u8> {
        for piece in pieces {
            self.server.write_all(piece).unwrap();
            thread::sleep(Duration::from_millis(100));
        }
        drop(self.stdin.take());
        self.server.shutdown(std::net::Shutdown::Both).unwrap();
        let status = self.client.wait();
        assert!(
            status.success(),
            "{status:?}: {:?}",
            self.client.stderr_seen
        );
        self.printed.take().unwrap().join().unwrap()
    }
}

#[test]
fn atascii_is_transcoded_without_binary_and_keys_go_as_an_atari_sends_them() {
    let mut session = Session::start(&["--encoding", "atascii"], &[]);
    // Typed text is encoded; arrows, Return, Backspace, Tab and Delete are the Atari's codes.
    session.type_keys(b"hi\x1b[A\x1b[D\r\x7f\t\x1b[3~");
    assert_eq!(
        show(&session.receive(8)),
        show(b"hi\x1c\x1e\x9b\x7e\x7f\x7e")
    );
    // A cursor key cut between two reads of the keyboard is still one key.
    session.type_keys(b"\x1bO");
    thread::sleep(Duration::from_millis(50));
    session.type_keys(b"B");
    assert_eq!(show(&session.receive(1)), show(b"\x1d"));
    // The server never agreed BINARY: its bytes are ATASCII all the same (0x9B is EOL).
    let printed = session.serve_and_close(&[b"\x00READY\x9b\x0d\x0a"]);
    assert_eq!(
        String::from_utf8(printed).unwrap(),
        "\u{2665}READY\n\u{1FB82}\u{25E3}"
    );
}

#[test]
fn ansi_keys_and_ascii_eol() {
    let mut session = Session::start(
        &["--encoding", "atari8bit", "--ansi-keys", "--ascii-eol"],
        &[],
    );
    session.type_keys(b"\x1b[A\x1bOCx\r");
    assert_eq!(show(&session.receive(8)), show(b"\x1b[A\x1bOCx\r"));
    // ATASCII's pictures of CR and LF are shown as line ends.
    let printed = session.serve_and_close(&[b"a\x0db\x0a\x9b"]);
    assert_eq!(String::from_utf8(printed).unwrap(), "a\rb\n\n");

    let mut session = Session::start(&["--encoding", "c64"], &[]);
    // Typed text is encoded: the shifted set has its capitals at 0xC1.
    session.type_keys(b"\x1b[A\x1b[H\x1b[2~\x7fAa");
    assert_eq!(show(&session.receive(6)), show(b"\x91\x13\x94\x14\xc1\x41"));
    session.serve_and_close(&[]);

    let mut session = Session::start(&["--encoding", "petscii", "--ansi-keys"], &[]);
    session.type_keys(b"\x1b[A\x1b[H\x7f");
    assert_eq!(show(&session.receive(7)), show(b"\x1b[A\x1b[H\x14"));
    session.serve_and_close(&[]);
}

/// SyncTERM's `CSI 0 ; font SP D` switches the decoding right after it, also when cut
/// between two reads: font 0 is CP437, 36 ATASCII, 32 PETSCII.
#[test]
fn syncterm_font_selection_switches_the_decoding() {
    let session = Session::start(&[], &[]);
    let printed = session.serve_and_close(&[
        b"\xc9\x1b[0;0 D\xc9\xcd\x1b[0;3",
        b"6 D\x00\x9b\x1b[0;32 D\xc1\x41",
    ]);
    // Before any selection the bytes pass as they come; ATASCII has no ESC (0x1B is a
    // picture, as telnetlib3 decodes it too).
    let mut expected = b"\xc9".to_vec();
    expected.extend_from_slice("\x1b[0;0 D╔═\x1b[0;36 D♥\n\u{241B}[0;32 DAa".as_bytes());
    assert_eq!(show(&printed), show(&expected));

    // A named encoding other than UTF-8 or ASCII is kept, as in telnetlib3.
    let session = Session::start(&["--encoding", "cp437", "--force-binary"], &[]);
    let printed = session.serve_and_close(&[b"\x1b[0;36 D\x9b"]);
    assert_eq!(String::from_utf8(printed).unwrap(), "\x1b[0;36 D¢");
}

#[test]
fn always_flags_take_numbers_and_names_and_repeat() {
    let mut session = Session::start(
        &[
            "--always-will",
            "24",
            "--always-will",
            "tspeed,NAWS",
            "--always-do",
            "201",
            "--always-do",
            "MXP",
            "--always-dont",
            "1",
        ],
        &[],
    );
    // WILL TTYPE, WILL TSPEED, WILL NAWS, DO GMCP, DO MXP.
    let opening = session.receive(15);
    assert_eq!(
        show(&opening),
        show(b"\xff\xfb\x18\xff\xfb\x20\xff\xfb\x1f\xff\xfd\xc9\xff\xfd\x5b")
    );
    // Option 1 (ECHO) is refused although a client normally accepts it.
    session.server.write_all(b"\xff\xfb\x01").unwrap();
    assert_eq!(show(&session.receive(3)), show(b"\xff\xfe\x01"));
    session.serve_and_close(&[]);

    let mut command = Command::new(CLIENT);
    command.args(["127.0.0.1", "1", "--always-do", "GMCP,256"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
    assert!(out.stderr.contains("\"256\""), "{:?}", out.stderr);
}

/// `--send-environ USER` sends our USER, as telnetlib3's client does; without it, USER is
/// undefined however the server asks.
#[test]
fn send_environ_user_sends_the_value() {
    for (send_environ, answer) in [
        ("USER,TERM", &b"\x00USER\x01alice"[..]),
        ("TERM", &b"\x00USER"[..]),
    ] {
        let mut session = Session::start(
            &["--send-environ", send_environ],
            &[("USER", "alice"), ("TERM", "vt100")],
        );
        // DO NEW-ENVIRON, then SEND VAR USER.
        session.server.write_all(b"\xff\xfd\x27").unwrap();
        assert_eq!(show(&session.receive(3)), show(b"\xff\xfb\x27"));
        session
            .server
            .write_all(b"\xff\xfa\x27\x01\x00USER\xff\xf0")
            .unwrap();
        let mut expected = b"\xff\xfa\x27\x00".to_vec();
        expected.extend_from_slice(answer);
        expected.extend_from_slice(b"\xff\xf0");
        assert_eq!(show(&session.receive(expected.len())), show(&expected));
        session.serve_and_close(&[]);
    }
}

#[test]
fn connect_maxwait_defaults_to_telnetlib3_clients() {
    let mut command = Command::new(CLIENT);
    command.arg("--help");
    let out = run(command, b"");
    let help = String::from_utf8(out.stdout).unwrap();
    let flag = help
        .split("--connect-maxwait")
        .nth(1)
        .and_then(|rest| rest.split("\n  -").next())
        .unwrap();
    assert!(flag.contains("[default: 4]"), "{flag}");
}

/// Both tools take the BBS encodings by name: our server's shell in ATASCII, which ends its
/// lines in ASCII CR LF (what `--ascii-eol` is for), read by our client in ATASCII.
#[test]
fn both_tools_speak_atascii() {
    let (_server, port) = start_server(&[
        "--connect-maxwait",
        "30",
        "--encoding",
        "atascii",
        "--force-binary",
    ]);
    let mut command = Command::new(CLIENT);
    command.args([
        "127.0.0.1",
        &port.to_string(),
        "--encoding",
        "atascii",
        "--ascii-eol",
    ]);
    // Return goes as ASCII CR (not 0x9B): the server's line editor ends the line.
    let out = run(command, b"reader\rquit\r");
    assert!(out.status.success(), "{out:?}");
    // buflen counts what had arrived of `quit` by then: not part of the question.
    let text = String::from_utf8(out.stdout).unwrap();
    let (before, after) = text.split_once("buflen=").unwrap();
    let after = after.trim_start_matches(|c: char| c.is_ascii_digit());
    assert_eq!(
        format!("{before}buflen=0{after}"),
        "Ready.\r\ntel:sh> reader\r\n<TelnetReaderUnicode encoding='atascii' limit=65536 \
         buflen=0 eof=False>\r\ntel:sh> quit\r\nGoodbye.\r\n"
    );
}

/// On a terminal (tmux): the keys as tmux's terminal sends them reach the server as the
/// Atari's codes, a lone Escape goes after `$ESCDELAY`, and the server's ATASCII shows.
#[test]
fn on_a_terminal_keys_are_the_atari_s_and_the_screen_shows_atascii() {
    let listener = listen_local();
    let port = listener.local_addr().unwrap().port();
    let tmux = Tmux::start(&format!(
        "ESCDELAY=50 {CLIENT} 127.0.0.1 {port} --encoding atascii --connect-maxwait 0.5"
    ));
    let (mut server, _) = listener.accept().unwrap();
    server.set_read_timeout(Some(PATIENCE)).unwrap();
    server.write_all(b"\x00READY\x9b").unwrap();
    tmux.wait_for("\u{2665}READY");
    let mut receive = |n: usize| {
        let mut buf = vec![0; n];
        server.read_exact(&mut buf).unwrap();
        buf
    };
    for (key, code) in [
        ("Up", &b"\x1c"[..]),
        ("Left", b"\x1e"),
        ("Enter", b"\x9b"),
        ("BSpace", b"\x7e"),
        ("DC", b"\x7e"),
        ("Tab", b"\x7f"),
        ("Escape", b"\x1b"),
        ("a", b"a"),
    ] {
        tmux.send_keys(&[key]);
        assert_eq!(show(&receive(code.len())), show(code), "{key}");
    }
    // The escape key opens the telnet> prompt; `quit` there ends the session.
    tmux.send_keys(&["C-]"]);
    tmux.wait_for("telnet> ");
    tmux.send_line("quit");
    tmux.wait_for("Connection closed.");
}
