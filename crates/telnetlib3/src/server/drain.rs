//! [`Server::drain`]: stop accepting, tell every session, let the shells finish for a
//! while, then close what is left with its output written out.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tracing::info;

use super::Server;
use crate::TelnetWriter;

/// What [`Server::drain`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainSummary {
    /// Connections open when the drain began.
    pub open: usize,
    /// Of them, those the notice was queued to (the others were already closing).
    pub notified: usize,
    /// Of them, those that ended before the timeout (their shell returned, or the
    /// client left).
    pub finished: usize,
    /// Of them, those still open at the timeout, closed then.
    pub closed: usize,
}

impl Server {
    /// Drain the server for a restart: stop accepting at once, queue `notice` to every
    /// open connection (after what its shell already wrote; none if empty), let the
    /// shells run until `timeout` has passed or every connection has ended, then
    /// [`close`](Server::close) the rest: their shells are stopped and what they queued
    /// (notice included) is written out within the close timeout before the socket
    /// closes. Connections in their TLS handshake are dropped at once.
    ///
    /// The notice goes through each connection's session like any output (IAC doubled,
    /// CR and LF as the NVT wants them outside BINARY).
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// # async fn demo(server: telnetlib3::Server) {
    /// let notice = b"\r\nServer restarting, please reconnect.\r\n";
    /// let summary = server.drain(notice, Duration::from_secs(30)).await;
    /// println!("{} of {} sessions cut at the deadline", summary.closed, summary.open);
    /// # }
    /// ```
    pub async fn drain(&self, notice: &[u8], timeout: Duration) -> DrainSummary {
        self.stop_accepting();
        let deadline = tokio::time::Instant::now() + timeout;
        let inners: Vec<_> = self
            .registry
            .lock()
            .values()
            .map(|connection| Arc::clone(&connection.inner))
            .collect();
        let open = inners.len();
        let mut notified = 0;
        if !notice.is_empty() {
            // Each write waits only while that connection's output is above the high
            // water mark; one slow client must not hold back the others' notices.
            let notice: Arc<[u8]> = Arc::from(notice);
            let mut writes = JoinSet::new();
            for inner in inners {
                let notice = Arc::clone(&notice);
                writes.spawn(async move {
                    let mut writer = TelnetWriter::new(inner);
                    tokio::time::timeout_at(deadline, writer.write(&notice))
                        .await
                        .is_ok_and(|written| written.is_ok())
                });
            }
            while let Some(written) = writes.join_next().await {
                notified += usize::from(written.unwrap_or(false));
            }
        }
        let closed = self.wait_until_empty(deadline).await;
        let summary = DrainSummary {
            open,
            notified,
            finished: open.saturating_sub(closed),
            closed,
        };
        info!(
            "drained: {} open, {} told, {} ended, {} closed at the deadline",
            summary.open, summary.notified, summary.finished, summary.closed
        );
        summary
    }

    /// Wait until no connection is left or `deadline` passes, then close those left;
    /// returns how many that was.
    async fn wait_until_empty(&self, deadline: tokio::time::Instant) -> usize {
        loop {
            let changed = self.registry.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.connection_count() == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let remaining = self.connection_count();
                self.close();
                return remaining;
            }
        }
    }
}
