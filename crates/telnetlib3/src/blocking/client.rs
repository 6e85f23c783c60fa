//! [`TelnetConnection`]: one Telnet connection driven from blocking code, after
//! telnetlib3's `sync.TelnetConnection`; the client opens one, and each connection of a
//! [`BlockingTelnetServer`](super::BlockingTelnetServer) is one too.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use regex::bytes::Regex;
use telnetlib3_proto::{Mode, Session, TelnetOption};
use tokio::runtime::Runtime;

use crate::stream::TextDecoding;
use crate::text::{Encoding, ErrorMode, TextEncoder};
use crate::{
    open_connection, ClientConfig, Error, Found, OptionWait, TelnetReader, TelnetWriter, TextFound,
};

/// The most bytes one [`TelnetConnection::read_some`] returns: all that is buffered, up
/// to the reader's limit.
const READ_SOME_MAX: usize = usize::MAX;

/// A Telnet connection driven from blocking code: reads and expect-style matching with
/// timeouts, writes, negotiation waits, and the negotiated state.
///
/// ```no_run
/// use std::time::Duration;
/// use telnetlib3::blocking::TelnetConnection;
/// use telnetlib3::regex::bytes::Regex;
///
/// # fn demo() -> Result<(), telnetlib3::Error> {
/// let wait = Some(Duration::from_secs(5));
/// let mut conn = TelnetConnection::connect("192.0.2.1", 23, Default::default())?;
/// conn.read_until(b"login: ", wait)?;
/// conn.write(b"admin\r\n")?;
/// let prompts = [Regex::new(r"[#>] $").unwrap(), Regex::new(r"(?i)password: $").unwrap()];
/// let found = conn.expect(&prompts, wait)?;
/// println!("prompt {} after {:?}", found.index, found.before);
/// conn.close();
/// # Ok(())
/// # }
/// ```
pub struct TelnetConnection {
    // The handles are declared first: they are dropped before the runtime.
    reader: TelnetReader,
    writer: TelnetWriter,
    /// The text methods' decoding and encoding, made by the first of them (UTF-8) or by
    /// [`TelnetConnection::set_encoding`].
    text: Option<TextCodec>,
    /// Shared with the server's other connections for a server's connection.
    runtime: Arc<Runtime>,
}

impl std::fmt::Debug for TelnetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnetConnection")
            .field("writer", &self.writer)
            .field("reader", &self.reader)
            .finish()
    }
}

