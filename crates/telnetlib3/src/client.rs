//! `open_connection` and `connect_stream`: connect to a Telnet server (over TCP, or any
//! byte stream) and answer its negotiation.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use telnetlib3_proto::options::mccp;
use telnetlib3_proto::options::naws::WindowSize;
use telnetlib3_proto::options::tspeed::TerminalSpeed;
use telnetlib3_proto::{Policy, Role, Session, SessionConfig, TelnetOption};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::net::connect;
use crate::stream::Transport;
use crate::stream::{
    self, AnyStream, EventHook, Settings, TelnetReader, TelnetWriter, TerminalDefaults, TlsDetails,
    DEFAULT_CLOSE_TIMEOUT, DEFAULT_LIMIT, DEFAULT_OUTPUT_STALL_TIMEOUT,
};
use crate::Error;

/// What a client reports and how long it waits, after telnetlib3's `open_connection`
/// keywords and defaults.
///
/// The struct is `#[non_exhaustive]`: start from the default and set fields.
///
/// ```
/// use std::time::Duration;
/// use telnetlib3::ClientConfig;
///
/// let mut config = ClientConfig::default();
/// config.term = "xterm-256color".into();
/// (config.cols, config.rows) = (132, 43);
/// config.colorterm = std::env::var("COLORTERM").ok(); // the library reads no environment
/// config.connect_maxwait = Duration::from_secs(1);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The terminal type sent with TTYPE and as TERM (telnetlib3: `"unknown"`).
    pub term: String,
    /// The window width sent with NAWS and as COLUMNS (80).
    pub cols: u16,
    /// The window height sent with NAWS and as LINES (25).
    pub rows: u16,
    /// The speeds sent with TSPEED (38400, 38400).
    pub tspeed: (u32, u32),
    /// The X display sent with XDISPLOC (empty).
    pub xdisploc: String,
    /// The value of LANG sent with NEW-ENVIRON (telnetlib3: `en_US.<encoding>`).
    pub lang: String,
    /// The value of COLORTERM sent with NEW-ENVIRON (`None`: sent empty, as telnetlib3
    /// does when its environment has none). The library reads no process environment: a
    /// terminal client passes its own `COLORTERM` here.
    pub colorterm: Option<String>,
    /// The variables NEW-ENVIRON may send (telnetlib3: TERM, LANG, COLUMNS, LINES,
    /// COLORTERM); no other is ever sent.
    pub send_environ: Vec<String>,
    /// More variables NEW-ENVIRON may send, name then value, sent only when the name is
    /// in [`send_environ`](ClientConfig::send_environ) (telnetlib3's client takes USER,
    /// HOME and SHELL from its environment; the library reads none, so a client passes
    /// them here). Empty by default.
    pub extra_environ: Vec<(String, String)>,
    /// The least time to wait for the server's negotiation before returning (0 s).
    pub connect_minwait: Duration,
    /// The most time to wait for the server's negotiation before returning (3 s).
    pub connect_maxwait: Duration,
    /// How long connecting may take (name resolution included).
    pub connect_timeout: Duration,
    /// The most unread input kept.
    pub limit: usize,
    /// Called for every protocol event.
    pub on_event: Option<EventHook>,
    /// How long closing may take ([`DEFAULT_CLOSE_TIMEOUT`], 5 s): to write out what is
    /// queued, then, separately, for the server to close its side.
    pub close_timeout: Duration,
    /// How long the unwritten output may stay at [`OUTPUT_PAUSE`](crate::OUTPUT_PAUSE) or
    /// more before we disconnect ([`DEFAULT_OUTPUT_STALL_TIMEOUT`], 30 s): a server that
    /// asks for replies and does not read them.
    pub output_stall_timeout: Duration,
    /// Which options we agree to (telnetlib3's client choices by default).
    pub policy: Policy,
    /// Options we offer at once with WILL (telnetlib3's `always_will`); they are added to
    /// the policy.
    pub always_will: Vec<TelnetOption>,
    /// Options we ask for at once with DO (telnetlib3's `always_do`); they are added to the
    /// policy.
    pub always_do: Vec<TelnetOption>,
    /// What we answer to the server's `IAC AYT` (RFC 854), sent as data. `None` by
    /// default: BSD telnet, the reference client, answers no AYT (a user asks a server
    /// whether it is there, not the other way round), and unsolicited text could reach a
    /// server's shell as typed input.
    pub ayt_answer: Option<Vec<u8>>,
    /// The GMCP modules asked for in `Core.Supports.Set` once the server's GMCP is agreed
    /// (telnetlib3's `gmcp_modules`; its defaults,
    /// [`DEFAULT_MODULES`](telnetlib3_proto::options::gmcp::DEFAULT_MODULES)), sent
    /// lower-cased. Empty: none is sent.
    pub gmcp_modules: Vec<String>,
    /// MCCP2 and MCCP3 (telnetlib3's `compression`): `None` (and, as in telnetlib3,
    /// `Some(true)`: a client waits for the server's offer) accepts the server's
    /// `WILL MCCP2` (its output then arrives compressed) and `WILL MCCP3` (ours then goes
    /// compressed); `Some(false)` refuses both. Refused whatever this says when
    /// [`tls`](ClientConfig::tls) is set. A corrupt stream from the server: we send
    /// `DONT MCCP2`, drop the rest of that read and take what follows as plain Telnet,
    /// as the MCCP2 specification suggests.
    pub compression: Option<bool>,
    /// Finish our MCCP3 stream once our output has been idle this long, freeing its
    /// compressor, and start a new one (a new `IAC SB MCCP3 IAC SE`) with the next
    /// output, as [`ServerConfig::compression_idle_release`](crate::ServerConfig::compression_idle_release)
    /// does for a server's MCCP2. `None` (the default): the stream runs until MCCP3
    /// ends. Not on by default as on a server: a client holds one compressor, not
    /// thousands, and telnetlib3 5.0.1's server starts decompressing only with the read
    /// after an `SB MCCP3` (its `data_received`), so a restart whose first compressed
    /// bytes share a read with the `SB` would be taken as plain Telnet; our server reads
    /// it.
    pub compression_idle_release: Option<Duration>,
    /// TELNETS: [`open_connection`] begins with a TLS handshake, verifying the server as
    /// this says (telnetlib3's `ssl` and `server_hostname`). The handshake is part of
    /// connecting and bounded by `connect_timeout`.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsClient>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            term: "unknown".to_string(),
            cols: 80,
            rows: 25,
            tspeed: (38400, 38400),
            xdisploc: String::new(),
            lang: "en_US.utf8".to_string(),
            colorterm: None,
            send_environ: ["TERM", "LANG", "COLUMNS", "LINES", "COLORTERM"]
                .map(String::from)
                .to_vec(),
            extra_environ: Vec::new(),
            connect_minwait: Duration::ZERO,
            connect_maxwait: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(10),
            limit: DEFAULT_LIMIT,
            on_event: None,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            output_stall_timeout: DEFAULT_OUTPUT_STALL_TIMEOUT,
            compression: None,
            compression_idle_release: None,
            #[cfg(feature = "tls")]
            tls: None,
            policy: Policy::client(),
            always_will: Vec::new(),
            always_do: Vec::new(),
            ayt_answer: None,
            gmcp_modules: telnetlib3_proto::options::gmcp::DEFAULT_MODULES
                .iter()
                .map(|&module| module.to_owned())
                .collect(),
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("term", &self.term)
            .field("cols", &self.cols)
            .field("rows", &self.rows)
            .field("connect_minwait", &self.connect_minwait)
            .field("connect_maxwait", &self.connect_maxwait)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// The protocol configuration that answers the server from these settings.
    #[must_use]
    pub fn protocol(&self) -> SessionConfig {
        let mut policy = self.policy;
        for &option in &self.always_will {
            policy.set_local(option, true);
        }
        for &option in &self.always_do {
            policy.set_remote(option, true);
        }
        let mut config = SessionConfig::with_policy(policy);
        // Compressing before encrypting leaks through lengths (CRIME, BREACH).
        #[cfg(feature = "tls")]
        let tls = self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        let tls = false;
        config.mccp = mccp::Config::new(if tls { Some(false) } else { self.compression });
        config.ayt_answer = self.ayt_answer.clone().map(Into::into);
        config.ttype.types = vec![self.term.clone()];
        config.naws.size = WindowSize {
            cols: self.cols,
            rows: self.rows,
        };
        config.tspeed.speed = TerminalSpeed {
            transmit: self.tspeed.0,
            receive: self.tspeed.1,
        };
        config.xdisploc.display.clone_from(&self.xdisploc);
        config.gmcp.modules.clone_from(&self.gmcp_modules);
        config.environ.send_environ = self
            .send_environ
            .iter()
            .map(|n| n.as_bytes().to_vec())
            .collect();
        config.environ.values = [
            ("TERM", self.term.as_str()),
            ("LANG", self.lang.as_str()),
            ("COLUMNS", &self.cols.to_string()),
            ("LINES", &self.rows.to_string()),
            ("COLORTERM", self.colorterm.as_deref().unwrap_or_default()),
        ]
        .iter()
        .map(|(name, value)| (name.as_bytes().to_vec(), value.as_bytes().to_vec()))
        .chain(
            self.extra_environ
                .iter()
                .map(|(name, value)| (name.as_bytes().to_vec(), value.as_bytes().to_vec())),
        )
        .collect();
        config
    }
}

