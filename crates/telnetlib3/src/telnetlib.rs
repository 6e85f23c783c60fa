//! Python's standard `telnetlib` in Rust, for porting scripts: [`Telnet`] has the methods
//! of CPython 3.11's `telnetlib.Telnet` and behaves as it does, byte for byte.
//!
//! It is a port of that class's processing model, not a front for this crate's
//! connections: a plain [`TcpStream`], a raw queue read 50 bytes per `recv` as CPython
//! does (the 50-byte pieces served from larger socket reads), a cooked queue, the
//! subnegotiation queue and the IAC sequence in progress. So it refuses every option (DO
//! is answered WONT, WILL DONT) unless a callback is set, drops NUL and XON (`\x11`) from
//! the data as CPython does, and keeps CPython's quirks (an `expect` called after end of
//! file matches nothing). Use [`crate::blocking`] or the async API for a connection that
//! negotiates.
//!
//! Differences, where Rust differs from Python:
//!
//! - Patterns are [`regex::bytes::Regex`], not Python's `re`; [`Telnet::expect`] returns the
//!   bytes matched in place of the `re.Match` object.
//! - `EOFError` is [`Error::Closed`]; a socket timeout (`open`'s timeout, for a blocking
//!   read) is [`Error::TimedOut`]; other socket errors are [`Error::Io`].
//! - [`Telnet::msg`] writes through [`Telnet::set_debug_output`] (the `tracing` crate at
//!   debug level unless set), not to stdout.
//! - The option callback gets the [`Telnet`] itself, not only its socket: it calls
//!   [`Telnet::read_sb_data`] and writes with [`Telnet::get_socket`], as a Python callback
//!   does through its closure.
//! - `expect` keeps its work linear: each arrival is searched with a bounded look-back
//!   (see [`TelnetReader::read_until_pattern`](crate::TelnetReader::read_until_pattern)),
//!   where CPython searches the whole cooked queue again at every `recv`.
//!
//! ```no_run
//! use std::time::Duration;
//! use telnetlib3::telnetlib::Telnet;
//!
//! # fn demo() -> Result<(), telnetlib3::Error> {
//! let mut tn = Telnet::open("127.0.0.1", 23, Some(Duration::from_secs(5)))?;
//! let banner: Vec<u8> = tn.read_until(b"login: ", Some(Duration::from_secs(5)))?;
//! tn.write(b"admin\r\n")?;
//! let patterns = [regex::bytes::Regex::new(r"[#>] $").unwrap()];
//! let (index, matched, before): (Option<usize>, Option<Vec<u8>>, Vec<u8>) =
//!     tn.expect(&patterns, Some(Duration::from_secs(5)))?;
//! let rest: Vec<u8> = tn.read_very_eager()?;
//! tn.close();
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::ops::Range;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use regex::bytes::Regex;

use crate::stream::expect::PatternSearch;
use crate::Error;

/// Interpret As Command.
pub const IAC: u8 = 255;
/// Don't use an option.
pub const DONT: u8 = 254;
/// Please use an option.
pub const DO: u8 = 253;
/// I won't use an option.
pub const WONT: u8 = 252;
/// I will use an option.
pub const WILL: u8 = 251;
/// Subnegotiation begin.
pub const SB: u8 = 250;
/// Go ahead.
pub const GA: u8 = 249;
/// Erase line.
pub const EL: u8 = 248;
/// Erase character.
pub const EC: u8 = 247;
/// Are you there.
pub const AYT: u8 = 246;
/// Abort output.
pub const AO: u8 = 245;
/// Interrupt process.
pub const IP: u8 = 244;
/// Break.
pub const BRK: u8 = 243;
/// Data mark.
pub const DM: u8 = 242;
/// No operation.
pub const NOP: u8 = 241;
/// Subnegotiation end.
pub const SE: u8 = 240;
/// End of record.
pub const EOR: u8 = 239;
/// The NUL byte (CPython's `theNULL`).
pub const THE_NULL: u8 = 0;
/// The option byte given to the callback for a command without one (CPython's `NOOPT`).
pub const NOOPT: u8 = 0;
/// Option: binary transmission (RFC 856).
pub const BINARY: u8 = 0;
/// Option: echo (RFC 857).
pub const ECHO: u8 = 1;
/// Option: suppress go ahead (RFC 858).
pub const SGA: u8 = 3;
/// Option: status (RFC 859).
pub const STATUS: u8 = 5;
/// Option: timing mark (RFC 860).
pub const TM: u8 = 6;
/// Option: terminal type (RFC 1091).
pub const TTYPE: u8 = 24;
/// Option: window size (RFC 1073).
pub const NAWS: u8 = 31;
/// Option: terminal speed (RFC 1079).
pub const TSPEED: u8 = 32;
/// Option: remote flow control (RFC 1372).
pub const LFLOW: u8 = 33;
/// Option: linemode (RFC 1184).
pub const LINEMODE: u8 = 34;
/// Option: new environment (RFC 1572).
pub const NEW_ENVIRON: u8 = 39;
/// Option: charset (RFC 2066).
pub const CHARSET: u8 = 42;

