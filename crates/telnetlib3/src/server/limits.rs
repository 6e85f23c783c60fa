//! `max_connections` and `max_per_ip`: counting connections as they are accepted, and
//! turning away those over a limit with one line.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tracing::info;

/// Why a connection was turned away at the accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// [`ServerConfig::max_connections`](super::ServerConfig::max_connections) were open.
    MaxConnections,
    /// [`ServerConfig::max_per_ip`](super::ServerConfig::max_per_ip) were open from the
    /// peer's address.
    MaxPerIp,
}

impl Refusal {
    /// The reason as the metrics count it.
    #[must_use]
    pub fn reason(self) -> super::RefusalReason {
        match self {
            Self::MaxConnections => super::RefusalReason::MaxConnections,
            Self::MaxPerIp => super::RefusalReason::MaxPerIp,
        }
    }

    /// The line the client is sent before the close, in the words of telnetlib3's
    /// `busy_shell` ("Machine is busy, do not touch!"), with the reason.
    ///
    /// ```
    /// use telnetlib3::Refusal;
    ///
    /// assert_eq!(
    ///     Refusal::MaxPerIp.message(),
    ///     b"Machine is busy, do not touch! Too many connections from your address.\r\n"
    /// );
    /// ```
    #[must_use]
    pub const fn message(self) -> &'static [u8] {
        match self {
            Self::MaxConnections => b"Machine is busy, do not touch! Too many connections.\r\n",
            Self::MaxPerIp => {
                b"Machine is busy, do not touch! Too many connections from your address.\r\n"
            }
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::MaxConnections => "max_connections",
            Self::MaxPerIp => "max_per_ip",
        })
    }
}

/// How many connections a server turned away, by reason, since it started
/// ([`Server::refused`](super::Server::refused)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refused {
    /// Over [`ServerConfig::max_connections`](super::ServerConfig::max_connections).
    pub max_connections: u64,
    /// Over [`ServerConfig::max_per_ip`](super::ServerConfig::max_per_ip).
    pub max_per_ip: u64,
}

/// The open connections, as the limits count them.
#[derive(Default)]
struct Counts {
    total: usize,
    /// Only kept with a per-address limit; an address leaves the map with its last
    /// connection, so the map is as large as the set of connected addresses.
    per_ip: HashMap<IpAddr, usize>,
}

/// A server's limits and what they counted.
#[derive(Default)]
pub(super) struct Limits {
    max_connections: Option<usize>,
    max_per_ip: Option<usize>,
    counts: Arc<Mutex<Counts>>,
    refused_max_connections: AtomicU64,
    refused_max_per_ip: AtomicU64,
}

/// A connection counted by the limits; dropping it uncounts the connection.
pub(super) struct Admitted {
    /// `None` when there are no limits to count for.
    counts: Option<Arc<Mutex<Counts>>>,
    ip: IpAddr,
    per_ip: bool,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let Some(counts) = &self.counts else { return };
        let mut counts = lock(counts);
        counts.total = counts.total.saturating_sub(1);
        if self.per_ip {
            if let Some(count) = counts.per_ip.get_mut(&self.ip) {
                *count -= 1;
                if *count == 0 {
                    counts.per_ip.remove(&self.ip);
                }
            }
        }
    }
}

fn lock(counts: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    counts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Limits {
    pub(super) fn new(max_connections: Option<usize>, max_per_ip: Option<usize>) -> Self {
        Self {
            max_connections,
            max_per_ip,
            ..Self::default()
        }
    }

    /// Count a new connection from `ip`, the address the server reports as the peer
    /// (after a PROXY protocol header, the client's), or say which limit it is over
    /// (and count the refusal). The one place the limits are checked.
    pub(super) fn admit(&self, ip: IpAddr) -> Result<Admitted, Refusal> {
        if self.max_connections.is_none() && self.max_per_ip.is_none() {
            return Ok(Admitted {
                counts: None,
                ip,
                per_ip: false,
            });
        }
        let mut counts = lock(&self.counts);
        let refusal = if self.max_connections.is_some_and(|max| counts.total >= max) {
            Some((Refusal::MaxConnections, &self.refused_max_connections))
        } else if self
            .max_per_ip
            .is_some_and(|max| counts.per_ip.get(&ip).copied().unwrap_or(0) >= max)
        {
            Some((Refusal::MaxPerIp, &self.refused_max_per_ip))
        } else {
            None
        };
        if let Some((refusal, counter)) = refusal {
            counter.fetch_add(1, Ordering::Relaxed);
            return Err(refusal);
        }
        counts.total += 1;
        let per_ip = self.max_per_ip.is_some();
        if per_ip {
            *counts.per_ip.entry(ip).or_insert(0) += 1;
        }
        Ok(Admitted {
            counts: Some(Arc::clone(&self.counts)),
            ip,
            per_ip,
        })
    }

    pub(super) fn refused(&self) -> Refused {
        Refused {
            max_connections: self.refused_max_connections.load(Ordering::Relaxed),
            max_per_ip: self.refused_max_per_ip.load(Ordering::Relaxed),
        }
    }
}

/// How long a refused connection is kept to read what the client sends before it
/// sees the close.
const REFUSED_LINGER: Duration = Duration::from_secs(1);

/// The most refused connections lingering at once (each holds a descriptor).
const MAX_LINGERING: usize = 256;

/// How many refused connections linger now.
static LINGERING: AtomicUsize = AtomicUsize::new(0);

/// One of the [`MAX_LINGERING`] places, given back when dropped.
struct Lingering;

impl Lingering {
    fn take() -> Option<Self> {
        LINGERING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_LINGERING).then_some(n + 1)
            })
            .ok()
            .map(|_| Self)
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        LINGERING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Turn a connection away: its line (when the client may be sent plain text first),
/// our side shut down, then what the client sends is read and dropped until it closes
/// or [`REFUSED_LINGER`] passes. Closing a socket with unread input resets the
/// connection, and a reset can make the client drop the line before it reads it.
pub(super) fn refuse(socket: TcpStream, peer: SocketAddr, refusal: Refusal, plain: bool) {
    info!(
        "Connection from <Peer {} {}> refused: {refusal}",
        peer.ip(),
        peer.port()
    );
    if plain {
        // A new socket's send buffer is empty: the short line fits at once.
        let _ = socket.try_write(refusal.message());
    }
    let _ = socket2::SockRef::from(&socket).shutdown(std::net::Shutdown::Write);
    // The linger holds a descriptor per refused connection: under a flood at the limit,
    // past MAX_LINGERING they are closed at once (a reset may then lose the line).
    let Some(lingering) = Lingering::take() else {
        return;
    };
    tokio::spawn(async move {
        let _lingering = lingering;
        let mut socket = socket;
        let mut sink = [0; 512];
        let drained = async { while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {} };
        let _ = tokio::time::timeout(REFUSED_LINGER, drained).await;
    });
}

impl super::Server {
    /// How many connections were turned away by
    /// [`max_connections`](super::ServerConfig::max_connections) and
    /// [`max_per_ip`](super::ServerConfig::max_per_ip) so far.
    #[must_use]
    pub fn refused(&self) -> Refused {
        self.registry.limits.refused()
    }
}
