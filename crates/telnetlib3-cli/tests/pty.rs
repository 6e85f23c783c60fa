//! `telnetlib3-server --pty-exec`: programs on a pseudo-terminal per connection, seen
//! from Debian's telnet client in tmux and from a raw TCP client byte by byte.
#![cfg(unix)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::telnet::*;
use common::{free_port, require, run, show, Proc, Raw, Tmux, PATIENCE, SERVER};

/// The server with `extra` flags, in a known environment: PATH, HOME, USER only (no SHELL
/// or LOGNAME, which it passes on), and a variable of its own that must not reach the
/// programs.
fn start(extra: &[&str]) -> (Proc, u16) {
    common::start_server_from(
        || {
            let mut command = Command::new(SERVER);
            command
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("HOME", "/tmp")
                .env("USER", "tester")
                .env("SERVER_SECRET", "do-not-pass");
            command
        },
        extra,
    )
}

/// Connect and answer telnetlib3's opening as `tests/server.rs` does: no TTYPE, SGA and
/// ECHO agreed (kludge mode: the server echoes, through the pty), BINARY, NAWS and
/// CHARSET refused, and NEW-ENVIRON refused, or agreed and answered with `environ` (an
/// IS body).
fn connect(port: u16, environ: Option<&[u8]>) -> Raw {
    connect_with(port, environ, true)
}

/// [`connect`], agreeing to the server's WILL ECHO or refusing it (`echo` false: the
/// client echoes itself, so the pty must not).
fn connect_with(port: u16, environ: Option<&[u8]>, echo: bool) -> Raw {
    let mut client = Raw::connect(port);
    client.expect(&OPENING);
    if echo {
        client.send(&AGREE_SGA_ECHO);
        client.expect(&ADVANCED);
    } else {
        client.send(&[IAC, WONT, TTYPE, IAC, DO, SGA]);
        let opening = client.read_until(&[IAC, DO, NEW_ENVIRON]);
        assert!(
            opening.windows(3).any(|w| w == [IAC, WILL, ECHO]),
            "{}",
            show(&opening)
        );
        // A refusal of its request, which the server does not answer (RFC 1143).
        client.send(&[IAC, DONT, ECHO]);
    }
    client.send(&[IAC, DONT, BINARY, IAC, WONT, NAWS, IAC, WONT, CHARSET]);
    match environ {
        None => client.send(&[IAC, WONT, NEW_ENVIRON]),
        Some(body) => {
            client.send(&[IAC, WILL, NEW_ENVIRON]);
            let request = client.read_until(&[IAC, SE]);
            assert!(
                request.starts_with(&[IAC, SB, NEW_ENVIRON, SEND]),
                "{}",
                show(&request)
            );
            let mut reply = vec![IAC, SB, NEW_ENVIRON, IS];
            reply.extend_from_slice(body);
            reply.extend_from_slice(&[IAC, SE]);
            client.send(&reply);
        }
    }
    client
}

/// A NEW-ENVIRON `VAR name VALUE value`.
fn var(name: &str, value: &[u8]) -> Vec<u8> {
    [&[VAR][..], name.as_bytes(), &[VALUE], value].concat()
}

/// A file of ours in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn executable(name: &str, text: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!(
            "telnetlib3-pty-{}-{}-{name}",
            std::process::id(),
            free_port()
        ));
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The pids of `pid`'s children (zombies included: they are children until reaped).
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return found;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            found.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    found
}