/// The standard Telnet port, used when `open` is given port 0.
pub const TELNET_PORT: u16 = 23;

/// Bytes per `recv`, as CPython (small, it says, to keep its `process_rawq` from going
/// quadratic; kept so that reads return what CPython's return).
const RECV_SIZE: usize = 50;

/// Bytes per system call: a `recv` of [`RECV_SIZE`] is served from what one read of up
/// to this much brought (see [`Telnet::fill_rawq`]).
const SOCKET_READ: usize = 64 * 1024;

/// XON (DC1), which CPython drops from the data.
const XON: u8 = 0x11;

/// What [`Telnet::set_option_negotiation_callback`] takes: called with the connection, the
/// command (`DO`, `DONT`, `WILL`, `WONT`, or a two-byte command such as `SE` or `NOP`) and
/// the option ([`NOOPT`] for a command without one).
pub type OptionCallback = Box<dyn FnMut(&mut Telnet, u8, u8) -> io::Result<()> + Send>;

/// What [`Telnet::expect`] returns: the index of the pattern that matched, the bytes it
/// matched, and the text read up to and including the match.
type ExpectResult = (Option<usize>, Option<Vec<u8>>, Vec<u8>);

/// Where [`Telnet::msg`] writes (each message a line, without its newline).
pub type DebugOutput = Box<dyn FnMut(&str) + Send>;

/// A Telnet connection with CPython's `telnetlib.Telnet` interface. See the
/// [module](self) for how it differs from Python's.
///
/// ```no_run
/// use std::time::Duration;
/// use telnetlib3::telnetlib::Telnet;
///
/// # fn demo() -> Result<(), telnetlib3::Error> {
/// let mut tn = Telnet::open("127.0.0.1", 23, Some(Duration::from_secs(5)))?;
/// let banner: Vec<u8> = tn.read_until(b"login: ", Some(Duration::from_secs(5)))?;
/// tn.write(b"admin\r\n")?;
/// let patterns = [regex::bytes::Regex::new(r"[#>] $").unwrap()];
/// let (index, matched, before): (Option<usize>, Option<Vec<u8>>, Vec<u8>) =
///     tn.expect(&patterns, Some(Duration::from_secs(5)))?;
/// let rest: Vec<u8> = tn.read_very_eager()?;
/// tn.close();
/// # Ok(())
/// # }
/// ```
///
/// `expect`'s third value is, as CPython's, the text read up to and including the match.
pub struct Telnet {
    host: String,
    port: u16,
    timeout: Option<Duration>,
    sock: Option<TcpStream>,
    /// Bytes read from the socket that CPython's 50-byte `recv`s would still have left in
    /// the kernel's buffer: `sockq[isockq..]`, served [`RECV_SIZE`] at a time.
    sockq: Vec<u8>,
    isockq: usize,
    /// `sockq[isockq..plain]` holds no NUL, XON or IAC (`plain` may lag behind `isockq`:
    /// then nothing is known): a `recv` within it is cooked by a plain copy, one search
    /// for those bytes serving every `recv` up to the next one.
    plain: usize,
    rawq: Vec<u8>,
    irawq: usize,
    cookedq: Vec<u8>,
    /// [`Telnet::process_rawq`]'s data buffer, kept empty between calls.
    cooking: Vec<u8>,
    eof: bool,
    /// The IAC sequence in progress: empty, `IAC`, or `IAC <verb>`.
    iacseq: Vec<u8>,
    /// Inside `IAC SB ... IAC SE`: data goes to the subnegotiation queue.
    sb: bool,
    sbdataq: Vec<u8>,
    option_callback: Option<OptionCallback>,
    debuglevel: u32,
    debug_output: Option<DebugOutput>,
}

