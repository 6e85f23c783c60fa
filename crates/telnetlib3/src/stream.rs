//! The reader and writer handed to shells, and the driver task behind them.
//!
//! One driver task per connection owns the socket and feeds the protocol [`Session`]; the
//! [`TelnetReader`] and [`TelnetWriter`] share the session with it through a mutex that is
//! never held across an `.await`. The driver keeps answering negotiation whether or not the
//! shell reads, stops reading the socket while the input buffer is full (back-pressure to
//! the peer), and writes out whatever the session queued.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use telnetlib3_proto::options::timing_mark;
use telnetlib3_proto::{Command, Event, Mode, Session, Sink};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{oneshot, Notify};
use tracing::{debug, trace};

use crate::text::{Decoder, Encoder, Encoding, ErrorMode};
use crate::Error;

/// Default cap on data read from the peer and not yet taken by the shell (telnetlib3's
/// reader `limit`).
pub const DEFAULT_LIMIT: usize = 65536;

/// A writer waits once this much output is queued and not yet written to the socket.
pub const WRITE_HIGH_WATER: usize = 64 * 1024;

const READ_CHUNK: usize = 16 * 1024;

/// How long a closing connection waits for the peer to close its side.
const LINGER: std::time::Duration = std::time::Duration::from_secs(5);

/// A hook called by the driver for every protocol event, in stream order.
///
/// It runs with the session locked: it must not call back into the reader or writer (send
/// on a channel instead).
pub type EventHook = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// State shared by the driver and the handles.
struct Shared {
    session: Session,
    /// Data from the peer not yet read; `input[start..]` is unread.
    input: Vec<u8>,
    start: usize,
    /// Bytes the driver has taken from the session and is writing now.
    in_flight: usize,
    /// The peer closed, or the connection failed.
    eof: bool,
    /// The local side asked to close.
    closing: bool,
    /// Timing marks waiting for their answer, oldest first.
    pings: VecDeque<oneshot::Sender<bool>>,
    bytes_in: u64,
    bytes_out: u64,
}

impl Shared {
    fn buffered(&self) -> usize {
        self.input.len() - self.start
    }

    fn take(&mut self, max: usize) -> Vec<u8> {
        let end = self.start + max.min(self.buffered());
        let taken = self.input[self.start..end].to_vec();
        self.start = end;
        if self.start == self.input.len() {
            self.input.clear();
            self.start = 0;
            // An idle connection keeps no large buffer.
            if self.input.capacity() > READ_CHUNK * 4 {
                self.input = Vec::new();
            }
        } else if self.start >= READ_CHUNK && self.start * 2 >= self.input.len() {
            // A reader that never empties the buffer must not let the consumed prefix
            // grow without bound: move the rest down (amortised, at most half copied).
            self.input.drain(..self.start);
            self.start = 0;
        }
        taken
    }
}

/// The part of a connection both handles and the driver hold.
pub(crate) struct Inner {
    shared: Mutex<Shared>,
    /// Input arrived, EOF, or negotiation progressed.
    readable: Notify,
    /// Output was written out.
    writable: Notify,
    /// The driver has something to do (output queued, input taken, close).
    wake_driver: Notify,
    limit: usize,
    hook: Option<EventHook>,
    peer: String,
    defaults: TerminalDefaults,
}

/// What a server assumes of the terminal until the client says otherwise, and whether it
/// ever sends go-aheads (telnetlib3's `term`, `cols`, `rows`, `never_send_ga`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalDefaults {
    /// The terminal type assumed (`unknown`).
    pub term: String,
    /// The width assumed (80).
    pub cols: u16,
    /// The height assumed (25).
    pub rows: u16,
    /// Never send `IAC GA`, even without SGA.
    pub never_send_ga: bool,
}

