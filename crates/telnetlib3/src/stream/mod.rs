//! The reader and writer handed to shells, and the driver task behind them.
//!
//! One driver task per connection ([`driver`]) owns the socket and feeds the protocol
//! [`Session`]; the [`TelnetReader`] and [`TelnetWriter`] share the session with it
//! through a mutex that is never held across an `.await`, and wait on [`Notify`]s the
//! driver signals. The driver reads and writes at once (two peers writing to each other
//! cannot deadlock), keeps answering negotiation whether or not the shell reads, stops
//! reading the socket while the input buffer holds `limit` bytes (back-pressure to the
//! peer), and writes out whatever the session queued. Writers wait while
//! [`WRITE_HIGH_WATER`] bytes are queued, so memory stays bounded both ways.
//!
//! The text flavours ([`TextReader`], [`TextWriter`]) wrap the bytes flavours.

mod driver;
pub(crate) mod expect;
pub(crate) mod idle;
mod mccp;
mod reader;
mod text;
mod writer;

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::Duration;

use telnetlib3_proto::options::naws::WindowSize;
#[cfg(doc)]
use telnetlib3_proto::options::timing_mark;
use telnetlib3_proto::{Command, Event, Session};
use tokio::sync::{oneshot, watch, Notify};

pub(crate) use driver::{AnyStream, Transport};
pub use expect::{Found, TextFound, PATTERN_LOOKBACK};
pub use mccp::{MCCP_COMPRESSOR_BYTES, MCCP_DECOMPRESSOR_BYTES, MCCP_IDLE_RELEASE};
pub use reader::{PeerCommands, TelnetReader};
pub(crate) use text::TextDecoding;
pub use text::{negotiated_encoding, TextReader, TextWriter};
pub use writer::{writer_repr, OptionWait, TelnetWriter};

use crate::Error;

/// Default cap on data read from the peer and not yet taken by the shell (telnetlib3's
/// reader `limit`).
pub const DEFAULT_LIMIT: usize = 65536;

/// An emptied input buffer larger than this is released.
const RETAINED_INPUT_CAPACITY: usize = 4096;

/// A writer waits while this much output is queued and not yet written to the socket
/// (asyncio's default high-water mark).
pub const WRITE_HIGH_WATER: usize = 64 * 1024;

/// A writer that had to wait goes on once the queued output is down to this (asyncio's
/// default low-water mark, a quarter of the high one): one wake-up per 48 KiB written,
/// not one per socket write.
pub(crate) const WRITE_LOW_WATER: usize = WRITE_HIGH_WATER / 4;

/// Room for the session's own replies (negotiation answers, STATUS, SLC, timing marks)
/// on top of what writers may queue, before input stops being taken.
pub const REPLY_ALLOWANCE: usize = 16 * 1024;

/// While this much output is queued and not yet on the socket (whoever queued it), the
/// connection takes no more input from the peer: a peer that sends requests and does not
/// read the answers is slowed to the pace at which it reads. Writers alone stay below it
/// ([`WRITE_HIGH_WATER`]), so two peers that both write without reading still cannot
/// deadlock.
pub const OUTPUT_PAUSE: usize = WRITE_HIGH_WATER + REPLY_ALLOWANCE;

/// How long a connection's output may stay at [`OUTPUT_PAUSE`] or more (the peer reads
/// nothing, or far less than it asks for) before the connection is dropped, by default.
pub const DEFAULT_OUTPUT_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The most commands kept for a [`PeerCommands`] that does not take them; older ones
/// are dropped first.
const COMMAND_QUEUE: usize = 16;

/// How long closing a connection may take by default: first to write out what is
/// queued, then (separately) to wait for the peer to close its side.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A hook called by the driver for every protocol event, in stream order.
///
/// It runs inside the driver task, after the driver has released the connection's lock
/// (the events are copied out first, only when a hook is set): it may read the
/// connection's state through its handles. While it runs the driver neither reads nor
/// writes, so it should return quickly; to act on an event at length, send it on a
/// channel and act from a task.
pub type EventHook = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

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

