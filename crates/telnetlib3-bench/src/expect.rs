//! Issue 16's expect case: a server sends SIZE bytes of output in 100-byte writes, then
//! a prompt; the figure is the time from the client's command to its `expect` of the
//! prompt, per byte of output, at two sizes so that linearity shows (a linear reader has
//! the same time per byte at both). The same server (ours, in a child process: no client
//! shares its process with the server) for every client: ours async, blocking and `telnetlib::Telnet`, Python telnetlib3 5.0.1's
//! `readuntil_pattern`, and Python 3.11's stdlib `telnetlib.Telnet.expect`.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use telnetlib3::blocking::TelnetConnection;
use telnetlib3::regex::bytes::Regex;
use telnetlib3::telnetlib::Telnet;
use telnetlib3::{create_server, open_connection, ClientConfig, Server};
use tokio::process::Command;
use tokio::time::timeout;

use super::{local_server_config, port_of, python_elapsed, ChildServer, Python, HOST};

/// What ends the output: a router's prompt.
pub(crate) const PROMPT: &[u8] = b"router# ";
/// The pattern every client expects, as network automation writes it.
const PROMPT_PATTERN: &str = r"[#>] $";
/// Bytes per write of the server's output.
const WRITE: usize = 100;
/// The clients' input limit: the whole output comes before the prompt, and `expect`
/// returns it all.
const LIMIT: usize = 64 << 20;
/// The stdlib's side, run by Python 3.11 (`-W ignore`: telnetlib warns that it is
/// deprecated): `PORT SIZE RUNS`, prints `elapsed=SECONDS` per run.
const STDLIB_SCRIPT: &str = r#"
import re, sys, telnetlib, time
port, size, runs = (int(arg) for arg in sys.argv[1:4])
prompt = re.compile(rb"[#>] $")
for _ in range(runs):
    tn = telnetlib.Telnet("127.0.0.1", port, 30)
    start = time.perf_counter()
    tn.write(b"go %d\r\n" % size)
    index, match, data = tn.expect([prompt])
    elapsed = time.perf_counter() - start
    if index != 0 or len(data) != size + 8:
        raise SystemExit(f"expect gave {index}, {len(data)} bytes")
    print(f"elapsed={elapsed:.6f}", flush=True)
    tn.close()
"#;
/// The Python with the stdlib's `telnetlib` (3.11; 3.13 removed it).
pub(crate) const STDLIB_PYTHON: &str = "/usr/bin/python3";

/// One line of output, [`WRITE`] bytes with its CR LF, free of `#` and `>`: no
/// false prompt.
fn output_line() -> Vec<u8> {
    let mut line = b"GigabitEthernet0/1 is up, line protocol is up; MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec"
        .to_vec();
    line.resize(WRITE - 2, b'.');
    line.extend_from_slice(b"\r\n");
    line
}

/// Our server: each `go SIZE` line gets SIZE bytes of output in [`WRITE`]-byte writes
/// (whole lines, then the rest of one), then [`PROMPT`].
pub(crate) async fn output_server() -> Result<Server> {
    let server = create_server(local_server_config(), |mut reader, mut writer| async move {
        let line = output_line();
        while let Ok(command) = reader.read_line().await {
            let Some(size) = std::str::from_utf8(&command)
                .ok()
                .and_then(|c| c.trim().strip_prefix("go "))
                .and_then(|n| n.parse::<usize>().ok())
            else {
                return;
            };
            let mut left = size;
            while left > 0 {
                let n = left.min(WRITE);
                if writer.write(&line[..n]).await.is_err() {
                    return;
                }
                left -= n;
            }
            if writer.write(PROMPT).await.is_err() {
                return;
            }
        }
    })
    .await?;
    Ok(server)
}

/// The `expect-server` child: [`output_server`], its port on stdout, until killed.
pub(crate) async fn serve_child() -> Result<()> {
    let server = output_server().await?;
    println!("port={}", port_of(&server));
    std::future::pending::<()>().await;
    Ok(())
}

/// Start the `expect-server` child (this program).
pub(crate) async fn server_child() -> Result<ChildServer> {
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("expect-server");
    ChildServer::start(command).await
}

/// One expect of `case` (`expect` as a task, `expect-main` on the main thread,
/// `expect-blocking`, `expect-telnetlib`) after `size` bytes from the child server, for
/// profilers: the client alone in this process.
pub(crate) async fn profile(case: &str, size: usize) -> Result<()> {
    let server = server_child().await?;
    let port = server.port;
    let samples = match case {
        "expect" => tokio::spawn(ours_async(port, size, 1)).await?,
        "expect-main" => ours_async(port, size, 1).await,
        "expect-blocking" => {
            tokio::task::spawn_blocking(move || ours_blocking(port, size, 1)).await?
        }
        "expect-telnetlib" => {
            tokio::task::spawn_blocking(move || ours_telnetlib(port, size, 1)).await?
        }
        other => Err(anyhow!("no such profile case: {other}")),
    };
    server.stop().await;
    println!(
        "{case}: {:.3} ns/B",
        samples?.first().copied().unwrap_or_default()
    );
    Ok(())
}

