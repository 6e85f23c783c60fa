//! `telnetlib3-server`'s server: telnetlib3's opening negotiation, then the debug shell on
//! every connection, through the library's [`create_server`], or with `--pty-exec` a
//! program on a pseudo-terminal (Unix), at most `--pty-fork-limit` at once.

use std::sync::Arc;
use std::time::Duration;

use telnetlib3::proto::{ServerPlan, SessionConfig, TelnetOption};
use telnetlib3::{
    create_server, create_server_with_listeners, Error, Server, ServerConfig, TerminalDefaults,
    ROBOT_CHECK_TIMEOUT,
};
use tracing::debug;

use crate::shell::{self, ShellText};
use telnetlib3::text::Encoding;

/// The built-in shells `--shell` names (Rust cannot load `module.fn` at run time: write a
/// new shell with the library's `create_server`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ShellKind {
    /// telnetlib3's debug shell (`tel:sh>`).
    #[default]
    Debug,
    /// Every byte received is sent back.
    Echo,
    /// The seed README's war game.
    Wargame,
    /// telnetlib3's relay shell: a passcode, then the connection is piped to another
    /// Telnet server ([`Options::relay`]).
    Relay,
}

/// The server's flags, as telnetlib3-server's.
#[derive(Clone, Debug)]
pub struct Options {
    /// Which shell runs on each connection (`--shell`).
    pub shell: ShellKind,
    /// The encoding assumed for text once BINARY is agreed, or `None` for bytes only
    /// (`--encoding`, `false` for none); without one the server does not ask for CHARSET.
    pub encoding: Option<Encoding>,
    /// How long the opening negotiation may take (`--connect-maxwait`).
    pub connect_maxwait: Duration,
    /// Idle time before a client is disconnected (`--timeout`); `None` never.
    pub timeout: Option<Duration>,
    /// Keep clients in NVT line mode: no WILL SGA, no WILL ECHO (`--line-mode`).
    pub line_mode: bool,
    /// Treat sessions as 8-bit clean without BINARY both ways (`--force-binary`).
    pub force_binary: bool,
    /// Never send IAC GA after the prompt (`--never-send-ga`).
    pub never_send_ga: bool,
    /// MCCP2/MCCP3: `Some(true)` advertises them, `Some(false)` refuses them, `None`
    /// accepts a client's request (`--compression` / `--no-compression`).
    pub compression: Option<bool>,
    /// How long a connection's compressed output may be idle before its stream ends and
    /// its compressor is freed (`--compression-idle-release`); `None`: never.
    pub compression_idle_release: Option<Duration>,
    /// Terminal types of MUD clients, not sent WILL ECHO (`--mud-clients`).
    pub mud_clients: Vec<String>,
    /// Run this program on a pseudo-terminal for each connection instead of the shell
    /// (`--pty-exec`; Unix only). A path, or a name looked up in PATH.
    pub pty_exec: Option<String>,
    /// The program's arguments (after `--`).
    pub pty_args: Vec<String>,
    /// At most this many connections run their shell or program at once; the others get
    /// telnetlib3's busy message and are closed (`--pty-fork-limit`; 0: no limit).
    pub pty_fork_limit: usize,
    /// TERM for the program when the client reports none (`--default-term`).
    pub default_term: String,
    /// LANG for the program when the client gives none (`--default-lang`).
    pub default_lang: String,
    /// TELNETS (`--ssl-certfile`, `--ssl-keyfile`, `--ssl-client-ca`).
    pub tls: Option<Arc<telnetlib3::tls::TlsServer>>,
    /// TLS and plain Telnet on one port, with this wait for a ClientHello (`--tls-auto`).
    pub tls_auto: Option<Duration>,
    /// How long a TLS handshake may take (`--tls-handshake-timeout`).
    pub tls_handshake_timeout: Duration,
    /// MSSP variables, each with its values (`--mssp NAME=VALUE`): not empty, the server
    /// offers `WILL MSSP` and sends them to a client that agrees.
    pub mssp: Vec<(String, Vec<String>)>,
    /// Options offered with WILL once the client speaks Telnet (`--always-will`), such
    /// as GMCP and MSDP for MUD clients.
    pub always_will: Vec<TelnetOption>,
    /// The server's metrics, counted when given (`--metrics`).
    pub metrics: Option<Arc<telnetlib3::ServerMetrics>>,
    /// Record each session (`--record DIR`, `--record-input`, `--record-max-bytes`).
    pub record: Option<Arc<telnetlib3::record::RecordConfig>>,
    /// At most this many connections at once (`--max-connections`; `None`: no limit).
    pub max_connections: Option<usize>,
    /// At most this many connections at once from one address (`--max-per-ip`).
    pub max_per_ip: Option<usize>,
    /// Probe each client with telnetlib3's cursor position check before its shell, and
    /// send those that fail to the robot shell (`--robot-check`).
    pub robot_check: bool,
    /// Client addresses from PROXY protocol headers, sent by these load balancers only
    /// (`--proxy-protocol`, `--trusted-proxy`).
    pub proxy_protocol: Option<telnetlib3::ProxyProtocol>,
    /// Share the port with other processes: SO_REUSEPORT (`--reuse-port`).
    pub reuse_port: bool,
    /// Run this program with pipes, no pty, for each connection instead of the shell
    /// (`--shell PROGRAM`; Unix only), as inetd runs a service.
    pub shell_program: Option<String>,
    /// Where [`ShellKind::Relay`] connects, and its passcode (`--relay-to`,
    /// `--relay-passcode`).
    pub relay: Option<crate::relay::RelayConfig>,
}