/// How a connection's driver and handles behave.
pub(crate) struct Settings {
    /// The most unread input kept.
    pub(crate) limit: usize,
    /// Called for every event.
    pub(crate) hook: Option<EventHook>,
    /// The peer's address as telnetlib3 shows it (`ip port`).
    pub(crate) peer: String,
    /// What is assumed until the peer reports.
    pub(crate) defaults: TerminalDefaults,
    /// How long writing out at close, and then waiting for the peer's close, may take.
    pub(crate) close_timeout: Duration,
    /// How long the output may stay at [`OUTPUT_PAUSE`] or more.
    pub(crate) output_stall_timeout: Duration,
    /// Finish our compressed stream and free the compressor after this long with no
    /// output (a server's MCCP2, a client's MCCP3); `None` keeps it.
    pub(crate) compression_idle_release: Option<Duration>,
    /// What the connection's TLS session agreed, when it runs over TLS.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) tls: Option<TlsDetails>,
    /// Close at once if the peer's first byte begins a TLS handshake: a server without
    /// TLS on this connection (telnetlib3 closes such connections too).
    pub(crate) refuse_tls_hello: bool,
    /// A server's metrics: the driver counts the bytes it moves (per socket read and
    /// write) and its failures.
    pub(crate) metrics: Option<Arc<crate::ServerMetrics>>,
}

/// The first byte of every TLS handshake record (RFC 8446 5.1, `ContentType.handshake`):
/// what a TLS client sends first, and no Telnet client does.
pub(crate) const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// A TLS session's details; nothing without the `tls` feature.
#[cfg(feature = "tls")]
pub(crate) type TlsDetails = crate::tls::TlsInfo;
/// A TLS session's details; nothing without the `tls` feature.
#[cfg(not(feature = "tls"))]
pub(crate) type TlsDetails = std::convert::Infallible;

/// What a connection holds and has moved, for monitoring and for tests of the memory
/// bounds ([`TelnetWriter::stats`], [`crate::Server::connection_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// Bytes received from the peer.
    pub bytes_in: u64,
    /// Bytes written to the peer.
    pub bytes_out: u64,
    /// Data received and not yet read by the shell (at most the reader's limit).
    pub buffered_input: usize,
    /// Output queued and not yet on the socket, escaped.
    pub pending_output: usize,
    /// The most output that was ever queued at once.
    pub peak_output: usize,
    /// MCCP: compressed bytes received (part of `bytes_in`).
    pub compressed_in: u64,
    /// MCCP: what those bytes decompressed to.
    pub decompressed_in: u64,
    /// MCCP: our output that went compressed, before compression.
    pub uncompressed_out: u64,
    /// MCCP: the same after compression (part of `bytes_out`).
    pub compressed_out: u64,
}

/// How a connection failed: kept to build an [`io::Error`] for every caller that asks.
#[derive(Clone, Debug)]
struct Failure {
    kind: io::ErrorKind,
    message: String,
}

/// Our output's own end, apart from the connection's [`Life`]: after
/// [`TelnetWriter::write_eof`] the peer reads end of file while we keep reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OutputEnd {
    /// Writes are taken.
    Open,
    /// Writes are refused; the driver shuts our side down once what is queued is written.
    Requested,
    /// Our side is shut down (TCP FIN, after TLS's close_notify); the session's replies
    /// to the peer are dropped from now on, since they cannot be sent.
    Sent,
}

/// Where the connection is in its life, as far as our side goes; it only moves
/// forward. Whether more input can come is a separate axis ([`Shared::eof`]): the peer
/// may close its side while ours is open.
#[derive(Debug)]
enum Life {
    /// Reading and writing.
    Open,
    /// A handle asked to close (or the peer's LOGOUT was agreed): writes are refused,
    /// the driver writes out what is queued, within the close timeout.
    Closing,
    /// Our side is shut down (everything queued before was written, or the close
    /// timeout passed); the driver lingers for the peer's close.
    ShutDown,
    /// The driver has ended and the socket is gone; why, if the connection failed.
    Ended(Option<Failure>),
}

