//! `telnetlib3-bench`: the same work on 127.0.0.1 with this library at both ends, a plain
//! tokio socket pump with no Telnet logic (the anchor), and Python telnetlib3 5.0.1,
//! printed as a table of medians, min-max, ratios to the pump, and the goals of issue 7.
//!
//! `--quick` runs every case once with small sizes: a smoke run that checks it works.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use telnetlib3::proto::TelnetOption;
use telnetlib3::text::{Encoding, ErrorMode};
use telnetlib3::tls::{rustls, TlsClient, TlsServer};
use telnetlib3::{
    create_server, open_connection, ClientConfig, Server, ServerConfig, TelnetWriter, TextReader,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;
use tokio::time::timeout;
use tokio_rustls::{TlsAcceptor, TlsConnector};

mod expect;
mod mccp;
mod observe;
mod scaling;

/// The Python side, written to a temporary directory at run time.
const PYTHON_SCRIPT: &str = include_str!("../python/bench.py");
const BLOCK: usize = 64 * 1024;
const END: &[u8] = b"#END#\r\n";
const GREETING: &[u8] = b"hello\r\n";
const IN_FLIGHT: usize = 50;
const HOST: &str = "127.0.0.1";

#[derive(Parser, Debug)]
#[command(
    name = "telnetlib3-bench",
    about = "Benchmark this library against a plain tokio pump and Python telnetlib3 5.0.1"
)]
struct Args {
    /// Run every case once with small sizes (a smoke test; the figures mean nothing).
    #[arg(long)]
    quick: bool,
    /// Runs per case (at least 5 unless --quick).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The Python with telnetlib3 5.0.1 (default: $TELNETLIB3_PYTHON, then the
    /// workspace's .venv/bin/python, then /tmp/tl3venv/bin/python).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Run only the cases whose name contains one of these (comma-separated; default: all).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    #[command(subcommand)]
    child: Option<ChildCommand>,
}

#[derive(Subcommand, Debug)]
enum ChildCommand {
    /// Internal: a server whose connections greet and stay open until the client closes.
    #[command(hide = true)]
    IdleServer {
        /// A plain tokio server instead of the library's.
        #[arg(long)]
        pump: bool,
        /// Over TLS, with the certificate and key in this directory (see `Tls`).
        #[arg(long)]
        tls: Option<PathBuf>,
        /// MCCP2 offered (alone, as most MUD servers do): `release` frees the compressor
        /// of an idle connection (the default), `keep` keeps one stream.
        #[arg(long)]
        compression: Option<String>,
        /// Case 17: `metrics` counts in a ServerMetrics, `record=DIR` records every
        /// session in DIR.
        #[arg(long)]
        observe: Option<String>,
    },
    /// Internal: the greeting server behind HAProxy (case 17): SO_REUSEPORT on `port`
    /// (0: any), PROXY headers from 127.0.0.1.
    #[command(hide = true)]
    ProxiedServer {
        #[arg(long)]
        port: u16,
    },
    /// Internal: case 16's output server (`go SIZE`), in a process of its own so that
    /// every client, ours and Python's, reads from a server outside its process.
    #[command(hide = true)]
    ExpectServer,
    /// Internal: one bulk transfer of ours, in this process only (for profilers).
    #[command(hide = true)]
    Profile {
        /// `s2c`, `s2c-iac`, `s2c-lines`, `s2c-lines-drained`, `c2s`, `c2s-iac`, `c2s-line`,
        /// `c2s-iac-line`, `text`, `dump` (case 13: the debug shell's `dump`, server and
        /// client both in this process), `tls-s2c`, `tls-s2c-pump` (case 14: our TLS
        /// server or the tokio-rustls pump, read by the tokio-rustls reader),
        /// `s2c-read-line` (case 1's data, 64-byte lines, read with `read_line`),
        /// `expect`, `expect-main`, `expect-blocking`, `expect-telnetlib` (case 16: one
        /// expect after MiB of output from the child output server, the client in this
        /// process; `expect` as a task, `expect-main` on the main thread's `block_on`).
        /// The `s2c` cases with `-record` appended record the session (case 18).
        case: String,
        /// MiB moved.
        #[arg(long, default_value_t = 256)]
        mib: usize,
    },
}

/// How big each case is.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    runs: usize,
    bulk: usize,
    python_bulk: usize,
    connections: usize,
    python_connections: usize,
    latency: usize,
    python_latency: usize,
    idle: usize,
    idle_many: usize,
    python_timeout: Duration,
}

impl Sizes {
    fn new(quick: bool, runs: usize) -> Self {
        if quick {
            Self {
                runs: 1,
                bulk: 1 << 20,
                python_bulk: 256 << 10,
                connections: 100,
                python_connections: 100,
                latency: 20,
                python_latency: 20,
                idle: 50,
                idle_many: 200,
                python_timeout: Duration::from_secs(30),
            }
        } else {
            Self {
                runs: runs.max(5),
                bulk: 64 << 20,
                python_bulk: 4 << 20,
                connections: 5000,
                python_connections: 1000,
                latency: 1000,
                python_latency: 300,
                idle: 1000,
                idle_many: 10_000,
                python_timeout: Duration::from_secs(300),
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    Pump,
    Ours,
    Python,
    /// zlib-rs compressing in memory (the MCCP cases' anchor).
    Zlib,
    /// Our blocking client (`blocking::TelnetConnection`).
    OursBlocking,
    /// Our port of the stdlib's `Telnet` (`telnetlib::Telnet`).
    OursTelnetlib,
    /// Python 3.11's stdlib `telnetlib`.
    PythonStdlib,
}

impl Impl {
    const fn name(self) -> &'static str {
        match self {
            Self::Pump => "tokio pump",
            Self::Ours => "telnetlib3-rs",
            Self::Python => "Python telnetlib3 5.0.1",
            Self::Zlib => "zlib-rs in memory",
            Self::OursBlocking => "telnetlib3-rs blocking",
            Self::OursTelnetlib => "telnetlib3-rs telnetlib::Telnet",
            Self::PythonStdlib => "Python 3.11 stdlib telnetlib",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ServerToClient,
    ClientToServer,
}

/// What a bulk case moves and how the ends are set up.
#[derive(Debug, Clone, Copy)]
struct Bulk {
    direction: Direction,
    /// The server keeps the client in NVT line mode (no WILL ECHO / WILL SGA), so no SLC
    /// recognition runs on its input; otherwise it is in kludge mode and does.
    line_mode: bool,
    /// The client reads with the UTF-8 text API instead of the bytes API (s2c only).
    text: bool,
    /// How the sending shell writes the data (s2c only).
    pieces: Pieces,
}

/// How a bulk case's sender hands its data to the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pieces {
    /// One `write` per 64 KiB block.
    Blocks,
    /// One `write` per 84-byte line (the debug shell's `dump` line), no `drain`.
    Lines,
    /// `write(line)` then `drain()` per 84-byte line: the idiom ported from asyncio.
    LinesDrained,
}

/// The length of the debug shell's `dump` line: 80 slashes and `ESC [1G`.
const LINE: usize = 84;

/// A bulk case: its name, set-up, data, implementations and goal.
type BulkCase<'a> = (
    &'static str,
    Bulk,
    &'a Arc<Vec<u8>>,
    &'a [Impl],
    Option<Goal>,
);

/// What issue 7 asks of our figure in a case.
#[derive(Debug, Clone, Copy)]
enum Goal {
    /// At least this fraction of the pump's median.
    OfPump(f64),
    /// At least this.
    AtLeast(f64),
    /// At most this.
    AtMost(f64),
}

impl Goal {
    fn describe(self) -> String {
        match self {
            Self::OfPump(f) => format!(">= {f:.2}x pump"),
            Self::AtLeast(v) => format!(">= {}", figure(v)),
            Self::AtMost(v) => format!("<= {}", figure(v)),
        }
    }

    fn met(self, median: f64, pump: Option<f64>) -> Option<bool> {
        match self {
            Self::OfPump(f) => pump.map(|p| median >= f * p),
            Self::AtLeast(v) => Some(median >= v),
            Self::AtMost(v) => Some(median <= v),
        }
    }
}

/// One line of the table.
#[derive(Debug)]
struct Row {
    case: &'static str,
    unit: &'static str,
    imp: Impl,
    /// Set on the line whose figure the goal is about (ours, or a ratio of ours).
    goal: Option<Goal>,
    outcome: Result<Vec<f64>, String>,
}

/// What the bulk cases send: 64 KiB repeated.
fn ascii_block() -> Vec<u8> {
    let line: Vec<u8> = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789"
        .iter()
        .copied()
        .take(62)
        .chain(*b"\r\n")
        .collect();
    line.iter().copied().cycle().take(BLOCK).collect()
}

/// The debug shell's `dump` lines (80 slashes or backslashes, then `ESC [1G`), as many
/// whole ones as fit in 64 KiB.
fn dump_block() -> Vec<u8> {
    let mut block = Vec::with_capacity(BLOCK);
    for glyph in [b'/', b'\\'].iter().cycle().take(BLOCK / LINE) {
        block.extend(std::iter::repeat_n(*glyph, LINE - 4));
        block.extend_from_slice(b"\x1b[1G");
    }
    block
}

/// Pseudo-random bytes (xorshift) where every 10th byte is 0xFF (IAC) and no other is;
/// no CR either, so no end-of-line rule applies whether or not BINARY is agreed.
fn iac_block() -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..BLOCK)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let byte = (state >> 24) as u8;
            match (i % 10, byte) {
                (9, _) => 0xFF,
                (_, 0xFF) => 0xFE,
                (_, b'\r') => b'\n',
                (_, b) => b,
            }
        })
        .collect()
}

/// 64 KiB of UTF-8 text, whole characters only (Latin, Greek, CJK and an emoji among
/// ASCII: 1 to 4 bytes a character), lines ended with CR LF, padded with ASCII.
fn utf8_block() -> Vec<u8> {
    let line = "Grüße, Καλημέρα, 日本語のテキスト, naïve café 🙂 plain ASCII words here\r\n";
    let mut block = Vec::with_capacity(BLOCK);
    while block.len() + line.len() <= BLOCK {
        block.extend_from_slice(line.as_bytes());
    }
    block.resize(BLOCK, b'.');
    block
}

fn median_min_max(samples: &[f64]) -> (f64, f64, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    (median, sorted[0], sorted[n - 1])
}

/// The `q` quantile (0..=1) of `values`, nearest rank.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn local_server_config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.host = HOST.into();
    config.port = 0;
    config
}

fn port_of(server: &Server) -> u16 {
    server.local_addrs()[0].port()
}

async fn wait_for_binary(writer: &TelnetWriter) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !writer.with_session(|s| {
        s.local_enabled(TelnetOption::Binary) && s.remote_enabled(TelnetOption::Binary)
    }) && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn mb_per_s(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64() / 1e6
}

// ---------------------------------------------------------------- bulk transfer

/// The server of our bulk cases: sends `total` bytes after a go byte (s2c), or reads
/// `total` and answers the end mark (c2s).
async fn bulk_server_ours(setup: Bulk, block: Arc<Vec<u8>>, total: usize) -> Result<Server> {
    bulk_server_with(local_server_config(), setup, block, total, false).await
}