impl Default for TerminalDefaults {
    fn default() -> Self {
        Self {
            term: "unknown".to_string(),
            cols: 80,
            rows: 25,
            never_send_ga: false,
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while locked cannot leave the session half-updated in a way that matters
        // more than losing the connection; keep serving the other handles.
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Receives what the session finds in the input, on behalf of the driver.
struct Collect<'a> {
    input: &'a mut Vec<u8>,
    pings: &'a mut VecDeque<oneshot::Sender<bool>>,
    hook: Option<&'a EventHook>,
}

impl Sink for Collect<'_> {
    fn data(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
    }

    fn event(&mut self, event: Event<'_>) {
        trace!(?event, "event");
        if let Event::TimingMark(timing_mark::Event::Answered { will }) = event {
            if let Some(ping) = self.pings.pop_front() {
                let _ = ping.send(will);
            }
        }
        if let Some(hook) = self.hook {
            hook(&event);
        }
    }
}

/// Start the driver for `stream`; returns the shared part for the handles.
pub(crate) fn spawn<S>(
    stream: S,
    session: Session,
    limit: usize,
    hook: Option<EventHook>,
    peer: String,
    defaults: TerminalDefaults,
) -> Arc<Inner>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let inner = Arc::new(Inner {
        shared: Mutex::new(Shared {
            session,
            input: Vec::new(),
            start: 0,
            in_flight: 0,
            eof: false,
            closing: false,
            pings: VecDeque::new(),
            bytes_in: 0,
            bytes_out: 0,
        }),
        readable: Notify::new(),
        writable: Notify::new(),
        wake_driver: Notify::new(),
        limit,
        hook,
        peer,
        defaults,
    });
    tokio::spawn(drive(Arc::clone(&inner), stream));
    inner
}

async fn drive<S: AsyncRead + AsyncWrite>(inner: Arc<Inner>, stream: S) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut out = Vec::new();
    let result: Result<(), std::io::Error> = async {
        loop {
            let (can_read, closing) = {
                let mut shared = inner.lock();
                let _ = shared.session.poll_transmit(&mut out);
                shared.in_flight = out.len();
                (
                    !shared.eof && shared.buffered() < inner.limit,
                    shared.closing,
                )
            };
            if !out.is_empty() {
                wr.write_all(&out).await?;
                let written = out.len();
                out.clear();
                let mut shared = inner.lock();
                shared.in_flight = 0;
                shared.bytes_out += written as u64;
                drop(shared);
                inner.writable.notify_one();
                continue;
            }
            if closing {
                wr.shutdown().await?;
                // The shell sees the end now, not after the linger below.
                inner.lock().eof = true;
                inner.readable.notify_one();
                inner.writable.notify_one();
                // Closing a socket with unread input makes the kernel send RST, which can
                // destroy output still in flight: read to the peer's EOF first, bounded.
                let _ = tokio::time::timeout(LINGER, async {
                    while rd.read(&mut buf).await.is_ok_and(|n| n > 0) {}
                })
                .await;
                return Ok(());
            }
            tokio::select! {
                read = rd.read(&mut buf), if can_read => {
                    let n = read?;
                    let mut shared = inner.lock();
                    if n == 0 {
                        shared.eof = true;
                    } else {
                        shared.bytes_in += n as u64;
                        let Shared { session, input, pings, .. } = &mut *shared;
                        let mut sink = Collect { input, pings, hook: inner.hook.as_ref() };
                        session.receive(&buf[..n], &mut sink);
                    }
                    drop(shared);
                    inner.readable.notify_one();
                }
                () = inner.wake_driver.notified() => {}
            }
        }
    }
    .await;
    if let Err(error) = &result {
        debug!(peer = %inner.peer, "connection ended: {error}");
    }

    let mut shared = inner.lock();
    shared.eof = true;
    shared.in_flight = 0;
    // Unanswered timing marks will never be answered.
    shared.pings.clear();
    drop(shared);
    inner.readable.notify_one();
    inner.writable.notify_one();
}

/// Reads application data from a Telnet connection (bytes flavour).
///
/// Negotiation is handled by the connection's driver; the reader only sees data, with
/// IAC IAC already reduced and, outside BINARY, CR NUL reduced to CR.
pub struct TelnetReader {
    inner: Arc<Inner>,
}

