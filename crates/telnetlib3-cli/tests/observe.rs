//! `--metrics` and `--record` (issue 17): the server's metrics scraped with `curl` and
//! read with a real OpenMetrics parser (Python `prometheus_client`), the counters equal
//! to what the test did; recordings played back with the asciinema CLI (`asciinema
//! cat`), the screen text exact.

mod common;
#[path = "../../telnetlib3-proto/tests/support/python.rs"]
#[allow(dead_code)] // Only `python()`.
mod reference;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::telnet::*;
use common::{free_port, require, run, show, start_server, Raw, CLIENT, PATIENCE, SERVER};
use reference::python;

/// The debug shell's `help` answer.
const HELP: &str = "quit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud";

/// The dialogue of one session after the opening: what the client types and the
/// screen's text it gets back (SGA and ECHO agreed: echoed, no go-ahead).
const TYPED: &[u8] = b"help\r\nquit\r\n";

fn screen() -> Vec<u8> {
    format!("Ready.\r\ntel:sh> help\r\n{HELP}\r\ntel:sh> quit\r\nGoodbye.\r\n").into_bytes()
}

/// A raw client through the opening (SGA and ECHO agreed, the rest refused, or with
/// `naws` reported), the dialogue, and the server's close. Returns the bytes it sent
/// and received.
fn session(port: u16, naws: Option<(u16, u16)>, resize: Option<(u16, u16)>) -> (usize, usize) {
    let mut client = Raw::connect(port);
    let mut sent = 0;
    let mut received = 0;
    client.expect(&OPENING);
    received += OPENING.len();
    client.send(&AGREE_SGA_ECHO);
    sent += AGREE_SGA_ECHO.len();
    client.expect(&ADVANCED);
    received += ADVANCED.len();
    let answer = match naws {
        None => REFUSE_ADVANCED.to_vec(),
        Some((cols, rows)) => [
            &[IAC, DONT, BINARY, IAC, WILL, NAWS][..],
            &naws_report(cols, rows),
            &[IAC, WONT, CHARSET, IAC, WONT, NEW_ENVIRON],
        ]
        .concat(),
    };
    client.send(&answer);
    sent += answer.len();
    client.expect(b"Ready.\r\ntel:sh> ");
    if let Some((cols, rows)) = resize {
        let report = naws_report(cols, rows);
        client.send(&report);
        sent += report.len();
    }
    client.send(b"help\r\n");
    client.expect(format!("help\r\n{HELP}\r\ntel:sh> ").as_bytes());
    client.send(b"quit\r\n");
    client.expect(b"quit\r\nGoodbye.\r\n");
    client.expect_close();
    sent += TYPED.len();
    received += screen().len();
    (sent, received)
}

/// `IAC SB NAWS cols rows IAC SE` (no byte of these sizes is 255).
fn naws_report(cols: u16, rows: u16) -> Vec<u8> {
    let [c1, c2] = cols.to_be_bytes();
    let [r1, r2] = rows.to_be_bytes();
    vec![IAC, SB, NAWS, c1, c2, r1, r2, IAC, SE]
}

/// The response to `curl -si URL`: the status line and headers, and the body.
fn curl(url: &str) -> (String, String) {
    require("/usr/bin/curl", "curl");
    let mut command = Command::new("curl");
    command.args(["-si", "--max-time", "10", url]);
    let out = run(command, b"");
    assert!(out.status.success(), "curl failed: {}", out.stderr);
    let text = String::from_utf8(out.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    (head.to_owned(), body.to_owned())
}

/// The samples of an OpenMetrics text, as Python `prometheus_client`'s OpenMetrics parser
/// reads it (it rejects text that breaks the format): `name{label="value",...}` (labels
/// sorted) to value.
fn parse_metrics(text: &str) -> HashMap<String, f64> {
    const SCRIPT: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value!r}")
"#;
    let mut command = Command::new(python());
    command.args(["-c", SCRIPT]);
    let out = run(command, text.as_bytes());
    assert!(
        out.status.success(),
        "the parser refused the text: {}\n{text}",
        out.stderr
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (name, value) = line.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

/// Scrape until `done` holds for the samples (connections close on the server a little
/// after the client sees the close), or panic after [`PATIENCE`].
fn scrape_until(
    port: u16,
    done: impl Fn(&HashMap<String, f64>) -> bool,
) -> (String, HashMap<String, f64>) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (head, body) = curl(&format!("http://127.0.0.1:{port}/metrics"));
        let samples = parse_metrics(&body);
        if done(&samples) {
            return (head, samples);
        }
        assert!(Instant::now() < deadline, "metrics never settled:\n{body}");
        thread::sleep(Duration::from_millis(100));
    }
}