/// Connect to `host:port` and return the reader and writer once the server's opening
/// negotiation is answered, as telnetlib3's client decides: at once when TTYPE and
/// NEW-ENVIRON (or CHARSET both ways) are agreed, else after `connect_minwait`, and at the
/// latest after `connect_maxwait`. The connection keeps answering negotiation afterwards.
///
/// This is [`connect_stream`] over a TCP connection (with `TCP_NODELAY`, and TCP urgent
/// data for Synch, RFC 854).
///
/// ```no_run
/// use telnetlib3::{open_connection, ClientConfig};
///
/// # async fn demo() -> Result<(), telnetlib3::Error> {
/// let mut config = ClientConfig::default();
/// config.term = "xterm-256color".into();
/// let (mut reader, mut writer) = open_connection("localhost", 6023, config).await?;
/// writer.write(b"help\r\n").await?;
/// let line = reader.read_line().await?;
/// println!("{}", String::from_utf8_lossy(&line));
/// writer.close().await;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// Resolution and connection errors, as [`crate::net::connect`].
pub async fn open_connection(
    host: &str,
    port: u16,
    config: ClientConfig,
) -> Result<(TelnetReader, TelnetWriter), Error> {
    let started = tokio::time::Instant::now();
    let socket = connect(host, port, config.connect_timeout).await?;
    let _ = socket.set_nodelay(true);
    let peer = socket
        .peer_addr()
        .map(|a| format!("{} {}", a.ip(), a.port()))
        .unwrap_or_default();
    #[cfg(feature = "tls")]
    if let Some(tls) = &config.tls {
        let addr = format!("{host}:{port}");
        let handshake = tls.connect(host, socket);
        let stream =
            match tokio::time::timeout_at(started + config.connect_timeout, handshake).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(source)) => return Err(Error::TlsHandshake { addr, source }),
                Err(_) => {
                    let source = std::io::Error::from(std::io::ErrorKind::TimedOut);
                    return Err(Error::TlsHandshake { addr, source });
                }
            };
        let info = crate::tls::TlsInfo::of(stream.get_ref().1, None);
        tracing::debug!(%peer, "TLS handshake: {info}");
        return Ok(open_on(AnyStream::new(stream), peer, &config, Some(info)).await);
    }
    let _ = started;
    Ok(open_on(socket, peer, &config, None).await)
}

