//! [`Server::status`] and [`Server::log_status`]: telnetlib3's periodic status line,
//! logged only when it changed.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use tracing::info;

use super::Server;
use crate::stream;

/// One connection in a [`Status`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStatus {
    /// The peer's address.
    pub ip: IpAddr,
    /// The peer's port.
    pub port: u16,
    /// Bytes received from the client.
    pub rx: u64,
    /// Bytes sent to the client.
    pub tx: u64,
    /// Whole seconds since the client last sent a byte.
    pub idle: u64,
    /// Whether the connection runs over TLS.
    pub tls: bool,
}

/// The open connections, as telnetlib3's `StatusLogger` shows them: by address and
/// port, with their byte counts and idle time. Its `Display` is telnetlib3's:
/// `0 clients connected`, or
/// `2 client(s): 127.0.0.1:40000 (rx=12, tx=345, idle=0), 127.0.0.1:40002 (rx=3, tx=80, idle=7 tls)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// Every open connection, ordered by address and port.
    pub clients: Vec<ClientStatus>,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.clients.is_empty() {
            return f.write_str("0 clients connected");
        }
        write!(f, "{} client(s): ", self.clients.len())?;
        for (index, client) in self.clients.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(
                f,
                "{}:{} (rx={}, tx={}, idle={}{})",
                client.ip,
                client.port,
                client.rx,
                client.tx,
                client.idle,
                if client.tls { " tls" } else { "" }
            )?;
        }
        Ok(())
    }
}

impl Server {
    /// The open connections now (negotiating, running their shell, or closing).
    #[must_use]
    pub fn status(&self) -> Status {
        let mut clients: Vec<ClientStatus> = self
            .registry
            .lock()
            .values()
            .map(|connection| {
                let stats = stream::stats(&connection.inner);
                ClientStatus {
                    ip: connection.peer.ip(),
                    port: connection.peer.port(),
                    rx: stats.bytes_in,
                    tx: stats.bytes_out,
                    idle: stream::last_input(&connection.inner).elapsed().as_secs(),
                    tls: stream::over_tls(&connection.inner),
                }
            })
            .collect();
        clients.sort_by_key(|client| (client.ip, client.port));
        Status { clients }
    }

    /// Every `interval`, log `Status: ` and the [`Status`] (at info level) when it
    /// differs from the one logged last, as telnetlib3-server's `--status-interval`
    /// does: nothing until a first client came, then each change (a client's byte
    /// counts and idle seconds included). Runs until dropped.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// # async fn demo(server: telnetlib3::Server) {
    /// tokio::select! {
    ///     () = server.log_status(Duration::from_secs(20)) => {}
    ///     _ = tokio::signal::ctrl_c() => server.close(),
    /// }
    /// # }
    /// ```
    pub async fn log_status(&self, interval: Duration) {
        // A zero interval would spin.
        let interval = interval.max(Duration::from_millis(1));
        let mut last: Option<Status> = None;
        loop {
            tokio::time::sleep(interval).await;
            let status = self.status();
            let changed = match &last {
                None => !status.clients.is_empty(),
                Some(last) => *last != status,
            };
            if changed {
                info!("Status: {status}");
                last = Some(status);
            }
        }
    }
}
