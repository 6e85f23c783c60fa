//! Interoperability with Debian's telnet client (`inetutils-telnet`, which
//! `scripts/test.sh` installs) against our server, in a real terminal (tmux). A missing
//! program fails the test with the command that installs it.

mod common;

use common::{count_lines, require, start_server, Tmux};

#[test]
fn inetutils_telnet_against_our_server() {
    require("/usr/bin/telnet", "inetutils-telnet");
    let (_server, port) = start_server(&["--connect-maxwait", "2"]);
    let tmux = Tmux::start(&format!("telnet 127.0.0.1 {port}"));
    tmux.wait_for("tel:sh> ");
    tmux.send_line("help");
    tmux.wait_for("quit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud");
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

/// Debian telnet in tmux against our server running `/bin/sh` with `extra` flags: type
/// `echo hx`, Backspace, `i`, Enter, then `stty -a`; the command line shows once (echoed
/// by the pty when the server has WILL ECHO, by the client in line mode), its output
/// once, the x erased; returns `stty -a`'s screen.
#[cfg(unix)]
fn telnet_types_on_sh(extra: &[&str]) -> String {
    require("/usr/bin/telnet", "inetutils-telnet");
    let flags = [&["--pty-exec", "/bin/sh"][..], extra].concat();
    let (_server, port) = start_server(&flags);
    let tmux = Tmux::start(&format!("telnet 127.0.0.1 {port}"));
    tmux.wait_for("Escape character is");
    tmux.wait_for_shell_prompt();
    tmux.type_with_backspace();
    tmux.send_line("stty -a; echo stty-done");
    let screen = tmux.wait_for_line("stty-done");
    assert_eq!(
        count_lines(&screen, |l| l.ends_with(" echo hi")),
        1,
        "{screen}"
    );
    tmux.send_line("exit");
    tmux.wait_for("Connection closed by foreign host.");
    screen
}

/// The words of `stty -a` output.
fn stty_words(screen: &str) -> Vec<&str> {
    screen
        .split(|c: char| c.is_whitespace() || c == ';')
        .collect()
}

#[cfg(unix)]
#[test]
fn inetutils_telnet_sees_what_it_types_on_a_cooked_pty() {
    // The server says WILL ECHO, telnet agrees: the pty echoes and edits lines.
    let screen = telnet_types_on_sh(&[]);
    let words = stty_words(&screen);
    for mode in ["icanon", "echo", "echoe", "isig"] {
        assert!(words.contains(&mode), "no {mode}:\n{screen}");
        assert!(
            !words.contains(&format!("-{mode}").as_str()),
            "-{mode}:\n{screen}"
        );
    }
}

#[cfg(unix)]
#[test]
fn inetutils_telnet_in_line_mode_echoes_and_the_pty_does_not() {
    // --line-mode: no WILL ECHO, so telnet echoes locally (RFC 857's default); a pty
    // echo as well would show every line twice.
    let screen = telnet_types_on_sh(&["--line-mode"]);
    let words = stty_words(&screen);
    assert!(words.contains(&"icanon"), "{screen}");
    assert!(words.contains(&"-echo"), "{screen}");
}
