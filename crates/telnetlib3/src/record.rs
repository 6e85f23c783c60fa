//! Session recordings in the asciicast v2 format, for `asciinema play` and
//! `asciinema cat` (<https://docs.asciinema.org/manual/asciicast/v2/>).
//!
//! A recording is a header line (a JSON object: `version` 2, the terminal's `width` and
//! `height`, the start `timestamp`, and `env.TERM`) and then one line per event, a JSON
//! array `[seconds, code, data]`: `"o"` for output shown on the terminal, `"i"` for what
//! the user typed, `"r"` for a resize (`"COLSxROWS"`).
//!
//! Event data in asciicast is text (JSON strings are Unicode), and Telnet carries bytes:
//! a recording decodes them with the session's encoding (the one [`negotiated_encoding`]
//! chooses for a server; UTF-8 for the command-line client), incrementally, so that a
//! character cut between two writes is whole in the recording. Bytes that encoding cannot
//! decode become U+FFFD (`�`): a recording never fails on the bytes it is given, and
//! plain ASCII is recorded exactly.
//!
//! A recording is bounded: once the next event would take the file past its
//! `max_bytes`, recording stops (with a log line) and the file ends after the last
//! whole event, so it stays a valid asciicast file.
//!
//! ```
//! use std::time::Duration;
//! use telnetlib3::record::{Asciicast, Header};
//! use telnetlib3::text::Encoding;
//!
//! let header = Header {
//!     width: 80,
//!     height: 24,
//!     timestamp: 1_700_000_000,
//!     term: Some("xterm".into()),
//! };
//! let utf8 = Encoding::from_name("utf-8").unwrap();
//! let mut cast = Asciicast::new(Vec::new(), &header, &utf8, 1 << 20).unwrap();
//! cast.output(Duration::from_millis(1500), b"Hello\r\n");
//! cast.resize(Duration::from_secs(2), 100, 30);
//! let file = String::from_utf8(cast.finish().unwrap()).unwrap();
//! assert_eq!(
//!     file,
//!     "{\"env\":{\"TERM\":\"xterm\"},\"height\":24,\"timestamp\":1700000000,\"version\":2,\"width\":80}\n\
//!      [1.500000, \"o\", \"Hello\\r\\n\"]\n\
//!      [2.000000, \"r\", \"100x30\"]\n"
//! );
//! ```
//!
//! [`negotiated_encoding`]: crate::negotiated_encoding

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::warn;

use crate::text::{Encoding, ErrorMode, TextDecoder};

/// The size a recording is stopped at by default (10 MiB).
pub const DEFAULT_RECORD_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// The width recorded when the client reported no window size (NAWS).
pub const DEFAULT_WIDTH: u16 = 80;

/// The height recorded when the client reported no window size (NAWS).
pub const DEFAULT_HEIGHT: u16 = 24;

/// How a server records its sessions ([`ServerConfig::record`](crate::ServerConfig::record)).
///
/// ```
/// use std::sync::Arc;
/// use telnetlib3::record::RecordConfig;
/// use telnetlib3::ServerConfig;
///
/// let mut config = ServerConfig::default();
/// let mut record = RecordConfig::new("recordings");
/// record.input = true; // passwords too: mind who may read the files
/// config.record = Some(Arc::new(record));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordConfig {
    /// The directory each session's file is written in, named by its start time and
    /// peer ([`session_file_name`]).
    pub dir: PathBuf,
    /// Record what the client sends too (`"i"` events), not only the output.
    pub input: bool,
    /// Stop recording a session once its file would grow past this.
    pub max_bytes: u64,
}

impl RecordConfig {
    /// Record output only, into `dir`, up to [`DEFAULT_RECORD_MAX_BYTES`] per session.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            input: false,
            max_bytes: DEFAULT_RECORD_MAX_BYTES,
        }
    }
}

/// A recording's header line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The terminal's width in columns.
    pub width: u16,
    /// The terminal's height in rows.
    pub height: u16,
    /// When the recording began, in seconds since the Unix epoch.
    pub timestamp: u64,
    /// The terminal type (`env.TERM`), when known.
    pub term: Option<String>,
}

