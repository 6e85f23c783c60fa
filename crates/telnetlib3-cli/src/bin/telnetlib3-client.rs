//! `telnetlib3-client host [port]`: for now a non-interactive pump. Standard input goes to
//! the server, the server's data to standard output, until the server closes.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use telnetlib3::{open_connection, ClientConfig};
use telnetlib3_cli::{cli, client, logging};
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
    /// terminal type sent with TTYPE and as TERM (default: $TERM, else unknown)
    #[arg(long)]
    term: Option<String>,
    /// terminal speed sent with TSPEED
    #[arg(long, default_value_t = 38400)]
    speed: u32,
    /// encoding named in LANG (`en_US.<encoding>`), e.g. utf8, cp437
    #[arg(long, default_value = "utf8")]
    encoding: String,
    /// variables NEW-ENVIRON may send, comma separated
    #[arg(long, default_value = "TERM,LANG,COLUMNS,LINES,COLORTERM")]
    send_environ: String,
    /// timeout for the TCP connection, in seconds
    #[arg(long, default_value = "10", value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    connect_timeout: Duration,
    /// least time to wait for the server's negotiation, in seconds
    #[arg(long, default_value = "0", value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    connect_minwait: Duration,
    /// most time to wait for the server's negotiation, in seconds
    #[arg(long, default_value = "3", value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    connect_maxwait: Duration,
    /// options to offer at once with WILL, comma separated (e.g. NAWS,TTYPE)
    #[arg(long, value_parser = cli::parse_options, default_value = "")]
    always_will: cli::OptionList,
    /// options to ask for at once with DO, comma separated
    #[arg(long, value_parser = cli::parse_options, default_value = "")]
    always_do: cli::OptionList,
    /// options always refused with WONT, comma separated
    #[arg(long, value_parser = cli::parse_options, default_value = "")]
    always_wont: cli::OptionList,
    /// options always refused with DONT, comma separated
    #[arg(long, value_parser = cli::parse_options, default_value = "")]
    always_dont: cli::OptionList,
    /// log level (debug, info, warning, error, ...)
    #[arg(long, default_value = "warn", value_parser = cli::parse_loglevel)]
    loglevel: LevelFilter,
    #[command(flatten)]
    log: logging::LogArgs,
}

fn main() -> ExitCode {
    let args: Args = match cli::parse_args(PROGRAM) {
        Ok(args) => args,
        Err(status) => return status,
    };
    if let Err(status) = cli::init_logging(PROGRAM, args.loglevel, &args.log) {
        return status;
    }
    cli::run_main(PROGRAM, cli::Runtime::CurrentThread, run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    // A bad encoding name is the user's error: say so before connecting.
    let encoding = telnetlib3::text::Encoding::from_name(&args.encoding)?;
    let mut config = ClientConfig::default();
    config.term = args
        .term
        .or_else(|| std::env::var("TERM").ok())
        .unwrap_or_else(|| "unknown".to_string());
    config.tspeed = (args.speed, args.speed);
    config.lang = format!("en_US.{}", encoding.name());
    config.send_environ = args
        .send_environ
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(String::from)
        .collect();
    config.connect_timeout = args.connect_timeout;
    config.connect_minwait = args.connect_minwait;
    config.connect_maxwait = args.connect_maxwait;
    config.always_will = args.always_will.0;
    config.always_do = args.always_do.0;
    for option in args.always_wont.0 {
        config.policy.set_local(option, false);
    }
    for option in args.always_dont.0 {
        config.policy.set_remote(option, false);
    }
    let (mut reader, mut writer) = open_connection(&args.host, args.port, config).await?;
    info!(
        "Connected to {}",
        telnetlib3::display_addr(&args.host, args.port)
    );
    client::pump(
        &mut reader,
        &mut writer,
        stdin_chunks(),
        &mut std::io::stdout(),
    )
    .await?;
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
