//! `telnetlib3-server` as a process, seen byte by byte from a raw TCP client.

mod common;

use std::process::Command;
use std::time::Duration;

use common::telnet::*;
use common::{run, start_server, Raw};

/// Connect and go through the opening as [`AGREE_SGA_ECHO`] says: ECHO and SGA on.
fn connect_agreeing(port: u16) -> Raw {
    let mut client = Raw::connect(port);
    client.expect(&OPENING);
    client.expect_silence(Duration::from_millis(200));
    client.send(&AGREE_SGA_ECHO);
    client.expect(&ADVANCED);
    client.expect_silence(Duration::from_millis(200));
    client.send(&REFUSE_ADVANCED);
    client
}

#[test]
fn opening_negotiation_then_ready_prompt_and_echoed_dialogue() {
    // A long maxwait: the prompt must come as soon as every request is answered.
    let (_server, port) = start_server(&["--connect-maxwait", "30"]);
    let mut client = connect_agreeing(port);
    // SGA is on: no IAC GA after the prompt.
    client.expect(b"Ready.\r\ntel:sh> ");
    // ECHO is on: typed characters come back as they are typed.
    client.send(b"he");
    client.expect(b"he");
    client.send(b"lp\r\n");
    client.expect(
        b"lp\r\nquit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud\r\ntel:sh> ",
    );
    client.send(b"x\x7f\r\n");
    client.expect(b"x\x08 \x08\r\ntel:sh> ");
    client.send(b"quit\r\n");
    client.expect(b"quit\r\nGoodbye.\r\n");
    client.expect_close();
}

#[test]
fn refused_options_mean_no_echo_and_a_go_ahead_after_each_prompt() {
    let (_server, port) = start_server(&["--connect-maxwait", "30"]);
    let mut client = Raw::connect(port);
    client.expect(&OPENING);
    // Refusing TTYPE and agreeing to nothing: a client that will not go further.
    client.send(&[IAC, WONT, TTYPE, IAC, DONT, SGA, IAC, DONT, ECHO]);
    client.expect(&[b"Ready.\r\ntel:sh> ".as_slice(), &[IAC, GA]].concat());
    client.send(b"help\r\n");
    client.expect(&[b"\r\nquit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud\r\ntel:sh> ".as_slice(), &[IAC, GA]].concat());
    // Every end of line: CR NUL, CR LF, a bare LF, a bare CR.
    client.send(b"bogus\r\0");
    client.expect(&[b"\r\nno such command.\r\ntel:sh> ".as_slice(), &[IAC, GA]].concat());
    client.send(b"\r\n");
    client.expect(&[b"\r\ntel:sh> ".as_slice(), &[IAC, GA]].concat());
    client.send(b"help\n");
    client.expect(&[b"\r\nquit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud\r\ntel:sh> ".as_slice(), &[IAC, GA]].concat());
    client.send(b"help\r");
    client.expect(&[b"\r\nquit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud\r\ntel:sh> ".as_slice(), &[IAC, GA]].concat());
    client.send(b"quit\r\n");
    client.expect(b"\r\nGoodbye.\r\n");
    client.expect_close();
}

#[test]
fn a_silent_client_gets_the_prompt_after_connect_maxwait() {
    let (_server, port) = start_server(&["--connect-maxwait", "0.3"]);
    let mut client = Raw::connect(port);
    client.expect(&OPENING);
    client.expect(&[b"Ready.\r\ntel:sh> ".as_slice(), &[IAC, GA]].concat());
}

#[test]
fn a_broken_connection_does_not_take_the_server_down() {
    let (mut server, port) = start_server(&["--connect-maxwait", "30"]);
    // Garbage and an abrupt close, twice, one of them mid-negotiation.
    for _ in 0..2 {
        let mut rude = Raw::connect(port);
        rude.send(&[IAC, SB, TTYPE, 0, IAC, IAC, IAC]);
        rude.send(&[0xff; 1000]);
    }
    let mut client = connect_agreeing(port);
    client.expect(b"Ready.\r\ntel:sh> ");
    client.send(b"quit\r\n");
    client.expect(b"quit\r\nGoodbye.\r\n");
    client.expect_close();
    assert!(server.child.try_wait().unwrap().is_none(), "server exited");
    let closed = server.wait_for_line("Connection closed for").unwrap();
    assert!(closed.contains("INFO"), "{closed}");
}