/// Where the server takes its connections from.
#[derive(Debug)]
pub enum Listen {
    /// Listen on every address a host name resolves to, on a port.
    Address {
        /// The host name or address.
        host: String,
        /// The port (0: any free port).
        port: u16,
    },
    /// Accept on sockets already listening: those systemd passes (`LISTEN_FDS`).
    Sockets(Vec<std::net::TcpListener>),
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be listened on.
    #[error(transparent)]
    Listen(#[from] Error),
    /// `--pty-exec`'s program cannot be run.
    #[cfg(unix)]
    #[error(transparent)]
    Program(#[from] crate::pty::PtyError),
    /// `--pty-exec`, `--shell PROGRAM` or `--pty-fork-limit` on a platform without
    /// pseudo-terminals and process groups.
    #[error("--pty-exec, --shell PROGRAM and --pty-fork-limit need a Unix system")]
    Unsupported,
    /// The relay shell without a destination.
    #[error("--shell relay needs --relay-to HOST:PORT")]
    RelayWithoutDestination,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            shell: ShellKind::Debug,
            encoding: ShellText::default().encoding,
            connect_maxwait: Duration::from_millis(1500),
            timeout: Some(Duration::from_secs(300)),
            line_mode: false,
            force_binary: false,
            never_send_ga: false,
            compression: None,
            compression_idle_release: Some(telnetlib3::MCCP_IDLE_RELEASE),
            mud_clients: ServerPlan::default().mud_clients.to_vec(),
            pty_exec: None,
            pty_args: Vec::new(),
            pty_fork_limit: 0,
            default_term: crate::cli::DEFAULT_TERM.to_string(),
            default_lang: crate::cli::DEFAULT_LANG.to_string(),
            tls: None,
            tls_auto: None,
            tls_handshake_timeout: telnetlib3::DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            mssp: Vec::new(),
            always_will: Vec::new(),
            proxy_protocol: None,
            reuse_port: false,
            shell_program: None,
            relay: None,
            max_connections: None,
            max_per_ip: None,
            robot_check: false,
            metrics: None,
            record: None,
        }
    }
}

/// Listen on `host:port` and serve the shell, or `--pty-exec`'s program, on every
/// connection.
///
/// # Errors
///
/// When the address cannot be listened on, or the program cannot be run (checked once
/// here, so that a typo does not give a server that fails every connection).
pub async fn start(host: &str, port: u16, options: &Options) -> Result<Server, StartError> {
    let listen = Listen::Address {
        host: host.to_string(),
        port,
    };
    start_on(listen, options).await
}

