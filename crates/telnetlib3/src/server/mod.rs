//! `create_server`: accept Telnet connections and run a shell on each; `serve_stream`:
//! the same for one connection over any byte stream.
//!
//! Operating a server: [`Server::clients`] and [`Server::wait_for_client`] (`clients`),
//! [`Server::drain`] (`drain`), connection limits (`limits`), the robot check (`guard`)
//! and the status line (`status`), each in a module of its own.

mod clients;
mod drain;
mod guard;
mod limits;
mod status;
mod streams;

pub use clients::Client;
pub use drain::DrainSummary;
pub use guard::{robot_check, ROBOT_CHECK_TIMEOUT};
pub use limits::{Refusal, Refused};
pub use status::{ClientStatus, Status};

mod proxy;

pub use proxy::{ProxyHeaderError, ProxyProtocol, DEFAULT_PROXY_HEADER_TIMEOUT, MAX_PROXY_HEADER};

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use telnetlib3_proto::{Policy, Role, ServerPlan, Session, SessionConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinHandle};
use tracing::{debug, info, warn};

use crate::net::listen_with;
use crate::record::{self, RecordConfig};
use crate::stream::Transport;
use crate::stream::{
    self, AnyStream, ConnectionStats, EventHook, Inner, Settings, TelnetReader, TelnetWriter,
    TerminalDefaults, DEFAULT_CLOSE_TIMEOUT, DEFAULT_LIMIT, DEFAULT_OUTPUT_STALL_TIMEOUT,
};
use crate::text::{Encoding, ErrorMode};
use crate::{negotiated_encoding, Error, TextReader, TextWriter};

mod metrics;

pub use metrics::{RefusalReason, ServerMetrics};

