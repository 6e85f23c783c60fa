//! A blocking client for scripts that do not want async, after telnetlib3's
//! `sync.TelnetConnection`.
//!
//! It runs the async client on a runtime of its own with one worker thread, so the
//! connection keeps answering negotiation between calls.
//!
//! ```no_run
//! use std::time::Duration;
//! use telnetlib3::blocking::TelnetConnection;
//!
//! # fn demo() -> Result<(), telnetlib3::Error> {
//! let mut conn = TelnetConnection::connect("localhost", 6023, Default::default())?;
//! let banner = conn.read_until(b">", Some(Duration::from_secs(5)))?;
//! conn.write(b"help\r\n")?;
//! let help = conn.read_line(Some(Duration::from_secs(5)))?;
//! conn.close();
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

use regex::bytes::Regex;
use tokio::runtime::Runtime;

use crate::{open_connection, ClientConfig, Error, Found, TelnetReader, TelnetWriter};

/// A Telnet client connection driven from blocking code.
pub struct TelnetConnection {
    runtime: Runtime,
    reader: TelnetReader,
    writer: TelnetWriter,
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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let (reader, writer) = runtime.block_on(open_connection(host, port, config))?;
        Ok(Self {
            runtime,
            reader,
            writer,
        })
    }

    /// Up to `max` bytes; an empty result means end of file.
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when nothing came within `wait`.
    pub fn read(&mut self, max: usize, wait: Option<Duration>) -> Result<Vec<u8>, Error> {
        within(&self.runtime, wait, self.reader.read(max))
    }

    /// A line, as [`TelnetReader::read_line`] ends it.
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

    /// The writer, for protocol state and requests ([`TelnetWriter::with_session`]).
    #[must_use]
    pub fn writer(&self) -> &TelnetWriter {
        &self.writer
    }

    /// Flush and close the connection.
    pub fn close(mut self) {
        self.runtime.block_on(self.writer.close());
    }
}

/// Run `future` on `runtime`, giving up after `wait` if one is given.
fn within<T>(
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
