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
            Self::NoAddress { .. }
            | Self::ConnectTimeout { .. }
            | Self::Closed
            | Self::TimedOut
            | Self::Text(_) => None,
        }
    }
}

/// An I/O error's text as `strerror` or `gai_strerror` gives it: without Rust's
/// ` (os error N)` suffix or the resolver's `failed to lookup address information: `.
fn os_message(error: &io::Error) -> String {
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
}