/// [`start`] on an address, or on sockets already listening.
///
/// # Errors
///
/// As [`start`].
pub async fn start_on(listen: Listen, options: &Options) -> Result<Server, StartError> {
    let mut config = ServerConfig::default();
    config.proxy_protocol.clone_from(&options.proxy_protocol);
    config.reuse_port = options.reuse_port;
    config.connect_maxwait = options.connect_maxwait;
    config.timeout = options.timeout;
    config.compression = options.compression;
    config.compression_idle_release = options.compression_idle_release;
    config.tls.clone_from(&options.tls);
    config.tls_auto = options.tls_auto;
    config.tls_handshake_timeout = options.tls_handshake_timeout;
    config.max_connections = options.max_connections;
    config.max_per_ip = options.max_per_ip;
    config.metrics.clone_from(&options.metrics);
    config.record.clone_from(&options.record);
    let mut plan = ServerPlan::default();
    plan.line_mode = options.line_mode;
    plan.force_binary = options.force_binary;
    plan.mud_clients = options.mud_clients.clone().into();
    // telnetlib3 offers CHARSET only when it has an encoding to speak.
    plan.charset = options.encoding.is_some();
    plan.offers = options.always_will.clone().into();
    config.plan = plan;
    if !options.mssp.is_empty() || !options.always_will.is_empty() {
        let mut protocol = SessionConfig::clone(&config.protocol);
        protocol.mssp.variables.clone_from(&options.mssp);
        // An option we offer, we perform when the client agrees.
        for &option in &options.always_will {
            protocol.policy.set_local(option, true);
        }
        config.protocol = Arc::new(protocol);
    }
    if let Some(encoding) = &options.encoding {
        config.encoding = encoding.clone();
    }
    let text = ShellText {
        encoding: options.encoding.clone(),
        force_binary: options.force_binary,
    };
    config.terminal = TerminalDefaults {
        never_send_ga: options.never_send_ga,
        ..TerminalDefaults::default()
    };
    let kind = options.shell;
    let robot_check = options.robot_check;
    let metrics = options.metrics.clone();
    let program = program(options)?;
    let relay = options.relay.clone().map(Arc::new);
    if kind == ShellKind::Relay && relay.is_none() {
        return Err(StartError::RelayWithoutDestination);
    }
    // telnetlib3's ConnectionCounter: a permit per running shell, released when it ends.
    // (More than tokio's maximum, which would panic, is as good as no limit.)
    let limit = (options.pty_fork_limit > 0).then(|| {
        let permits = options
            .pty_fork_limit
            .min(tokio::sync::Semaphore::MAX_PERMITS);
        Arc::new(tokio::sync::Semaphore::new(permits))
    });
    let shell = move |mut reader, mut writer| {
        let text = text.clone();
        let program = program.clone();
        let limit = limit.clone();
        let relay = relay.clone();
        let metrics = metrics.clone();
        async move {
            let _permit = match limit.map(tokio::sync::Semaphore::try_acquire_owned) {
                Some(Err(_)) => {
                    #[cfg(unix)]
                    crate::pty::busy_shell(reader, writer).await;
                    return;
                }
                Some(Ok(permit)) => Some(permit),
                None => None,
            };
            // After the limit, as telnetlib3's guarded shell does.
            if robot_check
                && !telnetlib3::robot_check(&mut reader, &mut writer, ROBOT_CHECK_TIMEOUT).await
            {
                if let Some(metrics) = &metrics {
                    metrics.refused(&telnetlib3::RefusalReason::Robot);
                }
                crate::guard::robot_shell(reader, writer).await;
                return;
            }
            #[cfg(not(unix))]
            let _ = program;
            // The program's errors are logged and told to the client.
            #[cfg(unix)]
            match program {
                Some(Program::Pty(program)) => {
                    let _ = crate::pty::run(reader, writer, &program).await;
                    return;
                }
                Some(Program::Pipes(program)) => {
                    let _ = crate::pipe::run(reader, writer, &program).await;
                    return;
                }
                None => {}
            }
            let ended = match (kind, relay) {
                (ShellKind::Relay, Some(relay)) => {
                    crate::relay::relay_shell(reader, writer, &relay).await;
                    Ok(())
                }
                (ShellKind::Debug | ShellKind::Relay, _) => {
                    shell::debug_shell_with(reader, writer, &text).await
                }
                (ShellKind::Echo, _) => shell::echo_shell(reader, writer).await,
                (ShellKind::Wargame, _) => shell::wargame_shell(reader, writer).await,
            };
            if let Err(error) = ended {
                debug!("shell ended: {error}");
            }
        }
    };
    Ok(match listen {
        Listen::Address { host, port } => {
            config.host = host;
            config.port = port;
            create_server(config, shell).await?
        }
        Listen::Sockets(listeners) => create_server_with_listeners(listeners, config, shell)?,
    })
}