/// How a server listens and treats each connection, after telnetlib3's `create_server`.
///
/// The struct is `#[non_exhaustive]`: start from the default and set fields.
///
/// ```
/// use std::time::Duration;
/// use telnetlib3::ServerConfig;
///
/// let mut config = ServerConfig::default();
/// config.host = "0.0.0.0".into();
/// config.port = 6023;
/// config.timeout = Some(Duration::from_secs(600)); // idle clients are told and hung up on
/// config.plan.line_mode = true; // no WILL ECHO / WILL SGA: the client edits lines
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The host name or address to listen on (every address it resolves to).
    pub host: String,
    /// The port; 0 lets the system choose (see [`Server::local_addrs`]).
    pub port: u16,
    /// How long the opening negotiation may take before the shell starts anyway
    /// (telnetlib3's `connect_maxwait`, 4 s in its library).
    pub connect_maxwait: Duration,
    /// Close a connection idle this long, after writing `\r\nTimeout.\r\n` (telnetlib3's
    /// `timeout`, 300 s): the deadline is this long after the last byte from the client
    /// (after the connection's start until one comes). `None` never does.
    pub timeout: Option<Duration>,
    /// The most unread input kept per connection (telnetlib3's `limit`).
    pub limit: usize,
    /// What the opening negotiation asks for (`line_mode`, `force_binary`, CHARSET).
    pub plan: ServerPlan,
    /// The protocol configuration: the policy and every option's settings.
    pub protocol: Arc<SessionConfig>,
    /// Called for every protocol event of every connection.
    pub on_event: Option<EventHook>,
    /// The text encoding of [`create_text_server`] shells once BINARY is agreed (or
    /// forced) and the client named none (telnetlib3's `encoding`, `utf8`).
    pub encoding: Encoding,
    /// What text shells do with bytes and characters the encoding cannot take
    /// (telnetlib3's `encoding_errors`, `strict` for its server).
    pub encoding_errors: ErrorMode,
    /// The terminal assumed until the client reports its own, and `never_send_ga`.
    pub terminal: TerminalDefaults,
    /// How long closing a connection may take ([`DEFAULT_CLOSE_TIMEOUT`], 5 s): to write
    /// out what is queued (a peer that does not read loses the rest) and then, separately,
    /// for the peer to close its side.
    pub close_timeout: Duration,
    /// How long a connection's unwritten output may stay at
    /// [`OUTPUT_PAUSE`](crate::OUTPUT_PAUSE) or more before the client is disconnected
    /// ([`DEFAULT_OUTPUT_STALL_TIMEOUT`], 30 s): a client that asks for replies and does
    /// not read them.
    pub output_stall_timeout: Duration,
    /// MCCP2 and MCCP3 (telnetlib3's `compression`): `None` accepts compression when a
    /// client asks for it (DO MCCP2, DO MCCP3), `Some(true)` also offers both in the
    /// opening negotiation (`WILL MCCP2`, `WILL MCCP3`), `Some(false)` refuses them. A TLS
    /// connection refuses them whatever this says (compressing before encrypting lets an
    /// observer learn secrets from lengths: CRIME, BREACH), as telnetlib3 does. Our
    /// output is compressed as telnetlib3 compresses it (zlib level 9, wbits 12, memLevel
    /// 5, a sync flush per write); see [`MCCP_COMPRESSOR_BYTES`](crate::MCCP_COMPRESSOR_BYTES).
    pub compression: Option<bool>,
    /// After this long with no output, a connection's MCCP2 stream is finished (an
    /// orderly zlib stream end, which MCCP2 allows "at any point") and its compressor
    /// ([`MCCP_COMPRESSOR_BYTES`](crate::MCCP_COMPRESSOR_BYTES)) freed; the next output
    /// starts a new stream with `IAC SB MCCP2 IAC SE`, so an idle compressed connection
    /// costs what an idle plain one does. [`MCCP_IDLE_RELEASE`](crate::MCCP_IDLE_RELEASE)
    /// (5 s) by default; `None` keeps one stream for the whole connection, as telnetlib3
    /// does.
    pub compression_idle_release: Option<Duration>,
    /// TELNETS: every connection begins with a TLS handshake (telnetlib3's `ssl`), or with
    /// [`tls_auto`](ServerConfig::tls_auto), those that begin with one. Without it, a
    /// connection that begins with a TLS handshake is logged and closed at once.
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<crate::tls::TlsServer>>,
    /// TLS and plain Telnet on one port (telnetlib3's `tls_auto`, 0.5 s in its tools): a
    /// connection whose first byte begins a TLS handshake gets TLS, one whose first byte is
    /// anything else is plain Telnet at once, and one silent this long is plain Telnet
    /// (then the server speaks first, as Telnet servers do). Needs
    /// [`tls`](ServerConfig::tls).
    #[cfg(feature = "tls")]
    pub tls_auto: Option<Duration>,
    /// How long a TLS handshake may take before the connection is dropped
    /// ([`DEFAULT_TLS_HANDSHAKE_TIMEOUT`], 10 s).
    #[cfg(feature = "tls")]
    pub tls_handshake_timeout: Duration,
    /// Each connection begins with a PROXY protocol header from a trusted load balancer,
    /// which names the client: that address is the peer everywhere (logs,
    /// [`TelnetWriter::peer`], [`Server::connections`]). A connection from an untrusted
    /// address, or with a missing or malformed header, is logged and closed.
    pub proxy_protocol: Option<ProxyProtocol>,
    /// Listen with SO_REUSEPORT, so that several processes (or servers) share the port
    /// and the kernel spreads new connections among them.
    pub reuse_port: bool,
    /// At most this many connections at once (counted from the accept, TLS handshakes
    /// included); one more is told [`Refusal::MaxConnections`]'s line and closed.
    /// `None`: no limit.
    pub max_connections: Option<usize>,
    /// At most this many connections at once from one peer address; one more is told
    /// [`Refusal::MaxPerIp`]'s line and closed. `None`: no limit.
    pub max_per_ip: Option<usize>,
    /// Count connections, bytes, negotiation times, options, errors and refusals here
    /// (see [`ServerMetrics`] for the names); `None` counts nothing.
    pub metrics: Option<Arc<ServerMetrics>>,
    /// Record each session as an asciicast file (see [`crate::record`]), from the start
    /// of its shell: what the shell writes, what the client sends if
    /// [`RecordConfig::input`], and window size changes. `None` records nothing.
    pub record: Option<Arc<RecordConfig>>,
}

/// How long a server waits for a client's TLS handshake by default.
#[cfg(feature = "tls")]
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "localhost".to_string(),
            port: 23,
            connect_maxwait: Duration::from_secs(4),
            timeout: Some(Duration::from_secs(300)),
            limit: DEFAULT_LIMIT,
            plan: ServerPlan::default(),
            protocol: Arc::new(SessionConfig::with_policy(Policy::server())),
            on_event: None,
            encoding: Encoding::from_name("utf8").expect("UTF-8 is always known"),
            encoding_errors: ErrorMode::Strict,
            terminal: TerminalDefaults::default(),
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            output_stall_timeout: DEFAULT_OUTPUT_STALL_TIMEOUT,
            compression: None,
            compression_idle_release: Some(crate::MCCP_IDLE_RELEASE),
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            tls_auto: None,
            #[cfg(feature = "tls")]
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            proxy_protocol: None,
            reuse_port: false,
            max_connections: None,
            max_per_ip: None,
            metrics: None,
            record: None,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("connect_maxwait", &self.connect_maxwait)
            .field("timeout", &self.timeout)
            .field("limit", &self.limit)
            .field("plan", &self.plan)
            .field("close_timeout", &self.close_timeout)
            .field("output_stall_timeout", &self.output_stall_timeout)
            .field("proxy_protocol", &self.proxy_protocol)
            .field("reuse_port", &self.reuse_port)
            .field("max_connections", &self.max_connections)
            .field("max_per_ip", &self.max_per_ip)
            .field("metrics", &self.metrics.is_some())
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// One open connection, as the server sees it.
struct Connection {
    peer: SocketAddr,
    inner: Arc<Inner>,
    /// The shell's task, once it runs.
    shell: Option<AbortHandle>,
    /// When the connection was accepted.
    connected_at: SystemTime,
    /// Its place in the order of connections whose shell started (see
    /// [`Server::wait_for_client`]), once it did.
    arrival: Option<u64>,
    /// What the program calls the client ([`Server::name_client`]).
    name: Option<Arc<str>>,
}

