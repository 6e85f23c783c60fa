//! The task that owns a connection's socket.
//!
//! Each turn of its loop: take what the session queued (under the lock), then wait for
//! whichever comes first of the socket accepting output, input arriving, or a handle
//! asking for something. Reading and writing are both cancel-safe, so neither ever waits
//! for the other: a peer that does not read cannot stop us from reading it, and
//! negotiation keeps being answered.
//!
//! Both directions are bounded (the whole budget is in the crate docs):
//! - input: a read takes at most what the reader's buffer has room for, so the unread
//!   data never exceeds the reader's `limit`;
//! - output: everything not yet on the socket, whoever queued it, counts. While it is at
//!   [`OUTPUT_PAUSE`] or more, the session takes no more input (it stops between two
//!   commands; the rest of a read waits in a backlog) and the socket is not read, so a
//!   peer that floods requests without reading the answers is slowed to the pace at which
//!   it reads. No reply is dropped. A peer that keeps the output there for longer than
//!   the output stall timeout is disconnected.
//!
//! Closing: once a handle asks, writes are refused, what was queued is written out
//! within the close timeout, our side is shut down (the peer sees EOF), and then the peer
//! gets another close timeout to close its side, so that unread input does not turn our
//! close into a reset that could destroy output in flight. The socket is dropped at the
//! end in every case.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use telnetlib3_proto::options::{
    charset, environ, logout, naws, sndloc, status, timing_mark, ttype, xdisploc,
};
use telnetlib3_proto::{Command, Encoder, Event, Role, Sink, TelnetOption};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, trace, warn, Level};

use super::mccp::{Inflated, Streams};
use super::{
    EventHook, Failure, Inner, OutputEnd, RecordOp, Shared, COMMAND_QUEUE, OUTPUT_PAUSE,
    TLS_HANDSHAKE_RECORD,
};

/// A stream a connection runs over: how it splits into the halves the driver reads and
/// writes at once, and whether it can send TCP urgent data.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Send + 'static {
    /// The reading half.
    type Read: UrgentRead + Send;
    /// The writing half.
    type Write: UrgentWrite + Send;
    /// Split into the two halves.
    fn into_halves(self) -> (Self::Read, Self::Write);
}

/// A writing half that may send one byte as TCP urgent data.
pub(crate) trait UrgentWrite: AsyncWrite + Unpin {
    /// Send `byte` as urgent data (TCP `MSG_OOB`), in stream order after what was written
    /// before. Ready with `false` when the transport has no urgent data: the caller then
    /// writes the byte as any other.
    fn poll_write_urgent(&mut self, _cx: &mut Context<'_>, _byte: u8) -> Poll<io::Result<bool>> {
        Poll::Ready(Ok(false))
    }
}

/// A reading half that may tell whether TCP urgent data is pending.
///
/// A read stops short at the urgent mark (the kernel's rule for urgent data), and tokio
/// takes a short read for a drained socket: it waits for the next readiness event,
/// which does not come for data already there. So after a read that stopped at a mark,
/// the driver reads on with [`UrgentRead::read_now`] until the socket is empty.
pub(crate) trait UrgentRead: AsyncRead + Unpin {
    /// Whether the peer has sent urgent data not yet read past: the data up to it is to
    /// be discarded (a Synch, RFC 854). `false` when the transport has no urgent data.
    fn urgent_pending(&self) -> bool {
        false
    }

    /// Read without waiting for readiness; `WouldBlock` when nothing is there (always,
    /// when the transport has no urgent data).
    fn read_now(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl UrgentRead for tokio::net::tcp::OwnedReadHalf {
    #[cfg(unix)]
    fn urgent_pending(&self) -> bool {
        // The socket keeps urgent data inline (SO_OOBINLINE), and a read stops at the
        // urgent mark, so POLLPRI after a read means the mark is still ahead: what was
        // just read precedes the Synch's DM. One poll(2) per read, which never waits.
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let tcp: &tokio::net::TcpStream = self.as_ref();
        let mut fds = [PollFd::new(tcp, PollFlags::PRI)];
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let pending =
            poll(&mut fds, Some(&now)).is_ok_and(|_| fds[0].revents().contains(PollFlags::PRI));
        // Only with the urgent byte kept in the stream does its DM end the discarding;
        // asked only when urgent data is there (rare), so the common read pays nothing.
        pending
            && socket2::SockRef::from(tcp)
                .out_of_band_inline()
                .unwrap_or(false)
    }

    fn read_now(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::io::Read;
        // The socket is non-blocking (tokio's): this never waits.
        let tcp: &tokio::net::TcpStream = self.as_ref();
        let socket = socket2::SockRef::from(tcp);
        let mut socket: &socket2::Socket = &socket;
        socket.read(buf)
    }
}

impl Transport for tokio::net::TcpStream {
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;

    fn into_halves(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }
}

impl UrgentWrite for tokio::net::tcp::OwnedWriteHalf {
    fn poll_write_urgent(&mut self, cx: &mut Context<'_>, byte: u8) -> Poll<io::Result<bool>> {
        // tokio has no send with MSG_OOB: socket2 sends it on the socket itself, with
        // tokio's readiness around it so that a full send buffer waits, not fails.
        let tcp: &tokio::net::TcpStream = self.as_ref();
        loop {
            if let Err(error) = std::task::ready!(tcp.poll_write_ready(cx)) {
                return Poll::Ready(Err(error));
            }
            let sent = tcp.try_io(tokio::io::Interest::WRITABLE, || {
                socket2::SockRef::from(tcp).send_out_of_band(&[byte])
            });
            match sent {
                Ok(_) => return Poll::Ready(Ok(true)),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl Transport for tokio::io::DuplexStream {
    type Read = tokio::io::ReadHalf<Self>;
    type Write = tokio::io::WriteHalf<Self>;

    fn into_halves(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }
}

impl<T: AsyncWrite + Unpin> UrgentWrite for tokio::io::WriteHalf<T> {}

impl<T: AsyncRead + Unpin> UrgentRead for tokio::io::ReadHalf<T> {}

/// Any byte stream as a transport (a TLS stream, a Unix socket, ...): split with
/// `tokio::io::split` when made, no urgent data. Boxed, so that a stream that is not
/// `Unpin` does too.
pub(crate) struct AnyStream<S> {
    read: tokio::io::ReadHalf<Pin<Box<S>>>,
    write: tokio::io::WriteHalf<Pin<Box<S>>>,
}

impl<S: AsyncRead + AsyncWrite> AnyStream<S> {
    pub(crate) fn new(stream: S) -> Self {
        let (read, write) = tokio::io::split(Box::pin(stream));
        Self { read, write }
    }
}

impl<S: AsyncRead> AsyncRead for AnyStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite> AsyncWrite for AnyStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.write).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.write).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.write).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Send + 'static> Transport for AnyStream<S> {
    type Read = tokio::io::ReadHalf<Pin<Box<S>>>;
    type Write = tokio::io::WriteHalf<Pin<Box<S>>>;

    fn into_halves(self) -> (Self::Read, Self::Write) {
        (self.read, self.write)
    }
}

/// Write some of `bytes`, the first one as urgent data if `urgent` (and the transport
/// can); returns how many went out.
async fn send_some<W: UrgentWrite>(wr: &mut W, bytes: &[u8], urgent: bool) -> io::Result<usize> {
    if urgent && poll_fn(|cx| wr.poll_write_urgent(cx, bytes[0])).await? {
        return Ok(1);
    }
    wr.write(bytes).await
}

/// `bytes` as `hexdump -C` shows them (telnetlib3's TRACE format), each line after
/// `prefix`.
pub(super) fn hexdump(bytes: &[u8], prefix: &str) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity((bytes.len() / 16 + 1) * (prefix.len() + 80));
    for (row, chunk) in bytes.chunks(16).enumerate() {
        if row > 0 {
            text.push('\n');
        }
        let _ = write!(text, "{prefix}{:08x} ", row * 16);
        for column in 0..16 {
            if column == 8 {
                text.push(' ');
            }
            match chunk.get(column) {
                Some(byte) => {
                    let _ = write!(text, " {byte:02x}");
                }
                None => text.push_str("   "),
            }
        }
        text.push_str("  |");
        text.extend(chunk.iter().map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        }));
        text.push('|');
    }
    text
}

