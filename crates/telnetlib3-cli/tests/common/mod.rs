//! Helpers for the process-level tests: children killed on drop, every wait bounded.

#![allow(dead_code)] // Each test file uses its own part of this module.

pub mod proxy;
pub mod telnet;
pub mod tls;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single expectation may take: generous, since builds and a fuzzer may
/// share the machine, but bounded.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub const SERVER: &str = env!("CARGO_BIN_EXE_telnetlib3-server");
pub const CLIENT: &str = env!("CARGO_BIN_EXE_telnetlib3-client");

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// How many lines of `screen`, without blanks around them, satisfy `test`.
pub fn count_lines(screen: &str, test: impl Fn(&str) -> bool) -> usize {
    screen.lines().map(str::trim).filter(|l| test(l)).count()
}

/// Bytes as escaped ASCII, for assertion messages.
pub fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// A child process, killed and reaped when dropped, with its standard error collected
/// line by line on a thread.
pub struct Proc {
    pub child: Child,
    stderr: Receiver<String>,
    pub stderr_seen: Vec<String>,
}

impl Proc {
    /// Start `command` with stderr piped (stdin and stdout as the command says).
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stderr: rx,
            stderr_seen: Vec::new(),
        }
    }

    /// Wait for a stderr line containing `needle`; `None` if stderr closes (the process
    /// ended) first. Panics after [`PATIENCE`].
    pub fn wait_for_line(&mut self, needle: &str) -> Option<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.stderr_seen.push(line.clone());
                    if line.contains(needle) {
                        return Some(line);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no stderr line with {needle:?} after {PATIENCE:?}; seen: {:?}",
                    self.stderr_seen
                ),
            }
        }
    }

    /// Every stderr line so far, without waiting.
    pub fn stderr_so_far(&mut self) -> &[String] {
        while let Ok(line) = self.stderr.try_recv() {
            self.stderr_seen.push(line);
        }
        &self.stderr_seen
    }

    /// The exit status, waiting at most [`PATIENCE`].
    pub fn wait(&mut self) -> ExitStatus {
        wait_within(&mut self.child, PATIENCE)
    }
}