/// State shared by the driver and the handles.
struct Shared {
    session: Session,
    /// Data from the peer not yet read; `input[start..]` is unread.
    input: Vec<u8>,
    start: usize,
    /// Bytes the driver has taken from the session and not yet written.
    in_flight: usize,
    /// The driver stopped reading the socket because the input buffer is full: a reader
    /// that takes input must wake it (and need not otherwise).
    read_paused: bool,
    /// No more input will come: the peer closed its side, we shut ours down, or the
    /// driver ended. The input axis of the connection's life, apart from [`Life`]
    /// because the peer may end its side while ours stays open.
    eof: bool,
    /// Our side's life.
    life: Life,
    /// The driver waits for something to do with nothing to write: a writer that queues
    /// output must wake it. While it writes, it takes what was queued meanwhile on its
    /// next turn by itself, so a run of small writes wakes it once.
    driver_idle: bool,
    /// The writers waiting for room, for everything to be written, or for the shutdown
    /// (the `poll_*` methods of [`TelnetWriter`]), one waker per task; the driver wakes
    /// them once the queued output is down to [`WRITE_LOW_WATER`] or our side's life
    /// moves on. Rarely more than one (a shell's writer, the server's closing handle).
    write_wakers: Vec<Waker>,
    /// The task waiting in [`TelnetReader`]'s `poll_read` for input: woken, like the
    /// waiters on [`Inner::readable`], at every change of the input.
    read_waker: Option<Waker>,
    /// Timing marks waiting for their answer, oldest first; never more than the session
    /// counts as outstanding ([`timing_mark::MAX_OUTSTANDING`]), so that each answer the
    /// session reports is the oldest waiter's.
    pings: VecDeque<oneshot::Sender<bool>>,
    bytes_in: u64,
    bytes_out: u64,
    /// Bytes through MCCP's zlib streams, as the driver last counted them.
    mccp: mccp::Counts,
    /// When the last byte from the peer arrived (the connection's start until one does):
    /// the server's idle deadline counts from it. A stamp, not a wake-up, so a busy
    /// connection costs the idle timer nothing.
    last_input: tokio::time::Instant,
    /// The idle timeout in force ([`TelnetWriter::set_idle_timeout`]); `None`: none.
    idle_timeout: Option<std::time::Duration>,
    /// When the idle clock was last restarted by setting the timeout (the connection's
    /// start until then): the deadline counts from this or the last input, the later.
    idle_since: tokio::time::Instant,
    /// [`TelnetWriter::write_eof`]'s half-close, for our output only.
    output_end: OutputEnd,
    /// The most output ever queued at once, as the driver saw it after each step.
    peak_output: usize,
    /// Commands from the peer for the shell ([`PeerCommands`]); `None` until someone
    /// listens, so that a connection nobody asks for them keeps none.
    commands: Option<VecDeque<Command>>,
    /// The peer sent Abort Output and the driver has not yet dropped the data it holds.
    abort_output: bool,
    /// Events found under the lock for the [`EventHook`], which the driver calls once it
    /// has released the lock; always empty without a hook.
    hook_events: Vec<driver::OwnedEvent>,
    /// The session is recorded ([`start_recording`]): writers keep what they queue in
    /// `record_pending`, which the driver hands to the recording at each of its turns,
    /// one clock reading per batch (not per write), after it unlocks.
    recording: bool,
    record_pending: Vec<u8>,
    /// What the driver's parsing found for the recording (the output queued before an
    /// input, the input, window sizes), in order, applied once it has unlocked: the
    /// recording's work (decoding, JSON, the file) never runs under this lock.
    record_ops: Vec<RecordOp>,
}

/// One thing for the recording, found under the connection's lock.
#[derive(Debug)]
pub(crate) enum RecordOp {
    /// Output the shell queued.
    Output(Vec<u8>),
    /// Input from the peer (recorded only when the recording takes input).
    Input(Vec<u8>),
    /// The peer's new window size (NAWS).
    Resize(u16, u16),
}

impl Shared {
    /// Whether the local side asked to close, or the connection ended.
    fn closing(&self) -> bool {
        !matches!(self.life, Life::Open)
    }

    /// Whether our side is shut down or the driver ended.
    fn shut_down(&self) -> bool {
        matches!(self.life, Life::ShutDown | Life::Ended(_))
    }

    /// Whether the driver ended.
    fn ended(&self) -> bool {
        matches!(self.life, Life::Ended(_))
    }

    /// Why the connection failed, once it did.
    fn failure(&self) -> Option<&Failure> {
        match &self.life {
            Life::Ended(failure) => failure.as_ref(),
            _ => None,
        }
    }

    /// Ask to close: from [`Life::Open`] only.
    fn close(&mut self) {
        if matches!(self.life, Life::Open) {
            self.life = Life::Closing;
        }
    }

