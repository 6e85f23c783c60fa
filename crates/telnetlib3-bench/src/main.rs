//! `telnetlib3-bench`: the same work on 127.0.0.1 with this library at both ends, a plain
//! tokio socket pump with no Telnet logic (the anchor), and Python telnetlib3 5.0.1,
//! printed as a table of medians, min-max and ratios to the pump.
//!
//! `--quick` runs every case once with small sizes: a smoke run that checks it works.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use telnetlib3::proto::TelnetOption;
use telnetlib3::{
    create_server, open_connection, ClientConfig, Server, ServerConfig, TelnetWriter,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;
use tokio::time::timeout;

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
    #[command(subcommand)]
    child: Option<ChildCommand>,
}

#[derive(Subcommand, Debug)]
enum ChildCommand {
    /// Internal: a server whose connections greet and stay idle, for the RSS case.
    #[command(hide = true)]
    IdleServer {
        /// A plain tokio server instead of the library's.
        #[arg(long)]
        pump: bool,
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
    idle: usize,
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
                idle: 50,
                python_timeout: Duration::from_secs(30),
            }
        } else {
            Self {
                runs: runs.max(5),
                bulk: 64 << 20,
                python_bulk: 4 << 20,
                connections: 5000,
                python_connections: 1000,
                idle: 1000,
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
}

impl Impl {
    const fn name(self) -> &'static str {
        match self {
            Self::Pump => "tokio pump",
            Self::Ours => "telnetlib3-rs",
            Self::Python => "Python telnetlib3 5.0.1",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ServerToClient,
    ClientToServer,
}

/// One line of the table.
#[derive(Debug)]
struct Row {
    case: &'static str,
    unit: &'static str,
    imp: Impl,
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

async fn bulk_ours(
    direction: Direction,
    block: Arc<Vec<u8>>,
    total: usize,
    runs: usize,
) -> Result<Vec<f64>> {
    let mut config = local_server_config();
    config.connect_maxwait = Duration::from_millis(500);
    let shell_block = Arc::clone(&block);
    let server = create_server(config, move |mut reader, mut writer| {
        let block = Arc::clone(&shell_block);
        async move {
            if direction == Direction::ServerToClient {
                if !matches!(reader.read(1).await, Ok(go) if !go.is_empty()) {
                    return;
                }
                let mut sent = 0;
                while sent < total {
                    if writer.write(&block).await.is_err() {
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
    let port = port_of(&server);
    let mut samples = Vec::new();
    for _ in 0..runs {
        let mut client = ClientConfig::default();
        client.connect_maxwait = Duration::from_secs(1);
        let (mut reader, mut writer) = open_connection(HOST, port, client).await?;
        wait_for_binary(&writer).await;
        let elapsed = if direction == Direction::ServerToClient {
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
                writer.write(&block).await?;
                sent += block.len();
            }
            writer.drain().await?;
            until_end.await??;
            start.elapsed()
        };
        writer.close().await;
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
    direction: Direction,
    block: &[u8],
    total: usize,
    sizes: Sizes,
) -> Result<Vec<f64>> {
    let block_file = python.dir.join(format!("block-{}.bin", block[9]));
    std::fs::write(&block_file, block)?;
    let mut command = Command::new(&python.exe);
    command
        .arg(&python.script)
        .arg("bulk")
        .arg(match direction {
            Direction::ServerToClient => "s2c",
            Direction::ClientToServer => "c2s",
        })
        .arg(&block_file)
        .arg(total.to_string())
        .arg(sizes.runs.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = timeout(sizes.python_timeout, command.output())
        .await
        .map_err(|_| anyhow!("Python took longer than {:?}", sizes.python_timeout))??;
    if !output.status.success() {
        bail!(
            "Python failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let samples: Vec<f64> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("elapsed="))
        .map(|secs| secs.trim().parse::<f64>().map(|s| total as f64 / s / 1e6))
        .collect::<Result<_, _>>()?;
    if samples.len() != sizes.runs {
        bail!("Python reported {} of {} runs", samples.len(), sizes.runs);
    }
    Ok(samples)
}

// ---------------------------------------------------------------- connection rate

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

#[derive(Debug, Clone, Copy)]
enum Client {
    Refusing,
    Ours,
}

/// `total` connections, `IN_FLIGHT` at a time; connections per second.
async fn connection_rate(port: u16, client: Client, total: usize) -> Result<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let attempt = async {
                        match client {
                            Client::Refusing => greet_refusing(port).await,
                            Client::Ours => greet_ours(port).await,
                        }
                    };
                    timeout(Duration::from_secs(10), attempt)
                        .await
                        .map_err(|_| anyhow!("a connection took over 10 s"))??;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.await??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

async fn greeting_server_ours() -> Result<Server> {
    let mut config = local_server_config();
    config.connect_maxwait = Duration::from_millis(500);
    Ok(create_server(config, |mut reader, mut writer| async move {
        let _ = writer.write(GREETING).await;
        let _ = writer.drain().await;
        while matches!(reader.read(4096).await, Ok(data) if !data.is_empty()) {}
    })
    .await?)
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

    fn rss_kib(&self) -> Result<f64> {
        let pid = self.child.id().context("the child server has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .context("no VmRSS")?
            .parse::<f64>()
            .map_err(Into::into)
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

async fn rate_case(
    imp: Impl,
    client: Client,
    python: Option<&Python>,
    sizes: Sizes,
) -> Result<Vec<f64>> {
    let mut samples = Vec::new();
    match imp {
        Impl::Ours => {
            let server = greeting_server_ours().await?;
            for _ in 0..sizes.runs {
                samples.push(connection_rate(port_of(&server), client, sizes.connections).await?);
            }
            server.close();
        }
        Impl::Pump => {
            let (port, acceptor) = greeting_server_pump().await?;
            for _ in 0..sizes.runs {
                samples.push(connection_rate(port, client, sizes.connections).await?);
            }
            acceptor.abort();
        }
        Impl::Python => {
            let python = python.context("no Python")?;
            let server = ChildServer::start(python.command("greet-server")).await?;
            for _ in 0..sizes.runs {
                samples.push(connection_rate(server.port, client, sizes.python_connections).await?);
            }
            server.stop().await;
        }
    }
    Ok(samples)
}

// ---------------------------------------------------------------- idle RSS

/// Server RSS per idle connection: a child server, `sizes.idle` connections that greet and
/// stay open (our client, full negotiation; raw sockets for the pump), KiB per connection.
async fn idle_rss(imp: Impl, python: Option<&Python>, sizes: Sizes) -> Result<Vec<f64>> {
    let mut samples = Vec::new();
    for _ in 0..sizes.runs {
        let command = match imp {
            Impl::Python => python.context("no Python")?.command("greet-server"),
            Impl::Ours | Impl::Pump => {
                let mut command = Command::new(std::env::current_exe()?);
                command.arg("idle-server");
                if imp == Impl::Pump {
                    command.arg("--pump");
                }
                command
            }
        };
        let server = ChildServer::start(command).await?;
        let port = server.port;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = server.rss_kib()?;
        let next = Arc::new(AtomicUsize::new(0));
        let total = sizes.idle;
        let workers: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let next = Arc::clone(&next);
                tokio::spawn(async move {
                    let mut held = Vec::new();
                    while next.fetch_add(1, Ordering::Relaxed) < total {
                        let open = async {
                            if imp == Impl::Pump {
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
                                    open_connection(HOST, port, ClientConfig::default()).await?;
                                let line = reader.read_line().await?;
                                if !line.ends_with(b"\n") {
                                    bail!("no greeting");
                                }
                                anyhow::Ok(Held::Ours(reader, writer))
                            }
                        };
                        held.push(
                            timeout(Duration::from_secs(10), open)
                                .await
                                .map_err(|_| anyhow!("a connection took over 10 s"))??,
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
        // Let late negotiation settle and the server's buffers shrink to their idle size.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = server.rss_kib()?;
        samples.push((after - before) / total as f64);
        drop(held);
        server.stop().await;
    }
    Ok(samples)
}

/// An open connection held idle.
#[allow(dead_code)] // Held only to keep the sockets open.
enum Held {
    Raw(TcpStream),
    Ours(telnetlib3::TelnetReader, TelnetWriter),
}

async fn idle_server(pump: bool) -> Result<()> {
    if pump {
        let (port, _acceptor) = greeting_server_pump().await?;
        println!("port={port}");
        std::future::pending::<()>().await;
    } else {
        let mut config = local_server_config();
        config.connect_maxwait = Duration::from_secs(2);
        let server = create_server(config, |mut reader, mut writer| async move {
            let _ = writer.write(GREETING).await;
            let _ = writer.drain().await;
            while matches!(reader.read(4096).await, Ok(data) if !data.is_empty()) {}
        })
        .await?;
        println!("port={}", port_of(&server));
        std::future::pending::<()>().await;
    }
    Ok(())
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

fn print_table(rows: &[Row]) {
    println!("| case | implementation | median | min - max | vs pump |");
    println!("|---|---|---:|---:|---:|");
    for row in rows {
        let label = format!("{} ({})", row.case, row.unit);
        match &row.outcome {
            Ok(samples) => {
                let (median, min, max) = median_min_max(samples);
                let pump = rows
                    .iter()
                    .find(|r| r.case == row.case && r.imp == Impl::Pump)
                    .and_then(|r| r.outcome.as_ref().ok())
                    .map(|s| median_min_max(s).0);
                let ratio = pump.map_or_else(|| "-".to_string(), |p| ratio(median / p));
                println!(
                    "| {label} | {} | {} | {} - {} | {ratio} |",
                    row.imp.name(),
                    figure(median),
                    figure(min),
                    figure(max)
                );
            }
            Err(error) => println!("| {label} | {} | {error} | - | - |", row.imp.name()),
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
    } else {
        format!("{value:.1}")
    }
}

// ---------------------------------------------------------------- main

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(ChildCommand::IdleServer { pump }) = args.child {
        return idle_server(pump).await;
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
         {} connections per rate run (Python {}), {IN_FLIGHT} in flight; {} idle connections",
        if args.quick { " --quick" } else { "" },
        sizes.runs,
        sizes.bulk >> 20,
        sizes.python_bulk >> 10,
        sizes.connections,
        sizes.python_connections,
        sizes.idle,
    );
    match &python {
        Some(p) => println!("Python: {} (telnetlib3 {})", p.exe.display(), p.version),
        None => println!("Python: none"),
    }
    println!();

    let ascii = Arc::new(ascii_block());
    let iac = Arc::new(iac_block());
    let mut rows = Vec::new();
    let bulk_cases = [
        ("1 s2c bulk ASCII", Direction::ServerToClient, &ascii),
        ("2 s2c bulk 10% IAC", Direction::ServerToClient, &iac),
        ("3 c2s bulk ASCII", Direction::ClientToServer, &ascii),
    ];
    for (case, direction, block) in bulk_cases {
        for imp in [Impl::Pump, Impl::Ours, Impl::Python] {
            eprintln!("running {case} / {}", imp.name());
            let outcome = match imp {
                Impl::Pump => bulk_pump(direction, Arc::clone(block), sizes.bulk, sizes.runs).await,
                Impl::Ours => bulk_ours(direction, Arc::clone(block), sizes.bulk, sizes.runs).await,
                Impl::Python => match &python {
                    Some(p) => bulk_python(p, direction, block, sizes.python_bulk, sizes).await,
                    None => Err(anyhow!("skipped: no Python")),
                },
            };
            rows.push(Row {
                case,
                unit: "MB/s",
                imp,
                outcome: outcome.map_err(|e| format!("error: {e:#}")),
            });
        }
    }
    let rate_cases = [
        ("4 conn rate, minimal negotiation", Client::Refusing),
        ("4b conn rate, full negotiation", Client::Ours),
    ];
    for (case, client) in rate_cases {
        for imp in [Impl::Pump, Impl::Ours, Impl::Python] {
            if matches!(client, Client::Ours) && imp == Impl::Pump {
                continue; // Our client waits out connect_maxwait against a server that never negotiates.
            }
            eprintln!("running {case} / {}", imp.name());
            let outcome = rate_case(imp, client, python.as_ref(), sizes).await;
            rows.push(Row {
                case,
                unit: "conn/s",
                imp,
                outcome: outcome.map_err(|e| format!("error: {e:#}")),
            });
        }
    }
    for imp in [Impl::Pump, Impl::Ours, Impl::Python] {
        let case = "5 server RSS per idle connection";
        eprintln!("running {case} / {}", imp.name());
        let outcome = idle_rss(imp, python.as_ref(), sizes).await;
        rows.push(Row {
            case,
            unit: "KiB/conn",
            imp,
            outcome: outcome.map_err(|e| format!("error: {e:#}")),
        });
    }

    print_table(&rows);
    println!();
    println!(
        "Bulk: one connection per run, timed on the client from the go byte (s2c) or the \
         first write (c2s) to the last byte (s2c) or the server's end mark (c2s); ours and \
         the pump in this process, Python's server and client in one Python process."
    );
    println!(
        "Case 4: a raw tokio client that refuses every option at once (WONT/DONT), reads the \
         greeting line and closes, against each server; our server in this process, Python's \
         in a child. Case 4b: our client (full negotiation) against each server."
    );
    println!(
        "Case 5: VmRSS of a child server process before and after opening the connections \
         (our client with full negotiation; raw sockets for the pump), divided by their number."
    );
    let failed = rows
        .iter()
        .any(|row| matches!(&row.outcome, Err(e) if !e.starts_with("skipped")));
    if failed {
        bail!("some cases failed");
    }
    Ok(())
}
