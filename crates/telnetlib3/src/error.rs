//! The errors of this crate.

use std::io;
use std::time::Duration;

/// What went wrong on a connection or while opening one.
///
/// Messages name the address concerned and the operating system's reason, without the
/// `(os error N)` suffix: `cannot listen on localhost:6023: Address already in use`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host name could not be resolved.
    #[error("cannot resolve {host}: {}", os_message(source))]
    Resolve {
        /// The host name as given.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// The host name resolved to no address.
    #[error("cannot resolve {host}: no address found")]
    NoAddress {
        /// The host name as given.
        host: String,
    },
    /// No address of the host accepted the connection.
    #[error("cannot connect to {addr}: {}", os_message(source))]
    Connect {
        /// `host:port` as given.
        addr: String,
        /// The error of the last address tried.
        source: io::Error,
    },
    /// Connecting (resolution included) took longer than allowed.
    #[error("cannot connect to {addr}: timed out after {}s", timeout.as_secs_f64())]
    ConnectTimeout {
        /// `host:port` as given.
        addr: String,
        /// The time allowed.
        timeout: Duration,
    },
    /// A listening socket could not be opened.
    #[error("cannot listen on {addr}: {}", os_message(source))]
    Listen {
        /// `host:port` as given.
        addr: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// Reading or writing an open connection failed.
    #[error("{}", os_message(.0))]
    Io(#[from] io::Error),
    /// The connection was closed (by the peer, or by us) before the operation completed.
    #[error("connection closed")]
    Closed,
    /// The connection failed (reset by the peer, say): what was read before it stays
    /// readable; after that, and for writes, this error.
    #[error("connection lost: {}", os_message(.0))]
    ConnectionLost(#[source] io::Error),
    /// Text could not be decoded or encoded (strict mode), or the encoding is unknown.
    #[error(transparent)]
    Text(#[from] crate::text::TextError),
    /// A blocking call did not complete within the time it was given.
    #[error("timed out")]
    TimedOut,
    /// The reader's limit of unread data was reached without the separator or a pattern
    /// being found (telnetlib3's `LimitOverrunError`): the data stays unread, for
    /// [`TelnetReader::read`](crate::TelnetReader::read) or a larger limit.
    #[error("no match within the reader's limit of {limit} bytes")]
    LimitOverrun {
        /// The reader's limit.
        limit: usize,
    },
    /// The input ended before a pattern matched (telnetlib3's `IncompleteReadError`):
    /// what was left unread, now consumed.
    #[error("end of input before a match ({} bytes unmatched)", partial.len())]
    Incomplete {
        /// The data read without a match.
        partial: Vec<u8>,
    },
    /// A TLS configuration could not be loaded or used.
    #[cfg(feature = "tls")]
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The TLS handshake failed: the server's certificate was not verified (the reason
    /// names why), or the peer speaks no TLS, or it took too long.
    #[cfg(feature = "tls")]
    #[error(
        "TLS handshake with {addr} failed: {}",
        crate::tls::handshake_message(source)
    )]
    TlsHandshake {
        /// `host:port` as given.
        addr: String,
        /// The error (its inner error is rustls's, when rustls refused).
        source: io::Error,
    },
}

impl Error {
    /// The kind of the underlying I/O error, if there is one.
    #[must_use]
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Self::Resolve { source, .. }
            | Self::Connect { source, .. }
            | Self::Listen { source, .. }
            | Self::Io(source)
            | Self::ConnectionLost(source) => Some(source.kind()),
            #[cfg(feature = "tls")]
            Self::TlsHandshake { source, .. } => Some(source.kind()),
            #[cfg(feature = "tls")]
            Self::Tls(_) => None,
            Self::NoAddress { .. }
            | Self::ConnectTimeout { .. }
            | Self::Closed
            | Self::TimedOut
            | Self::LimitOverrun { .. }
            | Self::Incomplete { .. }
            | Self::Text(_) => None,
        }
    }
}