fn sample(samples: &HashMap<String, f64>, name: &str) -> f64 {
    samples.get(name).copied().unwrap_or(-1.0)
}

#[test]
fn metrics_count_what_the_clients_did() {
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let (mut server, port) = start_server(&["--connect-maxwait", "30", "--metrics", &metrics_addr]);
    let announced = format!("Metrics at http://{metrics_addr}/metrics");
    assert!(
        server
            .stderr_so_far()
            .iter()
            .any(|line| line.contains(&announced)),
        "{:?}",
        server.stderr_seen
    );

    // Nothing yet: every counter at zero.
    let (head, samples) = scrape_until(metrics_port, |_| true);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains(
            "\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\n"
        ),
        "{head}"
    );
    assert_eq!(sample(&samples, "telnetlib3_connections_total{}"), 0.0);
    assert_eq!(sample(&samples, "telnetlib3_sent_bytes_total{}"), 0.0);

    // Two sessions, one reporting its window size; one TLS ClientHello on plain Telnet.
    let (sent1, received1) = session(port, None, None);
    let (sent2, received2) = session(port, Some((100, 30)), None);
    let mut hello = Raw::connect(port);
    let client_hello = [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5];
    hello.expect(&OPENING);
    hello.send(&client_hello);
    hello.expect_close();
    let sent = sent1 + sent2 + client_hello.len();
    let received = received1 + received2 + OPENING.len();

    let (_, samples) = scrape_until(metrics_port, |s| {
        sample(s, "telnetlib3_connections_open{}") == 0.0
    });
    let expected: &[(&str, f64)] = &[
        ("telnetlib3_connections_open{}", 0.0),
        ("telnetlib3_connections_total{}", 3.0),
        (
            "telnetlib3_connections_refused_total{reason=\"tls_without_tls\"}",
            1.0,
        ),
        ("telnetlib3_received_bytes_total{}", sent as f64),
        ("telnetlib3_sent_bytes_total{}", received as f64),
        ("telnetlib3_shells_started_total{}", 2.0),
        ("telnetlib3_shells_ended_total{}", 2.0),
        ("telnetlib3_negotiation_seconds_count{}", 2.0),
        ("telnetlib3_negotiation_seconds_bucket{le=\"+Inf\"}", 2.0),
        (
            "telnetlib3_options_enabled_total{option=\"SGA\",side=\"local\"}",
            2.0,
        ),
        (
            "telnetlib3_options_enabled_total{option=\"ECHO\",side=\"local\"}",
            2.0,
        ),
        (
            "telnetlib3_options_enabled_total{option=\"NAWS\",side=\"remote\"}",
            1.0,
        ),
        ("telnetlib3_tls_connections_total{}", 0.0),
    ];
    for (name, value) in expected {
        assert_eq!(sample(&samples, name), *value, "{name} in {samples:#?}");
    }
    // Nothing else was enabled, and nothing failed.
    let enabled: Vec<_> = samples
        .keys()
        .filter(|name| name.starts_with("telnetlib3_options_enabled_total"))
        .collect();
    assert_eq!(enabled.len(), 3, "{enabled:?}");
    assert!(
        !samples
            .keys()
            .any(|name| name.starts_with("telnetlib3_errors")),
        "{samples:#?}"
    );

    // Anything but /metrics is not found.
    let (head, _) = curl(&format!("http://127.0.0.1:{metrics_port}/"));
    assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
}

/// A directory of its own under the system's temporary directory, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "telnetlib3-observe-{tag}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    /// The files in it.
    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `asciinema cat FILE`'s output: the recording's screen text. It reads keys from
/// `/dev/tty`, so it runs with a pseudo-terminal as its controlling terminal (and its
/// output in a pipe, byte for byte).
fn asciinema_cat(file: &Path) -> Vec<u8> {
    require("/usr/bin/asciinema", "asciinema");
    const SCRIPT: &str = r#"
import os, subprocess, sys
master, slave = os.openpty()
name = os.ttyname(slave)
def controlling_terminal():
    os.close(os.open(name, os.O_RDWR))
done = subprocess.run(["asciinema", "cat", sys.argv[1]], stdin=slave,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20,
                      start_new_session=True, preexec_fn=controlling_terminal)
sys.stdout.buffer.write(done.stdout)
sys.stderr.buffer.write(done.stderr)
sys.exit(done.returncode)
"#;
    let mut command = Command::new(python());
    command.args(["-c", SCRIPT]).arg(file);
    let out = run(command, b"");
    assert!(out.status.success(), "asciinema cat failed: {}", out.stderr);
    out.stdout
}

