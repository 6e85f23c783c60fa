//! Telnet on tokio, after Python's telnetlib3: servers with a shell per connection,
//! clients, and the streams they read and write, driving the sans-IO
//! [`telnetlib3_proto`] core.
//!
//! [`create_server`] accepts connections and, once telnetlib3's opening negotiation has
//! settled (or `connect_maxwait` passed), runs `shell(reader, writer)` on each;
//! [`open_connection`] connects and answers a server's negotiation from a [`ClientConfig`].
//! Behind every connection one driver task owns the socket and the protocol session: it
//! reads and writes at once, keeps answering negotiation, stops reading when the reader's
//! buffer is full (back-pressure to the peer), and writes what the session queues;
//! writers wait while [`WRITE_HIGH_WATER`] bytes are queued. [`TelnetReader`] and
//! [`TelnetWriter`] carry bytes; [`TextReader`] and [`TextWriter`] carry text in an
//! encoding ([`text`]). [`blocking::TelnetConnection`] is a client for code that does not
//! want async.
//!
//! A connection ends when the shell returns (server), when its writer is closed, or when
//! its reader and writer are both dropped; closing takes at most the close timeout (5 s by
//! default) to write out what is queued. A shell that panics, or a peer that sends garbage,
//! disconnects or stops reading, costs only its own connection. Protocol events can be
//! observed with an [`EventHook`], and window-size and terminal-type changes with
//! [`TelnetWriter::watch_window_size`] and [`TelnetWriter::watch_terminal_type`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), telnetlib3::Error> {
//! use telnetlib3::{create_server, open_connection, ClientConfig, ServerConfig};
//!
//! let mut config = ServerConfig::default();
//! config.port = 6023;
//! let _server = create_server(config, |mut reader, mut writer| async move {
//!     let _ = writer.write(b"\r\nWould you like to play a game? ").await;
//!     if let Ok(answer) = reader.read(1).await {
//!         if !answer.is_empty() {
//!             let _ = writer.write(b"\r\nThey say the only way to win is to not play at all.\r\n").await;
//!         }
//!     }
//! })
//! .await?;
//!
//! let (mut reader, mut writer) = open_connection("localhost", 6023, ClientConfig::default()).await?;
//! let question = reader.read_until(b'?').await?;
//! writer.write(b"y").await?;
//! # Ok(())
//! # }
//! ```
//!
//! The session never sees a clock: the driver and the server own the time.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod blocking;
mod client;
mod error;
mod net;
mod server;
mod stream;
pub mod text;

pub use client::{open_connection, open_connection_with_shell, ClientConfig};
pub use error::Error;
pub use net::{connect, display_addr, listen};
pub use server::{create_server, create_text_server, Server, ServerConfig};
pub use stream::{
    negotiated_encoding, writer_repr, ConnectionStats, EventHook, TelnetReader, TelnetWriter,
    TerminalDefaults, TextReader, TextWriter, DEFAULT_CLOSE_TIMEOUT, DEFAULT_LIMIT,
    DEFAULT_OUTPUT_STALL_TIMEOUT, OUTPUT_PAUSE, REPLY_ALLOWANCE, WRITE_HIGH_WATER,
};

/// The sans-IO protocol core this crate drives, re-exported.
pub use telnetlib3_proto as proto;