/// Run the client side of a Telnet session over `stream`, any byte stream already
/// connected to a server (a TLS stream, a Unix socket, a WebSocket adapter, one end of
/// [`tokio::io::duplex`]), and return the reader and writer once the server's opening
/// negotiation is answered, exactly as [`open_connection`] does over TCP, from the same
/// [`ClientConfig`] (its `connect_timeout` aside: the stream is connected already).
/// `peer` names the server in logs and in [`TelnetWriter::peer`].
///
/// The stream carries no urgent data, so Synch (RFC 854) is sent and received as plain
/// `IAC DM`. A task is spawned on the current tokio runtime to drive the connection.
///
/// ```
/// use telnetlib3::{connect_stream, serve_stream, ClientConfig, ServerConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (client_end, server_end) = tokio::io::duplex(64 * 1024);
/// tokio::spawn(async move {
///     let config = ServerConfig::default();
///     serve_stream(server_end, "client", &config, |_reader, mut writer| async move {
///         let _ = writer.write(b"hello\r\n").await;
///     })
///     .await;
/// });
/// let mut client = ClientConfig::default();
/// client.term = "xterm".into();
/// let (mut reader, _writer) = connect_stream(client_end, "server", &client).await;
/// assert_eq!(reader.read_line().await.unwrap(), b"hello\r\n");
/// # }
/// ```
pub async fn connect_stream<S>(
    stream: S,
    peer: &str,
    config: &ClientConfig,
) -> (TelnetReader, TelnetWriter)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    open_on(AnyStream::new(stream), peer.to_owned(), config, None).await
}

