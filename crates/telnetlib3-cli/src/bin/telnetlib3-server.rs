//! `telnetlib3-server [host] [port]`: a Telnet server running the debug shell (or, with
//! `--pty-exec PROGRAM [-- ARGS]`, a program on a pseudo-terminal) on every connection,
//! after Python telnetlib3's command of the same name.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use telnetlib3::tls::TlsServer;
use telnetlib3_cli::{cli, logging, server};
use tracing::{info, warn};
use tracing_subscriber::filter::LevelFilter;

const PROGRAM: &str = "telnetlib3-server";

/// Telnet protocol server
#[derive(Debug, Parser)]
#[command(name = PROGRAM, version)]
struct Args {
    /// bind address
    #[arg(default_value = "localhost")]
    host: String,
    /// bind port (0: any free port, shown in the "Server ready" log line)
    #[arg(default_value_t = 6023)]
    port: u16,
    /// the shell run on each connection (--pty-exec replaces it)
    #[arg(long, value_enum, default_value = "debug")]
    shell: server::ShellKind,
    /// timeout for pending negotiation, in seconds
    #[arg(long, default_value = "1.5", value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    connect_maxwait: Duration,
    /// idle disconnect, in seconds (0 disables)
    #[arg(long, default_value = "300", value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    timeout: Duration,
    /// keep clients in line mode: no WILL SGA, no WILL ECHO; with --pty-exec, a cooked
    /// pty (the pty edits lines, the client echoes)
    #[arg(long)]
    line_mode: bool,
    /// encoding name, or 'false'/'False' to disable unicode
    #[arg(long, default_value = "utf8", value_parser = cli::parse_encoding_or_false)]
    encoding: cli::EncodingChoice,
    /// treat sessions as 8-bit clean without BINARY both ways
    #[arg(long)]
    force_binary: bool,
    /// never send IAC GA after the prompt
    #[arg(long)]
    never_send_ga: bool,
    /// MCCP compression: --compression to advertise, --no-compression to reject, omit to
    /// passively accept (default)
    #[arg(long, overrides_with = "no_compression")]
    compression: bool,
    /// reject MCCP compression (see --compression)
    #[arg(long, overrides_with = "compression")]
    no_compression: bool,
    /// terminal types of MUD clients, comma-separated, which are not sent WILL ECHO
    /// (they take it for password mode); '' for none
    #[arg(long, value_name = "TYPES", default_value_t = telnetlib3::proto::MUD_CLIENTS.join(","))]
    mud_clients: String,
    /// execute PROGRAM in a PTY for each connection (use -- to pass args)
    #[arg(long, value_name = "PROGRAM")]
    pty_exec: Option<String>,
    /// limit concurrent PTY connections (0 disables); the others get telnetlib3's busy
    /// message
    #[arg(long, value_name = "N", default_value_t = 0)]
    pty_fork_limit: usize,
    /// TERM for --pty-exec's program when the client reports no terminal type
    #[arg(long, value_name = "TERM", default_value = cli::DEFAULT_TERM, value_parser = cli::parse_term)]
    default_term: String,
    /// LANG for --pty-exec's program when the client sends none and agrees no CHARSET
    #[arg(long, value_name = "LOCALE", default_value = cli::DEFAULT_LANG, value_parser = cli::parse_locale)]
    default_lang: String,
    /// path to PEM certificate file for TLS (enables TELNETS); it may hold the private
    /// key too
    #[arg(long, value_name = "PATH")]
    ssl_certfile: Option<PathBuf>,
    /// path to PEM private key file for TLS (default: the certificate file)
    #[arg(long, value_name = "PATH", requires = "ssl_certfile")]
    ssl_keyfile: Option<PathBuf>,
    /// accept only TLS clients with a certificate signed by a CA in this PEM file
    #[arg(long, value_name = "PATH", requires = "ssl_certfile")]
    ssl_client_ca: Option<PathBuf>,
    /// accept both TLS and plain telnet on the same port; value is seconds to wait for
    /// TLS ClientHello before assuming plain telnet (default: 0.5, requires
    /// --ssl-certfile)
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "0.5",
          value_parser = cli::parse_seconds, requires = "ssl_certfile")]
    tls_auto: Option<Duration>,
    /// seconds a TLS handshake may take before the connection is dropped
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = cli::parse_seconds)]
    tls_handshake_timeout: Duration,
    /// an MSSP variable for MUD crawlers (repeatable; a name given again adds a value):
    /// the server then offers WILL MSSP and sends them to a client that agrees
    #[arg(long, value_name = "NAME=VALUE", value_parser = cli::parse_mssp)]
    mssp: Vec<(String, String)>,
    /// options to offer at once with WILL, comma separated (e.g. GMCP,MSDP for MUD
    /// clients), after telnetlib3's own requests
    #[arg(long, value_name = "OPT", value_parser = cli::parse_options, default_value = "")]
    always_will: cli::OptionList,
    /// serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9323)
    #[arg(long, value_name = "ADDR:PORT", value_parser = cli::parse_socket_addr)]
    metrics: Option<std::net::SocketAddr>,
    /// record each session as an asciicast v2 file in DIR (for asciinema play), named by
    /// time and peer
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// with --record, record what clients type too ("i" events; passwords included)
    #[arg(long, requires = "record")]
    record_input: bool,
    /// with --record, stop recording a session before its file passes BYTES
    #[arg(long, value_name = "BYTES", requires = "record",
          default_value_t = telnetlib3::record::DEFAULT_RECORD_MAX_BYTES,
          value_parser = cli::parse_record_max_bytes)]
    record_max_bytes: u64,
    /// arguments for --pty-exec's PROGRAM
    #[arg(last = true, value_name = "ARGS")]
    pty_args: Vec<String>,
    /// level name (debug, info, warning, error, ...)
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
    if args.pty_exec.is_none() && !args.pty_args.is_empty() {
        anyhow::bail!("arguments after -- are for --pty-exec's program: give --pty-exec PROGRAM");
    }
    let tls = match &args.ssl_certfile {
        Some(cert) => {
            let key = args.ssl_keyfile.as_deref().unwrap_or(cert);
            let tls = TlsServer::from_pem_files(cert, key, args.ssl_client_ca.as_deref())?;
            Some(Arc::new(tls))
        }
        None => None,
    };
    let record = match &args.record {
        Some(dir) => {
            if !dir.is_dir() {
                anyhow::bail!("--record {}: not a directory", dir.display());
            }
            let mut record = telnetlib3::record::RecordConfig::new(dir);
            record.input = args.record_input;
            record.max_bytes = args.record_max_bytes;
            Some(Arc::new(record))
        }
        None => None,
    };
    let metrics = args
        .metrics
        .map(|_| Arc::new(telnetlib3::ServerMetrics::new()));
    let options = server::Options {
        shell: args.shell,
        encoding: args.encoding.0,
        connect_maxwait: args.connect_maxwait,
        timeout: (!args.timeout.is_zero()).then_some(args.timeout),
        line_mode: args.line_mode,
        force_binary: args.force_binary,
        never_send_ga: args.never_send_ga,
        compression: cli::compression(args.compression, args.no_compression),
        mud_clients: args
            .mud_clients
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
        pty_exec: args.pty_exec,
        pty_args: args.pty_args,
        pty_fork_limit: args.pty_fork_limit,
        default_term: args.default_term,
        default_lang: args.default_lang,
        tls: tls.clone(),
        tls_auto: args.tls_auto,
        tls_handshake_timeout: args.tls_handshake_timeout,
        mssp: server::mssp_variables(&args.mssp),
        always_will: args.always_will.0,
        metrics: metrics.clone(),
        record,
    };
    if let (Some(addr), Some(metrics)) = (args.metrics, metrics) {
        let bound = telnetlib3_cli::metrics_http::serve(addr, metrics)
            .await
            .map_err(|error| anyhow::anyhow!("cannot listen on {addr} for --metrics: {error}"))?;
        info!("Metrics at http://{bound}/metrics");
    }
    let server = server::start(&args.host, args.port, &options).await?;
    let port = server.local_addrs()[0].port();
    info!(
        "Server ready on {}",
        telnetlib3::net::display_addr(&args.host, port)
    );
    if let Some(tls) = tls {
        tokio::spawn(reload_certificates(tls));
    }
    shutdown_signal().await;
    info!("Server stop.");
    server.close();
    // The closed connections' programs get their hang-up grace, then SIGKILL, on tasks
    // that the runtime's end would cut short: wait for them (boundedly).
    #[cfg(unix)]
    {
        let reaped = async {
            server.wait_closed().await;
            telnetlib3_cli::pty::wait_reaped().await;
        };
        let _ = tokio::time::timeout(2 * telnetlib3_cli::pty::HANGUP_GRACE, reaped).await;
    }
    Ok(())
}

/// Wait for Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => info!("Interrupt received, closing server."),
        () = terminate => info!("SIGTERM received, closing server."),
    }
}

/// How often the certificate files are checked for a change.
const CERTIFICATE_CHECK: Duration = Duration::from_secs(2);

/// Load the certificate and key again when they change on disk, or on SIGHUP: new
/// connections get the new ones, open ones keep theirs. A failed load keeps the old.
async fn reload_certificates(tls: Arc<TlsServer>) {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval(CERTIFICATE_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let hangup_received = async {
            match hangup.as_mut() {
                Some(stream) => stream.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hangup_received = std::future::pending::<Option<()>>();
        let result = tokio::select! {
            _ = hangup_received => {
                info!("SIGHUP received, reloading the TLS certificate.");
                tls.reload()
            }
            _ = tick.tick() => tls.reload_if_changed(),
        };
        match result {
            Ok(true) => info!("TLS certificate reloaded."),
            Ok(false) => {}
            Err(error) => warn!("TLS certificate not reloaded: {error}"),
        }
    }
}
