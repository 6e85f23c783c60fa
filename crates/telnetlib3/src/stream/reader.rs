//! [`TelnetReader`]: the bytes the peer sent, without the protocol.

use std::fmt;
use std::sync::Arc;

use telnetlib3_proto::Command;

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
/// Dropping the reader and the writer of a connection closes it.
///
/// [`DEFAULT_LIMIT`]: crate::DEFAULT_LIMIT
pub struct TelnetReader {
    inner: Arc<Inner>,
    /// The last line [`TelnetReader::read_line`] returned ended with a CR that was the
    /// last byte available then: an LF or NUL that comes next belongs to it.
    after_cr: bool,
}

/// What a read finds in the buffer.
enum Found<T> {
    /// This much, now.
    Ready(T),
    /// Nothing yet: wait for more.
    Wait,
}

impl TelnetReader {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self {
            inner: inner.acquire(),
            after_cr: false,
        }
    }

    /// Wait until `look` finds something in the unread data (given with whether more can
    /// come), or until nothing is left and no more can come (then `Ok(None)`, or the
    /// connection's failure). The driver is woken when it stopped reading for a full
    /// buffer and this consumption makes room.
    async fn next<T>(
        &mut self,
        mut look: impl FnMut(&mut Shared, bool) -> Found<T>,
    ) -> Result<Option<T>, Error> {
        let inner = &*self.inner;
        let limit = inner.settings.limit;
        let result = wait_until(&inner.readable, || {
            let mut shared = inner.lock();
            let more = !shared.eof;
            if shared.buffered() > 0 {
                let found = look(&mut shared, more);
                if shared.read_paused && shared.buffered() < limit {
                    shared.read_paused = false;
                    inner.wake_driver.notify_one();
                }
                if let Found::Ready(value) = found {
                    return Some(Ok(Some(value)));
                }
            }
            if !more && shared.buffered() == 0 {
                return Some(match shared.failure {
                    Some(_) => Err(shared.end_error()),
                    None => Ok(None),
                });
            }
            None
        })
        .await;
        result
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
        self.after_cr = false;
        let data = self
            .next(|shared, _| Found::Ready(shared.take(max)))
            .await?;
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

    /// Bytes up to and including `separator`; what is left at end of file (empty: nothing
    /// was); or, when the reader's limit is reached without a separator, a piece of the
    /// limit's size (the rest follows in the next calls): memory never grows beyond the
    /// limit.
    ///
    /// # Errors
    ///
    /// [`Error::ConnectionLost`] when the connection failed and nothing is left to read.
    pub async fn read_until(&mut self, separator: u8) -> Result<Vec<u8>, Error> {
        let limit = self.inner.settings.limit;
        self.after_cr = false;
        let mut searched = 0;
        let data = self
            .next(|shared, more| {
                let unread = shared.unread();
                let n = match memchr::memchr(separator, &unread[searched..]) {
                    Some(at) => (searched + at + 1).min(limit),
                    None if !more || unread.len() >= limit => unread.len().min(limit),
                    None => {
                        searched = unread.len();
                        return Found::Wait;
                    }
                };
                Found::Ready(shared.take(n))
            })
            .await?;
        Ok(data.unwrap_or_default())
    }

    /// A line as telnetlib3's `readline` ends it: at the first of CR LF (both kept), CR
    /// NUL (CR kept, NUL dropped), a lone CR, or LF. What is left at end of file is
    /// returned as a last, unterminated line (then empty results).
    ///
    /// A CR that is the last byte received so far ends the line at once (a terminal in
    /// character mode may send a lone CR for Enter); if an LF or NUL then arrives as the
    /// next byte, the next `read_line` drops it, so a CR LF split between two TCP segments
    /// does not make an empty line. (telnetlib3 returns that LF as a line of its own.)
    ///
    /// A line longer than the reader's limit is returned in pieces of the limit's size:
    /// memory never grows beyond the limit.
    ///
    /// # Errors
    ///
    /// [`Error::ConnectionLost`] when the connection failed and nothing is left to read.
    pub async fn read_line(&mut self) -> Result<Vec<u8>, Error> {
        let limit = self.inner.settings.limit;
        let mut searched = 0;
        let mut skip_done = false;
        let mut after_cr = self.after_cr;
        self.after_cr = false;
        let line = self
            .next(|shared, more| {
                if !skip_done {
                    if after_cr && matches!(shared.unread().first(), Some(0 | b'\n')) {
                        shared.skip(1);
                    }
                    skip_done = true;
                    after_cr = false;
                    if shared.buffered() == 0 {
                        return Found::Wait;
                    }
                }
                let unread = shared.unread();
                let (mut n, mut drop_nul, mut ends_cr) =
                    match memchr::memchr2(b'\n', b'\r', &unread[searched..]) {
                        Some(at) => {
                            let at = searched + at;
                            match (unread[at], unread.get(at + 1)) {
                                (b'\n', _) => (at + 1, false, false),
                                (_, Some(b'\n')) => (at + 2, false, false),
                                (_, Some(0)) => (at + 1, true, false),
                                (_, Some(_)) => (at + 1, false, false),
                                (_, None) => (at + 1, false, more),
                            }
                        }
                        None if !more || unread.len() >= limit => {
                            (unread.len().min(limit), false, false)
                        }
                        None => {
                            searched = unread.len();
                            return Found::Wait;
                        }
                    };
                if n > limit {
                    (n, drop_nul, ends_cr) = (limit, false, false);
                }
                after_cr = ends_cr;
                let line = shared.take(n);
                if drop_nul {
                    shared.skip(1);
                }
                Found::Ready(line)
            })
            .await?;
        self.after_cr = after_cr;
        Ok(line.unwrap_or_default())
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
    /// Commands are kept from this call on (not before), at most 16 not yet taken (the
    /// oldest go first), and they come as soon as they arrive, possibly ahead of data
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
