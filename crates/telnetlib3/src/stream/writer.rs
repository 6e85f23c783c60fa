//! [`TelnetWriter`]: data and commands to the peer, and the connection's protocol state.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use telnetlib3_proto::options::environ::Variable;
use telnetlib3_proto::options::gmcp::GmcpMessage;
use telnetlib3_proto::options::linemode::SlcTable;
use telnetlib3_proto::options::msdp::MsdpValue;
use telnetlib3_proto::options::naws::WindowSize;
use telnetlib3_proto::options::tspeed::TerminalSpeed;

use telnetlib3_proto::options::timing_mark;
use telnetlib3_proto::{Command, Mode, Role, Session, TelnetOption};
use tokio::io::AsyncWrite;
use tokio::sync::{oneshot, watch};

use super::{close_now, wait_until, Inner, OutputEnd, Shared, WRITE_HIGH_WATER};
use crate::stream;
use crate::Error;

/// The most data queued by one step of [`TelnetWriter::write`]; escaping can at most double
/// it (IAC IAC, CR NUL, CR LF).
const WRITE_STEP: usize = WRITE_HIGH_WATER / 4;

/// Writes to a Telnet connection and reads its protocol state.
///
/// Data is escaped by the protocol session (IAC doubled; outside BINARY, CR and LF as the
/// NVT wants them) and written out by the connection's driver task. Writing waits while
/// [`WRITE_HIGH_WATER`] bytes are queued and not yet accepted by the socket: a slow peer
/// slows the writer down instead of growing memory.
///
/// Its `Display` is telnetlib3's `repr(writer)`:
/// `<TelnetWriter server mode:kludge +lineflow -xon_any +slc_sim server-will:BINARY,ECHO,SGA
/// client-will:BINARY,NAWS,NEW_ENVIRON,TTYPE>`.
///
/// Dropping the reader and the writer of a connection closes it.
pub struct TelnetWriter {
    inner: Arc<Inner>,
}