    /// Our side is shut down: the output is done, and the shell sees the end of input
    /// now, not after the linger for the peer's close.
    fn set_shut_down(&mut self) {
        if !self.ended() {
            self.life = Life::ShutDown;
        }
        self.eof = true;
    }

    /// The driver ended, with `failure` if it failed: no more input, nothing in flight,
    /// and unanswered timing marks will never be answered.
    fn set_ended(&mut self, failure: Option<Failure>) {
        self.life = Life::Ended(failure);
        self.eof = true;
        self.in_flight = 0;
        self.pings.clear();
    }

    /// Take the waiting writer's waker if it may go on now: the queued output is down to
    /// [`WRITE_LOW_WATER`], or our side's life moved on. The caller wakes it after
    /// unlocking.
    fn writer_to_wake(&mut self) -> Vec<Waker> {
        if !self.write_wakers.is_empty()
            && (self.queued_output() <= WRITE_LOW_WATER || self.closing())
        {
            std::mem::take(&mut self.write_wakers)
        } else {
            Vec::new()
        }
    }

    fn buffered(&self) -> usize {
        self.input.len() - self.start
    }

    /// Output not yet on the socket: what the driver holds and what the session queued.
    fn queued_output(&self) -> usize {
        self.session.output_len() + self.in_flight
    }

    fn unread(&self) -> &[u8] {
        &self.input[self.start..]
    }

    /// Consume `n` unread bytes without copying them.
    fn skip(&mut self, n: usize) {
        self.start += n.min(self.buffered());
        if self.start == self.input.len() {
            self.input.clear();
            self.start = 0;
            // An idle connection keeps no large buffer (the driver reserves what the
            // next data needs).
            if self.input.capacity() > RETAINED_INPUT_CAPACITY {
                self.input = Vec::new();
            }
        } else if self.start >= driver::READ_CHUNK_MAX / 4 && self.start * 2 >= self.input.len() {
            // A reader that never empties the buffer must not let the consumed prefix
            // grow without bound: move the rest down (amortised, at most half copied).
            self.input.drain(..self.start);
            self.start = 0;
        }
    }

    /// Take up to `max` unread bytes.
    fn take(&mut self, max: usize) -> Vec<u8> {
        if self.start == 0 && max >= self.input.len() {
            // All of it: hand over the buffer itself, no copy (the driver reserves a new
            // one, of the size it needs, with the next data).
            return std::mem::take(&mut self.input);
        }
        let n = max.min(self.buffered());
        let taken = self.input[self.start..self.start + n].to_vec();
        self.skip(n);
        taken
    }

    /// The error for a caller that needs more than the connection will give: the
    /// failure if it failed, else [`Error::Closed`].
    fn end_error(&self) -> Error {
        match self.failure() {
            Some(failure) => {
                Error::ConnectionLost(io::Error::new(failure.kind, failure.message.clone()))
            }
            None => Error::Closed,
        }
    }
}

/// The part of a connection both handles and the driver hold.
pub(crate) struct Inner {
    shared: Mutex<Shared>,
    /// Input arrived, EOF, negotiation progressed, or the driver ended.
    readable: Notify,
    /// The driver has something to do (output queued, input taken, close).
    wake_driver: Notify,
    /// How many [`TelnetReader`]s and [`TelnetWriter`]s are alive: when the last one goes
    /// the connection closes.
    handles: AtomicUsize,
    /// The peer's window size, as last reported.
    /// Made on the first subscription: a watch channel costs several hundred bytes, and
    /// most connections never have a watcher.
    window_size: OnceLock<watch::Sender<Option<WindowSize>>>,
    /// The peer's terminal type, as the session chose it so far.
    terminal_type: OnceLock<watch::Sender<Option<String>>>,
    /// The idle timeout was changed: its watcher computes the deadline again.
    idle_changed: Notify,
    /// The session's recording, once it runs ([`start_recording`]): the driver hands it
    /// the output writers queued and what its parsing noted (`Shared::record_ops`: input,
    /// window sizes) once it has released the connection's lock, and the recorder thread
    /// writes it. An async lock: held while the driver waits for room on the recorder
    /// thread, so that `finish_recording` comes after the driver's last batch.
    recording: tokio::sync::Mutex<Option<crate::record::RecordingHandle>>,
    /// Whether `recording` holds one.
    recording_on: AtomicBool,
    /// Whether it records input too.
    recording_input: AtomicBool,
    settings: Settings,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while locked (in an event hook, say) cannot leave the session
        // half-updated in a way that matters more than losing the connection; keep
        // serving the other handles.
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new handle shares the connection.
    fn acquire(self: Arc<Self>) -> Arc<Self> {
        self.handles.fetch_add(1, Ordering::AcqRel);
        self
    }

