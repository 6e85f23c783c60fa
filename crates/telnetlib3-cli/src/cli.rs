//! Flag parsing and logging set-up shared by the binaries.

use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind;
use tracing_subscriber::filter::LevelFilter;

/// Exit status for a usage error (bad flag or argument), as clap and argparse use.
pub const EXIT_USAGE: u8 = 2;

/// Parse a number of seconds (`1.5`, `0`, `10`) into a [`Duration`].
///
/// # Errors
///
/// A message for clap when the text is not a finite, non-negative number.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("'{text}' is not a non-negative, finite number of seconds"))
}

/// Parse text with backslash escapes, as a shell's `$'...'` takes them: `\r`, `\n`,
/// `\t`, `\e` (ESC), `\\`, `\xNN` (a byte in hex). Other characters are kept as they
/// are; another escape is an error.
///
/// ```
/// use telnetlib3_cli::cli::parse_escaped;
///
/// assert_eq!(parse_escaped(r"\r\nBye.\x07").unwrap(), b"\r\nBye.\x07");
/// assert!(parse_escaped(r"\q").is_err());
/// ```
///
/// # Errors
///
/// A message for clap naming an unknown escape or a bad `\x`.
pub fn parse_escaped(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        rest = after;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let Some((&escape, after)) = rest.split_first() else {
            return Err(format!("'{text}' ends with a lone backslash"));
        };
        rest = after;
        out.push(match escape {
            b'r' => b'\r',
            b'n' => b'\n',
            b't' => b'\t',
            b'e' => 0x1b,
            b'\\' => b'\\',
            b'x' => {
                let hex = rest
                    .get(..2)
                    .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| format!("'{text}': \\x needs two hex digits"))?;
                rest = &rest[2..];
                hex
            }
            other => {
                return Err(format!(
                    "'{text}': unknown escape '\\{}' (\\r \\n \\t \\e \\\\ \\xNN)",
                    char::from(other)
                ))
            }
        });
    }
    Ok(out)
}

/// Parse `--metrics`' `ADDR:PORT` (`127.0.0.1:9323`, `[::1]:9323`).
///
/// # Errors
///
/// A message for clap when the text is not an IP address and a port.
pub fn parse_socket_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("'{text}' is not ADDR:PORT with an IP address (127.0.0.1:9323)"))
}

/// Parse `--record-max-bytes`: a whole number of bytes, at least
/// [`MIN_RECORD_BYTES`] (room for a header line).
///
/// # Errors
///
/// A message for clap otherwise.
pub fn parse_record_max_bytes(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(bytes) if bytes >= MIN_RECORD_BYTES => Ok(bytes),
        Ok(_) => Err(format!(
            "{text} bytes cannot hold a recording's header: give at least {MIN_RECORD_BYTES}"
        )),
        Err(_) => Err(format!("'{text}' is not a whole number of bytes")),
    }
}

/// The least `--record-max-bytes`: a recording's header line with a long TERM fits.
pub const MIN_RECORD_BYTES: u64 = 1024;

/// Parse a log level name as Python's `logging` spells them (`info`, `WARNING`, `warn`,
/// `critical`, ...), case-insensitively, plus `trace` and `off`.
///
/// # Errors
///
/// A message for clap naming the accepted levels.
pub fn parse_loglevel(text: &str) -> Result<LevelFilter, String> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warn" | "warning" => LevelFilter::WARN,
        "error" | "critical" | "fatal" => LevelFilter::ERROR,
        "off" => LevelFilter::OFF,
        _ => {
            return Err(format!(
                "unknown level '{text}' (trace, debug, info, warn, error, critical, off)"
            ))
        }
    })
}

/// Parse the command line into `T`. Help and version are printed and the process should
/// exit with the returned status; any other error is printed as one line,
/// `PROGRAM: error: MESSAGE`, and the status is [`EXIT_USAGE`].
///
/// # Errors
///
/// The exit status to end the process with when it should not go on.
pub fn parse_args<T: clap::Parser>(program: &str) -> Result<T, ExitCode> {
    T::try_parse().map_err(|error| match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{program}: error: {}", one_line(&error.to_string()));
            ExitCode::from(EXIT_USAGE)
        }
    })
}

/// The first paragraph of a clap error, on one line, without its `error: ` prefix.
fn one_line(rendered: &str) -> String {
    let paragraph: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty())
        .collect();
    let text = paragraph.join(" ");
    text.strip_prefix("error: ").unwrap_or(&text).to_owned()
}