impl Header {
    /// The header line, without its newline.
    fn line(&self) -> String {
        let mut env = serde_json::Map::new();
        if let Some(term) = &self.term {
            env.insert("TERM".into(), term.as_str().into());
        }
        serde_json::json!({
            "version": 2,
            "width": self.width,
            "height": self.height,
            "timestamp": self.timestamp,
            "env": env,
        })
        .to_string()
    }
}

/// An asciicast v2 writer over any [`Write`]: the header when made, then events, each a
/// whole line, until the size bound stops it. Times are given by the caller (offsets from
/// the recording's start), so that what it writes is exact in tests.
pub struct Asciicast<W: Write> {
    out: W,
    output: TextDecoder,
    input: TextDecoder,
    /// Bytes written so far, the header included.
    written: u64,
    max_bytes: u64,
    /// Stopped by the bound or by a failed write: nothing more is written.
    stopped: bool,
    /// The decoded text and the line, reused.
    text: String,
    line: Vec<u8>,
}

impl<W: Write> std::fmt::Debug for Asciicast<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asciicast")
            .field("written", &self.written)
            .field("max_bytes", &self.max_bytes)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl<W: Write> Asciicast<W> {
    /// Write `header` to `out`; event data is decoded with `encoding`; the file stops
    /// growing before `max_bytes`.
    ///
    /// # Errors
    ///
    /// When the header cannot be written, or is longer than `max_bytes`
    /// ([`io::ErrorKind::InvalidInput`]).
    pub fn new(
        mut out: W,
        header: &Header,
        encoding: &Encoding,
        max_bytes: u64,
    ) -> io::Result<Self> {
        let mut line = header.line().into_bytes();
        line.push(b'\n');
        if line.len() as u64 > max_bytes {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a recording's header alone is over {max_bytes} bytes"),
            ));
        }
        out.write_all(&line)?;
        Ok(Self {
            out,
            output: encoding.decoder(ErrorMode::Replace),
            input: encoding.decoder(ErrorMode::Replace),
            written: line.len() as u64,
            max_bytes,
            stopped: false,
            text: String::new(),
            line,
        })
    }

    /// Record `bytes` shown on the terminal at `at`.
    pub fn output(&mut self, at: Duration, bytes: &[u8]) {
        self.data(at, "o", bytes, false);
    }

    /// Record `bytes` typed by the user at `at`.
    pub fn input(&mut self, at: Duration, bytes: &[u8]) {
        self.data(at, "i", bytes, true);
    }

    /// Record that the terminal became `cols` x `rows` at `at`.
    pub fn resize(&mut self, at: Duration, cols: u16, rows: u16) {
        self.text.clear();
        self.text.push_str(&format!("{cols}x{rows}"));
        self.event(at, "r");
    }

    /// Whether recording stopped (the size bound, or a failed write).
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// How many bytes were written, the header included.
    #[must_use]
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Flush and hand back the writer.
    ///
    /// # Errors
    ///
    /// When the flush fails.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn data(&mut self, at: Duration, code: &str, bytes: &[u8], input: bool) {
        if self.stopped || bytes.is_empty() {
            return;
        }
        self.text.clear();
        let decoder = if input {
            &mut self.input
        } else {
            &mut self.output
        };
        // Replace mode: never an error.
        let _ = decoder.decode(bytes, false, &mut self.text);
        if !self.text.is_empty() {
            self.event(at, code);
        }
    }

    /// Write `[at, code, self.text]` as a line, or stop if it does not fit.
    fn event(&mut self, at: Duration, code: &str) {
        if self.stopped {
            return;
        }
        self.line.clear();
        let _ = write!(self.line, "[{:.6}, \"{code}\", ", at.as_secs_f64());
        // Writing JSON into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.line, self.text.as_str());
        self.line.extend_from_slice(b"]\n");
        if self.written + self.line.len() as u64 > self.max_bytes {
            warn!(
                "recording stopped at {} bytes: the next event would pass the limit of {}",
                self.written, self.max_bytes
            );
            self.stopped = true;
            return;
        }
        match self.out.write_all(&self.line) {
            Ok(()) => self.written += self.line.len() as u64,
            Err(error) => {
                warn!("recording stopped: {error}");
                self.stopped = true;
            }
        }
    }
}