impl TelnetReader {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// Up to `max` bytes; waits for at least one. An empty result means end of file.
    ///
    /// # Errors
    ///
    /// Never today; the `Result` leaves room for typed connection errors.
    pub async fn read(&mut self, max: usize) -> Result<Vec<u8>, Error> {
        loop {
            {
                let mut shared = self.inner.lock();
                if shared.buffered() > 0 {
                    let data = shared.take(max);
                    drop(shared);
                    self.inner.wake_driver.notify_one();
                    return Ok(data);
                }
                if shared.eof {
                    return Ok(Vec::new());
                }
            }
            self.inner.readable.notified().await;
        }
    }

    /// Exactly `n` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the connection ends first (the bytes read so far are lost to
    /// this call, as with `read_exact`).
    pub async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, Error> {
        let mut data = Vec::with_capacity(n);
        while data.len() < n {
            let chunk = self.read(n - data.len()).await?;
            if chunk.is_empty() {
                return Err(Error::Closed);
            }
            data.extend_from_slice(&chunk);
        }
        Ok(data)
    }

    /// Bytes up to and including `separator`, or what is left at end of file. A line longer
    /// than the reader's limit is returned in pieces of the limit's size.
    ///
    /// # Errors
    ///
    /// Never today.
    pub async fn read_until(&mut self, separator: u8) -> Result<Vec<u8>, Error> {
        loop {
            {
                let mut shared = self.inner.lock();
                let unread = &shared.input[shared.start..];
                let found = memchr::memchr(separator, unread);
                let limit = self.inner.limit;
                let take = match found {
                    Some(at) => Some(at + 1),
                    None if shared.eof || unread.len() >= limit => Some(unread.len().min(limit)),
                    None => None,
                };
                if let Some(n) = take {
                    let data = shared.take(n);
                    drop(shared);
                    self.inner.wake_driver.notify_one();
                    return Ok(data);
                }
            }
            self.inner.readable.notified().await;
        }
    }

    /// A line as telnetlib3's `readline` ends it: at LF, or at CR (a CR LF or CR NUL pair
    /// is taken whole, LF kept, NUL dropped), whichever comes first; what is left at end of
    /// file; or a piece of the limit's size.
    ///
    /// # Errors
    ///
    /// Never today.
    pub async fn read_line(&mut self) -> Result<Vec<u8>, Error> {
        loop {
            {
                let mut shared = self.inner.lock();
                let unread = &shared.input[shared.start..];
                let limit = self.inner.limit;
                let end = memchr::memchr2(b'\n', b'\r', unread);
                let take = match end {
                    Some(at) if unread[at] == b'\n' => Some((at + 1, 0)),
                    // A CR at the very end: wait for what follows it, unless at EOF.
                    Some(at) if at + 1 == unread.len() && !shared.eof => None,
                    Some(at) => match unread.get(at + 1) {
                        Some(b'\n') => Some((at + 2, 0)),
                        Some(0) => Some((at + 1, 1)),
                        _ => Some((at + 1, 0)),
                    },
                    None if shared.eof || unread.len() >= limit => {
                        Some((unread.len().min(limit), 0))
                    }
                    None => None,
                };
                if let Some((n, skip)) = take {
                    let line = shared.take(n);
                    let _ = shared.take(skip);
                    drop(shared);
                    self.inner.wake_driver.notify_one();
                    return Ok(line);
                }
            }
            self.inner.readable.notified().await;
        }
    }

    /// How many bytes wait to be read.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.inner.lock().buffered()
    }

    /// Whether the peer closed and every byte was read.
    #[must_use]
    pub fn at_eof(&self) -> bool {
        let shared = self.inner.lock();
        shared.eof && shared.buffered() == 0
    }
}

impl fmt::Display for TelnetReader {
    /// telnetlib3's reader repr: `<TelnetReader limit=65536 buflen=0 eof=False>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.inner.lock();
        write!(
            f,
            "<TelnetReader limit={} buflen={} eof={}>",
            self.inner.limit,
            shared.buffered(),
            if shared.eof { "True" } else { "False" }
        )
    }
}

