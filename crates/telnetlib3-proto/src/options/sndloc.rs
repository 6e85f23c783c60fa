//! SNDLOC, send location (RFC 779).
//!
//! Once the server sent DO SEND-LOCATION and the client agreed with WILL, the client sends
//! `IAC SB SEND-LOCATION <location> IAC SE`: free text, the user's physical location.

use crate::family::{ascii_text, Emit, SubnegotiationError};
use crate::link::{Link, Role, Side};
use crate::option::TelnetOption;

/// Longest location accepted from a peer.
const MAX_LOCATION: usize = 256;

/// The location this end reports when it performs SNDLOC.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Config {
    /// The location text sent after WILL SNDLOC is agreed.
    pub location: String,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    pub(crate) peer: Option<String>,
}

/// What the application learns from SNDLOC.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The peer reported its location.
    Location(&'a str),
}

pub(crate) fn receive<'p>(
    state: &mut State,
    link: &Link,
    emit: &mut impl Emit<Event<'p>>,
    option: TelnetOption,
    payload: &'p [u8],
) -> Result<(), SubnegotiationError> {
    // Like telnetlib3 (and NAWS), a server accepts the location even if it arrives before
    // the WILL; a client never receives one.
    if link.role == Role::Client && !link.enabled(option, Side::Remote) {
        return Err(SubnegotiationError::NotAllowed);
    }
    let location = ascii_text(payload, MAX_LOCATION)?;
    state.peer = Some(location.to_owned());
    emit.emit(Event::Location(location));
    Ok(())
}

pub(crate) fn changed(
    config: &Config,
    link: &mut Link,
    option: TelnetOption,
    side: Side,
    enabled: bool,
) {
    if side == Side::Local && enabled {
        link.send_subnegotiation(option, config.location.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::{drive_pair_with, transmit, Log};
    use crate::{Policy, Session, SessionConfig};

    #[test]
    fn client_sends_location_after_do() {
        let mut config =
            SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Sndloc));
        config.sndloc.location = "Building 5, Room 21".into();
        let mut client = Session::new(Role::Client, config);
        client.receive(b"\xff\xfd\x17", &mut Log::default());
        assert_eq!(
            transmit(&mut client),
            b"\xff\xfb\x17\xff\xfa\x17Building 5, Room 21\xff\xf0"
        );
    }

    #[test]
    fn pair_and_rejections() {
        let mut client =
            SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Sndloc));
        client.sndloc.location = "lab".into();
        let (mut client, mut server, _, _) =
            drive_pair_with(client, SessionConfig::default(), |_, s| {
                s.request_remote(TelnetOption::Sndloc, true).unwrap()
            });
        assert_eq!(server.peer_location(), Some("lab"));
        let mut log = Log::default();
        server.receive(b"\xff\xfa\x17\x07\xff\xf0", &mut log);
        client.receive(b"\xff\xfa\x17x\xff\xf0", &mut log);
        assert_eq!(
            log.events,
            [
                "BadSubnegotiation { option: Sndloc, error: Malformed }",
                "BadSubnegotiation { option: Sndloc, error: NotAllowed }"
            ]
        );
        assert_eq!(server.peer_location(), Some("lab"));
    }
}