/// What the server knows of its connections.
#[derive(Default)]
struct Registry {
    connections: Mutex<HashMap<u64, Connection>>,
    next_id: AtomicU64,
    /// The server was told to stop ([`Server::close`], [`Server::shutdown`]).
    closed: AtomicBool,
    /// A connection ended, or the server was closed.
    changed: Notify,
    /// The server was told to stop (waking only those who wait for that, such as TLS
    /// handshakes, not every waiter on each connection's end).
    stopping: Notify,
    /// The order of connections whose shell started.
    next_arrival: AtomicU64,
    /// A connection's shell started, or the server was closed.
    arrived: Notify,
    /// `max_connections` and `max_per_ip`, and the refusals they made.
    limits: limits::Limits,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Connection>> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Returns once the server is told to stop (at once if it was).
    async fn stopped(&self) {
        let stopping = self.stopping.notified();
        tokio::pin!(stopping);
        stopping.as_mut().enable();
        if !self.is_closed() {
            stopping.await;
        }
    }
}

/// A running server: its addresses and connections, and how to stop it.
///
/// Dropping the handle does not stop the server (as with asyncio's): call
/// [`Server::close`] or [`Server::shutdown`].
///
/// ```no_run
/// use std::time::Duration;
/// use telnetlib3::{create_server, ServerConfig};
///
/// # async fn demo() -> Result<(), telnetlib3::Error> {
/// let mut config = ServerConfig::default();
/// config.port = 0; // any free port
/// let server = create_server(config, |_reader, mut writer| async move {
///     let _ = writer.write(b"Hello.\r\n").await;
/// })
/// .await?;
/// println!("listening on {:?}", server.local_addrs());
/// tokio::signal::ctrl_c().await?;
/// // Stop accepting, give the open connections 5 s to end, then close them.
/// let left = server.shutdown(Duration::from_secs(5)).await;
/// println!("{left} connections closed at the deadline");
/// # Ok(()) }
/// ```
pub struct Server {
    /// What each connection is served with ([`Server::serve_stream`] too).
    config: Arc<ServerConfig>,
    addrs: Vec<SocketAddr>,
    registry: Arc<Registry>,
    acceptors: Vec<JoinHandle<()>>,
    /// The arrival [`Server::wait_for_client`] returns next (or the first after it).
    next_client: AtomicU64,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.addrs)
            .field("connections", &self.connection_count())
            .finish()
    }
}

/// Listen as `config` says and run `shell(reader, writer)` on each connection once its
/// opening negotiation settles, or `connect_maxwait` passes, or the client's data fills
/// the reader's buffer (the client has moved on; answers behind that data cannot be read
/// until the shell reads it). Each shell runs in a task
/// of its own; the connection closes when the shell returns (or panics: the panic is
/// logged), or after `config.timeout` without input (with `\r\nTimeout.\r\n`). A
/// connection that fails costs only itself.
///
/// ```no_run
/// # async fn demo() -> Result<(), telnetlib3::Error> {
/// let mut config = telnetlib3::ServerConfig::default();
/// config.port = 6023;
/// let server = telnetlib3::create_server(config, |mut reader, mut writer| async move {
///     let _ = writer.write(b"Would you like to play a game? ").await;
///     if let Ok(answer) = reader.read(1).await {
///         let _ = writer.write(&answer).await;
///     }
/// })
/// .await?;
/// server.wait_closed().await;
/// # Ok(())
/// # }
/// ```
///
/// A shell chosen at run time can be boxed:
///
/// ```no_run
/// use std::future::Future;
/// use std::pin::Pin;
/// use telnetlib3::{TelnetReader, TelnetWriter};
///
/// type Shell = Box<
///     dyn Fn(TelnetReader, TelnetWriter) -> Pin<Box<dyn Future<Output = ()> + Send>>
///         + Send
///         + Sync,
/// >;
///
/// fn echo() -> Shell {
///     Box::new(|mut reader, mut writer| {
///         Box::pin(async move {
///             while let Ok(line) = reader.read_line().await {
///                 if line.is_empty() || writer.write(&line).await.is_err() {
///                     break;
///                 }
///             }
///         })
///     })
/// }
///
/// # async fn demo() -> Result<(), telnetlib3::Error> {
/// let server = telnetlib3::create_server(telnetlib3::ServerConfig::default(), echo()).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::Listen`] (and resolution errors) when the address cannot be listened on.
pub async fn create_server<F, Fut>(config: ServerConfig, shell: F) -> Result<Server, Error>
where
    F: Fn(TelnetReader, TelnetWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    #[cfg(feature = "tls")]
    if config.tls_auto.is_some() && config.tls.is_none() {
        return Err(crate::tls::TlsError::AutoWithoutTls.into());
    }
    let listeners = listen_with(&config.host, config.port, config.reuse_port).await?;
    serve_listeners(listeners, config, shell)
}

