//! TSPEED, terminal speed (RFC 1079).
//!
//! Only the side that sent DO may ask (`SB TSPEED SEND`), and only the side that sent
//! WILL may answer (`SB TSPEED IS <transmit>,<receive>`), never spontaneously.

use crate::family::{is_payload, parse_send_is, Emit, SendIs, SubnegotiationError, SEND_PAYLOAD};
use crate::link::{Link, Side};
use crate::option::TelnetOption;

/// A terminal's line speeds, in bits per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TerminalSpeed {
    /// Transmit speed (first in the IS string).
    pub transmit: u32,
    /// Receive speed (second in the IS string).
    pub receive: u32,
}

impl TerminalSpeed {
    /// The IS payload: `IS "<transmit>,<receive>"`.
    #[must_use]
    pub fn to_payload(self) -> Vec<u8> {
        is_payload(format!("{},{}", self.transmit, self.receive).as_bytes())
    }

    /// Parse the text after IS (`"9600,100"`).
    ///
    /// # Errors
    ///
    /// When it is not two decimal numbers separated by a comma.
    pub fn parse(text: &[u8]) -> Result<Self, SubnegotiationError> {
        let number = |field: &[u8]| -> Result<u32, SubnegotiationError> {
            let text = core::str::from_utf8(field).map_err(|_| SubnegotiationError::Malformed)?;
            let text = text.trim_matches(' ');
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SubnegotiationError::Malformed);
            }
            text.parse().map_err(|_| SubnegotiationError::Malformed)
        };
        let comma = text
            .iter()
            .position(|&b| b == b',')
            .ok_or(SubnegotiationError::Malformed)?;
        Ok(Self {
            transmit: number(&text[..comma])?,
            receive: number(&text[comma + 1..])?,
        })
    }
}

/// The speeds this end reports when it performs TSPEED.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The speeds sent; telnetlib3's default is 38400,38400.
    pub speed: TerminalSpeed,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            speed: TerminalSpeed {
                transmit: 38400,
                receive: 38400,
            },
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    pub(crate) peer: Option<TerminalSpeed>,
}

/// What the application learns from TSPEED.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The peer reported its speeds.
    Speed(TerminalSpeed),
}

pub(crate) fn receive(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
    payload: &[u8],
) -> Result<(), SubnegotiationError> {
    match parse_send_is(link, option, payload)? {
        SendIs::Send => link.send_subnegotiation(option, &config.speed.to_payload()),
        SendIs::Is(text) => {
            let speed = TerminalSpeed::parse(text)?;
            state.peer = Some(speed);
            emit.emit(Event::Speed(speed));
        }
    }
    Ok(())
}

pub(crate) fn changed(link: &mut Link, option: TelnetOption, side: Side, enabled: bool) {
    // Once the peer agreed to WILL TSPEED, the sender of DO asks (telnetlib3's server).
    if side == Side::Remote && enabled {
        link.send_subnegotiation(option, SEND_PAYLOAD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::{drive_pair, transmit, Log};
    use crate::{Policy, Role, Session, SessionConfig};

    #[test]
    fn rfc1079_example() {
        let speed = TerminalSpeed::parse(b"9600,100").unwrap();
        assert_eq!(
            speed,
            TerminalSpeed {
                transmit: 9600,
                receive: 100
            }
        );
        assert_eq!(speed.to_payload(), b"\x009600,100");
    }

    #[test]
    fn malformed_speeds() {
        for bad in [
            &b""[..],
            b"9600",
            b",",
            b"96x0,100",
            b"1,99999999999",
            b"-1,2",
        ] {
            assert_eq!(
                TerminalSpeed::parse(bad),
                Err(SubnegotiationError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn client_answers_send_only_when_enabled() {
        let policy = Policy::new().allow_local(TelnetOption::Tspeed);
        let mut client = Session::new(Role::Client, SessionConfig::with_policy(policy));
        let mut log = Log::default();
        client.receive(b"\xff\xfa\x20\x01\xff\xf0", &mut log);
        assert_eq!(transmit(&mut client), b"");
        assert_eq!(
            log.events,
            ["BadSubnegotiation { option: Tspeed, error: NotAllowed }"]
        );
        client.receive(b"\xff\xfd\x20\xff\xfa\x20\x01\xff\xf0", &mut log);
        assert_eq!(
            transmit(&mut client),
            b"\xff\xfb\x20\xff\xfa\x20\x0038400,38400\xff\xf0"
        );
    }

    #[test]
    fn pair_exchanges_speed() {
        let (_client, server) = drive_pair(
            Policy::new().allow_local(TelnetOption::Tspeed),
            Policy::new(),
            |_, server| server.request_remote(TelnetOption::Tspeed, true).unwrap(),
        );
        assert_eq!(
            server.peer_terminal_speed(),
            Some(TerminalSpeed {
                transmit: 38400,
                receive: 38400
            })
        );
    }

    #[test]
    fn server_rejects_bad_is() {
        let policy = Policy::new().allow_remote(TelnetOption::Tspeed);
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(policy));
        let mut log = Log::default();
        server.receive(
            b"\xff\xfb\x20\xff\xfa\x20\x00fast\xff\xf0\xff\xfa\x20\x07\xff\xf0",
            &mut log,
        );
        assert_eq!(
            transmit(&mut server),
            b"\xff\xfd\x20\xff\xfa\x20\x01\xff\xf0"
        );
        assert_eq!(
            log.events[1..],
            [
                "BadSubnegotiation { option: Tspeed, error: Malformed }",
                "BadSubnegotiation { option: Tspeed, error: UnknownCommand(7) }"
            ]
        );
        assert_eq!(server.peer_terminal_speed(), None);
    }
}