/// [`bulk_server_ours`] with `config` (TLS, for case 14); `greet`: the shell writes
/// [`GREETING`] first, so that a raw client knows the shell has started.
async fn bulk_server_with(
    mut config: ServerConfig,
    setup: Bulk,
    block: Arc<Vec<u8>>,
    total: usize,
    greet: bool,
) -> Result<Server> {
    config.connect_maxwait = Duration::from_millis(500);
    config.plan.line_mode = setup.line_mode;
    let server = create_server(config, move |mut reader, mut writer| {
        let block = Arc::clone(&block);
        async move {
            if greet && (writer.write(GREETING).await.is_err() || writer.drain().await.is_err()) {
                return;
            }
            if setup.direction == Direction::ServerToClient {
                if !matches!(reader.read(1).await, Ok(go) if !go.is_empty()) {
                    return;
                }
                let mut sent = 0;
                while sent < total {
                    if write_block(&mut writer, &block, setup.pieces)
                        .await
                        .is_err()
                    {
                        return;
                    }
                    sent += block.len();
                }
                let _ = writer.drain().await;
            } else {
                let mut got = 0;
                while got < total {
                    match reader.read(BLOCK).await {
                        Ok(data) if !data.is_empty() => got += data.len(),
                        _ => return,
                    }
                }
                let _ = writer.write(END).await;
                let _ = writer.drain().await;
            }
            // Leave closing to the client, so no unread input turns our close into a reset.
            while matches!(reader.read(BLOCK).await, Ok(data) if !data.is_empty()) {}
        }
    })
    .await?;
    Ok(server)
}

/// Write `block` the way `pieces` says.
async fn write_block(
    writer: &mut TelnetWriter,
    block: &[u8],
    pieces: Pieces,
) -> Result<(), telnetlib3::Error> {
    match pieces {
        Pieces::Blocks => writer.write(block).await,
        Pieces::Lines => {
            for line in block.chunks(LINE) {
                writer.write(line).await?;
            }
            Ok(())
        }
        Pieces::LinesDrained => {
            for line in block.chunks(LINE) {
                writer.write(line).await?;
                writer.drain().await?;
            }
            Ok(())
        }
    }
}

/// One transfer of `total` bytes against our server on `port`; its duration.
async fn bulk_once_ours(
    port: u16,
    setup: Bulk,
    block: &Arc<Vec<u8>>,
    total: usize,
) -> Result<Duration> {
    let mut client = ClientConfig::default();
    client.connect_maxwait = Duration::from_secs(1);
    let (mut reader, mut writer) = open_connection(HOST, port, client).await?;
    wait_for_binary(&writer).await;
    let elapsed = if setup.direction == Direction::ServerToClient {
        let start = Instant::now();
        writer.write(b"g").await?;
        let mut got = 0;
        if setup.text {
            let utf8 = Encoding::from_name("utf8")?;
            let mut text = TextReader::new(reader, utf8, ErrorMode::Strict);
            while got < total {
                let data = text.read(BLOCK).await?;
                if data.is_empty() {
                    bail!("our server closed after {got} of {total} bytes");
                }
                got += data.len();
            }
        } else {
            while got < total {
                let data = reader.read(BLOCK).await?;
                if data.is_empty() {
                    bail!("our server closed after {got} of {total} bytes");
                }
                got += data.len();
            }
        }
        start.elapsed()
    } else {
        let start = Instant::now();
        let until_end = tokio::spawn(async move {
            let mut tail = Vec::new();
            loop {
                let data = reader.read(BLOCK).await?;
                if data.is_empty() {
                    bail!("our server closed before the end mark");
                }
                tail.extend_from_slice(&data);
                if tail.windows(END.len()).any(|w| w == END) {
                    return Ok(());
                }
                let keep = tail.len().saturating_sub(END.len());
                tail.drain(..keep);
            }
        });
        let mut sent = 0;
        while sent < total {
            writer.write(block).await?;
            sent += block.len();
        }
        writer.drain().await?;
        until_end.await??;
        start.elapsed()
    };
    writer.close().await;
    Ok(elapsed)
}

/// One s2c transfer of `total` bytes of CR LF lines of `line` bytes from our bulk server
/// on `port`, read with `read_line`; its duration. Lines are counted, not bytes: a CR LF
/// split between two reads comes as a line ending in CR, its LF dropped.
async fn read_lines_once_ours(port: u16, total: usize, line: usize) -> Result<Duration> {
    let mut client = ClientConfig::default();
    client.connect_maxwait = Duration::from_secs(1);
    let (mut reader, mut writer) = open_connection(HOST, port, client).await?;
    wait_for_binary(&writer).await;
    let start = Instant::now();
    writer.write(b"g").await?;
    let lines = total / line;
    for got in 0..lines {
        if reader.read_line().await?.is_empty() {
            bail!("our server closed after {got} of {lines} lines");
        }
    }
    let elapsed = start.elapsed();
    writer.close().await;
    Ok(elapsed)
}

async fn bulk_ours(
    setup: Bulk,
    block: Arc<Vec<u8>>,
    total: usize,
    runs: usize,
) -> Result<Vec<f64>> {
    let server = bulk_server_ours(setup, Arc::clone(&block), total).await?;
    let port = port_of(&server);
    let mut samples = Vec::new();
    for _ in 0..runs {
        let elapsed = bulk_once_ours(port, setup, &block, total).await?;
        samples.push(mb_per_s(total, elapsed));
    }
    server.close();
    Ok(samples)
}
async fn bulk_pump(
    direction: Direction,
    block: Arc<Vec<u8>>,
    total: usize,
    runs: usize,
) -> Result<Vec<f64>> {
    let listener = TcpListener::bind((HOST, 0)).await?;
    let port = listener.local_addr()?.port();
    let shell_block = Arc::clone(&block);
    let acceptor = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let block = Arc::clone(&shell_block);
            tokio::spawn(async move {
                let _ = socket.set_nodelay(true);
                let mut buf = vec![0u8; BLOCK];
                if direction == Direction::ServerToClient {
                    if !matches!(socket.read(&mut buf[..1]).await, Ok(1)) {
                        return;
                    }
                    let mut sent = 0;
                    while sent < total {
                        if socket.write_all(&block).await.is_err() {
                            return;
                        }
                        sent += block.len();
                    }
                } else {
                    let mut got = 0;
                    while got < total {
                        match socket.read(&mut buf).await {
                            Ok(n) if n > 0 => got += n,
                            _ => return,
                        }
                    }
                    let _ = socket.write_all(END).await;
                }
                while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    let mut samples = Vec::new();
    for _ in 0..runs {
        let socket = TcpStream::connect((HOST, port)).await?;
        socket.set_nodelay(true)?;
        let (mut rd, mut wr) = socket.into_split();
        let mut buf = vec![0u8; BLOCK];
        let elapsed = if direction == Direction::ServerToClient {
            let start = Instant::now();
            wr.write_all(b"g").await?;
            let mut got = 0;
            while got < total {
                let n = rd.read(&mut buf).await?;
                if n == 0 {
                    bail!("pump server closed after {got} of {total} bytes");
                }
                got += n;
            }
            start.elapsed()
        } else {
            let start = Instant::now();
            let until_end = tokio::spawn(async move {
                let mut got = Vec::new();
                while !got.ends_with(END) {
                    let n = rd.read(&mut buf).await?;
                    if n == 0 {
                        bail!("pump server closed before the end mark");
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                Ok(())
            });
            let mut sent = 0;
            while sent < total {
                wr.write_all(&block).await?;
                sent += block.len();
            }
            until_end.await??;
            start.elapsed()
        };
        drop(wr);
        samples.push(mb_per_s(total, elapsed));
    }
    acceptor.abort();
    Ok(samples)
}

async fn bulk_python(
    python: &Python,
    setup: Bulk,
    block: &[u8],
    total: usize,
    sizes: Sizes,
    tls: Option<&Tls>,
) -> Result<Vec<f64>> {
    bulk_python_with(python, setup, block, total, sizes, tls, false).await
}

/// [`bulk_python`]; `compression`: the server runs with `compression=True` (MCCP2 and
/// MCCP3 offered), and every run must have had MCCP2 on.
async fn bulk_python_with(
    python: &Python,
    setup: Bulk,
    block: &[u8],
    total: usize,
    sizes: Sizes,
    tls: Option<&Tls>,
    compression: bool,
) -> Result<Vec<f64>> {
    let block_file = python
        .dir
        .join(format!("block-{}-{}.bin", block[9], block[1]));
    std::fs::write(&block_file, block)?;
    let mut command = Command::new(&python.exe);
    command
        .arg(&python.script)
        .arg("bulk")
        .arg(match setup.direction {
            Direction::ServerToClient => "s2c",
            Direction::ClientToServer => "c2s",
        })
        .arg(&block_file)
        .arg(total.to_string())
        .arg(sizes.runs.to_string());
    if setup.line_mode {
        command.arg("--line-mode");
    }
    if setup.text {
        command.arg("--text");
    }
    match setup.pieces {
        Pieces::Blocks => {}
        Pieces::Lines => {
            command.arg("--lines");
        }
        Pieces::LinesDrained => {
            command.arg("--lines-drained");
        }
    }
    if compression {
        command.arg("--compression");
    }
    if let Some(tls) = tls {
        command
            .arg("--tls")
            .arg(tls.cert())
            .arg(tls.key())
            .arg(tls.ca());
    }
    command.stdin(Stdio::null()).kill_on_drop(true);
    let output = timeout(sizes.python_timeout, command.output())
        .await
        .map_err(|_| anyhow!("Python took longer than {:?}", sizes.python_timeout))??;
    let samples = python_elapsed(&output, sizes.runs, |secs| total as f64 / secs / 1e6)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if compression && stdout.lines().filter(|l| *l == "mccp2=True").count() != sizes.runs {
        bail!("MCCP2 was not on in every Python run: {stdout}");
    }
    Ok(samples)
}

/// The `elapsed=SECONDS` lines a successful Python run printed, each mapped to a figure
/// by `figure`; an error names Python's last line of stderr, or the runs missing.
pub(crate) fn python_elapsed(
    output: &std::process::Output,
    runs: usize,
    figure: impl Fn(f64) -> f64,
) -> Result<Vec<f64>> {
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        bail!(
            "Python failed ({}): {}",
            output.status,
            last.unwrap_or("").trim()
        );
    }
    let samples: Vec<f64> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("elapsed="))
        .map(|secs| secs.trim().parse::<f64>().map(&figure))
        .collect::<Result<_, _>>()?;
    if samples.len() != runs {
        bail!("Python reported {} of {runs} runs", samples.len());
    }
    Ok(samples)
}

// ---------------------------------------------------------------- the debug shell's dump

/// Read from `reader` until `mark` has come; returns how many bytes came.
async fn read_through(reader: &mut telnetlib3::TelnetReader, mark: &[u8]) -> Result<usize> {
    let last = *mark.last().expect("a mark");
    let mut tail: Vec<u8> = Vec::new();
    let mut got = 0;
    loop {
        let data = reader.read(BLOCK).await?;
        if data.is_empty() {
            bail!("the server closed after {got} bytes, before {mark:?}");
        }
        got += data.len();
        // The mark's last byte is rare in the dump: look for the mark only where it is.
        if data.contains(&last) || tail.len() > 4 * mark.len() {
            tail.extend_from_slice(&data[data.len().saturating_sub(4 * mark.len())..]);
            if tail.windows(mark.len()).any(|w| w == mark) {
                return Ok(got);
            }
            let keep = tail.len().saturating_sub(mark.len());
            tail.drain(..keep);
        }
    }
}

/// Our debug shell's `dump <kb>` with the default arguments, read by our client; MB/s
/// per run, from sending the command to the end of its `OK` line.
async fn dump_ours(kb: usize, runs: usize) -> Result<Vec<f64>> {
    let server = create_server(local_server_config(), |reader, writer| async move {
        let _ = telnetlib3_cli::shell::debug_shell(reader, writer).await;
    })
    .await?;
    let port = port_of(&server);
    let mut samples = Vec::new();
    for _ in 0..runs {
        let mut client = ClientConfig::default();
        client.connect_maxwait = Duration::from_secs(1);
        let (mut reader, mut writer) = open_connection(HOST, port, client).await?;
        read_through(&mut reader, telnetlib3_cli::shell::PROMPT).await?;
        let start = Instant::now();
        writer.write(format!("dump {kb}\r\n").as_bytes()).await?;
        let got = read_through(&mut reader, format!("{kb} OK").as_bytes()).await?;
        samples.push(mb_per_s(got, start.elapsed()));
        writer.close().await;
    }
    server.close();
    Ok(samples)
}

/// Python telnetlib3's shell doing the same, read by its client, in one Python process.
async fn dump_python(python: &Python, kb: usize, sizes: Sizes) -> Result<Vec<f64>> {
    let mut command = python.command("dump");
    command
        .arg(kb.to_string())
        .arg(sizes.runs.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = timeout(sizes.python_timeout, command.output())
        .await
        .map_err(|_| anyhow!("Python took longer than {:?}", sizes.python_timeout))??;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        bail!(
            "Python failed ({}): {}",
            output.status,
            last.unwrap_or("").trim()
        );
    }
    let samples: Vec<f64> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("mbps="))
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()?;
    if samples.len() != sizes.runs {
        bail!("Python reported {} of {} runs", samples.len(), sizes.runs);
    }
    Ok(samples)
}

// ---------------------------------------------------------------- connections

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const WILL: u8 = 251;
const WONT: u8 = 252;
const DO: u8 = 253;
const DONT: u8 = 254;

/// Connect with a raw tokio socket that refuses every option at once (WONT for DO, DONT
/// for WILL), read up to the end of the greeting line, and close.
async fn greet_refusing(port: u16) -> Result<()> {
    #[derive(Clone, Copy)]
    enum State {
        Data,
        Iac,
        Verb(u8),
        Sub,
        SubIac,
    }
    let mut socket = TcpStream::connect((HOST, port)).await?;
    socket.set_nodelay(true)?;
    let mut buf = [0u8; 4096];
    let mut state = State::Data;
    loop {
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            bail!("closed before the greeting");
        }
        let mut reply = Vec::new();
        let mut greeted = false;
        for &byte in &buf[..n] {
            state = match (state, byte) {
                (State::Data, IAC) => State::Iac,
                (State::Data, b'\n') => {
                    greeted = true;
                    State::Data
                }
                (State::Iac, WILL | WONT | DO | DONT) => State::Verb(byte),
                (State::Iac, SB) => State::Sub,
                (State::Verb(verb), option) => {
                    match verb {
                        DO => reply.extend_from_slice(&[IAC, WONT, option]),
                        WILL => reply.extend_from_slice(&[IAC, DONT, option]),
                        _ => {}
                    }
                    State::Data
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, _) | (State::SubIac, IAC) => State::Sub,
                (State::SubIac, SE) | (State::Data | State::Iac | State::SubIac, _) => State::Data,
            };
        }
        if !reply.is_empty() {
            socket.write_all(&reply).await?;
        }
        if greeted {
            return Ok(());
        }
    }
}

