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
//! Output written in quick succession is one event: output within [`COALESCE`] of the
//! first byte of an event, up to [`MAX_EVENT_BYTES`], joins it (a shell that writes a
//! screen line by line makes one event, not one per line); any other event ends it.
//! Played back, nobody can tell.
//!
//! A recording is bounded: once the next event would take the file past its
//! `max_bytes`, recording stops (with a log line) after as much of that event's data as
//! fits (whole characters; a resize is all or nothing), and the file ends with that
//! whole line, so it stays a valid asciicast file.
//!
//! A server's recordings are made and written by one recorder thread per process
//! (started with the first recording): the connection's driver only hands it what the
//! shell wrote (and what the client sent, and window sizes) in batches, in order, each
//! timed when handed, so that decoding, JSON escaping and file writes never run on the
//! connection's task. At most [`RECORDER_BACKLOG`] bytes wait for the thread, all
//! sessions together: past that a session's driver waits for room (its output waits
//! with it) rather than drop any of it, so a recording is whole up to its bound however
//! slow the disk. The connection ends once its file is written and closed.
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
use std::sync::{mpsc, Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::{debug, warn};

use crate::stream::RecordOp;
use crate::text::{Encoding, ErrorMode, TextDecoder};

/// The size a recording is stopped at by default (10 MiB).
pub const DEFAULT_RECORD_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// Output within this long of an event's first byte joins that event.
pub const COALESCE: Duration = Duration::from_millis(10);

/// The most output bytes one event holds.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

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
    /// Output not yet written as an event: how many bytes, decoded as they come (one
    /// copy of them, not one to hold the bytes and another to decode them), and the time
    /// of its first byte.
    pending_len: usize,
    pending: String,
    pending_at: Duration,
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
            pending_len: 0,
            pending: String::new(),
            pending_at: Duration::ZERO,
            text: String::new(),
            line,
        })
    }

    /// Record `bytes` shown on the terminal at `at` (with the output just before, if
    /// within [`COALESCE`]).
    pub fn output(&mut self, at: Duration, bytes: &[u8]) {
        if self.stopped || bytes.is_empty() {
            return;
        }
        if self.pending_len > 0
            && (at.saturating_sub(self.pending_at) > COALESCE
                || self.pending_len + bytes.len() > MAX_EVENT_BYTES)
        {
            self.flush_output();
        }
        if self.pending_len == 0 {
            self.pending_at = at;
        }
        self.pending_len += bytes.len();
        // Replace mode: never an error.
        let _ = self.output.decode(bytes, false, &mut self.pending);
    }

    /// Record `bytes` typed by the user at `at`.
    pub fn input(&mut self, at: Duration, bytes: &[u8]) {
        self.flush_output();
        if self.stopped || bytes.is_empty() {
            return;
        }
        self.text.clear();
        // Replace mode: never an error.
        let _ = self.input.decode(bytes, false, &mut self.text);
        if !self.text.is_empty() {
            self.event(at, "i");
        }
    }

    /// Record that the terminal became `cols` x `rows` at `at`.
    pub fn resize(&mut self, at: Duration, cols: u16, rows: u16) {
        self.flush_output();
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
        self.flush_output();
        self.out.flush()?;
        Ok(self.out)
    }

    /// Write the pending output as an event.
    fn flush_output(&mut self) {
        if self.pending_len > 0 {
            self.pending_len = 0;
            // Nothing decoded (the start of a character cut by the write): no event.
            if !self.pending.is_empty() && !self.stopped {
                // Both buffers kept for the next events.
                std::mem::swap(&mut self.text, &mut self.pending);
                self.event(self.pending_at, "o");
                std::mem::swap(&mut self.text, &mut self.pending);
            }
            self.pending.clear();
        }
    }

    /// Write `[at, code, self.text]` as a line, or stop if it does not fit.
    fn event(&mut self, at: Duration, code: &str) {
        if self.stopped {
            return;
        }
        self.build_line(at, code, self.text.len());
        if self.written + self.line.len() as u64 > self.max_bytes {
            // The longest beginning of the data that fits goes in, and that is the end
            // (a size is all or nothing).
            let room = self.max_bytes - self.written;
            let mut fits = 0;
            if code != "r" {
                // Binary search over the text's length: a longer beginning never makes
                // a shorter line.
                let (mut low, mut high) = (0, self.text.len());
                while low < high {
                    let mid = floor_char_boundary(&self.text, (low + high).div_ceil(2));
                    if mid <= low {
                        break;
                    }
                    self.build_line(at, code, mid);
                    if self.line.len() as u64 <= room {
                        low = mid;
                    } else {
                        high = mid - 1;
                    }
                }
                fits = low;
            }
            warn!(
                "recording stopped at {} bytes: the next event would pass the limit of {}",
                self.written, self.max_bytes
            );
            self.stopped = true;
            if fits == 0 {
                return;
            }
            self.build_line(at, code, fits);
        }
        match self.out.write_all(&self.line) {
            Ok(()) => self.written += self.line.len() as u64,
            Err(error) => {
                warn!("recording stopped: {error}");
                self.stopped = true;
            }
        }
    }

    /// `[at, code, the text's first len bytes]` into `self.line`.
    fn build_line(&mut self, at: Duration, code: &str, len: usize) {
        self.line.clear();
        let _ = write!(self.line, "[{:.6}, \"{code}\", ", at.as_secs_f64());
        push_json_string(&mut self.line, &self.text[..len]);
        self.line.extend_from_slice(b"]\n");
    }
}