/// The recording's lines as `(code, data)` after the header, with the header as the
/// Python JSON parser reads it (sorted keys).
fn read_recording(file: &Path) -> (String, Vec<(String, String)>) {
    const SCRIPT: &str = r#"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "", "the file ends with a newline"
print(json.dumps(json.loads(lines[0]), sort_keys=True))
last = 0.0
for line in lines[1:-1]:
    at, code, data = json.loads(line)
    assert at >= last, "times go forward"
    last = at
    print(json.dumps([code, data]))
"#;
    let mut command = Command::new(python());
    command.args(["-c", SCRIPT]).arg(file);
    let out = run(command, b"");
    assert!(
        out.status.success(),
        "not an asciicast file: {}",
        out.stderr
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_owned();
    let events = lines
        .map(|line| {
            let line = line
                .strip_prefix("[\"")
                .unwrap()
                .strip_suffix("\"]")
                .unwrap();
            let (code, data) = line.split_once("\", \"").unwrap();
            (code.to_owned(), data.to_owned())
        })
        .collect();
    (header, events)
}

#[test]
fn recordings_play_back_as_the_session_screen() {
    let dir = TempDir::new("record");
    let dir_arg = dir.0.to_str().unwrap().to_owned();
    let (_server, port) = start_server(&[
        "--connect-maxwait",
        "30",
        "--record",
        &dir_arg,
        "--record-input",
    ]);
    session(port, Some((100, 30)), Some((120, 40)));
    // The file is closed when the connection ends, a little after the client sees it.
    let deadline = Instant::now() + PATIENCE;
    let file = loop {
        let files = dir.files();
        if let [file] = files.as_slice() {
            if read_recording(file)
                .1
                .last()
                .is_some_and(|(_, data)| data.contains("Goodbye"))
            {
                break file.clone();
            }
        }
        assert!(Instant::now() < deadline, "no whole recording: {files:?}");
        thread::sleep(Duration::from_millis(100));
    };
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(name.contains("Z-127.0.0.1-"), "{name}");
    assert!(name.ends_with(".cast"), "{name}");
    // What clients typed is in it: for the server's user only.
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");

    assert_eq!(
        asciinema_cat(&file),
        screen(),
        "{}",
        show(&asciinema_cat(&file))
    );
    let (header, events) = read_recording(&file);
    // No TTYPE: no TERM.
    assert!(
        header.starts_with("{\"env\": {}, \"height\": 30, \"timestamp\": "),
        "{header}"
    );
    assert!(
        header.ends_with(", \"version\": 2, \"width\": 100}"),
        "{header}"
    );
    let input: String = events
        .iter()
        .filter(|(code, _)| code == "i")
        .map(|(_, data)| data.as_str())
        .collect();
    assert_eq!(input, "help\\r\\nquit\\r\\n");
    let resizes: Vec<_> = events.iter().filter(|(code, _)| code == "r").collect();
    assert_eq!(resizes, [&("r".to_owned(), "120x40".to_owned())]);
}

#[test]
fn a_recording_stops_at_its_bound_and_stays_playable() {
    let dir = TempDir::new("bound");
    let dir_arg = dir.0.to_str().unwrap().to_owned();
    let (_server, port) = start_server(&[
        "--connect-maxwait",
        "30",
        "--record",
        &dir_arg,
        "--record-max-bytes",
        "1024",
    ]);
    let mut client = Raw::connect(port);
    client.expect(&OPENING);
    client.send(&AGREE_SGA_ECHO);
    client.expect(&ADVANCED);
    client.send(&REFUSE_ADVANCED);
    client.expect(b"Ready.\r\ntel:sh> ");
    // 8 KiB of dump lines, far past the bound.
    client.send(b"dump 8\r\n");
    let mut screen = b"Ready.\r\ntel:sh> ".to_vec();
    screen.extend(client.read_until(b"tel:sh> "));
    client.send(b"quit\r\n");
    client.expect(b"quit\r\nGoodbye.\r\n");
    client.expect_close();
    let deadline = Instant::now() + PATIENCE;
    let file = loop {
        if let [file] = dir.files().as_slice() {
            if std::fs::metadata(file).unwrap().len() > 0 {
                break file.clone();
            }
        }
        assert!(Instant::now() < deadline, "no recording");
        thread::sleep(Duration::from_millis(100));
    };
    // Written out when the connection ends.
    thread::sleep(Duration::from_millis(500));
    // Stopped in the event that would pass the bound, after what of it fits: at most an
    // escaped character short (`\u001b` is 6 bytes).
    let size = std::fs::metadata(&file).unwrap().len();
    assert!((1024 - 6..=1024).contains(&size), "{size} bytes");
    let played = asciinema_cat(&file);
    assert!(played.len() > 300, "{}", show(&played));
    assert!(
        screen.starts_with(&played),
        "not the session's beginning: {}",
        show(&played)
    );
    // Whole events only: the file reads as asciicast.
    read_recording(&file);
}

#[test]
fn the_client_records_what_it_shows() {
    let dir = TempDir::new("client");
    let file = dir.0.join("session.cast");
    let (_server, port) = start_server(&["--connect-maxwait", "0.5"]);
    let mut command = Command::new(CLIENT);
    command
        .args(["127.0.0.1", &port.to_string(), "--record"])
        .arg(&file)
        .env("TERM", "vt220");
    let out = run(command, TYPED);
    assert!(out.status.success(), "{out:?}");
    assert!(
        common::contains(&out.stdout, b"Goodbye."),
        "{}",
        show(&out.stdout)
    );
    assert_eq!(asciinema_cat(&file), out.stdout);
    let (header, _) = read_recording(&file);
    assert!(
        header.starts_with("{\"env\": {\"TERM\": \"vt220\"}, \"height\": 25, "),
        "{header}"
    );
    assert!(
        header.ends_with(", \"version\": 2, \"width\": 80}"),
        "{header}"
    );
}

#[test]
fn bad_observability_flags_are_one_line_errors() {
    let dir = TempDir::new("flags");
    let not_a_dir = dir.0.join("absent");
    let cases: &[(&[&str], &str, i32)] = &[
        (
            &["--metrics", "localhost"],
            "telnetlib3-server: error: invalid value 'localhost' for '--metrics <ADDR:PORT>': 'localhost' is not ADDR:PORT with an IP address (127.0.0.1:9323)\n",
            2,
        ),
        (
            &["--record", not_a_dir.to_str().unwrap()],
            &format!("telnetlib3-server: error: --record {}: not a directory\n", not_a_dir.display()),
            1,
        ),
        (
            &["--record", dir.0.to_str().unwrap(), "--record-max-bytes", "10"],
            "telnetlib3-server: error: invalid value '10' for '--record-max-bytes <BYTES>': 10 bytes cannot hold a recording's header: give at least 1024\n",
            2,
        ),
        (
            &["--record-input"],
            "",
            2,
        ),
    ];
    for (flags, message, code) in cases {
        let mut command = Command::new(SERVER);
        command
            .args(["127.0.0.1", &free_port().to_string()])
            .args(*flags);
        let out = run(command, b"");
        assert_eq!(out.status.code(), Some(*code), "{flags:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{flags:?}: {out:?}");
        if !message.is_empty() {
            assert_eq!(out.stderr, *message, "{flags:?}");
        }
    }
    // A metrics address already taken.
    let taken = common::listen_local();
    let addr = taken.local_addr().unwrap().to_string();
    let mut command = Command::new(SERVER);
    command.args(["127.0.0.1", &free_port().to_string(), "--metrics", &addr]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("cannot listen on {addr} for --metrics: ")),
        "{out:?}"
    );
}