/// Log `bytes` at trace level, telnetlib3's way: `recv 3 bytes` then the hexdump. Nothing
/// is formatted unless trace is on.
fn trace_bytes(direction: &str, prefix: &str, bytes: &[u8]) {
    if !bytes.is_empty() && tracing::enabled!(Level::TRACE) {
        trace!(
            "{direction} {} bytes\n{}",
            bytes.len(),
            hexdump(bytes, prefix)
        );
    }
}

/// The most read from the socket at once.
pub(super) const READ_CHUNK_MAX: usize = 64 * 1024;

/// Output buffers up to this capacity are kept for good; larger ones (a writer that
/// fills the queue grows them to about [`OUTPUT_PAUSE`]) only while output flows, see
/// [`OUTPUT_SHRINK_DELAY`].
pub(super) const RETAINED_OUTPUT_CAPACITY: usize = 16 * 1024;

/// Bytes sent since the driver last went idle after which, on catching up with the
/// writers, it yields once before going idle: a writer that streams many small writes
/// (case 16: 100 bytes at a time) has then queued more meanwhile, instead of waking an idle
/// driver (a cross-thread wake-up, an eventfd write and a context switch) for each batch.
/// Interactive output, a burst smaller than this, goes idle at once as before.
pub(super) const LINGER_AFTER: usize = 4 * 1024;

/// How long the driver waits with nothing to write before it releases large output
/// buffers. The memory trade-off: the driver's buffer and the session's queue swap at
/// every turn, so a connection that streams output holds two buffers of up to
/// [`OUTPUT_PAUSE`] of data each (in practice some 64 KiB each, 128 KiB at most with
/// `Vec`'s doubling) while it does and for this long after; an idle connection holds at
/// most [`RETAINED_OUTPUT_CAPACITY`] of output buffer. Releasing the
/// drained buffer at once instead (as before) made the session's queue regrow from
/// nothing on every 48 KiB a writer queued: a dozen reallocations and a copy of all it
/// held, about 3% of the work of a loop of small writes.
const OUTPUT_SHRINK_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// How long after a client agrees to MCCP3 its stream starts
/// ([`Session::output_compression_deferred`]); its output goes plain meanwhile. Why wait:
/// telnetlib3 5.0.1's server offers WILL MCCP3, then refuses our DO with WONT MCCP3 at
/// once, and mishandles a stream sent to it meanwhile (it starts decompressing only after
/// the read that held the SB, and drops what a stream held when plain bytes follow its
/// end in one read): our output then lost its negotiation answers. Within this time its
/// refusal arrives and no stream is sent; a server that keeps MCCP3 gets the stream then.
const MCCP3_SETTLE: std::time::Duration = std::time::Duration::from_millis(250);