    /// A handle went away; the last one closes the connection.
    fn release(&self) {
        if self.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            close_now(self);
        }
    }

    /// The peer's address, `ip port` as telnetlib3 shows it.
    pub(crate) fn peer(&self) -> &str {
        &self.settings.peer
    }
}

/// Wait on `notify` until `check` gives a value. `notify` must be signalled with
/// `notify_waiters` after every change `check` may depend on; a waiter registers before
/// each check that may lead to waiting, so no signal is lost. `check` may run more than
/// once for one result.
async fn wait_until<T>(notify: &Notify, mut check: impl FnMut() -> Option<T>) -> T {
    // Most calls (a `read_line` with lines buffered) find their value at once: look
    // before registering, since a registration and its removal lock the Notify's list
    // twice, which cost a short line a fifth of its reading.
    if let Some(value) = check() {
        return value;
    }
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(value) = check() {
            return value;
        }
        notified.await;
    }
}

/// What `inner` holds and has moved.
pub(crate) fn stats(inner: &Inner) -> ConnectionStats {
    let shared = inner.lock();
    let pending_output = shared.queued_output();
    ConnectionStats {
        bytes_in: shared.bytes_in,
        bytes_out: shared.bytes_out,
        buffered_input: shared.buffered(),
        pending_output,
        peak_output: shared.peak_output.max(pending_output),
        compressed_in: shared.mccp.compressed_in,
        decompressed_in: shared.mccp.plain_in,
        uncompressed_out: shared.mccp.plain_out,
        compressed_out: shared.mccp.compressed_out,
    }
}

/// Start the driver for `stream`; returns the shared part for the handles.
pub(crate) fn spawn_with<S>(stream: S, session: Session, settings: Settings) -> Arc<Inner>
where
    S: driver::Transport,
{
    spawn_after(stream, session, settings, Vec::new(), 0)
}

/// [`spawn_with`] for a stream that already carried `sent` bytes of the session's output,
/// with `unsent` still to write first.
pub(crate) fn spawn_after<S>(
    stream: S,
    session: Session,
    settings: Settings,
    unsent: Vec<u8>,
    sent: usize,
) -> Arc<Inner>
where
    S: driver::Transport,
{
    let inner = Arc::new(Inner {
        shared: Mutex::new(Shared {
            session,
            input: Vec::new(),
            start: 0,
            in_flight: unsent.len(),
            read_paused: false,
            eof: false,
            life: Life::Open,
            driver_idle: false,
            write_wakers: Vec::new(),
            read_waker: None,
            pings: VecDeque::new(),
            bytes_in: 0,
            bytes_out: sent as u64,
            mccp: mccp::Counts::default(),
            last_input: tokio::time::Instant::now(),
            idle_timeout: None,
            idle_since: tokio::time::Instant::now(),
            output_end: OutputEnd::Open,
            peak_output: unsent.len(),
            commands: None,
            abort_output: false,
            hook_events: Vec::new(),
            recording: false,
            record_pending: Vec::new(),
            record_ops: Vec::new(),
        }),
        readable: Notify::new(),
        wake_driver: Notify::new(),
        handles: AtomicUsize::new(0),
        window_size: OnceLock::new(),
        terminal_type: OnceLock::new(),
        idle_changed: Notify::new(),
        recording: tokio::sync::Mutex::new(None),
        recording_on: AtomicBool::new(false),
        recording_input: AtomicBool::new(false),
        settings,
    });
    tokio::spawn(driver::drive(Arc::clone(&inner), stream, unsent));
    inner
}