/// [`create_server`] on sockets already listening (`config.host`, `config.port` and
/// `config.reuse_port` aside): those a service manager passes (systemd's socket
/// activation, `LISTEN_FDS`), or a parent process, or a program's own. The sockets are
/// made non-blocking.
///
/// ```no_run
/// # async fn demo() -> Result<(), telnetlib3::Error> {
/// let listener = std::net::TcpListener::bind("127.0.0.1:6023")?;
/// let server = telnetlib3::create_server_with_listeners(
///     vec![listener],
///     telnetlib3::ServerConfig::default(),
///     |_reader, mut writer| async move {
///         let _ = writer.write(b"Hello.\r\n").await;
///     },
/// )?;
/// server.wait_closed().await;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`Error::Io`] when a socket cannot be made non-blocking or registered with the
/// runtime; [`Error::Tls`] for a configuration `create_server` refuses too.
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn create_server_with_listeners<F, Fut>(
    listeners: Vec<std::net::TcpListener>,
    config: ServerConfig,
    shell: F,
) -> Result<Server, Error>
where
    F: Fn(TelnetReader, TelnetWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    #[cfg(feature = "tls")]
    if config.tls_auto.is_some() && config.tls.is_none() {
        return Err(crate::tls::TlsError::AutoWithoutTls.into());
    }
    let listeners = listeners
        .into_iter()
        .map(|listener| {
            listener.set_nonblocking(true)?;
            TcpListener::from_std(listener)
        })
        .collect::<Result<Vec<_>, _>>()?;
    serve_listeners(listeners, config, shell)
}

/// Accept on each listener, and return the running server.
fn serve_listeners<F, Fut>(
    listeners: Vec<TcpListener>,
    config: ServerConfig,
    shell: F,
) -> Result<Server, Error>
where
    F: Fn(TelnetReader, TelnetWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let addrs = listeners
        .iter()
        .filter_map(|listener| listener.local_addr().ok())
        .collect();
    let registry = Arc::new(Registry {
        limits: limits::Limits::new(config.max_connections, config.max_per_ip),
        ..Registry::default()
    });
    let shell = Arc::new(shell);
    let config = Arc::new(config);
    let acceptors = listeners
        .into_iter()
        .map(|listener| {
            tokio::spawn(accept(
                listener,
                Arc::clone(&config),
                Arc::clone(&registry),
                Arc::clone(&shell),
            ))
        })
        .collect();
    Ok(Server {
        config,
        addrs,
        registry,
        acceptors,
        next_client: AtomicU64::new(0),
    })
}

/// [`create_server`] for shells that work in text: each shell gets a [`TextReader`] and
/// a [`TextWriter`] in the encoding the client negotiated, as telnetlib3's server chooses
/// it ([`negotiated_encoding`]: US-ASCII until BINARY both ways unless `force_binary`, then
/// LANG, CHARSET, or `config.encoding`).
///
/// ```no_run
/// use telnetlib3::{create_text_server, ServerConfig};
///
/// # async fn demo() -> Result<(), telnetlib3::Error> {
/// let server = create_text_server(ServerConfig::default(), |mut reader, mut writer| async move {
///     let _ = writer.write_line(&format!("Encoding: {}", reader.encoding().name())).await;
///     while let Ok(line) = reader.read_line().await {
///         if line.is_empty() || writer.write(&line.to_uppercase()).await.is_err() {
///             break;
///         }
///     }
/// })
/// .await?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`create_server`].
pub async fn create_text_server<F, Fut>(config: ServerConfig, shell: F) -> Result<Server, Error>
where
    F: Fn(TextReader, TextWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let default = config.encoding.clone();
    let errors = config.encoding_errors;
    let force_binary = config.plan.force_binary;
    let shell = Arc::new(shell);
    create_server(config, move |reader, writer| {
        let shell = Arc::clone(&shell);
        let chosen = writer.with_session(|s| negotiated_encoding(s, &default, force_binary));
        async move {
            let reader = TextReader::new(reader, chosen.clone(), errors);
            match TextWriter::new(writer, &chosen, errors) {
                Ok(writer) => shell(reader, writer).await,
                Err(error) => warn!("no text shell: {error}"),
            }
        }
    })
    .await
}

