//! [`TelnetReader`]: the bytes the peer sent, without the protocol.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use telnetlib3_proto::line::{LineSplitter, Split};
use telnetlib3_proto::Command;
use tokio::io::{AsyncRead, ReadBuf};

use regex::bytes::Regex;

use super::expect::{Found, PatternSearch, SeparatorSearch};
use super::{wait_until, Inner, Shared};
use crate::Error;

/// Reads application data from a Telnet connection (bytes flavour).
///
/// Negotiation is handled by the connection's driver; the reader only sees data, with
/// `IAC IAC` already reduced to one 255 byte and, outside BINARY, `CR NUL` reduced to CR.
/// Unread data is kept up to the reader's limit (telnetlib3's `limit`, [`DEFAULT_LIMIT`]
/// by default); while that much waits, the driver stops reading the socket, so the peer
/// is slowed down rather than memory grown (negotiation behind that data waits too).
///
/// At end of file the reading methods return what is left, then empty results. If the
/// connection failed (reset by the peer, say) rather than closed, they return
/// [`Error::ConnectionLost`] once nothing is left to read.
///
/// It is an [`AsyncRead`], so `tokio::io::copy`, [`tokio::io::BufReader`], codecs and
/// anything else that takes tokio I/O read a Telnet connection's data (a failed
/// connection's error comes as an [`io::Error`] of the same kind, see
/// [`Error`]'s conversion). Reading through it takes from the same buffer as the
/// methods here, with the same back-pressure.
///
/// ```no_run
/// use tokio::io::{AsyncBufReadExt, BufReader};
/// # async fn shell(reader: telnetlib3::TelnetReader) -> std::io::Result<()> {
/// // Everything the peer sends until it closes.
/// # let mut reader = reader;
/// let mut all = Vec::new();
/// tokio::io::copy(&mut reader, &mut all).await?;
/// # Ok(()) }
/// # async fn lines(reader: telnetlib3::TelnetReader) -> std::io::Result<()> {
/// // Or as LF-ended lines (TelnetReader::read_line keeps Telnet's CR rules instead).
/// let mut lines = BufReader::new(reader).lines();
/// while let Some(line) = lines.next_line().await? {
///     println!("{line}");
/// }
/// # Ok(()) }
/// ```
///
/// Dropping the reader and the writer of a connection closes it.
///
/// [`DEFAULT_LIMIT`]: crate::DEFAULT_LIMIT
pub struct TelnetReader {
    inner: Arc<Inner>,
    /// Where [`TelnetReader::read_line`]'s lines end, with the CR whose LF or NUL may
    /// still come.
    lines: LineSplitter,
}

/// The reader took data out of `shared`: if the driver stopped reading for a full buffer
/// and there is room now, wake it.
fn made_room(inner: &Inner, shared: &mut Shared) {
    if shared.read_paused && shared.buffered() < inner.settings.limit {
        shared.read_paused = false;
        inner.wake_driver.notify_one();
    }
}

/// Wait until `look` finds something in `inner`'s unread data (given with whether more
/// can come), or until nothing is left and no more can come (then `Ok(None)`, or the
/// connection's failure). The driver is woken when it stopped reading for a full buffer
/// and this consumption makes room.
async fn next<T>(
    inner: &Inner,
    mut look: impl FnMut(&mut Shared, bool) -> Option<T>,
) -> Result<Option<T>, Error> {
    wait_until(&inner.readable, || {
        let mut shared = inner.lock();
        let more = !shared.eof;
        if shared.buffered() > 0 {
            let found = look(&mut shared, more);
            made_room(inner, &mut shared);
            if let Some(value) = found {
                return Some(Ok(Some(value)));
            }
        }
        if !more && shared.buffered() == 0 {
            // A clean end is EOF here, not an error; a failure is the failure.
            return Some(match shared.end_error() {
                Error::Closed => Ok(None),
                failure => Err(failure),
            });
        }
        None
    })
    .await
}

