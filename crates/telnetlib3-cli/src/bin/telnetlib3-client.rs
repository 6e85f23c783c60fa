//! `telnetlib3-client host [port]`: on a terminal, an interactive Telnet client; with
//! standard input from a pipe or file, a pump (standard input to the server, the server's
//! data to standard output, until the server closes); with `--shell-exec`, a program as
//! the client's shell.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use telnetlib3::proto::Event;
use telnetlib3::text::{Encoding, ErrorMode};
use telnetlib3::tls::TlsClient;
use telnetlib3::{open_connection, ClientConfig};
use telnetlib3_cli::client::{self, Codec, Forced, Input, Output};
use telnetlib3_cli::{cli, logging, terminal};
use tokio::sync::Notify;
use tracing::info;
use tracing_subscriber::filter::LevelFilter;

const PROGRAM: &str = "telnetlib3-client";

/// The exit status when the session ended otherwise than by an error (a signal, or the
/// `--shell-exec` program's own status); `cli::run_main` only knows success and failure.
static STATUS: AtomicU8 = AtomicU8::new(0);

/// `--encoding-errors` values, as Python's `errors=`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Errors {
    Replace,
    Ignore,
    Strict,
}

/// `--typescript-mode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TypescriptMode {
    Append,
    Rewrite,
}