impl fmt::Debug for TelnetReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Writes to a Telnet connection and reads its protocol state.
pub struct TelnetWriter {
    inner: Arc<Inner>,
}

impl TelnetWriter {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// Queue `data` (escaped for the wire by the session), waiting while more than
    /// [`WRITE_HIGH_WATER`] bytes are queued: a slow peer slows the writer down instead
    /// of growing memory.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once the connection has ended or is closing.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        for chunk in data.chunks(WRITE_HIGH_WATER / 4) {
            loop {
                {
                    let mut shared = self.inner.lock();
                    if shared.eof || shared.closing {
                        return Err(Error::Closed);
                    }
                    if shared.session.output_len() + shared.in_flight < WRITE_HIGH_WATER {
                        shared.session.send_data(chunk);
                        break;
                    }
                }
                self.inner.wake_driver.notify_one();
                self.inner.writable.notified().await;
            }
            self.inner.wake_driver.notify_one();
        }
        Ok(())
    }

    /// [`TelnetWriter::write`] then CR LF.
    ///
    /// # Errors
    ///
    /// As for [`TelnetWriter::write`].
    pub async fn write_line(&mut self, line: &[u8]) -> Result<(), Error> {
        self.write(line).await?;
        self.write(b"\r\n").await
    }

    /// Wait until everything queued has been written to the socket.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the connection ended with output still queued.
    pub async fn drain(&mut self) -> Result<(), Error> {
        loop {
            {
                let shared = self.inner.lock();
                if shared.session.output_len() == 0 && shared.in_flight == 0 {
                    return Ok(());
                }
                if shared.eof {
                    return Err(Error::Closed);
                }
            }
            self.inner.wake_driver.notify_one();
            self.inner.writable.notified().await;
        }
    }

    /// Send a two-byte command (`IAC NOP`, `IAC AYT`, ...).
    pub fn send_command(&mut self, command: Command) {
        self.with_session(|session| session.send_command(command));
    }

    /// Send `IAC GA` after a prompt, unless go-aheads are suppressed (SGA agreed, or the
    /// server's `never_send_ga`). Returns whether sent.
    pub fn send_go_ahead(&mut self) -> bool {
        !self.inner.defaults.never_send_ga && self.with_session(Session::send_go_ahead)
    }

    /// The client's terminal type, or the configured default until it reports one.
    #[must_use]
    pub fn terminal_type(&self) -> String {
        self.with_session(|s| s.terminal_type().map(str::to_owned))
            .unwrap_or_else(|| self.inner.defaults.term.clone())
    }

    /// The client's window size `(cols, rows)`, or the configured default until it
    /// reports one.
    #[must_use]
    pub fn window_size(&self) -> (u16, u16) {
        self.with_session(|s| s.peer_window_size()).map_or(
            (self.inner.defaults.cols, self.inner.defaults.rows),
            |size| (size.cols, size.rows),
        )
    }

    /// Send `IAC EOR` after a record or prompt, if EOR is agreed. Returns whether sent.
    pub fn send_end_of_record(&mut self) -> bool {
        self.with_session(Session::send_end_of_record)
    }

    /// Send `DO TIMING-MARK` and wait for the answer: when it returns, the peer has
    /// processed everything sent before. Returns whether it answered WILL.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the connection ends before the answer.
    pub async fn timing_mark(&mut self) -> Result<bool, Error> {
        let (tx, rx) = oneshot::channel();
        {
            let mut shared = self.inner.lock();
            if shared.eof {
                return Err(Error::Closed);
            }
            shared.pings.push_back(tx);
            shared.session.send_timing_mark();
        }
        self.inner.wake_driver.notify_one();
        rx.await.map_err(|_| Error::Closed)
    }

    /// Flush and close the connection (our side first; the driver then ends).
    pub async fn close(&mut self) {
        let _ = self.drain().await;
        self.inner.lock().closing = true;
        self.inner.wake_driver.notify_one();
    }

    /// Whether the connection has ended or is closing.
    #[must_use]
    pub fn is_closing(&self) -> bool {
        let shared = self.inner.lock();
        shared.eof || shared.closing
    }

    /// Run `f` on the protocol session (state, options, requests); output it queues is
    /// sent. Do not hold on to the session's borrows.
    pub fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> T) -> T {
        let result = f(&mut self.inner.lock().session);
        self.inner.wake_driver.notify_one();
        result
    }

    /// The input mode (`local`, `remote`, `kludge`).
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.with_session(|session| session.mode())
    }

    pub(crate) fn inner(&self) -> Arc<Inner> {
        Arc::clone(&self.inner)
    }

    /// The peer's address, `ip port` as telnetlib3 shows it.
    #[must_use]
    pub fn peer(&self) -> &str {
        &self.inner.peer
    }

    /// Bytes received from and sent to the socket so far.
    #[must_use]
    pub fn byte_counts(&self) -> (u64, u64) {
        let shared = self.inner.lock();
        (shared.bytes_in, shared.bytes_out)
    }
}

