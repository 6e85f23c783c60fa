//! [`Server::clients`] and [`Server::wait_for_client`]: the live connections, each with
//! a writer to it, so that a chat or broadcast server needs no list of its own.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Connection, Server};
use crate::stream::{self, Inner};
use crate::TelnetWriter;

/// A connection whose shell runs, as [`Server::clients`] and [`Server::wait_for_client`]
/// give it: its own [`TelnetWriter`] to the client, and what the server knows of it
/// (miniboa's client properties).
///
/// The writer is one more handle on the connection: writes through it and through the
/// shell's writer go out in the order they are made. The connection still closes when
/// its shell returns (writes then fail with [`Error::Closed`](crate::Error::Closed)); a
/// `Client` kept after that only holds its memory.
pub struct Client {
    writer: TelnetWriter,
    peer: SocketAddr,
    connected_at: SystemTime,
    name: Option<Arc<str>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("peer", &self.peer)
            .field("name", &self.name)
            .field("connected_at", &self.connected_at)
            .finish_non_exhaustive()
    }
}

impl Client {
    fn new(connection: &Connection) -> Self {
        Self {
            writer: TelnetWriter::new(Arc::clone(&connection.inner)),
            peer: connection.peer,
            connected_at: connection.connected_at,
            name: connection.name.clone(),
        }
    }

    /// A writer to this client.
    pub fn writer(&mut self) -> &mut TelnetWriter {
        &mut self.writer
    }

    /// The writer, keeping nothing else.
    #[must_use]
    pub fn into_writer(self) -> TelnetWriter {
        self.writer
    }

    /// The client's address.
    #[must_use]
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// What the program named the client with [`Server::name_client`], when it did.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The terminal type the client reported (the default until it does), as
    /// [`TelnetWriter::terminal_type`].
    #[must_use]
    pub fn terminal_type(&self) -> String {
        self.writer.terminal_type()
    }

    /// The client's window size, `(columns, rows)`, as [`TelnetWriter::window_size`].
    #[must_use]
    pub fn window_size(&self) -> (u16, u16) {
        self.writer.window_size()
    }

    /// When the server accepted the connection.
    #[must_use]
    pub fn connected_at(&self) -> SystemTime {
        self.connected_at
    }

    /// How long since the last byte came from the client (since the connection began,
    /// until one did).
    #[must_use]
    pub fn idle(&self) -> Duration {
        stream::last_input(&self.writer.inner()).elapsed()
    }

    /// Whether `writer` writes to this client's connection.
    #[must_use]
    pub fn is(&self, writer: &TelnetWriter) -> bool {
        Arc::ptr_eq(&self.writer.inner(), &writer.inner())
    }
}

/// Neither closing nor hung up by the client.
fn is_live(connection: &Connection) -> bool {
    !stream::is_closing(&connection.inner) && !stream::input_ended(&connection.inner)
}

impl Server {
    /// The live connections: those whose shell runs (their opening negotiation settled,
    /// or `connect_maxwait` passed), in the order their shells started, and neither
    /// closing nor hung up by the client (a shell still running on after its client
    /// left is not listed).
    ///
    /// ```no_run
    /// # async fn demo(server: &telnetlib3::Server) {
    /// for mut client in server.clients() {
    ///     let _ = client.writer().write(b"\r\nThe server restarts in a minute.\r\n").await;
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn clients(&self) -> Vec<Client> {
        let registry = self.registry.lock();
        let mut running: Vec<&Connection> = registry
            .values()
            .filter(|connection| connection.arrival.is_some() && is_live(connection))
            .collect();
        running.sort_by_key(|connection| connection.arrival);
        running.into_iter().map(Client::new).collect()
    }

    /// The next connection whose shell started, in the order they started: each call
    /// returns a later one than the call before, beginning with the first the server
    /// had (connections that ended meanwhile are passed over). Waits for one; `None`
    /// once the server is told to stop and none is left to return.
    ///
    /// ```no_run
    /// # async fn demo(server: telnetlib3::Server) {
    /// while let Some(mut client) = server.wait_for_client().await {
    ///     let greeting = format!("Welcome, {}!\r\n", client.terminal_type());
    ///     let _ = client.writer().write(greeting.as_bytes()).await;
    /// }
    /// # }
    /// ```
    pub async fn wait_for_client(&self) -> Option<Client> {
        loop {
            let arrived = self.registry.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if let Some(client) = self.take_next_client() {
                return Some(client);
            }
            if self.registry.is_closed() {
                return None;
            }
            arrived.await;
        }
    }

    /// The live connection with the earliest arrival not yet returned, if any.
    fn take_next_client(&self) -> Option<Client> {
        let registry = self.registry.lock();
        loop {
            let cursor = self.next_client.load(Ordering::Acquire);
            let next = registry
                .values()
                .filter(|connection| {
                    connection.arrival.is_some_and(|a| a >= cursor) && is_live(connection)
                })
                .min_by_key(|connection| connection.arrival)?;
            let arrival = next.arrival.unwrap_or(cursor);
            // Another caller may have taken it meanwhile: then look again.
            if self
                .next_client
                .compare_exchange(cursor, arrival + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Some(Client::new(next));
            }
        }
    }

    /// Name the client that `writer` writes to (a nickname, a user name):
    /// [`Client::name`] gives it from then on. Returns false if that connection is not
    /// (or no longer) one of this server's.
    pub fn name_client(&self, writer: &TelnetWriter, name: &str) -> bool {
        let inner: Arc<Inner> = writer.inner();
        let mut registry = self.registry.lock();
        match registry
            .values_mut()
            .find(|connection| Arc::ptr_eq(&connection.inner, &inner))
        {
            Some(connection) => {
                connection.name = Some(Arc::from(name));
                true
            }
            None => false,
        }
    }
}
