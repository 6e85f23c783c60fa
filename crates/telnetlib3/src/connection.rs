//! [`Connection`]: a byte stream driven through a protocol [`Session`].

use std::fmt;
use std::time::Duration;

use telnetlib3_proto::{Command, Event, Session, Side, Sink};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::{debug, trace};

use crate::Error;

/// How many bytes one read from the stream takes at most.
pub const READ_BUFFER_SIZE: usize = 8 * 1024;

/// How much application data [`Connection::negotiate`] holds before it stops waiting: a
/// peer that sends data instead of answering cannot make it buffer without bound.
pub const MAX_NEGOTIATION_BUFFER: usize = 64 * 1024;

/// A Telnet connection: a byte stream and the protocol [`Session`] that interprets it.
///
/// Reads answer the peer's negotiation on the way and return only application data;
/// writes escape data for the wire. Everything the session queues (negotiation replies,
/// requests made through [`Connection::session_mut`]) is written by the next call that
/// flushes: [`Connection::flush`], [`Connection::write`], [`Connection::send_command`],
/// and every read.
///
/// # Cancel safety
///
/// Every async method is cancel safe in the sense of `tokio::select!`: the buffers live
/// in the connection, not in the future, so a cancelled call loses nothing. Data already
/// received stays for the next read, and bytes already queued go out with the next flush.
///
/// # Memory
///
/// The read buffer ([`READ_BUFFER_SIZE`]) is allocated on the first read. [`Connection::read`]
/// reads the stream only when no received data is waiting, so unread data is bounded by
/// one read; [`Connection::negotiate`] stops reading past [`MAX_NEGOTIATION_BUFFER`].
/// Queued output is written before the next read.
pub struct Connection<S> {
    stream: S,
    session: Session,
    /// Socket bytes, reused for every read; empty until the first read.
    read_buf: Vec<u8>,
    /// Application data received and not yet read, from `inbox_pos` on.
    inbox: Vec<u8>,
    inbox_pos: usize,
    /// Wire bytes not yet written, from `outbox_pos` on.
    outbox: Vec<u8>,
    outbox_pos: usize,
    /// The peer closed its sending side.
    eof: bool,
}

impl<S> fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.session.role())
            .field("buffered", &self.buffered().len())
            .field("unsent", &(self.outbox.len() - self.outbox_pos))
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

impl<S> Connection<S> {
    /// Drive `stream` with `session`. Nothing is sent until the first flush.
    pub const fn new(stream: S, session: Session) -> Self {
        Self {
            stream,
            session,
            read_buf: Vec::new(),
            inbox: Vec::new(),
            inbox_pos: 0,
            outbox: Vec::new(),
            outbox_pos: 0,
            eof: false,
        }
    }

    /// The protocol state: options in force, role, configuration.
    pub const fn session(&self) -> &Session {
        &self.session
    }

    /// The protocol state, to make requests ([`Session::request_local`], ...) or queue data;
    /// what it queues is sent by the next flush.
    pub const fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The underlying stream.
    pub const fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Take the stream and the session apart. Bytes not yet written or read are dropped.
    pub fn into_parts(self) -> (S, Session) {
        (self.stream, self.session)
    }

    /// Application data received and not yet read.
    pub fn buffered(&self) -> &[u8] {
        &self.inbox[self.inbox_pos..]
    }

    /// Whether the peer has closed its side of the stream. Data in
    /// [`Connection::buffered`] can still be read.
    pub const fn peer_closed(&self) -> bool {
        self.eof
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Write everything the session has queued.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream fails.
    pub async fn flush(&mut self) -> Result<(), Error> {
        if self.outbox_pos == self.outbox.len() {
            self.outbox.clear();
            self.outbox_pos = 0;
        }
        let _ = self.session.poll_transmit(&mut self.outbox);
        if self.outbox_pos == self.outbox.len() {
            return Ok(());
        }
        while self.outbox_pos < self.outbox.len() {
            let written = self.stream.write(&self.outbox[self.outbox_pos..]).await?;
            if written == 0 {
                return Err(Error::Io(std::io::ErrorKind::WriteZero.into()));
            }
            trace!(bytes = written, "sent");
            self.outbox_pos += written;
        }
        self.outbox.clear();
        self.outbox_pos = 0;
        self.stream.flush().await?;
        Ok(())
    }

    /// Send application data: IAC doubled, and the NVT end-of-line rules applied unless we
    /// send in BINARY mode (`\n` becomes CR LF, a lone `\r` becomes CR NUL).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream fails.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        self.session.send_data(data);
        self.flush().await
    }