/// Set up logging from the tools' flags; on failure print the one-line error
/// `PROGRAM: error: ...` and give the exit status to end with.
///
/// # Errors
///
/// [`ExitCode::FAILURE`] when the log file cannot be opened.
pub fn init_logging(
    program: &str,
    level: LevelFilter,
    args: &crate::logging::LogArgs,
) -> Result<(), ExitCode> {
    crate::logging::init(level, args).map_err(|error| {
        eprintln!("{program}: error: {error}");
        ExitCode::FAILURE
    })
}

/// TERM for a `--pty-exec` program whose client reports no terminal type
/// (`--default-term`): xterm, as telnetlib3 (its `get_extra_info("TERM", "xterm")`).
pub const DEFAULT_TERM: &str = "xterm";

/// LANG for a `--pty-exec` program whose client sends none and agrees no CHARSET
/// (`--default-lang`). telnetlib3 gives `en_US.utf8`, glibc's name for the same locale;
/// this is UTF-8 as our client and CHARSET spell it.
pub const DEFAULT_LANG: &str = "en_US.UTF-8";

/// A terminal type or charset name fit for a program's environment: short, and only
/// letters, digits and `._+-`.
#[must_use]
pub fn valid_token(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

/// A locale name fit for LANG or `LC_*`: a token, with an optional `@modifier` token.
/// Never a path: glibc loads a locale named by an absolute path from that directory.
#[must_use]
pub fn valid_locale(text: &str) -> bool {
    let (name, modifier) = text.split_once('@').unwrap_or((text, "x"));
    valid_token(name) && valid_token(modifier)
}

/// A terminal type for `--default-term` (`xterm-256color`, `vt220`).
///
/// # Errors
///
/// A message for clap when the text could not be a terminal type.
pub fn parse_term(text: &str) -> Result<String, String> {
    if valid_token(text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "'{text}' is not a terminal type (letters, digits, '._+-')"
        ))
    }
}

/// A locale name for `--default-lang` (`en_US.UTF-8`, `C.UTF-8`, `sr_RS@latin`).
///
/// # Errors
///
/// A message for clap when the text could not be a locale name (a path, say).
pub fn parse_locale(text: &str) -> Result<String, String> {
    if valid_locale(text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "'{text}' is not a locale name (letters, digits, '._+-', one '@modifier')"
        ))
    }
}

/// What `--shell` names: a built-in shell, or a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShellChoice {
    /// `debug`, `echo`, `wargame`, `relay`.
    Builtin(crate::server::ShellKind),
    /// Anything else: a program, by path or looked up in PATH.
    Program(String),
}

/// A `--shell` value: a built-in shell's name, else a program (`/bin/cat`, `bc`).
///
/// # Errors
///
/// A message for clap when the value is empty.
pub fn parse_shell(text: &str) -> Result<ShellChoice, String> {
    use clap::ValueEnum;
    if text.trim().is_empty() {
        return Err("give a shell (debug, echo, wargame, relay) or a program".to_string());
    }
    Ok(match crate::server::ShellKind::from_str(text, true) {
        Ok(kind) => ShellChoice::Builtin(kind),
        Err(_) => ShellChoice::Program(text.to_string()),
    })
}