#[test]
fn metrics_count_tls_connections_and_failed_handshakes() {
    use std::io::{Read, Write};
    let dir = TempDir::new("tls");
    let ca = common::tls::Authority::new("telnetlib3 test CA");
    let issued = ca.server();
    let write = |name: &str, contents: &str| {
        let path = dir.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let ca_file = write("ca.pem", &ca.pem());
    let cert_file = write("server.pem", &issued.cert);
    let key_file = write("server-key.pem", &issued.key);
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let (_server, port) = start_server(&[
        "--connect-maxwait",
        "0.5",
        "--ssl-certfile",
        &cert_file,
        "--ssl-keyfile",
        &key_file,
        "--metrics",
        &metrics_addr,
    ]);
    // Our client over TLS, through a session.
    let mut command = Command::new(CLIENT);
    command.args(["127.0.0.1", &port.to_string(), "--ssl-cafile", &ca_file]);
    let out = run(command, b"quit\r\n");
    assert!(out.status.success(), "{out:?}");
    assert!(
        common::contains(&out.stdout, b"Goodbye."),
        "{}",
        show(&out.stdout)
    );
    // A handshake that is not one: a TLS record header, then junk.
    let mut broken = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    broken.set_read_timeout(Some(PATIENCE)).unwrap();
    broken
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef])
        .unwrap();
    let mut answer = Vec::new();
    // The server's alert, if any, then its close.
    let _ = broken.read_to_end(&mut answer);

    let (_, samples) = scrape_until(metrics_port, |s| {
        sample(s, "telnetlib3_connections_total{}") == 2.0
            && sample(s, "telnetlib3_connections_open{}") == 0.0
    });
    for (name, value) in [
        ("telnetlib3_tls_connections_total{}", 1.0),
        (
            "telnetlib3_connections_refused_total{reason=\"tls_handshake\"}",
            1.0,
        ),
        ("telnetlib3_shells_started_total{}", 1.0),
        ("telnetlib3_shells_ended_total{}", 1.0),
    ] {
        assert_eq!(sample(&samples, name), value, "{name} in {samples:#?}");
    }
    // MCCP is refused under TLS: no compression.
    assert!(
        !samples
            .keys()
            .any(|name| name.starts_with("telnetlib3_compressed_connections_total{")),
        "{samples:#?}"
    );
}