impl TelnetWriter {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self {
            inner: inner.acquire(),
        }
    }

    /// Queue `data` (escaped for the wire by the session), waiting while the output
    /// queued and not yet written is above [`WRITE_HIGH_WATER`] (then until it is down to
    /// a quarter of that). Small writes are cheap: they are added to the output the
    /// driver takes next, and a run of them wakes the driver once. If the call is
    /// cancelled, a prefix of `data` may have been queued.
    ///
    /// This is asyncio's `write` and `drain` in one call: a ported `write(x); await
    /// drain()` needs only `write(x).await`.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once the connection is closing or closed,
    /// [`Error::ConnectionLost`] once it failed.
    pub fn write<'a>(
        &'a mut self,
        data: &'a [u8],
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        self.queue(data, false)
    }

    /// [`TelnetWriter::write`] for input that is complete as given, such as what a
    /// keyboard gave: a CR that ends it goes out with its NUL at once (CR NUL, RFC 854)
    /// instead of waiting for the next write to show whether LF follows
    /// ([`Session::send_data_complete`]).
    ///
    /// # Errors
    ///
    /// As for [`TelnetWriter::write`].
    pub fn write_complete<'a>(
        &'a mut self,
        data: &'a [u8],
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        self.queue(data, true)
    }

    /// Queue what fits of `data` now, as [`TelnetWriter::write_complete`] would: ready
    /// with how many bytes were taken (0 only for empty `data`), or pending, with the
    /// waker kept, while the queued output is too high. Each poll takes a prefix or
    /// nothing, so a caller that also waits on other things (a terminal client reading
    /// the server while the server does not read its paste) keeps track exactly of what
    /// is still to send. The end of `data` is the end of the input only when all of it
    /// is taken.
    ///
    /// # Errors
    ///
    /// As for [`TelnetWriter::write`].
    pub fn poll_write_complete(
        &self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<Result<usize, Error>> {
        self.poll_queue(cx, data, true)
    }

    /// One future for the whole call, whose every poll queues as much of `data` as the
    /// high-water mark lets it under one lock: a small write is one lock and no wake-up
    /// of the driver unless it is idle. A plain struct, not an async fn: the state
    /// machine of nested async fns cost a sixth of a small write's instructions. Like an
    /// async fn, it does nothing until polled.
    fn queue<'a>(&'a mut self, data: &'a [u8], complete: bool) -> Queue<'a> {
        Queue {
            writer: self,
            rest: data,
            complete,
        }
    }

    /// Queue all of `rest`, escaped, in steps of at most [`WRITE_STEP`], advancing `rest`
    /// past what was taken; `complete`: the last of it ends the input
    /// ([`Session::send_data_complete`]). Pending, with the waker kept, once the queued
    /// output is too high; ready when all was taken (at once for empty `rest`).
    ///
    /// The error is boxed so that the whole result fits in two registers: returned in
    /// memory, the large [`Error`] cost its caller a store-forwarding stall at every
    /// write, an eighth of a small write's time in case 16's profile.
    fn poll_queue_all(
        &self,
        cx: &mut Context<'_>,
        rest: &mut &[u8],
        complete: bool,
    ) -> Poll<Result<(), Box<Error>>> {
        let inner = &*self.inner;
        let mut shared = inner.lock();
        if let Err(error) = writable(&shared) {
            return Poll::Ready(Err(Box::new(error)));
        }
        let done = loop {
            let n = queue_step(&mut shared, rest, complete);
            *rest = &rest[n..];
            if rest.is_empty() {
                break true;
            }
            if n == 0 {
                park(inner, &mut shared, cx);
                break false;
            }
        };
        // Only with output queued: an empty write must not take the driver's idle flag
        // without waking it, or the next write would think it busy and output would wait.
        let wake = shared.session.output_len() > 0 && std::mem::take(&mut shared.driver_idle);
        drop(shared);
        if wake {
            inner.wake_driver.notify_one();
        }
        if done {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// Queue what fits of `data` now (at most one [`WRITE_STEP`]), escaped; `complete`:
    /// the last of it ends the input ([`Session::send_data_complete`]). Pending, with the
    /// waker kept, while the queued output is too high; ready with how many bytes were
    /// taken (0 only for empty `data`). [`AsyncWrite::poll_write`].
    fn poll_queue(
        &self,
        cx: &mut Context<'_>,
        data: &[u8],
        complete: bool,
    ) -> Poll<Result<usize, Error>> {
        let inner = &*self.inner;
        let mut shared = inner.lock();
        if let Err(error) = writable(&shared) {
            return Poll::Ready(Err(error));
        }
        let n = queue_step(&mut shared, data, complete);
        if n == 0 && !data.is_empty() {
            park(inner, &mut shared, cx);
            return Poll::Pending;
        }
        let wake = shared.session.output_len() > 0 && std::mem::take(&mut shared.driver_idle);
        drop(shared);
        if wake {
            inner.wake_driver.notify_one();
        }
        Poll::Ready(Ok(n))
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

    /// Flow control, asyncio's `drain`: returns at once while the output queued and not
    /// yet on the socket is at most [`WRITE_HIGH_WATER`]; above it (the session's own
    /// replies can take it there), waits until it is down to a quarter of that.
    ///
    /// [`TelnetWriter::write`] already waits the same way, so a ported `write(x); await
    /// drain()` is correct and nearly free. To wait until everything is on the socket
    /// (before a deadline, before timing a prompt), call [`TelnetWriter::flush`].
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] or [`Error::ConnectionLost`] once the connection has ended.
    pub async fn drain(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_drain(cx)).await
    }

    fn poll_drain(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let inner = &*self.inner;
        let mut shared = inner.lock();
        if shared.ended() {
            return Poll::Ready(Err(shared.end_error()));
        }
        if shared.queued_output() <= WRITE_HIGH_WATER {
            return Poll::Ready(Ok(()));
        }
        // Our side is shut down: what is queued now never goes out, so waiting would
        // only wait out the linger for the peer's close.
        if shared.shut_down() {
            return Poll::Ready(Err(shared.end_error()));
        }
        park(inner, &mut shared, cx);
        Poll::Pending
    }

    /// Wait until everything queued has been written to the socket (the socket's own
    /// buffer may still hold it: the peer has not necessarily read it). Waits as long as
    /// the peer does not read; wrap it in a timeout if that matters. This is also
    /// [`AsyncWrite::poll_flush`].
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] or [`Error::ConnectionLost`] if the connection ended, or our side
    /// was shut down ([`TelnetWriter::close`]), with output still queued: then at once.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flushed(cx)).await
    }

    fn poll_flushed(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let inner = &*self.inner;
        let mut shared = inner.lock();
        if shared.queued_output() == 0 {
            return Poll::Ready(Ok(()));
        }
        // Once our side is shut down (the writer closed), output queued since (the
        // session's replies to the peer, a command) can never be written: say so at
        // once instead of waiting out the linger for the peer's close.
        if shared.shut_down() || shared.output_end == OutputEnd::Sent {
            return Poll::Ready(Err(shared.end_error()));
        }
        park(inner, &mut shared, cx);
        Poll::Pending
    }

    /// Close the connection: writes are refused from now on, what is queued is written
    /// out, and our side is shut down (the peer sees end of file; our reader too). Returns
    /// once that is done or the connection's close timeout has passed (a peer that does
    /// not read cannot hold it longer). The driver then waits, bounded by the same
    /// timeout, for the peer to close its side.
    pub async fn close(&mut self) {
        close_now(&self.inner);
        poll_fn(|cx| self.poll_shut_down(cx)).await;
    }

    fn poll_shut_down(&self, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &*self.inner;
        let mut shared = inner.lock();
        if shared.shut_down() {
            return Poll::Ready(());
        }
        park(inner, &mut shared, cx);
        Poll::Pending
    }

    /// Wait until every condition of `wait` holds (telnetlib3's `wait_for(remote=...,
    /// local=..., pending=...)`): options enabled or not on either side, or no longer
    /// awaiting the peer's answer. Returns at once if they already hold. `timeout`
    /// `None` waits as long as the connection lasts.
    ///
    /// While the reader's buffer is full the peer's answers cannot arrive: keep reading
    /// meanwhile (from another task) if the peer may send data before it answers.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use telnetlib3::proto::TelnetOption;
    /// use telnetlib3::OptionWait;
    ///
    /// # async fn demo(writer: telnetlib3::TelnetWriter) -> Result<(), telnetlib3::Error> {
    /// // TTYPE and NAWS agreed by the client, and no answer about TTYPE outstanding.
    /// let wait = OptionWait::new()
    ///     .remote(TelnetOption::Ttype, true)
    ///     .remote(TelnetOption::Naws, true)
    ///     .pending(TelnetOption::Ttype, false);
    /// writer.wait_for(&wait, Some(Duration::from_secs(5))).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] once `timeout` has passed; [`Error::Closed`] (or
    /// [`Error::ConnectionLost`] if it failed) if the connection is closing, ends, or the
    /// peer closes its side before the conditions hold (telnetlib3 cancels the waiter
    /// then).
    pub async fn wait_for(
        &self,
        wait: &OptionWait,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        self.wait_for_condition(|session| wait.is_met(session), timeout)
            .await
    }

    /// Wait until `predicate` holds for the protocol session (telnetlib3's
    /// `wait_for_condition`). It is called at once, then after every change of the
    /// connection's state (input, negotiation, its end), with the connection locked: it
    /// must be quick and must not wait. `timeout` `None` waits as long as the connection
    /// lasts.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use telnetlib3::proto::Mode;
    ///
    /// # async fn demo(writer: telnetlib3::TelnetWriter) -> Result<(), telnetlib3::Error> {
    /// // telnetlib3: await writer.wait_for_condition(lambda w: w.mode == "kludge")
    /// writer
    ///     .wait_for_condition(|session| session.mode() == Mode::Kludge, Some(Duration::from_secs(5)))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`TelnetWriter::wait_for`].
    pub async fn wait_for_condition(
        &self,
        mut predicate: impl FnMut(&Session) -> bool + Send,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        let inner = &*self.inner;
        let deadline = timeout.map(|timeout| tokio::time::Instant::now() + timeout);
        // No timeout: a deadline no connection lives to see.
        let far = tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 86_400);
        let limit = inner.settings.limit;
        loop {
            if stream::wait_for(inner, deadline.unwrap_or(far), |session, _| {
                predicate(session)
            })
            .await
            {
                return Ok(());
            }
            {
                let shared = inner.lock();
                if shared.eof || shared.closing() {
                    return Err(shared.end_error());
                }
            }
            if deadline.is_some_and(|deadline| tokio::time::Instant::now() >= deadline) {
                return Err(Error::TimedOut);
            }
            // The input buffer is full (the shared helper gives up then, for the opening
            // negotiation): wait until a reader makes room, or the connection ends.
            let room = wait_until(&inner.readable, || {
                let shared = inner.lock();
                (shared.buffered() < limit || shared.eof || shared.closing()).then_some(())
            });
            if tokio::time::timeout_at(deadline.unwrap_or(far), room)
                .await
                .is_err()
            {
                return Err(Error::TimedOut);
            }
        }
    }

    /// Whether [`TelnetWriter::echo`] writes: as a server, we agreed to WILL ECHO; as a
    /// client, the server did ([`Session::will_echo`], telnetlib3's `will_echo`).
    #[must_use]
    pub fn will_echo(&self) -> bool {
        self.session(Session::will_echo)
    }

    /// Write `data` (input received from the peer) back only when echo is ours to do
    /// (telnetlib3's `echo`): a server writes it once it agreed to WILL ECHO, and
    /// otherwise the client echoes locally, so nothing is written. As in telnetlib3, the
    /// test is [`TelnetWriter::will_echo`] (for a client, whether the server echoes).
    /// Returns whether it wrote.
    ///
    /// ```no_run
    /// # async fn demo(
    /// #     mut reader: telnetlib3::TelnetReader,
    /// #     mut writer: telnetlib3::TelnetWriter,
    /// # ) -> Result<(), telnetlib3::Error> {
    /// let typed = reader.read(64).await?;
    /// writer.echo(&typed).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`TelnetWriter::write`], when it writes.
    pub async fn echo(&mut self, data: &[u8]) -> Result<bool, Error> {
        if !self.will_echo() {
            return Ok(false);
        }
        self.write(data).await?;
        Ok(true)
    }

    /// End our output after what is queued, and keep reading (telnetlib3's
    /// `write_eof`, a true half-close): writes are refused from now on, what is queued is
    /// written out, then our side is shut down (TCP `shutdown(Write)`; over TLS,
    /// `close_notify` first), so the peer reads all the data and then end of file. The
    /// connection stays open for input: the reader gets what the peer still sends, up
    /// to its end of file. The session's own replies to the peer (negotiation answers)
    /// are dropped from then on, since they can no longer be sent. Returns once our side
    /// is shut down, or at once if the connection is already closing.
    /// [`TelnetWriter::close`] (or dropping the handles) ends the connection as usual.
    ///
    /// ```no_run
    /// # async fn demo(
    /// #     mut reader: telnetlib3::TelnetReader,
    /// #     mut writer: telnetlib3::TelnetWriter,
    /// # ) -> Result<(), telnetlib3::Error> {
    /// writer.write(b"bye, send your report\r\n").await?;
    /// writer.write_eof().await?;
    /// // The peer has read "bye..." and end of file; it may still answer.
    /// let report = reader.read_line().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ConnectionLost`] if the connection failed, or the close timeout passed
    /// with output unwritten.
    pub async fn write_eof(&mut self) -> Result<(), Error> {
        {
            let mut shared = self.inner.lock();
            if shared.ended() {
                return Err(shared.end_error());
            }
            if shared.output_end == OutputEnd::Open && !shared.closing() {
                shared.output_end = OutputEnd::Requested;
                shared.driver_idle = false;
                drop(shared);
                self.inner.wake_driver.notify_one();
            }
        }
        poll_fn(|cx| {
            let inner = &*self.inner;
            let mut shared = inner.lock();
            if shared.output_end == OutputEnd::Sent || shared.closing() {
                return Poll::Ready(());
            }
            park(inner, &mut shared, cx);
            Poll::Pending
        })
        .await;
        let shared = self.inner.lock();
        match shared.failure() {
            Some(_) => Err(shared.end_error()),
            None => Ok(()),
        }
    }

    /// Whether [`TelnetWriter::write_eof`] was called: our output is ending or ended.
    #[must_use]
    pub fn is_output_ended(&self) -> bool {
        self.inner.lock().output_end != OutputEnd::Open
    }

    /// Change this connection's idle timeout now (telnetlib3's `set_timeout`): `None`
    /// removes it. The idle clock starts again from this call, so the connection ends
    /// once `timeout` passes with no byte from the peer, however long it was idle
    /// before; a shorter timeout on an idle connection ends it when the new deadline
    /// passes. A server's connection starts with [`ServerConfig::timeout`](crate::ServerConfig::timeout)
    /// and, at the deadline, is told `\r\nTimeout.\r\n`
    /// and closed. A client's connection has no idle watch: there the value is only
    /// kept for [`TelnetWriter::idle_timeout`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # async fn demo(writer: telnetlib3::TelnetWriter) {
    /// // A user who logged in gets longer than one at the login prompt.
    /// writer.set_idle_timeout(Some(Duration::from_secs(3600)));
    /// # }
    /// ```
    pub fn set_idle_timeout(&self, timeout: Option<Duration>) {
        stream::idle::set(&self.inner, timeout, true);
    }

    /// The idle timeout in force ([`TelnetWriter::set_idle_timeout`]).
    #[must_use]
    pub fn idle_timeout(&self) -> Option<Duration> {
        stream::idle::get(&self.inner)
    }

    /// How long since the peer last sent a byte (since the connection's start if it
    /// sent none).
    #[must_use]
    pub fn idle_time(&self) -> Duration {
        stream::last_input(&self.inner).elapsed()
    }

    /// Whether the connection is closing or has ended.
    #[must_use]
    pub fn is_closing(&self) -> bool {
        self.inner.lock().closing()
    }

    /// Output queued and not yet accepted by the socket, escaped, in bytes. Writers keep
    /// it at most [`WRITE_HIGH_WATER`]; the session's own replies can add up to
    /// [`REPLY_ALLOWANCE`](crate::REPLY_ALLOWANCE) and the replies to one more command
    /// (see the crate's memory budget).
    #[must_use]
    pub fn pending_output(&self) -> usize {
        self.inner.lock().queued_output()
    }

    /// What the connection holds and has moved: bytes each way, buffered input, queued
    /// and peak output.
    #[must_use]
    pub fn stats(&self) -> super::ConnectionStats {
        super::stats(&self.inner)
    }

    /// Send a two-byte command (`IAC NOP`, `IAC AYT`, ...).
    pub fn send_command(&mut self, command: Command) {
        self.with_session(|session| session.send_command(command));
    }

    /// Send a Synch (RFC 854): `IAC DM` with the DM as TCP urgent data, so that the peer
    /// discards the data before it (BSD telnet's `send synch`). Over a transport without
    /// urgent data (TLS, a pipe) the `IAC DM` goes as ordinary bytes.
    pub fn send_synch(&mut self) {
        self.with_session(Session::send_synch);
    }

    /// Send `IAC GA` after a prompt, unless go-aheads are suppressed (SGA agreed, or the
    /// server's `never_send_ga`). Returns whether sent.
    pub fn send_go_ahead(&mut self) -> bool {
        !self.inner.settings.defaults.never_send_ga && self.with_session(Session::send_go_ahead)
    }

    /// Send `IAC EOR` after a record or prompt, if EOR is agreed. Returns whether sent.
    pub fn send_end_of_record(&mut self) -> bool {
        self.with_session(Session::send_end_of_record)
    }

    /// Send a GMCP message, if GMCP is agreed either way. Returns whether sent.
    pub fn send_gmcp(&mut self, message: &GmcpMessage) -> bool {
        self.with_session(|session| session.send_gmcp(message))
    }

    /// Send MSDP variables, if MSDP is agreed either way. Returns whether sent.
    pub fn send_msdp<N: AsRef<str>>(&mut self, variables: &[(N, MsdpValue)]) -> bool {
        self.with_session(|session| session.send_msdp(variables))
    }

    /// Send MSSP variables with their values, if MSSP is agreed either way. Returns
    /// whether sent.
    pub fn send_mssp<N, L, V>(&mut self, variables: &[(N, L)]) -> bool
    where
        N: AsRef<str>,
        L: AsRef<[V]>,
        V: AsRef<str>,
    {
        self.with_session(|session| session.send_mssp(variables))
    }

    /// Send a ZMP command, if ZMP is agreed either way. Returns whether sent.
    pub fn send_zmp<A: AsRef<str>>(&mut self, command: &str, args: &[A]) -> bool {
        self.with_session(|session| session.send_zmp(command, args))
    }

    /// Send an ATCP message, if ATCP is agreed either way. Returns whether sent.
    pub fn send_atcp(&mut self, package: &str, value: &str) -> bool {
        self.with_session(|session| session.send_atcp(package, value))
    }

    /// Send `DO TIMING-MARK` and wait for the answer: when it returns, the peer has
    /// processed everything sent before. Returns whether it answered WILL (a peer that
    /// does not perform TIMING-MARK answers WONT, which serves as well). Waits as long as
    /// the peer does not answer; wrap it in a timeout if that matters.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] or [`Error::ConnectionLost`] if the connection ends before the
    /// answer.
    pub async fn timing_mark(&mut self) -> Result<bool, Error> {
        let inner = &*self.inner;
        // The session counts at most MAX_OUTSTANDING marks, and each answer it reports
        // goes to the oldest waiter: a mark it would not count would take another's
        // answer. So a mark waits for a slot (answers arrive as input).
        let rx = wait_until(&inner.readable, || {
            let mut shared = inner.lock();
            // Once the peer's side is closed no answer can come.
            if shared.closing() || shared.eof {
                return Some(Err(shared.end_error()));
            }
            if shared.session.timing_marks_outstanding() >= timing_mark::MAX_OUTSTANDING {
                return None;
            }
            let (tx, rx) = oneshot::channel();
            shared.pings.push_back(tx);
            shared.session.send_timing_mark();
            Some(Ok(rx))
        })
        .await?;
        self.inner.wake_driver.notify_one();
        let input_ended = wait_until(&inner.readable, || inner.lock().eof.then_some(()));
        tokio::select! {
            biased;
            answer = rx => answer.map_err(|_| inner.lock().end_error()),
            // The peer closed its side: the answer will never come.
            () = input_ended => Err(inner.lock().end_error()),
        }
    }

    /// Run `f` on the protocol session (state, options, requests); output it queues is
    /// sent. Do not hold on to the session's borrows, and do not wait inside `f`: the
    /// connection is locked meanwhile.
    pub fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> T) -> T {
        super::with_session(&self.inner, f)
    }

    /// Read the protocol session without changing it.
    fn session<T>(&self, f: impl FnOnce(&Session) -> T) -> T {
        f(&self.inner.lock().session)
    }

    /// Whether we are the server or the client.
    #[must_use]
    pub fn role(&self) -> Role {
        self.session(Session::role)
    }

    /// The input mode (`local`, `remote`, `kludge`).
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.session(Session::mode)
    }

    /// The options in force, as telnetlib3 lists them: `server-will:BINARY,ECHO,SGA
    /// client-will:BINARY,NAWS,NEW_ENVIRON,TTYPE`.
    #[must_use]
    pub fn options_summary(&self) -> String {
        self.session(Session::options_summary)
    }

    /// Whether we perform `option` (we sent or answered WILL).
    #[must_use]
    pub fn local_enabled(&self, option: TelnetOption) -> bool {
        self.session(|s| s.local_enabled(option))
    }

    /// Whether the peer performs `option` (it sent or answered WILL).
    #[must_use]
    pub fn remote_enabled(&self, option: TelnetOption) -> bool {
        self.session(|s| s.remote_enabled(option))
    }

    /// The client's terminal type, or the configured default until it reports one.
    #[must_use]
    pub fn terminal_type(&self) -> String {
        self.session(|s| s.terminal_type().map(str::to_owned))
            .unwrap_or_else(|| self.inner.settings.defaults.term.clone())
    }

    /// The client's window size `(cols, rows)`, or the configured default until it
    /// reports one.
    #[must_use]
    pub fn window_size(&self) -> (u16, u16) {
        let defaults = &self.inner.settings.defaults;
        self.session(Session::peer_window_size)
            .map_or((defaults.cols, defaults.rows), |size| {
                (size.cols, size.rows)
            })
    }

    /// Changes of the window size the peer reports with NAWS (`None` until it does): the
    /// receiver's `changed().await` returns at each new size.
    #[must_use]
    pub fn watch_window_size(&self) -> watch::Receiver<Option<WindowSize>> {
        // Made under the connection's lock, so that no report falls between the value
        // read here and the driver's first send.
        let shared = self.inner.lock();
        let sender = self
            .inner
            .window_size
            .get_or_init(|| watch::Sender::new(shared.session.peer_window_size()));
        sender.subscribe()
    }

    /// Changes of the terminal type the peer reports with TTYPE, as the session chooses
    /// it ([`Session::terminal_type`]; `None` until it reports one).
    #[must_use]
    pub fn watch_terminal_type(&self) -> watch::Receiver<Option<String>> {
        let shared = self.inner.lock();
        let sender = self
            .inner
            .terminal_type
            .get_or_init(|| watch::Sender::new(shared.session.terminal_type().map(str::to_owned)));
        sender.subscribe()
    }

    /// The character set agreed with CHARSET, if any.
    #[must_use]
    pub fn charset(&self) -> Option<String> {
        self.session(|s| s.charset().map(str::to_owned))
    }

    /// The environment variables the peer sent (NEW-ENVIRON or ENVIRON), in arrival
    /// order.
    #[must_use]
    pub fn environ(&self) -> Vec<Variable> {
        self.session(|s| s.environ().to_vec())
    }

    /// The value the peer sent for environment variable `name` (compared without regard
    /// to ASCII case), as text (invalid UTF-8 replaced); `None` if it sent none or sent it
    /// undefined.
    #[must_use]
    pub fn environ_value(&self, name: &str) -> Option<String> {
        self.session(|s| {
            s.environ_var(name)
                .and_then(|variable| variable.value.as_deref())
                .map(|value| String::from_utf8_lossy(value).into_owned())
        })
    }

    /// The terminal speeds the peer reported with TSPEED.
    #[must_use]
    pub fn terminal_speed(&self) -> Option<TerminalSpeed> {
        self.session(Session::peer_terminal_speed)
    }

    /// The X display location the peer reported with XDISPLOC.
    #[must_use]
    pub fn x_display(&self) -> Option<String> {
        self.session(|s| s.peer_x_display().map(str::to_owned))
    }

    /// Our SLC table (LINEMODE special characters).
    #[must_use]
    pub fn slc_table(&self) -> SlcTable {
        self.session(|s| *s.slc_table())
    }

    /// The peer's address, `ip port` as telnetlib3 shows it.
    #[must_use]
    pub fn peer(&self) -> &str {
        self.inner.peer()
    }

    /// What the connection's TLS session agreed, if it runs over TLS.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls(&self) -> Option<&crate::tls::TlsInfo> {
        self.inner.settings.tls.as_ref()
    }

    /// Bytes received from and sent to the socket so far.
    #[must_use]
    pub fn byte_counts(&self) -> (u64, u64) {
        let shared = self.inner.lock();
        (shared.bytes_in, shared.bytes_out)
    }

    pub(crate) fn inner(&self) -> Arc<Inner> {
        Arc::clone(&self.inner)
    }
}