impl TelnetReader {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self {
            inner: inner.acquire(),
            lines: LineSplitter::new(),
        }
    }

    /// Up to `max` bytes; waits for at least one. An empty result means end of file (or
    /// `max` was 0).
    ///
    /// # Errors
    ///
    /// [`Error::ConnectionLost`] when the connection failed and nothing is left to read.
    pub async fn read(&mut self, max: usize) -> Result<Vec<u8>, Error> {
        if max == 0 {
            return Ok(Vec::new());
        }
        self.lines.reset();
        let data = next(&self.inner, |shared, _| Some(shared.take(max))).await?;
        Ok(data.unwrap_or_default())
    }

    /// Exactly `n` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the connection ends first (the bytes read so far are lost to
    /// this call, as with `read_exact`), or [`Error::ConnectionLost`].
    pub async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, Error> {
        let mut data = Vec::with_capacity(n.min(self.inner.settings.limit));
        while data.len() < n {
            let chunk = self.read(n - data.len()).await?;
            if chunk.is_empty() {
                return Err(Error::Closed);
            }
            data.extend_from_slice(&chunk);
        }
        Ok(data)
    }

    /// Bytes up to and including `separator` (one byte or several); what is left at end
    /// of file (empty: nothing was), which the caller tells from a match by its end.
    ///
    /// Each arrival is searched with a look-back of `separator.len() - 1` bytes into what
    /// was searched before, so the work is linear in the data however it is split.
    /// Nothing is consumed until the separator is found: the call is cancel-safe, so
    /// `tokio::time::timeout` gives it a time limit and the data stays for the next read.
    ///
    /// # Errors
    ///
    /// [`Error::LimitOverrun`] when the reader's limit of unread data is reached without
    /// the separator (the data stays unread); [`Error::ConnectionLost`] when the
    /// connection failed and nothing is left to read.
    pub async fn read_until(&mut self, separator: impl AsRef<[u8]>) -> Result<Vec<u8>, Error> {
        let separator = separator.as_ref();
        let limit = self.inner.settings.limit;
        self.lines.reset();
        let mut search = SeparatorSearch::default();
        let data = next(&self.inner, |shared, more| {
            let len = shared.buffered();
            Some(match search.find(shared.unread(), separator) {
                Some(end) => Ok(shared.take(end)),
                None if !more => Ok(shared.take(len)),
                None if len >= limit => Err(Error::LimitOverrun { limit }),
                None => return None,
            })
        })
        .await?;
        data.unwrap_or(Ok(Vec::new()))
    }

    /// Bytes up to and including the first match of `pattern` (telnetlib3's
    /// `readuntil_pattern`).
    ///
    /// The pattern is searched as data arrives, each time in what arrived plus a bounded
    /// look-back into what was searched already: the longest match the pattern can make,
    /// at most [`PATTERN_LOOKBACK`](crate::PATTERN_LOOKBACK) bytes. The work is linear in
    /// the data however it is split; a pattern without a bound on its matches (`\S+#`)
    /// whose match arrives in pieces is found by the match's last `PATTERN_LOOKBACK`
    /// bytes. Cancel-safe, as [`TelnetReader::read_until`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use regex::bytes::Regex;
    /// # async fn demo(mut reader: telnetlib3::TelnetReader) -> Result<(), telnetlib3::Error> {
    /// let prompt = Regex::new(r"[#>$] $").unwrap();
    /// let output = tokio::time::timeout(Duration::from_secs(5), reader.read_until_pattern(&prompt))
    ///     .await
    ///     .map_err(|_| telnetlib3::Error::TimedOut)??;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Incomplete`] with the data left when the input ends without a match;
    /// [`Error::LimitOverrun`] when the reader's limit is reached without one (the data
    /// stays unread); [`Error::ConnectionLost`] when the connection failed.
    pub async fn read_until_pattern(&mut self, pattern: &Regex) -> Result<Vec<u8>, Error> {
        let found = self.expect(std::slice::from_ref(pattern)).await?;
        let mut data = found.before;
        data.extend_from_slice(&found.matched);
        Ok(data)
    }

    /// Wait for the first of `patterns` to match, as CPython's `telnetlib.Telnet.expect`:
    /// at each arrival the patterns are tried in their order, and the first that matches
    /// wins (not the leftmost match). Consumes the data up to the match's end and returns
    /// which pattern matched, the match, and what came before it.
    ///
    /// Searched in linear work as [`TelnetReader::read_until_pattern`]; cancel-safe.
    ///
    /// # Errors
    ///
    /// As [`TelnetReader::read_until_pattern`].
    pub async fn expect(&mut self, patterns: &[Regex]) -> Result<Found, Error> {
        let limit = self.inner.settings.limit;
        self.lines.reset();
        let mut search = PatternSearch::new(patterns);
        let found = next(&self.inner, |shared, more| {
            let len = shared.buffered();
            Some(match search.find(shared.unread(), patterns) {
                Some((index, at)) => Ok(Found::from_data(index, shared.take(at.end), &at)),
                None if !more => Err(Error::Incomplete {
                    partial: shared.take(len),
                }),
                None if len >= limit => Err(Error::LimitOverrun { limit }),
                None => return None,
            })
        })
        .await?;
        found.unwrap_or(Err(Error::Incomplete {
            partial: Vec::new(),
        }))
    }

    /// A line as telnetlib3's `readline` ends it: at the first of CR LF (both kept), CR
    /// NUL (CR kept, NUL dropped), a lone CR, or LF. What is left at end of file is
    /// returned as a last, unterminated line (then empty results). The rules are
    /// [`proto::line`](telnetlib3_proto::line)'s.
    ///
    /// A CR that is the last byte received so far ends the line at once (a terminal in
    /// character mode may send a lone CR for Enter); if an LF or NUL then arrives as the
    /// next byte, the next `read_line` drops it, so a CR LF split between two TCP segments
    /// does not make an empty line. (telnetlib3 returns that LF as a line of its own.)
    /// Any other read in between forgets that CR.
    ///
    /// A line longer than the reader's limit is returned in pieces of the limit's size:
    /// memory never grows beyond the limit.
    ///
    /// # Errors
    ///
    /// [`Error::ConnectionLost`] when the connection failed and nothing is left to read.
    pub async fn read_line(&mut self) -> Result<Vec<u8>, Error> {
        let limit = self.inner.settings.limit;
        let lines = &mut self.lines;
        let line = next(&self.inner, |shared, more| {
            match lines.split(shared.unread(), more, limit) {
                Split::Line { line, consumed } => {
                    // One copy and one consumption per line; `take` for a line that is
                    // all there is (it may hand over the buffer itself).
                    let taken = if line.start == 0 && consumed == line.end {
                        shared.take(line.len())
                    } else {
                        let taken = shared.unread()[line].to_vec();
                        shared.skip(consumed);
                        taken
                    };
                    Some(taken)
                }
                Split::Incomplete { consumed } => {
                    shared.skip(consumed);
                    None
                }
            }
        })
        .await?;
        Ok(line.unwrap_or_default())
    }

    /// Copy what is unread into `buf` (as much as fits), or say why nothing can come:
    /// `None` when the caller must wait, with `waker` kept (under the same lock, so no
    /// change of the input can fall between the look and the registration) for the
    /// driver to wake at the next change.
    fn read_into(&mut self, buf: &mut ReadBuf<'_>, waker: &Waker) -> Option<io::Result<()>> {
        let inner = &*self.inner;
        let mut shared = inner.lock();
        let n = shared.buffered().min(buf.remaining());
        if n > 0 {
            buf.put_slice(&shared.unread()[..n]);
            shared.skip(n);
            made_room(inner, &mut shared);
            self.lines.reset();
            return Some(Ok(()));
        }
        if shared.eof {
            return Some(match shared.end_error() {
                Error::Closed => Ok(()),
                failure => Err(failure.into()),
            });
        }
        match &mut shared.read_waker {
            Some(kept) if kept.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
        None
    }

    /// How many bytes wait to be read.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.inner.lock().buffered()
    }

    /// The most unread input kept (telnetlib3's `limit`).
    #[must_use]
    pub fn limit(&self) -> usize {
        self.inner.settings.limit
    }

    /// The commands the peer sends for the shell to act on, as they arrive: `IAC IP`
    /// (Interrupt Process), `IAC BRK` (Break), `IAC AO` (Abort Output), and RFC 1184's
    /// `IAC SUSP`, `IAC ABORT` and `IAC EOF`, plus `IAC EC` / `IAC EL` (erase character,
    /// erase line). What the protocol itself owes is already done before a command is
    /// delivered: AYT is answered, and after AO a server's queued output is discarded and
    /// a Synch sent.
    ///
    /// A shell on a pseudo-terminal writes the matching control character, as telnetd
    /// does: IP the terminal's VINTR (`^C`), BRK and ABORT its VQUIT (`^\`), SUSP VSUSP
    /// (`^Z`), EOF VEOF (`^D`), EC VERASE, EL VKILL.
    ///
    /// Commands are kept from this call on (not before), at most 16 not yet taken (past
    /// that, the oldest EC, EL or AO is dropped first, else the oldest), and they come as soon as they arrive, possibly ahead of data
    /// before them that the shell has not read yet: an interrupt should not wait behind
    /// type-ahead. The returned value does not keep the connection open. Call it once
    /// per connection: two of them would share the commands between them.
    ///
    /// ```no_run
    /// use telnetlib3::proto::Command;
    /// # async fn shell(reader: telnetlib3::TelnetReader) {
    /// let mut commands = reader.commands();
    /// while let Some(command) = commands.recv().await {
    ///     if command == Command::Ip {
    ///         // interrupt what the shell runs
    ///     }
    /// }
    /// // None: the connection ended.
    /// # }
    /// ```
    #[must_use]
    pub fn commands(&self) -> PeerCommands {
        self.inner
            .lock()
            .commands
            .get_or_insert_with(Default::default);
        PeerCommands {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Whether no more input will come and every byte was read.
    #[must_use]
    pub fn at_eof(&self) -> bool {
        let shared = self.inner.lock();
        shared.eof && shared.buffered() == 0
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }
}

/// The commands a peer sends for the shell to act on (IP, BRK, AO, ...), from
/// [`TelnetReader::commands`].
pub struct PeerCommands {
    inner: Arc<Inner>,
}

impl PeerCommands {
    /// Whether [`TelnetReader::commands`] delivers `command`.
    pub(crate) const fn delivers(command: Command) -> bool {
        matches!(
            command,
            Command::Ip
                | Command::Brk
                | Command::Ao
                | Command::Susp
                | Command::Abort
                | Command::Eof
                | Command::Ec
                | Command::El
        )
    }

    /// The next command from the peer, waiting for one; `None` once no more input can
    /// come (the connection ended) and every command was taken. Cancel-safe: a command
    /// is taken only when returned.
    pub async fn recv(&mut self) -> Option<Command> {
        let inner = &*self.inner;
        wait_until(&inner.readable, || {
            let mut shared = inner.lock();
            let next = shared.commands.as_mut().and_then(|queue| queue.pop_front());
            match next {
                Some(command) => Some(Some(command)),
                None if shared.eof => Some(None),
                None => None,
            }
        })
        .await
    }

    /// The next command if one has arrived, without waiting.
    pub fn try_recv(&mut self) -> Option<Command> {
        self.inner
            .lock()
            .commands
            .as_mut()
            .and_then(|queue| queue.pop_front())
    }
}

impl fmt::Debug for PeerCommands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.inner.lock();
        let waiting = shared.commands.as_ref().map_or(0, |queue| queue.len());
        write!(f, "<PeerCommands waiting={waiting}>")
    }
}

impl AsyncRead for TelnetReader {
    /// What the peer sent, as [`TelnetReader::read`] gives it, copied into `buf`; nothing
    /// at end of file; the failure (an [`io::Error`] of its kind) once a failed
    /// connection's data is all read.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        // No future of its own to keep between polls (a boxed `Notified` cost an
        // allocation per wait): the waker itself is registered with the connection.
        match this.read_into(buf, cx.waker()) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

impl Drop for TelnetReader {
    fn drop(&mut self) {
        self.inner.release();
    }
}

impl fmt::Display for TelnetReader {
    /// telnetlib3's reader repr: `<TelnetReader limit=65536 buflen=0 eof=False>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.inner.lock();
        write!(
            f,
            "<TelnetReader limit={} buflen={} eof={}>",
            self.inner.settings.limit,
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