thread_local! {
    /// The buffer socket reads land in: one per thread, not one per connection, since
    /// what is read is parsed into the connection's input buffer at once (an idle
    /// connection then holds no read buffer at all).
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Poll one read of at most `max` bytes of `rd` into the thread's buffer and hand what
/// came (nothing: EOF) to the session, or with no `inner`, drop it. What the session does
/// not take (its output is full) is kept in `backlog`. `at_mark`: a read stopped at an
/// urgent mark and the socket may hold more that tokio will not report (see
/// [`UrgentRead`]). Ready with the number of bytes read.
fn poll_receive<R: UrgentRead>(
    inner: Option<&Inner>,
    zlib: &mut Streams,
    rd: &mut R,
    backlog: &mut Vec<u8>,
    at_mark: &mut bool,
    max: usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let mut poll_with = |buf: &mut Vec<u8>| {
        if buf.len() < READ_CHUNK_MAX {
            buf.resize(READ_CHUNK_MAX, 0);
        }
        let buf = &mut buf[..max.min(READ_CHUNK_MAX)];
        let mut direct = None;
        if *at_mark {
            match rd.read_now(buf) {
                Ok(n) => direct = Some(n),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => *at_mark = false,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
        let n = match direct {
            Some(n) => n,
            None => {
                let mut read_buf = ReadBuf::new(buf);
                match Pin::new(&mut *rd).poll_read(cx, &mut read_buf) {
                    Poll::Ready(Ok(())) => read_buf.filled().len(),
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Pending => return Poll::Pending,
                }
            }
        };
        let data = &buf[..n];
        trace_bytes("recv", "<<  ", data);
        // Checked before the data is taken: the data precedes the mark.
        let urgent = n > 0 && rd.urgent_pending();
        // Read on directly while a mark is ahead, or after a direct read that filled the
        // buffer (more may wait behind it, unreported).
        *at_mark = urgent || (direct.is_some() && n == buf.len());
        if let Some(inner) = inner {
            let used = received(inner, zlib, data, urgent);
            backlog.extend_from_slice(&data[used..]);
        }
        Poll::Ready(Ok(n))
    };
    READ_BUFFER.with(|shared| match shared.try_borrow_mut() {
        Ok(mut buf) => poll_with(&mut buf),
        // Only if an event hook drove another connection on this thread from inside
        // ours: that one reads into a buffer of its own.
        Err(_) => poll_with(&mut Vec::new()),
    })
}

/// An event kept past the lock it was found under, to be handed to the event hook
/// after the driver unlocks the connection: what the event borrowed (from the input or
/// the session) is copied, and [`OwnedEvent::event`] lends it out again. Made only when a
/// hook is set.
#[derive(Debug)]
pub(super) enum OwnedEvent {
    /// An event that borrows nothing.
    Plain(Event<'static>),
    Subnegotiation(TelnetOption, Vec<u8>),
    /// A CHARSET REQUEST, as written after `SB CHARSET`.
    CharsetRequested(Vec<u8>),
    CharsetSelected(String),
    CharsetAccepted(String),
    EnvironVariables(TelnetOption, environ::Command, Vec<environ::Variable>),
    EnvironRequested(TelnetOption, Vec<environ::Request>),
    Location(String),
    Status(Vec<status::StatusItem>),
    TerminalType(String, usize),
    CycleComplete(Option<String>),
    Display(String),
    /// A kind of event this driver does not know how to keep; not delivered.
    Unknown,
}

impl OwnedEvent {
    fn new(event: &Event<'_>) -> Self {
        match event.clone() {
            Event::Subnegotiation { option, payload } => {
                Self::Subnegotiation(option, payload.to_vec())
            }
            Event::Charset(event) => match event {
                charset::Event::Requested(request) => {
                    let mut body = Vec::new();
                    request.write(&mut body);
                    Self::CharsetRequested(body)
                }
                charset::Event::Selected(name) => Self::CharsetSelected(name.to_owned()),
                charset::Event::Accepted(name) => Self::CharsetAccepted(name.to_owned()),
                charset::Event::Declined => Self::Plain(Event::Charset(charset::Event::Declined)),
                charset::Event::Rejected => Self::Plain(Event::Charset(charset::Event::Rejected)),
                charset::Event::TtableRejected => {
                    Self::Plain(Event::Charset(charset::Event::TtableRejected))
                }
                _ => Self::Unknown,
            },
            Event::Environ(event) => match event {
                environ::Event::Variables {
                    option,
                    command,
                    variables,
                } => Self::EnvironVariables(option, command, variables.to_vec()),
                environ::Event::Requested { option, requests } => {
                    Self::EnvironRequested(option, requests.to_vec())
                }
                environ::Event::Overflow { option, dropped } => {
                    Self::Plain(Event::Environ(environ::Event::Overflow { option, dropped }))
                }
                environ::Event::Reversed { option } => {
                    Self::Plain(Event::Environ(environ::Event::Reversed { option }))
                }
                _ => Self::Unknown,
            },
            Event::Sndloc(sndloc::Event::Location(location)) => Self::Location(location.to_owned()),
            Event::Status(status::Event::Report(items)) => Self::Status(items.to_vec()),
            Event::Ttype(ttype::Event::TerminalType { name, index }) => {
                Self::TerminalType(name.to_owned(), index)
            }
            Event::Ttype(ttype::Event::CycleComplete { term }) => {
                Self::CycleComplete(term.map(str::to_owned))
            }
            Event::Xdisploc(xdisploc::Event::Display(display)) => Self::Display(display.to_owned()),
            Event::Command(command) => Self::Plain(Event::Command(command)),
            Event::OptionChanged {
                option,
                side,
                enabled,
            } => Self::Plain(Event::OptionChanged {
                option,
                side,
                enabled,
            }),
            Event::ProtocolError(error) => Self::Plain(Event::ProtocolError(error)),
            Event::NegotiationViolation { option, side } => {
                Self::Plain(Event::NegotiationViolation { option, side })
            }
            Event::BadSubnegotiation { option, error } => {
                Self::Plain(Event::BadSubnegotiation { option, error })
            }
            Event::Lflow(event) => Self::Plain(Event::Lflow(event)),
            Event::Linemode(event) => Self::Plain(Event::Linemode(event)),
            Event::Logout(event) => Self::Plain(Event::Logout(event)),
            Event::Naws(event) => Self::Plain(Event::Naws(event)),
            Event::Mccp(event) => Self::Plain(Event::Mccp(event)),
            Event::TimingMark(event) => Self::Plain(Event::TimingMark(event)),
            Event::Tspeed(event) => Self::Plain(Event::Tspeed(event)),
            // The MUD protocols' events own their data.
            Event::Gmcp(event) => Self::Plain(Event::Gmcp(event)),
            Event::Msdp(event) => Self::Plain(Event::Msdp(event)),
            Event::Mssp(event) => Self::Plain(Event::Mssp(event)),
            Event::Zmp(event) => Self::Plain(Event::Zmp(event)),
            Event::Atcp(event) => Self::Plain(Event::Atcp(event)),
            Event::Aardwolf(event) => Self::Plain(Event::Aardwolf(event)),
            Event::MudDataDropped(dropped) => Self::Plain(Event::MudDataDropped(dropped)),
            _ => Self::Unknown,
        }
    }

    /// The event again, borrowing from `self`.
    fn event(&self) -> Option<Event<'_>> {
        Some(match self {
            Self::Plain(event) => event.clone(),
            Self::Subnegotiation(option, payload) => Event::Subnegotiation {
                option: *option,
                payload,
            },
            Self::CharsetRequested(body) => Event::Charset(charset::Event::Requested(
                charset::Request::parse(body.get(1..)?).ok()?,
            )),
            Self::CharsetSelected(name) => Event::Charset(charset::Event::Selected(name)),
            Self::CharsetAccepted(name) => Event::Charset(charset::Event::Accepted(name)),
            Self::EnvironVariables(option, command, variables) => {
                Event::Environ(environ::Event::Variables {
                    option: *option,
                    command: *command,
                    variables,
                })
            }
            Self::EnvironRequested(option, requests) => Event::Environ(environ::Event::Requested {
                option: *option,
                requests,
            }),
            Self::Location(location) => Event::Sndloc(sndloc::Event::Location(location)),
            Self::Status(items) => Event::Status(status::Event::Report(items)),
            Self::TerminalType(name, index) => Event::Ttype(ttype::Event::TerminalType {
                name,
                index: *index,
            }),
            Self::CycleComplete(term) => Event::Ttype(ttype::Event::CycleComplete {
                term: term.as_deref(),
            }),
            Self::Display(display) => Event::Xdisploc(xdisploc::Event::Display(display)),
            Self::Unknown => return None,
        })
    }
}

/// Hand the events kept under the lock to `hook`, in stream order; the connection is
/// not locked, so the hook may take its time or use the connection's handles.
pub(super) fn deliver(hook: Option<&EventHook>, events: &mut Vec<OwnedEvent>) {
    if let Some(hook) = hook {
        for owned in events.drain(..) {
            if let Some(event) = owned.event() {
                hook(&event);
            }
        }
    }
}

/// Takes the events of a session call outside the input, for the hook (when one is set).
struct HookEvents<'a>(Option<&'a mut Vec<OwnedEvent>>);

impl Sink for HookEvents<'_> {
    fn data(&mut self, _data: &[u8]) {}

    fn event(&mut self, event: Event<'_>) {
        if let Some(events) = self.0.as_deref_mut() {
            events.push(OwnedEvent::new(&event));
        }
    }
}

/// Receives what the session finds in the input, on behalf of the driver.
struct Collect<'a> {
    input: &'a mut Vec<u8>,
    pings: &'a mut VecDeque<oneshot::Sender<bool>>,
    /// Events for the hook, when one is set; it is called once the lock is released.
    events: Option<&'a mut Vec<OwnedEvent>>,
    /// We agreed to the peer's DO LOGOUT: the connection closes (RFC 727).
    logout: bool,
    /// Commands for [`super::PeerCommands`], once someone listens.
    commands: Option<&'a mut VecDeque<Command>>,
    /// The peer sent Abort Output: the driver must discard the data it holds.
    abort_output: &'a mut bool,
    /// The session's recording, when it runs: input and window sizes are noted for it.
    recording: Option<RecordSink<'a>>,
}