/// A process's command line, arguments joined by spaces.
fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|&b| b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Wait (at most [`PATIENCE`]) until `done` holds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not after {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn inetutils_telnet_runs_sh_with_its_size_and_terminal_type() {
    require("/usr/bin/telnet", "inetutils-telnet");
    let (_server, port) = start(&["--pty-exec", "/bin/sh"]);
    let tmux = Tmux::start(&format!("telnet 127.0.0.1 {port}"));
    tmux.resize(100, 30);
    tmux.wait_for("Escape character is");
    // The telnet client reports the pane's size by NAWS; `stty size` is rows, columns.
    let (cols, rows) = tmux.pane_size();
    assert_eq!(cols, 100);
    wait_until("the size reaches stty", || {
        tmux.send_line("echo S=$(stty size)=");
        std::thread::sleep(Duration::from_millis(200));
        tmux.screen().contains(&format!("S={rows} {cols}="))
    });
    let term = tmux
        .command()
        .args(["show-options", "-gv", "default-terminal"])
        .output()
        .unwrap();
    let term = String::from_utf8(term.stdout)
        .unwrap()
        .trim()
        .to_lowercase();
    tmux.send_line("echo T=$TERM=");
    tmux.wait_for(&format!("T={term}="));
    // A new size reaches the running program's pty.
    tmux.resize(90, 20);
    let (cols, rows) = tmux.pane_size();
    assert_eq!(cols, 90);
    wait_until("the new size reaches stty", || {
        tmux.send_line("echo R=$(stty size)=");
        std::thread::sleep(Duration::from_millis(200));
        tmux.screen().contains(&format!("R={rows} {cols}="))
    });
    tmux.send_line("exit");
    tmux.wait_for("Connection closed by foreign host.");
}

#[test]
fn only_allowed_valid_client_variables_reach_the_program() {
    let (_server, port) = start(&["--pty-exec", "/usr/bin/env"]);
    let environ = [
        var("LD_PRELOAD", b"/tmp/x"),
        var("USER", b"-f root"),
        var("PATH", b"/tmp"),
        var("SHELL", b"/tmp/x"),
        var("BASH_ENV", b"/tmp/x"),
        var("LANG", b"de_DE.UTF-8"),
        var("COLORTERM", b"truecolor"),
        var("LC_MESSAGES", b"x\x1b]0;pwned\x07"),
        var("LC_TIME", b"C.UTF-8"),
    ]
    .concat();
    let mut client = connect(port, Some(&environ));
    // `env` prints the environment it was given (sorted: std builds it so); the pty ends
    // lines with CR LF. No TTYPE: TERM is the default, xterm; no NAWS: 80x25.
    client.expect(
        b"COLORTERM=truecolor\r\n\
          COLUMNS=80\r\n\
          HOME=/tmp\r\n\
          LANG=de_DE.UTF-8\r\n\
          LC_TIME=C.UTF-8\r\n\
          LINES=25\r\n\
          PATH=/usr/bin:/bin\r\n\
          REMOTEHOST=127.0.0.1\r\n\
          TERM=xterm\r\n\
          USER=tester\r\n",
    );
    // The program's exit closes the connection.
    client.expect_close();
}

#[test]
fn enter_reaches_the_program_once_and_its_output_is_all_sent_before_close() {
    let (_server, port) = start(&[
        "--pty-exec",
        "/bin/sh",
        "--",
        "-c",
        r#"read a; echo "got:$a"; read b; echo "got:$b"; read c; echo "got:$c""#,
    ]);
    // The client echoes: only the program's output comes back.
    let mut client = connect_with(port, None, false);
    // Enter as CR LF, as CR NUL (split across writes), and as a lone CR: one line each.
    client.send(b"one\r\n");
    client.expect(b"got:one\r\n");
    client.send(b"two\r");
    std::thread::sleep(Duration::from_millis(50));
    client.send(b"\0three\r");
    client.expect(b"got:two\r\ngot:three\r\n");
    client.expect_close();
}

#[test]
fn fork_limit_turns_the_second_client_away_until_the_first_leaves() {
    let (_server, port) = start(&["--pty-exec", "/bin/cat", "--pty-fork-limit", "1"]);
    let mut first = connect(port, None);
    first.send(b"hello\r");
    // The pty's echo (the server has WILL ECHO), then cat's output, with the pty's ICRNL
    // and ONLCR.
    first.expect(b"hello\r\nhello\r\n");

    let mut second = connect(port, None);
    second.expect(b"Machine is busy, do not touch! ");
    second.send(b"let me in\r\n");
    second.expect(b"\r\nYou hear a distant explosion... ");
    second.send(b"please\r\n");
    second.expect(b"\r\n");
    second.expect_close();

    // The first one still runs; when it hangs up, the count is released (once its cat
    // has been reaped, hence the retries).
    first.send(b"still\r");
    first.expect(b"still\r\nstill\r\n");
    drop(first);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut third = connect_with(port, None, false);
        third.send(b"again\r");
        // Both answers start with 7 bytes: "again\r\n" or "Machine".
        let got = third.read_exact(7);
        if got == b"Machine" {
            assert!(Instant::now() < deadline, "the limit was never released");
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        assert_eq!(show(&got), show(b"again\r\n"));
        break;
    }
}

#[test]
fn a_missing_or_unexecutable_program_refuses_to_start() {
    for (program, reason) in [
        ("/nonexistent", "No such file or directory"),
        ("/etc/passwd", "Permission denied"),
        ("no-such-program-anywhere", "not found in PATH"),
    ] {
        let mut command = Command::new(SERVER);
        command.args(["127.0.0.1", &free_port().to_string(), "--pty-exec", program]);
        let out = run(command, b"");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert_eq!(
            out.stderr,
            format!("telnetlib3-server: error: cannot run {program}: {reason}\n")
        );
    }
    let mut command = Command::new(SERVER);
    command.args(["127.0.0.1", &free_port().to_string(), "--", "-i"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.starts_with("telnetlib3-server: error: "),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
}

#[test]
fn a_program_whose_exec_fails_is_reported_and_the_server_lives_on() {
    // Executable, so the start-up check passes, but its interpreter does not exist.
    let script = TempFile::executable("bad-interpreter", "#!/nonexistent/interpreter\n");
    let (mut server, port) = start(&["--pty-exec", script.path()]);
    for _ in 0..2 {
        let mut client = connect(port, None);
        client.expect(
            format!(
                "telnetlib3-server: cannot run {}: No such file or directory\r\n",
                script.path()
            )
            .as_bytes(),
        );
        client.expect_close();
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server died"
    );
    server.wait_for_line("cannot run");
}

#[test]
fn a_hung_up_program_is_ended_and_reaped() {
    let (server, port) = start(&["--pty-exec", "/bin/sleep", "--", "1000"]);
    let pid = server.child.id();
    let client = connect(port, None);
    wait_until("sleep 1000 runs", || {
        children(pid)
            .iter()
            .any(|&child| cmdline(child) == "/bin/sleep 1000")
    });
    drop(client);
    wait_until("the server has no children left", || {
        children(pid).is_empty()
    });
}

#[test]
fn a_program_that_ignores_the_hang_up_is_killed_and_reaped() {
    let (server, port) = start(&[
        "--pty-exec",
        "/bin/sh",
        "--",
        "-c",
        "trap '' HUP; echo ready; sleep 1000",
    ]);
    let pid = server.child.id();
    let mut client = connect(port, None);
    client.expect(b"ready\r\n");
    drop(client);
    // SIGHUP is ignored: SIGKILL follows after the grace.
    wait_until("the server has no children left", || {
        children(pid).is_empty()
    });
}

#[test]
fn line_mode_gives_a_cooked_pty_that_edits_lines() {
    let (_server, port) = start(&[
        "--line-mode",
        "--never-send-ga",
        "--connect-maxwait",
        "0.2",
        "--pty-exec",
        "/bin/sh",
        "--",
        "-c",
        r#"read a; echo "got:$a""#,
    ]);
    // A client that answers no negotiation: the program starts after the maxwait.
    let mut client = Raw::connect(port);
    // The pty's line discipline erases with DEL, and ^H is sent as DEL: both edit the
    // line before the program reads it. It does not echo: in line mode the client does.
    client.send(b"onx\x7fw\x08e\r\n");
    client.read_until(b"got:");
    client.expect(b"one\r\n");
    client.expect_close();
}

#[test]
fn the_idle_timeout_ends_the_program_and_its_process_group() {
    // Two sleeps in the program's process group, named so that no other test has them.
    let marker = format!("7{}", std::process::id());
    let script = format!("sleep {marker} & sleep {marker}; :");
    let (server, port) = start(&[
        "--timeout",
        "1",
        "--pty-exec",
        "/bin/sh",
        "--",
        "-c",
        &script,
    ]);
    let pid = server.child.id();
    let sleeps = || sleeps_named(&marker).len();
    let mut client = connect(port, None);
    wait_until("both sleeps run", || sleeps() == 2);
    // The server aborts the idle connection's shell: the program's group is hung up.
    client.expect(b"\r\nTimeout.\r\n");
    client.expect_close();
    wait_until("the server has no children left", || {
        children(pid).is_empty()
    });
    wait_until("no sleep is left", || sleeps() == 0);
}

/// The pids of processes whose command line is `sleep <marker>`.
fn sleeps_named(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| cmdline(p) == format!("sleep {marker}"))
        .collect()
}

/// Kills the listed processes when dropped, so that a failing test leaves none behind.
struct KillOnDrop(Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

#[test]
fn the_idle_timeout_also_ends_group_members_that_ignore_the_hang_up() {
    // The idle timeout aborts the connection's task: its program must get the hang-up
    // and then SIGKILL to its whole process group, as a client hang-up gives it, not
    // SIGKILL to the leader alone (which leaves the rest of the group running).
    let marker = format!("8{}", std::process::id());
    let script = format!("trap '' HUP; sleep {marker} & sleep {marker}; :");
    let (server, port) = start(&[
        "--timeout",
        "1",
        "--pty-exec",
        "/bin/sh",
        "--",
        "-c",
        &script,
    ]);
    let pid = server.child.id();
    let mut client = connect(port, None);
    wait_until("both sleeps run", || sleeps_named(&marker).len() == 2);
    let _cleanup = KillOnDrop(sleeps_named(&marker));
    client.expect(b"\r\nTimeout.\r\n");
    client.expect_close();
    wait_until("no sleep is left", || sleeps_named(&marker).is_empty());
    wait_until("the server has no children left", || {
        children(pid).is_empty()
    });
}

#[test]
fn server_shutdown_ends_the_programs_process_groups() {
    let marker = format!("9{}", std::process::id());
    let script = format!("trap '' HUP; sleep {marker} & sleep {marker}; :");
    // SIGTERM drains: the program is closed after the drain's second.
    let (mut server, port) = start(&[
        "--drain-timeout",
        "1",
        "--pty-exec",
        "/bin/sh",
        "--",
        "-c",
        &script,
    ]);
    let _client = connect(port, None);
    wait_until("both sleeps run", || sleeps_named(&marker).len() == 2);
    let _cleanup = KillOnDrop(sleeps_named(&marker));
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(server.wait().success());
    wait_until("no sleep is left", || sleeps_named(&marker).is_empty());
}

#[test]
fn the_busy_shell_logs_at_most_2048_bytes_of_a_line() {
    let (mut server, port) = start(&["--pty-exec", "/bin/cat", "--pty-fork-limit", "1"]);
    let mut first = connect(port, None);
    first.send(b"hi\r");
    first.expect(b"hi\r\nhi\r\n");
    let mut second = connect(port, None);
    second.expect(b"Machine is busy, do not touch! ");
    // Over-limit connections cost no more than telnetlib3's 2048 characters of log each.
    second.send(&[&[b'x'; 5000][..], b"\r\n"].concat());
    second.expect(b"\r\nYou hear a distant explosion... ");
    let line = server.wait_for_line("busy_shell: input1=").unwrap();
    assert!(
        line.ends_with(&format!("busy_shell: input1={:?}", "x".repeat(2048))),
        "{} bytes: {line}",
        line.len()
    );
}

#[test]
fn a_huge_fork_limit_is_no_limit_not_a_panic() {
    // Above tokio's semaphore maximum (2^61 - 1), which panicked at start.
    let (_server, port) = start(&[
        "--pty-exec",
        "/bin/cat",
        "--pty-fork-limit",
        &(1u64 << 62).to_string(),
    ]);
    let mut client = connect(port, None);
    client.send(b"hi\r");
    client.expect(b"hi\r\nhi\r\n");
}

#[test]
fn no_program_inherits_another_connections_pty_master() {
    // pty-process opens the master without O_CLOEXEC and sets FD_CLOEXEC just after: a
    // program forked in between (another connection's, on another thread) inherited the
    // master of that connection's terminal, so could read and write its session. About 1
    // connection in 250 did, 30 at a time on two cores.
    use std::io::Read;
    let (_server, port) = start(&[
        "--connect-maxwait",
        "0",
        "--pty-exec",
        "/bin/ls",
        "--",
        "-l",
        "/proc/self/fd",
    ]);
    let mut leaks = Vec::new();
    for _ in 0..70 {
        let batch: Vec<_> = (0..30)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                    stream.set_read_timeout(Some(PATIENCE)).unwrap();
                    let mut all = Vec::new();
                    stream.read_to_end(&mut all).unwrap();
                    String::from_utf8_lossy(&all).into_owned()
                })
            })
            .collect();
        for thread in batch {
            let listing = thread.join().unwrap();
            assert!(
                listing.contains("/proc/self/fd") || listing.contains("/fd"),
                "{listing}"
            );
            if listing.contains("ptmx") {
                leaks.push(listing);
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} programs had a pty master: {leaks:?}",
        leaks.len()
    );
}

