//! [`BlockingTelnetServer`]: the async server with a blocking interface, after
//! telnetlib3's `sync.BlockingTelnetServer`: connections are taken with
//! [`BlockingTelnetServer::accept`], or handed to a handler on a thread each by
//! [`BlockingTelnetServer::serve_forever`].
//!
//! Each connection's shell (the async server's task for it) hands the reader and writer
//! over a bounded queue, then waits until the blocking side is done with them: the
//! server keeps its opening negotiation, idle timeout and close, and the connection
//! ends when its [`ServerConnection`] is closed or dropped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot, watch, Mutex};

use super::TelnetConnection;
use crate::{create_server, Error, Server, ServerConfig, TelnetReader, TelnetWriter};

/// Connections whose negotiation is done and that no `accept` has taken yet, at most;
/// more wait in their shell (their clients see the server's silence).
const ACCEPT_QUEUE: usize = 64;

/// A connection handed from its shell to the blocking side: its handles, and the sender
/// whose drop lets the shell (and so the connection) end.
struct Handed {
    reader: TelnetReader,
    writer: TelnetWriter,
    done: oneshot::Sender<()>,
}

/// A Telnet server for blocking code: the library's async server on a runtime of its
/// own, its connections taken one at a time with [`accept`](Self::accept) or served on
/// a thread each by [`serve_forever`](Self::serve_forever).
///
/// ```no_run
/// use std::time::Duration;
/// use telnetlib3::blocking::BlockingTelnetServer;
/// use telnetlib3::ServerConfig;
///
/// # fn demo() -> Result<(), telnetlib3::Error> {
/// let mut config = ServerConfig::default();
/// config.port = 6023;
/// let server = BlockingTelnetServer::bind(config)?;
/// server.serve_forever(|mut conn| {
///     let wait = Some(Duration::from_secs(300));
///     let greeting = format!("Hello, {}!\r\n", conn.terminal_type());
///     let _ = conn.write(greeting.as_bytes());
///     while let Ok(line) = conn.read_line(wait) {
///         if line.is_empty() || conn.write(b"Echo: ").and_then(|()| conn.write(&line)).is_err() {
///             break;
///         }
///     }
/// })?;
/// # Ok(())
/// # }
/// ```
pub struct BlockingTelnetServer {
    // Declared before the runtime: the server's state goes first.
    server: Server,
    accepted: Mutex<mpsc::Receiver<Handed>>,
    stop: watch::Sender<bool>,
    /// The configuration's close timeout: how long a shutdown waits for the
    /// connections' output (twice: written out, then the peers' close).
    close_timeout: Duration,
    runtime: Arc<Runtime>,
}

impl std::fmt::Debug for BlockingTelnetServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingTelnetServer")
            .field("addrs", &self.server.local_addrs())
            .field("stopped", &*self.stop.borrow())
            .finish()
    }
}