/// Conditions on the connection's options for [`TelnetWriter::wait_for`]: telnetlib3's
/// `remote={...}`, `local={...}` and `pending={...}` dictionaries. All must hold.
///
/// ```
/// use telnetlib3::proto::{Policy, Role, Session, SessionConfig, TelnetOption};
/// use telnetlib3::OptionWait;
///
/// let wait = OptionWait::new().local(TelnetOption::Echo, false);
/// let session = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
/// assert!(wait.is_met(&session));
/// assert!(!OptionWait::new().remote(TelnetOption::Naws, true).is_met(&session));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptionWait {
    /// Options the peer performs (`true`) or does not (`false`).
    pub remote: Vec<(TelnetOption, bool)>,
    /// Options we perform (`true`) or do not (`false`).
    pub local: Vec<(TelnetOption, bool)>,
    /// Options with a request of ours awaiting the peer's answer, on either side
    /// (`true`), or with none (`false`).
    pub pending: Vec<(TelnetOption, bool)>,
}

impl OptionWait {
    /// No conditions (met at once).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Also wait until the peer performs `option` (`enabled`) or does not.
    #[must_use]
    pub fn remote(mut self, option: TelnetOption, enabled: bool) -> Self {
        self.remote.push((option, enabled));
        self
    }

    /// Also wait until we perform `option` (`enabled`) or do not.
    #[must_use]
    pub fn local(mut self, option: TelnetOption, enabled: bool) -> Self {
        self.local.push((option, enabled));
        self
    }

