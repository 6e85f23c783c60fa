//! The MUD flags of the tools as processes: `--compression-idle-release` on both (a
//! restart on the wire, 0 for never, bad values refused in one line) and the client's
//! `--gmcp-modules ""` (telnetlib3's defaults).

mod common;

use std::process::Command;
use std::time::Duration;

use common::{run, start_server, Raw, CLIENT, SERVER};

/// `IAC SB MCCP2 IAC SE`: the server's compressed stream starts after it.
const MCCP2_START: &[u8] = b"\xff\xfa\x56\xff\xf0";

/// A raw client that asks for MCCP2 at once; returns the bytes up to and including the
/// server's first `SB MCCP2 SE`.
fn compressed_client(port: u16) -> Raw {
    let mut client = Raw::connect(port);
    client.send(b"\xff\xfd\x56"); // DO MCCP2
    client.read_until(MCCP2_START);
    client
}

/// With `--compression-idle-release 0.3` the server ends its stream once its output has
/// been idle that long, and its next output (the answer to `help`) starts a new one.
#[test]
fn the_server_restarts_its_stream_after_the_idle_release_given() {
    let (_server, port) = start_server(&[
        "--compression",
        "--connect-maxwait",
        "0.2",
        "--compression-idle-release",
        "0.3",
    ]);
    let mut client = compressed_client(port);
    // The shell's prompt goes in the first stream; then 0.3 s of quiet end it.
    std::thread::sleep(Duration::from_millis(1200));
    client.send(b"help\r\n");
    client.read_until(MCCP2_START);
}

/// `--compression-idle-release 0` never ends the stream: the answer to `help`, after a
/// quiet second, is in the stream that was running (no second start, which would come
/// at once if 0 meant "release immediately").
#[test]
fn an_idle_release_of_zero_keeps_the_stream() {
    let (_server, port) = start_server(&[
        "--compression",
        "--connect-maxwait",
        "0.2",
        "--compression-idle-release",
        "0",
    ]);
    let mut client = compressed_client(port);
    std::thread::sleep(Duration::from_millis(1000));
    client.send(b"help\r\n");
    // Some compressed output comes (the help text); no new start with it.
    let answer = client.read_exact(16);
    std::thread::sleep(Duration::from_millis(300));
    client.send(b"help\r\n");
    let more = client.read_exact(16);
    let wire = [answer, more].concat();
    assert!(
        !wire.windows(5).any(|w| w == MCCP2_START),
        "a new stream: {wire:?}"
    );
}

#[test]
fn bad_idle_release_values_are_one_line_errors() {
    for program in [SERVER, CLIENT] {
        for value in ["-1", "soon", "inf"] {
            let mut command = Command::new(program);
            command
                .args(["127.0.0.1", "1"])
                .arg(format!("--compression-idle-release={value}"));
            let out = run(command, b"");
            assert_eq!(out.status.code(), Some(2), "{program} {value}: {out:?}");
            assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
            assert!(
                out.stderr.contains(&format!(
                    "invalid value '{value}' for '--compression-idle-release <SECONDS>'"
                )),
                "{:?}",
                out.stderr
            );
        }
    }
}

/// telnetlib3's client: `--gmcp-modules ""` (or only commas and blanks) is no list, and
/// the defaults go in `Core.Supports.Set`.
#[test]
fn empty_gmcp_modules_fall_back_to_telnetlib3s_defaults() {
    let (_server, port) = start_server(&["--connect-maxwait", "30", "--always-will", "GMCP"]);
    for modules in ["", " , "] {
        let mut command = Command::new(CLIENT);
        command.args(["127.0.0.1", &port.to_string(), "--gmcp-modules", modules]);
        let out = run(command, b"mud\r\nquit\r\n");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{out:?}");
        let expected = r#"GMCP Core.Supports.Set ["char 1","char.vitals 1","char.items 1","room 1","room.info 1","comm 1","comm.channel 1","group 1"]"#;
        assert!(text.contains(expected), "{modules:?}: {text}");
    }
}