/// `HOST:PORT` (`[::1]:23` for an IPv6 address).
///
/// # Errors
///
/// A message for clap when there is no port, or it is not a number up to 65535.
pub fn parse_host_port(text: &str) -> Result<(String, u16), String> {
    let (host, port) = text
        .rsplit_once(':')
        .filter(|(host, _)| !host.is_empty())
        .ok_or_else(|| format!("'{text}' is not HOST:PORT"))?;
    let port = port
        .parse()
        .map_err(|_| format!("'{port}' in '{text}' is not a port number"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    Ok((host.to_string(), port))
}

/// A network for `--trusted-proxy`: `10.0.0.0/8`, `fd00::/8`, or one address
/// (`127.0.0.1`, `::1`) for itself alone.
///
/// # Errors
///
/// A message for clap when the text is neither.
pub fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .map(|network| network.trunc())
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("'{text}' is not an address or a network (such as 10.0.0.0/8)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_are_built_in_names_or_programs() {
        use crate::server::ShellKind;
        assert_eq!(
            parse_shell("relay"),
            Ok(ShellChoice::Builtin(ShellKind::Relay))
        );
        assert_eq!(
            parse_shell("Echo"),
            Ok(ShellChoice::Builtin(ShellKind::Echo))
        );
        assert_eq!(
            parse_shell("/bin/cat"),
            Ok(ShellChoice::Program("/bin/cat".to_string()))
        );
        assert!(parse_shell("").is_err());
        assert_eq!(parse_host_port("[::1]:23"), Ok(("::1".to_string(), 23)));
        assert_eq!(
            parse_host_port("bbs.example:2323"),
            Ok(("bbs.example".to_string(), 2323))
        );
        assert!(parse_host_port("nohost").is_err());
        assert!(parse_host_port(":23").is_err());
        assert!(parse_host_port("h:70000").is_err());
    }

    #[test]
    fn trusted_proxies_are_networks_or_single_addresses() {
        assert_eq!(
            parse_network("10.1.2.3/8"),
            Ok("10.0.0.0/8".parse().unwrap())
        );
        assert_eq!(
            parse_network("127.0.0.1"),
            Ok("127.0.0.1/32".parse().unwrap())
        );
        assert_eq!(parse_network("::1"), Ok("::1/128".parse().unwrap()));
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("localhost").is_err());
    }

    #[test]
    fn seconds_accept_fractions_and_refuse_negatives() {
        assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("inf").is_err());
        assert!(parse_seconds("soon").is_err());
    }

    #[test]
    fn loglevels_are_python_names_in_any_case() {
        assert_eq!(parse_loglevel("INFO"), Ok(LevelFilter::INFO));
        assert_eq!(parse_loglevel("warning"), Ok(LevelFilter::WARN));
        assert_eq!(parse_loglevel("critical"), Ok(LevelFilter::ERROR));
        assert!(parse_loglevel("loud").is_err());
    }

    #[test]
    fn default_term_and_lang_must_be_names_not_paths() {
        assert_eq!(parse_term("vt220"), Ok("vt220".to_string()));
        assert!(parse_term("x y").is_err());
        assert!(parse_term("").is_err());
        assert_eq!(parse_locale("C.UTF-8"), Ok("C.UTF-8".to_string()));
        assert_eq!(parse_locale("sr_RS@latin"), Ok("sr_RS@latin".to_string()));
        assert!(parse_locale("/tmp/evil").is_err());
        assert!(parse_locale("en_US@").is_err());
        assert!(valid_token(DEFAULT_TERM) && valid_locale(DEFAULT_LANG));
    }

    #[test]
    fn mssp_pairs_and_gmcp_modules() {
        assert_eq!(
            parse_mssp("NAME=My MUD"),
            Ok(("NAME".to_string(), "My MUD".to_string()))
        );
        assert_eq!(
            parse_mssp("EMPTY="),
            Ok(("EMPTY".to_string(), String::new()))
        );
        assert!(parse_mssp("NAME").is_err());
        assert!(parse_mssp("=x").is_err());
        assert!(parse_mssp("A=\u{1}").is_err());
        assert_eq!(
            parse_gmcp_modules(" Char 1, Room 1,,IRE.Rift 1 "),
            ["Char 1", "Room 1", "IRE.Rift 1"]
        );
    }

    #[test]
    fn options_by_name_or_number_merged_across_flags() {
        use telnetlib3::proto::TelnetOption;
        assert_eq!(
            parse_options(" naws,201, 91 ,,EOR"),
            Ok(OptionList(vec![
                TelnetOption::Naws,
                TelnetOption::Gmcp,
                TelnetOption::Mxp,
                TelnetOption::Eor,
            ]))
        );
        assert_eq!(
            parse_options("250"),
            Ok(OptionList(vec![TelnetOption::from(250)]))
        );
        assert!(parse_options("256").is_err());
        assert!(parse_options("-1").is_err());
        assert!(parse_options("NAWZ").is_err());
        let lists = vec![
            parse_options("GMCP").unwrap(),
            parse_options("91,gmcp").unwrap(),
        ];
        assert_eq!(
            OptionList::merge(lists),
            [TelnetOption::Gmcp, TelnetOption::Mxp]
        );
    }

    #[test]
    fn clap_errors_become_one_line() {
        let rendered = "error: the following required arguments were not provided:\n  \
                        <HOST>\n\nUsage: telnetlib3-client <HOST> [PORT]\n\n\
                        For more information, try '--help'.\n";
        assert_eq!(
            one_line(rendered),
            "the following required arguments were not provided: <HOST>"
        );
    }
}