/// The file name of a session recorded at `time` from `peer`:
/// `20261203T233232.123Z-127.0.0.1-40000.cast` (UTC; an IPv6 address with `_` for `:`,
/// which some file systems refuse). One peer address and port has one connection at a
/// time, so names do not collide.
#[must_use]
pub fn session_file_name(time: SystemTime, peer: &SocketAddr) -> String {
    file_name(time, &format!("{} {}", peer.ip(), peer.port()))
}

/// [`session_file_name`] for a peer named as the connection names it (`ip port`, or
/// what [`serve_stream`](crate::serve_stream) was given): `:` becomes `_`, and anything
/// but ASCII letters, digits and `.` becomes `-`, so no name leaves the directory.
pub(crate) fn file_name(time: SystemTime, peer: &str) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let utc = time::OffsetDateTime::UNIX_EPOCH + since_epoch;
    let peer: String = peer
        .chars()
        .map(|c| match c {
            ':' => '_',
            c if c.is_ascii_alphanumeric() || c == '.' => c,
            _ => '-',
        })
        .collect();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z-{peer}.cast",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.millisecond(),
    )
}

/// A recording into a file: its [`Asciicast`] and the clock its events are timed by.
pub(crate) struct Recording {
    cast: Asciicast<BufWriter<File>>,
    started: std::time::Instant,
    /// Record input too.
    pub(crate) input: bool,
    path: PathBuf,
}

/// What the file's buffer holds before it is written: file writes happen a few times per
/// 64 KiB of session output, never per event.
const FILE_BUFFER: usize = 64 * 1024;

impl Recording {
    /// Create `path` (never overwriting a file) and write the header.
    pub(crate) fn create(
        path: &Path,
        header: &Header,
        encoding: &Encoding,
        max_bytes: u64,
        input: bool,
    ) -> io::Result<Self> {
        let file = File::options().write(true).create_new(true).open(path)?;
        let out = BufWriter::with_capacity(FILE_BUFFER, file);
        Ok(Self {
            cast: Asciicast::new(out, header, encoding, max_bytes)?,
            started: std::time::Instant::now(),
            input,
            path: path.to_owned(),
        })
    }

    pub(crate) fn output(&mut self, bytes: &[u8]) {
        let at = self.started.elapsed();
        self.cast.output(at, bytes);
    }

    pub(crate) fn input(&mut self, bytes: &[u8]) {
        if self.input {
            let at = self.started.elapsed();
            self.cast.input(at, bytes);
        }
    }

    pub(crate) fn resize(&mut self, cols: u16, rows: u16) {
        let at = self.started.elapsed();
        self.cast.resize(at, cols, rows);
    }

    /// Write out what the buffer holds and close the file.
    pub(crate) fn finish(self) {
        if let Err(error) = self.cast.finish() {
            warn!("recording {} not complete: {error}", self.path.display());
        }
    }
}

