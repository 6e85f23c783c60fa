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
    /// the shell run on each connection: debug, echo, wargame, relay (see --relay-to),
    /// or a PROGRAM run with pipes, no pty, as inetd runs one (use -- to pass args);
    /// --pty-exec replaces it
    #[arg(long, value_name = "SHELL|PROGRAM", default_value = "debug", value_parser = cli::parse_shell)]
    shell: cli::ShellChoice,
    /// where --shell relay connects a client that gave the passcode
    #[arg(long, value_name = "HOST:PORT", value_parser = cli::parse_host_port)]
    relay_to: Option<(String, u16)>,
    /// the passcode --shell relay asks for ('' asks none)
    #[arg(long, value_name = "CODE", default_value = telnetlib3_cli::relay::DEFAULT_PASSCODE)]
    relay_passcode: String,
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
    /// end a connection's MCCP2 stream after this many seconds without output, freeing
    /// its compressor, and start a new one with the next output; 0 never does
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = cli::parse_seconds)]
    compression_idle_release: Duration,
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
    /// each connection begins with a PROXY protocol header (v1 or v2, as HAProxy's
    /// send-proxy / send-proxy-v2 write it) naming the client; needs --trusted-proxy
    #[arg(long, requires = "trusted_proxy")]
    proxy_protocol: bool,
    /// a load balancer allowed to send PROXY headers: an address or a network
    /// (repeatable); connections from anywhere else are refused
    #[arg(long, value_name = "CIDR", value_parser = cli::parse_network, requires = "proxy_protocol")]
    trusted_proxy: Vec<telnetlib3::IpNet>,
    /// share the port with other server processes (SO_REUSEPORT): the kernel spreads
    /// new connections among them
    #[arg(long)]
    reuse_port: bool,
    /// at most N connections at once; one more is sent a one-line refusal and closed (0:
    /// no limit)
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_connections: usize,
    /// at most N connections at once from one address (0: no limit)
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_per_ip: usize,
    /// check if client can render wide unicode (rejects bots)
    #[arg(long)]
    robot_check: bool,
    /// periodic status log interval in seconds (0 to disable). status only logged when
    /// connected clients has changed.
    #[arg(long, value_name = "SECONDS", default_value = "20", value_parser = cli::parse_seconds)]
    status_interval: Duration,
    /// on SIGTERM: stop accepting, send --drain-message to every session, let them go on
    /// this many seconds, then close them (a second SIGTERM or Ctrl-C closes at once)
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = cli::parse_seconds)]
    drain_timeout: Duration,
    /// what each session is sent on SIGTERM; backslash escapes \r \n \t \e \\ \xNN
    #[arg(long, value_name = "TEXT", default_value = r"\r\nServer restarting, please reconnect.\r\n",
          value_parser = parse_message)]
    drain_message: Message,
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
    /// arguments for --pty-exec's or --shell's PROGRAM
    #[arg(last = true, value_name = "ARGS")]
    pty_args: Vec<String>,
    /// level name (debug, info, warning, error, ...)
    #[arg(long, default_value = "info", value_parser = cli::parse_loglevel)]
    loglevel: LevelFilter,
    #[command(flatten)]
    log: logging::LogArgs,
}

/// `--drain-message`'s bytes.
#[derive(Clone, Debug)]
struct Message(Vec<u8>);

fn parse_message(text: &str) -> Result<Message, String> {
    cli::parse_escaped(text).map(Message)
}

fn main() -> ExitCode {
    let args: Args = match cli::parse_args(PROGRAM) {
        Ok(args) => args,
        Err(status) => return status,
    };
    if let Err(status) = cli::init_logging(PROGRAM, args.loglevel, &args.log) {
        return status;
    }
    // Before any thread starts: taking them unsets LISTEN_FDS and LISTEN_PID, so that
    // the programs --pty-exec runs do not take them for their own.
    let activated = match activated_sockets() {
        Ok(sockets) => sockets,
        Err(error) => {
            eprintln!("{PROGRAM}: error: {error}");
            return ExitCode::FAILURE;
        }
    };
    cli::run_main(PROGRAM, cli::Runtime::MultiThread, run(args, activated))
}

/// The listening TCP sockets systemd's socket activation passed (`LISTEN_FDS`, for this
/// process's `LISTEN_PID`), in order; none when started otherwise.
fn activated_sockets() -> anyhow::Result<Vec<std::net::TcpListener>> {
    let mut passed = listenfd::ListenFd::from_env();
    (0..passed.len())
        .filter_map(|index| {
            passed
                .take_tcp_listener(index)
                .map_err(|error| {
                    anyhow::anyhow!("passed socket #{index} is not a listening TCP socket: {error}")
                })
                .transpose()
        })
        .collect()
}

/// Tell the service manager how the server stands, when it asked (`NOTIFY_SOCKET`).
fn notify(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(state) {
        warn!("cannot notify the service manager: {error}");
    }
}