    /// Also wait until a request about `option` is awaiting its answer (`pending`), or
    /// until none is.
    #[must_use]
    pub fn pending(mut self, option: TelnetOption, pending: bool) -> Self {
        self.pending.push((option, pending));
        self
    }

    /// Whether every condition holds for `session`.
    #[must_use]
    pub fn is_met(&self, session: &Session) -> bool {
        self.remote
            .iter()
            .all(|&(option, on)| session.remote_enabled(option) == on)
            && self
                .local
                .iter()
                .all(|&(option, on)| session.local_enabled(option) == on)
            && self.pending.iter().all(|&(option, pending)| {
                let state = session.option_state(option);
                (state.us.is_pending() || state.him.is_pending()) == pending
            })
    }
}

/// The future of [`TelnetWriter::write`] and [`TelnetWriter::write_complete`]: what of
/// the data is still to queue.
struct Queue<'a> {
    writer: &'a mut TelnetWriter,
    rest: &'a [u8],
    complete: bool,
}

impl Future for Queue<'_> {
    type Output = Result<(), Error>;

    // Inlined into the caller, so that only the two-register result of `poll_queue_all`
    // crosses a call and the error is unboxed on the failure path alone.
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Unpin (references only), so the fields may be borrowed apart.
        let this = self.get_mut();
        match this
            .writer
            .poll_queue_all(cx, &mut this.rest, this.complete)
        {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(error)) => Poll::Ready(Err(*error)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Whether writes are taken: the error for a writer once the connection is closing or
/// ended.
fn writable(shared: &Shared) -> Result<(), Error> {
    if shared.ended() {
        Err(shared.end_error())
    } else if shared.closing() || shared.output_end != OutputEnd::Open {
        Err(Error::Closed)
    } else {
        Ok(())
    }
}

/// Queue, escaped, what fits of `data` below the high-water mark (at most one
/// [`WRITE_STEP`]); `complete`: if that is all of `data`, its end ends the input. Returns
/// how many bytes were taken: 0 for empty `data` (an empty complete write still finishes
/// a pending CR), or when there is no room.
fn queue_step(shared: &mut Shared, data: &[u8], complete: bool) -> usize {
    // Escaping can double the data (IAC IAC, CR NUL, CR LF): what is taken must fit
    // below the mark even then.
    let room = WRITE_HIGH_WATER.saturating_sub(shared.queued_output()) / 2;
    let n = data.len().min(WRITE_STEP).min(room);
    if n == 0 && !data.is_empty() {
        return 0;
    }
    let chunk = &data[..n];
    if shared.recording {
        // The driver hands it to the recording with its next batch of output.
        shared.record_pending.extend_from_slice(chunk);
    }
    if complete && n == data.len() {
        shared.session.send_data_complete(chunk);
    } else {
        shared.session.send_data(chunk);
    }
    n
}

/// Keep `cx`'s waker for the driver to wake (see [`Shared::writer_to_wake`]), beside
/// those of other tasks that wait on the same connection (a shell's writer and the
/// server's own closing handle, say): each is woken once when it may go on, none wakes
/// another. An idle driver is woken too: what the writer waits for is its work.
fn park(inner: &Inner, shared: &mut Shared, cx: &mut Context<'_>) {
    if !shared
        .write_wakers
        .iter()
        .any(|waker| waker.will_wake(cx.waker()))
    {
        shared.write_wakers.push(cx.waker().clone());
    }
    if std::mem::take(&mut shared.driver_idle) {
        inner.wake_driver.notify_one();
    }
}

/// The writer as tokio I/O: `poll_write` queues with the same back-pressure as
/// [`TelnetWriter::write`], `poll_flush` is [`TelnetWriter::flush`] (everything on the
/// socket), `poll_shutdown` is [`TelnetWriter::close`] (flush, then shut our side down).
///
/// ```no_run
/// use tokio::io::AsyncWriteExt;
///
/// # async fn demo(mut writer: telnetlib3::TelnetWriter) -> std::io::Result<()> {
/// writer.write_all(b"hello\r\n").await?;
/// AsyncWriteExt::flush(&mut writer).await?;
/// writer.shutdown().await?;
/// # Ok(())
/// # }
/// ```
impl AsyncWrite for TelnetWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_queue(cx, buf, false).map_err(io::Error::from)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flushed(cx).map_err(io::Error::from)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.inner.lock().closing() {
            close_now(&self.inner);
        }
        // Shut down, but not clean if the connection failed or the close timeout left
        // output unwritten: a caller that wrote and shut down learns of the loss.
        std::task::ready!(self.poll_shut_down(cx));
        let shared = self.inner.lock();
        Poll::Ready(match shared.failure() {
            Some(_) => Err(io::Error::from(shared.end_error())),
            None => Ok(()),
        })
    }
}