#[test]
fn metrics_count_compressed_connections() {
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let (_server, port) = start_server(&[
        "--connect-maxwait",
        "0.5",
        "--compression",
        "--metrics",
        &metrics_addr,
    ]);
    // Our client accepts the offered MCCP2 and MCCP3. Its MCCP3 stream starts a moment
    // after the agreement (its log says when): it quits then, compressed.
    let mut command = Command::new(CLIENT);
    command
        .args(["127.0.0.1", &port.to_string(), "--loglevel", "debug"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut client = common::Proc::spawn(command);
    client.wait_for_line("MCCP3: our compressed stream starts");
    let mut stdin = client.child.stdin.take().unwrap();
    stdin.write_all(b"quit\r\n").unwrap();
    drop(stdin);
    let mut stdout = Vec::new();
    let mut pipe = client.child.stdout.take().unwrap();
    pipe.read_to_end(&mut stdout).unwrap();
    let status = client.wait();
    assert!(status.success(), "{status:?}");
    assert!(common::contains(&stdout, b"Goodbye."), "{}", show(&stdout));
    let (_, samples) = scrape_until(metrics_port, |s| {
        sample(s, "telnetlib3_connections_total{}") == 1.0
            && sample(s, "telnetlib3_connections_open{}") == 0.0
    });
    for (name, value) in [
        (
            "telnetlib3_compressed_connections_total{direction=\"out\"}",
            1.0,
        ),
        (
            "telnetlib3_compressed_connections_total{direction=\"in\"}",
            1.0,
        ),
        (
            "telnetlib3_options_enabled_total{option=\"MCCP2_COMPRESS\",side=\"local\"}",
            1.0,
        ),
        (
            "telnetlib3_options_enabled_total{option=\"MCCP3_COMPRESS\",side=\"local\"}",
            1.0,
        ),
    ] {
        assert_eq!(sample(&samples, name), value, "{name} in {samples:#?}");
    }
}

#[test]
fn the_interactive_client_records_its_window_size_and_resizes() {
    let dir = TempDir::new("interactive");
    let file = dir.0.join("session.cast");
    let (_server, port) = start_server(&["--connect-maxwait", "0.5"]);
    let tmux = common::Tmux::start(&format!(
        "TERM=xterm {CLIENT} 127.0.0.1 {port} --record {}",
        file.display()
    ));
    tmux.wait_for("tel:sh> ");
    tmux.resize(100, 30);
    // A round trip after the resize: the client has taken its SIGWINCH before we quit.
    tmux.send_keys(&["writer", "Enter"]);
    tmux.wait_for("client-will:");
    tmux.send_keys(&["quit", "Enter"]);
    tmux.wait_for("Goodbye.");
    let deadline = Instant::now() + PATIENCE;
    while !read_recording_file_done(&file) {
        assert!(Instant::now() < deadline, "the recording was not closed");
        thread::sleep(Duration::from_millis(100));
    }
    let (header, events) = read_recording(&file);
    // tmux's window: 120 x 40.
    assert!(
        header.starts_with("{\"env\": {\"TERM\": \"xterm\"}, \"height\": 40, "),
        "{header}"
    );
    assert!(header.ends_with(", \"width\": 120}"), "{header}");
    let resizes: Vec<_> = events.iter().filter(|(code, _)| code == "r").collect();
    assert_eq!(resizes, [&("r".to_owned(), "100x30".to_owned())]);
    let played = String::from_utf8(asciinema_cat(&file)).unwrap();
    assert!(played.contains("tel:sh> "), "{played}");
    assert!(played.ends_with("Goodbye.\r\n"), "{played:?}");
}

/// Whether the client's recording at `file` ends with the session's last output.
fn read_recording_file_done(file: &Path) -> bool {
    std::fs::read_to_string(file).is_ok_and(|text| text.contains("Goodbye."))
}