/// Where parsing notes what the recording takes (applied after the lock is released).
struct RecordSink<'a> {
    ops: &'a mut Vec<RecordOp>,
    /// The recording takes input.
    input: bool,
}

impl Sink for Collect<'_> {
    fn data(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
        if let Some(recording) = self.recording.as_mut().filter(|sink| sink.input) {
            recording.ops.push(RecordOp::Input(data.to_vec()));
        }
    }

    fn event(&mut self, event: Event<'_>) {
        trace!(?event, "event");
        if let Event::TimingMark(timing_mark::Event::Answered { will }) = event {
            // A waiter that gave up has dropped its receiver; the answer is its anyway.
            if let Some(ping) = self.pings.pop_front() {
                let _ = ping.send(will);
            }
        }
        if let (Some(recording), Event::Naws(naws::Event::WindowSize(size))) =
            (self.recording.as_mut(), &event)
        {
            recording.ops.push(RecordOp::Resize(size.cols, size.rows));
        }
        if let Event::Logout(logout::Event::LogoutRequested) = event {
            self.logout = true;
        }
        if let Event::Command(command) = event {
            if command == Command::Ao {
                // The session has dropped the data it still queued (a server does);
                // what the driver took from it is dropped at the top of its next turn.
                *self.abort_output = true;
            }
            if let Some(queue) = self.commands.as_deref_mut() {
                if super::PeerCommands::delivers(command) {
                    if queue.len() == COMMAND_QUEUE {
                        // A peer that floods commands the shell does not take. An editing
                        // or output command goes first (the oldest of them), so that a
                        // flood of EC/EL cannot push out an interrupt; else the oldest.
                        let editing = queue
                            .iter()
                            .position(|&c| matches!(c, Command::Ec | Command::El | Command::Ao));
                        queue.remove(editing.unwrap_or(0));
                    }
                    queue.push_back(command);
                }
            }
        }
        if let Some(events) = self.events.as_deref_mut() {
            events.push(OwnedEvent::new(&event));
        }
    }
}

/// Drive the connection until it ends, then tell every handle.
pub(super) async fn drive<S: Transport>(inner: Arc<Inner>, stream: S, unsent: Vec<u8>) {
    let result = run(&inner, stream, unsent).await;
    let failure = result.err().map(|error| {
        debug!(peer = %inner.settings.peer, "connection failed: {error}");
        if let Some(metrics) = &inner.settings.metrics {
            metrics.connection_failed(&error);
        }
        Failure {
            kind: error.kind(),
            message: error.to_string(),
        }
    });
    let waker = {
        let mut shared = inner.lock();
        shared.set_ended(failure);
        let mut wakers = std::mem::take(&mut shared.write_wakers);
        wakers.extend(shared.read_waker.take());
        wakers
    };
    inner.readable.notify_waiters();
    waker.into_iter().for_each(Waker::wake);
}