/// The largest character boundary of `text` at or below `index`.
fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Append `text` to `out` as a JSON string, escaped as `serde_json` escapes it (`\"`,
/// `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00XX` for the other control characters).
///
/// Terminal output is mostly runs that need no escape, found 8 bytes at a time and
/// copied whole; the bytes that need one are written from a table in fixed-size pieces,
/// one after another while they follow each other, and runs of backslashes and quotes
/// eight at a time. (A byte-by-byte escape cost a
/// recorded bulk transfer a fifth of its throughput; a copy call per escaped byte made
/// the debug shell's `dump`, where every other line is 80 backslashes, 3 times slower
/// than this.)
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    let mut i = 0;
    while let Some(at) = next_escape(bytes, i) {
        out.extend_from_slice(&bytes[run..at]);
        i = at;
        // The escaped bytes that follow each other, without looking for a run.
        while let Some(&byte) = bytes.get(i) {
            match ESCAPES[usize::from(byte)] {
                0 => break,
                // Eight backslashes or quotes (a line of backslashes, say) at once.
                b'\\' | b'"' if bytes.len() - i >= 8 => {
                    if let Some(pairs) = escape_eight_self_escaping(&bytes[i..i + 8]) {
                        out.extend_from_slice(&pairs);
                        i += 8;
                        continue;
                    }
                    out.extend_from_slice(&[b'\\', byte]);
                }
                b'u' => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0xf)],
                ]),
                short => out.extend_from_slice(&[b'\\', short]),
            }
            i += 1;
        }
        run = i;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Eight bytes that are all `\` or `"`, escaped (`\\` or `\"` each), by word
/// arithmetic (a byte-by-byte escape of a line of backslashes cost twice as much);
/// `None` if any is another byte.
fn escape_eight_self_escaping(eight: &[u8]) -> Option<[u8; 16]> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const LOWS: u64 = !HIGHS;
    const BACKSLASH_LANES: u128 = u128::from_le_bytes(*b"\\\0\\\0\\\0\\\0\\\0\\\0\\\0\\\0");
    /// The high bit of each byte of `word` that is zero, exactly (no borrow between
    /// bytes: Hacker's Delight 6-1's exact variant).
    fn zero_bytes(word: u64) -> u64 {
        !(((word & LOWS).wrapping_add(LOWS)) | word | LOWS)
    }
    let word = u64::from_le_bytes(eight.try_into().ok()?);
    let backslashes = zero_bytes(word ^ (ONES * u64::from(b'\\')));
    let quotes = zero_bytes(word ^ (ONES * u64::from(b'"')));
    if backslashes | quotes != HIGHS {
        return None;
    }
    // Each byte into the high half of its own 16-bit lane, a backslash in the low half.
    let mut lanes = u128::from(word);
    lanes = (lanes | (lanes << 32)) & 0x0000_0000_FFFF_FFFF_0000_0000_FFFF_FFFF;
    lanes = (lanes | (lanes << 16)) & 0x0000_FFFF_0000_FFFF_0000_FFFF_0000_FFFF;
    lanes = (lanes | (lanes << 8)) & 0x00FF_00FF_00FF_00FF_00FF_00FF_00FF_00FF;
    Some(((lanes << 8) | (BACKSLASH_LANES)).to_le_bytes())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// How JSON (as `serde_json`) writes each byte in a string: 0 as itself, `u` as
