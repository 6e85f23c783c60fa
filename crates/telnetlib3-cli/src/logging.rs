//! `--loglevel`, `--logfile`, `--logfile-mode` and `--logfmt`, as telnetlib3's tools have
//! them: log lines formatted by a Python `logging` format string, to standard error or
//! to a file.
//!
//! The format is parsed once at start-up ([`LogFormat`]) so that a typo is a usage
//! error, not a log full of holes.

use std::fmt::{self, Write as _};
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// telnetlib3's default `--logfmt`.
pub const DEFAULT_LOGFMT: &str = "%(levelname)s %(filename)s:%(lineno)d %(message)s";

/// The logging flags both tools share (each keeps its own `--loglevel`, whose default
/// differs: `info` for the server, `warn` for the client).
#[derive(Clone, Debug, clap::Args)]
pub struct LogArgs {
    /// write the log to this file instead of standard error
    #[arg(long, value_name = "LOGFILE")]
    pub logfile: Option<PathBuf>,
    /// whether --logfile is appended to or rewritten
    #[arg(long, value_enum, default_value = "append")]
    pub logfile_mode: LogfileMode,
    /// log format, a Python logging format string
    #[arg(long, default_value = DEFAULT_LOGFMT, value_parser = LogFormat::from_str)]
    pub logfmt: LogFormat,
}

/// How `--logfile` is opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogfileMode {
    /// Add to the end of an existing file.
    #[default]
    Append,
    /// Start the file afresh.
    Rewrite,
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// `--logfile` could not be opened.
    #[error("cannot open log file {path}: {source}")]
    Open {
        /// The file named.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Send `tracing` output at `level` and above where `args` say, one line per event in
/// the `--logfmt` format.
///
/// # Errors
///
/// [`LogError::Open`] when the log file cannot be opened for writing.
pub fn init(level: LevelFilter, args: &LogArgs) -> Result<(), LogError> {
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .event_format(args.logfmt.clone());
    // `try_init` fails only when a subscriber is already set (tests): keep that one.
    match &args.logfile {
        None => {
            let _ = builder.with_writer(std::io::stderr).try_init();
        }
        Some(path) => {
            let file = open(path, args.logfile_mode).map_err(|source| LogError::Open {
                path: path.clone(),
                source,
            })?;
            let _ = builder.with_writer(Mutex::new(file)).try_init();
        }
    }
    Ok(())
}

fn open(path: &PathBuf, mode: LogfileMode) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true);
    match mode {
        LogfileMode::Append => options.append(true),
        LogfileMode::Rewrite => options.write(true).truncate(true),
    };
    options.open(path)
}

/// A Python `logging` format string, e.g. `%(asctime)s %(levelname)-8s %(message)s`.
///
/// Known attributes: `message`, `levelname` (Python's names: `WARNING`, not `WARN`),
/// `levelno`, `name` (the module path, dotted), `module`, `filename`, `pathname`,
/// `lineno`, `asctime` (UTC, RFC 3339, where Python uses local time), `created`,
/// `process`, `thread`, `threadName`. Each takes Python's `-` (left align) and width,
/// and a `.precision` that truncates; the conversion is one of `s`, `d`, `i`, `r`.
/// `%%` is a percent sign.
///
/// ```
/// use telnetlib3_cli::logging::LogFormat;
///
/// assert!("%(levelname)-8s %(message)s".parse::<LogFormat>().is_ok());
/// let error = "%(funcName)s".parse::<LogFormat>().unwrap_err();
/// assert!(error.contains("funcName"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFormat {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Field(Field),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Field {
    attribute: Attribute,
    left: bool,
    width: usize,
    precision: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attribute {
    Message,
    LevelName,
    LevelNo,
    Name,
    Module,
    FileName,
    PathName,
    LineNo,
    AscTime,
    Created,
    Process,
    Thread,
    ThreadName,
}

impl Attribute {
    const ALL: [(&'static str, Self); 13] = [
        ("message", Self::Message),
        ("levelname", Self::LevelName),
        ("levelno", Self::LevelNo),
        ("name", Self::Name),
        ("module", Self::Module),
        ("filename", Self::FileName),
        ("pathname", Self::PathName),
        ("lineno", Self::LineNo),
        ("asctime", Self::AscTime),
        ("created", Self::Created),
        ("process", Self::Process),
        ("thread", Self::Thread),
        ("threadName", Self::ThreadName),
    ];

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|&(_, attribute)| attribute)
    }
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('%') {
            literal.push_str(&rest[..at]);
            rest = &rest[at + 1..];
            if let Some(after) = rest.strip_prefix('%') {
                literal.push('%');
                rest = after;
                continue;
            }
            let (field, after) = parse_field(rest).map_err(|why| format!("bad --logfmt: {why}"))?;
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Field(field));
            rest = after;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Self { pieces })
    }
}

