//! Case 18 (issue 17): what metrics and session recordings cost. The same server, plain,
//! with [`ServerMetrics`], and with a recording of every session, side by side: bulk
//! throughput in this process (case 1's transfer, with 64 KiB writes and with the debug
//! shell's 84-byte dump lines, one recorded event each), and the connection rate and
//! server CPU of child servers (case 4's batches). The runs of the three alternate, so
//! that a change in the machine's load falls on all of them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use telnetlib3::record::RecordConfig;
use telnetlib3::{ServerConfig, ServerMetrics};

use super::{
    ascii_block, bulk_once_ours, bulk_server_with, connection_batch, cpu_ns_by_thread,
    cpu_ns_since, dump_block, local_server_config, mb_per_s, median_min_max, port_of, Bulk,
    ChildServer, Client, Direction, Pieces, Sizes, IN_FLIGHT,
};

/// The case names, for `--only`.
pub(crate) const CASE: &str = "18 observability cost";

/// The goals: metrics cost at most 3 % of bulk throughput, recording 15 %.
const METRICS_GOAL: f64 = 3.0;
const RECORD_GOAL: f64 = 15.0;

/// The three servers compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Plain,
    Metrics,
    Record,
}

const VARIANTS: [Variant; 3] = [Variant::Plain, Variant::Metrics, Variant::Record];

impl Variant {
    /// The `idle-server --observe` value for this variant.
    fn child_flag(self, dir: &Path) -> Option<String> {
        match self {
            Self::Plain => None,
            Self::Metrics => Some("metrics".into()),
            Self::Record => Some(format!("record={}", dir.display())),
        }
    }
}