/// Gather `--mssp NAME=VALUE` flags into variables, a name given again adding a value
/// (MSSP lists several ports or codebases that way), in the order names first appear.
#[must_use]
pub fn mssp_variables(pairs: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut variables: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in pairs {
        match variables.iter_mut().find(|(known, _)| known == name) {
            Some((_, values)) => values.push(value.clone()),
            None => variables.push((name.clone(), vec![value.clone()])),
        }
    }
    variables
}

/// A program each connection runs, and how it is connected.
#[cfg(unix)]
#[derive(Clone, Debug)]
enum Program {
    /// On a pseudo-terminal (`--pty-exec`).
    Pty(crate::pty::PtyProgram),
    /// With pipes (`--shell PROGRAM`).
    Pipes(crate::pty::PtyProgram),
}

/// `--pty-exec`'s or `--shell PROGRAM`'s program, checked.
#[cfg(unix)]
fn program(options: &Options) -> Result<Option<Program>, StartError> {
    let (name, on_pty) = match (&options.pty_exec, &options.shell_program) {
        (Some(name), _) => (name, true),
        (None, Some(name)) => (name, false),
        (None, None) => return Ok(None),
    };
    crate::pty::check_program(name)?;
    let program = crate::pty::PtyProgram {
        program: name.clone(),
        args: options.pty_args.clone(),
        line_mode: options.line_mode,
        defaults: crate::pty::EnvDefaults {
            term: options.default_term.clone(),
            lang: options.default_lang.clone(),
        },
    };
    Ok(Some(if on_pty {
        Program::Pty(program)
    } else {
        Program::Pipes(program)
    }))
}

/// Programs cannot run here.
#[cfg(not(unix))]
fn program(options: &Options) -> Result<Option<()>, StartError> {
    if options.pty_exec.is_some() || options.shell_program.is_some() || options.pty_fork_limit > 0 {
        return Err(StartError::Unsupported);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_mssp_names_become_lists() {
        let pairs = [("NAME", "x"), ("PORT", "23"), ("PORT", "6023")]
            .map(|(n, v)| (n.to_owned(), v.to_owned()));
        assert_eq!(
            mssp_variables(&pairs),
            [
                ("NAME".to_owned(), vec!["x".to_owned()]),
                ("PORT".to_owned(), vec!["23".to_owned(), "6023".to_owned()])
            ]
        );
    }
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    #[tokio::test]
    async fn a_client_that_answers_gets_the_prompt_without_waiting() {
        let options = Options {
            // A maxwait this long would time the test out if negotiation were not tracked.
            connect_maxwait: Duration::from_secs(3600),
            ..Options::default()
        };
        let server = start("127.0.0.1", 0, &options).await.unwrap();
        let mut client = TcpStream::connect(server.local_addrs()[0]).await.unwrap();
        let mut buf = [0; 3];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf, *b"\xff\xfd\x18");
        // WONT TTYPE, and agreement to SGA and ECHO: the server advances (WILL BINARY,
        // DO NAWS, DO CHARSET, DO NEW_ENVIRON), all refused, then the commands.
        client
            .write_all(b"\xff\xfc\x18\xff\xfd\x03\xff\xfd\x01")
            .await
            .unwrap();
        let mut buf = [0; 18];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(
            buf,
            *b"\xff\xfb\x03\xff\xfb\x01\xff\xfb\x00\xff\xfd\x1f\xff\xfd\x2a\xff\xfd\x27"
        );
        client
            .write_all(b"\xff\xfe\x00\xff\xfc\x1f\xff\xfc\x2a\xff\xfc\x27help\r\nquit\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(
            got,
            [
                &b"Ready.\r\ntel:sh> help\r\n"[..],
                crate::debug::HELP.as_bytes(),
                b"\r\ntel:sh> quit\r\nGoodbye.\r\n"
            ]
            .concat()
        );
    }
}
