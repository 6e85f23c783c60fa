//! Telnet on tokio, after Python's telnetlib3: servers with a shell per connection,
//! clients, and the streams they read and write, driving the sans-IO
//! [`telnetlib3_proto`] core.
//!
//! [`create_server`] accepts connections and, once telnetlib3's opening negotiation has
//! settled (or `connect_maxwait` passed), runs `shell(reader, writer)` on each;
//! [`open_connection`] connects and answers a server's negotiation from a [`ClientConfig`].
//! Both are TCP front ends: [`serve_stream`] and [`connect_stream`] run the same server
//! and client sides over any `AsyncRead + AsyncWrite` stream (TLS, a Unix socket, a
//! WebSocket adapter, [`tokio::io::duplex`] in tests). The helpers the command-line tools
//! use to open sockets are in [`net`].
//!
//! Behind every connection one driver task owns the socket and the protocol session: it
//! reads and writes at once, keeps answering negotiation, stops reading when the reader's
//! buffer is full (back-pressure to the peer), and writes what the session queues;
//! writers wait while [`WRITE_HIGH_WATER`] bytes are queued. [`TelnetReader`] and
//! [`TelnetWriter`] carry bytes (the reader is an [`AsyncRead`](tokio::io::AsyncRead));
//! [`TextReader`] and [`TextWriter`] carry text in an encoding ([`text`]). [`blocking::TelnetConnection`] is a client for code that does not
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
//! let question = reader.read_until(b"?").await?;
//! writer.write(b"y").await?;
//! # Ok(())
//! # }
//! ```
//!
//! The session never sees a clock: the driver and the server own the time.
//!
//! # The memory budget of a connection
//!
//! No peer can make a connection hold more than the following, however it behaves
//! (defaults in brackets; `tests/hostile.rs` floods a server and a client with requests
//! from a peer that never reads, and asserts the output bound through
//! [`ConnectionStats::peak_output`]):
//!
//! | what | bound | by |
//! |---|---|---|
//! | unread input (data not yet taken by the shell) | `limit` (64 KiB) | a read takes at most what the reader's buffer has room for; capacity capped at `limit` too |
//! | input read but not yet parsed | the same `limit`, shared with the line above | exists only while the output is full ([`OUTPUT_PAUSE`]) |
//! | unwritten output (the shell's writes and the session's replies) | [`OUTPUT_PAUSE`] (80 KiB) + the replies to one command (at most 2 × the subnegotiation cap + 1 KiB: 17 KiB) = 97 KiB | writers wait at [`WRITE_HIGH_WATER`] (64 KiB); at [`OUTPUT_PAUSE`] the session takes no more input, between two commands, and the socket is not read |
//! | subnegotiation being received | [`proto::DEFAULT_MAX_SUBNEGOTIATION`] (8 KiB) | longer ones are discarded (a CHARSET REQUEST is answered REJECTED) |
//! | text decoder | a partial character (at most 4 bytes) | decoding goes through a stack buffer |
//! | MCCP (only while a compressed stream runs) | compressing: [`MCCP_COMPRESSOR_BYTES`] (161 KiB, telnetlib3's wbits 12 and memLevel 5; a server frees it after [`MCCP_IDLE_RELEASE`] without output); decompressing: [`MCCP_DECOMPRESSOR_BYTES`] (47 KiB) + decompressed input within the `limit` above | the decompressor inflates at most what the input buffer has room for, in 16 KiB steps, and keeps the rest of the compressed input for later, so a zip bomb is read at the shell's pace |
//! | per-option state | terminal types: 8 names of at most 40 bytes; NEW-ENVIRON: 64 variables and 8 KiB; CHARSET offer: 64 names of 64 bytes; XDISPLOC, SNDLOC: 256 bytes; FORWARDMASK: 32 bytes; SLC table: 30 entries, made when first needed; GMCP, MSDP, MSSP data: 64 KiB each | `proto::options` constants and configuration |
//!
//! Buffers grown by a burst are released once emptied (input beyond 4 KiB, output beyond
//! 16 KiB, subnegotiation beyond 256 bytes); the buffer socket reads land in is one per
//! worker thread, not one per connection. A peer that keeps the output at
//! [`OUTPUT_PAUSE`] or more for [`DEFAULT_OUTPUT_STALL_TIMEOUT`] (30 s, configurable) is
//! disconnected, with a warning in the log. What a shell queues outside
//! [`TelnetWriter::write`] (commands, subnegotiations through
//! [`TelnetWriter::with_session`]) is the shell's own responsibility, as is the data it
//! holds: a shell that reads 16 KiB at a time and writes it back costs about 144 KiB with
//! a client that never reads (64 KiB input, 64 KiB output, its 16 KiB).

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod blocking;
mod client;
mod error;
pub mod net;
pub mod record;
mod server;
mod stream;
pub mod telnetlib;
pub mod text;
#[cfg(feature = "tls")]
pub mod tls;

pub use client::{connect_stream, open_connection, open_connection_with_shell, ClientConfig};
pub use error::Error;
/// CIDR networks, as [`ProxyProtocol::trusted`] takes them.
pub use ipnet::IpNet;
#[cfg(feature = "tls")]
pub use server::DEFAULT_TLS_HANDSHAKE_TIMEOUT;
pub use server::{
    create_server, create_server_with_listeners, create_text_server, serve_stream,
    ProxyHeaderError, ProxyProtocol, Server, ServerConfig, DEFAULT_PROXY_HEADER_TIMEOUT,
    MAX_PROXY_HEADER,
};
pub use server::{
    robot_check, Client, ClientStatus, DrainSummary, Refusal, RefusalReason, Refused,
    ServerMetrics, Status, ROBOT_CHECK_TIMEOUT,
};
pub use stream::{
    negotiated_encoding, ConnectionStats, EventHook, Found, OptionWait, PeerCommands, TelnetReader,
    TelnetWriter, TerminalDefaults, TextFound, TextReader, TextWriter, DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_LIMIT, DEFAULT_OUTPUT_STALL_TIMEOUT, MCCP_COMPRESSOR_BYTES, MCCP_DECOMPRESSOR_BYTES,
    MCCP_IDLE_RELEASE, OUTPUT_PAUSE, PATTERN_LOOKBACK, REPLY_ALLOWANCE, WRITE_HIGH_WATER,
};

/// The text forms of a connection's state that telnetlib3 prints, for tools that show
/// them (the command-line server's debug shell).
pub mod repr {
    pub use crate::stream::writer_repr;
}

/// The `regex` crate whose `bytes::Regex` the expect-style reads take, so that a caller's
/// patterns are of the same version.
pub use regex;
/// The sans-IO protocol core this crate drives, re-exported.
pub use telnetlib3_proto as proto;

/// The crate README's example, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
