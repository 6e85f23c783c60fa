//! PuTTY's plink (package `putty-tools`, which `scripts/test.sh` installs) against our
//! server's `--pty-exec /bin/sh`, in a real terminal (tmux), as a user sees it. A missing
//! program fails the test with the command that installs it.
//!
//! plink agrees to the server's WILL ECHO and WILL SGA (character at a time, no local
//! echo): the server echoes (RFC 857), here through the pty's cooked mode, so that a
//! program that does not echo itself (dash) shows what is typed, once.
#![cfg(unix)]

mod common;

use common::proxy::Proxy;
use common::{contains, count_lines, require, show, start_server, Tmux};

/// plink in tmux against our server running `/bin/sh`, with `home` as plink's HOME (for
/// a saved session) if given; returns once the shell's prompt shows.
fn plink_on_sh(session: Option<&std::path::Path>) -> (common::Proc, Tmux) {
    require("/usr/bin/plink", "putty-tools");
    let (server, port) = start_server(&["--pty-exec", "/bin/sh"]);
    let command = match session {
        Some(home) => format!(
            "HOME={} plink -load t -telnet -P {port} 127.0.0.1",
            home.display()
        ),
        None => format!("plink -telnet -P {port} 127.0.0.1"),
    };
    let tmux = Tmux::start(&command);
    tmux.wait_for_shell_prompt();
    (server, tmux)
}

#[test]
fn what_plink_types_shows_once_and_its_output_once() {
    let (_server, tmux) = plink_on_sh(None);
    tmux.send_line("echo hi");
    let screen = tmux.wait_for_line("hi");
    // The command line, echoed by the pty after the prompt, and its output: once each.
    assert_eq!(
        count_lines(&screen, |l| l.ends_with(" echo hi")),
        1,
        "{screen}"
    );
    assert_eq!(count_lines(&screen, |l| l == "hi"), 1, "{screen}");
    assert_eq!(count_lines(&screen, |l| l.contains("hi")), 2, "{screen}");
}

#[test]
fn the_pty_is_cooked_as_a_telnetd_pty() {
    let (_server, tmux) = plink_on_sh(None);
    tmux.send_line("stty -a; echo stty-done");
    let screen = tmux.wait_for_line("stty-done");
    let words: Vec<&str> = screen
        .split(|c: char| c.is_whitespace() || c == ';')
        .collect();
    for mode in ["icanon", "echo", "echoe", "isig", "icrnl", "onlcr"] {
        assert!(words.contains(&mode), "no {mode}:\n{screen}");
        assert!(
            !words.contains(&format!("-{mode}").as_str()),
            "-{mode}:\n{screen}"
        );
    }
    // The usual control characters; Backspace (DEL, as plink sends it) erases.
    for setting in [
        "intr = ^C",
        "eof = ^D",
        "susp = ^Z",
        "kill = ^U",
        "erase = ^?",
    ] {
        assert!(screen.contains(setting), "no {setting:?}:\n{screen}");
    }
}

#[test]
fn backspace_edits_the_line_and_enter_ends_it_once() {
    let (_server, tmux) = plink_on_sh(None);
    // The pty erases the x on the screen (ECHOE) and in the line the shell reads.
    let screen = tmux.type_with_backspace();
    // One Enter, one command: a single new prompt after the output, no empty command.
    let after: Vec<&str> = screen
        .lines()
        .map(str::trim_end)
        .skip_while(|l| *l != "hi")
        .skip(1)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(after.len(), 1, "{screen}");
    assert!(matches!(after[0], "$" | "#"), "{screen}");
}

#[test]
fn plinks_terminal_type_reaches_the_program() {
    // A saved session of plink's own (~/.putty/sessions) with a terminal type that is
    // neither plink's default nor ours (both xterm).
    let home = std::env::temp_dir().join(format!(
        "telnetlib3-plink-{}-{}",
        std::process::id(),
        common::free_port()
    ));
    std::fs::create_dir_all(home.join(".putty/sessions")).unwrap();
    std::fs::write(home.join(".putty/sessions/t"), "TerminalType=vt220\n").unwrap();
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _home = Remove(home.clone());
    let (_server, tmux) = plink_on_sh(Some(&home));
    tmux.send_line("echo T=$TERM=");
    tmux.wait_for_line("T=vt220=");
}

/// Through a recording proxy, with the server's debug log: plink agrees to the server's
/// WILL ECHO and WILL SGA, the typed line comes back once (the pty's echo), and the log
/// shows each step of the negotiation, decoded (issue 12, items 4 and 10).
#[test]
fn the_wire_and_the_debug_log_of_a_plink_session() {
    require("/usr/bin/plink", "putty-tools");
    let (mut server, port) = start_server(&["--pty-exec", "/bin/sh", "--loglevel", "debug"]);
    let proxy = Proxy::start(port);
    let tmux = Tmux::start(&format!("plink -telnet -P {} 127.0.0.1", proxy.port()));
    tmux.wait_for_shell_prompt();
    tmux.send_line("echo hi");
    tmux.wait_for_line("hi");

    let to_server = proxy.to_server();
    assert!(
        contains(&to_server, b"\xff\xfd\x01"),
        "DO ECHO: {}",
        show(&to_server)
    );
    assert!(
        contains(&to_server, b"\xff\xfd\x03"),
        "DO SGA: {}",
        show(&to_server)
    );
    let to_client = proxy.to_client();
    assert!(
        contains(&to_client, b"\xff\xfb\x01"),
        "WILL ECHO: {}",
        show(&to_client)
    );
    let echoed = to_client.windows(7).filter(|w| w == b"echo hi").count();
    assert_eq!(echoed, 1, "{}", show(&to_client));

    let log = server.stderr_so_far().join("\n");
    for step in [
        "send IAC DO TTYPE",
        "recv IAC WILL TTYPE",
        "send IAC SB TTYPE SEND IAC SE",
        "recv IAC SB TTYPE IS",
        "send IAC WILL ECHO",
        "recv IAC DO ECHO",
        "recv IAC WILL NAWS",
        "recv IAC SB NAWS",
    ] {
        assert!(log.contains(step), "no {step:?} in the log:\n{log}");
    }
}
