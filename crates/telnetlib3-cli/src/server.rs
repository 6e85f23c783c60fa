//! `telnetlib3-server`'s server: telnetlib3's opening negotiation, then the debug shell on
//! every connection, through the library's [`create_server`], or with `--pty-exec` a
//! program on a pseudo-terminal (Unix), at most `--pty-fork-limit` at once.

use std::sync::Arc;
use std::time::Duration;

use telnetlib3::proto::{ServerPlan, SessionConfig, TelnetOption};
use telnetlib3::{create_server, Error, Server, ServerConfig, TerminalDefaults};
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
    /// `--pty-exec` or `--pty-fork-limit` on a platform without pseudo-terminals.
    #[error("--pty-exec and --pty-fork-limit need a Unix system")]
    Unsupported,
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
    let mut config = ServerConfig::default();
    config.host = host.to_string();
    config.port = port;
    config.connect_maxwait = options.connect_maxwait;
    config.timeout = options.timeout;
    config.compression = options.compression;
    config.tls.clone_from(&options.tls);
    config.tls_auto = options.tls_auto;
    config.tls_handshake_timeout = options.tls_handshake_timeout;
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
    let program = pty_program(options)?;
    // telnetlib3's ConnectionCounter: a permit per running shell, released when it ends.
    // (More than tokio's maximum, which would panic, is as good as no limit.)
    let limit = (options.pty_fork_limit > 0).then(|| {
        let permits = options
            .pty_fork_limit
            .min(tokio::sync::Semaphore::MAX_PERMITS);
        Arc::new(tokio::sync::Semaphore::new(permits))
    });
    let server = create_server(config, move |reader, writer| {
        let text = text.clone();
        let program = program.clone();
        let limit = limit.clone();
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
            #[cfg(not(unix))]
            let _ = program;
            #[cfg(unix)]
            if let Some(program) = program {
                // The error was logged and told to the client.
                let _ = crate::pty::run(reader, writer, &program).await;
                return;
            }
            let ended = match kind {
                ShellKind::Debug => shell::debug_shell_with(reader, writer, &text).await,
                ShellKind::Echo => shell::echo_shell(reader, writer).await,
                ShellKind::Wargame => shell::wargame_shell(reader, writer).await,
            };
            if let Err(error) = ended {
                debug!("shell ended: {error}");
            }
        }
    })
    .await?;
    Ok(server)
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

/// `--pty-exec`'s program, checked.
#[cfg(unix)]
fn pty_program(options: &Options) -> Result<Option<crate::pty::PtyProgram>, StartError> {
    let Some(program) = &options.pty_exec else {
        return Ok(None);
    };
    crate::pty::check_program(program)?;
    Ok(Some(crate::pty::PtyProgram {
        program: program.clone(),
        args: options.pty_args.clone(),
        line_mode: options.line_mode,
        defaults: crate::pty::EnvDefaults {
            term: options.default_term.clone(),
            lang: options.default_lang.clone(),
        },
    }))
}

/// `--pty-exec` cannot work here.
#[cfg(not(unix))]
fn pty_program(options: &Options) -> Result<Option<()>, StartError> {
    if options.pty_exec.is_some() || options.pty_fork_limit > 0 {
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
