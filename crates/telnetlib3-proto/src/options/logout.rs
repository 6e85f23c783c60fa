//! LOGOUT (RFC 727).
//!
//! A client sends DO LOGOUT to ask the server to log it out; a server that agrees answers
//! WILL LOGOUT and closes the connection. A server may also announce an imminent logout
//! with WILL LOGOUT. The option has no subnegotiation; closing is the application's job,
//! so this family only reports.

use crate::family::Emit;
use crate::link::Side;

/// LOGOUT has nothing to configure.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Config {}

/// What the application learns from LOGOUT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// We agreed to the peer's DO LOGOUT: close the connection now (RFC 727).
    LogoutRequested,
    /// The peer announced WILL LOGOUT: it is about to close the connection.
    PeerLoggingOut,
}

pub(crate) fn changed(emit: &mut impl Emit<Event>, side: Side, enabled: bool) {
    if !enabled {
        return;
    }
    let event = match side {
        Side::Local => Event::LogoutRequested,
        Side::Remote => Event::PeerLoggingOut,
    };
    emit.emit(event);
}

#[cfg(test)]
mod tests {
    use crate::options::tests::{transmit, Log};
    use crate::{Policy, Role, Session, SessionConfig, TelnetOption};

    #[test]
    fn server_agrees_and_reports() {
        let policy = Policy::new().allow_local(TelnetOption::Logout);
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(policy));
        let mut log = Log::default();
        server.receive(b"\xff\xfd\x12", &mut log);
        assert_eq!(transmit(&mut server), b"\xff\xfb\x12");
        assert_eq!(
            log.events,
            [
                "OptionChanged { option: Logout, side: Local, enabled: true }",
                "Logout(LogoutRequested)"
            ]
        );
    }

    #[test]
    fn client_refusing_says_dont() {
        let mut client = Session::new(Role::Client, SessionConfig::default());
        let mut log = Log::default();
        client.receive(b"\xff\xfb\x12", &mut log);
        assert_eq!(transmit(&mut client), b"\xff\xfe\x12");
        assert!(log.events.is_empty());
    }
}