impl fmt::Display for TelnetWriter {
    /// telnetlib3's writer repr: `<TelnetWriter server mode:kludge +lineflow -xon_any
    /// +slc_sim server-will:... client-will:...>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.inner.lock();
        f.write_str(&writer_repr(&shared.session))
    }
}

impl fmt::Debug for TelnetWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// telnetlib3's `repr(writer)` for a session.
#[must_use]
pub fn writer_repr(session: &Session) -> String {
    use telnetlib3_proto::Role;
    let role = match session.role() {
        Role::Server => "server",
        Role::Client => "client",
    };
    let flag = |on: bool| if on { '+' } else { '-' };
    let mut repr = format!(
        "<TelnetWriter {role} mode:{} {}lineflow {}xon_any +slc_sim",
        session.mode(),
        flag(session.lineflow()),
        flag(session.xon_any()),
    );
    if session.charset_rejected() {
        repr.push_str(" failed-reply:SB CHARSET");
    }
    let options = session.options_summary();
    if !options.is_empty() {
        repr.push(' ');
        repr.push_str(&options);
    }
    repr.push('>');
    repr
}

/// Wait, on the connection's state changes, until `done` holds or `deadline` passes.
/// Returns whether `done` held.
pub(crate) async fn wait_for(
    inner: &Inner,
    deadline: tokio::time::Instant,
    done: impl Fn(&Session, bool) -> bool,
) -> bool {
    loop {
        {
            let shared = inner.lock();
            if done(&shared.session, shared.eof) {
                return true;
            }
            if shared.eof {
                return false;
            }
        }
        if tokio::time::timeout_at(deadline, inner.readable.notified())
            .await
            .is_err()
        {
            return false;
        }
    }
}

/// Run `f` on the session behind `inner` and wake the driver.
pub(crate) fn with_session<T>(inner: &Inner, f: impl FnOnce(&mut Session) -> T) -> T {
    let result = f(&mut inner.lock().session);
    inner.wake_driver.notify_one();
    result
}

/// Ask the driver behind `inner` to flush and close the connection.
pub(crate) fn close_now(inner: &Inner) {
    inner.lock().closing = true;
    inner.wake_driver.notify_one();
}

/// The text flavour of [`TelnetReader`]: decodes with an [`Encoding`] as data arrives.
pub struct TextReader {
    reader: TelnetReader,
    decoder: Decoder,
    encoding: Encoding,
    pending: String,
}

impl TextReader {
    /// Decode `reader`'s data with `encoding`, handling bad bytes as `mode` says.
    #[must_use]
    pub fn new(reader: TelnetReader, encoding: Encoding, mode: ErrorMode) -> Self {
        Self {
            decoder: encoding.decoder(mode),
            encoding,
            reader,
            pending: String::new(),
        }
    }

    /// Text decoded from up to `max` bytes; waits for at least one character. Empty
    /// means end of file.
    ///
    /// # Errors
    ///
    /// [`Error::Text`] for invalid input in strict mode (the valid text around it is kept
    /// for the next read).
    pub async fn read(&mut self, max: usize) -> Result<String, Error> {
        while self.pending.is_empty() {
            let bytes = self.reader.read(max).await?;
            let last = bytes.is_empty();
            self.decoder.decode(&bytes, last, &mut self.pending)?;
            if last {
                break;
            }
        }
        Ok(std::mem::take(&mut self.pending))
    }