#[test]
fn the_pty_echoes_while_the_server_has_echo_and_not_otherwise() {
    // RFC 857: the side that has ECHO enabled echoes; here the pty does it for the server.
    let (_server, port) = start(&["--pty-exec", "/bin/cat"]);
    // Refused: the client echoes, the pty must not (or each line shows twice).
    let mut client = connect_with(port, None, false);
    client.send(b"a\r");
    client.expect(b"a\r\n");
    // Asked for later: the pty echoes from then on.
    client.send(&[IAC, DO, ECHO]);
    client.expect(&[IAC, WILL, ECHO]);
    client.send(b"b\r");
    client.expect(b"b\r\nb\r\n");
    // Refused again: no more echo.
    client.send(&[IAC, DONT, ECHO]);
    client.expect(&[IAC, WONT, ECHO]);
    client.send(b"c\r");
    client.expect(b"c\r\n");
    client.expect_silence(Duration::from_millis(200));
}

#[test]
fn the_pty_edits_lines_and_echoes_erasure_when_the_server_echoes() {
    let (_server, port) = start(&[
        "--pty-exec",
        "/bin/sh",
        "--",
        "-c",
        r#"read a; echo "got:$a""#,
    ]);
    let mut client = connect(port, None);
    // DEL (most clients' Backspace) and ^H both erase: the pty echoes `BS SP BS` for
    // each (ECHOE), and the line is ended by one Enter (CR NUL: one newline).
    client.send(b"onx\x7fw\x08e\r\0");
    client.expect(b"onx\x08 \x08w\x08 \x08e\r\ngot:one\r\n");
    client.expect_close();
}