async fn run<S: Transport>(inner: &Inner, stream: S, unsent: Vec<u8>) -> io::Result<()> {
    let (mut rd, mut wr) = stream.into_halves();
    let mut out = unsent;
    let mut pos = 0;
    // Where in `out` the DM of a Synch we send is: it goes as TCP urgent data.
    let mut urgent_at: Option<usize> = None;
    // Input read but not yet taken by the session, which stopped because its output
    // was full. Empty (and unallocated) unless a peer does not read.
    let mut backlog: Vec<u8> = Vec::new();
    // A read stopped at an urgent mark: read on without waiting for readiness.
    let mut at_mark = false;
    // MCCP's zlib streams, and decompressed input not yet taken.
    let mut zlib = Streams::default();
    // Our output before compression, while a compressed stream runs (reused).
    let mut plain: Vec<u8> = Vec::new();
    // `out` holds zlib output: the end of a stream may be there after the compressor is
    // gone (an idle release, a DONT MCCP2), and compressed bytes cannot be cut.
    let mut out_compressed = false;
    let mut close_deadline: Option<Instant> = None;
    // Our side was shut down by write_eof: a close does not do it again.
    let mut write_shut = false;
    // Since when the output has been at OUTPUT_PAUSE or more, without a break.
    let mut stalled_since: Option<Instant> = None;
    let stall_timeout = inner.settings.output_stall_timeout;
    // An output buffer larger than RETAINED_OUTPUT_CAPACITY went through `out` since the
    // last release: the session's queue may hold it now.
    let mut grown = false;
    // When to release the large output buffers, once the driver has nothing to write.
    let mut shrink_at: Option<Instant> = None;
    // When to finish our compressed stream and free its compressor, once the output is
    // idle (see `Settings::compression_idle_release`).
    let mut release_at: Option<Instant> = None;
    // When a client's agreed MCCP3 stream starts (see MCCP3_SETTLE).
    let mut settle_at: Option<Instant> = None;
    // Output writers queued, taken for the recording (reused).
    let mut recorded: Vec<u8> = Vec::new();
    // What parsing noted for the recording, taken with it (reused).
    let mut record_ops: Vec<RecordOp> = Vec::new();
    // Bytes sent since the driver last went idle or lingered (see LINGER_AFTER).
    let mut streamed = 0;
    loop {
        let mut wake_writer = Vec::new();
        let linger;
        let mut events = Vec::new();
        let (room, closing, queued, end_output) = {
            let mut shared = inner.lock();
            if pos == out.len() {
                // Kept, whatever its size, while output flows: released by the shrink
                // below once the connection goes quiet.
                out.clear();
                out_compressed = false;
                pos = 0;
            }
            shared.in_flight = out.len() - pos;
            let waiting = !backlog.is_empty() || !zlib.inflated.is_empty() || zlib.inflate_more;
            if waiting && shared.queued_output() < OUTPUT_PAUSE {
                let taken = shared.buffered();
                let used = pump(inner, &mut shared, &mut zlib, &backlog);
                if used > 0 || shared.buffered() != taken {
                    inner.readable.notify_waiters();
                    if let Some(reader) = shared.read_waker.take() {
                        reader.wake();
                    }
                }
                backlog.drain(..used);
                if backlog.is_empty() {
                    backlog = Vec::new();
                }
                events = std::mem::take(&mut shared.hook_events);
            }
            // Only a server's session discards on AO (RFC 854's "system"); a client's
            // output is what its user typed.
            // Compressed bytes cannot be cut: the session alone discards (what it still
            // holds) while our output is compressed.
            if std::mem::take(&mut shared.abort_output)
                && shared.session.role() == Role::Server
                && !zlib.deflating()
                && !out_compressed
            {
                // Abort Output (RFC 854): the data taken from the session and not yet on
                // the socket goes too; frames stay whole (half a command would corrupt
                // the stream). An earlier Synch's DM in it is superseded by the new one.
                let before = out.len() - pos;
                Encoder::discard_data(&mut out, pos);
                urgent_at = urgent_at.filter(|&at| at < pos);
                shared.in_flight = out.len() - pos;
                debug!(
                    peer = %inner.settings.peer,
                    "abort output: {} bytes discarded",
                    before - shared.in_flight
                );
                wake_writer = shared.writer_to_wake();
            }
            if out.is_empty() && shared.output_end == OutputEnd::Sent {
                // Our side is shut down (write_eof): the session's replies to the peer
                // can no longer be sent.
                let _ = shared.session.poll_transmit(&mut out);
                out.clear();
                urgent_at = None;
            } else if out.is_empty() {
                let ending = shared.output_end == OutputEnd::Requested || shared.closing();
                let Shared {
                    session,
                    hook_events,
                    ..
                } = &mut *shared;
                // Our output ends (write_eof, close): a running zlib stream is finished
                // (Z_FINISH) so that the peer reads a whole stream before end of file
                // (MCCP2: "terminate compression ... by sending an orderly stream end").
                if ending && session.compressing() && session.end_output_compression() {
                    debug!(peer = %inner.settings.peer, "MCCP: output ends, compressed stream finished");
                }
                // A client's agreed MCCP3 stream starts MCCP3_SETTLE after the agreement
                // (its output goes plain until then), unless our output is ending.
                if session.output_compression_deferred() && !ending {
                    let at = *settle_at.get_or_insert_with(|| Instant::now() + MCCP3_SETTLE);
                    if Instant::now() >= at {
                        settle_at = None;
                        let mut sink =
                            HookEvents(inner.settings.hook.is_some().then_some(hook_events));
                        if session.start_deferred_output_compression(&mut sink) {
                            debug!(peer = %inner.settings.peer, "MCCP3: our compressed stream starts");
                        }
                        // Told once the lock is released.
                        events.append(hook_events);
                    }
                } else {
                    settle_at = None;
                }
                // A stream finished for idleness starts again before the next output
                // (a new `IAC SB MCCP2 IAC SE`, then a new zlib stream).
                if session.output_compression_suspended() && session.resume_output_compression() {
                    debug!(peer = %inner.settings.peer, "MCCP: output again, a new compressed stream");
                }
                let compressed = session.output_compressed();
                if compressed || !session.compression_switches().is_empty() {
                    // MCCP: our output is (partly) a zlib stream. No urgent byte then:
                    // a byte inside the stream has no place of its own on the wire.
                    let switches = session.compression_switches().to_vec();
                    let _ = session.poll_transmit(&mut plain);
                    zlib.compress_batch(&plain, compressed, &switches, &mut out);
                    out_compressed = true;
                    plain.clear();
                    if plain.capacity() > RETAINED_OUTPUT_CAPACITY {
                        plain = Vec::new();
                    }
                    urgent_at = None;
                } else {
                    let urgent = session.urgent_offset();
                    let _ = session.poll_transmit(&mut out);
                    urgent_at = urgent;
                }
                shared.in_flight = out.len();
                shared.mccp = zlib.counts;
            }
            // With nothing to write, the driver waits only for a wake-up: a writer must
            // give one. Otherwise it comes back by itself once the socket took the bytes.
            // After a stream of output it lingers instead: not idle (writers do not wake
            // it), it yields once below and looks again.
            linger = out.is_empty() && streamed >= LINGER_AFTER;
            shared.driver_idle = out.is_empty() && !linger;
            if shared.driver_idle {
                // A burst counts from here (small bursts of interactive output never
                // add up to a linger).
                streamed = 0;
            }
            grown |= out.capacity() > RETAINED_OUTPUT_CAPACITY;
            shrink_at = match (shared.driver_idle && grown, shrink_at) {
                (true, Some(at)) => Some(at),
                (true, None) => Some(Instant::now() + OUTPUT_SHRINK_DELAY),
                (false, _) => None,
            };
            // The idle clock runs from the last output, while a compressor is held.
            let release = inner.settings.compression_idle_release;
            release_at = match (release, shared.driver_idle && zlib.deflating()) {
                (Some(delay), true) => release_at.or_else(|| Instant::now().checked_add(delay)),
                _ => None,
            };
            let queued = shared.queued_output();
            shared.peak_output = shared.peak_output.max(queued);
            let room = inner.settings.limit.saturating_sub(shared.buffered());
            shared.read_paused = room == 0;
            // Taken last: input parsed above (the backlog) recorded the output queued
            // before it first.
            if !shared.record_pending.is_empty() {
                std::mem::swap(&mut recorded, &mut shared.record_pending);
            }
            if !shared.record_ops.is_empty() {
                std::mem::swap(&mut record_ops, &mut shared.record_ops);
            }
            if shared.driver_idle {
                // Output stopped: the recording's large buffers go back to the spares
                // (an idle connection holds none).
                for buffer in [&mut recorded, &mut shared.record_pending] {
                    if buffer.is_empty() && buffer.capacity() > RETAINED_OUTPUT_CAPACITY {
                        crate::record::recycle(std::mem::take(buffer));
                    }
                }
            }
            let can_read = !shared.eof
                && backlog.is_empty()
                && zlib.inflated.is_empty()
                && !zlib.inflate_more
                && queued < OUTPUT_PAUSE;
            let end_output = shared.output_end == OutputEnd::Requested;
            (
                if can_read { room } else { 0 },
                shared.closing(),
                queued,
                end_output,
            )
        };
        wake_writer.into_iter().for_each(Waker::wake);
        deliver(inner.settings.hook.as_ref(), &mut events);
        if !recorded.is_empty() || !record_ops.is_empty() {
            inner.record(&mut record_ops, &mut recorded).await;
        }
        if queued >= OUTPUT_PAUSE && !closing {
            let since = *stalled_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= stall_timeout {
                warn!(
                    peer = %inner.settings.peer,
                    "disconnecting: {queued} bytes of output unread for {:.1} s",
                    stall_timeout.as_secs_f64()
                );
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the peer did not read its output",
                ));
            }
        } else {
            stalled_since = None;
        }
        if closing || end_output {
            let deadline = *close_deadline
                .get_or_insert_with(|| Instant::now() + inner.settings.close_timeout);
            if pos == out.len() && closing {
                return shut_down(inner, &mut rd, &mut wr, write_shut).await;
            }
            if pos == out.len() {
                // write_eof: a half-close. The peer reads end of file; we keep reading.
                end_output_now(inner, &mut wr).await?;
                write_shut = true;
                close_deadline = None;
                continue;
            }
            if Instant::now() >= deadline {
                // Output was lost: the connection ends in failure, so that a writer's
                // shutdown says so.
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("closing: {} bytes not written", out.len() - pos),
                ));
            }
        }
        if linger {
            // Not idle, so no writer wakes the driver: it must look again by itself.
            streamed = 0;
            tokio::task::yield_now().await;
            continue;
        }
        let stall_deadline = stalled_since.map(|since| since + stall_timeout);
        // Write up to the urgent byte, then the urgent byte on its own.
        let urgent_now = urgent_at == Some(pos);
        let write_end = match urgent_at {
            Some(at) if at > pos => at,
            _ => out.len(),
        };
        tokio::select! {
            written = send_some(&mut wr, &out[pos..write_end], urgent_now), if pos < out.len() => {
                let n = written?;
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                trace_bytes("send", ">>  ", &out[pos..pos + n]);
                if urgent_now {
                    urgent_at = None;
                }
                pos += n;
                streamed += n;
                if let Some(metrics) = &inner.settings.metrics {
                    metrics.sent(n);
                }
                let waker = {
                    let mut shared = inner.lock();
                    shared.in_flight = out.len() - pos;
                    shared.bytes_out += n as u64;
                    shared.writer_to_wake()
                };
                waker.into_iter().for_each(Waker::wake);
            }
            read = poll_fn(|cx| {
                poll_receive(Some(inner), &mut zlib, &mut rd, &mut backlog, &mut at_mark, room, cx)
            }),
                if room > 0 => {
                read?;
            }
            () = inner.wake_driver.notified() => {}
            () = tokio::time::sleep_until(shrink_at.unwrap_or_else(Instant::now)),
                if shrink_at.is_some() && pos == out.len() => {
                // Quiet for a while: release the large buffers, ours and, if it holds
                // nothing, the session's queue (handing it an empty one moves nothing).
                out = Vec::new();
                pos = 0;
                let mut spare = Vec::new();
                let mut shared = inner.lock();
                if shared.session.output_len() == 0 {
                    let _ = shared.session.poll_transmit(&mut spare);
                }
                drop(shared);
                drop(spare);
                grown = false;
                shrink_at = None;
            }
            () = tokio::time::sleep_until(release_at.unwrap_or_else(Instant::now)),
                if release_at.is_some() && pos == out.len() && !closing => {
                // Our output has been idle for a while: end the zlib stream (the next
                // turn finishes it, Z_FINISH, and drops the compressor). MCCP2: "The
                // server may terminate compression at any point by sending an orderly
                // stream end"; the session starts a new stream before the next output.
                release_at = None;
                let mut shared = inner.lock();
                if shared.session.output_len() == 0 && shared.session.suspend_output_compression() {
                    debug!(peer = %inner.settings.peer, "MCCP: output idle, compressed stream ended");
                }
            }
            () = tokio::time::sleep_until(settle_at.unwrap_or_else(Instant::now)),
                if settle_at.is_some() && pos == out.len() => {
                // A client's agreed MCCP3 stream starts (the next turn).
            }
            () = tokio::time::sleep_until(close_deadline.unwrap_or_else(Instant::now)),
                if close_deadline.is_some() => {}
            () = tokio::time::sleep_until(stall_deadline.unwrap_or_else(Instant::now)),
                if stall_deadline.is_some() => {}
        }
    }
}