/// The time now in seconds since the Unix epoch, for a [`Header`].
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            width: 80,
            height: 24,
            timestamp: 1_764_806_400,
            term: Some("xterm-256color".into()),
        }
    }

    fn cast(encoding: &str, max_bytes: u64) -> Asciicast<Vec<u8>> {
        let encoding = Encoding::from_name(encoding).unwrap();
        Asciicast::new(Vec::new(), &header(), &encoding, max_bytes).unwrap()
    }

    fn lines(cast: Asciicast<Vec<u8>>) -> Vec<String> {
        String::from_utf8(cast.finish().unwrap())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    const HEADER: &str = r#"{"env":{"TERM":"xterm-256color"},"height":24,"timestamp":1764806400,"version":2,"width":80}"#;

    #[test]
    fn header_and_events_are_exact_lines() {
        let mut cast = cast("utf-8", DEFAULT_RECORD_MAX_BYTES);
        cast.output(Duration::from_micros(1_234_567), b"tel:sh> ");
        cast.input(Duration::from_millis(2000), b"help\r");
        cast.resize(Duration::from_millis(2500), 132, 43);
        cast.output(Duration::ZERO, b"\x1b[1m\"quoted\"\\\t\x07");
        assert_eq!(
            lines(cast),
            [
                HEADER,
                r#"[1.234567, "o", "tel:sh> "]"#,
                r#"[2.000000, "i", "help\r"]"#,
                r#"[2.500000, "r", "132x43"]"#,
                r#"[0.000000, "o", "\u001b[1m\"quoted\"\\\t\u0007"]"#,
            ]
        );
    }

    #[test]
    fn header_without_a_terminal_type_has_an_empty_env() {
        let header = Header {
            term: None,
            ..header()
        };
        let utf8 = Encoding::from_name("utf-8").unwrap();
        let cast = Asciicast::new(Vec::new(), &header, &utf8, 1000).unwrap();
        assert_eq!(
            lines(cast),
            [r#"{"env":{},"height":24,"timestamp":1764806400,"version":2,"width":80}"#]
        );
    }

    #[test]
    fn a_character_cut_between_writes_is_recorded_whole() {
        let mut cast = cast("utf-8", DEFAULT_RECORD_MAX_BYTES);
        // "é" is C3 A9; "€" is E2 82 AC.
        cast.output(Duration::ZERO, b"caf\xc3");
        cast.output(Duration::ZERO, b"\xa9 \xe2\x82");
        cast.output(Duration::ZERO, b"\xac");
        assert_eq!(
            lines(cast)[1..],
            [
                r#"[0.000000, "o", "caf"]"#,
                "[0.000000, \"o\", \"é \"]",
                "[0.000000, \"o\", \"€\"]",
            ]
        );
    }

    #[test]
    fn undecodable_bytes_become_replacement_characters() {
        let mut cast = cast("utf-8", DEFAULT_RECORD_MAX_BYTES);
        cast.output(Duration::ZERO, b"a\xffb");
        assert_eq!(lines(cast)[1], "[0.000000, \"o\", \"a\u{fffd}b\"]");
    }

    #[test]
    fn output_is_decoded_with_the_sessions_encoding() {
        let mut cast = cast("cp437", DEFAULT_RECORD_MAX_BYTES);
        // CP437: C9 CD BB is a box's top edge.
        cast.output(Duration::ZERO, b"\xc9\xcd\xbb");
        assert_eq!(lines(cast)[1], "[0.000000, \"o\", \"╔═╗\"]");
    }

    #[test]
    fn recording_stops_before_the_bound_and_the_file_stays_whole() {
        let event = r#"[0.000000, "o", "0123456789"]"#;
        // Room for the header and exactly two events.
        let max = (HEADER.len() + 1 + 2 * (event.len() + 1)) as u64;
        let mut cast = cast("utf-8", max);
        for _ in 0..2 {
            cast.output(Duration::ZERO, b"0123456789");
        }
        assert!(!cast.is_stopped());
        assert_eq!(cast.bytes_written(), max);
        cast.output(Duration::ZERO, b"x");
        assert!(cast.is_stopped());
        // Nothing after a stop, even what would fit.
        cast.resize(Duration::ZERO, 1, 1);
        let lines = lines(cast);
        assert_eq!(lines, [HEADER, event, event]);
    }

    #[test]
    fn a_header_over_the_bound_is_refused() {
        let utf8 = Encoding::from_name("utf-8").unwrap();
        let error = Asciicast::new(Vec::new(), &header(), &utf8, 10).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn file_names_carry_the_utc_time_and_the_peer() {
        let time = UNIX_EPOCH + Duration::from_millis(1_764_805_952_123);
        let v4: SocketAddr = "127.0.0.5:40000".parse().unwrap();
        let v6: SocketAddr = "[::1]:2323".parse().unwrap();
        assert_eq!(
            session_file_name(time, &v4),
            "20251203T235232.123Z-127.0.0.5-40000.cast"
        );
        assert_eq!(
            session_file_name(time, &v6),
            "20251203T235232.123Z-__1-2323.cast"
        );
        // A stream's peer name cannot lead out of the directory.
        assert_eq!(
            file_name(time, "../../etc/x y"),
            "20251203T235232.123Z-..-..-etc-x-y.cast"
        );
    }
}