/// Start the client's session and driver on `stream`, and wait for the opening
/// negotiation as telnetlib3's client does.
async fn open_on<T: Transport>(
    stream: T,
    peer: String,
    config: &ClientConfig,
    tls: Option<TlsDetails>,
) -> (TelnetReader, TelnetWriter) {
    let mut session = Session::new(Role::Client, Arc::new(config.protocol()));
    // telnetlib3's client opens with its always_will / always_do lists, nothing else.
    for &option in &config.always_will {
        let _ = session.request_local(option, true);
    }
    for &option in &config.always_do {
        let _ = session.request_remote(option, true);
    }
    let defaults = TerminalDefaults {
        term: config.term.clone(),
        cols: config.cols,
        rows: config.rows,
        never_send_ga: false,
    };
    let inner = stream::spawn_with(
        stream,
        session,
        Settings {
            limit: config.limit,
            hook: config.on_event.clone(),
            peer,
            defaults,
            close_timeout: config.close_timeout,
            output_stall_timeout: config.output_stall_timeout,
            compression_idle_release: config.compression_idle_release,
            tls,
            refuse_tls_hello: false,
            metrics: None,
        },
    );
    let start = tokio::time::Instant::now();
    let minwait = start + config.connect_minwait;
    let settled = stream::wait_for(&inner, minwait, |session, _| {
        !session.negotiation_pending() && session.negotiation_settled()
    })
    .await;
    if !settled {
        let _ = stream::wait_for(&inner, start + config.connect_maxwait, |session, _| {
            !session.negotiation_pending()
        })
        .await;
    }
    (
        TelnetReader::new(Arc::clone(&inner)),
        TelnetWriter::new(inner),
    )
}

/// [`open_connection`], then run `shell(reader, writer)` to its end and close.
///
/// ```no_run
/// use telnetlib3::{open_connection_with_shell, ClientConfig};
///
/// # async fn demo() -> Result<(), telnetlib3::Error> {
/// let config = ClientConfig::default();
/// open_connection_with_shell("localhost", 6023, config, |mut reader, _writer| async move {
///     // Print what the server says until it hangs up.
///     while let Ok(data) = reader.read(4096).await {
///         if data.is_empty() {
///             break;
///         }
///         print!("{}", String::from_utf8_lossy(&data));
///     }
/// })
/// .await?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`open_connection`].
pub async fn open_connection_with_shell<F, Fut>(
    host: &str,
    port: u16,
    config: ClientConfig,
    shell: F,
) -> Result<(), Error>
where
    F: FnOnce(TelnetReader, TelnetWriter) -> Fut,
    Fut: Future<Output = ()>,
{
    let (reader, writer) = open_connection(host, port, config).await?;
    let mut closer = TelnetWriter::new(writer.inner());
    shell(reader, writer).await;
    closer.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colorterm(config: &ClientConfig) -> Vec<u8> {
        let protocol = config.protocol();
        let value = protocol
            .environ
            .values
            .iter()
            .find(|(name, _)| name == b"COLORTERM")
            .map(|(_, value)| value.clone());
        value.expect("COLORTERM is among the values")
    }

    #[test]
    fn colorterm_comes_from_the_config_not_the_environment() {
        let mut config = ClientConfig::default();
        // Whatever this process's environment holds, the default sends it empty.
        assert_eq!(colorterm(&config), b"");
        config.colorterm = Some("truecolor".into());
        assert_eq!(colorterm(&config), b"truecolor");
    }
}