impl TelnetConnection {
    /// Connect and answer the server's opening negotiation, as [`open_connection`].
    ///
    /// # Errors
    ///
    /// Runtime start-up, resolution and connection errors.
    pub fn connect(host: &str, port: u16, config: ClientConfig) -> Result<Self, Error> {
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?,
        );
        let (reader, writer) = runtime.block_on(open_connection(host, port, config))?;
        Ok(Self::from_parts(runtime, reader, writer))
    }

    /// A connection over handles whose driver runs on `runtime`.
    pub(super) fn from_parts(
        runtime: Arc<Runtime>,
        reader: TelnetReader,
        writer: TelnetWriter,
    ) -> Self {
        Self {
            reader,
            writer,
            text: None,
            runtime,
        }
    }

    /// Decode the text reads and encode the text writes with `encoding` from now on,
    /// bad bytes and unmappable characters handled as `mode` says (telnetlib3's `sync`
    /// connection takes `encoding` and `encoding_errors`). Without it the text methods
    /// use UTF-8, replacing what is invalid, as telnetlib3's default `encoding='utf8'`.
    /// Text decoded and not yet returned by a text read is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::Text`] when `encoding` cannot be written (UTF-16).
    pub fn set_encoding(&mut self, encoding: &Encoding, mode: ErrorMode) -> Result<(), Error> {
        self.text = Some(TextCodec {
            encoder: encoding.encoder(mode)?,
            decoding: TextDecoding::new(encoding.clone(), mode),
            buffer: Vec::new(),
        });
        Ok(())
    }

    /// What the text methods work with: the runtime, the reader, and the codec (UTF-8
    /// unless [`TelnetConnection::set_encoding`] chose one).
    fn text(&mut self) -> Result<(&Runtime, &mut TelnetReader, &mut TextCodec), Error> {
        if self.text.is_none() {
            let utf8 = Encoding::from_name("utf-8")?;
            self.set_encoding(&utf8, ErrorMode::Replace)?;
        }
        let codec = self.text.as_mut().expect("set above");
        Ok((&self.runtime, &mut self.reader, codec))
    }

    /// Text decoded from up to `max` bytes, as [`crate::TextReader::read`]; waits for at
    /// least one character. Empty means end of file. A text read keeps what it decoded
    /// beyond what it returns for the next text read: a byte read after it does not see
    /// that.
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when nothing came within `wait`; [`Error::Text`] for invalid
    /// input with [`ErrorMode::Strict`].
    pub fn read_text(&mut self, max: usize, wait: Option<Duration>) -> Result<String, Error> {
        let (runtime, reader, codec) = self.text()?;
        within(runtime, wait, codec.decoding.read(reader, max))
    }

    /// A line, decoded, as [`crate::TextReader::read_line`]; empty at end of file.
    ///
    /// # Errors
    ///
    /// As [`TelnetConnection::read_text`].
    pub fn read_text_line(&mut self, wait: Option<Duration>) -> Result<String, Error> {
        let (runtime, reader, codec) = self.text()?;
        within(runtime, wait, codec.decoding.read_line(reader))
    }

    /// Text up to and including the first match of `pattern`, as
    /// [`crate::TextReader::read_until_pattern`] (linear in the data).
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when nothing matched within `wait` (what came stays unread),
    /// [`Error::Incomplete`] at end of input, [`Error::LimitOverrun`], [`Error::Text`].
    pub fn read_text_until_pattern(
        &mut self,
        pattern: &regex::Regex,
        wait: Option<Duration>,
    ) -> Result<String, Error> {
        let found = self.expect_text(std::slice::from_ref(pattern), wait)?;
        Ok(found.before + &found.matched)
    }

    /// The first of `patterns` to match in the decoded text, with the match and the
    /// text before it, as [`crate::TextReader::expect`].
    ///
    /// # Errors
    ///
    /// As [`TelnetConnection::read_text_until_pattern`].
    pub fn expect_text(
        &mut self,
        patterns: &[regex::Regex],
        wait: Option<Duration>,
    ) -> Result<TextFound, Error> {
        let (runtime, reader, codec) = self.text()?;
        within(runtime, wait, codec.decoding.expect(reader, patterns))
    }

    /// Encode `text` and send it, waiting until it is written to the socket.
    ///
    /// # Errors
    ///
    /// [`Error::Text`] for an unmappable character with [`ErrorMode::Strict`] (nothing
    /// is sent then); [`Error::Closed`] if the connection has ended.
    pub fn write_text(&mut self, text: &str) -> Result<(), Error> {
        let (_, _, codec) = self.text()?;
        codec.buffer.clear();
        codec.encoder.encode(text, &mut codec.buffer)?;
        let encoded = std::mem::take(&mut codec.buffer);
        let written = self.write(&encoded);
        if let Some(codec) = &mut self.text {
            codec.buffer = encoded;
        }
        written
    }

    /// Up to `max` bytes; waits for at least one. An empty result means end of file.
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when nothing came within `wait`.
    pub fn read(&mut self, max: usize, wait: Option<Duration>) -> Result<Vec<u8>, Error> {
        within(&self.runtime, wait, self.reader.read(max))
    }

    /// Whatever has arrived, at least one byte (telnetlib3's `read_some`); empty at end
    /// of file.
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when nothing came within `wait`.
    pub fn read_some(&mut self, wait: Option<Duration>) -> Result<Vec<u8>, Error> {
        within(&self.runtime, wait, self.reader.read(READ_SOME_MAX))
    }

    /// Exactly `n` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when they did not all come within `wait`; [`Error::Closed`] if
    /// the connection ended first.
    pub fn read_exact(&mut self, n: usize, wait: Option<Duration>) -> Result<Vec<u8>, Error> {
        within(&self.runtime, wait, self.reader.read_exact(n))
    }

    /// A line, as [`TelnetReader::read_line`] ends it; empty at end of file.
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when no line came within `wait`.
    pub fn read_line(&mut self, wait: Option<Duration>) -> Result<Vec<u8>, Error> {
        within(&self.runtime, wait, self.reader.read_line())
    }

    /// Bytes up to and including `separator` (one byte or several), as
    /// [`TelnetReader::read_until`].
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when the separator did not come within `wait` (what came
    /// stays unread), [`Error::LimitOverrun`].
    pub fn read_until(
        &mut self,
        separator: impl AsRef<[u8]>,
        wait: Option<Duration>,
    ) -> Result<Vec<u8>, Error> {
        within(&self.runtime, wait, self.reader.read_until(separator))
    }

    /// Bytes up to and including the first match of `pattern`, as
    /// [`TelnetReader::read_until_pattern`] (linear in the data).
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when nothing matched within `wait` (what came stays unread),
    /// [`Error::Incomplete`] at end of input, [`Error::LimitOverrun`].
    pub fn read_until_pattern(
        &mut self,
        pattern: &Regex,
        wait: Option<Duration>,
    ) -> Result<Vec<u8>, Error> {
        within(&self.runtime, wait, self.reader.read_until_pattern(pattern))
    }

    /// The first of `patterns` to match, with the match and what came before it, as
    /// [`TelnetReader::expect`].
    ///
    /// # Errors
    ///
    /// As [`TelnetConnection::read_until_pattern`].
    pub fn expect(&mut self, patterns: &[Regex], wait: Option<Duration>) -> Result<Found, Error> {
        within(&self.runtime, wait, self.reader.expect(patterns))
    }

    /// Whether no more input will come and every byte was read.
    #[must_use]
    pub fn at_eof(&self) -> bool {
        self.reader.at_eof()
    }

    /// Send `data` and wait until it is written to the socket.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the connection has ended.
    pub fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        let writer = &mut self.writer;
        within(&self.runtime, None, async move {
            writer.write(data).await?;
            writer.flush().await
        })
    }

    /// Wait until everything written is on the socket (telnetlib3's `flush`), as
    /// [`TelnetWriter::flush`].
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when the peer did not take it within `wait`;
    /// [`Error::Closed`] if the connection ended with output queued.
    pub fn flush(&mut self, wait: Option<Duration>) -> Result<(), Error> {
        within(&self.runtime, wait, self.writer.flush())
    }

    /// End our output after what is queued and keep reading, as
    /// [`TelnetWriter::write_eof`].
    ///
    /// # Errors
    ///
    /// As [`TelnetWriter::write_eof`].
    pub fn write_eof(&mut self) -> Result<(), Error> {
        within(&self.runtime, None, self.writer.write_eof())
    }

    /// Wait until the options are as `options` says (telnetlib3's `wait_for(remote=...,
    /// local=..., pending=...)`), as [`TelnetWriter::wait_for`].
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] once `wait` has passed; [`Error::Closed`] if the connection
    /// ends first.
    pub fn wait_for(&self, options: &OptionWait, wait: Option<Duration>) -> Result<(), Error> {
        self.runtime.block_on(self.writer.wait_for(options, wait))
    }

    /// Wait until `predicate` holds for the protocol session, as
    /// [`TelnetWriter::wait_for_condition`].
    ///
    /// # Errors
    ///
    /// As [`TelnetConnection::wait_for`].
    pub fn wait_for_condition(
        &self,
        predicate: impl FnMut(&Session) -> bool + Send,
        wait: Option<Duration>,
    ) -> Result<(), Error> {
        self.runtime
            .block_on(self.writer.wait_for_condition(predicate, wait))
    }

    /// The peer's terminal type (`TERM`), or the configured default until it reports
    /// one (a server's view of its client).
    #[must_use]
    pub fn terminal_type(&self) -> String {
        self.writer.terminal_type()
    }

    /// The peer's window size `(cols, rows)`, or the configured default until it
    /// reports one (a server's view of its client).
    #[must_use]
    pub fn window_size(&self) -> (u16, u16) {
        self.writer.window_size()
    }

    /// The peer's address, `ip port` as telnetlib3 shows it.
    #[must_use]
    pub fn peer(&self) -> &str {
        self.writer.peer()
    }

    /// Whether we perform `option`.
    #[must_use]
    pub fn local_enabled(&self, option: TelnetOption) -> bool {
        self.writer.local_enabled(option)
    }

    /// Whether the peer performs `option`.
    #[must_use]
    pub fn remote_enabled(&self, option: TelnetOption) -> bool {
        self.writer.remote_enabled(option)
    }

    /// The options in force, as telnetlib3's writer repr lists them.
    #[must_use]
    pub fn options_summary(&self) -> String {
        self.writer.options_summary()
    }

    /// The input mode the negotiation led to.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.writer.mode()
    }

    /// The character set agreed with CHARSET, if any.
    #[must_use]
    pub fn charset(&self) -> Option<String> {
        self.writer.charset()
    }

    /// The value the peer sent for environment variable `name` (NEW-ENVIRON).
    #[must_use]
    pub fn environ_value(&self, name: &str) -> Option<String> {
        self.writer.environ_value(name)
    }

    /// Whether the connection is closing or has ended.
    #[must_use]
    pub fn is_closing(&self) -> bool {
        self.writer.is_closing()
    }

    /// The writer, for protocol state and requests ([`TelnetWriter::with_session`]).
    #[must_use]
    pub fn writer(&self) -> &TelnetWriter {
        &self.writer
    }

    /// Close: what is queued is written out (within the close timeout), then the socket
    /// is closed.
    pub fn close(mut self) {
        self.shut();
    }

    /// Close without giving the connection up (miniboa's `deactivate`).
    pub(super) fn shut(&mut self) {
        self.runtime.block_on(self.writer.close());
    }
}

impl Drop for TelnetConnection {
    fn drop(&mut self) {
        // Within a runtime (dropped from async code) no blocking wait is possible: the
        // handles' drop asks the driver to close, which writes out what is queued.
        if tokio::runtime::Handle::try_current().is_err() && !self.writer.is_closing() {
            self.shut();
        }
    }
}

/// The text methods' state: decoding of what is read, encoding of what is written.
struct TextCodec {
    decoding: TextDecoding,
    encoder: TextEncoder,
    /// Encoded text (reused).
    buffer: Vec<u8>,
}

/// Run `future` on `runtime`, giving up after `wait` if one is given.
pub(super) fn within<T>(
    runtime: &Runtime,
    wait: Option<Duration>,
    future: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match wait {
        None => runtime.block_on(future),
        // The timer must be made inside the runtime.
        Some(limit) => runtime
            .block_on(async { tokio::time::timeout(limit, future).await })
            .map_err(|_| Error::TimedOut)?,
    }
}