/// A program that says `ready`, then waits to be interrupted and says so.
const INTERRUPTIBLE: &str =
    "trap 'echo interrupted; exit 3' INT; echo ready; while :; do sleep 0.05; done";

#[test]
fn ctrl_c_interrupts_the_foreground_program() {
    // ISIG with ^C as VINTR: SIGINT to the pty's foreground process group, as a terminal.
    let (_server, port) = start(&["--pty-exec", "/bin/sh", "--", "-c", INTERRUPTIBLE]);
    let mut client = connect_with(port, None, false);
    client.expect(b"ready\r\n");
    client.send(b"\x03");
    client.read_until(b"interrupted\r\n");
    client.expect_close();
}

/// Telnet's Interrupt Process and Break commands (RFC 854).
const IP: u8 = 244;
const BRK: u8 = 243;

#[test]
fn iac_ip_and_iac_brk_interrupt_the_foreground_program() {
    // As telnetd: the command becomes the pty's interrupt character (VINTR).
    for command in [IP, BRK] {
        let (_server, port) = start(&["--pty-exec", "/bin/sh", "--", "-c", INTERRUPTIBLE]);
        let mut client = connect_with(port, None, false);
        client.expect(b"ready\r\n");
        client.send(&[IAC, command]);
        client.read_until(b"interrupted\r\n");
        client.expect_close();
    }
}

