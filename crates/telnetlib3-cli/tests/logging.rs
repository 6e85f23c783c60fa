//! `--loglevel`, `--logfile`, `--logfile-mode` and `--logfmt` of both tools, as processes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{run, start_server, Proc, Raw, CLIENT, PATIENCE, SERVER};

/// A fresh directory for one test's files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tl3-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Wait until `path` holds a line containing `needle`; returns the file's lines.
fn wait_for_log(path: &Path, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().any(|line| line.contains(needle)) {
            return text.lines().map(String::from).collect();
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in {path:?}: {text:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_default_format_is_telnetlib3s_on_standard_error() {
    let (server, _port) = start_server(&[]);
    let ready = server.stderr_seen.last().unwrap();
    // `%(levelname)s %(filename)s:%(lineno)d %(message)s`
    let (head, message) = ready.split_once(' ').unwrap();
    assert_eq!(head, "INFO");
    let (location, message) = message.split_once(' ').unwrap();
    let (file, line) = location.split_once(':').unwrap();
    assert_eq!(file, "telnetlib3-server.rs");
    assert!(line.parse::<u32>().is_ok(), "{ready}");
    assert!(message.starts_with("Server ready on 127.0.0.1:"), "{ready}");
}

#[test]
fn the_server_logs_to_a_file_in_the_given_format() {
    let scratch = Scratch::new("server-log");
    let log = scratch.file("server.log");
    std::fs::write(&log, "earlier run\n").unwrap();
    let mut command = Command::new(SERVER);
    command
        .args(["127.0.0.1", "0", "--logfile"])
        .arg(&log)
        .args(["--logfmt", "%(levelname)-7s|%(name)s|%(message)s"])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut server = Proc::spawn(command);
    let lines = wait_for_log(&log, "Server ready on ");
    let port = common::ready_port(&lines[1]);
    assert_eq!(
        lines,
        [
            "earlier run".to_string(),
            format!("INFO   |telnetlib3_server|Server ready on 127.0.0.1:{port}"),
        ]
    );
    let client = Raw::connect(port);
    let lines = wait_for_log(&log, "Connection from");
    assert_eq!(
        lines[2],
        format!(
            "INFO   |telnetlib3.server|Connection from <Peer 127.0.0.1 {}>",
            client.stream.local_addr().unwrap().port()
        )
    );
    // Nothing went to standard error.
    let _ = server.child.kill();
    assert_eq!(server.wait_for_line("\u{0}"), None);
    assert!(server.stderr_seen.is_empty(), "{:?}", server.stderr_seen);
}

#[test]
fn the_client_rewrites_its_log_file_when_asked() {
    let (_server, port) = start_server(&["--connect-maxwait", "30"]);
    let scratch = Scratch::new("client-log");
    let log = scratch.file("client.log");
    std::fs::write(&log, "earlier run\n").unwrap();
    let mut command = Command::new(CLIENT);
    command
        .args(["127.0.0.1", &port.to_string(), "--loglevel", "info"])
        .args([
            "--logfile-mode",
            "rewrite",
            "--logfmt",
            "%(message)s",
            "--logfile",
        ])
        .arg(&log);
    let out = run(command, b"quit\r\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stderr, "");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("Connected to 127.0.0.1:{port}\n")
    );
}

#[test]
fn a_bad_format_is_a_one_line_usage_error() {
    for program in [SERVER, CLIENT] {
        let mut command = Command::new(program);
        command.args([
            "--logfmt",
            "%(asctime)s %(funcName)s %(message)s",
            "localhost",
        ]);
        let out = run(command, b"");
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
        assert!(
            out.stderr
                .contains("bad --logfmt: unknown attribute \"funcName\" (known: message,"),
            "{:?}",
            out.stderr
        );
    }
}

#[test]
fn a_log_file_that_cannot_be_opened_is_a_one_line_error_before_anything_else() {
    let scratch = Scratch::new("no-log-dir");
    let log = scratch.file("missing-dir").join("server.log");
    let mut command = Command::new(SERVER);
    command.args(["127.0.0.1", "0", "--logfile"]).arg(&log);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "telnetlib3-server: error: cannot open log file {}: No such file or directory (os error 2)\n",
            log.display()
        )
    );
}

#[test]
fn a_width_too_large_to_format_is_a_usage_error_not_a_panic_at_the_first_log_line() {
    // Rust's formatting panics on widths above 65535: before, the server died at its
    // "Server ready" line.
    let mut command = Command::new(SERVER);
    command.args(["127.0.0.1", "0", "--logfmt", "%(message)70000s"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        out.stderr,
        "telnetlib3-server: error: invalid value '%(message)70000s' for '--logfmt <LOGFMT>': \
         bad --logfmt: width 70000 is too large (at most 65535)\n"
    );
}

/// Our server on a free port, logging at `level` to a file in `scratch` with only the
/// level and the message; returns the server, its port and the log's path.
fn logging_server(scratch: &Scratch, level: &str) -> (Proc, u16, PathBuf) {
    let log = scratch.file("server.log");
    let port = common::free_port();
    let mut command = Command::new(SERVER);
    command
        .args(["127.0.0.1", &port.to_string(), "--loglevel", level])
        .args(["--logfmt", "%(levelname)s %(message)s", "--logfile"])
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let server = Proc::spawn(command);
    wait_for_log(&log, "Server ready on ");
    (server, port, log)
}

#[test]
fn debug_logs_every_negotiation_step_as_telnetlib3_words_it() {
    let scratch = Scratch::new("debug-negotiation");
    let (_server, port, log) = logging_server(&scratch, "debug");
    let mut client = Raw::connect(port);
    client.send(b"\xff\xfb\x18"); // IAC WILL TTYPE
    let lines = wait_for_log(&log, "send IAC SB TTYPE SEND IAC SE");
    client.send(b"\xff\xfa\x18\x00xterm\xff\xf0"); // IAC SB TTYPE IS "xterm" IAC SE
    let lines_after = wait_for_log(&log, "recv IAC SB TTYPE IS \"xterm\" IAC SE");
    let at = |needle: &str| {
        lines
            .iter()
            .position(|line| line == needle)
            .unwrap_or_else(|| panic!("no {needle:?} in {lines:#?}"))
    };
    // The server's opening request, the client's answer, then the server's SEND.
    assert!(at("DEBUG send IAC DO TTYPE") < at("DEBUG recv IAC WILL TTYPE"));
    assert!(at("DEBUG recv IAC WILL TTYPE") < at("DEBUG send IAC SB TTYPE SEND IAC SE"));
    // Every option of the opening is logged as it is sent.
    for line in ["DEBUG send IAC WILL SGA", "DEBUG send IAC DO NAWS"] {
        at(line);
    }
    assert!(lines_after.len() > lines.len());
}

#[test]
fn trace_logs_a_hexdump_of_every_byte_in_and_out() {
    let scratch = Scratch::new("trace-hexdump");
    let (_server, port, log) = logging_server(&scratch, "trace");
    let mut client = Raw::connect(port);
    client.send(b"\xff\xfb\x18"); // IAC WILL TTYPE
    let lines = wait_for_log(&log, "<<  00000000  ff fb 18 ");
    // telnetlib3's TRACE format: a count, then `hexdump -C` lines after `<<  ` / `>>  `.
    let recv = lines
        .iter()
        .position(|line| line == "TRACE recv 3 bytes")
        .unwrap_or_else(|| panic!("no recv line in {lines:#?}"));
    assert_eq!(
        lines[recv + 1],
        format!("<<  00000000  ff fb 18{}|...|", " ".repeat(42))
    );
    let lines = wait_for_log(&log, ">>  00000000  ff fa 18 01 ff f0 ");
    assert!(lines.iter().any(|line| line.starts_with("TRACE send ")));
    // Debug is not trace: the same connection at debug shows no hexdump.
    let scratch = Scratch::new("debug-no-hexdump");
    let (_server, port, log) = logging_server(&scratch, "debug");
    let mut client = Raw::connect(port);
    client.send(b"\xff\xfb\x18");
    let lines = wait_for_log(&log, "send IAC SB TTYPE SEND IAC SE");
    assert!(
        !lines.iter().any(|line| line.contains("00000000")),
        "{lines:#?}"
    );
}