/// Hand `data` from the socket (empty: EOF) to the session, and tell the waiters;
/// `urgent`: TCP urgent data is pending beyond it (a Synch). Returns how much of `data`
/// the session took: less than all of it when its output reached [`OUTPUT_PAUSE`].
fn received(inner: &Inner, zlib: &mut Streams, data: &[u8], urgent: bool) -> usize {
    if let Some(metrics) = &inner.settings.metrics {
        metrics.received(data.len());
    }
    let mut shared = inner.lock();
    if urgent {
        // RFC 854: data up to the Synch's DM is discarded, commands are still processed.
        debug!(peer = %inner.settings.peer, "urgent data: discarding data up to IAC DM");
        shared.session.handle_urgent_data();
    }
    let used = if data.is_empty() {
        shared.eof = true;
        0
    } else if shared.bytes_in == 0
        && inner.settings.refuse_tls_hello
        && data[0] == TLS_HANDSHAKE_RECORD
    {
        warn!(
            "TLS ClientHello from {} but server has no SSL context -- closing connection",
            inner.settings.peer.replacen(' ', ":", 1)
        );
        shared.bytes_in += data.len() as u64;
        if let Some(metrics) = &inner.settings.metrics {
            metrics.refused(&crate::RefusalReason::TlsWithoutTls);
        }
        shared.close();
        data.len()
    } else {
        shared.bytes_in += data.len() as u64;
        shared.last_input = Instant::now();
        pump(inner, &mut shared, zlib, data)
    };
    let mut events = std::mem::take(&mut shared.hook_events);
    let reader = shared.read_waker.take();
    drop(shared);
    inner.readable.notify_waiters();
    if let Some(reader) = reader {
        reader.wake();
    }
    deliver(inner.settings.hook.as_ref(), &mut events);
    used
}