/// `child`'s exit status, waiting at most `patience`.
pub fn wait_within(child: &mut Child, patience: Duration) -> ExitStatus {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "process still running after {patience:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port from a `Server ready on HOST:PORT` log line.
pub fn ready_port(line: &str) -> u16 {
    let addr = line
        .split("Server ready on ")
        .nth(1)
        .unwrap_or_else(|| panic!("not a ready line: {line:?}"));
    addr.trim()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"))
}

/// Our server on 127.0.0.1 and a free port below 32768, with `extra` flags; returns once
/// it listens.
pub fn start_server(extra: &[&str]) -> (Proc, u16) {
    start_server_from(|| Command::new(SERVER), extra)
}

/// [`start_server`] from a command for our server already set up (its environment, say),
/// made by `command` (again, if the port was taken meanwhile).
pub fn start_server_from(command: impl Fn() -> Command, extra: &[&str]) -> (Proc, u16) {
    // The port may be taken between the probe and the server's bind: try another.
    let mut tries = 0;
    loop {
        let port = free_port();
        let mut attempt = command();
        attempt
            .args(["127.0.0.1", &port.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let mut server = Proc::spawn(attempt);
        match server.wait_for_line("Server ready on ") {
            Some(line) => return (server, ready_port(&line)),
            None if tries < 3 && server.stderr_seen.iter().any(|l| l.contains("in use")) => {
                tries += 1;
            }
            None => panic!("server ended early: {:?}", server.stderr_seen),
        }
    }
}

/// A listener on 127.0.0.1 and a free port below 32768: the ephemeral range above it is
/// busy with the machine's own outgoing connections, so peers the tests start stay out
/// of it.
pub fn listen_local() -> TcpListener {
    use std::sync::atomic::{AtomicU16, Ordering};
    const FIRST: u16 = 20_000;
    const SPAN: u16 = 12_000;
    // Start somewhere that differs between test processes, then walk.
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = (std::process::id() as u16).wrapping_mul(7919);
    for _ in 0..SPAN {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = FIRST + seed.wrapping_add(step.wrapping_mul(13)) % SPAN;
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            return listener;
        }
    }
    panic!("no free port in {FIRST}..{}", FIRST + SPAN);
}

/// A port below 32768 that nothing listened on a moment ago.
pub fn free_port() -> u16 {
    listen_local().local_addr().unwrap().port()
}

/// What a finished process wrote.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Run `command` to its end with `input` on stdin (then closed), killing it after
/// [`PATIENCE`].
pub fn run(mut command: Command, input: &[u8]) -> Finished {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let stdout = reader(child.stdout.take().unwrap());
    let stderr = reader(child.stderr.take().unwrap());
    let mut proc = Proc {
        child,
        stderr: mpsc::channel().1,
        stderr_seen: Vec::new(),
    };
    let status = proc.wait();
    Finished {
        status,
        stdout: stdout.recv_timeout(PATIENCE).unwrap(),
        stderr: String::from_utf8_lossy(&stderr.recv_timeout(PATIENCE).unwrap()).into_owned(),
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut all = Vec::new();
        let _ = pipe.read_to_end(&mut all);
        let _ = tx.send(all);
    });
    rx
}

/// A raw TCP client that checks exact bytes.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub fn connect(port: u16) -> Self {
        Self::over(TcpStream::connect(("127.0.0.1", port)).unwrap())
    }

    /// Connect to 127.0.0.1 `port` from the loopback address `source` (any of
    /// 127.0.0.0/8 is this machine's).
    pub fn connect_from(source: std::net::Ipv4Addr, port: u16) -> Self {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket
            .bind(&std::net::SocketAddr::from((source, 0)).into())
            .unwrap();
        let target = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        socket.connect_timeout(&target.into(), PATIENCE).unwrap();
        Self::over(socket.into())
    }

    fn over(stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Read for up to `within`; false once the peer has closed.
    fn read_some(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut chunk = [0; 4096];
        while Instant::now() < deadline {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => panic!("read failed: {error}"),
            }
        }
        true
    }

    /// The next bytes must be exactly `expected`.
    pub fn expect(&mut self, expected: &[u8]) {
        let deadline = Instant::now() + PATIENCE;
        while self.buf.len() < expected.len() && Instant::now() < deadline {
            if !self.read_some(Duration::from_millis(200)) {
                break;
            }
        }
        let got = &self.buf[..self.buf.len().min(expected.len())];
        assert_eq!(
            show(got),
            show(expected),
            "unexpected bytes (buffered: {})",
            show(&self.buf)
        );
        self.buf.drain(..expected.len());
    }

    /// Nothing more arrives for `quiet`.
    pub fn expect_silence(&mut self, quiet: Duration) {
        let open = self.read_some(quiet);
        assert!(self.buf.is_empty(), "unexpected bytes: {}", show(&self.buf));
        assert!(open, "the server closed the connection");
    }

    /// The next `n` bytes, whatever they are; panics if the peer closes first or after
    /// [`PATIENCE`].
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + PATIENCE;
        while self.buf.len() < n {
            assert!(Instant::now() < deadline, "no {n} bytes after {PATIENCE:?}");
            assert!(
                self.read_some(Duration::from_millis(200)),
                "closed before {n} bytes; got {}",
                show(&self.buf)
            );
        }
        self.buf.drain(..n).collect()
    }

    /// Bytes up to and including the first `needle`; panics if the peer closes first or
    /// after [`PATIENCE`].
    pub fn read_until(&mut self, needle: &[u8]) -> Vec<u8> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(at) = self.buf.windows(needle.len()).position(|w| w == needle) {
                return self.buf.drain(..at + needle.len()).collect();
            }
            assert!(
                Instant::now() < deadline,
                "no {} after {PATIENCE:?}; got {}",
                show(needle),
                show(&self.buf)
            );
            assert!(
                self.read_some(Duration::from_millis(200)),
                "closed before {}; got {}",
                show(needle),
                show(&self.buf)
            );
        }
    }

    /// The server closes the connection with nothing more sent.
    pub fn expect_close(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        while self.read_some(Duration::from_millis(200)) {
            assert!(Instant::now() < deadline, "the server did not close");
        }
        assert!(self.buf.is_empty(), "unexpected bytes: {}", show(&self.buf));
    }
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

