//! NAWS, negotiate about window size (RFC 1073).
//!
//! The side that performs NAWS (normally the client, after `DO NAWS`) sends
//! `IAC SB NAWS <width:u16> <height:u16> IAC SE`, big-endian, at once and again whenever
//! the window changes. A 0xFF byte inside the values is doubled like any IAC.

use crate::family::{Emit, SubnegotiationError};
use crate::link::{Link, Role, Side};
use crate::option::TelnetOption;

/// A terminal's size in character cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WindowSize {
    /// Width, in columns.
    pub cols: u16,
    /// Height, in rows.
    pub rows: u16,
}

impl WindowSize {
    /// The subnegotiation payload (before IAC doubling): width then height.
    #[must_use]
    pub fn to_payload(self) -> [u8; 4] {
        let [c1, c0] = self.cols.to_be_bytes();
        let [r1, r0] = self.rows.to_be_bytes();
        [c1, c0, r1, r0]
    }

    /// Parse a subnegotiation payload.
    ///
    /// # Errors
    ///
    /// When the payload is not exactly four bytes.
    pub fn from_payload(payload: &[u8]) -> Result<Self, SubnegotiationError> {
        match *payload {
            [c1, c0, r1, r0] => Ok(Self {
                cols: u16::from_be_bytes([c1, c0]),
                rows: u16::from_be_bytes([r1, r0]),
            }),
            [] => Err(SubnegotiationError::Empty),
            [_, ..] if payload.len() < 4 => Err(SubnegotiationError::Truncated),
            _ => Err(SubnegotiationError::TooLong),
        }
    }
}

/// The window size this end reports when it performs NAWS.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The size sent; telnetlib3's default is 80 x 25.
    pub size: WindowSize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            size: WindowSize { cols: 80, rows: 25 },
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// The size the peer last reported.
    pub(crate) peer: Option<WindowSize>,
}

/// What the application learns from NAWS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The peer reported its window size.
    WindowSize(WindowSize),
}

pub(crate) fn receive(
    state: &mut State,
    link: &Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
    payload: &[u8],
) -> Result<(), SubnegotiationError> {
    // Only the side that asked (DO NAWS) receives sizes. Like telnetlib3 we accept a
    // server-bound size even before WILL NAWS arrived: some clients send it early.
    if link.role == Role::Client && !link.enabled(option, Side::Remote) {
        return Err(SubnegotiationError::NotAllowed);
    }
    let size = WindowSize::from_payload(payload)?;
    state.peer = Some(size);
    emit.emit(Event::WindowSize(size));
    Ok(())
}

pub(crate) fn changed(
    config: &Config,
    link: &mut Link,
    option: TelnetOption,
    side: Side,
    enabled: bool,
) {
    // RFC 1073: once DO NAWS is agreed, the client sends its size at once.
    if side == Side::Local && enabled {
        link.send_subnegotiation(option, &config.size.to_payload());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::{drive_pair, transmit, Log};
    use crate::{Policy, Session, SessionConfig};

    #[test]
    fn rfc1073_example_bytes() {
        // RFC 1073's example: an 80 x 24 window.
        let size = WindowSize { cols: 80, rows: 24 };
        assert_eq!(size.to_payload(), [0, 80, 0, 24]);
        assert_eq!(WindowSize::from_payload(&[0, 80, 0, 24]), Ok(size));
    }

    #[test]
    fn bad_lengths_are_rejected() {
        assert_eq!(
            WindowSize::from_payload(&[]),
            Err(SubnegotiationError::Empty)
        );
        assert_eq!(
            WindowSize::from_payload(&[0, 80, 0]),
            Err(SubnegotiationError::Truncated)
        );
        assert_eq!(
            WindowSize::from_payload(&[0; 5]),
            Err(SubnegotiationError::TooLong)
        );
    }

    #[test]
    fn client_sends_size_on_do_naws_with_iac_doubled() {
        let mut config = SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Naws));
        config.naws.size = WindowSize {
            cols: 255,
            rows: 0x1FF,
        };
        let mut client = Session::new(Role::Client, config);
        let mut log = Log::default();
        client.receive(b"\xff\xfd\x1f", &mut log);
        assert_eq!(
            transmit(&mut client),
            b"\xff\xfb\x1f\xff\xfa\x1f\x00\xff\xff\x01\xff\xff\xff\xf0"
        );
        client.set_window_size(WindowSize {
            cols: 132,
            rows: 43,
        });
        assert_eq!(
            transmit(&mut client),
            b"\xff\xfa\x1f\x00\x84\x00\x2b\xff\xf0"
        );
    }

    #[test]
    fn server_receives_size_and_rejects_garbage() {
        let mut server = Session::new(Role::Server, SessionConfig::default());
        let mut log = Log::default();
        server.receive(b"\xff\xfa\x1f\x00\x64\x00\x1e\xff\xf0", &mut log);
        server.receive(b"\xff\xfa\x1f\x00\x64\xff\xf0", &mut log);
        assert_eq!(
            log.events,
            [
                "Naws(WindowSize(WindowSize { cols: 100, rows: 30 }))",
                "BadSubnegotiation { option: Naws, error: Truncated }",
            ]
        );
        assert_eq!(
            server.peer_window_size(),
            Some(WindowSize {
                cols: 100,
                rows: 30
            })
        );
    }

    #[test]
    fn round_trip_between_sessions() {
        let (mut client, mut server) = drive_pair(
            Policy::new().allow_local(TelnetOption::Naws),
            Policy::new(),
            |_client, server| server.request_remote(TelnetOption::Naws, true).unwrap(),
        );
        assert_eq!(
            server.peer_window_size(),
            Some(WindowSize { cols: 80, rows: 25 })
        );
        client.set_window_size(WindowSize { cols: 1, rows: 2 });
        let wire = transmit(&mut client);
        server.receive(&wire, &mut Log::default());
        assert_eq!(
            server.peer_window_size(),
            Some(WindowSize { cols: 1, rows: 2 })
        );
    }
}
