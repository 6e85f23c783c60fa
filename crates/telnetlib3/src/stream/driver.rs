//! The task that owns a connection's socket.
//!
//! Each turn of its loop: take what the session queued (under the lock), then wait for
//! whichever comes first of the socket accepting output, input arriving (only while the
//! reader's buffer is below its limit), or a handle asking for something. Reading and
//! writing are both cancel-safe, so neither ever waits for the other: a peer that does not
//! read cannot stop us from reading it, and negotiation keeps being answered.
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
use std::task::{Context, Poll};

use telnetlib3_proto::options::timing_mark;
use telnetlib3_proto::{Event, Sink};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, trace};

use super::{EventHook, Failure, Inner, Shared};

/// The most read from the socket at once.
pub(super) const READ_CHUNK_MAX: usize = 64 * 1024;

thread_local! {
    /// The buffer socket reads land in: one per thread, not one per connection, since
    /// what is read is parsed into the connection's input buffer at once (an idle
    /// connection then holds no read buffer at all).
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Poll one read of `rd` into the thread's buffer and hand what came (nothing: EOF) to
/// the session, or with no `inner`, drop it. Ready with the number of bytes read.
fn poll_receive<R: AsyncRead + Unpin>(
    inner: Option<&Inner>,
    rd: &mut R,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let mut poll_with = |buf: &mut Vec<u8>| {
        if buf.len() < READ_CHUNK_MAX {
            buf.resize(READ_CHUNK_MAX, 0);
        }
        let mut read_buf = ReadBuf::new(buf);
        match Pin::new(&mut *rd).poll_read(cx, &mut read_buf) {
            Poll::Ready(Ok(())) => {
                let data = read_buf.filled();
                if let Some(inner) = inner {
                    received(inner, data);
                }
                Poll::Ready(Ok(data.len()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    };
    READ_BUFFER.with(|shared| match shared.try_borrow_mut() {
        Ok(mut buf) => poll_with(&mut buf),
        // Only if an event hook drove another connection on this thread from inside
        // ours: that one reads into a buffer of its own.
        Err(_) => poll_with(&mut Vec::new()),
    })
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
            // A waiter that gave up has dropped its receiver; the answer is its anyway.
            if let Some(ping) = self.pings.pop_front() {
                let _ = ping.send(will);
            }
        }
        if let Some(hook) = self.hook {
            hook(&event);
        }
    }
}

/// Drive the connection until it ends, then tell every handle.
pub(super) async fn drive<S: AsyncRead + AsyncWrite>(
    inner: Arc<Inner>,
    stream: S,
    unsent: Vec<u8>,
) {
    let result = run(&inner, stream, unsent).await;
    let mut shared = inner.lock();
    if let Err(error) = result {
        debug!(peer = %inner.settings.peer, "connection failed: {error}");
        shared.failure = Some(Failure {
            kind: error.kind(),
            message: error.to_string(),
        });
    }
    shared.eof = true;
    shared.shut_down = true;
    shared.finished = true;
    shared.in_flight = 0;
    // Unanswered timing marks will never be answered.
    shared.pings.clear();
    drop(shared);
    inner.readable.notify_waiters();
    inner.writable.notify_waiters();
}

async fn run<S: AsyncRead + AsyncWrite>(
    inner: &Inner,
    stream: S,
    unsent: Vec<u8>,
) -> io::Result<()> {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut out = unsent;
    let mut pos = 0;
    let mut close_deadline: Option<Instant> = None;
    loop {
        let (can_read, closing) = {
            let mut shared = inner.lock();
            if pos == out.len() {
                out.clear();
                pos = 0;
                let _ = shared.session.poll_transmit(&mut out);
            }
            shared.in_flight = out.len() - pos;
            let full = shared.buffered() >= inner.settings.limit;
            shared.read_paused = full;
            (!shared.eof && !full, shared.closing)
        };
        if closing {
            let deadline = *close_deadline
                .get_or_insert_with(|| Instant::now() + inner.settings.close_timeout);
            if pos == out.len() {
                return shut_down(inner, &mut rd, &mut wr).await;
            }
            if Instant::now() >= deadline {
                debug!(peer = %inner.settings.peer, "closing: {} bytes not written", out.len() - pos);
                return Ok(());
            }
        }
        tokio::select! {
            written = wr.write(&out[pos..]), if pos < out.len() => {
                let n = written?;
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                pos += n;
                let mut shared = inner.lock();
                shared.in_flight = out.len() - pos;
                shared.bytes_out += n as u64;
                drop(shared);
                inner.writable.notify_waiters();
            }
            read = poll_fn(|cx| poll_receive(Some(inner), &mut rd, cx)), if can_read => {
                read?;
            }
            () = inner.wake_driver.notified() => {}
            () = tokio::time::sleep_until(close_deadline.unwrap_or_else(Instant::now)),
                if close_deadline.is_some() => {}
        }
    }
}

/// Hand `data` from the socket (empty: EOF) to the session, and tell the waiters.
fn received(inner: &Inner, data: &[u8]) {
    let mut shared = inner.lock();
    if data.is_empty() {
        shared.eof = true;
    } else {
        shared.bytes_in += data.len() as u64;
        // At most one allocation for what this read adds (data shrinks when parsed).
        shared.input.reserve(data.len());
        let Shared {
            session,
            input,
            pings,
            ..
        } = &mut *shared;
        let mut sink = Collect {
            input,
            pings,
            hook: inner.settings.hook.as_ref(),
        };
        session.receive(data, &mut sink);
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
    }
    drop(shared);
    inner.readable.notify_waiters();
}

/// Everything queued is written: send our FIN, tell the handles, and give the peer the
/// close timeout to close its side (reading and discarding meanwhile).
async fn shut_down<R, W>(inner: &Inner, rd: &mut R, wr: &mut W) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let timeout = inner.settings.close_timeout;
    let shutdown = tokio::time::timeout(timeout, wr.shutdown()).await;
    {
        let mut shared = inner.lock();
        shared.shut_down = true;
        // The shell sees the end now, not after the linger below.
        shared.eof = true;
    }
    inner.readable.notify_waiters();
    inner.writable.notify_waiters();
    if let Ok(result) = shutdown {
        result?;
    }
    let _ = tokio::time::timeout(timeout, async {
        while poll_fn(|cx| poll_receive(None, rd, cx))
            .await
            .is_ok_and(|n| n > 0)
        {}
    })
    .await;
    Ok(())
}