impl fmt::Debug for Telnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telnet")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("timeout", &self.timeout)
            .field("connected", &self.sock.is_some())
            .field("eof", &self.eof)
            .field("rawq", &(self.rawq.len() - self.irawq))
            .field("cookedq", &self.cookedq.len())
            .finish_non_exhaustive()
    }
}

impl Default for Telnet {
    fn default() -> Self {
        Self::new()
    }
}

impl Telnet {
    /// An instance not connected yet (CPython's `Telnet()`): [`Telnet::connect`] it.
    #[must_use]
    pub fn new() -> Self {
        Self {
            host: String::new(),
            port: 0,
            timeout: None,
            sock: None,
            sockq: Vec::new(),
            isockq: 0,
            plain: 0,
            rawq: Vec::new(),
            irawq: 0,
            cookedq: Vec::new(),
            cooking: Vec::new(),
            eof: false,
            iacseq: Vec::new(),
            sb: false,
            sbdataq: Vec::new(),
            option_callback: None,
            debuglevel: 0,
            debug_output: None,
        }
    }

    /// Connect to `host` on `port` (23 if 0) (CPython's `Telnet(host, port, timeout)`).
    /// `timeout` bounds the connection and then every blocking socket operation, as
    /// Python's socket timeout; `None` blocks.
    ///
    /// # Errors
    ///
    /// [`Error::Resolve`], [`Error::NoAddress`], [`Error::Connect`],
    /// [`Error::ConnectTimeout`].
    pub fn open(host: &str, port: u16, timeout: Option<Duration>) -> Result<Self, Error> {
        let mut telnet = Self::new();
        telnet.connect(host, port, timeout)?;
        Ok(telnet)
    }

    /// Connect an instance (CPython's `open` method). Don't reopen a connected instance.
    ///
    /// # Errors
    ///
    /// As [`Telnet::open`].
    pub fn connect(
        &mut self,
        host: &str,
        port: u16,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        self.eof = false;
        let port = if port == 0 { TELNET_PORT } else { port };
        self.host = host.to_owned();
        self.port = port;
        self.timeout = timeout.filter(|t| !t.is_zero());
        let addr = format!("{host}:{port}");
        let addrs: Vec<_> = (host, port)
            .to_socket_addrs()
            .map_err(|source| Error::Resolve {
                host: host.to_owned(),
                source,
            })?
            .collect();
        let mut last = None;
        for candidate in addrs {
            let attempt = match self.timeout {
                Some(limit) => TcpStream::connect_timeout(&candidate, limit),
                None => TcpStream::connect(candidate),
            };
            match attempt {
                Ok(sock) => {
                    sock.set_read_timeout(self.timeout)?;
                    sock.set_write_timeout(self.timeout)?;
                    self.sock = Some(sock);
                    return Ok(());
                }
                Err(error) => last = Some(error),
            }
        }
        Err(match last {
            None => Error::NoAddress {
                host: host.to_owned(),
            },
            Some(source) => match self.timeout {
                Some(timeout) if source.kind() == io::ErrorKind::TimedOut => {
                    Error::ConnectTimeout { addr, timeout }
                }
                // Without a timeout of ours, the system's is an ordinary failure.
                _ => Error::Connect { addr, source },
            },
        })
    }

    /// Use a connected socket (for tests, or a connection made otherwise); `host` and
    /// `port` are only for [`Telnet::msg`]. Its timeouts are left as they are.
    #[must_use]
    pub fn from_stream(sock: TcpStream, host: &str, port: u16) -> Self {
        let mut telnet = Self::new();
        telnet.timeout = sock.read_timeout().ok().flatten();
        telnet.sock = Some(sock);
        telnet.host = host.to_owned();
        telnet.port = port;
        telnet
    }

