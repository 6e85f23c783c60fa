//! The MUD flags of the tools as processes: `--compression-idle-release` on both (a
//! restart on the wire, 0 for never, bad values refused in one line), the client's
//! `--gmcp-modules ""` (telnetlib3's defaults), and the server's warning when a client
//! fills a MUD data store.

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

/// A client that fills a MUD data store: each item lost is an event, but the server's
/// log says so once per connection, at warn level.
#[test]
fn a_full_mud_store_is_logged_once_per_connection() {
    let (mut server, port) = start_server(&["--connect-maxwait", "0.2"]);
    let mut wire = b"\xff\xfb\x66".to_vec(); // WILL AARDWOLF
                                             // 7 000 bytes on each of five channels: the store (16 KiB) takes two.
    for channel in 100u8..105 {
        wire.extend_from_slice(&[0xff, 0xfa, 0x66, channel]);
        wire.extend(std::iter::repeat_n(b'x', 7_000));
        wire.extend_from_slice(&[0xff, 0xf0]);
    }
    for _ in 0..2 {
        let mut client = Raw::connect(port);
        client.send(&wire);
        client.read_until(b"tel:sh> ");
        client.send(b"quit\r\n");
        client.read_until(b"Goodbye.");
    }
    let _ = server.wait_for_line("Connection closed for");
    let _ = server.wait_for_line("Connection closed for");
    let warnings: Vec<String> = server
        .stderr_so_far()
        .iter()
        .filter(|line| line.contains("a MUD data store is full"))
        .cloned()
        .collect();
    assert_eq!(warnings.len(), 2, "{:?}", server.stderr_so_far());
    for warning in &warnings {
        assert!(warning.starts_with("WARNING "), "{warning}");
        assert!(
            warning.contains("option=AARDWOLF name=\"affect\""),
            "{warning}"
        );
    }
}