/// Connect with our client (full negotiation), read the greeting line, close.
async fn greet_ours(port: u16) -> Result<()> {
    let (mut reader, mut writer) = open_connection(HOST, port, ClientConfig::default()).await?;
    let line = reader.read_line().await?;
    if !line.ends_with(b"\n") {
        bail!("no greeting");
    }
    writer.close().await;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// A raw socket that refuses every option (minimal negotiation).
    Refusing,
    /// Our client (full negotiation).
    Ours,
    /// A tokio-rustls client: the TLS handshake, the first bytes, close (case 14).
    Tls,
}

/// What a batch of connections to a child server measured.
#[derive(Debug)]
struct Batch {
    /// Connections per second.
    rate: f64,
    /// Connect-to-greeting time of each connection, in ms.
    latencies_ms: Vec<f64>,
    /// The server process's CPU time per connection, in us.
    cpu_us: f64,
}

/// `total` connections to `server`, `in_flight` at a time, each timed from the start of
/// its connect to the end of the greeting line.
async fn connection_batch(
    server: &ChildServer,
    client: Client,
    total: usize,
    in_flight: usize,
) -> Result<Batch> {
    let port = server.port;
    let cpu_before = server.cpu_ns()?;
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let began = Instant::now();
                    let attempt = async {
                        match client {
                            Client::Refusing => greet_refusing(port).await,
                            Client::Ours => greet_ours(port).await,
                            Client::Tls => handshake_tls(port).await,
                        }
                    };
                    timeout(Duration::from_secs(10), attempt)
                        .await
                        .map_err(|_| anyhow!("a connection took over 10 s"))??;
                    latencies.push(began.elapsed().as_secs_f64() * 1e3);
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies_ms = Vec::with_capacity(total);
    for worker in workers {
        latencies_ms.extend(worker.await??);
    }
    let rate = total as f64 / start.elapsed().as_secs_f64();
    // The server's last closes finish after our side returned: let them be counted.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let cpu_us = (server.cpu_ns()? - cpu_before) as f64 / 1e3 / total as f64;
    Ok(Batch {
        rate,
        latencies_ms,
        cpu_us,
    })
}

/// The child greeting server of `imp`, over TLS with `tls`.
async fn greeting_child(
    imp: Impl,
    python: Option<&Python>,
    tls: Option<&Tls>,
) -> Result<ChildServer> {
    let command = match imp {
        Impl::Python => {
            let mut command = python
                .context("skipped: no Python")?
                .command("greet-server");
            if let Some(tls) = tls {
                command.arg(tls.cert()).arg(tls.key());
            }
            command
        }
        Impl::Zlib | Impl::OursBlocking | Impl::OursTelnetlib | Impl::PythonStdlib => {
            bail!("skipped: no server")
        }
        Impl::Ours | Impl::Pump => {
            let mut command = Command::new(std::env::current_exe()?);
            command.arg("idle-server");
            if imp == Impl::Pump {
                command.arg("--pump");
            }
            if let Some(tls) = tls {
                command.arg("--tls").arg(&tls.dir);
            }
            command
        }
    };
    ChildServer::start(command).await
}

/// Per run: the rate, the p99 latency and the server CPU per connection of a batch with
/// `IN_FLIGHT` connections in flight.
#[derive(Debug, Default)]
struct Loaded {
    rate: Vec<f64>,
    p99_ms: Vec<f64>,
    cpu_us: Vec<f64>,
}

async fn loaded_case(
    imp: Impl,
    client: Client,
    python: Option<&Python>,
    tls: Option<&Tls>,
    sizes: Sizes,
) -> Result<Loaded> {
    let server = greeting_child(imp, python, tls).await?;
    let total = if imp == Impl::Python {
        sizes.python_connections
    } else {
        sizes.connections
    };
    // One batch to warm up (first allocations, thread start-up), not counted.
    connection_batch(&server, client, total.min(200), IN_FLIGHT).await?;
    let mut loaded = Loaded::default();
    for _ in 0..sizes.runs {
        let mut batch = connection_batch(&server, client, total, IN_FLIGHT).await?;
        loaded.rate.push(batch.rate);
        loaded.p99_ms.push(quantile(&mut batch.latencies_ms, 0.99));
        loaded.cpu_us.push(batch.cpu_us);
    }
    server.stop().await;
    Ok(loaded)
}

/// Per run: the median connect-to-greeting latency with one connection at a time.
async fn latency_case(
    imp: Impl,
    client: Client,
    python: Option<&Python>,
    sizes: Sizes,
) -> Result<Vec<f64>> {
    let server = greeting_child(imp, python, None).await?;
    let total = if imp == Impl::Python {
        sizes.python_latency
    } else {
        sizes.latency
    };
    connection_batch(&server, client, total.min(50), 1).await?;
    let mut samples = Vec::new();
    for _ in 0..sizes.runs {
        let mut batch = connection_batch(&server, client, total, 1).await?;
        samples.push(quantile(&mut batch.latencies_ms, 0.5));
    }
    server.stop().await;
    Ok(samples)
}

async fn greeting_server_pump() -> Result<(u16, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind((HOST, 0)).await?;
    let port = listener.local_addr()?.port();
    let acceptor = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = socket.set_nodelay(true);
                if socket.write_all(GREETING).await.is_err() {
                    return;
                }
                let mut buf = [0u8; 4096];
                while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    Ok((port, acceptor))
}

/// A child server process and the port it listens on.
struct ChildServer {
    child: tokio::process::Child,
    port: u16,
}

impl ChildServer {
    async fn start(mut command: Command) -> Result<Self> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().context("starting a child server")?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = timeout(Duration::from_secs(30), lines.next_line())
            .await
            .map_err(|_| anyhow!("the child server never said its port"))??
            .context("the child server exited before saying its port")?;
        let port = line
            .strip_prefix("port=")
            .context("the child server said something else than its port")?
            .trim()
            .parse()?;
        Ok(Self { child, port })
    }

    fn pid(&self) -> Result<u32> {
        self.child.id().context("the child server has exited")
    }

    fn rss_kib(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .context("no VmRSS")?
            .parse::<f64>()
            .map_err(Into::into)
    }

    /// CPU time of all the process's threads so far, in ns (each thread's
    /// `/proc/PID/task/TID/schedstat`: nanosecond resolution, unlike `stat`'s ticks).
    fn cpu_ns(&self) -> Result<u64> {
        cpu_ns_of(&self.pid()?.to_string())
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// CPU time of each thread of process `pid` (`self` for this one) so far, in ns, by
/// thread id (each thread's `/proc/PID/task/TID/schedstat`: nanosecond resolution,
/// unlike `stat`'s ticks). A thread that ended is no longer there.
pub(crate) fn cpu_ns_by_thread(pid: &str) -> Result<std::collections::HashMap<String, u64>> {
    let mut threads = std::collections::HashMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let task = task?;
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue; // The thread ended meanwhile.
        };
        let ns = stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .context("unreadable schedstat")?;
        threads.insert(task.file_name().to_string_lossy().into_owned(), ns);
    }
    Ok(threads)
}

/// CPU time of all the threads of process `pid` so far, in ns.
pub(crate) fn cpu_ns_of(pid: &str) -> Result<u64> {
    Ok(cpu_ns_by_thread(pid)?.values().sum())
}

/// The CPU time process `pid`'s threads used between `before` and now
/// ([`cpu_ns_by_thread`]): a thread that ended meanwhile leaves out only its own share,
/// and takes nothing from the others'.
pub(crate) fn cpu_ns_since(
    pid: &str,
    before: &std::collections::HashMap<String, u64>,
) -> Result<u64> {
    Ok(cpu_ns_by_thread(pid)?
        .iter()
        .map(|(thread, ns)| ns.saturating_sub(before.get(thread).copied().unwrap_or(0)))
        .sum())
}

// ---------------------------------------------------------------- idle connections

/// Per run: server RSS per idle connection (KiB) and the seconds taken to open them.
#[derive(Debug, Default)]
struct Idle {
    rss_kib: Vec<f64>,
    open_s: Vec<f64>,
}

