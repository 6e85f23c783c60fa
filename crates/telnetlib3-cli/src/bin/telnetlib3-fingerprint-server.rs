//! `telnetlib3-fingerprint-server [HOST] [PORT]`: a Telnet server whose shell probes each
//! client and stores what it found in telnetlib3's fingerprint JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use telnetlib3::{create_server, ServerConfig, TelnetReader, TelnetWriter};
use telnetlib3_cli::fingerprint::client_probe::{display_text, probe_client, protocol_config};
use telnetlib3_cli::fingerprint::record::{default_data_dir, store_client_record, StoreLimits};
use telnetlib3_cli::{cli, logging};
use tracing::{info, warn};
use tracing_subscriber::filter::LevelFilter;

const PROGRAM: &str = "telnetlib3-fingerprint-server";

/// Telnet server that fingerprints each client
///
/// Runs telnetlib3's opening negotiation (terminal type cycle, NEW-ENVIRON with an
/// extended list of variables, NAWS, CHARSET), then asks each client for every option
/// with DO and stores the record as `DATA_DIR/client/<fingerprint>/<probe>/<session>.json`,
/// in telnetlib3's format. The client is shown the stored record (as telnetlib3's display
/// shows it without its optional table packages) and disconnected.
#[derive(Debug, Parser)]
#[command(name = PROGRAM, version)]
struct Args {
    /// bind address
    #[arg(default_value = "localhost")]
    host: String,
    /// bind port (0: any free port, shown in the "Server ready" log line)
    #[arg(default_value_t = 6023)]
    port: u16,
    /// directory for fingerprint data (default: $TELNETLIB3_DATA_DIR, else ./data)
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// timeout for pending negotiation
    #[arg(long, default_value = "1.5", value_parser = cli::parse_seconds)]
    connect_maxwait: Duration,
    /// idle disconnect (0 disables)
    #[arg(long, default_value = "300", value_parser = cli::parse_seconds)]
    timeout: Duration,
    /// keep clients in NVT line mode by not sending WILL SGA or WILL ECHO
    #[arg(long)]
    line_mode: bool,
    /// force binary transmission
    #[arg(long)]
    force_binary: bool,
    /// log level
    #[arg(long, default_value = "info", value_parser = cli::parse_loglevel)]
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
    cli::run_main(PROGRAM, cli::Runtime::MultiThread, run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let data_dir = Arc::new(args.data_dir.unwrap_or_else(default_data_dir));
    let timeout = (!args.timeout.is_zero()).then_some(args.timeout);
    let mut config = ServerConfig::default();
    config.host = args.host.clone();
    config.port = args.port;
    config.connect_maxwait = args.connect_maxwait;
    config.timeout = timeout;
    config.plan.line_mode = args.line_mode;
    config.plan.force_binary = args.force_binary;
    config.protocol = Arc::new(protocol_config(&config.protocol));
    let limits = StoreLimits::from_env();
    let server = create_server(
        config,
        move |_reader: TelnetReader, mut writer: TelnetWriter| {
            let data_dir = Arc::clone(&data_dir);
            async move {
                let found = probe_client(&writer, timeout).await;
                let hash = found.record["telnet-probe"]["fingerprint"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let stored = match store_client_record(
                    &data_dir,
                    &found.record,
                    &found.session_hash,
                    limits,
                ) {
                    Ok(Some(path)) => {
                        info!("saved client fingerprint {hash} to {}", path.display());
                        Some(path)
                    }
                    Ok(None) => None,
                    Err(error) => {
                        warn!("failed to save fingerprint {hash}: {error}");
                        None
                    }
                };
                // As telnetlib3: the stored record (with the sessions of earlier visits)
                // is shown; nothing when it was not stored.
                let shown = stored
                    .and_then(|path| std::fs::read_to_string(path).ok())
                    .and_then(|text| serde_json::from_str(&text).ok());
                if let Some(stored) = shown {
                    let _ = writer.write(&display_text(&stored)).await;
                }
                writer.close().await;
            }
        },
    )
    .await?;
    let port = server.local_addrs()[0].port();
    info!(
        "Server ready on {}",
        telnetlib3::net::display_addr(&args.host, port)
    );
    tokio::signal::ctrl_c().await?;
    info!("Server stop.");
    server.close();
    Ok(())
}