async fn accept<F, Fut>(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    registry: Arc<Registry>,
    shell: Arc<F>,
) where
    F: Fn(TelnetReader, TelnetWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        match listener.accept().await {
            Ok((mut socket, mut peer)) => {
                if registry.is_closed() {
                    return;
                }
                let _ = socket.set_nodelay(true);
                crate::net::keep_urgent_inline(&socket);
                let (config, registry, shell) = (
                    Arc::clone(&config),
                    Arc::clone(&registry),
                    Arc::clone(&shell),
                );
                tokio::spawn(async move {
                    if let Some(proxy) = &config.proxy_protocol {
                        // Not registered yet: a header still awaited is abandoned as soon
                        // as the server is told to stop (close, shutdown, drain).
                        let header = tokio::select! {
                            header = proxy::accept(&mut socket, peer, proxy) => header,
                            () = registry.stopped() => {
                                debug!(proxy = %peer, "PROXY header abandoned: the server is stopping");
                                return;
                            }
                        };
                        match header {
                            Ok(client) => {
                                debug!(%client, proxy = %peer, "PROXY header");
                                peer = client;
                            }
                            Err(error) => {
                                if let Some(metrics) = &config.metrics {
                                    metrics.refused(&match error {
                                        ProxyHeaderError::Untrusted => {
                                            RefusalReason::UntrustedProxy
                                        }
                                        _ => RefusalReason::ProxyHeader,
                                    });
                                }
                                warn!(
                                    "Connection from <Peer {} {}> refused: {error}",
                                    peer.ip(),
                                    peer.port()
                                );
                                return;
                            }
                        }
                    }
                    info!("Connection from <Peer {} {}>", peer.ip(), peer.port());
                    // Counted by the client's address (a PROXY header's), and held until
                    // the connection ends, TLS handshake included.
                    let admitted = match registry.limits.admit(peer.ip()) {
                        Ok(admitted) => admitted,
                        Err(refusal) => {
                            if let Some(metrics) = &config.metrics {
                                metrics.refused(&refusal.reason());
                            }
                            limits::refuse(socket, peer, refusal, speaks_first_in_plain(&config));
                            return;
                        }
                    };
                    serve_accepted(socket, peer, &config, &registry, &*shell).await;
                    // Uncounted before the log line says the connection is gone.
                    drop(admitted);
                    info!("Connection closed for <Peer {} {}>", peer.ip(), peer.port());
                });
            }
            Err(error) => {
                // Out of file descriptors and the like: wait rather than spin.
                warn!("cannot accept a connection: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Whether a client of this server may be sent plain text before anything else (not
/// when every connection must begin with a TLS handshake).
fn speaks_first_in_plain(config: &ServerConfig) -> bool {
    #[cfg(feature = "tls")]
    if config.tls.is_some() && config.tls_auto.is_none() {
        return false;
    }
    let _ = config;
    true
}

/// Removes a connection from the registry however its task ends.
struct Registered<'a> {
    registry: &'a Registry,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
        self.registry.changed.notify_waiters();
    }
}

/// Serve an accepted connection: plain Telnet, or TLS first as the config says.
async fn serve_accepted<F, Fut>(
    socket: tokio::net::TcpStream,
    peer: SocketAddr,
    config: &ServerConfig,
    registry: &Registry,
    shell: &F,
) where
    F: Fn(TelnetReader, TelnetWriter) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let accepted = tokio::time::Instant::now();
    let _open = config
        .metrics
        .as_deref()
        .map(ServerMetrics::connection_opened);
    #[cfg(feature = "tls")]
    if let Some(tls) = &config.tls {
        // Not registered yet: the wait for a ClientHello and the handshake end as soon
        // as the server is told to stop (close, shutdown, drain), dropping the socket.
        let begins_with_tls = match config.tls_auto {
            None => true,
            Some(wait) => {
                let sniffed = tokio::select! {
                    sniffed = crate::tls::sniff(&socket, wait) => sniffed,
                    () = registry.stopped() => None,
                };
                match sniffed {
                    Some(begins_with_tls) => begins_with_tls,
                    None => return,
                }
            }
        };
        if begins_with_tls {
            let timeout = config.tls_handshake_timeout;
            let handshake = tokio::select! {
                handshake = crate::tls::accept(socket, &peer, tls, timeout) => handshake,
                () = registry.stopped() => {
                    debug!(%peer, "TLS handshake abandoned: the server is stopping");
                    None
                }
            };
            let Some((stream, info)) = handshake else {
                if let Some(metrics) = &config.metrics {
                    metrics.refused(&RefusalReason::TlsHandshake);
                }
                return;
            };
            if let Some(metrics) = &config.metrics {
                metrics.tls_connection();
            }
            let name = format!("{} {}", peer.ip(), peer.port());
            let inner = start_tls(stream, name, info, config);
            return serve(inner, peer, accepted, config, registry, shell).await;
        }
    }
    serve(
        start_tcp(socket, peer, config),
        peer,
        accepted,
        config,
        registry,
        shell,
    )
    .await;
}

/// Register a started connection and run it.
async fn serve<F, Fut>(
    inner: Arc<Inner>,
    peer: SocketAddr,
    accepted: tokio::time::Instant,
    config: &ServerConfig,
    registry: &Registry,
    shell: F,
) where
    F: FnOnce(TelnetReader, TelnetWriter) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let id = registry.next_id.fetch_add(1, Ordering::Relaxed);
    registry.lock().insert(
        id,
        Connection {
            peer,
            inner: Arc::clone(&inner),
            shell: None,
            connected_at: SystemTime::now(),
            arrival: None,
            name: None,
        },
    );
    let _registered = Registered { registry, id };
    if registry.is_closed() {
        // `Server::close` ran between the accept and the registration.
        stream::close_now(&inner);
    }
    run(inner, &peer, accepted, config, shell, |task| {
        if let Some(connection) = registry.lock().get_mut(&id) {
            connection.shell = Some(task);
            connection.arrival = Some(registry.next_arrival.fetch_add(1, Ordering::Relaxed));
        }
        registry.arrived.notify_waiters();
    })
    .await;
}