/// A child server, `count` connections that greet and stay open (our client with full
/// negotiation; raw sockets for the pump), `IN_FLIGHT` opening at a time.
async fn idle_case(
    imp: Impl,
    python: Option<&Python>,
    tls: Option<&Tls>,
    count: usize,
    runs: usize,
) -> Result<Idle> {
    let connector = tls.map(Tls::connector);
    let mut client = ClientConfig::default();
    client.tls = tls.map(|tls| TlsClient::new(Arc::clone(&tls.client)));
    let mut idle = Idle::default();
    for _ in 0..runs {
        let server = greeting_child(imp, python, tls).await?;
        let port = server.port;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = server.rss_kib()?;
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let workers: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let next = Arc::clone(&next);
                let connector = connector.clone();
                let client = client.clone();
                tokio::spawn(async move {
                    let mut held = Vec::new();
                    while next.fetch_add(1, Ordering::Relaxed) < count {
                        let open = async {
                            if let (Impl::Pump, Some(connector)) = (imp, &connector) {
                                let socket = TcpStream::connect((HOST, port)).await?;
                                let mut stream = connector.connect(server_name(), socket).await?;
                                let mut buf = [0u8; 64];
                                let mut got = Vec::new();
                                while !got.ends_with(b"\n") {
                                    let n = stream.read(&mut buf).await?;
                                    if n == 0 {
                                        bail!("closed before the greeting");
                                    }
                                    got.extend_from_slice(&buf[..n]);
                                }
                                anyhow::Ok(Held::Tls(Box::new(stream)))
                            } else if imp == Impl::Pump {
                                let mut socket = TcpStream::connect((HOST, port)).await?;
                                let mut buf = [0u8; 64];
                                let mut got = Vec::new();
                                while !got.ends_with(b"\n") {
                                    let n = socket.read(&mut buf).await?;
                                    if n == 0 {
                                        bail!("closed before the greeting");
                                    }
                                    got.extend_from_slice(&buf[..n]);
                                }
                                anyhow::Ok(Held::Raw(socket))
                            } else {
                                let (mut reader, writer) =
                                    open_connection(HOST, port, client.clone()).await?;
                                let line = reader.read_line().await?;
                                if !line.ends_with(b"\n") {
                                    bail!("no greeting");
                                }
                                anyhow::Ok(Held::Ours(reader, writer))
                            }
                        };
                        held.push(
                            timeout(Duration::from_secs(20), open)
                                .await
                                .map_err(|_| anyhow!("a connection took over 20 s"))??,
                        );
                    }
                    anyhow::Ok(held)
                })
            })
            .collect();
        let mut held = Vec::new();
        for worker in workers {
            held.extend(worker.await??);
        }
        idle.open_s.push(start.elapsed().as_secs_f64());
        // Let late negotiation settle and the server's buffers shrink to their idle size.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = server.rss_kib()?;
        idle.rss_kib.push((after - before) / count as f64);
        drop(held);
        server.stop().await;
    }
    Ok(idle)
}

/// An open connection held idle.
#[allow(dead_code)] // Held only to keep the sockets open.
enum Held {
    Raw(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Ours(telnetlib3::TelnetReader, TelnetWriter),
}

async fn idle_server(
    pump: bool,
    tls: Option<&Path>,
    compression: Option<&str>,
    observe: Option<&str>,
) -> Result<()> {
    if let (true, Some(dir)) = (pump, tls) {
        let (port, _acceptor) = greeting_server_tls_pump(Tls::acceptor_from(dir)?).await?;
        println!("port={port}");
        std::future::pending::<()>().await;
    } else if pump {
        let (port, _acceptor) = greeting_server_pump().await?;
        println!("port={port}");
        std::future::pending::<()>().await;
    } else {
        let mut config = observe::config(observe)?;
        config.connect_maxwait = Duration::from_secs(2);
        if let Some(dir) = tls {
            config.tls = Some(Arc::new(Tls::server_from(dir)?));
        }
        if let Some(compression) = compression {
            // Passive MCCP (accept DO MCCP2) and WILL MCCP2 offered in the opening.
            config.compression = None;
            config.plan.offers = Arc::from([TelnetOption::Mccp2]);
            if compression == "keep" {
                config.compression_idle_release = None;
            }
        }
        let server = create_server(config, greeting_shell).await?;
        println!("port={}", port_of(&server));
        std::future::pending::<()>().await;
    }
    Ok(())
}

/// The child servers' shell: the greeting line, then read until the client closes.
async fn greeting_shell(mut reader: telnetlib3::TelnetReader, mut writer: TelnetWriter) {
    let _ = writer.write(GREETING).await;
    let _ = writer.drain().await;
    while matches!(reader.read(4096).await, Ok(data) if !data.is_empty()) {}
}

/// One bulk case of ours, for `perf record` and `valgrind --tool=callgrind`.
async fn profile(case: &str, mib: usize) -> Result<()> {
    if case.starts_with("expect") {
        return expect::profile(case, mib << 20).await;
    }
    if let Some(imp) = match case {
        "tls-s2c" => Some(Impl::Ours),
        "tls-s2c-pump" => Some(Impl::Pump),
        _ => None,
    } {
        let tls = Tls::create()?;
        let block = Arc::new(ascii_block());
        let total = (mib << 20) / block.len() * block.len();
        let (samples, transfer) = tls_bulk(imp, &tls, None, &block, total, 1).await?;
        println!(
            "{case}: {:.0} MB/s ({})",
            samples.first().copied().unwrap_or_default(),
            transfer.suite
        );
        return Ok(());
    }
    if case == "dump" {
        let samples = dump_ours(mib << 10, 1).await?;
        println!(
            "dump: {:.0} MB/s",
            samples.first().copied().unwrap_or_default()
        );
        return Ok(());
    }
    if case == "s2c-read-line" {
        let setup = Bulk {
            direction: Direction::ServerToClient,
            line_mode: false,
            text: false,
            pieces: Pieces::Blocks,
        };
        let block = Arc::new(ascii_block());
        let total = (mib << 20) / block.len() * block.len();
        let server = bulk_server_ours(setup, Arc::clone(&block), total).await?;
        let line = block
            .iter()
            .position(|&b| b == b'\n')
            .map_or(1, |at| at + 1);
        let elapsed = read_lines_once_ours(port_of(&server), total, line).await?;
        server.close();
        println!("{case}: {:.0} MB/s", mb_per_s(total, elapsed));
        return Ok(());
    }
    // `-record`: the same with every session recorded (case 18), into a scratch directory.
    let (case, record) = match case.strip_suffix("-record") {
        Some(base) => (base, true),
        None => (case, false),
    };
    let (setup, block) = match case {
        "s2c" | "s2c-iac" | "text" | "s2c-lines" | "s2c-lines-drained" => (
            Bulk {
                direction: Direction::ServerToClient,
                line_mode: false,
                text: case == "text",
                pieces: match case {
                    "s2c-lines" => Pieces::Lines,
                    "s2c-lines-drained" => Pieces::LinesDrained,
                    _ => Pieces::Blocks,
                },
            },
            match case {
                "s2c" => ascii_block(),
                "text" => utf8_block(),
                "s2c-lines" | "s2c-lines-drained" => dump_block(),
                _ => iac_block(),
            },
        ),
        "c2s" | "c2s-iac" | "c2s-line" | "c2s-iac-line" => (
            Bulk {
                direction: Direction::ClientToServer,
                line_mode: case.ends_with("-line"),
                text: false,
                pieces: Pieces::Blocks,
            },
            if case.starts_with("c2s-iac") {
                iac_block()
            } else {
                ascii_block()
            },
        ),
        other => bail!("no such profile case: {other}"),
    };
    let block = Arc::new(block);
    let total = (mib << 20) / block.len() * block.len();
    let scratch =
        std::env::temp_dir().join(format!("telnetlib3-bench-profile-{}", std::process::id()));
    let config = if record {
        std::fs::create_dir_all(&scratch)?;
        observe::config(Some(&format!("record={}", scratch.display())))?
    } else {
        local_server_config()
    };
    let server = bulk_server_with(config, setup, Arc::clone(&block), total, false).await?;
    let elapsed = bulk_once_ours(port_of(&server), setup, &block, total).await;
    server.close();
    if record {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    println!("{case}: {:.0} MB/s", mb_per_s(total, elapsed?));
    Ok(())
}

// ---------------------------------------------------------------- TLS (issue 14)

/// The certificates of the TLS cases, made with rcgen at start-up (a CA and a server
/// certificate for localhost and 127.0.0.1, ECDSA P-256, PEM files in a scratch directory
/// for the child servers and Python), and the configurations every implementation shares.
struct Tls {
    dir: PathBuf,
    /// Ours and the pump in this process use this very rustls configuration; the child
    /// servers load the same files the same way.
    server: Arc<TlsServer>,
    /// Every client: TLS 1.3, `TLS_AES_256_GCM_SHA384` only (the suite rustls and
    /// OpenSSL prefer anyway), the CA as the only root, and no resumption, so that every
    /// handshake is a full one.
    client: Arc<rustls::ClientConfig>,
}

/// The client connector of [`Client::Tls`] (set once in `main`).
static TLS_CONNECTOR: OnceLock<TlsConnector> = OnceLock::new();

impl Tls {
    const CERT: &'static str = "server.pem";
    const KEY: &'static str = "server-key.pem";
    const CA: &'static str = "ca.pem";

    fn create() -> Result<Self> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let dir = std::env::temp_dir().join(format!("telnetlib3-bench-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let ca_key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "telnetlib3-bench CA");
        let ca = params.self_signed(&ca_key)?;
        std::fs::write(dir.join(Self::CA), ca.pem())?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec!["localhost".to_owned(), HOST.to_owned()])?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &ca, &ca_key)?;
        std::fs::write(dir.join(Self::CERT), cert.pem())?;
        std::fs::write(dir.join(Self::KEY), key.serialize_pem())?;
        let server = Arc::new(Self::server_from(&dir)?);
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone())?;
        let mut provider = rustls::crypto::ring::default_provider();
        provider.cipher_suites = vec![rustls::crypto::ring::cipher_suite::TLS13_AES_256_GCM_SHA384];
        let mut client = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        client.resumption = rustls::client::Resumption::disabled();
        Ok(Self {
            dir,
            server,
            client: Arc::new(client),
        })
    }

    fn cert(&self) -> PathBuf {
        self.dir.join(Self::CERT)
    }

    fn key(&self) -> PathBuf {
        self.dir.join(Self::KEY)
    }

    fn ca(&self) -> PathBuf {
        self.dir.join(Self::CA)
    }

    /// The library's server configuration from the files in `dir`.
    fn server_from(dir: &Path) -> Result<TlsServer> {
        Ok(TlsServer::from_pem_files(
            dir.join(Self::CERT),
            dir.join(Self::KEY),
            None,
        )?)
    }

    /// The pump's acceptor: the same rustls configuration as [`Tls::server_from`]'s.
    fn acceptor_from(dir: &Path) -> Result<TlsAcceptor> {
        Ok(TlsAcceptor::from(Self::server_from(dir)?.current()))
    }

    fn connector(&self) -> TlsConnector {
        TlsConnector::from(Arc::clone(&self.client))
    }
}

impl Drop for Tls {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn server_name() -> rustls::pki_types::ServerName<'static> {
    rustls::pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into())
}

const BINARY: u8 = 0;

