//! Test support shared by the option families: a recording sink and an in-memory pair.

use crate::{Event, Policy, Role, Session, SessionConfig, Sink};

/// Records data and the `Debug` form of every event.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) data: Vec<u8>,
    pub(crate) events: Vec<String>,
}

impl Sink for Log {
    fn data(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
    }
    fn event(&mut self, event: Event<'_>) {
        self.events.push(format!("{event:?}"));
    }
}

/// Everything the session queued for the wire.
pub(crate) fn transmit(session: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = session.poll_transmit(&mut out);
    out
}

/// A client and a server with these configurations, after `setup`, driven until both are
/// quiet. Panics if they do not settle in 16 rounds.
pub(crate) fn drive_pair_with(
    client: SessionConfig,
    server: SessionConfig,
    setup: impl FnOnce(&mut Session, &mut Session),
) -> (Session, Session, Log, Log) {
    let mut client = Session::new(Role::Client, client);
    let mut server = Session::new(Role::Server, server);
    setup(&mut client, &mut server);
    let (mut client_log, mut server_log) = (Log::default(), Log::default());
    for _ in 0..16 {
        let to_server = transmit(&mut client);
        let to_client = transmit(&mut server);
        if to_server.is_empty() && to_client.is_empty() {
            return (client, server, client_log, server_log);
        }
        server.receive(&to_server, &mut server_log);
        client.receive(&to_client, &mut client_log);
    }
    panic!("the pair did not settle");
}

/// [`drive_pair_with`] for default configurations with these policies.
pub(crate) fn drive_pair(
    client: Policy,
    server: Policy,
    setup: impl FnOnce(&mut Session, &mut Session),
) -> (Session, Session) {
    let (client, server, _, _) = drive_pair_with(
        SessionConfig::with_policy(client),
        SessionConfig::with_policy(server),
        setup,
    );
    (client, server)
}