    /// Send a two-byte command (`IAC GA`, `IAC NOP`, ...).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream fails.
    pub async fn send_command(&mut self, command: Command) -> Result<(), Error> {
        self.session.send_command(command);
        self.flush().await
    }

    /// Read application data into `buf`, answering negotiation on the way. Returns the
    /// number of bytes read, and 0 once the peer has closed the connection and every
    /// received byte has been read.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream fails.
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let waiting = self.buffered();
            if !waiting.is_empty() {
                let n = waiting.len().min(buf.len());
                buf[..n].copy_from_slice(&waiting[..n]);
                self.inbox_pos += n;
                return Ok(n);
            }
            if self.eof {
                return Ok(0);
            }
            self.fill().await?;
        }
    }

    /// Wait until none of our negotiation requests awaits an answer, or `maxwait` passes,
    /// or the peer closes. Application data that arrives meanwhile is kept for
    /// [`Connection::read`] (up to [`MAX_NEGOTIATION_BUFFER`], past which waiting stops).
    /// Returns whether negotiation completed.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream fails.
    pub async fn negotiate(&mut self, maxwait: Duration) -> Result<bool, Error> {
        self.negotiate_until(maxwait, |session| !session.negotiation_pending())
            .await
    }

    /// Like [`Connection::negotiate`], with the end of negotiation decided by `settled`
    /// (for a server running the opening plan: [`Session::negotiation_settled`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream fails.
    pub async fn negotiate_until(
        &mut self,
        maxwait: Duration,
        settled: impl Fn(&Session) -> bool,
    ) -> Result<bool, Error> {
        let deadline = tokio::time::Instant::now() + maxwait;
        self.flush().await?;
        while !settled(&self.session) {
            if self.eof || self.buffered().len() >= MAX_NEGOTIATION_BUFFER {
                return Ok(false);
            }
            match tokio::time::timeout_at(deadline, self.fill()).await {
                Ok(result) => result?,
                Err(_) => {
                    debug!("negotiation still pending after {maxwait:?}");
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Flush, then close our sending side of the stream.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream fails.
    pub async fn shutdown(&mut self) -> Result<(), Error> {
        self.flush().await?;
        self.stream.shutdown().await?;
        Ok(())
    }

    /// Read the stream once, let the session interpret it, and send its replies.
    async fn fill(&mut self) -> Result<(), Error> {
        self.flush().await?;
        if self.read_buf.is_empty() {
            self.read_buf = vec![0; READ_BUFFER_SIZE];
        }
        let n = self.stream.read(&mut self.read_buf).await?;
        if n == 0 {
            debug!("peer closed the connection");
            self.eof = true;
            return Ok(());
        }
        trace!(bytes = n, "received");
        if self.inbox_pos == self.inbox.len() {
            self.inbox.clear();
            self.inbox_pos = 0;
        }
        self.session.receive(
            &self.read_buf[..n],
            &mut Inbox {
                data: &mut self.inbox,
            },
        );
        self.flush().await
    }
}

/// The session's sink: data is kept for the application, events are logged.
struct Inbox<'a> {
    data: &'a mut Vec<u8>,
}

impl Sink for Inbox<'_> {
    fn data(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::OptionChanged {
                option,
                side,
                enabled,
            } => {
                let side = match side {
                    Side::Local => "local",
                    Side::Remote => "remote",
                };
                let state = if enabled { "enabled" } else { "disabled" };
                debug!("{side} option {option} {state}");
            }
            other => debug!("{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests;