/// A raw client's side of a Telnet server's opening: it asks for BINARY both ways (so
/// the server writes as it does to our client in case 1) and refuses every other option;
/// of the data it only notes the end of the greeting line.
#[derive(Debug, Default)]
struct Answerer {
    state: AnswerState,
    /// The server agreed to send (DO BINARY answered) and to receive (WILL BINARY) binary.
    binary: (bool, bool),
}

#[derive(Debug, Default, Clone, Copy)]
enum AnswerState {
    #[default]
    Data,
    Iac,
    Verb(u8),
    Sub,
    SubIac,
}

impl Answerer {
    const OPENING: [u8; 6] = [IAC, WILL, BINARY, IAC, DO, BINARY];

    /// Take what came, queue the answers in `reply`; whether a line ended in the data.
    fn feed(&mut self, data: &[u8], reply: &mut Vec<u8>) -> bool {
        let mut line_end = false;
        for &byte in data {
            self.state = match (self.state, byte) {
                (AnswerState::Data, IAC) => AnswerState::Iac,
                (AnswerState::Data, b'\n') => {
                    line_end = true;
                    AnswerState::Data
                }
                (AnswerState::Iac, WILL | WONT | DO | DONT) => AnswerState::Verb(byte),
                (AnswerState::Iac, SB) => AnswerState::Sub,
                (AnswerState::Verb(verb), option) => {
                    match (verb, option) {
                        (DO, BINARY) => self.binary.0 = true,
                        (WILL, BINARY) => self.binary.1 = true,
                        (DONT, BINARY) => self.binary.0 = false,
                        (WONT, BINARY) => self.binary.1 = false,
                        (DO, _) => reply.extend_from_slice(&[IAC, WONT, option]),
                        (WILL, _) => reply.extend_from_slice(&[IAC, DONT, option]),
                        _ => {}
                    }
                    AnswerState::Data
                }
                (AnswerState::Sub, IAC) => AnswerState::SubIac,
                (AnswerState::Sub, _) | (AnswerState::SubIac, IAC) => AnswerState::Sub,
                (AnswerState::SubIac, SE)
                | (AnswerState::Data | AnswerState::Iac | AnswerState::SubIac, _) => {
                    AnswerState::Data
                }
            };
        }
        line_end
    }
}

/// What the reader of case 14 saw of one transfer.
#[derive(Debug)]
struct TlsTransfer {
    elapsed: Duration,
    /// The protocol version and cipher suite agreed.
    suite: String,
    /// Whether the server agreed BINARY both ways (Telnet servers only).
    binary: bool,
}

/// One s2c transfer read by a plain tokio-rustls client that counts bytes: the TLS
/// handshake; for a Telnet server (`telnet`), the opening negotiation as [`Answerer`]
/// answers it; the greeting line (the server's shell has started); then, timed, a go byte
/// and `total` bytes. What the server sends is ASCII without IAC, so after the greeting
/// every byte is data.
async fn tls_read_once(
    port: u16,
    connector: &TlsConnector,
    total: usize,
    telnet: bool,
) -> Result<TlsTransfer> {
    let socket = TcpStream::connect((HOST, port)).await?;
    socket.set_nodelay(true)?;
    let mut stream = connector.connect(server_name(), socket).await?;
    let connection = stream.get_ref().1;
    let suite = format!(
        "{:?} {:?}",
        connection.protocol_version().context("no TLS version")?,
        connection
            .negotiated_cipher_suite()
            .context("no cipher suite")?
            .suite()
    );
    let mut answerer = Answerer::default();
    if telnet {
        stream.write_all(&Answerer::OPENING).await?;
        stream.flush().await?;
    }
    let mut buf = vec![0u8; BLOCK];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            bail!("the server closed before its greeting");
        }
        let mut reply = Vec::new();
        let greeted = answerer.feed(&buf[..n], &mut reply);
        if !reply.is_empty() {
            stream.write_all(&reply).await?;
            stream.flush().await?;
        }
        if greeted {
            break;
        }
    }
    let start = Instant::now();
    stream.write_all(b"g").await?;
    stream.flush().await?;
    let mut got = 0;
    while got < total {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            bail!("the server closed after {got} of {total} bytes");
        }
        got += n;
    }
    let elapsed = start.elapsed();
    let _ = stream.shutdown().await;
    Ok(TlsTransfer {
        elapsed,
        suite,
        binary: answerer.binary == (true, true),
    })
}