impl From<Error> for io::Error {
    /// The same failure as an [`io::Error`], for [`AsyncRead`](tokio::io::AsyncRead) and
    /// code that deals in `io::Result`: an [`Error::Io`] gives back its error; the others
    /// keep their message and are wrapped (get them back with
    /// [`io::Error::get_ref`] and `downcast_ref::<telnetlib3::Error>()`), with the kind of
    /// the operating system's error they carry, or else: [`Error::Closed`]
    /// `BrokenPipe`, [`Error::TimedOut`] and [`Error::ConnectTimeout`] `TimedOut`,
    /// [`Error::NoAddress`] `NotFound`, [`Error::Text`] and [`Error::LimitOverrun`]
    /// `InvalidData`, [`Error::Incomplete`] `UnexpectedEof`.
    ///
    /// ```
    /// use std::io;
    /// let error = io::Error::from(telnetlib3::Error::Closed);
    /// assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    /// assert_eq!(error.to_string(), "connection closed");
    /// ```
    fn from(error: Error) -> Self {
        let kind = match &error {
            Error::Closed => io::ErrorKind::BrokenPipe,
            Error::ConnectTimeout { .. } | Error::TimedOut => io::ErrorKind::TimedOut,
            Error::NoAddress { .. } => io::ErrorKind::NotFound,
            Error::Text(_) | Error::LimitOverrun { .. } => io::ErrorKind::InvalidData,
            Error::Incomplete { .. } => io::ErrorKind::UnexpectedEof,
            Error::Resolve { source, .. }
            | Error::Connect { source, .. }
            | Error::Listen { source, .. }
            | Error::Io(source)
            | Error::ConnectionLost(source) => source.kind(),
            #[cfg(feature = "tls")]
            Error::TlsHandshake { source, .. } => source.kind(),
            #[cfg(feature = "tls")]
            Error::Tls(_) => io::ErrorKind::InvalidInput,
        };
        match error {
            Error::Io(source) => source,
            error => Self::new(kind, error),
        }
    }
}

/// An I/O error's text as `strerror` or `gai_strerror` gives it: without Rust's
/// ` (os error N)` suffix or the resolver's `failed to lookup address information: `.
pub(crate) fn os_message(error: &io::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => &text,
    };
    text.strip_prefix("failed to lookup address information: ")
        .unwrap_or(text)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn os_error_suffix_is_dropped() {
        let error = Error::Listen {
            addr: "localhost:6023".into(),
            source: io::Error::from_raw_os_error(98),
        };
        // Linux's errno 98.
        assert_eq!(
            error.to_string(),
            "cannot listen on localhost:6023: Address already in use"
        );
    }

    #[test]
    fn other_errors_keep_their_text() {
        let error = Error::Io(io::Error::other("boom"));
        assert_eq!(error.to_string(), "boom");
        let error = Error::ConnectionLost(io::Error::from_raw_os_error(104));
        #[cfg(target_os = "linux")]
        assert_eq!(
            error.to_string(),
            "connection lost: Connection reset by peer"
        );
        assert_eq!(error.io_kind(), Some(io::ErrorKind::ConnectionReset));
        let error = Error::ConnectTimeout {
            addr: "h:23".into(),
            timeout: Duration::from_millis(1500),
        };
        assert_eq!(
            error.to_string(),
            "cannot connect to h:23: timed out after 1.5s"
        );
    }

    #[test]
    fn io_errors_keep_the_kind_and_the_message() {
        let reset = io::Error::from(Error::ConnectionLost(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "reset",
        )));
        assert_eq!(reset.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(reset.to_string(), "connection lost: reset");
        assert!(matches!(
            reset.get_ref().and_then(|e| e.downcast_ref::<Error>()),
            Some(Error::ConnectionLost(_))
        ));
        // An I/O error comes back as itself, OS error number included.
        let raw = io::Error::from(Error::Io(io::Error::from_raw_os_error(32)));
        assert_eq!(raw.raw_os_error(), Some(32));
        assert_eq!(
            io::Error::from(Error::TimedOut).kind(),
            io::ErrorKind::TimedOut
        );
        assert_eq!(
            io::Error::from(Error::NoAddress { host: "x".into() }).kind(),
            io::ErrorKind::NotFound
        );
    }
}
