//! Telnet on tokio, after Python's telnetlib3: the async driver of the sans-IO
//! [`telnetlib3_proto`] core.
//!
//! A [`Connection`] owns a byte stream (a [`tokio::net::TcpStream`], or anything
//! `AsyncRead + AsyncWrite`) and a protocol [`Session`]. Reading from the connection reads
//! the socket into one reused buffer, feeds it to [`Session::receive`], writes the replies
//! the session queued (option negotiation answers) and hands the application only its
//! data. Writing escapes application data with the session's encoder (IAC doubling, NVT
//! end-of-line) and sends it. The session never sees a clock: the driver owns the time,
//! as in [`Connection::negotiate`], which waits for pending negotiation up to a deadline.
//!
//! [`connect`] and [`listen`] resolve a host name and open TCP sockets, with errors that
//! name the address.
//!
//! This crate is young: server and client front-ends with shells, text streams and
//! introspection will grow on top of [`Connection`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), telnetlib3::Error> {
//! use std::time::Duration;
//! use telnetlib3::proto::{Config, Policy, Role, Session, TelnetOption};
//! use telnetlib3::Connection;
//!
//! let stream = telnetlib3::connect("localhost", 6023, Duration::from_secs(10)).await?;
//! let policy = Policy::new()
//!     .allow_remote(TelnetOption::Echo)
//!     .allow_remote(TelnetOption::Sga);
//! let mut conn = Connection::new(stream, Session::new(Role::Client, Config::with_policy(policy)));
//! conn.write(b"help\n").await?;                  // sent as "help\r\n"
//! let mut buf = [0; 4096];
//! let n = conn.read(&mut buf).await?;           // negotiation is answered on the way
//! println!("{}", String::from_utf8_lossy(&buf[..n]));
//! # Ok(())
//! # }
//! ```
//!
//! [`Session`]: telnetlib3_proto::Session
//! [`Session::receive`]: telnetlib3_proto::Session::receive

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod blocking;
mod client;
mod connection;
mod error;
mod net;
mod server;
mod stream;
pub mod text;

pub use client::{open_connection, open_connection_with_shell, ClientConfig};
pub use connection::{Connection, MAX_NEGOTIATION_BUFFER, READ_BUFFER_SIZE};
pub use error::Error;
pub use net::{connect, display_addr, listen};
pub use server::{create_server, create_text_server, Server, ServerConfig};
pub use stream::{
    negotiated_encoding, writer_repr, EventHook, TelnetReader, TelnetWriter, TerminalDefaults,
    TextReader, TextWriter, DEFAULT_LIMIT, WRITE_HIGH_WATER,
};

/// The sans-IO protocol core this crate drives, re-exported.
pub use telnetlib3_proto as proto;