fn prompt() -> Regex {
    Regex::new(PROMPT_PATTERN).expect("a valid pattern")
}

fn client_config() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.limit = LIMIT;
    config.connect_maxwait = Duration::from_millis(500);
    config
}

/// Check what `expect` gave: `through` bytes up to the end of the match, which must be
/// all the output and the prompt.
fn check(through: usize, size: usize) -> Result<()> {
    if through != size + PROMPT.len() {
        bail!("expect gave {through} bytes through the match, not {size} and the prompt");
    }
    Ok(())
}

/// Nanoseconds per byte of output.
fn per_byte(elapsed: Duration, size: usize) -> f64 {
    elapsed.as_secs_f64() * 1e9 / size as f64
}

/// Our async client: `expect` after `go SIZE`; ns per byte, per run.
pub(crate) async fn ours_async(port: u16, size: usize, runs: usize) -> Result<Vec<f64>> {
    let patterns = [prompt()];
    let mut samples = Vec::new();
    for _ in 0..runs {
        let (mut reader, mut writer) = open_connection(HOST, port, client_config()).await?;
        let start = Instant::now();
        writer.write(format!("go {size}\r\n").as_bytes()).await?;
        let found = reader.expect(&patterns).await?;
        samples.push(per_byte(start.elapsed(), size));
        check(found.before.len() + found.matched.len(), size)?;
        writer.close().await;
    }
    Ok(samples)
}

/// Our blocking client, the same way (run it on a blocking thread).
pub(crate) fn ours_blocking(port: u16, size: usize, runs: usize) -> Result<Vec<f64>> {
    let patterns = [prompt()];
    let mut samples = Vec::new();
    for _ in 0..runs {
        let mut conn = TelnetConnection::connect(HOST, port, client_config())?;
        let start = Instant::now();
        conn.write(format!("go {size}\r\n").as_bytes())?;
        let found = conn.expect(&patterns, None)?;
        samples.push(per_byte(start.elapsed(), size));
        check(found.before.len() + found.matched.len(), size)?;
        conn.close();
    }
    Ok(samples)
}

/// Our port of the stdlib's `Telnet`, the same way (run it on a blocking thread); it
/// refuses every option, as CPython's does.
pub(crate) fn ours_telnetlib(port: u16, size: usize, runs: usize) -> Result<Vec<f64>> {
    let patterns = [prompt()];
    let mut samples = Vec::new();
    for _ in 0..runs {
        let mut tn = Telnet::open(HOST, port, Some(Duration::from_secs(30)))?;
        let start = Instant::now();
        tn.write(format!("go {size}\r\n").as_bytes())?;
        let (index, _, text) = tn.expect(&patterns, None)?;
        samples.push(per_byte(start.elapsed(), size));
        if index != Some(0) {
            bail!("expect did not match: {} bytes", text.len());
        }
        // CPython's expect gives the text up to and including the match.
        check(text.len(), size)?;
        tn.close();
    }
    Ok(samples)
}

/// Run a Python client `command` that prints `elapsed=SECONDS` per run; ns per byte.
async fn python_samples(
    mut command: Command,
    size: usize,
    runs: usize,
    limit: Duration,
) -> Result<Vec<f64>> {
    command
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    // Too slow to wait for is a result, not a failure of the bench: it says so, with
    // the bound it implies.
    let output = timeout(limit, command.output()).await.map_err(|_| {
        anyhow!(
            "skipped: not done within {} s, over {:.0} ns/B",
            limit.as_secs(),
            limit.as_secs_f64() * 1e9 / (size * runs) as f64
        )
    })??;
    python_elapsed(&output, runs, |secs| secs * 1e9 / size as f64)
}

/// Python telnetlib3 5.0.1's client: `readuntil_pattern` after `go SIZE`.
pub(crate) async fn python_telnetlib3(
    python: &Python,
    port: u16,
    size: usize,
    runs: usize,
    limit: Duration,
) -> Result<Vec<f64>> {
    let mut command = python.command("expect");
    command
        .arg(port.to_string())
        .arg(size.to_string())
        .arg(runs.to_string());
    python_samples(command, size, runs, limit).await
}

/// Python 3.11's stdlib `telnetlib.Telnet.expect` after `go SIZE`.
pub(crate) async fn python_stdlib(
    port: u16,
    size: usize,
    runs: usize,
    limit: Duration,
) -> Result<Vec<f64>> {
    if !std::path::Path::new(STDLIB_PYTHON).exists() {
        bail!("skipped: no {STDLIB_PYTHON}");
    }
    let mut command = Command::new(STDLIB_PYTHON);
    command
        .args(["-W", "ignore", "-c", STDLIB_SCRIPT])
        .arg(port.to_string())
        .arg(size.to_string())
        .arg(runs.to_string());
    python_samples(command, size, runs, limit).await
}