/// Run the server side of a Telnet session over `stream`, any byte stream already
/// connected to a client (a TLS stream, a Unix socket, a WebSocket adapter, one end of
/// [`tokio::io::duplex`]), exactly as [`create_server`] runs each TCP connection, from
/// the same [`ServerConfig`] (its `host` and `port` aside): telnetlib3's opening
/// negotiation, then `shell(reader, writer)` in a task of its own once it settles or
/// `connect_maxwait` passes, the idle `timeout`, and the close. Returns when the
/// connection has ended. `peer` names the client in logs and in [`TelnetWriter::peer`].
///
/// The stream carries no urgent data, so Synch (RFC 854) is sent and received as plain
/// `IAC DM`. A program that accepts its own connections calls this from a task per
/// connection:
///
/// ```no_run
/// use std::sync::Arc;
/// use telnetlib3::{serve_stream, ServerConfig};
/// use tokio::net::UnixListener;
///
/// # async fn demo() -> std::io::Result<()> {
/// let listener = UnixListener::bind("/tmp/telnet.sock")?;
/// let config = Arc::new(ServerConfig::default());
/// loop {
///     let (stream, _) = listener.accept().await?;
///     let config = Arc::clone(&config);
///     tokio::spawn(async move {
///         serve_stream(stream, "unix", &config, |mut reader, mut writer| async move {
///             while let Ok(line) = reader.read_line().await {
///                 if line.is_empty() || writer.write(&line).await.is_err() {
///                     break;
///                 }
///             }
///         })
///         .await;
///     });
/// }
/// # }
/// ```
///
/// A text shell wraps the reader and writer itself: [`TextReader::new`] and
/// [`TextWriter::new`] in the encoding [`negotiated_encoding`] chooses.
///
/// The connection belongs to no [`Server`]: [`Server::close`], [`Server::drain`],
/// [`Server::clients`] and the connection limits do not see it. It ends when its shell
/// returns, its peer leaves, or its idle timeout passes. To make it one of a server's
/// connections, reached by all of those, serve it with [`Server::serve_stream`].
pub async fn serve_stream<S, F, Fut>(stream: S, peer: &str, config: &ServerConfig, shell: F)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
    F: FnOnce(TelnetReader, TelnetWriter) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let accepted = tokio::time::Instant::now();
    let _open = config
        .metrics
        .as_deref()
        .map(ServerMetrics::connection_opened);
    let inner = start(AnyStream::new(stream), peer.to_owned(), config);
    run(inner, &peer, accepted, config, shell, |_| {}).await;
}