/// Telnet protocol client
///
/// On a terminal, the terminal follows the server: raw (character at a time, no local
/// echo) when the server echoes and suppresses go-ahead, else line editing with local
/// echo; Ctrl-] quits. With standard input from a pipe or file, standard input is sent and
/// the server's output printed until the server closes.
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
    /// the server's encoding (utf8, cp437, latin1, ...): named in LANG (`en_US.<encoding>`;
    /// utf8 when not given) and, when given, used to decode the server's 8-bit output to
    /// UTF-8 and to encode the keyboard's UTF-8 input
    #[arg(long)]
    encoding: Option<String>,
    /// handler for encoding errors
    #[arg(long, value_enum, default_value_t = Errors::Replace)]
    encoding_errors: Errors,
    /// use --encoding even when BINARY is not negotiated (telnetlib3's CLI has this always
    /// on; here it is a choice, so that 7-bit sessions stay byte-exact)
    #[arg(long)]
    force_binary: bool,
    /// MCCP compression: --compression to request, --no-compression to reject, omit to
    /// passively accept (default)
    #[arg(long, overrides_with = "no_compression")]
    compression: bool,
    /// reject MCCP compression (see --compression)
    #[arg(long, overrides_with = "compression")]
    no_compression: bool,
    /// force line-buffered input with local echo (the terminal's line editor)
    #[arg(long, conflicts_with = "raw_mode")]
    line_mode: bool,
    /// force raw terminal mode (no line buffering, no local echo); default: follow the
    /// server's negotiation
    #[arg(long)]
    raw_mode: bool,
    /// record the server's output to FILE (like script(1))
    #[arg(long, value_name = "FILE")]
    typescript: Option<std::path::PathBuf>,
    /// record the server's output to FILE as an asciicast v2 recording (for asciinema
    /// play), beside or instead of --typescript; FILE is replaced
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
    /// with --record, stop recording before the file passes BYTES
    #[arg(long, value_name = "BYTES", requires = "record",
          default_value_t = telnetlib3::record::DEFAULT_RECORD_MAX_BYTES,
          value_parser = cli::parse_record_max_bytes)]
    record_max_bytes: u64,
    /// typescript write mode
    #[arg(long, value_enum, default_value_t = TypescriptMode::Append)]
    typescript_mode: TypescriptMode,
    /// run PROGRAM as the client's shell: the server's output is its standard input (CR LF
    /// as LF), its standard output goes to the server (LF as CR LF); arguments for it
    /// follow `--`. telnetlib3 names a Python function with `--shell module.fn`; any
    /// program (a bot in any language) takes that place here
    #[arg(long, value_name = "PROGRAM")]
    shell_exec: Option<String>,
    /// arguments for the --shell-exec program
    #[arg(last = true, value_name = "ARGS", requires = "shell_exec")]
    shell_args: Vec<String>,
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
    /// comma-separated GMCP module specs to request (e.g. "Char 1,Room 1,IRE.Rift 1"),
    /// sent lower-cased in Core.Supports.Set once the server's GMCP is agreed; replaces
    /// the built-in defaults
    #[arg(long, value_name = "MODULES")]
    gmcp_modules: Option<String>,
    /// options always refused with WONT, comma separated
    #[arg(long, value_parser = cli::parse_options, default_value = "")]
    always_wont: cli::OptionList,
    /// options always refused with DONT, comma separated
    #[arg(long, value_parser = cli::parse_options, default_value = "")]
    always_dont: cli::OptionList,
    /// connect using TLS (TELNETS), verifying the server against the system's trusted
    /// roots (or --ssl-cafile's)
    #[arg(long)]
    ssl: bool,
    /// path to CA or self-signed certificate PEM file for TLS verification (implies
    /// --ssl)
    #[arg(long, value_name = "PATH", conflicts_with = "ssl_no_verify")]
    ssl_cafile: Option<PathBuf>,
    /// skip certificate verification for TLS (implies --ssl). WARNING: this is insecure
    /// -- connections are encrypted but the server identity is not verified, allowing
    /// man-in-the-middle attacks
    #[arg(long)]
    ssl_no_verify: bool,
    /// the name sent with TLS SNI and verified against the server's certificate
    /// (default: HOST)
    #[arg(long, value_name = "NAME")]
    server_hostname: Option<String>,
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
    let status = cli::run_main(PROGRAM, cli::Runtime::CurrentThread, run(args));
    match STATUS.load(Ordering::Relaxed) {
        0 => status,
        code => ExitCode::from(code),
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    // Bad encoding names and typescript files are the user's errors: say so before
    // connecting.
    let encoding = Encoding::from_name(args.encoding.as_deref().unwrap_or("utf8"))?;
    let codec = args.encoding.is_some().then(|| Codec {
        encoding: encoding.clone(),
        errors: match args.encoding_errors {
            Errors::Replace => ErrorMode::Replace,
            Errors::Ignore => ErrorMode::Ignore,
            Errors::Strict => ErrorMode::Strict,
        },
        force_binary: args.force_binary,
    });
    let mut input = Input::new(codec.as_ref())?;
    let typescript = match &args.typescript {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(args.typescript_mode == TypescriptMode::Append)
                .truncate(args.typescript_mode == TypescriptMode::Rewrite)
                .open(path)
                // The reason goes in the message: `run_main` prints only the outer context.
                .map_err(|error| {
                    anyhow::anyhow!("cannot open typescript {}: {error}", path.display())
                })?,
        ),
        None => None,
    };
    let mut output = Output::new(codec.as_ref(), typescript);
    let terminal = match args.shell_exec {
        Some(_) => None,
        None => terminal::Terminal::from_stdin()
            .map_err(|error| anyhow::anyhow!("cannot read the terminal's settings: {error}"))?,
    };
    let term = args
        .term
        .clone()
        .or_else(|| std::env::var("TERM").ok())
        .unwrap_or_else(|| "unknown".to_string());
    let window = if terminal.is_some() {
        terminal::window_size()
    } else {
        let config = ClientConfig::default();
        (config.cols, config.rows)
    };
    if let Some(path) = &args.record {
        let utf8 = Encoding::from_name("utf-8")?;
        let header = telnetlib3::record::Header {
            width: window.0,
            height: window.1,
            timestamp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_secs()),
            term: Some(term.clone()),
        };
        let cast = std::fs::File::create(path)
            .map(|file| std::io::BufWriter::with_capacity(64 * 1024, file))
            .and_then(|file| {
                telnetlib3::record::Asciicast::new(file, &header, &utf8, args.record_max_bytes)
            })
            .map_err(|error| anyhow::anyhow!("cannot record to {}: {error}", path.display()))?;
        output = output.with_recording(cast);
    }
    let forced = if args.line_mode {
        Some(Forced::Line)
    } else if args.raw_mode {
        Some(Forced::Raw)
    } else {
        None
    };

    let mut config = ClientConfig::default();
    config.tls = tls_client(&args)?;
    if terminal.is_some() {
        (config.cols, config.rows) = window;
    }
    // Option changes wake the interactive loop, so the terminal mode follows at once.
    let changes = Arc::new(Notify::new());
    let notify = Arc::clone(&changes);
    config.on_event = Some(Arc::new(move |event: &Event<'_>| {
        if matches!(event, Event::OptionChanged { .. }) {
            notify.notify_one();
        }
    }));
    config.term = term;
    config.tspeed = (args.speed, args.speed);
    config.lang = format!("en_US.{}", encoding.name());
    config.colorterm = std::env::var("COLORTERM").ok();
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
    config.compression = cli::compression(args.compression, args.no_compression);
    config.always_will = args.always_will.0;
    if let Some(modules) = &args.gmcp_modules {
        config.gmcp_modules = cli::parse_gmcp_modules(modules);
    }
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
        telnetlib3::net::display_addr(&args.host, args.port)
    );
    if let Some(program) = &args.shell_exec {
        let status = client::shell_exec(
            &mut reader,
            &mut writer,
            program,
            &args.shell_args,
            &mut output,
            &mut input,
        )
        .await?;
        if !status.success() {
            // A program killed by a signal counts as failed.
            let code = status.code().map_or(1, |code| code.clamp(1, 255));
            STATUS.store(u8::try_from(code).unwrap_or(1), Ordering::Relaxed);
        }
        output.finish_recording()?;
        return Ok(());
    }
    match terminal {
        Some(mut terminal) => {
            let ending = client::interactive(
                &mut reader,
                &mut writer,
                &mut terminal,
                forced,
                changes,
                &mut output,
                &mut input,
            )
            .await?;
            if let client::Ending::Signal(number) = ending {
                let code = 128 + u8::try_from(number).unwrap_or(0);
                STATUS.store(code, Ordering::Relaxed);
            }
        }
        None => {
            client::pump(
                &mut reader,
                &mut writer,
                client::stdin_chunks(),
                &mut std::io::stdout(),
                &mut output,
                &mut input,
            )
            .await?;
        }
    }
    output.finish_recording()?;
    Ok(())
}

/// The TLS settings the flags ask for, if any.
fn tls_client(args: &Args) -> anyhow::Result<Option<TlsClient>> {
    let tls = if args.ssl_no_verify {
        eprintln!(
            "{PROGRAM}: warning: --ssl-no-verify: the server's certificate is not verified; \
             anyone on the path can read and change this session"
        );
        TlsClient::without_verification()
    } else if let Some(path) = &args.ssl_cafile {
        TlsClient::with_ca_file(path)?
    } else if args.ssl {
        TlsClient::with_system_roots()?
    } else if args.server_hostname.is_some() {
        anyhow::bail!("--server-hostname needs --ssl, --ssl-cafile or --ssl-no-verify");
    } else {
        return Ok(None);
    };
    Ok(Some(match &args.server_hostname {
        Some(name) => tls.with_server_name(name),
        None => tls,
    }))
}