/// Telnet options named on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptionList(pub Vec<telnetlib3::proto::TelnetOption>);

/// A comma-separated list of Telnet options (`NAWS,TTYPE,201`), for the `--always-*`
/// flags: each a name (case-insensitive, as telnetlib3's `option_from_name`) or a decimal
/// option number 0..=255, as telnetlib3's `_parse_option_arg`.
///
/// # Errors
///
/// A message naming the unknown option.
pub fn parse_options(text: &str) -> Result<OptionList, String> {
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            telnetlib3::proto::TelnetOption::from_name(name)
                .or_else(|| {
                    name.parse::<u8>()
                        .ok()
                        .map(telnetlib3::proto::TelnetOption::from)
                })
                .ok_or_else(|| {
                    format!("unknown telnet option {name:?} (a name, or a number 0 to 255)")
                })
        })
        .collect::<Result<_, _>>()
        .map(OptionList)
}

impl OptionList {
    /// The options of repeated flags (`--always-do GMCP --always-do 91,NAWS`) as one list,
    /// each once, in the order first given (telnetlib3 keeps a set).
    #[must_use]
    pub fn merge(lists: Vec<Self>) -> Vec<telnetlib3::proto::TelnetOption> {
        let mut merged: Vec<telnetlib3::proto::TelnetOption> = Vec::new();
        for option in lists.into_iter().flat_map(|list| list.0) {
            if !merged.contains(&option) {
                merged.push(option);
            }
        }
        merged
    }
}

/// One `--mssp NAME=VALUE`: a non-empty name; neither may hold a control character (MSSP
/// marks its fields with bytes 1 and 2).
///
/// # Errors
///
/// A message for clap when there is no `=`, the name is empty, or either part holds a
/// control character.
pub fn parse_mssp(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not NAME=VALUE"))?;
    if name.is_empty() {
        return Err(format!("'{text}' has no variable name"));
    }
    if text.chars().any(char::is_control) {
        return Err("MSSP names and values may not hold control characters".to_string());
    }
    Ok((name.to_string(), value.to_string()))
}

/// A comma-separated list of GMCP modules (`"Char 1,Room 1"`), as telnetlib3-client's
/// `--gmcp-modules`: each trimmed, empty ones left out.
#[must_use]
pub fn parse_gmcp_modules(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|module| !module.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An encoding named on the command line, or none (`false`, for bytes only).
#[derive(Clone, Debug)]
pub struct EncodingChoice(pub Option<telnetlib3::text::Encoding>);

/// An encoding name as Python spells it (`utf8`, `cp437`, `latin_1`, ...), or
/// `false`/`False` for none, as telnetlib3-server's `--encoding`.
///
/// # Errors
///
/// A message naming the unknown encoding.
pub fn parse_encoding_or_false(text: &str) -> Result<EncodingChoice, String> {
    if text == "false" || text == "False" {
        return Ok(EncodingChoice(None));
    }
    telnetlib3::text::Encoding::from_name(text)
        .map(|encoding| EncodingChoice(Some(encoding)))
        .map_err(|error| error.to_string())
}

/// Which tokio runtime a tool runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// One thread (the client: one connection).
    CurrentThread,
    /// A worker per core (the server: many connections).
    MultiThread,
}

/// Run a tool's async main on a fresh runtime and turn its result into an exit code,
/// printing an error as one line `PROGRAM: error: ...`.
pub fn run_main<F>(program: &str, runtime: Runtime, main: F) -> ExitCode
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut builder = match runtime {
        Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Runtime::MultiThread => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{program}: error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(main);
    // Do not wait for blocking threads (a name lookup that timed out, say).
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{program}: error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `--compression-idle-release SECONDS`: 0 is never.
#[must_use]
pub fn idle_release(delay: Duration) -> Option<Duration> {
    (!delay.is_zero()).then_some(delay)
}

/// telnetlib3's `--compression` / `--no-compression` (argparse's BooleanOptionalAction,
/// default None): the flag given last wins (clap's `overrides_with`), neither is `None`.
#[must_use]
pub fn compression(compression: bool, no_compression: bool) -> Option<bool> {
    match (compression, no_compression) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}