/// The floor of case 14: a tokio-rustls server with no Telnet, the same rustls
/// configuration as ours: the handshake, the greeting, a go byte, `total` bytes.
async fn tls_bulk_server_pump(
    acceptor: TlsAcceptor,
    block: Arc<Vec<u8>>,
    total: usize,
) -> Result<(u16, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind((HOST, 0)).await?;
    let port = listener.local_addr()?.port();
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let block = Arc::clone(&block);
            tokio::spawn(async move {
                let _ = socket.set_nodelay(true);
                let Ok(mut stream) = acceptor.accept(socket).await else {
                    return;
                };
                let mut buf = vec![0u8; BLOCK];
                if stream.write_all(GREETING).await.is_err()
                    || stream.flush().await.is_err()
                    || !matches!(stream.read(&mut buf[..1]).await, Ok(1))
                {
                    return;
                }
                let mut sent = 0;
                while sent < total {
                    if stream.write_all(&block).await.is_err() {
                        return;
                    }
                    sent += block.len();
                }
                let _ = stream.flush().await;
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    Ok((port, task))
}

/// Case 14: `runs` TLS s2c transfers of `total` bytes from `imp`'s server, each read by
/// [`tls_read_once`]; MB/s per run and what the reader saw of the last.
async fn tls_bulk(
    imp: Impl,
    tls: &Tls,
    python: Option<&Python>,
    block: &Arc<Vec<u8>>,
    total: usize,
    runs: usize,
) -> Result<(Vec<f64>, TlsTransfer)> {
    let connector = tls.connector();
    let s2c = Bulk {
        direction: Direction::ServerToClient,
        line_mode: false,
        text: false,
        pieces: Pieces::Blocks,
    };
    enum Running {
        Ours(Server),
        Pump(tokio::task::JoinHandle<()>),
        Python(ChildServer),
    }
    let (port, running) = match imp {
        Impl::Ours => {
            let mut config = local_server_config();
            config.tls = Some(Arc::clone(&tls.server));
            let server = bulk_server_with(config, s2c, Arc::clone(block), total, true).await?;
            (port_of(&server), Running::Ours(server))
        }
        Impl::Pump => {
            let acceptor = TlsAcceptor::from(tls.server.current());
            let (port, task) = tls_bulk_server_pump(acceptor, Arc::clone(block), total).await?;
            (port, Running::Pump(task))
        }
        Impl::Zlib | Impl::OursBlocking | Impl::OursTelnetlib | Impl::PythonStdlib => {
            bail!("skipped: no server")
        }
        Impl::Python => {
            let python = python.context("skipped: no Python")?;
            let block_file = python.dir.join("tls-block.bin");
            std::fs::write(&block_file, block.as_slice())?;
            let mut command = python.command("tls-s2c-server");
            command
                .arg(tls.cert())
                .arg(tls.key())
                .arg(&block_file)
                .arg(total.to_string());
            let child = ChildServer::start(command).await?;
            (child.port, Running::Python(child))
        }
    };
    let mut samples = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let transfer = timeout(
            Duration::from_secs(300),
            tls_read_once(port, &connector, total, imp != Impl::Pump),
        )
        .await
        .map_err(|_| anyhow!("a transfer took over 300 s"))??;
        samples.push(mb_per_s(total, transfer.elapsed));
        last = Some(transfer);
    }
    match running {
        Running::Ours(server) => server.close(),
        Running::Pump(task) => task.abort(),
        Running::Python(child) => child.stop().await,
    }
    Ok((samples, last.context("no runs")?))
}

/// Case 14a, ours: case 1 over TLS, our server's shell read by our TLS client.
async fn tls_bulk_ours_client(
    tls: &Tls,
    block: &Arc<Vec<u8>>,
    total: usize,
    runs: usize,
) -> Result<Vec<f64>> {
    let s2c = Bulk {
        direction: Direction::ServerToClient,
        line_mode: false,
        text: false,
        pieces: Pieces::Blocks,
    };
    let mut config = local_server_config();
    config.tls = Some(Arc::clone(&tls.server));
    let server = bulk_server_with(config, s2c, Arc::clone(block), total, false).await?;
    let port = port_of(&server);
    let mut samples = Vec::new();
    for _ in 0..runs {
        let mut client = ClientConfig::default();
        client.connect_maxwait = Duration::from_secs(1);
        client.tls = Some(TlsClient::new(Arc::clone(&tls.client)));
        let (mut reader, mut writer) = open_connection(HOST, port, client).await?;
        wait_for_binary(&writer).await;
        let start = Instant::now();
        writer.write(b"g").await?;
        let mut got = 0;
        while got < total {
            let data = reader.read(BLOCK).await?;
            if data.is_empty() {
                bail!("our server closed after {got} of {total} bytes");
            }
            got += data.len();
        }
        samples.push(mb_per_s(total, start.elapsed()));
        writer.close().await;
    }
    server.close();
    Ok(samples)
}

/// Case 14b's client: a tokio-rustls connection that completes the handshake, reads the
/// first bytes (from a Telnet server, its first negotiation: the session has started),
/// sends its close_notify and closes.
async fn handshake_tls(port: u16) -> Result<()> {
    let connector = TLS_CONNECTOR.get().context("no TLS connector")?;
    let socket = TcpStream::connect((HOST, port)).await?;
    socket.set_nodelay(true)?;
    let mut stream = connector.connect(server_name(), socket).await?;
    let mut buf = [0u8; 256];
    if stream.read(&mut buf).await? == 0 {
        bail!("closed before the first bytes");
    }
    let _ = stream.shutdown().await;
    Ok(())
}

/// The tokio-rustls pump's greeting server (cases 14b and 14d): the handshake, the
/// greeting, then it reads until the client closes.
async fn greeting_server_tls_pump(
    acceptor: TlsAcceptor,
) -> Result<(u16, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind((HOST, 0)).await?;
    let port = listener.local_addr()?.port();
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = socket.set_nodelay(true);
                let Ok(mut stream) = acceptor.accept(socket).await else {
                    return;
                };
                if stream.write_all(GREETING).await.is_err() || stream.flush().await.is_err() {
                    return;
                }
                let mut buf = [0u8; 4096];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    Ok((port, task))
}

// ---------------------------------------------------------------- Python

/// The Python with telnetlib3 5.0.1 and the bench script written beside a scratch dir.
#[derive(Debug)]
struct Python {
    exe: PathBuf,
    dir: PathBuf,
    script: PathBuf,
    version: String,
}

impl Python {
    fn find(explicit: Option<PathBuf>) -> Option<PathBuf> {
        let workspace = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        explicit
            .into_iter()
            .chain(std::env::var_os("TELNETLIB3_PYTHON").map(PathBuf::from))
            .chain([
                workspace.join(".venv/bin/python"),
                PathBuf::from("/tmp/tl3venv/bin/python"),
            ])
            .find(|path| path.exists())
    }

    async fn prepare(exe: PathBuf) -> Result<Self> {
        let output = Command::new(&exe)
            .args(["-c", "import telnetlib3; print(telnetlib3.__version__)"])
            .output()
            .await?;
        if !output.status.success() {
            bail!("{} cannot import telnetlib3", exe.display());
        }
        let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let dir = std::env::temp_dir().join(format!("telnetlib3-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let script = dir.join("bench.py");
        std::fs::write(&script, PYTHON_SCRIPT)?;
        Ok(Self {
            exe,
            dir,
            script,
            version,
        })
    }

    fn command(&self, mode: &str) -> Command {
        let mut command = Command::new(&self.exe);
        command.arg(&self.script).arg(mode);
        command
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------- table

fn median_of(rows: &[Row], case: &str, imp: Impl) -> Option<f64> {
    rows.iter()
        .find(|r| r.case == case && r.imp == imp)
        .and_then(|r| r.outcome.as_ref().ok())
        .map(|s| median_min_max(s).0)
}

/// A row whose figure is `numerator / denominator` of two other rows' medians.
fn ratio_row(
    rows: &[Row],
    case: &'static str,
    imp: Impl,
    (numerator, denominator): (&str, &str),
    goal: Option<Goal>,
) -> Row {
    let outcome = match (
        median_of(rows, numerator, imp),
        median_of(rows, denominator, imp),
    ) {
        (Some(a), Some(b)) if b > 0.0 => Ok(vec![a / b]),
        _ => Err(format!("skipped: needs {numerator} and {denominator}")),
    };
    Row {
        case,
        unit: "ratio",
        imp,
        goal,
        outcome,
    }
}

fn print_table(rows: &[Row]) {
    println!("| case | implementation | median | min - max | vs pump | goal | met |");
    println!("|---|---|---:|---:|---:|---|---|");
    for row in rows {
        let label = format!("{} ({})", row.case, row.unit);
        let goal = row.goal.map_or_else(String::new, Goal::describe);
        match &row.outcome {
            Ok(samples) => {
                let (median, min, max) = median_min_max(samples);
                let pump = median_of(rows, row.case, Impl::Pump);
                let vs_pump = pump
                    .filter(|_| row.imp != Impl::Pump)
                    .map_or_else(|| "-".to_string(), |p| ratio(median / p));
                let spread = if samples.len() > 1 {
                    format!("{} - {}", figure(min), figure(max))
                } else {
                    "-".to_string()
                };
                let met = match row.goal.and_then(|g| g.met(median, pump)) {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "",
                };
                println!(
                    "| {label} | {} | {} | {spread} | {vs_pump} | {goal} | {met} |",
                    row.imp.name(),
                    figure(median),
                );
            }
            Err(error) => println!(
                "| {label} | {} | {error} | - | - | {goal} | |",
                row.imp.name()
            ),
        }
    }
}

fn ratio(value: f64) -> String {
    if value >= 0.1 {
        format!("{value:.2}x")
    } else {
        format!("{value:.4}x")
    }
}

fn figure(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} cores, {cpu}, Linux {}", kernel.trim())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// ---------------------------------------------------------------- main

/// Runs the cases `args.only` selects and collects their rows.
struct Runner<'a> {
    only: &'a [String],
    rows: Vec<Row>,
}

impl Runner<'_> {
    fn wanted(&self, case: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| case.contains(o.as_str()))
    }

    fn push(
        &mut self,
        case: &'static str,
        unit: &'static str,
        imp: Impl,
        goal: Option<Goal>,
        outcome: Result<Vec<f64>>,
    ) {
        self.rows.push(Row {
            case,
            unit,
            imp,
            goal: goal.filter(|_| imp == Impl::Ours),
            outcome: outcome.map_err(|e| {
                // One table cell: one line.
                let text = format!("{e:#}").replace('\n', " / ");
                if text.starts_with("skipped") {
                    text
                } else {
                    format!("error: {text}")
                }
            }),
        });
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    match &args.child {
        Some(ChildCommand::IdleServer {
            pump,
            tls,
            compression,
            observe,
        }) => {
            let observe = observe.as_deref();
            return idle_server(*pump, tls.as_deref(), compression.as_deref(), observe).await;
        }
        Some(ChildCommand::Profile { case, mib }) => return profile(case, *mib).await,
        Some(ChildCommand::ExpectServer) => return expect::serve_child().await,
        Some(ChildCommand::ProxiedServer { port }) => return scaling::proxied_server(*port).await,
        None => {}
    }
    let sizes = Sizes::new(args.quick, args.runs);
    let python = match Python::find(args.python.clone()) {
        Some(exe) => match Python::prepare(exe).await {
            Ok(python) => Some(python),
            Err(error) => {
                eprintln!("Python telnetlib3 unusable, its rows are skipped: {error:#}");
                None
            }
        },
        None => {
            eprintln!("no Python with telnetlib3 found, its rows are skipped");
            None
        }
    };
    println!(
        "telnetlib3-bench{}: {} run(s) per case; bulk {} MiB (Python {} KiB); \
         {} connections per loaded run (Python {}), {IN_FLIGHT} in flight; {} (Python {}) \
         one at a time; {} and {} idle connections",
        if args.quick { " --quick" } else { "" },
        sizes.runs,
        sizes.bulk >> 20,
        sizes.python_bulk >> 10,
        sizes.connections,
        sizes.python_connections,
        sizes.latency,
        sizes.python_latency,
        sizes.idle,
        sizes.idle_many,
    );
    println!("Machine: {}", machine());
    println!("Load average at the start: {}", load_average());
    match &python {
        Some(p) => println!("Python: {} (telnetlib3 {})", p.exe.display(), p.version),
        None => println!("Python: none"),
    }
    println!();

    let ascii = Arc::new(ascii_block());
    let iac = Arc::new(iac_block());
    let utf8 = Arc::new(utf8_block());
    let mut run = Runner {
        only: &args.only,
        rows: Vec::new(),
    };
    let s2c = Bulk {
        direction: Direction::ServerToClient,
        line_mode: false,
        text: false,
        pieces: Pieces::Blocks,
    };
    let c2s = Bulk {
        direction: Direction::ClientToServer,
        ..s2c
    };
    let line = Bulk {
        line_mode: true,
        ..c2s
    };
    let text = Bulk { text: true, ..s2c };
    let lines = Bulk {
        pieces: Pieces::Lines,
        ..s2c
    };
    let lines_drained = Bulk {
        pieces: Pieces::LinesDrained,
        ..s2c
    };
    let dump = Arc::new(dump_block());
    let all = [Impl::Pump, Impl::Ours, Impl::Python];
    let no_pump = [Impl::Ours, Impl::Python];
    let bulk_cases: [BulkCase<'_>; 10] = [
        (
            "1 s2c bulk ASCII",
            s2c,
            &ascii,
            &all,
            Some(Goal::OfPump(0.7)),
        ),
        (
            "2 s2c bulk 10% IAC",
            s2c,
            &iac,
            &all,
            Some(Goal::AtLeast(420.0)),
        ),
        (
            "3 c2s bulk ASCII (kludge mode, SLC on)",
            c2s,
            &ascii,
            &all,
            Some(Goal::AtLeast(1000.0)),
        ),
        (
            "3b c2s bulk 10% IAC (kludge mode, SLC on)",
            c2s,
            &iac,
            &all,
            Some(Goal::AtLeast(400.0)),
        ),
        (
            "3c c2s bulk ASCII (line mode)",
            line,
            &ascii,
            &no_pump,
            None,
        ),
        (
            "3d c2s bulk 10% IAC (line mode)",
            line,
            &iac,
            &no_pump,
            None,
        ),
        (
            "6 s2c UTF-8 text API read(64 KiB)",
            text,
            &utf8,
            &no_pump,
            None,
        ),
        (
            "6a s2c same UTF-8 data, bytes API read(64 KiB)",
            s2c,
            &utf8,
            &all,
            None,
        ),
        (
            "11 s2c 84-byte write() calls in a loop",
            lines,
            &dump,
            &no_pump,
            Some(Goal::AtLeast(1000.0)),
        ),
        (
            "12 s2c write(line) + drain() per 84-byte line",
            lines_drained,
            &dump,
            &no_pump,
            Some(Goal::AtLeast(500.0)),
        ),
    ];
    for (case, setup, block, imps, goal) in bulk_cases {
        if !run.wanted(case) {
            continue;
        }
        // Whole blocks only (the line blocks are a little short of 64 KiB).
        let bulk = sizes.bulk / block.len() * block.len();
        let python_bulk = sizes.python_bulk / block.len() * block.len();
        for &imp in imps {
            eprintln!("running {case} / {}", imp.name());
            let outcome = match imp {
                Impl::Pump => bulk_pump(setup.direction, Arc::clone(block), bulk, sizes.runs).await,
                Impl::Ours => bulk_ours(setup, Arc::clone(block), bulk, sizes.runs).await,
                Impl::Python => match &python {
                    Some(p) => bulk_python(p, setup, block, python_bulk, sizes, None).await,
                    None => Err(anyhow!("skipped: no Python")),
                },
                _ => Err(anyhow!("skipped: not a bulk case")),
            };
            run.push(case, "MB/s", imp, goal, outcome);
        }
    }
    for (case, pair, goal) in [
        (
            "3e kludge+SLC / line mode, c2s ASCII",
            (
                "3 c2s bulk ASCII (kludge mode, SLC on)",
                "3c c2s bulk ASCII (line mode)",
            ),
            0.8,
        ),
        (
            "3f kludge+SLC / line mode, c2s 10% IAC",
            (
                "3b c2s bulk 10% IAC (kludge mode, SLC on)",
                "3d c2s bulk 10% IAC (line mode)",
            ),
            0.8,
        ),
        (
            "6b text API / bytes API",
            (
                "6 s2c UTF-8 text API read(64 KiB)",
                "6a s2c same UTF-8 data, bytes API read(64 KiB)",
            ),
            0.5,
        ),
    ] {
        for imp in no_pump {
            if median_of(&run.rows, pair.0, imp).is_some() {
                let row = ratio_row(&run.rows, case, imp, pair, Some(Goal::AtLeast(goal)));
                let goal = row.goal.filter(|_| imp == Impl::Ours);
                run.rows.push(Row { goal, ..row });
            }
        }
    }

    let dump_case = "13 debug shell dump N (default args), read by a client";
    if run.wanted(dump_case) {
        for imp in no_pump {
            eprintln!("running {dump_case} / {}", imp.name());
            let outcome = match imp {
                Impl::Python => match &python {
                    Some(p) => dump_python(p, sizes.python_bulk >> 10, sizes).await,
                    None => Err(anyhow!("skipped: no Python")),
                },
                _ => dump_ours((sizes.bulk >> 10) * 100_000 / 65_536, sizes.runs).await,
            };
            run.push(dump_case, "MB/s", imp, Some(Goal::AtLeast(500.0)), outcome);
        }
    }

    let loaded_cases = [
        (
            Client::Refusing,
            &all[..],
            [
                ("4 conn rate, minimal negotiation", 10_000.0),
                ("7 p99 connect-to-greeting, 50 in flight, minimal", 13.0),
                ("8 server CPU per connection, minimal", 64.0),
            ],
        ),
        (
            Client::Ours,
            &no_pump[..],
            [
                ("4b conn rate, full negotiation", 5_000.0),
                ("7b p99 connect-to-greeting, 50 in flight, full", 19.0),
                ("8b server CPU per connection, full", 150.0),
            ],
        ),
    ];
    for (client, imps, [(rate, rate_goal), (p99, p99_goal), (cpu, cpu_goal)]) in loaded_cases {
        if !(run.wanted(rate) || run.wanted(p99) || run.wanted(cpu)) {
            continue;
        }
        for &imp in imps {
            eprintln!("running {rate} / {}", imp.name());
            match loaded_case(imp, client, python.as_ref(), None, sizes).await {
                Ok(loaded) => {
                    run.push(
                        rate,
                        "conn/s",
                        imp,
                        Some(Goal::AtLeast(rate_goal)),
                        Ok(loaded.rate),
                    );
                    run.push(
                        p99,
                        "ms",
                        imp,
                        Some(Goal::AtMost(p99_goal)),
                        Ok(loaded.p99_ms),
                    );
                    run.push(
                        cpu,
                        "us/conn",
                        imp,
                        Some(Goal::AtMost(cpu_goal)),
                        Ok(loaded.cpu_us),
                    );
                }
                Err(error) => {
                    let text = format!("{error:#}");
                    for case in [rate, p99, cpu] {
                        run.push(case, "-", imp, None, Err(anyhow!("{text}")));
                    }
                }
            }
        }
    }
    for (case, client, imps, goal) in [
        (
            "9 connect-to-shell p50, 1 in flight, minimal",
            Client::Refusing,
            &all[..],
            0.15,
        ),
        (
            "9b connect-to-shell p50, 1 in flight, full",
            Client::Ours,
            &no_pump[..],
            0.5,
        ),
    ] {
        if !run.wanted(case) {
            continue;
        }
        for &imp in imps {
            eprintln!("running {case} / {}", imp.name());
            let outcome = latency_case(imp, client, python.as_ref(), sizes).await;
            run.push(case, "ms", imp, Some(Goal::AtMost(goal)), outcome);
        }
    }

    let idle_rss = "5 server RSS per idle connection, 1000 held";
    let many_rss = "10 server RSS per idle connection, 10000 held";
    let open_ratio = "10b time to open 10000 / time to open 1000";
    let open_small = "(time to open the smaller set)";
    let open_many = "(time to open the larger set)";
    if run.wanted(idle_rss) || run.wanted(many_rss) || run.wanted(open_ratio) {
        for imp in all {
            eprintln!("running {idle_rss} / {}", imp.name());
            match idle_case(imp, python.as_ref(), None, sizes.idle, sizes.runs).await {
                Ok(idle) => {
                    run.push(
                        idle_rss,
                        "KiB/conn",
                        imp,
                        Some(Goal::AtMost(8.0)),
                        Ok(idle.rss_kib),
                    );
                    run.rows.push(Row {
                        case: open_small,
                        unit: "s",
                        imp,
                        goal: None,
                        outcome: Ok(idle.open_s),
                    });
                }
                Err(error) => run.push(idle_rss, "KiB/conn", imp, None, Err(error)),
            }
        }
        for imp in all {
            eprintln!("running {many_rss} / {}", imp.name());
            let runs = sizes.runs.min(3);
            match idle_case(imp, python.as_ref(), None, sizes.idle_many, runs).await {
                Ok(idle) => {
                    run.push(
                        many_rss,
                        "KiB/conn",
                        imp,
                        Some(Goal::AtMost(8.0)),
                        Ok(idle.rss_kib),
                    );
                    run.rows.push(Row {
                        case: open_many,
                        unit: "s",
                        imp,
                        goal: None,
                        outcome: Ok(idle.open_s),
                    });
                }
                Err(error) => run.push(many_rss, "KiB/conn", imp, None, Err(error)),
            }
        }
        for imp in all {
            let row = ratio_row(&run.rows, open_ratio, imp, (open_many, open_small), None);
            let goal = (imp == Impl::Ours).then_some(Goal::AtMost(12.0));
            run.rows.push(Row { goal, ..row });
        }
    }

    let tls_bulk_case = "14 TLS s2c bulk ASCII";
    let tls_bulk_python = "14a TLS s2c bulk ASCII, read by the server's own library's client";
    let tls_rate = "14b TLS handshakes/s, 50 in flight";
    let tls_p99 = "14c p99 connect-to-first-bytes over TLS, 50 in flight";
    let tls_cpu = "14d server CPU per TLS connection";
    let tls_idle = "14e server RSS per idle TLS connection, 1000 held";
    let tls_idle_ratio = "14f idle TLS RSS / idle plain RSS (case 5)";
    let mut tls_notes = Vec::new();
    if [
        tls_bulk_case,
        tls_bulk_python,
        tls_rate,
        tls_p99,
        tls_cpu,
        tls_idle,
    ]
    .iter()
    .any(|case| run.wanted(case))
    {
        let tls = Tls::create().context("making the TLS certificates")?;
        let _ = TLS_CONNECTOR.set(tls.connector());
        if run.wanted(tls_bulk_case) {
            for imp in all {
                eprintln!("running {tls_bulk_case} / {}", imp.name());
                let total = if imp == Impl::Python {
                    sizes.python_bulk
                } else {
                    sizes.bulk
                };
                let total = total / ascii.len() * ascii.len();
                let outcome = tls_bulk(imp, &tls, python.as_ref(), &ascii, total, sizes.runs).await;
                let outcome = outcome.map(|(samples, transfer)| {
                    let binary = match imp {
                        Impl::Pump => "",
                        _ if transfer.binary => ", BINARY agreed both ways",
                        _ => ", BINARY NOT agreed",
                    };
                    tls_notes.push(format!("{}: {}{binary}", imp.name(), transfer.suite));
                    samples
                });
                run.push(tls_bulk_case, "MB/s", imp, Some(Goal::OfPump(0.8)), outcome);
            }
        }
        if run.wanted(tls_bulk_python) {
            let s2c_tls = Bulk {
                direction: Direction::ServerToClient,
                line_mode: false,
                text: false,
                pieces: Pieces::Blocks,
            };
            for imp in no_pump {
                eprintln!("running {tls_bulk_python} / {}", imp.name());
                let outcome = match (imp, &python) {
                    (Impl::Ours, _) => {
                        let total = sizes.bulk / ascii.len() * ascii.len();
                        tls_bulk_ours_client(&tls, &ascii, total, sizes.runs).await
                    }
                    (_, Some(p)) => {
                        let total = sizes.python_bulk / ascii.len() * ascii.len();
                        bulk_python(p, s2c_tls, &ascii, total, sizes, Some(&tls)).await
                    }
                    (_, None) => Err(anyhow!("skipped: no Python")),
                };
                run.push(tls_bulk_python, "MB/s", imp, None, outcome);
            }
        }
        if run.wanted(tls_rate) || run.wanted(tls_p99) || run.wanted(tls_cpu) {
            for imp in all {
                eprintln!("running {tls_rate} / {}", imp.name());
                match loaded_case(imp, Client::Tls, python.as_ref(), Some(&tls), sizes).await {
                    Ok(loaded) => {
                        let goal = Some(Goal::OfPump(0.8));
                        run.push(tls_rate, "conn/s", imp, goal, Ok(loaded.rate));
                        run.push(tls_p99, "ms", imp, None, Ok(loaded.p99_ms));
                        run.push(tls_cpu, "us/conn", imp, None, Ok(loaded.cpu_us));
                    }
                    Err(error) => {
                        let text = format!("{error:#}");
                        for case in [tls_rate, tls_p99, tls_cpu] {
                            run.push(case, "-", imp, None, Err(anyhow!("{text}")));
                        }
                    }
                }
            }
        }
        if run.wanted(tls_idle) {
            for imp in all {
                eprintln!("running {tls_idle} / {}", imp.name());
                let outcome = idle_case(imp, python.as_ref(), Some(&tls), sizes.idle, sizes.runs)
                    .await
                    .map(|idle| idle.rss_kib);
                run.push(tls_idle, "KiB/conn", imp, None, outcome);
            }
            for imp in all {
                if median_of(&run.rows, idle_rss, imp).is_some() {
                    let pair = (tls_idle, idle_rss);
                    run.rows
                        .push(ratio_row(&run.rows, tls_idle_ratio, imp, pair, None));
                }
            }
        }
    }
    let mccp_bulk = "15 MCCP2 s2c bulk MUD text, uncompressed";
    let mccp_vs_zlib = "15a MCCP2 bulk / zlib-rs compressing in memory";
    let mccp_idle = "15b server RSS per idle MCCP2 connection, 1000 held";
    let mccp_idle_kept = "15c the same with the compressor kept (no idle release)";
    let mccp_idle_plain = "15d the same without compression (anchor)";
    let mccp_ratio = "15e compression ratio on the MUD text (level 9, wbits 12, memLevel 5)";
    let mccp_best = "15f compression ratio, zlib's best (level 9, wbits 15, memLevel 9)";
    if run.wanted(mccp_bulk) || run.wanted(mccp_vs_zlib) || run.wanted(mccp_ratio) {
        let mud = Arc::new(mccp::mud_block());
        let total = sizes.bulk / mud.len() * mud.len();
        eprintln!("running {mccp_bulk} / {}", Impl::Zlib.name());
        let zlib = mccp::zlib_in_memory(&mud, total, sizes.runs);
        run.push(mccp_bulk, "MB/s", Impl::Zlib, None, Ok(zlib));
        eprintln!("running {mccp_bulk} / {}", Impl::Ours.name());
        let (ours, wire_ratio) = match mccp::bulk_ours(&mud, total, sizes.runs).await {
            Ok((samples, ratio)) => (Ok(samples), Ok(vec![ratio])),
            Err(error) => (Err(anyhow!("{error:#}")), Err(error)),
        };
        run.push(mccp_bulk, "MB/s", Impl::Ours, None, ours);
        eprintln!("running {mccp_bulk} / {}", Impl::Python.name());
        let python_total = sizes.python_bulk / mud.len() * mud.len();
        let outcome = match &python {
            Some(p) => bulk_python_with(p, s2c, &mud, python_total, sizes, None, true).await,
            None => Err(anyhow!("skipped: no Python")),
        };
        run.push(mccp_bulk, "MB/s", Impl::Python, None, outcome);
        let outcome = match (
            median_of(&run.rows, mccp_bulk, Impl::Ours),
            median_of(&run.rows, mccp_bulk, Impl::Zlib),
        ) {
            (Some(ours), Some(zlib)) if zlib > 0.0 => Ok(vec![ours / zlib]),
            _ => Err(anyhow!("skipped: needs both rows of case 15")),
        };
        run.push(
            mccp_vs_zlib,
            "ratio",
            Impl::Ours,
            Some(Goal::AtLeast(0.8)),
            outcome,
        );
        let (library, best) = mccp::ratios(&mud, total / mud.len());
        run.push(mccp_ratio, "x", Impl::Ours, None, wire_ratio);
        run.push(mccp_ratio, "x", Impl::Zlib, None, Ok(vec![library]));
        run.push(mccp_best, "x", Impl::Zlib, None, Ok(vec![best]));
        for (case, level, window_bits, mem_level, writes) in mccp::RATIO_BREAKDOWN {
            let settings = (level, window_bits, mem_level);
            let ratio = mccp::ratio(&mud, total / mud.len(), settings, writes);
            run.push(case, "x", Impl::Zlib, None, Ok(vec![ratio]));
        }
    }
    if run.wanted(mccp_idle) || run.wanted(mccp_idle_kept) || run.wanted(mccp_idle_plain) {
        for (case, compression, goal) in [
            (mccp_idle_plain, None, None),
            (mccp_idle, Some(true), Some(Goal::AtMost(48.0))),
            (mccp_idle_kept, Some(false), None),
        ] {
            eprintln!("running {case} / {}", Impl::Ours.name());
            let outcome = mccp::idle_compressed(compression, sizes.idle, sizes.runs).await;
            run.push(case, "KiB/conn", Impl::Ours, goal, outcome);
        }
    }
    expect_cases(&mut run, python.as_ref(), sizes, args.quick).await;
    let haproxy_one = "17 conn/s via HAProxy (PROXY v2), 1 server process";
    let haproxy_three = "17a conn/s via HAProxy (PROXY v2), 3 --reuse-port processes";
    let haproxy_scaling = "17b 3 processes / 1 process via HAProxy";
    if run.wanted(haproxy_one) || run.wanted(haproxy_three) || run.wanted(haproxy_scaling) {
        for (case, p99_case, processes) in [
            (haproxy_one, "17c p99 ms via HAProxy, 1 process", 1),
            (haproxy_three, "17d p99 ms via HAProxy, 3 processes", 3),
        ] {
            eprintln!("running {case} / {}", Impl::Ours.name());
            let (rates, p99s) = match scaling::rate_through_haproxy(processes, sizes).await {
                Ok((rates, p99s)) => (Ok(rates), Ok(p99s)),
                Err(error) => (Err(anyhow!("{error:#}")), Err(error)),
            };
            run.push(case, "conn/s", Impl::Ours, None, rates);
            run.push(p99_case, "ms", Impl::Ours, None, p99s);
        }
        let row = ratio_row(
            &run.rows,
            haproxy_scaling,
            Impl::Ours,
            (haproxy_three, haproxy_one),
            None,
        );
        run.rows.push(row);
    }
    let run_observe = run.wanted(observe::CASE);
    let rows = run.rows;

    print_table(&rows);
    let observe_failed = run_observe && observe::run(sizes).await.is_err();
    println!();
    println!("Load average at the end: {}", load_average());
    println!();
    println!(
        "Bulk: one connection per run, timed on the client from the go byte (s2c) or the \
         first write (c2s) to the last byte (s2c) or the server's end mark (c2s); ours and \
         the pump in this process, Python's server and client in one Python process. \
         Kludge mode (the servers' default: WILL ECHO, WILL SGA) makes the server look for \
         SLC characters in its input; line mode (line_mode) does not."
    );
    println!(
        "Cases 4, 7, 8: batches of connections with 50 in flight against a child server \
         process; 'minimal' is a raw tokio client that refuses every option (WONT/DONT), \
         reads the greeting line and closes; 'full' is our client. Latency is from the \
         start of connect to the end of the greeting line; server CPU is the child's \
         user+system time (all threads, /proc/PID/task/*/schedstat) over the batch divided \
         by its connections. Case 9: the same one connection at a time, median."
    );
    println!(
        "Cases 5, 10: VmRSS of a child server process before and after opening the \
         connections (our client with full negotiation; raw sockets for the pump), divided \
         by their number; 10 holds the client ends in this process and the server ends in \
         the child (each under its 20 000-descriptor limit), at most 3 runs, Python's too."
    );
    if !tls_notes.is_empty() {
        println!();
        println!(
            "TLS as each reader of case 14 saw it: {}",
            tls_notes.join("; ")
        );
    }
    println!(
        "Case 14: TLS 1.3 only, TLS_AES_256_GCM_SHA384 only, full handshakes (the client \
         resumes no session), an ECDSA P-256 server certificate signed by a CA made at \
         start-up (rcgen); the server's rustls configuration is the library's \
         TlsServer::from_pem_files (ring) for ours and for the pump. The pump is a \
         tokio-rustls server without Telnet. 14: the reader is a tokio-rustls client \
         counting bytes (it asks for BINARY and refuses every other option), timed from its \
         go byte, sent after the server's greeting line, to the last byte; ours and the \
         pump in this process, Python's server a child process. 14a: the same transfer read by \
         the server's own library's client (ours: our TLS client, as in case 1; Python: its \
         client in the server's process, as in case 1). 14b-d: child servers as in \
         cases 4, 7, 8; each client completes the handshake, reads the first bytes (ours \
         and Python: the opening negotiation; the pump: its greeting), sends close_notify \
         and closes. 14e: as case 5, over TLS (the pump's clients are tokio-rustls ones)."
    );
    println!(
        "Case 15: MUD-like text (ANSI-coloured room titles, descriptions, exits, mobiles, \
         combat lines and prompts, picked by a fixed pseudo-random sequence), 64 KiB written \
         repeatedly. 15: our server with compression on (MCCP2 and MCCP3 offered) to our \
         client in this process, timed as case 1 from the go byte, MB/s of uncompressed \
         data; the anchor is zlib-rs (the library's zlib) compressing the same bytes in \
         memory with the library's settings (level 9, wbits 12, memLevel 5) and a sync \
         flush per 64 KiB; Python: its server with compression=True read by its own \
         client in one process. 15b-d: as case 5, with a child server that offers MCCP2 \
         alone (as most MUD servers do), measured {} s after the last connection opened \
         (past MCCP_IDLE_RELEASE); 15c keeps each connection's compressor. 15e: ours is \
         the wire's ratio as our client counted it in the last run of 15; zlib-rs's the \
         same settings in memory; 15f one stream with zlib's best settings, no flushes.",
        (telnetlib3::MCCP_IDLE_RELEASE + Duration::from_secs(1)).as_secs()
    );
    println!(
        "Case 16: our server answers `go SIZE` with SIZE bytes in 100-byte writes \
         (100-byte lines free of '#' and '>'), then `router# `; it runs in a child process \
         for every client (ours in this process, Python's in their own), so that no client \
         shares its process with the server. Each client connects (not timed), sends the \
         command and expects the prompt with the pattern `[#>] $` (input limit 64 MiB: \
         expect returns all that came before); the figure is the time from the command to \
         the match per byte of output. A linear reader has the same figure at both sizes \
         (16c: the ratio, ideally 1; below 1, a fixed cost per run shows at the smaller \
         size). Ours: the async client's expect (a tokio task, as an application runs it), the \
         blocking client's expect, \
         telnetlib::Telnet::expect (CPython's 50-byte recvs, each processed and searched, \
         served from 64 KiB socket reads); Python telnetlib3 5.0.1: readuntil_pattern; \
         Python 3.11: the stdlib's telnetlib.Telnet.expect. 16d, 16e: the Python figure \
         over ours at the larger size."
    );
    println!(
        "Case 17: HAProxy 2.6 (Debian) in TCP mode with send-proxy-v2 in front of one child \
         server process, or three sharing the backend port with SO_REUSEPORT (the kernel \
         spreads connections among them); each is case 4's greeting server with the PROXY \
         protocol on (ours only: Python telnetlib3 has no PROXY protocol); clients as case 4's \
         minimal ones, {IN_FLIGHT} in flight. Case 4's minimal row is the same server without \
         HAProxy. On this 2-core machine HAProxy, the servers and the clients share the cores: \
         a scaling figure, not a goal."
    );
    let failed = rows
        .iter()
        .any(|row| matches!(&row.outcome, Err(e) if !e.starts_with("skipped")));
    if failed || observe_failed {
        bail!("some cases failed");
    }
    Ok(())
}

/// Case 16 (issue 16): expect a prompt after a large output, at two sizes.
async fn expect_cases(run: &mut Runner<'_>, python: Option<&Python>, sizes: Sizes, quick: bool) {
    let small_case = "16 expect the prompt after 1 MB in 100-byte writes";
    let large_case = "16b expect the prompt after 10 MB in 100-byte writes";
    let linear = "16c linearity: per-byte time at 10 MB / at 1 MB";
    let speedup = "16d speed-up at 10 MB: Python telnetlib3 ns/B / ours";
    let speedup_stdlib = "16e speed-up at 10 MB: Python 3.11 telnetlib ns/B / ours";
    if !(run.wanted(small_case) || run.wanted(large_case)) {
        return;
    }
    // --quick: a tenth of each (the case names keep the full run's sizes).
    let (small, large) = if quick {
        (100_000, 1_000_000)
    } else {
        (1_000_000, 10_000_000)
    };
    // The server in a child process for every client: Python's clients run in their
    // own processes, so ours must not share theirs with the server either.
    let server = match expect::server_child().await {
        Ok(server) => server,
        Err(error) => {
            run.push(small_case, "ns/B", Impl::Ours, None, Err(error));
            return;
        }
    };
    let port = server.port;
    let imps = [
        Impl::Ours,
        Impl::OursBlocking,
        Impl::OursTelnetlib,
        Impl::Python,
        Impl::PythonStdlib,
    ];
    for (case, size) in [(small_case, small), (large_case, large)] {
        for imp in imps {
            eprintln!("running {case} / {}", imp.name());
            let runs = sizes.runs;
            let outcome = match imp {
                // A task on the runtime's workers, as an application's connections run,
                // not on the main thread's `block_on`: each wake by the connection's
                // driver is then no cross-thread hand-off.
                Impl::Ours => tokio::spawn(expect::ours_async(port, size, runs))
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r),
                Impl::OursBlocking => {
                    tokio::task::spawn_blocking(move || expect::ours_blocking(port, size, runs))
                        .await
                        .map_err(anyhow::Error::from)
                        .and_then(|r| r)
                }
                Impl::OursTelnetlib => {
                    tokio::task::spawn_blocking(move || expect::ours_telnetlib(port, size, runs))
                        .await
                        .map_err(anyhow::Error::from)
                        .and_then(|r| r)
                }
                Impl::Python => match python {
                    Some(p) => {
                        expect::python_telnetlib3(p, port, size, runs, sizes.python_timeout).await
                    }
                    None => Err(anyhow!("skipped: no Python")),
                },
                Impl::PythonStdlib => {
                    // Quadratic (it searches everything again at each 50-byte recv): one
                    // run of the larger size, and none if the smaller size's figure says
                    // it would not finish in time anyway (it would hold the machine for
                    // the whole limit, and give no figure).
                    let runs = if size == large { 1 } else { runs.min(3) };
                    let limit = sizes.python_timeout;
                    let predicted = median_of(&run.rows, small_case, imp)
                        .filter(|_| size == large)
                        .map(|ns| ns * (large / small) as f64 * large as f64 / 1e9);
                    match predicted {
                        Some(seconds) if seconds > limit.as_secs_f64() => Err(anyhow!(
                            "skipped: quadratic, its figure at the smaller size predicts \
                             {seconds:.0} s, over the {} s limit",
                            limit.as_secs()
                        )),
                        _ => expect::python_stdlib(port, size, runs, limit).await,
                    }
                }
                _ => Err(anyhow!("skipped: not an expect case")),
            };
            run.push(case, "ns/B", imp, None, outcome);
        }
    }
    for imp in imps {
        if median_of(&run.rows, large_case, imp).is_some() {
            let row = ratio_row(&run.rows, linear, imp, (large_case, small_case), None);
            run.rows.push(row);
        }
    }
    for (case, theirs) in [
        (speedup, Impl::Python),
        (speedup_stdlib, Impl::PythonStdlib),
    ] {
        let Some(python_figure) = median_of(&run.rows, large_case, theirs) else {
            continue;
        };
        for imp in [Impl::Ours, Impl::OursBlocking, Impl::OursTelnetlib] {
            let outcome = match median_of(&run.rows, large_case, imp) {
                Some(ours) if ours > 0.0 => Ok(vec![python_figure / ours]),
                _ => Err(anyhow!("skipped: needs both figures")),
            };
            run.push(case, "x", imp, Some(Goal::AtLeast(100.0)), outcome);
        }
    }
    server.stop().await;
}