/// Hand `data` from the socket to the session through MCCP's decompression when the
/// peer's stream runs; returns how much of `data` was used. Decompressed bytes go to the
/// session as far as it takes them; what it leaves waits in `zlib.inflated`, and no more
/// is inflated until it is taken and the input buffer has room, so a small compressed
/// input that inflates hugely (a zip bomb) never holds more than the reader's `limit`.
fn pump(inner: &Inner, shared: &mut Shared, zlib: &mut Streams, data: &[u8]) -> usize {
    let mut rest = data;
    loop {
        if !zlib.inflated.is_empty() {
            let used = take_input(inner, shared, &zlib.inflated);
            zlib.inflated.drain(..used);
            if !zlib.inflated.is_empty() {
                // The session's output is full: the rest waits.
                break;
            }
            continue;
        }
        if zlib.inflating() {
            if rest.is_empty() && !zlib.inflate_more {
                break;
            }
            let room = inner.settings.limit.saturating_sub(shared.buffered());
            if room == 0 || shared.closing() {
                break;
            }
            // telnetlib3's client answers plain between its SB MCCP3 and its stream.
            let plain = zlib.plain_lead(rest);
            if plain > 0 {
                let used = take_input(inner, shared, &rest[..plain.min(room)]);
                zlib.took_plain(&rest[..used]);
                rest = &rest[used..];
                if used == 0 {
                    // The session's output is full: the rest waits.
                    break;
                }
                continue;
            }
            match zlib.inflate(rest, room) {
                Inflated::Some { consumed } => {
                    rest = &rest[consumed..];
                    if consumed == 0 && zlib.inflated.is_empty() {
                        // zlib wants more input than there is.
                        zlib.inflate_more = false;
                        if rest.is_empty() {
                            break;
                        }
                    }
                }
                Inflated::End { consumed } => {
                    // MCCP2/3: "Following this, the connection continues as a normal
                    // telnet connection": the rest of this read is plain Telnet.
                    rest = &rest[consumed..];
                    debug!(peer = %inner.settings.peer, "MCCP: the peer's compressed stream ended");
                    shared.session.handle_input_compression_end();
                }
                Inflated::Corrupt(reason) => {
                    // What follows is undecodable up to wherever the peer stops: this
                    // read's rest is dropped and later input taken as plain.
                    rest = &[];
                    shared.session.handle_input_compression_error();
                    if shared.session.role() == Role::Server {
                        // MCCP3: the client's input cannot be trusted any further.
                        warn!(peer = %inner.settings.peer, "MCCP3 decompression error ({reason}): closing");
                        shared.close();
                    } else {
                        // MCCP2: "the client can stop decompressing and send IAC DONT
                        // MCCP2 ... the connection continues as a normal telnet
                        // connection" (telnetlib3 goes on too).
                        warn!(peer = %inner.settings.peer, "MCCP2 decompression error ({reason}), disabling: sent DONT MCCP2");
                    }
                }
            }
            continue;
        }
        if rest.is_empty() {
            break;
        }
        // Plain input never takes the buffer past the limit either: a socket read is
        // sized to the room, but the plain rest of a read after a compressed stream's end
        // comes on top of what that stream inflated.
        let room = inner.settings.limit.saturating_sub(shared.buffered());
        if room == 0 {
            break;
        }
        let used = take_input(inner, shared, &rest[..rest.len().min(room)]);
        rest = &rest[used..];
        if shared.session.input_compressed() {
            // The session stopped right after the peer's SB MCCP2/MCCP3 ... SE.
            debug!(peer = %inner.settings.peer, "MCCP: the peer's output is compressed from here");
            zlib.start_inflate(shared.session.role() == Role::Server);
            continue;
        }
        // All taken, or the session stopped because its output is full.
        break;
    }
    shared.mccp = zlib.counts;
    data.len() - rest.len()
}