/// One `(name)[-][width][.precision]conversion` after a `%`; returns the rest.
fn parse_field(text: &str) -> Result<(Field, &str), String> {
    let Some(named) = text.strip_prefix('(') else {
        return Err("'%' must be followed by '(name)' or '%'".to_string());
    };
    let Some(close) = named.find(')') else {
        return Err("unclosed '%('".to_string());
    };
    let name = &named[..close];
    let attribute = Attribute::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = Attribute::ALL.iter().map(|(known, _)| *known).collect();
        format!("unknown attribute {name:?} (known: {})", known.join(", "))
    })?;
    let mut rest = &named[close + 1..];
    let left = if let Some(after) = rest.strip_prefix('-') {
        rest = after;
        true
    } else {
        false
    };
    let (width, after) = digits(rest)?;
    // Rust's formatting panics on a wider field: refuse it here rather than at the first
    // log line.
    if width > usize::from(u16::MAX) {
        return Err(format!("width {width} is too large (at most {})", u16::MAX));
    }
    rest = after;
    let precision = if let Some(after) = rest.strip_prefix('.') {
        let (precision, after) = digits(after)?;
        rest = after;
        Some(precision)
    } else {
        None
    };
    let mut chars = rest.chars();
    match chars.next() {
        Some('s' | 'd' | 'i' | 'r') => {}
        Some(other) => return Err(format!("unsupported conversion '%{other}' after ({name})")),
        None => return Err(format!("missing conversion after ({name})")),
    }
    let field = Field {
        attribute,
        left,
        width,
        precision,
    };
    Ok((field, chars.as_str()))
}

fn digits(text: &str) -> Result<(usize, &str), String> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if end == 0 {
        return Ok((0, text));
    }
    let value = text[..end]
        .parse()
        .map_err(|_| format!("width {:?} is too large", &text[..end]))?;
    Ok((value, &text[end..]))
}

/// Python's level names and numbers (telnetlib3 adds `TRACE` at 5).
fn level_name(level: Level) -> (&'static str, u8) {
    match level {
        Level::TRACE => ("TRACE", 5),
        Level::DEBUG => ("DEBUG", 10),
        Level::INFO => ("INFO", 20),
        Level::WARN => ("WARNING", 30),
        Level::ERROR => ("ERROR", 40),
    }
}

impl<S, N> FormatEvent<S, N> for LogFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        let file = metadata.file().unwrap_or("?");
        let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
        let mut value = String::new();
        for piece in &self.pieces {
            let field = match piece {
                Piece::Literal(text) => {
                    writer.write_str(text)?;
                    continue;
                }
                Piece::Field(field) => field,
            };
            value.clear();
            match field.attribute {
                Attribute::Message => ctx.format_fields(Writer::new(&mut value), event)?,
                Attribute::LevelName => value.push_str(level_name(*metadata.level()).0),
                Attribute::LevelNo => write!(value, "{}", level_name(*metadata.level()).1)?,
                Attribute::Name => value.push_str(&metadata.target().replace("::", ".")),
                Attribute::Module => {
                    value.push_str(base.strip_suffix(".rs").unwrap_or(base));
                }
                Attribute::FileName => value.push_str(base),
                Attribute::PathName => value.push_str(file),
                Attribute::LineNo => match metadata.line() {
                    Some(line) => write!(value, "{line}")?,
                    None => value.push('?'),
                },
                Attribute::AscTime => SystemTime.format_time(&mut Writer::new(&mut value))?,
                Attribute::Created => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default();
                    write!(value, "{:.6}", now.as_secs_f64())?;
                }
                Attribute::Process => write!(value, "{}", std::process::id())?,
                Attribute::Thread => write!(value, "{:?}", std::thread::current().id())?,
                Attribute::ThreadName => {
                    value.push_str(std::thread::current().name().unwrap_or("unnamed"));
                }
            }
            let shown = match field.precision {
                Some(limit) => value
                    .char_indices()
                    .nth(limit)
                    .map_or(&value[..], |(at, _)| &value[..at]),
                None => &value[..],
            };
            if field.left {
                write!(writer, "{shown:<width$}", width = field.width)?;
            } else {
                write!(writer, "{shown:>width$}", width = field.width)?;
            }
        }
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::Arc;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn render(format: &str, emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(LevelFilter::TRACE)
            .with_ansi(false)
            .event_format(format.parse::<LogFormat>().unwrap())
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_default_format_is_telnetlib3s() {
        let mut line = 0;
        let out = render(DEFAULT_LOGFMT, || {
            line = line!() + 1;
            tracing::warn!("Server ready on {}", "x:1");
        });
        assert_eq!(
            out,
            format!("WARNING logging.rs:{line} Server ready on x:1\n")
        );
    }

    #[test]
    fn widths_alignment_precision_names_and_fields() {
        let out = render(
            "[%(levelname)-7s|%(levelno)3d|%(name)s|%(module).3s] %(message)s 100%%",
            || tracing::info!(peer = "127.0.0.1:9", "Connection from"),
        );
        assert_eq!(
            out,
            "[INFO   | 20|telnetlib3_cli.logging.tests|log] Connection from peer=\"127.0.0.1:9\" 100%\n"
        );
    }

    #[test]
    fn bad_formats_are_refused_with_a_reason() {
        for (format, why) in [
            ("%(funcName)s", "unknown attribute \"funcName\""),
            ("%(message)", "missing conversion"),
            ("%(message)q", "unsupported conversion '%q'"),
            ("%(message", "unclosed"),
            ("50% done", "must be followed by"),
        ] {
            let error = format.parse::<LogFormat>().unwrap_err();
            assert!(error.contains(why), "{format:?}: {error}");
        }
        assert!("".parse::<LogFormat>().is_ok());
    }

    #[test]
    fn a_logfile_is_appended_to_or_rewritten() {
        let dir = std::env::temp_dir().join(format!("tl3-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.txt");
        std::fs::write(&path, "old\n").unwrap();
        io::Write::write_all(&mut open(&path, LogfileMode::Append).unwrap(), b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\nnew\n");
        io::Write::write_all(&mut open(&path, LogfileMode::Rewrite).unwrap(), b"x\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "x\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