/// A connection's life after its driver started: the opening negotiation, the shell
/// (its task's handle given to `started`), the idle timeout, the close.
async fn run<F, Fut>(
    inner: Arc<Inner>,
    peer: &(impl std::fmt::Display + Sync),
    accepted: tokio::time::Instant,
    config: &ServerConfig,
    shell: F,
    started: impl FnOnce(AbortHandle),
) where
    F: FnOnce(TelnetReader, TelnetWriter) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    // The server's own writer, to close the connection whatever the shell does.
    let mut writer = TelnetWriter::new(Arc::clone(&inner));
    let deadline = tokio::time::Instant::now() + config.connect_maxwait;
    let settled =
        stream::wait_for(&inner, deadline, |session, _| session.negotiation_settled()).await;
    if !settled {
        debug!(%peer, "negotiation not settled after {:?}", config.connect_maxwait);
        stream::with_session(&inner, Session::handle_negotiation_timeout);
    }
    if stream::is_closing(&inner) || stream::input_ended(&inner) {
        // Closed by the server, or by the peer before its shell could start (telnetlib3
        // runs no shell then either).
        debug!(%peer, "closed during the opening negotiation");
        writer.close().await;
        return;
    }

    // Before the shell starts: it may change the timeout at once
    // (TelnetWriter::set_idle_timeout).
    stream::idle::set(&inner, config.timeout, false);
    if let Some(record) = &config.record {
        start_recording(&inner, record, config).await;
    }
    if let Some(metrics) = &config.metrics {
        metrics.shell_started(accepted.elapsed());
    }
    let reader = TelnetReader::new(Arc::clone(&inner));
    let mut task = tokio::spawn(shell(reader, TelnetWriter::new(Arc::clone(&inner))));
    started(task.abort_handle());
    tokio::select! {
        ended = &mut task => match ended {
            Err(error) if error.is_panic() => {
                warn!(%peer, "the shell panicked");
                if let Some(metrics) = &config.metrics {
                    metrics.error("shell_panic");
                }
            }
            _ => {}
        },
        idle = stream::idle::expired(&inner) => {
            task.abort();
            let _ = task.await;
            debug!(%peer, "idle for {idle:?}");
            let _ = tokio::time::timeout(config.close_timeout, writer.write(b"\r\nTimeout.\r\n"))
                .await;
        }
    }
    if let Some(metrics) = &config.metrics {
        metrics.shell_ended();
    }
    writer.close().await;
    stream::finish_recording(&inner).await;
    if let Some(metrics) = &config.metrics {
        let stats = stream::stats(&inner);
        if stats.compressed_out > 0 {
            metrics.compressed("out");
        }
        if stats.compressed_in > 0 {
            metrics.compressed("in");
        }
    }
}

/// Open the session's recording file in `record.dir` and start recording: the header
/// has the window size and terminal type negotiated so far, and the data is decoded in
/// the encoding the session speaks. A file that cannot be made is logged, and the
/// session runs unrecorded.
async fn start_recording(inner: &Inner, record: &RecordConfig, config: &ServerConfig) {
    let now = std::time::SystemTime::now();
    let (header, encoding) = stream::with_session(inner, |session| {
        let size = session.peer_window_size();
        let header = record::Header {
            width: size.map_or(record::DEFAULT_WIDTH, |size| size.cols),
            height: size.map_or(record::DEFAULT_HEIGHT, |size| size.rows),
            timestamp: record::unix_now(),
            term: session.terminal_type().map(str::to_owned),
        };
        let encoding = negotiated_encoding(session, &config.encoding, config.plan.force_binary);
        (header, encoding)
    });
    let path = record.dir.join(record::file_name(now, inner.peer()));
    let new = record::NewRecording {
        path,
        header,
        encoding,
        max_bytes: record.max_bytes,
        input: record.input,
        metrics: config.metrics.clone(),
    };
    stream::start_recording(inner, new).await;
}

/// Start a TCP connection's session and driver. A function of its own, not inline in
/// `serve`: a value moved out in an async fn keeps its slot in the future until the end of
/// its scope, and the session (over a kilobyte) would then sit in every connection's task
/// for its whole life.
fn start_tcp(socket: tokio::net::TcpStream, peer: SocketAddr, config: &ServerConfig) -> Arc<Inner> {
    let mut session = server_session(config, false);
    // The opening request goes out now rather than when the driver task first runs: the
    // client answers sooner (what the socket does not take, the driver writes).
    let mut opening = Vec::new();
    let _ = session.poll_transmit(&mut opening);
    let sent = socket.try_write(&opening).unwrap_or(0);
    opening.drain(..sent);
    if let Some(metrics) = &config.metrics {
        metrics.sent(sent);
    }
    let mut settings = settings(format!("{} {}", peer.ip(), peer.port()), config);
    settings.refuse_tls_hello = true;
    stream::spawn_after(socket, session, settings, opening, sent)
}