#[test]
fn iac_ip_uses_the_interrupt_character_the_program_set() {
    // `stty intr ^G`: IAC IP is ^G now, and ^C is an ordinary character.
    let script = "stty intr ^G; trap 'echo interrupted; exit 3' INT; echo ready; \
                  read line; echo \"read:$line\"";
    let (_server, port) = start(&["--pty-exec", "/bin/sh", "--", "-c", script]);
    let mut client = connect_with(port, None, false);
    client.expect(b"ready\r\n");
    client.send(&[IAC, IP]);
    client.read_until(b"interrupted\r\n");
    client.expect_close();
}

#[test]
fn a_client_without_ttype_or_lang_gets_xterm_and_en_us_utf8() {
    // Never `TERM=unknown` or an empty LANG: telnetlib3 gives xterm and en_US.utf8.
    let (_server, port) = start(&["--pty-exec", "/usr/bin/env"]);
    let mut client = connect(port, None);
    client.expect(
        b"COLUMNS=80\r\n\
          HOME=/tmp\r\n\
          LANG=en_US.UTF-8\r\n\
          LINES=25\r\n\
          PATH=/usr/bin:/bin\r\n\
          REMOTEHOST=127.0.0.1\r\n\
          TERM=xterm\r\n\
          USER=tester\r\n",
    );
    client.expect_close();
}

#[test]
fn the_defaults_for_term_and_lang_are_configurable() {
    let (_server, port) = start(&[
        "--default-term",
        "vt220",
        "--default-lang",
        "C.UTF-8",
        "--pty-exec",
        "/usr/bin/env",
    ]);
    let mut client = connect(port, None);
    client.expect(
        b"COLUMNS=80\r\n\
          HOME=/tmp\r\n\
          LANG=C.UTF-8\r\n\
          LINES=25\r\n\
          PATH=/usr/bin:/bin\r\n\
          REMOTEHOST=127.0.0.1\r\n\
          TERM=vt220\r\n\
          USER=tester\r\n",
    );
    client.expect_close();
    // A value that could not be a terminal type or locale name is refused at start.
    for (flag, value) in [("--default-term", "x y"), ("--default-lang", "/tmp/evil")] {
        let mut command = Command::new(SERVER);
        command.args(["127.0.0.1", &free_port().to_string(), flag, value]);
        let out = run(command, b"");
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(
            out.stderr.starts_with("telnetlib3-server: error: "),
            "{out:?}"
        );
    }
}