    /// Send a debug message when the debug level is above 0, prefixed
    /// `Telnet(host,port): `, as CPython prints it.
    pub fn msg(&mut self, message: &str) {
        if self.debuglevel == 0 {
            return;
        }
        let line = format!("Telnet({},{}): {message}", self.host, self.port);
        match &mut self.debug_output {
            Some(output) => output(&line),
            None => tracing::debug!(target: "telnetlib3::telnetlib", "{line}"),
        }
    }

    /// The debug level: above 0, [`Telnet::msg`] writes.
    pub fn set_debuglevel(&mut self, debuglevel: u32) {
        self.debuglevel = debuglevel;
    }

    /// Where debug messages go (by default, `tracing` at debug level; a script that wants
    /// CPython's output passes `|line| println!("{line}")`).
    pub fn set_debug_output(&mut self, output: impl FnMut(&str) + Send + 'static) {
        self.debug_output = Some(Box::new(output));
    }

    /// Close the connection. Reads after it return what is queued, then [`Error::Closed`].
    pub fn close(&mut self) {
        self.eof = true;
        self.iacseq.clear();
        self.sb = false;
        // What the socket held unread goes with it.
        self.sockq = Vec::new();
        self.isockq = 0;
        self.plain = 0;
        if let Some(sock) = self.sock.take() {
            // Dropping closes it; a shutdown first tells a peer at once even if the
            // socket was cloned (interact's stdin thread).
            let _ = sock.shutdown(Shutdown::Both);
        }
    }

    /// The socket, while connected.
    #[must_use]
    pub fn get_socket(&self) -> Option<&TcpStream> {
        self.sock.as_ref()
    }