/// Start a TLS connection's session and driver. Not inline, for the reason given at
/// [`start_tcp`].
#[cfg(feature = "tls")]
fn start_tls(
    stream: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    peer: String,
    info: crate::tls::TlsInfo,
    config: &ServerConfig,
) -> Arc<Inner> {
    let mut settings = settings(peer, config);
    settings.tls = Some(info);
    stream::spawn_with(
        AnyStream::new(stream),
        server_session(config, true),
        settings,
    )
}

/// Start a connection's session and driver on any transport (the driver sends the
/// opening request). Not inline, for the reason given at [`start_tcp`].
fn start<T: Transport>(stream: T, peer: String, config: &ServerConfig) -> Arc<Inner> {
    stream::spawn_with(
        stream,
        server_session(config, false),
        settings(peer, config),
    )
}

/// A server's session with telnetlib3's opening negotiation queued; `tls`: over TLS,
/// where MCCP is refused.
fn server_session(config: &ServerConfig, tls: bool) -> Session {
    let mut session = Session::new(Role::Server, Arc::clone(&config.protocol));
    // Per session, so that the configuration the connections share is not copied.
    session.set_compression(if tls { Some(false) } else { config.compression });
    session.start_server_negotiation(config.plan.clone());
    session
}

fn settings(peer: String, config: &ServerConfig) -> Settings {
    // The metrics count options and protocol errors from the events, before the
    // config's own hook sees them.
    let hook = match (&config.metrics, &config.on_event) {
        (None, hook) => hook.clone(),
        (Some(metrics), hook) => {
            let (metrics, hook) = (Arc::clone(metrics), hook.clone());
            let counting: EventHook = Arc::new(move |event| {
                metrics.event(event);
                if let Some(hook) = &hook {
                    hook(event);
                }
            });
            Some(counting)
        }
    };
    Settings {
        limit: config.limit,
        hook,
        peer,
        defaults: config.terminal.clone(),
        close_timeout: config.close_timeout,
        output_stall_timeout: config.output_stall_timeout,
        compression_idle_release: config.compression_idle_release,
        tls: None,
        refuse_tls_hello: false,
        metrics: config.metrics.clone(),
    }
}

impl Server {
    /// The addresses the server listens on.
    #[must_use]
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// How many connections are open (negotiating, or running their shell, or closing).
    #[must_use]
    pub fn connection_count(&self) -> usize {
        self.registry.lock().len()
    }

    /// The peers of the open connections.
    #[must_use]
    pub fn connections(&self) -> Vec<SocketAddr> {
        self.registry
            .lock()
            .values()
            .map(|connection| connection.peer)
            .collect()
    }

    /// Each open connection's peer and what it holds and has moved.
    #[must_use]
    pub fn connection_stats(&self) -> Vec<(SocketAddr, ConnectionStats)> {
        self.registry
            .lock()
            .values()
            .map(|connection| (connection.peer, stream::stats(&connection.inner)))
            .collect()
    }

    /// Stop accepting.
    fn stop_accepting(&self) {
        self.registry.closed.store(true, Ordering::Release);
        for acceptor in &self.acceptors {
            acceptor.abort();
        }
        self.registry.changed.notify_waiters();
        self.registry.stopping.notify_waiters();
        self.registry.arrived.notify_waiters();
    }

    /// Stop accepting and close every connection now: shells are stopped, what they
    /// queued is written out within the close timeout, and the sockets are closed.
    /// Connections still in their TLS handshake (or waiting for one) are dropped.
    ///
    /// This reaches the connections this server accepted and those given to
    /// [`Server::serve_stream`]; a connection run by the free function [`serve_stream`]
    /// belongs to no server.
    pub fn close(&self) {
        self.stop_accepting();
        for connection in self.registry.lock().values() {
            stream::close_now(&connection.inner);
            if let Some(shell) = &connection.shell {
                shell.abort();
            }
        }
    }

    /// Stop accepting, let the shells finish until `grace` has passed, then
    /// [`close`](Server::close) the connections that remain. Returns how many had to be
    /// closed.
    ///
    /// [`Server::drain`] without a notice.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.drain(b"", grace).await.closed
    }

    /// Wait until the server has stopped accepting ([`Server::close`] or
    /// [`Server::shutdown`]; until then, forever) and every connection has ended.
    pub async fn wait_closed(&self) {
        loop {
            let changed = self.registry.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.registry.is_closed() && self.connection_count() == 0 {
                return;
            }
            changed.await;
        }
    }
}