async fn run(args: Args, activated: Vec<std::net::TcpListener>) -> anyhow::Result<()> {
    let (shell, shell_program) = match args.shell {
        cli::ShellChoice::Builtin(kind) => (kind, None),
        cli::ShellChoice::Program(program) => (server::ShellKind::Debug, Some(program)),
    };
    if args.pty_exec.is_none() && shell_program.is_none() && !args.pty_args.is_empty() {
        anyhow::bail!(
            "arguments after -- are for a program: give --pty-exec PROGRAM or --shell PROGRAM"
        );
    }
    if args.pty_exec.is_some() && shell_program.is_some() {
        anyhow::bail!("--pty-exec and --shell PROGRAM each run a program: give one");
    }
    if args.relay_to.is_some() != (shell == server::ShellKind::Relay) {
        anyhow::bail!("--relay-to HOST:PORT and --shell relay go together");
    }
    let relay = args
        .relay_to
        .map(|(host, port)| telnetlib3_cli::relay::RelayConfig {
            host,
            port,
            passcode: Some(args.relay_passcode).filter(|code| !code.is_empty()),
        });
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
        shell,
        encoding: args.encoding.0,
        connect_maxwait: args.connect_maxwait,
        timeout: (!args.timeout.is_zero()).then_some(args.timeout),
        line_mode: args.line_mode,
        force_binary: args.force_binary,
        never_send_ga: args.never_send_ga,
        compression: cli::compression(args.compression, args.no_compression),
        compression_idle_release: cli::idle_release(args.compression_idle_release),
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
        proxy_protocol: args
            .proxy_protocol
            .then(|| telnetlib3::ProxyProtocol::new(args.trusted_proxy)),
        reuse_port: args.reuse_port,
        shell_program,
        relay,
        max_connections: (args.max_connections > 0).then_some(args.max_connections),
        max_per_ip: (args.max_per_ip > 0).then_some(args.max_per_ip),
        robot_check: args.robot_check,
        metrics: metrics.clone(),
        record,
    };
    if let (Some(addr), Some(metrics)) = (args.metrics, metrics) {
        let bound = telnetlib3_cli::metrics_http::serve(addr, metrics)
            .await
            .map_err(|error| anyhow::anyhow!("cannot listen on {addr} for --metrics: {error}"))?;
        info!("Metrics at http://{bound}/metrics");
    }
    // Before "Server ready": from then on a SIGTERM drains rather than kills.
    let mut signals = Signals::new();
    let server = if activated.is_empty() {
        let listen = server::Listen::Address {
            host: args.host.clone(),
            port: args.port,
        };
        let server = server::start_on(listen, &options).await?;
        let port = server.local_addrs()[0].port();
        info!(
            "Server ready on {}",
            telnetlib3::net::display_addr(&args.host, port)
        );
        server
    } else {
        let server = server::start_on(server::Listen::Sockets(activated), &options).await?;
        let addrs: Vec<String> = server
            .local_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        info!(
            "Server ready on {} (sockets passed by the service manager)",
            addrs.join(", ")
        );
        server
    };
    // systemd's Type=notify: ready now (nothing happens without NOTIFY_SOCKET).
    notify(&[sd_notify::NotifyState::Ready]);
    if let Some(tls) = tls {
        tokio::spawn(reload_certificates(tls));
    }
    let status = async {
        if args.status_interval.is_zero() {
            std::future::pending().await
        } else {
            server.log_status(args.status_interval).await;
        }
    };
    let stop = tokio::select! {
        stop = signals.next() => stop,
        () = status => Stop::Interrupt,
    };
    notify(&[sd_notify::NotifyState::Stopping]);
    if stop == Stop::Terminate {
        info!(
            "Draining: {} s for the sessions to end.",
            args.drain_timeout.as_secs_f64()
        );
        tokio::select! {
            _ = server.drain(&args.drain_message.0, args.drain_timeout) => {}
            _ = signals.next() => {
                info!("Closing at once.");
                server.close();
                info!("Server stop.");
                return Ok(());
            }
        }
    }
    info!("Server stop.");
    server.close();
    // Closed connections write out what was queued within the close timeout (then the
    // peer has as long again to close), and their programs get their hang-up grace,
    // then SIGKILL, on tasks that the runtime's end would cut short: wait for both,
    // boundedly (the close timeout twice is longer than the programs' grace twice).
    let ended = async {
        server.wait_closed().await;
        #[cfg(unix)]
        telnetlib3_cli::pty::wait_reaped().await;
    };
    let _ = tokio::time::timeout(2 * telnetlib3::DEFAULT_CLOSE_TIMEOUT, ended).await;
    Ok(())
}

/// Which signal asked the server to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// Ctrl-C: close at once.
    Interrupt,
    /// SIGTERM: drain.
    Terminate,
}

/// Ctrl-C and SIGTERM, listened for from the start (a SIGTERM during the drain must not
/// kill the process before the handler is back).
struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        Self {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .ok(),
        }
    }

    /// Wait for the next Ctrl-C or SIGTERM.
    async fn next(&mut self) -> Stop {
        let interrupt = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async {
            match self.terminate.as_mut() {
                Some(stream) => {
                    stream.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = interrupt => {
                info!("Interrupt received, closing server.");
                Stop::Interrupt
            }
            () = terminate => {
                info!("SIGTERM received, closing server.");
                Stop::Terminate
            }
        }
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