    /// The socket's file descriptor, while connected.
    ///
    /// Bytes this instance has already read (its queues, and the socket data it reads
    /// ahead of CPython's 50-byte `recv`s) do not make the descriptor readable:
    /// `read_very_eager` (or `sock_avail`) before a `select` on it.
    #[cfg(unix)]
    #[must_use]
    pub fn fileno(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.sock.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Send `buffer`, doubling every IAC byte.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when not connected, [`Error::Io`] from the socket.
    pub fn write(&mut self, buffer: &[u8]) -> Result<(), Error> {
        let mut escaped = Vec::with_capacity(buffer.len());
        telnetlib3_proto::escape_iac(buffer, &mut escaped);
        let message = format!("send {}", py_bytes(&escaped));
        self.msg(&message);
        self.socket()?.write_all(&escaped).map_err(socket_error)
    }

    /// Read until `expected` is seen, or `timeout` passes (`None`: no limit). Without a
    /// match, whatever is available instead, possibly nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] at end of file with nothing queued.
    pub fn read_until(
        &mut self,
        expected: &[u8],
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>, Error> {
        let n = expected.len();
        self.process_rawq()?;
        if let Some(i) = memchr::memmem::find(&self.cookedq, expected) {
            return Ok(self.take_cooked(i + n));
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut timeout = timeout;
        while !self.eof {
            if self.select(timeout)? {
                let from = self.cookedq.len().saturating_sub(n);
                self.fill_rawq()?;
                self.process_rawq()?;
                if let Some(i) = memchr::memmem::find(&self.cookedq[from..], expected) {
                    return Ok(self.take_cooked(from + i + n));
                }
            }
            if let Some(deadline) = deadline {
                match deadline.checked_duration_since(Instant::now()) {
                    Some(left) => timeout = Some(left),
                    None => break,
                }
            }
        }
        self.read_very_lazy()
    }

    /// Everything until end of file.
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when a `recv` outlasts `open`'s timeout.
    pub fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        self.process_rawq()?;
        while !self.eof {
            self.fill_rawq()?;
            self.process_rawq()?;
        }
        Ok(std::mem::take(&mut self.cookedq))
    }

    /// At least one byte of data unless end of file is hit (then empty); blocks.
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when a `recv` outlasts `open`'s timeout.
    pub fn read_some(&mut self) -> Result<Vec<u8>, Error> {
        self.process_rawq()?;
        while self.cookedq.is_empty() && !self.eof {
            self.fill_rawq()?;
            self.process_rawq()?;
        }
        Ok(std::mem::take(&mut self.cookedq))
    }

    /// Everything possible without blocking (eager): empty when nothing is there.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] at end of file with nothing queued.
    pub fn read_very_eager(&mut self) -> Result<Vec<u8>, Error> {
        self.process_rawq()?;
        while !self.eof && self.sock_avail()? {
            self.fill_rawq()?;
            self.process_rawq()?;
        }
        self.read_very_lazy()
    }

    /// What is readily available: stops at the first data, without blocking.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] at end of file with nothing queued.
    pub fn read_eager(&mut self) -> Result<Vec<u8>, Error> {
        self.process_rawq()?;
        while self.cookedq.is_empty() && !self.eof && self.sock_avail()? {
            self.fill_rawq()?;
            self.process_rawq()?;
        }
        self.read_very_lazy()
    }

    /// What is in the queues, processed, without socket I/O (lazy).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] at end of file with nothing queued.
    pub fn read_lazy(&mut self) -> Result<Vec<u8>, Error> {
        self.process_rawq()?;
        self.read_very_lazy()
    }

    /// What is in the cooked queue, without processing or socket I/O (very lazy).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] at end of file with nothing queued.
    pub fn read_very_lazy(&mut self) -> Result<Vec<u8>, Error> {
        let buf = std::mem::take(&mut self.cookedq);
        if buf.is_empty() && self.eof && self.irawq >= self.rawq.len() {
            return Err(Error::Closed);
        }
        Ok(buf)
    }

    /// The data of the subnegotiations seen (`IAC SB ... IAC SE`), emptied; a new SB drops
    /// what was not read. Call it from the option callback when it sees `SE`.
    pub fn read_sb_data(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.sbdataq)
    }

    /// Call `callback` for every negotiation and command received, in place of the default
    /// (refuse every option: DO answered WONT, WILL answered DONT); `None` restores it.
    pub fn set_option_negotiation_callback(&mut self, callback: Option<OptionCallback>) {
        self.option_callback = callback;
    }

    /// Whether data (or end of file) is waiting on the socket.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when not connected.
    pub fn sock_avail(&mut self) -> Result<bool, Error> {
        self.select(Some(Duration::ZERO))
    }

    /// Wait until one of `patterns` matches (tried in their order at each arrival; the
    /// first that matches wins) or `timeout` passes. Returns the pattern's index, the bytes
    /// it matched, and the text read up to and including the match; `(None, None, text)`
    /// with what was read when nothing matched before end of file or the timeout.
    ///
    /// As CPython's, results may depend on how the data arrives for a pattern ending in a
    /// greedy repetition or patterns that can match the same input; and, as CPython's, an
    /// `expect` after end of file searches nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] at end of file with nothing read.
    #[allow(clippy::type_complexity)]
    pub fn expect(
        &mut self,
        patterns: &[Regex],
        timeout: Option<Duration>,
    ) -> Result<(Option<usize>, Option<Vec<u8>>, Vec<u8>), Error> {
        let deadline = timeout.map(|t| Instant::now() + t);
        // The cooked queue only grows during the call: searched once, with a bounded
        // look-back, where CPython searches all of it again at each recv.
        let mut search = PatternSearch::new(patterns);
        while !self.eof {
            self.process_rawq()?;
            if let Some((index, at)) = search.find(&self.cookedq, patterns) {
                return Ok(self.found(index, at));
            }
            // The recvs of held plain data, each searched as it comes: CPython's loop
            // without its steps that do nothing for them (the select says readable at
            // once, process_rawq has nothing left to do).
            while let Some(n) = self.plain_recv() {
                self.recv_plain(n);
                if let Some((index, at)) = search.find(&self.cookedq, patterns) {
                    return Ok(self.found(index, at));
                }
            }
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if !self.select(Some(left))? {
                    if Instant::now() >= deadline {
                        break;
                    }
                    continue;
                }
            }
            self.fill_rawq()?;
        }
        let text = self.read_very_lazy()?;
        if text.is_empty() && self.eof {
            return Err(Error::Closed);
        }
        Ok((None, None, text))
    }