pub fn require(program: &str, package: &str) {
    assert!(
        Path::new(program).exists(),
        "{program} is needed: run scripts/test.sh, or apt-get install {package}"
    );
}

/// A tmux server of its own, killed when the test ends.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(command: &str) -> Self {
        require("/usr/bin/tmux", "tmux");
        let socket = format!("telnetlib3-test-{}-{}", std::process::id(), free_port());
        let tmux = Self { socket };
        let status = tmux
            .command()
            .args([
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "120",
                "-y",
                "40",
                command,
            ])
            .status()
            .unwrap();
        assert!(status.success(), "tmux did not start");
        // Keep the screen readable after the program exits.
        let status = tmux
            .command()
            .args(["set-option", "-t", "t", "remain-on-exit", "on"])
            .status()
            .unwrap();
        assert!(status.success());
        tmux
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        // No user configuration: the same terminal everywhere.
        command
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .stdin(Stdio::null());
        command
    }

    pub fn send_line(&self, text: &str) {
        let status = self
            .command()
            .args(["send-keys", "-t", "t", text, "Enter"])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-t", "t", "-p", "-J"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Press `keys` as tmux names them (`C-]`, `Enter`, ...), or type literal text.
    pub fn send_keys(&self, keys: &[&str]) {
        let status = self
            .command()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Resize the window (the program in it gets SIGWINCH).
    pub fn resize(&self, cols: u16, rows: u16) {
        let status = self
            .command()
            .args([
                "resize-window",
                "-t",
                "t",
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The pane's size as (columns, rows).
    pub fn pane_size(&self) -> (u16, u16) {
        let out = self
            .command()
            .args([
                "display-message",
                "-p",
                "-t",
                "t",
                "#{pane_width} #{pane_height}",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut numbers = text.split_whitespace().map(|n| n.parse().unwrap());
        (numbers.next().unwrap(), numbers.next().unwrap())
    }

    /// Wait until a line of the screen is `line` (surrounding blanks aside); returns the
    /// screen a moment later, once what follows the line has been drawn too.
    pub fn wait_for_line(&self, line: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if screen.lines().any(|l| l.trim() == line) {
                std::thread::sleep(Duration::from_millis(300));
                return self.screen();
            }
            assert!(
                Instant::now() < deadline,
                "no line {line:?} on the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until a line of the screen is a POSIX shell's prompt alone (`$`, or `#` for
    /// root): the program runs.
    pub fn wait_for_shell_prompt(&self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if screen.lines().any(|line| matches!(line.trim(), "$" | "#")) {
                return;
            }
            assert!(Instant::now() < deadline, "no prompt:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Type `echo hx`, Backspace, `i`, Enter at a shell: the command line shows once as
    /// `echo hi` (the x erased on the screen and in the line read), its output `hi` once.
    /// Returns the screen.
    pub fn type_with_backspace(&self) -> String {
        self.send_keys(&["echo hx"]);
        self.send_keys(&["BSpace"]);
        self.send_keys(&["i", "Enter"]);
        let screen = self.wait_for_line("hi");
        assert_eq!(
            count_lines(&screen, |l| l.ends_with(" echo hi")),
            1,
            "{screen}"
        );
        assert_eq!(count_lines(&screen, |l| l == "hi"), 1, "{screen}");
        assert!(!screen.contains("hx"), "{screen}");
        screen
    }

    /// Wait until the screen shows `text`; returns the screen.
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{text:?} never appeared:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
    }
}
