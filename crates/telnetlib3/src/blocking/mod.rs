//! Blocking Telnet for scripts and threaded programs that do not want async, after
//! telnetlib3's `sync` module: a client, [`TelnetConnection`], and a server,
//! [`BlockingTelnetServer`], whose connections ([`ServerConnection`]) have the same
//! blocking API plus miniboa's properties.
//!
//! Both run the async library on a runtime of their own (one worker thread), so each
//! connection keeps answering negotiation between the blocking calls. Every call that
//! waits takes an optional timeout and fails with [`Error::TimedOut`](crate::Error::TimedOut)
//! when it passes, leaving unread data unread.
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

mod client;
mod server;

pub use client::TelnetConnection;
pub use server::{BlockingTelnetServer, ServerConnection};