impl Drop for TelnetWriter {
    fn drop(&mut self) {
        self.inner.release();
    }
}

impl fmt::Display for TelnetWriter {
    /// telnetlib3's writer repr: `<TelnetWriter server mode:kludge +lineflow -xon_any
    /// +slc_sim server-will:... client-will:...>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let repr = self.session(writer_repr);
        f.write_str(&repr)
    }
}

impl fmt::Debug for TelnetWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// telnetlib3's `repr(writer)` for a session: role, mode, the flow-control and SLC
/// flags (`+slc_sim` always: telnetlib3's `slc_simulated` is never turned off), a
/// rejected CHARSET request, and the options in force.
///
/// ```
/// use telnetlib3::proto::{SessionConfig, Policy, Role, Session};
///
/// let session = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
/// assert_eq!(
///     telnetlib3::repr::writer_repr(&session),
///     "<TelnetWriter server mode:local +lineflow -xon_any +slc_sim>"
/// );
/// ```
#[must_use]
pub fn writer_repr(session: &Session) -> String {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use telnetlib3_proto::{Policy, SessionConfig};
    use tokio::io::{AsyncReadExt, DuplexStream};
    use tokio::time::timeout;

    use super::*;
    use crate::stream::{spawn_with, Settings, TerminalDefaults};
    use crate::DEFAULT_LIMIT;

    /// A client's writer with the NVT rules on, over an in-memory pipe.
    fn nvt_client() -> (TelnetWriter, DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let session = Session::new(Role::Client, SessionConfig::with_policy(Policy::client()));
        let settings = Settings {
            limit: DEFAULT_LIMIT,
            hook: None,
            peer: "test 0".into(),
            defaults: TerminalDefaults::default(),
            close_timeout: Duration::from_millis(200),
            output_stall_timeout: Duration::from_secs(30),
            compression_idle_release: None,
            tls: None,
            refuse_tls_hello: false,
            metrics: None,
        };
        (
            TelnetWriter::new(spawn_with(ours, session, settings)),
            theirs,
        )
    }

    /// What the peer gets for the writes so far, once they are on the wire.
    async fn sent(writer: &mut TelnetWriter, peer: &mut DuplexStream) -> Vec<u8> {
        writer.flush().await.unwrap();
        let mut buf = vec![0; 256];
        let n = timeout(Duration::from_secs(10), peer.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        buf.truncate(n);
        buf
    }

    #[tokio::test]
    async fn a_complete_write_sends_cr_nul_together() {
        let (mut writer, mut peer) = nvt_client();
        // A plain write's CR waits to see whether LF follows.
        writer.write(b"echo one\r").await.unwrap();
        assert_eq!(sent(&mut writer, &mut peer).await, b"echo one\r");
        writer.write_complete(b"\n").await.unwrap();
        assert_eq!(sent(&mut writer, &mut peer).await, b"\n");
        // Keyboard input is complete: Enter's CR goes with its NUL (RFC 854).
        writer.write_complete(b"echo two\r").await.unwrap();
        assert_eq!(sent(&mut writer, &mut peer).await, b"echo two\r\0");
        writer.write(b"x\r").await.unwrap();
        writer.write_complete(b"").await.unwrap();
        assert_eq!(sent(&mut writer, &mut peer).await, b"x\r\0");
    }
}