#[test]
fn a_bad_port_is_a_one_line_usage_error() {
    let mut command = Command::new(common::SERVER);
    command.args(["localhost", "notaport"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
    assert!(
        out.stderr
            .starts_with("telnetlib3-server: error: invalid value 'notaport' for '[PORT]'"),
        "{:?}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_bad_flag_value_is_a_one_line_usage_error() {
    let mut command = Command::new(common::SERVER);
    command.args(["--connect-maxwait", "-1"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
    assert!(out.stderr.contains("--connect-maxwait"), "{:?}", out.stderr);
}

#[test]
fn a_port_in_use_is_a_one_line_error_and_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut command = Command::new(common::SERVER);
    command.args(["127.0.0.1", &port.to_string()]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "telnetlib3-server: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
        )
    );
    drop(taken);
}

#[test]
fn help_names_the_flags() {
    let mut command = Command::new(common::SERVER);
    command.arg("--help");
    let out = run(command, b"");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--connect-maxwait", "--loglevel", "[HOST]", "[PORT]"] {
        assert!(help.contains(flag), "{flag} missing from {help}");
    }
}

#[test]
fn line_mode_asks_for_no_sga_or_echo_and_never_send_ga_drops_the_go_ahead() {
    // BINARY is refused below, so negotiation settles only at connect-maxwait.
    let (_server, port) =
        start_server(&["--connect-maxwait", "1", "--line-mode", "--never-send-ga"]);

    let mut client = Raw::connect(port);
    client.expect(&OPENING);
    client.send(&[IAC, WILL, TTYPE]);
    // SB TTYPE SEND, then the advanced requests without WILL SGA.
    client.expect(&[
        IAC, SB, TTYPE, 1, IAC, SE, IAC, WILL, BINARY, IAC, DO, NAWS, IAC, DO, CHARSET,
    ]);
    client.send(&[IAC, SB, TTYPE, 0, b'x', IAC, SE]);
    // The cycle goes on (SEND again) and NEW_ENVIRON is asked for, but no WILL ECHO.
    client.expect(&[IAC, SB, TTYPE, 1, IAC, SE, IAC, DO, NEW_ENVIRON]);
    client.send(&[IAC, SB, TTYPE, 0, b'x', IAC, SE]);
    client.send(&REFUSE_ADVANCED);
    // No IAC GA after the prompt, though SGA is off.
    client.expect(b"Ready.\r\ntel:sh> ");
    client.expect_silence(Duration::from_millis(200));
    client.send(b"quit\r\n");
    client.expect(b"\r\nGoodbye.\r\n");
    client.expect_close();
}

#[test]
fn the_echo_shell_sends_everything_back() {
    let (_server, port) = start_server(&["--shell", "echo", "--connect-maxwait", "30"]);
    let mut client = Raw::connect(port);
    client.expect(&OPENING);
    // Refusing TTYPE and agreeing to nothing settles negotiation at once.
    client.send(&[IAC, WONT, TTYPE]);
    client.send(b"abc\xff\xff\r\n");
    client.expect(b"abc\xff\xff\r\n");
}

#[test]
fn encoding_false_asks_no_charset_and_gives_a_bytes_shell() {
    let (_server, port) = start_server(&["--connect-maxwait", "30", "--encoding", "false"]);
    let mut client = Raw::connect(port);
    client.expect(&OPENING);
    client.send(&AGREE_SGA_ECHO);
    // The advanced requests without DO CHARSET.
    client.expect(&[&ADVANCED[..12], &ADVANCED[15..]].concat());
    client.send(&[IAC, DONT, BINARY, IAC, WONT, NAWS, IAC, WONT, NEW_ENVIRON]);
    client.expect(b"Ready.\r\ntel:sh> ");
    client.send(b"reader\r\n");
    // buflen: the LF of the line's CR LF, not yet taken (telnetlib3 shows the same).
    client.expect(b"reader\r\n<TelnetReader limit=65536 buflen=1 eof=False>\r\ntel:sh> ");
}

#[test]
fn a_forced_binary_session_reads_in_the_given_encoding_and_erases_bytes() {
    let (_server, port) = start_server(&[
        "--connect-maxwait",
        "30",
        "--encoding",
        "cp437",
        "--force-binary",
    ]);
    let mut client = connect_agreeing(port);
    client.expect(b"Ready.\r\ntel:sh> ");
    // cp437's box corner and light shade: two characters, one backspace erases one.
    client.send(b"\xc9\xb0\x7f\x15reader\r\n");
    client.expect(b"\xc9\xb0\x08 \x08\x08 \x08reader\r\n");
    client.expect(b"<TelnetReaderUnicode encoding='cp437' limit=65536 buflen=1 eof=False>\r\n");
}

#[test]
fn an_unknown_encoding_is_a_one_line_usage_error() {
    let mut command = Command::new(common::SERVER);
    command.args(["--encoding", "klingon"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        out.stderr,
        "telnetlib3-server: error: invalid value 'klingon' for '--encoding <ENCODING>': \
         unknown encoding: klingon\n"
    );
}