impl BlockingTelnetServer {
    /// Listen on `config.host` and `config.port` (port 0: one the system picks, see
    /// [`local_addrs`](Self::local_addrs)), and start serving: each client gets the
    /// opening negotiation at once and waits, once it is done, to be accepted.
    ///
    /// # Errors
    ///
    /// Runtime start-up, resolution and bind errors, as [`create_server`].
    pub fn bind(config: ServerConfig) -> Result<Self, Error> {
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?,
        );
        let close_timeout = config.close_timeout;
        let (queue, accepted) = mpsc::channel::<Handed>(ACCEPT_QUEUE);
        let server = runtime.block_on(create_server(config, move |reader, writer| {
            let queue = queue.clone();
            async move {
                let (done, finished) = oneshot::channel();
                let handed = Handed {
                    reader,
                    writer,
                    done,
                };
                if queue.send(handed).await.is_ok() {
                    // The blocking side dropped its sender: closed or gone.
                    let _ = finished.await;
                }
            }
        }))?;
        Ok(Self {
            server,
            accepted: Mutex::new(accepted),
            stop: watch::Sender::new(false),
            close_timeout,
            runtime,
        })
    }

    /// The addresses the server listens on.
    #[must_use]
    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.server.local_addrs()
    }

    /// The next client, once its opening negotiation is done; waits as long as `wait`
    /// (`None`: until one comes).
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when no client came within `wait`; [`Error::Closed`] once
    /// [`shutdown`](Self::shutdown) was called.
    pub fn accept(&self, wait: Option<Duration>) -> Result<ServerConnection, Error> {
        let mut stopped = self.stop.subscribe();
        let next = async {
            if *stopped.borrow_and_update() {
                return None;
            }
            let mut accepted = self.accepted.lock().await;
            tokio::select! {
                handed = accepted.recv() => handed,
                _ = stopped.wait_for(|stop| *stop) => None,
            }
        };
        let handed = super::client::within(&self.runtime, wait, async {
            next.await.ok_or(Error::Closed)
        })?;
        Ok(ServerConnection::new(Arc::clone(&self.runtime), handed))
    }

    /// Serve every client with `handler`, each on a thread of its own, until
    /// [`shutdown`](Self::shutdown) (from another thread, or from a handler). A
    /// connection its handler returns without closing is closed then.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if a thread could not be started: serving stops (the client that
    /// would have had it is closed).
    pub fn serve_forever<F>(&self, handler: F) -> Result<(), Error>
    where
        F: Fn(ServerConnection) + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        loop {
            let conn = match self.accept(None) {
                Ok(conn) => conn,
                Err(Error::Closed) => return Ok(()),
                Err(error) => return Err(error),
            };
            let handler = Arc::clone(&handler);
            let name = format!("telnet {}", conn.addrport());
            let spawned = std::thread::Builder::new()
                .name(name)
                .spawn(move || handler(conn));
            if let Err(error) = spawned {
                // Out of threads (a flood of connections; set `max_connections`): this
                // client is dropped, closing it, and the others are served on.
                tracing::warn!("no thread for a client: {error}");
            }
        }
    }

    /// Stop: no more clients are accepted ([`accept`](Self::accept) and
    /// [`serve_forever`](Self::serve_forever) return), and every connection is closed
    /// (what was queued for it is written out within the close timeout); handlers
    /// blocked on a connection get end of file or [`Error::Closed`]. Returns once every
    /// connection has ended, or twice the close timeout has passed.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
        self.server.close();
        // From async code (a drop there) no blocking wait is possible.
        if tokio::runtime::Handle::try_current().is_err() {
            let grace = self.close_timeout.saturating_mul(2);
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(grace, self.server.wait_closed()).await });
        }
    }

    /// The async server behind it: its connections and their statistics.
    #[must_use]
    pub fn server(&self) -> &Server {
        &self.server
    }
}

impl Drop for BlockingTelnetServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A client of a [`BlockingTelnetServer`]: the blocking API of [`TelnetConnection`]
/// (through `Deref`), plus miniboa's properties: terminal type, columns and rows,
/// address, connect time, idle time, `send`, `deactivate`.
///
/// ```no_run
/// use std::time::Duration;
/// # fn demo(server: telnetlib3::blocking::BlockingTelnetServer) -> Result<(), telnetlib3::Error> {
/// let mut conn = server.accept(Some(Duration::from_secs(60)))?;
/// conn.send(&format!("{} {}x{}\n", conn.terminal_type(), conn.columns(), conn.rows()))?;
/// let name = conn.read_line(Some(Duration::from_secs(30)))?;
/// println!("{} idle {:?}", conn.addrport(), conn.idle());
/// conn.deactivate();
/// # Ok(())
/// # }
/// ```
pub struct ServerConnection {
    conn: TelnetConnection,
    peer: SocketAddr,
    connected: SystemTime,
    /// Dropped when the blocking side is done: the shell, and the connection, end.
    done: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for ServerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConnection")
            .field("peer", &self.peer)
            .field("conn", &self.conn)
            .finish()
    }
}

impl ServerConnection {
    fn new(runtime: Arc<Runtime>, handed: Handed) -> Self {
        let peer = parse_peer(handed.writer.peer());
        Self {
            conn: TelnetConnection::from_parts(runtime, handed.reader, handed.writer),
            peer,
            connected: SystemTime::now(),
            done: Some(handed.done),
        }
    }