/// `\u00XX`, any other as a backslash and that letter. Bytes from 0x80 are parts of
/// UTF-8 characters, written as themselves.
static ESCAPES: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// The index of the first byte of `bytes` from `from` on that JSON escapes, 8 bytes at a
/// time.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    /// The high bit of each byte of `word` (little-endian) that is below 0x20, `"` or
    /// `\`: the "has a zero byte" test of Hacker's Delight (6-1), whose lowest bit set
    /// is exact (a borrow only runs upwards, from a byte that is itself found).
    fn escapes(word: u64) -> u64 {
        let control = word.wrapping_sub(ONES * 0x20) & !word;
        let quote = word ^ (ONES * u64::from(b'"'));
        let quote = quote.wrapping_sub(ONES) & !quote;
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let backslash = backslash.wrapping_sub(ONES) & !backslash;
        (control | quote | backslash) & HIGHS
    }
    let rest = bytes.get(from..)?;
    let mut words = rest.chunks_exact(8);
    for (n, word) in words.by_ref().enumerate() {
        let found = escapes(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        if found != 0 {
            return Some(from + n * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let tail = words.remainder();
    let tail_at = bytes.len() - tail.len();
    tail.iter()
        .position(|&byte| ESCAPES[usize::from(byte)] != 0)
        .map(|at| tail_at + at)
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

/// A recording into a file: its [`Asciicast`], written on the recorder thread.
pub(crate) struct Recording {
    cast: Asciicast<BufWriter<File>>,
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
    ) -> io::Result<Self> {
        let mut options = File::options();
        options.write(true).create_new(true);
        // Readable by the server's user only: a recording may hold what clients typed
        // (passwords, with input recorded) and what they were shown.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        let out = BufWriter::with_capacity(FILE_BUFFER, file);
        Ok(Self {
            cast: Asciicast::new(out, header, encoding, max_bytes)?,
            path: path.to_owned(),
        })
    }

    /// Apply `ops`, in order, then `output`, all at `at`.
    fn apply(&mut self, at: Duration, ops: Vec<RecordOp>, output: &[u8]) {
        for op in ops {
            match op {
                RecordOp::Output(data) => self.cast.output(at, &data),
                RecordOp::Input(data) => self.cast.input(at, &data),
                RecordOp::Resize(cols, rows) => self.cast.resize(at, cols, rows),
            }
        }
        self.cast.output(at, output);
    }

    /// Write out what the buffer holds and close the file.
    fn finish(self) {
        if let Err(error) = self.cast.finish() {
            warn!("recording {} not complete: {error}", self.path.display());
        }
    }
}

/// A session's recording as its connection holds it: the recording itself is written
/// by the process's recorder thread ([`Recorder`]), so that decoding, JSON and file
/// writes stay off the connection's driver task; the connection only hands it batches,
/// each timed when handed.
pub(crate) struct RecordingHandle {
    recording: Arc<Mutex<Option<Recording>>>,
    started: Instant,
}

/// A recording to make: its file, what the file starts with, and where a file that
/// cannot be made is counted.
pub(crate) struct NewRecording {
    pub(crate) path: PathBuf,
    pub(crate) header: Header,
    pub(crate) encoding: Encoding,
    pub(crate) max_bytes: u64,
    /// Record input too.
    pub(crate) input: bool,
    pub(crate) metrics: Option<Arc<crate::ServerMetrics>>,
}

impl RecordingHandle {
    /// Start recording, the clock starting now: the recorder thread makes the file
    /// (a connection does not wait for the file system to create it), and records
    /// `unread` first (input that came before, still unread by the shell). A file that
    /// cannot be made is logged (and counted in the metrics), and the session runs
    /// unrecorded.
    pub(crate) fn new(new: NewRecording, unread: Vec<u8>) -> Self {
        let handle = Self {
            recording: Arc::new(Mutex::new(None)),
            started: Instant::now(),
        };
        if let Some(recorder) = recorder() {
            let _ = recorder.jobs.send(Job::Open {
                recording: Arc::clone(&handle.recording),
                new: Box::new(new),
                unread,
            });
        }
        handle
    }

    /// Hand `ops` (what the driver's parsing found) and then `output` (what writers
    /// queued since) to the recorder thread, at the time now. Waits while the thread
    /// has [`RECORDER_BACKLOG`] bytes to write (a disk slower than the session holds the
    /// session's output back, and every byte is recorded).
    pub(crate) async fn record(&self, ops: Vec<RecordOp>, output: Vec<u8>) {
        let at = self.started.elapsed();
        let Some(recorder) = recorder() else {
            return;
        };
        let bytes = ops
            .iter()
            .map(|op| match op {
                RecordOp::Output(data) | RecordOp::Input(data) => data.len(),
                RecordOp::Resize(..) => 0,
            })
            .sum::<usize>()
            + output.len();
        let permits = bytes.clamp(1, RECORDER_BACKLOG);
        let Ok(room) = recorder
            .room
            .acquire_many(u32::try_from(permits).unwrap_or(u32::MAX))
            .await
        else {
            return;
        };
        // Given back by the thread once written.
        room.forget();
        let job = Job::Record {
            recording: Arc::clone(&self.recording),
            at,
            ops,
            output,
            permits,
        };
        if recorder.jobs.send(job).is_err() {
            recorder.room.add_permits(permits);
        }
    }

    /// Write out the rest and close the file, once the thread has written all that was
    /// handed to it before.
    pub(crate) async fn finish(self) {
        let Some(recorder) = recorder() else {
            return;
        };
        let (done, finished) = tokio::sync::oneshot::channel();
        let job = Job::Finish {
            recording: self.recording,
            done,
        };
        if recorder.jobs.send(job).is_ok() {
            let _ = finished.await;
        }
    }
}

/// The most bytes of session data waiting for the recorder thread, all sessions
/// together: a session that hands more waits (back-pressure) rather than drop any, so
/// that a recording is whole up to its bound, and memory stays bounded.
pub const RECORDER_BACKLOG: usize = 8 * 1024 * 1024;

/// Output buffers the recorder thread is done with, for the drivers' next batches: a
/// bulk transfer reuses a few buffers rather than allocate (and fault in) a new one per
/// batch. At most [`SPARE_BUFFERS`] of at most [`SPARE_CAPACITY`] bytes are kept.
static SPARES: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
const SPARE_BUFFERS: usize = 8;
const SPARE_CAPACITY: usize = 512 * 1024;

/// An empty buffer for a driver's next batch of recorded output, with room if one is
/// spare.
pub(crate) fn spare_buffer() -> Vec<u8> {
    SPARES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop()
        .unwrap_or_default()
}

/// Keep `buffer` for a later batch, if there is room for it among the spares.
pub(crate) fn recycle(mut buffer: Vec<u8>) {
    if buffer.capacity() > SPARE_CAPACITY || buffer.capacity() == 0 {
        return;
    }
    buffer.clear();
    let mut spares = SPARES.lock().unwrap_or_else(PoisonError::into_inner);
    if spares.len() < SPARE_BUFFERS {
        spares.push(buffer);
    }
}

/// Work for the recorder thread, in the order the connections handed it. Only
/// [`Job::Record`] counts towards [`RECORDER_BACKLOG`]: a connection hands one `Open` and
/// one `Finish`.
enum Job {
    Open {
        recording: Arc<Mutex<Option<Recording>>>,
        new: Box<NewRecording>,
        unread: Vec<u8>,
    },
    Record {
        recording: Arc<Mutex<Option<Recording>>>,
        at: Duration,
        ops: Vec<RecordOp>,
        output: Vec<u8>,
        permits: usize,
    },
    Finish {
        recording: Arc<Mutex<Option<Recording>>>,
        done: tokio::sync::oneshot::Sender<()>,
    },
}

/// The process's recorder thread: one for every recorded session of every server,
/// started with the first recording; what it has yet to write is bounded by
/// [`RECORDER_BACKLOG`].
struct Recorder {
    jobs: mpsc::Sender<Job>,
    room: Arc<tokio::sync::Semaphore>,
}

/// The recorder, started on first use (`None` if its thread could not be started:
/// nothing is recorded then, with a log line).
fn recorder() -> Option<&'static Recorder> {
    static RECORDER: OnceLock<Option<Recorder>> = OnceLock::new();
    RECORDER
        .get_or_init(|| {
            let (jobs, queue) = mpsc::channel::<Job>();
            let room = Arc::new(tokio::sync::Semaphore::new(RECORDER_BACKLOG));
            let freed = Arc::clone(&room);
            let spawned = std::thread::Builder::new()
                .name("telnetlib3-record".into())
                .spawn(move || {
                    for job in queue {
                        run_job(job, &freed);
                    }
                });
            match spawned {
                Ok(_) => Some(Recorder { jobs, room }),
                Err(error) => {
                    warn!("no session recordings: the recorder thread did not start: {error}");
                    None
                }
            }
        })
        .as_ref()
}

fn run_job(job: Job, room: &tokio::sync::Semaphore) {
    match job {
        Job::Open {
            recording,
            new,
            unread,
        } => match Recording::create(&new.path, &new.header, &new.encoding, new.max_bytes) {
            Ok(mut made) => {
                debug!("recording to {}", new.path.display());
                if new.input {
                    made.cast.input(Duration::ZERO, &unread);
                }
                *recording.lock().unwrap_or_else(PoisonError::into_inner) = Some(made);
            }
            Err(error) => {
                warn!("cannot record to {}: {error}", new.path.display());
                if let Some(metrics) = &new.metrics {
                    metrics.error("record");
                }
            }
        },
        Job::Record {
            recording,
            at,
            ops,
            output,
            permits,
        } => {
            // A panic in a recording's work loses at most that recording (the thread
            // and the permits stay).
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut recording = recording.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(recording) = recording.as_mut() {
                    recording.apply(at, ops, &output);
                }
            }));
            room.add_permits(permits);
            recycle(output);
        }
        Job::Finish { recording, done } => {
            let taken = recording
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(recording) = taken {
                recording.finish();
            }
            let _ = done.send(());
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
        // "é" is C3 A9; "€" is E2 82 AC. A second apart: three events.
        cast.output(Duration::ZERO, b"caf\xc3");
        cast.output(Duration::from_secs(1), b"\xa9 \xe2\x82");
        cast.output(Duration::from_secs(2), b"\xac");
        assert_eq!(
            lines(cast)[1..],
            [
                r#"[0.000000, "o", "caf"]"#,
                "[1.000000, \"o\", \"é \"]",
                "[2.000000, \"o\", \"€\"]",
            ]
        );
    }

    #[test]
    fn output_in_quick_succession_is_one_event() {
        let mut cast = cast("utf-8", DEFAULT_RECORD_MAX_BYTES);
        cast.output(Duration::from_millis(100), b"one ");
        cast.output(Duration::from_millis(105), b"two ");
        cast.output(Duration::from_millis(110), b"three");
        // Past the window of the event's first byte: a new event.
        cast.output(Duration::from_millis(111), b"four");
        // Input ends an event.
        cast.input(Duration::from_millis(112), b"x");
        cast.output(Duration::from_millis(113), b"five");
        // So does a size that would pass MAX_EVENT_BYTES.
        cast.output(Duration::from_millis(114), &[b'.'; MAX_EVENT_BYTES]);
        assert_eq!(
            lines(cast)[1..5],
            [
                r#"[0.100000, "o", "one two three"]"#,
                r#"[0.111000, "o", "four"]"#,
                r#"[0.112000, "i", "x"]"#,
                r#"[0.113000, "o", "five"]"#,
            ]
        );
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut samples: Vec<String> = (0..=0x7f_u8).map(|b| char::from(b).to_string()).collect();
        samples.push((0..=0x7f_u8).map(char::from).collect());
        samples.push("plain text, longer than a word, then \"quoted\" \\ and \u{1b}[1m".into());
        samples.push("é€😀\r\n\u{7f}\u{80}\u{ffff}".repeat(3));
        // Backslashes and quotes mixed within eight bytes, then cut by other bytes.
        samples.push("\\\"".repeat(9) + "\\x\"\\\\\\\\\\\\\\\\\n\"");
        for offset in 0..9 {
            samples.push(format!(
                "{}\\{}\n",
                "x".repeat(offset),
                "y".repeat(9 - offset)
            ));
        }
        for text in samples {
            let mut ours = Vec::new();
            push_json_string(&mut ours, &text);
            let theirs = serde_json::to_string(&text).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), theirs, "{text:?}");
        }
    }

    #[test]
    fn escapes_dense_and_mixed_text_as_serde_json() {
        // Every byte class (plain, short escape, \u00XX, `"`, `\\`, multibyte
        // characters) in runs of every length from 0 to 17 at every offset across word
        // boundaries, then pseudo-random mixes of them.
        let classes = [
            "a", "\\", "\"", "\r", "\u{1b}", "\u{7f}", "é", "€", "😀", "\u{0}",
        ];
        let mut samples = Vec::new();
        for class in classes {
            for offset in 0..9 {
                for len in 0..18 {
                    samples.push(format!("{}{}z", "x".repeat(offset), class.repeat(len)));
                }
            }
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..(state % 40) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(classes[(state % classes.len() as u64) as usize]);
            }
            samples.push(text);
        }
        let mut ours = Vec::new();
        for text in samples {
            // Appended to what the line holds already, as an event line does.
            ours.clear();
            ours.extend_from_slice(b"[0, ");
            push_json_string(&mut ours, &text);
            let theirs = format!("[0, {}", serde_json::to_string(&text).unwrap());
            assert_eq!(String::from_utf8(ours.clone()).unwrap(), theirs, "{text:?}");
        }
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
        let event = |second| format!(r#"[{second}.000000, "o", "0123456789"]"#);
        // Room for the header, two events, and a third with 4 characters ("é" is 2
        // bytes, "\"" 2 in JSON).
        let max = (HEADER.len() + 1 + 3 * (event(0).len() + 1) - 4) as u64;
        let mut cast = cast("utf-8", max);
        for second in 0..2 {
            cast.output(Duration::from_secs(second), b"0123456789");
        }
        cast.output(Duration::from_secs(2), "ab\"é€xyz".as_bytes());
        // The third is still pending: written (or not) when another event comes.
        assert!(!cast.is_stopped());
        cast.resize(Duration::from_secs(4), 1, 1);
        assert!(cast.is_stopped());
        assert_eq!(cast.bytes_written(), max);
        // Nothing after a stop, even what would fit.
        cast.output(Duration::from_secs(5), b"x");
        let lines = lines(cast);
        assert_eq!(
            lines,
            [
                HEADER.to_owned(),
                event(0),
                event(1),
                r#"[2.000000, "o", "ab\"é"]"#.to_owned()
            ]
        );
    }

    #[test]
    fn an_event_of_several_writes_is_cut_exactly_at_the_bound() {
        // One event from three writes in quick succession, "é" cut between two of them;
        // the bound falls inside the escaped quote of the third: what fits of the event
        // goes in, whole characters and whole escapes only, a byte short of the bound.
        let event = r#"[1.000000, "o", "abcé"]"#;
        let max = (HEADER.len() + 1 + event.len() + 1 + 1) as u64;
        let mut cast = cast("utf-8", max);
        cast.output(Duration::from_secs(1), b"ab");
        cast.output(Duration::from_millis(1001), b"c\xc3");
        cast.output(Duration::from_millis(1002), b"\xa9\"xyz");
        cast.resize(Duration::from_secs(2), 1, 1);
        assert!(cast.is_stopped());
        assert_eq!(cast.bytes_written(), max - 1);
        assert_eq!(lines(cast), [HEADER, event]);
    }

    /// A scratch directory for the recorder thread's files, removed at the end.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("telnetlib3-record-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn new_recording(path: PathBuf, input: bool) -> NewRecording {
        NewRecording {
            path,
            header: header(),
            encoding: Encoding::from_name("utf-8").unwrap(),
            max_bytes: DEFAULT_RECORD_MAX_BYTES,
            input,
            metrics: None,
        }
    }

    /// The events of a recording file, without their times (taken from the clock).
    fn events(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(|line| {
                let (_, event) = line.split_once(", ").unwrap();
                event.to_owned()
            })
            .collect()
    }

    #[tokio::test]
    async fn the_recorder_thread_writes_batches_in_order_and_closes_the_file() {
        let scratch = Scratch::new("thread");
        let path = scratch.0.join("session.cast");
        let handle = RecordingHandle::new(new_recording(path.clone(), true), b"early\r".to_vec());
        handle
            .record(
                vec![
                    RecordOp::Output(b"before input ".to_vec()),
                    RecordOp::Input(b"ls\r".to_vec()),
                    RecordOp::Resize(132, 43),
                ],
                b"after".to_vec(),
            )
            .await;
        handle.record(Vec::new(), b" more".to_vec()).await;
        // Finished: the file is whole when `finish` returns.
        handle.finish().await;
        #[cfg(unix)]
        {
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&path).unwrap().permissions(),
            );
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().next(), Some(HEADER));
        // The output of the first batch after the resize, and the second batch, came
        // within the coalescing window: one event (times are the clock's, not checked).
        let events = events(&path);
        assert_eq!(
            events[..4],
            [
                r#""i", "early\r"]"#,
                r#""o", "before input "]"#,
                r#""i", "ls\r"]"#,
                r#""r", "132x43"]"#,
            ]
        );
        assert!(
            events[4..] == [r#""o", "after more"]"#]
                || events[4..] == [r#""o", "after"]"#, r#""o", " more"]"#],
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn a_batch_larger_than_the_backlog_is_recorded_whole() {
        // More than RECORDER_BACKLOG at once: it takes the whole backlog, not more
        // (waiting for more would never end).
        let scratch = Scratch::new("large");
        let path = scratch.0.join("large.cast");
        let mut new = new_recording(path.clone(), false);
        new.max_bytes = u64::MAX;
        let handle = RecordingHandle::new(new, b"not recorded".to_vec());
        let output = vec![b'x'; RECORDER_BACKLOG + 1];
        handle.record(Vec::new(), output).await;
        handle.finish().await;
        let events = events(&path);
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0],
            format!(r#""o", "{}"]"#, "x".repeat(RECORDER_BACKLOG + 1))
        );
    }

    #[tokio::test]
    async fn a_file_that_cannot_be_made_leaves_the_session_unrecorded() {
        let scratch = Scratch::new("missing");
        let path = scratch.0.join("no-such-dir").join("x.cast");
        let handle = RecordingHandle::new(new_recording(path.clone(), true), Vec::new());
        handle.record(Vec::new(), b"lost".to_vec()).await;
        handle.finish().await;
        assert!(!path.exists());
        // Nor is an existing file overwritten.
        let existing = scratch.0.join("existing.cast");
        std::fs::write(&existing, b"kept").unwrap();
        let handle = RecordingHandle::new(new_recording(existing.clone(), false), Vec::new());
        handle.record(Vec::new(), b"lost".to_vec()).await;
        handle.finish().await;
        assert_eq!(std::fs::read(&existing).unwrap(), b"kept");
    }

    #[test]
    fn spare_buffers_are_empty_and_bounded() {
        // Other tests use the spares at the same time: only what holds whatever they
        // do is checked.
        recycle(vec![b'x'; 100_000]);
        recycle(vec![b'y'; SPARE_CAPACITY + 1]);
        for _ in 0..SPARE_BUFFERS + 2 {
            let spare = spare_buffer();
            assert!(spare.is_empty());
            assert!(spare.capacity() <= SPARE_CAPACITY, "{}", spare.capacity());
        }
        assert!(SPARES.lock().unwrap().len() <= SPARE_BUFFERS);
    }

    #[test]
    fn a_resize_past_the_bound_is_left_out() {
        let max = (HEADER.len() + 1 + 10) as u64;
        let mut cast = cast("utf-8", max);
        cast.resize(Duration::ZERO, 80, 24);
        assert!(cast.is_stopped());
        assert_eq!(lines(cast), [HEADER]);
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