/// Wait, on the connection's state changes, until `done` holds or `deadline` passes.
/// Returns whether `done` held; false as soon as no more input can come, or as soon as
/// the peer's data fills the input buffer: the driver then stops reading, so answers
/// behind that data could not arrive before someone reads it.
pub(crate) async fn wait_for(
    inner: &Inner,
    deadline: tokio::time::Instant,
    mut done: impl FnMut(&Session, bool) -> bool,
) -> bool {
    let settled = wait_until(&inner.readable, || {
        let shared = inner.lock();
        if done(&shared.session, shared.eof) {
            Some(true)
        } else if shared.eof || shared.closing() || shared.buffered() >= inner.settings.limit {
            Some(false)
        } else {
            None
        }
    });
    tokio::time::timeout_at(deadline, settled)
        .await
        .unwrap_or(false)
}

/// Run `f` on the session behind `inner` and wake the driver.
pub(crate) fn with_session<T>(inner: &Inner, f: impl FnOnce(&mut Session) -> T) -> T {
    let result = f(&mut inner.lock().session);
    inner.wake_driver.notify_one();
    result
}

/// Ask the driver behind `inner` to write out what is queued and close, within the
/// close timeout.
pub(crate) fn close_now(inner: &Inner) {
    let waker = {
        let mut shared = inner.lock();
        shared.close();
        shared.writer_to_wake()
    };
    inner.wake_driver.notify_one();
    waker.into_iter().for_each(Waker::wake);
}

/// Whether no more input will come on `inner` (the peer closed, or the connection
/// failed).
pub(crate) fn input_ended(inner: &Inner) -> bool {
    inner.lock().eof
}

/// When the last byte from the peer arrived on `inner` (its start, until one did).
pub(crate) fn last_input(inner: &Inner) -> tokio::time::Instant {
    inner.lock().last_input
}

/// Whether `inner` runs over TLS.
pub(crate) fn over_tls(inner: &Inner) -> bool {
    inner.settings.tls.is_some()
}

/// Record the session of `inner` from now on.
///
/// Input that came before (while the opening negotiation ran) and is still unread is
/// recorded first, at time zero: the shell has it yet to read.
pub(crate) async fn start_recording(inner: &Inner, new: crate::record::NewRecording) {
    let record_input = new.input;
    let mut handle = inner.recording.lock().await;
    let mut shared = inner.lock();
    let unread = if record_input {
        shared.unread().to_vec()
    } else {
        Vec::new()
    };
    *handle = Some(crate::record::RecordingHandle::new(new, unread));
    inner.recording_input.store(record_input, Ordering::Release);
    inner.recording_on.store(true, Ordering::Release);
    shared.recording = true;
}

/// Stop recording `inner`'s session, and write out and close the file (once the
/// recorder thread has written all that came before).
pub(crate) async fn finish_recording(inner: &Inner) {
    // Held until the rest is handed over: a driver handing its last batch goes first.
    let mut handle = inner.recording.lock().await;
    let (ops, pending) = {
        let mut shared = inner.lock();
        shared.recording = false;
        (
            std::mem::take(&mut shared.record_ops),
            std::mem::take(&mut shared.record_pending),
        )
    };
    inner.recording_on.store(false, Ordering::Release);
    if let Some(recording) = handle.take() {
        recording.record(ops, pending).await;
        recording.finish().await;
    }
}

impl Inner {
    /// Hand `ops` (what parsing found) and then `data` (output writers queued since) to
    /// the recording, when the session is recorded: taken for the recorder thread, and
    /// left empty. Called without the connection's lock.
    async fn record(&self, ops: &mut Vec<RecordOp>, data: &mut Vec<u8>) {
        if (ops.is_empty() && data.is_empty()) || !self.recording_on.load(Ordering::Acquire) {
            ops.clear();
            data.clear();
            return;
        }
        let handle = self.recording.lock().await;
        if let Some(recording) = handle.as_ref() {
            // Output flows: the next batch is likely as large, a spare buffer takes it.
            let next = if data.len() > driver::RETAINED_OUTPUT_CAPACITY {
                crate::record::spare_buffer()
            } else {
                Vec::new()
            };
            recording
                .record(std::mem::take(ops), std::mem::replace(data, next))
                .await;
        } else {
            ops.clear();
            data.clear();
        }
    }
}

/// Whether the local side asked to close `inner`.
pub(crate) fn is_closing(inner: &Inner) -> bool {
    inner.lock().closing()
}

#[cfg(test)]
mod tests;
