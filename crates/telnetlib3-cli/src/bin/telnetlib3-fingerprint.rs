//! `telnetlib3-fingerprint HOST [PORT]`: probe a Telnet server and report what it
//! offers, requests and refuses, in telnetlib3's fingerprint JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use telnetlib3::proto::TelnetOption;
use telnetlib3_cli::fingerprint::record::{
    culled_for_display, default_data_dir, python_json, store_name, store_server_record,
    write_atomic, StoreLimits,
};
use telnetlib3_cli::fingerprint::server_probe::{probe_server, ScanType, ServerProbeSettings};
use telnetlib3_cli::{cli, logging};
use tracing_subscriber::filter::LevelFilter;

const PROGRAM: &str = "telnetlib3-fingerprint";

/// `--scan-type` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Scan {
    Quick,
    Full,
}

/// Options named (`GMCP`) or numbered (`201`), comma-separated.
fn parse_option_numbers(text: &str) -> Result<Vec<u8>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            name.parse::<u8>()
                .ok()
                .or_else(|| TelnetOption::from_name(name).map(TelnetOption::code))
                .ok_or_else(|| format!("unknown telnet option {name:?} (a name or 0-255)"))
        })
        .collect()
}

/// A byte count of at least 1.
fn parse_bytes(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(format!("'{text}' is not a positive number of bytes")),
    }
}

/// Fingerprint a remote telnet server
///
/// Connects, answers the server's negotiation as telnetlib3's client does, reads the
/// banner and answers its first prompts, then asks for each option with DO, probes the
/// wrong direction (DO NAWS, DO TTYPE, WILL ECHO) and re-requests what was agreed (loop
/// detection). The record is printed (without empty fields) and stored under
/// `DATA_DIR/server/<fingerprint>/`, or written to --save-json.
#[derive(Debug, Parser)]
#[command(name = PROGRAM, version)]
struct Args {
    /// remote hostname or IP
    host: String,
    /// port number
    #[arg(default_value_t = 23)]
    port: u16,
    /// always send DO for this option (comma-separated, named like GMCP or numeric like
    /// 201, repeatable)
    #[arg(long, value_name = "OPT", value_parser = parse_option_numbers)]
    always_do: Vec<Vec<u8>>,
    /// always send WILL for this option (comma-separated, named like MXP or numeric like
    /// 91, repeatable)
    #[arg(long, value_name = "OPT", value_parser = parse_option_numbers)]
    always_will: Vec<Vec<u8>>,
    /// max bytes per banner read
    #[arg(long, default_value_t = 65536, value_parser = parse_bytes)]
    banner_max_bytes: usize,
    /// max seconds to wait for banner data
    #[arg(long, default_value = "8", value_parser = cli::parse_seconds)]
    banner_max_wait: Duration,
    /// seconds of silence before considering banner complete
    #[arg(long, default_value = "2", value_parser = cli::parse_seconds)]
    banner_quiet_time: Duration,
    /// TCP connection timeout in seconds
    #[arg(long, default_value = "10", value_parser = cli::parse_seconds)]
    connect_timeout: Duration,
    /// directory for fingerprint data (default: $TELNETLIB3_DATA_DIR, else ./data)
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// character encoding of the remote server, for the banner text (ascii, utf-8,
    /// latin-1; a CHARSET agreement overrides it)
    #[arg(long, value_name = "CODEC", default_value = "ascii")]
    encoding: String,
    /// log level
    #[arg(long, default_value = "warn", value_parser = cli::parse_loglevel)]
    loglevel: LevelFilter,
    #[command(flatten)]
    log: logging::LogArgs,
    /// max seconds since connect to wait for MSSP data
    #[arg(long, default_value = "5", value_parser = cli::parse_seconds)]
    mssp_wait: Duration,
    /// write fingerprint JSON to this path (instead of the data directory)
    #[arg(long, value_name = "PATH")]
    save_json: Option<PathBuf>,
    /// probe depth: 'quick' probes core options only, 'full' includes legacy options
    #[arg(long, value_enum, default_value = "quick")]
    scan_type: Scan,
    /// environment variable to send (repeatable); KEY alone sends it empty
    #[arg(long, value_name = "KEY=VALUE")]
    send_env: Vec<String>,
    /// store this name for the fingerprint in fingerprint_names.json
    #[arg(long, value_name = "NAME")]
    set_name: Option<String>,
    /// suppress fingerprint output to stdout
    #[arg(long)]
    silent: bool,
    /// terminal type sent in response to TTYPE requests
    #[arg(long, default_value = "VT100", value_parser = cli::parse_term)]
    ttype: String,
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
    let mut settings = ServerProbeSettings::new(args.host.clone(), args.port);
    settings.scan = match args.scan_type {
        Scan::Quick => ScanType::Quick,
        Scan::Full => ScanType::Full,
    };
    settings.terminal_type = args.ttype;
    settings.encoding = args.encoding;
    settings.banner_quiet_time = args.banner_quiet_time;
    settings.banner_max_wait = args.banner_max_wait;
    settings.banner_max_bytes = args.banner_max_bytes;
    settings.mssp_wait = args.mssp_wait;
    settings.connect_timeout = args.connect_timeout;
    settings.always_will = args.always_will.concat();
    settings.always_do = args.always_do.concat();
    settings.send_env = args
        .send_env
        .iter()
        .map(|item| match item.split_once('=') {
            Some((key, value)) => (key.to_owned(), value.to_owned()),
            None => (item.clone(), String::new()),
        })
        .collect();

    let record = probe_server(&settings).await?;
    let hash = record["server-probe"]["fingerprint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    if let Some(path) = &args.save_json {
        write_atomic(path, &record).with_context(|| format!("cannot write {}", path.display()))?;
        tracing::info!("saved server fingerprint to {}", path.display());
    } else {
        store_server_record(&data_dir, &record, StoreLimits::from_env())
            .with_context(|| format!("cannot store the fingerprint in {}", data_dir.display()))?;
    }
    if let Some(name) = &args.set_name {
        store_name(&data_dir, &hash, name)
            .with_context(|| format!("cannot name the fingerprint in {}", data_dir.display()))?;
        tracing::info!("set name {name:?} for {hash}");
    }
    if !args.silent {
        println!("{}", python_json(&culled_for_display(&record), Some(2)));
    }
    Ok(())
}
