//! `telnetlib3-client` as an interactive terminal client, in a real terminal (tmux, on a
//! private socket per test, at a fixed size), against our server, the Python reference
//! server and scripted servers that check bytes; and its piped flags (`--typescript`,
//! `--shell-exec`, `--encoding`) against scripted servers.

mod common;
#[path = "../../telnetlib3-proto/tests/support/python.rs"]
#[allow(dead_code)] // Only `python()` is used here.
mod reference;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{free_port, listen_local, run, show, start_server, Proc, Tmux, CLIENT, PATIENCE};

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "telnetlib3-terminal-{}-{}",
            std::process::id(),
            free_port()
        ));
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The content of `name` once it exists and is complete (ends in a newline).
    fn wait_for(&self, name: &str) -> String {
        let path = self.path(name);
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(text) = fs::read_to_string(&path) {
                if text.ends_with('\n') {
                    return text;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} never appeared",
                path.display()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `text` quoted for sh.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The client in a fresh tmux (120 x 40) with `args`, inside a script that saves the
/// terminal settings before (`before`) and after (`after`, `after-a` for `stty -a`), its
/// pid (`pid`) and its exit status (`status`). The script survives a ^C or ^\ (sent to
/// the whole foreground group) to report it.
fn client_in_tmux(args: &[&str]) -> (Tmux, Scratch) {
    let scratch = Scratch::new();
    let words: Vec<String> = std::iter::once(CLIENT)
        .chain(args.iter().copied())
        .map(quote)
        .collect();
    let script = format!(
        "cd {dir}\n\
         trap : INT QUIT\n\
         stty -g > before.tmp && mv before.tmp before\n\
         sh -c 'echo $$ > pid; exec \"$@\"' sh {words}\n\
         echo $? > status\n\
         stty -g > after\n\
         stty -a > after-a\n",
        dir = quote(&scratch.0.to_string_lossy()),
        words = words.join(" ")
    );
    fs::write(scratch.path("run.sh"), script).unwrap();
    let tmux = Tmux::start(&format!(
        "sh {}",
        quote(&scratch.path("run.sh").to_string_lossy())
    ));
    (tmux, scratch)
}

/// The terminal was put back: the settings after are those before, with line editing and
/// echo on.
fn assert_restored(scratch: &Scratch) {
    let before = scratch.wait_for("before");
    let after = scratch.wait_for("after");
    assert_eq!(before, after, "terminal settings not restored");
    let all = scratch.wait_for("after-a");
    let words: Vec<&str> = all.split_whitespace().collect();
    for flag in ["icanon", "echo", "isig", "icrnl"] {
        assert!(words.contains(&flag), "{flag} is off after exit:\n{all}");
    }
}

/// What `stty -F <the pane's terminal> <flag>` prints, while the client runs in it.
fn pane_stty_with(tmux: &Tmux, flag: &str) -> String {
    let out = tmux
        .command()
        .args(["display-message", "-p", "-t", "t", "#{pane_tty}"])
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = Command::new("stty")
        .args(["-F", &tty, flag])
        .output()
        .unwrap();
    assert!(out.status.success(), "stty -F {tty} {flag}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `stty -a` of the pane's terminal, word by word.
fn pane_stty(tmux: &Tmux) -> Vec<String> {
    pane_stty_with(tmux, "-a")
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// Wait until the pane's terminal has `flags` (`-icanon`, `echo`, ...).
fn wait_for_stty(tmux: &Tmux, flags: &[&str]) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let words = pane_stty(tmux);
        if flags.iter().all(|flag| words.iter().any(|w| w == flag)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "terminal never had {flags:?}: {words:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The escape key, then `quit` at the `telnet> ` prompt.
fn quit_at_the_prompt(tmux: &Tmux) {
    open_prompt(tmux, "C-]");
    tmux.send_line("quit");
}

/// Press `key` (the escape key) and wait for the new `telnet> ` prompt, its line editing
/// in place (the prompt's end of line is ^D), so that what is typed next is the prompt's.
fn open_prompt(tmux: &Tmux, key: &str) {
    let prompts = |screen: &str| screen.matches("telnet> ").count();
    let before = prompts(&tmux.screen());
    tmux.send_keys(&[key]);
    let deadline = Instant::now() + PATIENCE;
    while prompts(&tmux.screen()) <= before || !pane_stty_with(tmux, "-a").contains("eol = ^D;") {
        assert!(
            Instant::now() < deadline,
            "no new prompt: {}",
            tmux.screen()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Our server, and our client (with `extra` flags) in tmux at its first prompt, the
/// pane's terminal set with `modes` (stty flags).
fn at_our_prompt(extra: &[&str], modes: &[&str]) -> (Proc, Tmux, Scratch) {
    let (server, port) = start_server(&["--connect-maxwait", "2"]);
    let port = port.to_string();
    let args: Vec<&str> = ["127.0.0.1", port.as_str()]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    let (tmux, scratch) = client_in_tmux(&args);
    tmux.wait_for("tel:sh> ");
    wait_for_stty(&tmux, modes);
    (server, tmux, scratch)
}

#[test]
fn interactive_against_our_server_kludge_mode_then_escape_restores_the_terminal() {
    let (_server, port) = start_server(&["--connect-maxwait", "2"]);
    let (tmux, scratch) = client_in_tmux(&["127.0.0.1", &port.to_string()]);
    tmux.wait_for("Escape character is '^]'.");
    tmux.wait_for("tel:sh> ");
    // The server echoes and suppresses go-ahead: raw, no local echo.
    wait_for_stty(&tmux, &["-icanon", "-echo", "-isig", "-icrnl"]);
    tmux.send_line("help");
    let screen =
        tmux.wait_for("quit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud");
    // Echoed once, by the server.
    assert!(screen.contains("tel:sh> help\n"), "{screen}");
    tmux.send_line("writer");
    let screen = tmux
        .wait_for("<TelnetWriter server mode:kludge")
        .replace('\n', "");
    assert!(
        screen.contains("client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE>"),
        "{screen}"
    );
    quit_at_the_prompt(&tmux);
    let screen = tmux.wait_for("Connection closed.");
    assert!(!screen.contains("foreign host"), "{screen}");
    assert_eq!(scratch.wait_for("status"), "0\n");
    assert_restored(&scratch);
}

/// The seed README's debug shell session, command by command, typed into our client in a
/// real terminal: the outputs, and the client following the server from kludge mode (raw)
/// to local line editing when `toggle all` withdraws ECHO and SGA.
#[test]
fn the_seed_transcript_typed_into_our_client() {
    let (_server, tmux, scratch) = at_our_prompt(&[], &["-icanon", "-echo"]);
    let expect = |command: &str, output: &str| {
        tmux.send_line(command);
        let screen = tmux.wait_for(output);
        assert!(screen.contains(&format!("tel:sh> {command}\n")), "{screen}");
    };
    expect(
        "writer",
        "<TelnetWriter server mode:kludge +lineflow -xon_any +slc_sim server-will:BINARY,",
    );
    expect(
        "reader",
        "<TelnetReaderUnicode encoding='utf8' limit=65536 buflen=",
    );
    expect(
        "toggle all",
        "wont echo.\nwont suppress go-ahead.\nwont outbinary.\ndont inbinary.\n\
         xon-any enabled.\nlineflow disabled.\n",
    );
    // Neither ECHO nor SGA now: the terminal edits lines and echoes them.
    wait_for_stty(&tmux, &["icanon", "echo"]);
    expect(
        "writer",
        "<TelnetWriter server mode:local -lineflow +xon_any +slc_sim server-will:CHARSET ",
    );
    expect(
        "reader",
        "<TelnetReaderUnicode encoding='US-ASCII' limit=65536 buflen=",
    );
    expect(
        "help",
        "quit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud\n",
    );
    expect("slc", "Not supported by server: SLC_EBOL,");
    expect("linemode", "LINEMODE not negotiated.\n");
    expect("version", &format!("{}\n", env!("CARGO_PKG_VERSION")));
    tmux.send_line("quit");
    let screen = tmux.wait_for("Connection closed by foreign host.");
    assert!(screen.contains("Goodbye."), "{screen}");
    assert_eq!(scratch.wait_for("status"), "0\n");
    assert_restored(&scratch);
}

/// A scripted server: accepts one connection, and records what the client sends on a
/// thread.
struct Scripted {
    stream: TcpStream,
    received: Arc<Mutex<Vec<u8>>>,
    closed: Arc<AtomicBool>,
}

impl Scripted {
    fn accept(listener: &TcpListener) -> Self {
        let (stream, _) = listener.accept().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut reading = stream.try_clone().unwrap();
        let sink = Arc::clone(&received);
        let closed = Arc::new(AtomicBool::new(false));
        let eof = Arc::clone(&closed);
        thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n) = reading.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
            eof.store(true, Ordering::SeqCst);
        });
        Self {
            stream,
            received,
            closed,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Close the connection (the reading thread holds a clone of the socket).
    fn close(self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    /// Wait until what was received satisfies `done`; returns it.
    fn wait_until(&self, what: &str, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let received = self.received.lock().unwrap().clone();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "never received {what}; got {}",
                show(&received)
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until the client closes the connection; returns what came before.
    fn wait_closed(&self) -> Vec<u8> {
        let deadline = Instant::now() + PATIENCE;
        while !self.closed.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the client did not close");
            thread::sleep(Duration::from_millis(20));
        }
        self.received.lock().unwrap().clone()
    }

    /// Wait until the received bytes end with `tail`; then forget them.
    fn expect_tail(&self, tail: &[u8]) -> Vec<u8> {
        let got = self.wait_until(&show(tail), |r| r.ends_with(tail));
        self.received.lock().unwrap().clear();
        got
    }
}

/// Every NAWS size (columns, rows) in `bytes`.
fn naws_sizes(bytes: &[u8]) -> Vec<(u16, u16)> {
    bytes
        .windows(9)
        .filter(|w| w[..3] == [255, 250, 31] && w[7..] == [255, 240])
        .map(|w| {
            (
                u16::from_be_bytes([w[3], w[4]]),
                u16::from_be_bytes([w[5], w[6]]),
            )
        })
        .collect()
}

#[test]
fn the_window_size_goes_out_with_naws_and_again_on_resize() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tmux, scratch) =
        client_in_tmux(&["127.0.0.1", &port.to_string(), "--connect-maxwait", "0.5"]);
    let mut server = Scripted::accept(&listener);
    // WILL ECHO, WILL SGA, DO NAWS.
    server.send(b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x1f");
    let size = tmux.pane_size();
    let [c0, c1] = size.0.to_be_bytes();
    let [r0, r1] = size.1.to_be_bytes();
    let opening = [
        b"\xff\xfd\x01\xff\xfd\x03\xff\xfb\x1f\xff\xfa\x1f".as_slice(),
        &[c0, c1, r0, r1],
        b"\xff\xf0",
    ]
    .concat();
    assert_eq!(
        show(&server.wait_until("the opening answers", |r| r.len() >= opening.len())),
        show(&opening)
    );
    tmux.wait_for("Escape character is '^]'.");
    // Raw mode set means the interactive loop, and its SIGWINCH watch, are running.
    wait_for_stty(&tmux, &["-icanon", "-echo"]);
    tmux.resize(100, 30);
    let got = server.wait_until("a second NAWS", |r| naws_sizes(r).len() >= 2);
    assert_eq!(naws_sizes(&got), [size, (100, 30)], "{}", show(&got));
    server.send(b"bye\r\n");
    server.close();
    tmux.wait_for("Connection closed by foreign host.");
    assert_eq!(scratch.wait_for("status"), "0\n");
    assert_restored(&scratch);
}

#[test]
fn line_mode_edits_and_echoes_locally_sends_cr_lf_and_follows_the_server_to_raw() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tmux, scratch) =
        client_in_tmux(&["127.0.0.1", &port.to_string(), "--connect-maxwait", "0.2"]);
    let mut server = Scripted::accept(&listener);
    // No negotiation at all: the NVT's local line mode.
    server.send(b"login: ");
    tmux.wait_for("login: ");
    wait_for_stty(&tmux, &["icanon", "echo"]);
    // The terminal's line editor: a rubbed-out typo never reaches the server.
    tmux.send_keys(&["hellp"]);
    tmux.send_keys(&["BSpace"]);
    tmux.send_keys(&["o world", "Enter"]);
    assert_eq!(show(&server.expect_tail(b"\r\n")), show(b"hello world\r\n"));
    // Echoed locally, once.
    let screen = tmux.wait_for("login: hello world");
    assert_eq!(screen.matches("hello world").count(), 1, "{screen}");

    // The server suppresses go-ahead but does not echo: character at a time, echoed by
    // the client itself.
    server.send(b"\xff\xfb\x03");
    assert_eq!(
        show(&server.expect_tail(b"\xff\xfd\x03")),
        show(b"\xff\xfd\x03")
    );
    wait_for_stty(&tmux, &["-icanon", "-echo"]);
    tmux.send_keys(&["z"]);
    assert_eq!(show(&server.expect_tail(b"z")), show(b"z"));
    tmux.wait_for("login: hello world\nz");
    // Now the server echoes too (kludge mode): characters go out as typed and are not
    // echoed locally.
    server.send(b"\xff\xfb\x01");
    assert_eq!(
        show(&server.expect_tail(b"\xff\xfd\x01")),
        show(b"\xff\xfd\x01")
    );
    tmux.send_keys(&["x"]);
    assert_eq!(show(&server.expect_tail(b"x")), show(b"x"));
    server.send(b"!");
    let screen = tmux.wait_for("login: hello world\nz!");
    assert!(!screen.contains('x'), "{screen}");
    // Enter in raw mode is CR, sent as CR NUL outside BINARY, both at once: what the
    // keyboard gave is complete (issue 12, item 5).
    tmux.send_keys(&["Enter"]);
    assert_eq!(show(&server.expect_tail(b"\r\0")), show(b"\r\0"));
    tmux.send_keys(&["y"]);
    assert_eq!(show(&server.expect_tail(b"y")), show(b"y"));

    quit_at_the_prompt(&tmux);
    tmux.wait_for("Connection closed.");
    assert_eq!(scratch.wait_for("status"), "0\n");
    assert_restored(&scratch);
}

/// Issue 12, item 6: in BINARY there is no end-of-line convention (RFC 856; RFC 1123
/// 3.2.7), and the line editor's line goes with LF as BSD telnet sends it; outside
/// BINARY it ends in CR LF.
#[test]
fn a_line_ends_in_lf_in_binary_and_in_cr_lf_outside() {
    let listener = listen_local();
    let port = listener.local_addr().unwrap().port();
    let (tmux, scratch) =
        client_in_tmux(&["127.0.0.1", &port.to_string(), "--connect-maxwait", "0.2"]);
    let mut server = Scripted::accept(&listener);
    server.send(b"$ ");
    tmux.wait_for("$ ");
    wait_for_stty(&tmux, &["icanon", "echo"]);
    tmux.send_keys(&["ls", "Enter"]);
    assert_eq!(show(&server.expect_tail(b"\n")), show(b"ls\r\n"));
    // DO BINARY: the client agrees and keeps the terminal's line editor.
    server.send(b"\xff\xfd\x00");
    assert_eq!(
        show(&server.expect_tail(b"\xff\xfb\x00")),
        show(b"\xff\xfb\x00")
    );
    tmux.send_keys(&["pwd", "Enter"]);
    assert_eq!(show(&server.expect_tail(b"\n")), show(b"pwd\n"));
    quit_at_the_prompt(&tmux);
    tmux.wait_for("Connection closed.");
    assert_eq!(scratch.wait_for("status"), "0\n");
    assert_restored(&scratch);
}

#[test]
fn forced_line_mode_keeps_the_line_editor_and_the_escape_drops_the_unfinished_line() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tmux, scratch) = client_in_tmux(&[
        "127.0.0.1",
        &port.to_string(),
        "--connect-maxwait",
        "0.2",
        "--line-mode",
    ]);
    let mut server = Scripted::accept(&listener);
    server.send(b"\xff\xfb\x01\xff\xfb\x03> ");
    tmux.wait_for("> ");
    server.expect_tail(b"\xff\xfd\x01\xff\xfd\x03");
    wait_for_stty(&tmux, &["icanon", "echo"]);
    tmux.send_keys(&["ls", "Enter"]);
    assert_eq!(show(&server.expect_tail(b"\r\n")), show(b"ls\r\n"));
    // An unfinished line is dropped when the escape key opens the prompt.
    tmux.send_keys(&["rm -rf"]);
    open_prompt(&tmux, "C-]");
    tmux.send_line("quit");
    tmux.wait_for("Connection closed.");
    assert_eq!(show(&server.wait_closed()), "");
    assert_eq!(scratch.wait_for("status"), "0\n");
    assert_restored(&scratch);
}

/// BSD telnet's command mode: the escape key opens `telnet> ` in the terminal's own line
/// editing; a command runs and the session resumes in its mode; `send ayt` reaches the
/// server; `status` tells the connection; `set escape` and `-e` change the key; end of
/// file at the prompt quits.
#[test]
fn the_escape_key_opens_the_telnet_prompt() {
    let (_server, tmux, scratch) = at_our_prompt(&[], &["-icanon", "-echo"]);
    open_prompt(&tmux, "C-]");
    wait_for_stty(&tmux, &["icanon", "echo", "isig"]);
    tmux.send_line("send ayt");
    // Our server answers AYT as BSD telnetd does; the session is raw again.
    tmux.wait_for("[Yes]");
    wait_for_stty(&tmux, &["-icanon", "-echo"]);
    open_prompt(&tmux, "C-]");
    tmux.send_line("st");
    let screen = tmux.wait_for("Encoding: none (bytes)");
    for line in [
        "Operating in character mode (the server echoes, no go-aheads).",
        "Terminal mode: following the server.",
        "The server does: BINARY CHARSET ECHO SGA",
        "We do: BINARY CHARSET NAWS NEW_ENVIRON TTYPE",
        "Encoding: none (bytes)",
    ] {
        assert!(screen.contains(line), "{line:?} not in {screen}");
    }
    assert!(screen.contains("Connected to 127.0.0.1 "), "{screen}");
    // An unknown command, then a new escape key; the old one is data now.
    open_prompt(&tmux, "C-]");
    tmux.send_line("bogus");
    tmux.wait_for("?Invalid command 'bogus'");
    open_prompt(&tmux, "C-]");
    tmux.send_line("set escape ^X");
    tmux.wait_for("Escape character is '^X'.");
    // Back in the session (raw) before the new key is typed.
    wait_for_stty(&tmux, &["-icanon", "-echo"]);
    open_prompt(&tmux, "C-x");
    // End of file at the prompt quits.
    tmux.send_keys(&["C-d"]);
    tmux.wait_for("Connection closed.");
    assert_eq!(scratch.wait_for("status"), "0\n");
    assert_restored(&scratch);
}

#[test]
fn dash_e_sets_the_escape_key_and_mode_line_forces_line_editing() {
    let (_server, tmux, scratch) = at_our_prompt(&["-e", "^B"], &["-icanon", "-echo"]);
    let screen = tmux.wait_for("tel:sh> ");
    assert!(screen.contains("Escape character is '^B'."), "{screen}");
    open_prompt(&tmux, "C-b");
    tmux.send_line("mode line");
    // The session's line editing ends a read at the escape key (the prompt's does not).
    wait_for_stty(&tmux, &["icanon", "echo", "^B;"]);
    open_prompt(&tmux, "C-b");
    tmux.send_line("status");
    tmux.wait_for("Terminal mode: line, as asked with 'mode line'.");
    open_prompt(&tmux, "C-b");
    tmux.send_line("mode auto");
    wait_for_stty(&tmux, &["-icanon", "-echo"]);
    open_prompt(&tmux, "C-b");
    tmux.send_line("close");
    tmux.wait_for("Connection closed.");
    assert_eq!(scratch.wait_for("status"), "0\n");
    assert_restored(&scratch);
}

/// Issue 18, part 3: under LINEMODE with EDIT the terminal edits with the server's SLC
/// keys (RFC 1184), as BSD telnet sets its tty; with TRAPSIG the interrupt key goes as
/// `IAC IP`, and the EOF key as `IAC EOF` after the data before it.
#[test]
fn linemode_edit_uses_the_servers_slc_keys_and_sends_their_commands() {
    let listener = listen_local();
    let port = listener.local_addr().unwrap().port();
    let (tmux, scratch) =
        client_in_tmux(&["127.0.0.1", &port.to_string(), "--connect-maxwait", "0.2"]);
    let mut server = Scripted::accept(&listener);
    socket2::SockRef::from(&server.stream)
        .set_out_of_band_inline(true)
        .unwrap();
    server.send(b"\xff\xfd\x22");
    server.wait_until("WILL LINEMODE", |r| {
        r.windows(3).any(|w| w == b"\xff\xfb\x22")
    });
    // MODE EDIT|TRAPSIG; SLC: EC ^H, EL ^X (level VALUE), IP ^C, EOF ^D.
    server.send(b"\xff\xfa\x22\x01\x03\xff\xf0");
    server.send(b"\xff\xfa\x22\x03\x0a\x02\x08\x0b\x02\x18\x03\x02\x03\x08\x02\x04\xff\xf0> ");
    tmux.wait_for("> ");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let modes = pane_stty_with(&tmux, "-a");
        let words: Vec<&str> = modes.split_whitespace().collect();
        if ["erase = ^H;", "kill = ^X;", "eol2 = ^D;", "intr = ^C;"]
            .iter()
            .all(|setting| modes.contains(setting))
            && ["isig", "icanon", "echo"]
                .iter()
                .all(|flag| words.contains(flag))
        {
            break;
        }
        assert!(Instant::now() < deadline, "never the SLC keys: {modes}");
        thread::sleep(Duration::from_millis(20));
    }
    server.received.lock().unwrap().clear();
    tmux.send_keys(&["abcd", "C-h", "e", "Enter"]);
    assert_eq!(show(&server.expect_tail(b"\r\n")), show(b"abce\r\n"));
    // IAC IP, then a Synch (IAC DM, the DM as urgent data: kept inline here to be seen)
    // for SLC_IP's FLUSHIN, BSD's default.
    tmux.send_keys(&["C-c"]);
    assert_eq!(
        show(&server.expect_tail(b"\xff\xf2")),
        show(b"\xff\xf4\xff\xf2")
    );
    tmux.send_keys(&["xy", "C-d"]);
    assert_eq!(show(&server.expect_tail(b"\xff\xec")), show(b"xy\xff\xec"));
    quit_at_the_prompt(&tmux);
    tmux.wait_for("Connection closed.");
    assert_eq!(scratch.wait_for("status"), "0\n");
    assert_restored(&scratch);
}

/// SIGTERM to the client in the scratch's tmux: it exits 143 with the terminal restored.
fn assert_sigterm_ends_it(scratch: &Scratch) {
    let pid = scratch.wait_for("pid");
    let status = Command::new("kill")
        .args(["-TERM", pid.trim()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(scratch.wait_for("status"), "143\n");
    assert_restored(scratch);
}

#[test]
fn sigterm_restores_the_terminal_and_exits_143() {
    let (_server, _tmux, scratch) = at_our_prompt(&[], &["-icanon", "-echo"]);
    assert_sigterm_ends_it(&scratch);
}

#[test]
fn ctrl_c_in_line_mode_is_sigint_restores_the_terminal_and_exits_130() {
    let (_server, tmux, scratch) = at_our_prompt(&["--line-mode"], &["icanon", "isig"]);
    tmux.send_keys(&["C-c"]);
    assert_eq!(scratch.wait_for("status"), "130\n");
    assert_restored(&scratch);
}

#[test]
fn ctrl_backslash_in_line_mode_is_sigquit_restores_the_terminal_and_exits_131() {
    let (_server, tmux, scratch) = at_our_prompt(&["--line-mode"], &["icanon", "isig"]);
    // ISIG makes ^\ a SIGQUIT, whose default action would end the client with the
    // terminal as it set it (no end-of-file character, ^] as end of line).
    tmux.send_keys(&["C-\\"]);
    assert_eq!(scratch.wait_for("status"), "131\n");
    assert_restored(&scratch);
}

/// `stty -g` of the pane's terminal.
fn pane_stty_g(tmux: &Tmux) -> String {
    pane_stty_with(tmux, "-g")
}

#[test]
fn ctrl_z_in_line_mode_gives_the_terminal_back_and_takes_it_again_when_continued() {
    let (_server, tmux, scratch) = at_our_prompt(&["--line-mode"], &["icanon", "isig"]);
    let before = scratch.wait_for("before");
    let ours = pane_stty_g(&tmux);
    assert_ne!(ours, before, "the client did not set its mode");
    // ^Z stops the client (SIGTSTP) with the user's settings back in place...
    tmux.send_keys(&["C-z"]);
    let deadline = Instant::now() + PATIENCE;
    while pane_stty_g(&tmux) != before {
        assert!(
            Instant::now() < deadline,
            "the stopped client left its settings: {}",
            pane_stty_g(&tmux)
        );
        thread::sleep(Duration::from_millis(20));
    }
    // ... and, continued (as `fg` does), sets its own again and goes on.
    let pid = scratch.wait_for("pid");
    let status = Command::new("kill")
        .args(["-CONT", pid.trim()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + PATIENCE;
    while pane_stty_g(&tmux) != ours {
        assert!(
            Instant::now() < deadline,
            "the continued client did not take the terminal again"
        );
        thread::sleep(Duration::from_millis(20));
    }
    tmux.send_line("quit");
    tmux.wait_for("Connection closed by foreign host.");
    assert_eq!(scratch.wait_for("status"), "0\n");
    assert_restored(&scratch);
}

/// The Python server on a free port, once it says it is ready (a port taken between
/// choosing and binding is retried).
fn start_python_server() -> (Proc, u16) {
    let python = reference::python();
    for _ in 0..3 {
        let port = free_port();
        let mut command = Command::new(&python);
        command
            .arg("-c")
            .arg(
                "import sys; from telnetlib3.server import main; \
                 sys.argv[0] = 'telnetlib3-server'; main()",
            )
            .args(["127.0.0.1", &port.to_string(), "--connect-maxwait", "0.5"])
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let mut server = Proc::spawn(command);
        if server.wait_for_line("Server ready on").is_some() {
            return (server, port);
        }
    }
    panic!("the Python server did not start");
}

#[test]
fn interactive_against_the_python_server() {
    let (_server, port) = start_python_server();
    let (tmux, scratch) = client_in_tmux(&["127.0.0.1", &port.to_string()]);
    tmux.wait_for("Escape character is '^]'.");
    tmux.wait_for("tel:sh> ");
    wait_for_stty(&tmux, &["-icanon", "-echo"]);
    tmux.send_line("quit");
    let screen = tmux.wait_for("Connection closed by foreign host.");
    assert!(screen.contains("tel:sh> quit\nGoodbye."), "{screen}");
    assert_eq!(scratch.wait_for("status"), "0\n");
    assert_restored(&scratch);
}

/// A scripted server on a thread: `script` gets the accepted stream. Returns the port
/// and the thread.
fn scripted<F>(script: F) -> (u16, thread::JoinHandle<()>)
where
    F: FnOnce(TcpStream) + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        script(stream);
    });
    (port, handle)
}

fn client(port: u16, extra: &[&str]) -> Command {
    let mut command = Command::new(CLIENT);
    command
        .args(["127.0.0.1", &port.to_string(), "--connect-maxwait", "0.2"])
        .args(extra);
    command
}

#[test]
fn cp437_with_force_binary_prints_utf8() {
    let (port, server) = scripted(|mut stream| {
        stream.write_all(b"\xc9\xcd\xbb").unwrap();
    });
    let out = run(
        client(port, &["--encoding", "cp437", "--force-binary"]),
        b"",
    );
    server.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(show(&out.stdout), show("╔═╗".as_bytes()));

    // Without BINARY or --force-binary the bytes pass as they came.
    let (port, server) = scripted(|mut stream| {
        stream.write_all(b"\xc9\xcd\xbb").unwrap();
    });
    let out = run(client(port, &["--encoding", "cp437"]), b"");
    server.join().unwrap();
    assert_eq!(show(&out.stdout), show(b"\xc9\xcd\xbb"));

    // With BINARY agreed both ways, no flag is needed, and input is encoded too.
    let (agreed, is_agreed) = std::sync::mpsc::channel();
    let (port, server) = scripted(move |mut stream| {
        // WILL BINARY, DO BINARY; the client agrees to both.
        stream.write_all(b"\xff\xfb\x00\xff\xfd\x00").unwrap();
        let mut buf = [0; 6];
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(show(&buf), show(b"\xff\xfd\x00\xff\xfb\x00"));
        agreed.send(()).unwrap();
        stream.write_all(b"\xc9\xcd\xbb").unwrap();
        let mut buf = [0; 2];
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(show(&buf), show(b"\xcd\n"));
    });
    let mut command = client(port, &["--encoding", "cp437"]);
    command.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut proc = Proc::spawn(command);
    let mut stdin = proc.child.stdin.take().unwrap();
    let mut stdout = proc.child.stdout.take().unwrap();
    let printed = thread::spawn(move || {
        let mut all = Vec::new();
        stdout.read_to_end(&mut all).unwrap();
        all
    });
    // Typed only once BINARY is agreed (before, it would go out as it is).
    is_agreed.recv_timeout(PATIENCE).unwrap();
    stdin.write_all("═\n".as_bytes()).unwrap();
    drop(stdin);
    server.join().unwrap();
    assert!(proc.wait().success());
    assert_eq!(show(&printed.join().unwrap()), show("╔═╗".as_bytes()));
}

#[test]
fn typescript_records_the_servers_output() {
    let scratch = Scratch::new();
    let file = scratch.path("typescript");
    let file = file.to_str().unwrap();
    let serve = || {
        scripted(|mut stream| {
            stream.write_all(b"one\r\ntwo\xff\xff\r\n").unwrap();
        })
    };
    let (port, server) = serve();
    let out = run(client(port, &["--typescript", file]), b"");
    server.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(show(&out.stdout), show(b"one\r\ntwo\xff\r\n"));
    assert_eq!(show(&fs::read(file).unwrap()), show(b"one\r\ntwo\xff\r\n"));
    // Appended by default.
    let (port, server) = serve();
    run(client(port, &["--typescript", file]), b"");
    server.join().unwrap();
    assert_eq!(
        show(&fs::read(file).unwrap()),
        show(b"one\r\ntwo\xff\r\none\r\ntwo\xff\r\n")
    );
    // Rewritten on request; decoded text is recorded as printed.
    let (port, server) = scripted(|mut stream| {
        stream.write_all(b"\xc9\xcd\xbb\r\n").unwrap();
    });
    run(
        client(
            port,
            &[
                "--typescript",
                file,
                "--typescript-mode",
                "rewrite",
                "--encoding",
                "cp437",
                "--force-binary",
            ],
        ),
        b"",
    );
    server.join().unwrap();
    assert_eq!(fs::read_to_string(file).unwrap(), "╔═╗\r\n");
}

#[test]
fn shell_exec_runs_a_program_as_the_shell() {
    let (port, server) = scripted(|mut stream| {
        stream.write_all(b"hello there\r\n").unwrap();
        let mut buf = [0; 17];
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(show(&buf), show(b"got:hello there\r\n"));
        // The client closes once the program's output ends.
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).unwrap();
        assert_eq!(show(&rest), "");
    });
    let out = run(
        client(
            port,
            &[
                "--shell-exec",
                "/bin/sh",
                "--",
                "-c",
                "read line; echo got:$line",
            ],
        ),
        b"",
    );
    server.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(show(&out.stdout), "");

    // The program's exit status is the client's.
    let (port, server) = scripted(|_stream| {});
    let out = run(
        client(port, &["--shell-exec", "/bin/sh", "--", "-c", "exit 3"]),
        b"",
    );
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

#[test]
fn shell_exec_does_not_deadlock_when_both_sides_write_at_once() {
    const SIZE: usize = 1 << 20;
    let (port, server) = scripted(|stream| {
        // The server writes a megabyte while the program writes one before it reads
        // anything: pipes hold far less, so the client must move both ways at once.
        let mut writing = stream.try_clone().unwrap();
        let writer = thread::spawn(move || {
            writing.write_all(&vec![b'b'; SIZE]).unwrap();
        });
        let mut got = vec![0; SIZE];
        let mut reading = &stream;
        reading.read_exact(&mut got).unwrap();
        assert!(got.iter().all(|&b| b == b'a'));
        writer.join().unwrap();
        stream.shutdown(std::net::Shutdown::Both).unwrap();
    });
    let out = run(
        client(
            port,
            &[
                "--shell-exec",
                "/bin/sh",
                "--",
                "-c",
                &format!("head -c {SIZE} /dev/zero | tr '\\0' a; cat > /dev/null"),
            ],
        ),
        b"",
    );
    server.join().unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// `stderr` is exactly one `telnetlib3-client: error: ...` line.
fn assert_one_line_error(stderr: &str) {
    assert!(
        stderr.starts_with("telnetlib3-client: error: ") && stderr.lines().count() == 1,
        "{stderr:?}"
    );
}

#[test]
fn bad_flags_are_one_line_errors() {
    for (args, code) in [
        (&["--line-mode", "--raw-mode"][..], 2),
        (&["--encoding-errors", "loud"][..], 2),
        (&["--typescript-mode", "sideways"][..], 2),
        (&["--", "-c", "true"][..], 2),
        (&["--typescript", "/nonexistent/dir/typescript"][..], 1),
    ] {
        let mut command = Command::new(CLIENT);
        command.args(["127.0.0.1", "1"]).args(args);
        let out = run(command, b"");
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        assert_one_line_error(&out.stderr);
    }
    let (port, server) = scripted(|_stream| {});
    let out = run(client(port, &["--shell-exec", "/nonexistent/program"]), b"");
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_one_line_error(&out.stderr);
    assert!(out.stderr.contains("/nonexistent/program"), "{out:?}");
}

#[test]
fn a_typescript_that_cannot_be_opened_says_why() {
    let scratch = Scratch::new();
    let missing = scratch.path("missing-dir").join("typescript");
    for (path, reason) in [
        (scratch.0.clone(), "Is a directory"),
        (missing, "No such file or directory"),
    ] {
        let mut command = Command::new(CLIENT);
        command.args(["127.0.0.1", "1", "--typescript"]).arg(&path);
        let out = run(command, b"");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert_one_line_error(&out.stderr);
        assert!(
            out.stderr.starts_with(&format!(
                "telnetlib3-client: error: cannot open typescript {}: {reason}",
                path.display()
            )),
            "{out:?}"
        );
    }
}

/// A paste larger than everything between the client and a server that does not read
/// does not wedge the session: the server's output still shows, and signals are still
/// handled (SIGTERM restores the terminal and exits 143). (The escape key typed after
/// the paste waits behind it in the terminal's input, as in BSD telnet.)
#[test]
fn a_paste_to_a_server_that_does_not_read_does_not_wedge_the_session() {
    use socket2::{Domain, Socket, Type};
    // The server's receive buffer as small as the kernel allows: the paste fills it.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let address: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&address.into()).unwrap();
    socket.listen(1).unwrap();
    let listener: TcpListener = socket.into();
    let port = listener.local_addr().unwrap().port().to_string();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        // WILL ECHO, WILL SGA: the client's terminal goes raw, so nothing typed shows.
        stream
            .write_all(b"\xff\xfb\x01\xff\xfb\x03hello\r\n")
            .unwrap();
        // Never read: write once the paste is in, then hold the connection.
        wait.recv_timeout(PATIENCE).unwrap();
        stream.write_all(b"still here\r\n").unwrap();
        let _ = wait.recv_timeout(PATIENCE);
    });
    let (tmux, scratch) = client_in_tmux(&["127.0.0.1", &port, "--connect-maxwait", "0.2"]);
    tmux.wait_for("hello");
    wait_for_stty(&tmux, &["-icanon", "-echo"]);
    // 8 MiB of lines: more than the socket buffers, the client's queue and its pending
    // keyboard input together.
    let paste = scratch.path("paste");
    fs::write(&paste, format!("{}\n", "x".repeat(63)).repeat(128 * 1024)).unwrap();
    for args in [
        vec!["load-buffer", paste.to_str().unwrap()],
        vec!["paste-buffer", "-t", "t"],
    ] {
        assert!(tmux.command().args(args).status().unwrap().success());
    }
    // Let the paste fill every buffer on the way (nothing shows when it has).
    thread::sleep(Duration::from_secs(1));
    go.send(()).unwrap();
    tmux.wait_for("still here");
    assert_sigterm_ends_it(&scratch);
    let _ = go.send(());
    server.join().unwrap();
}