    /// A line, ended as [`TelnetReader::read_line`] ends it, decoded.
    ///
    /// # Errors
    ///
    /// As [`TextReader::read`].
    pub async fn read_line(&mut self) -> Result<String, Error> {
        let mut line = std::mem::take(&mut self.pending);
        let bytes = self.reader.read_line().await?;
        self.decoder.decode(&bytes, bytes.is_empty(), &mut line)?;
        Ok(line)
    }

    /// The encoding in use.
    #[must_use]
    pub fn encoding(&self) -> &Encoding {
        &self.encoding
    }
}

impl fmt::Display for TextReader {
    /// telnetlib3's `<TelnetReaderUnicode encoding='utf8' limit=65536 buflen=0 eof=False>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.reader.inner.lock();
        write!(
            f,
            "<TelnetReaderUnicode encoding='{}' limit={} buflen={} eof={}>",
            self.encoding.name(),
            self.reader.inner.limit,
            shared.buffered(),
            if shared.eof { "True" } else { "False" }
        )
    }
}

impl fmt::Debug for TextReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The text flavour of [`TelnetWriter`]: encodes with an [`Encoding`].
#[derive(Debug)]
pub struct TextWriter {
    writer: TelnetWriter,
    encoder: Encoder,
    buffer: Vec<u8>,
}

impl TextWriter {
    /// Encode text for `writer` with `encoding`, handling unmappable characters as
    /// `mode` says.
    ///
    /// # Errors
    ///
    /// [`Error::Text`] when the encoding cannot be written (UTF-16).
    pub fn new(writer: TelnetWriter, encoding: &Encoding, mode: ErrorMode) -> Result<Self, Error> {
        Ok(Self {
            encoder: encoding.encoder(mode)?,
            writer,
            buffer: Vec::new(),
        })
    }

    /// Encode and queue `text`, with the back-pressure of [`TelnetWriter::write`].
    ///
    /// # Errors
    ///
    /// [`Error::Text`] for an unmappable character in strict mode (nothing of `text` is
    /// sent then), or [`Error::Closed`].
    pub async fn write(&mut self, text: &str) -> Result<(), Error> {
        self.buffer.clear();
        self.encoder.encode(text, &mut self.buffer)?;
        self.writer.write(&self.buffer).await
    }

    /// [`TextWriter::write`] then CR LF.
    ///
    /// # Errors
    ///
    /// As [`TextWriter::write`].
    pub async fn write_line(&mut self, line: &str) -> Result<(), Error> {
        self.write(line).await?;
        self.writer.write(b"\r\n").await
    }

    /// The bytes writer underneath, for commands and protocol state.
    pub fn bytes(&mut self) -> &mut TelnetWriter {
        &mut self.writer
    }
}

/// The encoding a server should use, as telnetlib3's server chooses: US-ASCII until
/// BINARY is agreed both ways (unless `force_binary`); then LANG from NEW-ENVIRON (not
/// `C`), else the CHARSET agreed, else `default`.
#[must_use]
pub fn negotiated_encoding(session: &Session, default: &Encoding, force_binary: bool) -> Encoding {
    use telnetlib3_proto::TelnetOption;
    let binary =
        session.local_enabled(TelnetOption::Binary) && session.remote_enabled(TelnetOption::Binary);
    if !binary && !force_binary {
        return Encoding::from_name("US-ASCII").unwrap_or_else(|_| default.clone());
    }
    let lang = session
        .environ_var("LANG")
        .and_then(|variable| variable.value.clone())
        .and_then(|value| String::from_utf8(value).ok());
    lang.as_deref()
        .and_then(crate::text::encoding_from_lang)
        .or_else(|| {
            session
                .charset()
                .and_then(|name| Encoding::from_name(name).ok())
        })
        .unwrap_or_else(|| default.clone())
}
