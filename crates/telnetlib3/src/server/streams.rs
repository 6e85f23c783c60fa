//! [`Server::serve_stream`]: a connection the program accepted itself (over a Unix
//! socket, a WebSocket, a TCP listener of its own) served as one of the server's.

use std::future::Future;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tracing::info;

use super::{serve, start, Server};
use crate::stream::AnyStream;
use crate::{TelnetReader, TelnetWriter};

impl Server {
    /// Serve `stream` as one of this server's connections: as the free function
    /// [`serve_stream`](super::serve_stream) does, with the server's configuration, and
    /// also counted by the connection limits, listed by [`Server::clients`], and reached
    /// by [`Server::close`], [`Server::shutdown`] and [`Server::drain`]. `peer` is the
    /// client's address as the program knows it (from a PROXY header, say); the limits
    /// count it. Returns when the connection has ended; at once (the stream dropped) if
    /// the server was told to stop, or after the refusal's line if a limit is reached.
    ///
    /// ```no_run
    /// use std::net::SocketAddr;
    /// use tokio::net::UnixListener;
    ///
    /// # async fn demo(server: std::sync::Arc<telnetlib3::Server>) -> std::io::Result<()> {
    /// let listener = UnixListener::bind("/run/telnet.sock")?;
    /// loop {
    ///     let (stream, _) = listener.accept().await?;
    ///     let server = std::sync::Arc::clone(&server);
    ///     tokio::spawn(async move {
    ///         let local = SocketAddr::from(([127, 0, 0, 1], 0));
    ///         server
    ///             .serve_stream(stream, local, |_reader, mut writer| async move {
    ///                 let _ = writer.write(b"Hello from the socket.\r\n").await;
    ///             })
    ///             .await;
    ///     });
    /// }
    /// # }
    /// ```
    pub async fn serve_stream<S, F, Fut>(&self, mut stream: S, peer: SocketAddr, shell: F)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        F: FnOnce(TelnetReader, TelnetWriter) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let registry = &self.registry;
        if registry.is_closed() {
            return;
        }
        let accepted = tokio::time::Instant::now();
        let _open = self
            .config
            .metrics
            .as_deref()
            .map(super::ServerMetrics::connection_opened);
        let admitted = match registry.limits.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                if let Some(metrics) = &self.config.metrics {
                    metrics.refused(&refusal.reason());
                }
                info!(
                    "Connection from <Peer {} {}> refused: {refusal}",
                    peer.ip(),
                    peer.port()
                );
                let line = async {
                    stream.write_all(refusal.message()).await?;
                    stream.shutdown().await
                };
                let _ = tokio::time::timeout(self.config.close_timeout, line).await;
                return;
            }
        };
        let name = format!("{} {}", peer.ip(), peer.port());
        let inner = start(AnyStream::new(stream), name, &self.config);
        serve(inner, peer, accepted, &self.config, registry, shell).await;
        drop(admitted);
    }
}