/// A scratch directory for the recordings, emptied between runs and removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self> {
        let dir =
            std::env::temp_dir().join(format!("telnetlib3-bench-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    /// Remove the recordings made so far (they would fill the disk over the runs).
    fn empty(&self) -> Result<()> {
        for entry in std::fs::read_dir(&self.0)? {
            std::fs::remove_file(entry?.path())?;
        }
        Ok(())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server configuration of `variant`: recordings are not bounded, so that every
/// byte of a transfer is recorded (the default bound would stop after 10 MiB).
pub(crate) fn config(observe: Option<&str>) -> Result<ServerConfig> {
    let mut config = local_server_config();
    match observe {
        None => {}
        Some("metrics") => config.metrics = Some(Arc::new(ServerMetrics::new())),
        Some(other) => {
            let dir = other
                .strip_prefix("record=")
                .ok_or_else(|| anyhow!("--observe is metrics or record=DIR, not {other}"))?;
            let mut record = RecordConfig::new(dir);
            record.max_bytes = u64::MAX;
            config.record = Some(Arc::new(record));
        }
    }
    Ok(config)
}

/// One measure of the three variants: medians per variant.
pub(crate) struct Compared {
    pub(crate) name: &'static str,
    pub(crate) unit: &'static str,
    /// Higher is better (a rate) or lower (a cost per connection).
    pub(crate) higher_is_better: bool,
    /// Samples of plain, metrics, record.
    pub(crate) samples: [Vec<f64>; 3],
    /// Whether the goals are about this measure.
    pub(crate) goals: bool,
}

/// Bulk s2c from our server to our client in this process, `pieces` as the shell writes:
/// the throughput as the client sees it, and the CPU time of the whole process (server,
/// client and recorder threads) per byte, counted until the server has closed the
/// connection (for a recorded one: once its file is written and closed), so that no
/// run's recording spills into the next.
async fn bulk(
    names: [&'static str; 2],
    pieces: Pieces,
    sizes: Sizes,
    scratch: &Scratch,
) -> Result<[Compared; 2]> {
    let block = Arc::new(if pieces == Pieces::Blocks {
        ascii_block()
    } else {
        dump_block()
    });
    let total = sizes.bulk / block.len() * block.len();
    let setup = Bulk {
        direction: Direction::ServerToClient,
        line_mode: false,
        text: false,
        pieces,
    };
    let mut servers = Vec::new();
    for variant in VARIANTS {
        let flag = variant.child_flag(&scratch.0);
        let config = config(flag.as_deref())?;
        servers.push(bulk_server_with(config, setup, Arc::clone(&block), total, false).await?);
    }
    let mut rate: [Vec<f64>; 3] = Default::default();
    let mut cpu: [Vec<f64>; 3] = Default::default();
    let client = ClientApart::start(setup, Arc::clone(&block), total)?;
    // One transfer each to warm up, not counted.
    for server in &servers {
        client.transfer(port_of(server)).await?;
        closed(server).await?;
    }
    scratch.empty()?;
    for _ in 0..sizes.runs {
        for (i, server) in servers.iter().enumerate() {
            let before = cpu_ns_by_thread("self")?;
            let elapsed = client.transfer(port_of(server)).await?;
            closed(server).await?;
            let used = cpu_ns_since("self", &before)?;
            rate[i].push(mb_per_s(total, elapsed));
            cpu[i].push(used as f64 / total as f64);
            scratch.empty()?;
        }
    }
    for server in servers {
        server.close();
    }
    Ok([
        Compared {
            name: names[0],
            unit: "MB/s",
            higher_is_better: true,
            samples: rate,
            goals: true,
        },
        Compared {
            name: names[1],
            unit: "ns/B",
            higher_is_better: false,
            samples: cpu,
            goals: false,
        },
    ])
}

/// A thread of its own running [`bulk_once_ours`] on a runtime of its own: the client
/// never shares a worker with the server's tasks (on the bench's runtime a transfer ran
/// either at 1-2 GB/s or at 4-6 GB/s, as the two ends' tasks met on one worker or not,
/// and the variants' medians fell on either side by chance). One thread for all the
/// runs, so that its CPU time stays counted in `/proc/self/task`.
struct ClientApart {
    transfers: std::sync::mpsc::Sender<Transfer>,
}

/// A transfer for [`ClientApart`]'s thread: the server's port, and where its time goes.
type Transfer = (u16, tokio::sync::oneshot::Sender<Result<Duration>>);

impl ClientApart {
    fn start(setup: Bulk, block: Arc<Vec<u8>>, total: usize) -> Result<Self> {
        let (transfers, queue) = std::sync::mpsc::channel::<Transfer>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("bench-client".into())
            .spawn(move || {
                for (port, done) in queue {
                    let outcome = runtime.block_on(bulk_once_ours(port, setup, &block, total));
                    let _ = done.send(outcome);
                }
            })?;
        Ok(Self { transfers })
    }

    /// One transfer from the server on `port`.
    async fn transfer(&self, port: u16) -> Result<Duration> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.transfers
            .send((port, done))
            .map_err(|_| anyhow!("the client thread ended"))?;
        result.await?
    }
}

/// Wait until `server` has no connection left (a recorded one ends once its file is
/// closed).
async fn closed(server: &telnetlib3::Server) -> Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server.connection_count() > 0 {
        if std::time::Instant::now() > deadline {
            return Err(anyhow!(
                "the server kept its connection 60 s after the transfer"
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// Case 4's batches (50 in flight, the minimal client) against a child server of each
/// variant: the rate and the server's CPU per connection.
async fn connections(sizes: Sizes, scratch: &Scratch) -> Result<[Compared; 2]> {
    let mut servers = Vec::new();
    for variant in VARIANTS {
        let mut command = tokio::process::Command::new(std::env::current_exe()?);
        command.arg("idle-server");
        if let Some(flag) = variant.child_flag(&scratch.0) {
            command.arg("--observe").arg(flag);
        }
        servers.push(ChildServer::start(command).await?);
    }
    for server in &servers {
        connection_batch(
            server,
            Client::Refusing,
            sizes.connections.min(200),
            IN_FLIGHT,
        )
        .await?;
    }
    scratch.empty()?;
    let mut rate: [Vec<f64>; 3] = Default::default();
    let mut cpu: [Vec<f64>; 3] = Default::default();
    for _ in 0..sizes.runs {
        for (i, server) in servers.iter().enumerate() {
            let batch =
                connection_batch(server, Client::Refusing, sizes.connections, IN_FLIGHT).await?;
            rate[i].push(batch.rate);
            cpu[i].push(batch.cpu_us);
        }
    }
    for server in servers {
        server.stop().await;
    }
    Ok([
        Compared {
            name: "18c connection rate, minimal client (case 4)",
            unit: "conn/s",
            higher_is_better: true,
            samples: rate,
            goals: false,
        },
        Compared {
            name: "18d server CPU per connection (case 4)",
            unit: "us/conn",
            higher_is_better: false,
            samples: cpu,
            goals: false,
        },
    ])
}

/// Run case 18 and print its table; `Err` if a measure failed (its row says why).
pub(crate) async fn run(sizes: Sizes) -> Result<()> {
    let scratch = Scratch::new()?;
    let mut results: Vec<Result<Compared, (&'static str, String)>> = Vec::new();
    for (names, pieces) in [
        (
            [
                "18a s2c bulk ASCII, 64 KiB writes (case 1)",
                "18a' CPU per byte of 18a (server, client, recorder)",
            ],
            Pieces::Blocks,
        ),
        (
            [
                "18b s2c bulk dump lines, 84-byte writes",
                "18b' CPU per byte of 18b (server, client, recorder)",
            ],
            Pieces::Lines,
        ),
    ] {
        eprintln!("running {}", names[0]);
        match bulk(names, pieces, sizes, &scratch).await {
            Ok(compared) => results.extend(compared.into_iter().map(Ok)),
            Err(error) => results.push(Err((names[0], format!("{error:#}")))),
        }
    }
    eprintln!("running 18c/18d connections");
    match connections(sizes, &scratch).await {
        Ok(compared) => results.extend(compared.into_iter().map(Ok)),
        Err(error) => results.push(Err(("18c/18d connections", format!("{error:#}")))),
    }
    println!();
    println!(
        "Case 18 (issue 17): the same server plain, with --metrics (ServerMetrics), and with --record \
         (every session recorded, unbounded, input not recorded); medians, min - max; cost \
         = how much worse than plain. 18a/18b: the server in this process, the client on a \
         thread and runtime of its own; 18a'/18b': this process's CPU time (all threads) \
         per byte, each run counted until the server closed the connection (for a \
         recorded one: its file written and closed). Issue 17's goals: metrics <= \
         {METRICS_GOAL}%, recording <= {RECORD_GOAL}% of bulk throughput (printed, not \
         asserted)."
    );
    println!();
    println!("| case | plain | + metrics | metrics cost | + record | record cost |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut failed = false;
    for result in &results {
        match result {
            Ok(compared) => println!("{}", row(compared)),
            Err((name, error)) => {
                failed = true;
                println!("| {name} | error: {error} | | | | |");
            }
        }
    }
    match writer_alone(&scratch, sizes) {
        Ok(figures) => println!(
            "18e the asciicast writer alone (JSON lines, UTF-8 decoding included), 64 KiB \
             events of 18a's / 18b's data, 18a's size and runs, medians, and the file \
             system alone writing the same file (the floor for any recorder): {figures}"
        ),
        Err(error) => {
            failed = true;
            println!("18e the asciicast writer alone: error: {error:#}");
        }
    }
    if failed {
        Err(anyhow!("case 18 failed"))
    } else {
        Ok(())
    }
}

/// The recording's own work, without a connection: what each recorded 64 KiB costs the
/// driver, into memory and into a file in the scratch directory.
fn writer_alone(scratch: &Scratch, sizes: Sizes) -> Result<String> {
    use std::io::Write as _;
    use std::time::{Duration, Instant};
    use telnetlib3::record::{Asciicast, Header};
    let header = Header {
        width: 80,
        height: 24,
        timestamp: 0,
        term: None,
    };
    let utf8 = telnetlib3::text::Encoding::from_name("utf-8")?;
    let total = sizes.bulk;
    let mut figures = Vec::new();
    for (name, block) in [("ASCII", ascii_block()), ("dump lines", dump_block())] {
        for to_file in [false, true] {
            let mut samples = Vec::new();
            for _ in 0..sizes.runs {
                let out: Box<dyn std::io::Write> = if to_file {
                    let file = std::fs::File::create(scratch.0.join("alone.cast"))?;
                    Box::new(std::io::BufWriter::with_capacity(64 << 10, file))
                } else {
                    Box::new(std::io::sink())
                };
                let mut cast = Asciicast::new(out, &header, &utf8, u64::MAX)?;
                let start = Instant::now();
                let mut at = Duration::ZERO;
                let mut written = 0;
                while written < total {
                    // Apart by more than the coalescing window: one event per block.
                    at += Duration::from_millis(20);
                    cast.output(at, &block);
                    written += block.len();
                }
                cast.finish()?.flush()?;
                samples.push(mb_per_s(written, start.elapsed()));
                scratch.empty()?;
            }
            let (median, ..) = median_min_max(&samples);
            let per_block = block.len() as f64 / median;
            let sink = if to_file { "file" } else { "memory" };
            figures.push(format!(
                "{name} to {sink} {median:.0} MB/s ({per_block:.0} us per 64 KiB)"
            ));
        }
        // The anchor: the file system alone taking the same recording's bytes (made
        // once in memory), in the same 64 KiB writes; what any recorder must pay.
        let events = total / block.len();
        let recorded = events * block.len();
        let mut cast = Asciicast::new(Vec::new(), &header, &utf8, u64::MAX)?;
        let mut at = Duration::ZERO;
        for _ in 0..events {
            at += Duration::from_millis(20);
            cast.output(at, &block);
        }
        let json = cast.finish()?;
        let mut samples = Vec::new();
        for _ in 0..sizes.runs {
            let mut file = std::fs::File::create(scratch.0.join("alone.cast"))?;
            let start = Instant::now();
            for piece in json.chunks(64 << 10) {
                file.write_all(piece)?;
            }
            drop(file);
            samples.push(mb_per_s(recorded, start.elapsed()));
            scratch.empty()?;
        }
        let (median, ..) = median_min_max(&samples);
        let per_block = block.len() as f64 / median;
        figures.push(format!(
            "{name}'s recording written by write(2) alone {median:.0} MB/s of session \
             data ({per_block:.0} us per 64 KiB; {:.2} bytes of file per byte)",
            json.len() as f64 / recorded as f64
        ));
    }
    Ok(figures.join(", "))
}

/// A table row: the three medians (min - max) and the two costs in %.
fn row(compared: &Compared) -> String {
    let [plain, metrics, record] = &compared.samples;
    let (plain_median, ..) = median_min_max(plain);
    let cell = |samples: &[f64]| {
        let (median, min, max) = median_min_max(samples);
        format!("{median:.1} ({min:.1} - {max:.1}) {}", compared.unit)
    };
    let cost = |samples: &[f64], goal: f64| {
        let (median, ..) = median_min_max(samples);
        let cost = if compared.higher_is_better {
            (plain_median - median) / plain_median * 100.0
        } else {
            (median - plain_median) / plain_median * 100.0
        };
        if compared.goals {
            let met = if cost <= goal { "met" } else { "NOT met" };
            format!("{cost:+.1}% (goal <= {goal}%: {met})")
        } else {
            format!("{cost:+.1}%")
        }
    };
    format!(
        "| {} | {} | {} | {} | {} | {} |",
        compared.name,
        cell(plain),
        cell(metrics),
        cost(metrics, METRICS_GOAL),
        cell(record),
        cost(record, RECORD_GOAL),
    )
}
