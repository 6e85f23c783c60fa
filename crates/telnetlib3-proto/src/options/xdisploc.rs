//! XDISPLOC, X display location (RFC 1096).
//!
//! The sender of DO asks with `SB XDISPLOC SEND`; the sender of WILL answers with
//! `SB XDISPLOC IS <host:display[.screen]>`.

use crate::family::{
    ascii_text, is_payload, parse_send_is, Emit, SendIs, SubnegotiationError, SEND_PAYLOAD,
};
use crate::link::{Link, Side};
use crate::option::TelnetOption;

/// Longest display location accepted from a peer.
const MAX_DISPLAY: usize = 256;

/// The display this end reports when it performs XDISPLOC.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Config {
    /// The `host:display[.screen]` sent; telnetlib3's default is empty.
    pub display: String,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    pub(crate) peer: Option<String>,
}

/// What the application learns from XDISPLOC.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The peer reported its X display location.
    Display(&'a str),
}

pub(crate) fn receive<'p>(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl Emit<Event<'p>>,
    option: TelnetOption,
    payload: &'p [u8],
) -> Result<(), SubnegotiationError> {
    match parse_send_is(link, option, payload)? {
        SendIs::Send => {
            let payload = is_payload(config.display.as_bytes());
            link.send_subnegotiation(option, &payload);
        }
        SendIs::Is(value) => {
            let display = ascii_text(value, MAX_DISPLAY)?;
            state.peer = Some(display.to_owned());
            emit.emit(Event::Display(display));
        }
    }
    Ok(())
}

pub(crate) fn changed(link: &mut Link, option: TelnetOption, side: Side, enabled: bool) {
    if side == Side::Remote && enabled {
        link.send_subnegotiation(option, SEND_PAYLOAD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::{drive_pair_with, transmit, Log};
    use crate::{Policy, Role, Session, SessionConfig};

    #[test]
    fn pair_exchanges_display() {
        let mut client =
            SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Xdisploc));
        client.xdisploc.display = "sun:0.1".into();
        let (_, server, _, server_log) =
            drive_pair_with(client, SessionConfig::default(), |_, server| {
                server.request_remote(TelnetOption::Xdisploc, true).unwrap()
            });
        assert_eq!(server.peer_x_display(), Some("sun:0.1"));
        assert!(server_log
            .events
            .contains(&"Xdisploc(Display(\"sun:0.1\"))".to_string()));
    }

    #[test]
    fn golden_bytes_both_roles() {
        let mut config =
            SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Xdisploc));
        config.xdisploc.display = "host:0".into();
        let mut client = Session::new(Role::Client, config);
        client.receive(b"\xff\xfd\x23\xff\xfa\x23\x01\xff\xf0", &mut Log::default());
        assert_eq!(
            transmit(&mut client),
            b"\xff\xfb\x23\xff\xfa\x23\x00host:0\xff\xf0"
        );

        let policy = Policy::new().allow_remote(TelnetOption::Xdisploc);
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(policy));
        let mut log = Log::default();
        server.receive(b"\xff\xfb\x23", &mut log);
        assert_eq!(
            transmit(&mut server),
            b"\xff\xfd\x23\xff\xfa\x23\x01\xff\xf0"
        );
        server.receive(b"\xff\xfa\x23\x00bad\x1b[\xff\xf0", &mut log);
        server.receive(b"\xff\xfa\x23\x01\xff\xf0", &mut log);
        assert_eq!(
            log.events[1..],
            [
                "BadSubnegotiation { option: Xdisploc, error: Malformed }",
                "BadSubnegotiation { option: Xdisploc, error: NotAllowed }"
            ]
        );
        assert_eq!(server.peer_x_display(), None);
    }
}