/// Let the session take `data` from the peer until its output reaches [`OUTPUT_PAUSE`];
/// returns how much it took. The caller tells the readers.
fn take_input(inner: &Inner, shared: &mut Shared, data: &[u8]) -> usize {
    // At most one allocation for what this adds (data shrinks when parsed), and never
    // beyond the limit: a read takes no more than the buffer has room for.
    let limit = inner.settings.limit;
    reserve_within(&mut shared.input, data.len(), limit);
    let output_limit = OUTPUT_PAUSE.saturating_sub(shared.in_flight);
    let Shared {
        session,
        input,
        pings,
        commands,
        abort_output,
        hook_events,
        record_pending,
        record_ops,
        ..
    } = shared;
    let recording = inner
        .recording_on
        .load(std::sync::atomic::Ordering::Acquire);
    if recording && !record_pending.is_empty() {
        // The output queued so far comes before this input.
        record_ops.push(RecordOp::Output(std::mem::take(record_pending)));
    }
    let mut sink = Collect {
        input,
        pings,
        events: inner.settings.hook.is_some().then_some(hook_events),
        logout: false,
        commands: commands.as_mut(),
        abort_output,
        recording: recording.then_some(RecordSink {
            ops: record_ops,
            input: inner
                .recording_input
                .load(std::sync::atomic::Ordering::Acquire),
        }),
    };
    let used = session.receive_until_output(data, &mut sink, output_limit);
    let logout = sink.logout;
    // Only once someone watches (the channels are made on the first subscription,
    // under this same lock, from the session's values then).
    if let Some(window_size) = inner.window_size.get() {
        let size = session.peer_window_size();
        window_size.send_if_modified(|known| {
            let changed = *known != size;
            *known = size;
            changed
        });
    }
    if let Some(terminal_type) = inner.terminal_type.get() {
        let term = session.terminal_type();
        terminal_type.send_if_modified(|known| {
            let changed = known.as_deref() != term;
            if changed {
                *known = term.map(str::to_owned);
            }
            changed
        });
    }
    if logout {
        // RFC 727: a server that answers DO LOGOUT with WILL LOGOUT "should then close
        // the connection". What is queued (our WILL among it) is written out first.
        debug!(peer = %inner.settings.peer, "logout agreed: closing");
        shared.close();
    }
    used
}

/// Make room in `buffer` for `additional` more bytes, growing it as a `Vec` does
/// (doubling) but to no more than `cap` when the result fits in `cap`.
fn reserve_within(buffer: &mut Vec<u8>, additional: usize, cap: usize) {
    let needed = buffer.len() + additional;
    if needed <= buffer.capacity() {
        return;
    }
    let target = needed.max(buffer.capacity() * 2).min(cap.max(needed));
    buffer.reserve_exact(target - buffer.len());
}

/// Everything queued before `write_eof` is written: shut our side down (TLS sends its
/// close_notify first, then the TCP FIN goes), and tell the writers. Reading goes on:
/// RFC 9293 3.6, a half-closed connection still carries the peer's data.
async fn end_output_now<W: AsyncWrite + Unpin>(inner: &Inner, wr: &mut W) -> io::Result<()> {
    let shutdown = tokio::time::timeout(inner.settings.close_timeout, wr.shutdown()).await;
    let wakers = {
        let mut shared = inner.lock();
        shared.output_end = OutputEnd::Sent;
        std::mem::take(&mut shared.write_wakers)
    };
    debug!(peer = %inner.settings.peer, "write_eof: our side is shut down");
    wakers.into_iter().for_each(Waker::wake);
    match shutdown {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "write_eof: the shutdown did not complete",
        )),
    }
}

/// Everything queued is written: send our FIN (unless `write_shut`: write_eof sent it),
/// tell the handles, and give the peer the close timeout to close its side (reading and
/// discarding meanwhile).
async fn shut_down<R, W>(inner: &Inner, rd: &mut R, wr: &mut W, write_shut: bool) -> io::Result<()>
where
    R: UrgentRead,
    W: AsyncWrite + Unpin,
{
    let timeout = inner.settings.close_timeout;
    let shutdown = if write_shut {
        Ok(Ok(()))
    } else {
        tokio::time::timeout(timeout, wr.shutdown()).await
    };
    let waker = {
        let mut shared = inner.lock();
        shared.set_shut_down();
        let mut wakers = std::mem::take(&mut shared.write_wakers);
        wakers.extend(shared.read_waker.take());
        wakers
    };
    inner.readable.notify_waiters();
    waker.into_iter().for_each(Waker::wake);
    if let Ok(result) = shutdown {
        result?;
    }
    let _ = tokio::time::timeout(timeout, async {
        let (mut discarded, mut at_mark) = (Vec::new(), false);
        let mut zlib = Streams::default();
        while poll_fn(|cx| {
            let max = READ_CHUNK_MAX;
            poll_receive(None, &mut zlib, rd, &mut discarded, &mut at_mark, max, cx)
        })
        .await
        .is_ok_and(|n| n > 0)
        {}
    })
    .await;
    Ok(())
}
