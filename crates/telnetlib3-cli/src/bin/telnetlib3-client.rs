//! `telnetlib3-client host [port]`: for now a non-interactive pump. Standard input goes to
//! the server, the server's data to standard output, until the server closes.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use telnetlib3::Connection;
use telnetlib3_cli::{cli, client};
use tokio::sync::mpsc;
use tracing::{debug, info};
use tracing_subscriber::filter::LevelFilter;

const PROGRAM: &str = "telnetlib3-client";

/// Telnet protocol client
#[derive(Debug, Parser)]
#[command(name = PROGRAM, version)]
struct Args {
    /// hostname
    host: String,
    /// port number
    #[arg(default_value_t = 23)]
    port: u16,
    /// timeout for the TCP connection, in seconds
    #[arg(long, default_value = "10", value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    connect_timeout: Duration,
    /// log level (debug, info, warning, error, ...)
    #[arg(long, default_value = "warn", value_parser = cli::parse_loglevel)]
    loglevel: LevelFilter,
}

fn main() -> ExitCode {
    let args: Args = match cli::parse_args(PROGRAM) {
        Ok(args) => args,
        Err(status) => return status,
    };
    cli::init_logging(args.loglevel);
    cli::run_main(PROGRAM, cli::Runtime::CurrentThread, run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let stream = telnetlib3::connect(&args.host, args.port, args.connect_timeout).await?;
    info!(
        "Connected to {}",
        telnetlib3::display_addr(&args.host, args.port)
    );
    if let Err(error) = stream.set_nodelay(true) {
        debug!("cannot set TCP_NODELAY: {error}");
    }
    let mut conn = Connection::new(stream, client::session());
    client::pump(&mut conn, stdin_chunks(), &mut std::io::stdout()).await?;
    Ok(())
}

/// Standard input, read on its own thread (a blocking read cannot be cancelled, and the
/// thread must not hold the process open), in chunks as they come.
fn stdin_chunks() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(4);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0; 4096];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => {
                    debug!("cannot read standard input: {error}");
                    break;
                }
            }
        }
    });
    rx
}