    /// Whether the connection is open (miniboa's `active`).
    #[must_use]
    pub fn active(&self) -> bool {
        self.done.is_some() && !self.conn.is_closing()
    }

    /// Close the connection now, keeping this value (miniboa's `deactivate`, `active =
    /// False`): what is queued is written out first.
    pub fn deactivate(&mut self) {
        self.conn.shut();
        self.done = None;
    }

    /// The client's address and port.
    #[must_use]
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The client's IP address (miniboa's `address`).
    #[must_use]
    pub fn address(&self) -> IpAddr {
        self.peer.ip()
    }

    /// The client's port (miniboa's `port`).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.peer.port()
    }

    /// `ip:port` (miniboa's `addrport()`).
    #[must_use]
    pub fn addrport(&self) -> String {
        format!("{}:{}", self.peer.ip(), self.peer.port())
    }

    /// The client's terminal width (miniboa's `columns`; the configured default until
    /// it reports its window size).
    #[must_use]
    pub fn columns(&self) -> u16 {
        self.conn.window_size().0
    }

    /// The client's terminal height (miniboa's `rows`).
    #[must_use]
    pub fn rows(&self) -> u16 {
        self.conn.window_size().1
    }

    /// When the connection was handed to the blocking side (miniboa's
    /// `connect_time`).
    #[must_use]
    pub fn connect_time(&self) -> SystemTime {
        self.connected
    }

    /// How long since the client last sent a byte (miniboa's `idle()`).
    #[must_use]
    pub fn idle(&self) -> Duration {
        self.conn.writer().idle_time()
    }

    /// How long the connection has been handed to the blocking side (miniboa's
    /// `duration()`).
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.connected.elapsed().unwrap_or_default()
    }

    /// Write `text` with every line end as CR LF (miniboa's `send`: a lone `\n`
    /// becomes `\r\n`, an existing `\r\n` stays).
    ///
    /// # Errors
    ///
    /// As [`TelnetConnection::write`].
    pub fn send(&mut self, text: &str) -> Result<(), Error> {
        self.conn.write(crlf(text).as_bytes())
    }

    /// Change this connection's idle timeout now, as
    /// [`TelnetWriter::set_idle_timeout`].
    pub fn set_idle_timeout(&self, timeout: Option<Duration>) {
        self.conn.writer().set_idle_timeout(timeout);
    }

    /// Close the connection: what is queued is written out, then the socket is closed.
    pub fn close(mut self) {
        self.deactivate();
    }
}

impl Deref for ServerConnection {
    type Target = TelnetConnection;

    fn deref(&self) -> &TelnetConnection {
        &self.conn
    }
}

impl DerefMut for ServerConnection {
    fn deref_mut(&mut self) -> &mut TelnetConnection {
        &mut self.conn
    }
}

/// `text` with each line end as CR LF: `\r\n` kept, a lone `\n` given its `\r`.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut rest = text;
    while let Some(at) = memchr::memchr(b'\n', rest.as_bytes()) {
        let line = &rest[..at];
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push_str("\r\n");
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

/// A TCP connection's peer from its `ip port` form; a transport without one (never for
/// this server, which listens on TCP) gives the unspecified address.
fn parse_peer(peer: &str) -> SocketAddr {
    peer.split_once(' ')
        .and_then(|(ip, port)| Some(SocketAddr::new(ip.parse().ok()?, port.parse().ok()?)))
        .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_ends_every_line_with_cr_lf_once() {
        assert_eq!(crlf("a\nb\r\nc"), "a\r\nb\r\nc");
        assert_eq!(crlf("\n\n"), "\r\n\r\n");
        assert_eq!(crlf("no end"), "no end");
        assert_eq!(crlf("\r\n"), "\r\n");
    }

    #[test]
    fn peers_parse_from_the_ip_port_form() {
        assert_eq!(
            parse_peer("127.0.0.1 4321"),
            "127.0.0.1:4321".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_peer("::1 23"),
            "[::1]:23".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_peer("unix"),
            "0.0.0.0:0".parse::<SocketAddr>().unwrap()
        );
    }
}
