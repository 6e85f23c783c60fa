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
use telnetlib3_cli::{cli, logging, retro, terminal};
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

/// `-e`'s character (`None`: no escape character).
#[derive(Clone, Copy, Debug)]
struct EscapeChar(Option<u8>);

/// `-e CHAR`, as the prompt's `set escape` reads it; empty for none, as BSD telnet's `-e ''`.
fn parse_escape(text: &str) -> Result<EscapeChar, String> {
    if text.is_empty() {
        return Ok(EscapeChar(None));
    }
    telnetlib3_cli::escape::parse_escape(text)
        .map(EscapeChar)
        .map_err(|complaint| complaint.trim_start_matches('?').to_string())
}

/// Telnet protocol client
///
/// On a terminal, the terminal follows the server: raw (character at a time, no local
/// echo) when the server echoes and suppresses go-ahead, else line editing with local
/// echo; Ctrl-] opens the telnet> prompt (quit, close, send, status, mode, set escape, z,
/// ?; an empty line returns). With standard input from a pipe or file, standard input is
/// sent and the server's output printed until the server closes.
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
    /// the escape character that opens the telnet> prompt, as BSD telnet writes it:
    /// '^]' (the default), '^X', one character, or 'off' for none
    #[arg(short = 'e', long, value_name = "CHAR", default_value = "^]", value_parser = parse_escape)]
    escape: EscapeChar,
    /// terminal speed sent with TSPEED
    #[arg(long, default_value_t = 38400)]
    speed: u32,
    /// the server's encoding (utf8, cp437, latin1, ..., and the BBS encodings atascii,
    /// petscii, atarist, big5bbs): named in LANG (`en_US.<encoding>`; utf8 when not given)
    /// and, when given, used to decode the server's 8-bit output to UTF-8 and to encode
    /// the keyboard's UTF-8 input. atascii, petscii and atarist (and their aliases) imply
    /// --force-binary and --raw-mode (unless --line-mode), as in telnetlib3. Without an
    /// encoding (or with utf8 or ascii), a SyncTERM font selection from the server
    /// (`CSI 0 ; N SP D`) switches the decoding to that font's encoding
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
    /// end our MCCP3 stream after this many seconds without output, freeing its
    /// compressor, and start a new one with the next output; 0 (default) never does
    /// (telnetlib3's server misreads a restarted stream)
    #[arg(long, value_name = "SECONDS", default_value = "0", value_parser = cli::parse_seconds)]
    compression_idle_release: Duration,
    /// send arrow and function keys as the terminal's ANSI sequences, not as the Atari's
    /// or Commodore's key codes (with --encoding atascii or petscii), for BBSes that
    /// expect ANSI cursor keys
    #[arg(long)]
    ansi_keys: bool,
    /// use ASCII CR and LF for line ends instead of the encoding's own (ATASCII 0x9B):
    /// Return is sent as CR, and ATASCII's CR and LF pictures are shown as line ends, for
    /// BBSes that draw Atari graphics but end lines in ASCII
    #[arg(long)]
    ascii_eol: bool,
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
    /// variables NEW-ENVIRON may send, comma separated; besides TERM, LANG, COLUMNS, LINES
    /// and COLORTERM, telnetlib3's USER, HOME and SHELL are taken from our environment
    /// when named here
    #[arg(long, default_value = "TERM,LANG,COLUMNS,LINES,COLORTERM")]
    send_environ: String,
    /// timeout for the TCP connection, in seconds
    #[arg(long, default_value = "10", value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    connect_timeout: Duration,
    /// least time to wait for the server's negotiation, in seconds
    #[arg(long, default_value = "0", value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    connect_minwait: Duration,
    /// most time to wait for the server's negotiation, in seconds (telnetlib3-client's
    /// default)
    #[arg(long, default_value = "4", value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    connect_maxwait: Duration,
    /// options to offer at once with WILL, by name or number (GMCP, 201), comma separated; repeatable
    #[arg(long, value_name = "OPT", value_parser = cli::parse_options, action = clap::ArgAction::Append)]
    always_will: Vec<cli::OptionList>,
    /// options to ask for at once with DO, by name or number (GMCP, 201), comma separated; repeatable
    #[arg(long, value_name = "OPT", value_parser = cli::parse_options, action = clap::ArgAction::Append)]
    always_do: Vec<cli::OptionList>,
    /// comma-separated GMCP module specs to request (e.g. "Char 1,Room 1,IRE.Rift 1"),
    /// sent lower-cased in Core.Supports.Set once the server's GMCP is agreed; replaces
    /// the built-in defaults (an empty list keeps them, as telnetlib3)
    #[arg(long, value_name = "MODULES")]
    gmcp_modules: Option<String>,
    /// options always refused with WONT, by name or number (GMCP, 201), comma separated; repeatable
    #[arg(long, value_name = "OPT", value_parser = cli::parse_options, action = clap::ArgAction::Append)]
    always_wont: Vec<cli::OptionList>,
    /// options always refused with DONT, by name or number (GMCP, 201), comma separated; repeatable
    #[arg(long, value_name = "OPT", value_parser = cli::parse_options, action = clap::ArgAction::Append)]
    always_dont: Vec<cli::OptionList>,
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
    // telnetlib3's FORCE_BINARY_ENCODINGS: their BBSes draw with every byte value.
    let retro = retro::forces_binary(&encoding);
    let codec = args.encoding.is_some().then(|| Codec {
        encoding: encoding.clone(),
        errors: errors(args.encoding_errors),
        force_binary: args.force_binary || retro,
    });
    // Keys are the keyboard's: not with --line-mode (telnetlib3 maps them only in raw
    // mode), nor for a --shell-exec program's output.
    let keys = (!args.line_mode && args.shell_exec.is_none())
        .then(|| retro::KeyMap::new(&encoding, args.ansi_keys, args.ascii_eol))
        .flatten();
    let mut input = Input::new(codec.as_ref())?.with_keys(keys);
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
    // As telnetlib3: a font selection switches the decoding unless an encoding other
    // than UTF-8 or ASCII was named.
    if !matches!(encoding.canonical_name(), "UTF-8" | "US-ASCII") {
        tracing::debug!(
            "SyncTERM font selections ignored: --encoding {}",
            encoding.name()
        );
    } else {
        output = output.with_font_switching(errors(args.encoding_errors));
    }
    if args.ascii_eol {
        output = output.with_ascii_eol();
    }
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
    } else if args.raw_mode || retro {
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
    // telnetlib3's client has these from its environment (never DISPLAY); sent only when
    // named in --send-environ.
    config.extra_environ = ["USER", "HOME", "SHELL"]
        .into_iter()
        .filter(|name| config.send_environ.iter().any(|n| n == name))
        .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
        .collect();
    config.connect_timeout = args.connect_timeout;
    config.connect_minwait = args.connect_minwait;
    config.connect_maxwait = args.connect_maxwait;
    config.compression = cli::compression(args.compression, args.no_compression);
    config.compression_idle_release = cli::idle_release(args.compression_idle_release);
    config.always_will = cli::OptionList::merge(args.always_will);
    // telnetlib3: an empty list (`--gmcp-modules ""`) falls back to the defaults.
    let modules = args.gmcp_modules.as_deref().map(cli::parse_gmcp_modules);
    if let Some(modules) = modules.filter(|modules| !modules.is_empty()) {
        config.gmcp_modules = modules;
    }
    config.always_do = cli::OptionList::merge(args.always_do);
    for option in cli::OptionList::merge(args.always_wont) {
        config.policy.set_local(option, false);
    }
    for option in cli::OptionList::merge(args.always_dont) {
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
    // The interactive session's settings have no use without terminal modes.
    #[cfg(not(unix))]
    let _ = (forced, args.escape.0);
    match terminal {
        #[cfg(unix)]
        Some(mut terminal) => {
            let ending = telnetlib3_cli::interactive::interactive(
                &mut reader,
                &mut writer,
                &mut terminal,
                client::Interaction {
                    forced,
                    escape: args.escape.0,
                    encoding: match &args.encoding {
                        Some(name) => name.clone(),
                        None => "none (bytes)".to_string(),
                    },
                },
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
        // No terminal modes without Unix: standard input is copied as it comes (the
        // console edits and echoes lines).
        #[cfg(not(unix))]
        Some(never) => match never {},
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

fn errors(errors: Errors) -> ErrorMode {
    match errors {
        Errors::Replace => ErrorMode::Replace,
        Errors::Ignore => ErrorMode::Ignore,
        Errors::Strict => ErrorMode::Strict,
    }
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