    /// A very dumb Telnet client (CPython's `interact`): what the peer sends goes to
    /// stdout, lines typed on stdin to the peer, until either ends (then
    /// `*** Connection closed by remote host ***` on stdout).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] from the socket or stdout.
    pub fn interact(&mut self) -> Result<(), Error> {
        // A thread per stdin line reader, as CPython's `mt_interact`: portable where
        // selecting on stdin is not. It writes through a clone of the socket.
        let mut sock = self.socket()?.try_clone()?;
        let (done, stdin_closed) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let stdin = io::stdin();
            let mut line = Vec::new();
            loop {
                line.clear();
                match stdin.lock().read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let mut escaped = Vec::with_capacity(line.len());
                        telnetlib3_proto::escape_iac(&line, &mut escaped);
                        if sock.write_all(&escaped).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = done.send(());
        });
        let mut stdout = io::stdout();
        loop {
            if stdin_closed.try_recv().is_ok() {
                return Ok(());
            }
            if !self.select(Some(Duration::from_millis(100)))? {
                continue;
            }
            match self.read_eager() {
                Err(Error::Closed) => {
                    stdout.write_all(b"*** Connection closed by remote host ***\n")?;
                    stdout.flush()?;
                    return Ok(());
                }
                Err(error) => return Err(error),
                Ok(text) if !text.is_empty() => {
                    stdout.write_all(&text)?;
                    stdout.flush()?;
                }
                Ok(_) => {}
            }
        }
    }

    /// `expect`'s result for pattern `index` matching the cooked queue `at`.
    fn found(&mut self, index: usize, at: Range<usize>) -> ExpectResult {
        let text = self.take_cooked(at.end);
        let matched = text[at].to_vec();
        (Some(index), Some(matched), text)
    }

    /// The first `n` bytes of the cooked queue, taken: the rest (a recv's tail) is
    /// copied, not the text (a large output before a prompt).
    fn take_cooked(&mut self, n: usize) -> Vec<u8> {
        let rest = self.cookedq.split_off(n);
        std::mem::replace(&mut self.cookedq, rest)
    }

    fn socket(&self) -> Result<&TcpStream, Error> {
        self.sock.as_ref().ok_or(Error::Closed)
    }

    /// Whether the socket is readable (data or end of file) within `wait` (`None`: wait
    /// as long as it takes), as `select` tells CPython. A peek with a read timeout: std
    /// has no `select`, and this works wherever std does.
    fn select(&mut self, wait: Option<Duration>) -> Result<bool, Error> {
        let timeout = self.timeout;
        let sock = self.socket()?;
        if self.isockq < self.sockq.len() {
            // Bytes CPython would find in the socket: readable at once.
            return Ok(true);
        }
        let mut probe = [0u8; 1];
        let peeked = match wait {
            Some(wait) if wait.is_zero() => {
                sock.set_nonblocking(true)?;
                let peeked = sock.peek(&mut probe);
                sock.set_nonblocking(false)?;
                peeked
            }
            wait => {
                sock.set_read_timeout(wait)?;
                let peeked = sock.peek(&mut probe);
                sock.set_read_timeout(timeout)?;
                peeked
            }
        };
        match peeked {
            Ok(_) => Ok(true),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(false)
            }
            // Readable with an error to report: the recv that follows reports it.
            Err(_) => Ok(true),
        }
    }

    /// One `recv` of up to 50 bytes into the raw queue; end of file when it gives none.
    ///
    /// The 50 bytes come from [`Telnet::sockq`], refilled by one socket read of up to
    /// [`SOCKET_READ`] when empty: a system call per 50 bytes cost 10 ns a byte. Every
    /// method sees what CPython's does: the same 50-byte pieces (each processed and, in
    /// `expect`, searched on its own), the bytes not yet taken counted as readable by
    /// `sock_avail` and the selects before a recv, a recv that waits only when nothing is
    /// held. Only a caller that selects on [`Telnet::fileno`] itself may not see as
    /// readable bytes already held here (as it does not see the cooked queue's, in
    /// CPython too): it calls `read_very_eager` or `sock_avail` first, as `fileno` says.
    ///
    /// A recv of plain data goes straight to the cooked queue (see [`Telnet::plain_recv`]),
    /// where the `process_rawq` that follows every `fill_rawq` would have put it.
    fn fill_rawq(&mut self) -> Result<(), Error> {
        if self.irawq >= self.rawq.len() {
            self.rawq.clear();
            self.irawq = 0;
        }
        if self.isockq >= self.sockq.len() {
            self.sockq.resize(SOCKET_READ, 0);
            self.isockq = 0;
            self.plain = 0;
            let read = loop {
                let Some(sock) = self.sock.as_mut() else {
                    break Err(Error::Closed);
                };
                match sock.read(&mut self.sockq) {
                    Ok(n) => break Ok(n),
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => break Err(socket_error(error)),
                }
            };
            // Nothing held after a failed read (the buffer is kept for the next).
            self.sockq.truncate(*read.as_ref().unwrap_or(&0));
            read?;
        }
        let start = self.isockq;
        let n = (self.sockq.len() - start).min(RECV_SIZE);
        if self.plain < start + n {
            // One search from here serves every recv up to the next NUL, XON or IAC.
            let from = self.plain.max(start);
            let rest = &self.sockq[from..];
            self.plain = from + memchr::memchr3(THE_NULL, XON, IAC, rest).unwrap_or(rest.len());
        }
        if let Some(n) = self.plain_recv() {
            self.recv_plain(n);
            return Ok(());
        }
        self.isockq += n;
        self.log_recv(start, n);
        self.eof = n == 0;
        self.rawq.extend_from_slice(&self.sockq[start..start + n]);
        Ok(())
    }

    /// The size of the next recv when it is held plain data (no NUL, XON or IAC) with
    /// nothing queued before it and no IAC sequence or subnegotiation under way: then
    /// `process_rawq` would only copy it to the cooked queue, and [`Telnet::recv_plain`]
    /// does so at once. Nothing can look at the queues in between (an option callback is
    /// only called for an IAC, which such a recv has none of).
    #[inline]
    fn plain_recv(&self) -> Option<usize> {
        let n = (self.sockq.len() - self.isockq).min(RECV_SIZE);
        let plain = n > 0
            && self.isockq + n <= self.plain
            && self.irawq >= self.rawq.len()
            && self.iacseq.is_empty()
            && !self.sb;
        plain.then_some(n)
    }

    /// The recv of `n` bytes [`Telnet::plain_recv`] allowed, cooked: `fill_rawq` and
    /// `process_rawq` in one.
    #[inline]
    fn recv_plain(&mut self, n: usize) {
        let start = self.isockq;
        self.isockq += n;
        self.log_recv(start, n);
        self.eof = false;
        self.cookedq
            .extend_from_slice(&self.sockq[start..start + n]);
    }

    /// CPython's debug message for a recv of `sockq[start..start + n]`.
    #[inline]
    fn log_recv(&mut self, start: usize, n: usize) {
        if self.debuglevel > 0 {
            self.log_recv_now(start, n);
        }
    }

    /// [`Telnet::log_recv`]'s message, out of the way of the recvs that have none.
    #[cold]
    #[inline(never)]
    fn log_recv_now(&mut self, start: usize, n: usize) {
        // Formatted only when shown (CPython's `msg` formats lazily too): escaping every
        // 50 bytes cost more than the recv.
        let message = format!("recv {}", py_bytes(&self.sockq[start..start + n]));
        self.msg(&message);
    }

    /// Move the raw queue into the cooked queue (and the subnegotiation data into its
    /// queue), answering negotiation, as CPython's `process_rawq`.
    fn process_rawq(&mut self) -> Result<(), Error> {
        if self.irawq >= self.rawq.len() {
            // Nothing to do (the recvs of plain data are cooked by `fill_rawq`).
            return Ok(());
        }
        // Without an option callback, nothing looks at the cooked queue during the call:
        // the data goes straight into it (one copy less), and out again if the call
        // fails, as CPython's `buf[0]` is lost then.
        if self.option_callback.is_none() {
            let mark = self.cookedq.len();
            let result = self.process_rawq_into(true);
            if result.is_err() {
                self.cookedq.truncate(mark);
            }
            return result;
        }
        self.process_rawq_into(false)
    }

    /// [`Telnet::process_rawq`], the data `direct`ly into the cooked queue or (for an
    /// option callback to see the cooked queue without this call's data, as CPython's
    /// does) through a buffer appended at the end.
    fn process_rawq_into(&mut self, direct: bool) -> Result<(), Error> {
        // CPython's `buf[0]` (data) and `buf[1]` (subnegotiation data); `buf[0]` in a
        // buffer kept from call to call (one allocation per 50 bytes was a tenth of
        // `expect`'s work).
        let mut data = std::mem::take(&mut self.cooking);
        data.clear();
        let mut sb_data = Vec::new();
        while self.irawq < self.rawq.len() {
            if self.iacseq.is_empty() {
                // A run of plain bytes at once: up to the next NUL, XON or IAC.
                let rest = &self.rawq[self.irawq..];
                let run = memchr::memchr3(THE_NULL, XON, IAC, rest).unwrap_or(rest.len());
                let out = match (self.sb, direct) {
                    (true, _) => &mut sb_data,
                    (false, true) => &mut self.cookedq,
                    (false, false) => &mut data,
                };
                out.extend_from_slice(&rest[..run]);
                self.irawq += run;
                if run < rest.len() {
                    let c = rest[run];
                    self.irawq += 1;
                    if c == IAC {
                        self.iacseq.push(c);
                    }
                    // NUL and XON are dropped.
                }
                continue;
            }
            let c = self.rawq[self.irawq];
            self.irawq += 1;
            if self.iacseq.len() == 1 {
                if matches!(c, DO | DONT | WILL | WONT) {
                    self.iacseq.push(c);
                    continue;
                }
                self.iacseq.clear();
                if c == IAC {
                    let out = match (self.sb, direct) {
                        (true, _) => &mut sb_data,
                        (false, true) => &mut self.cookedq,
                        (false, false) => &mut data,
                    };
                    out.push(c);
                } else {
                    if c == SB {
                        self.sb = true;
                        self.sbdataq.clear();
                    } else if c == SE {
                        self.sb = false;
                        self.sbdataq.append(&mut sb_data);
                    }
                    self.command(c, NOOPT)?;
                }
            } else {
                let cmd = self.iacseq[1];
                self.iacseq.clear();
                let name = match cmd {
                    DO => "DO",
                    DONT => "DONT",
                    WILL => "WILL",
                    _ => "WONT",
                };
                self.msg(&format!("IAC {name} {c}"));
                self.negotiation(cmd, c)?;
            }
        }
        if self.irawq >= self.rawq.len() {
            self.rawq.clear();
            self.irawq = 0;
        }
        self.cookedq.extend_from_slice(&data);
        data.clear();
        self.cooking = data;
        self.sbdataq.append(&mut sb_data);
        Ok(())
    }

    /// A two-byte command: to the callback, or noted as not recognised.
    fn command(&mut self, c: u8, option: u8) -> Result<(), Error> {
        if let Some(mut callback) = self.option_callback.take() {
            let result = callback(self, c, option);
            self.option_callback.get_or_insert(callback);
            return result.map_err(socket_error);
        }
        self.msg(&format!("IAC {c} not recognized"));
        Ok(())
    }

    /// DO, DONT, WILL or WONT: to the callback, or refused.
    fn negotiation(&mut self, cmd: u8, option: u8) -> Result<(), Error> {
        if let Some(mut callback) = self.option_callback.take() {
            let result = callback(self, cmd, option);
            self.option_callback.get_or_insert(callback);
            return result.map_err(socket_error);
        }
        let refusal = if matches!(cmd, DO | DONT) { WONT } else { DONT };
        self.socket()?
            .write_all(&[IAC, refusal, option])
            .map_err(socket_error)
    }
}

impl Drop for Telnet {
    fn drop(&mut self) {
        self.close();
    }
}

/// A socket timeout is Python's `socket.timeout`: [`Error::TimedOut`].
fn socket_error(error: io::Error) -> Error {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::TimedOut,
        _ => Error::Io(error),
    }
}

/// Bytes as Python's `repr` writes them (`b'a\r\n'`), for CPython's debug messages.
fn py_bytes(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote);
    out
}
