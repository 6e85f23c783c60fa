//! LFLOW, remote flow control ("TOGGLE-FLOW-CONTROL", RFC 1372, which obsoletes
//! RFC 1080).
//!
//! The sender of `DO LFLOW` (normally the server) commands; the sender of `WILL LFLOW`
//! (normally the client, which owns the terminal) obeys. Commands are one byte: flow
//! control OFF or ON, and whether output, once stopped by XOFF, restarts on any
//! character (RESTART-ANY) or only on XON (RESTART-XON). RFC 1080 section 4 (kept by
//! RFC 1372) lets either side command, so who may send is decided by the side that sent
//! DO, not by the role.

use crate::family::{Emit, SubnegotiationError};
use crate::link::{Link, Side};
use crate::option::TelnetOption;

/// An LFLOW subnegotiation command (RFC 1372 section 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LflowCommand {
    /// `OFF` (0): disable flow control.
    Off,
    /// `ON` (1): enable flow control.
    On,
    /// `RESTART-ANY` (2): any character (except another XOFF) restarts output.
    RestartAny,
    /// `RESTART-XON` (3): only XON restarts output.
    RestartXon,
}

impl LflowCommand {
    /// The byte on the wire.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Off => 0,
            Self::On => 1,
            Self::RestartAny => 2,
            Self::RestartXon => 3,
        }
    }

    /// The command for a wire byte, if it is one.
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Off),
            1 => Some(Self::On),
            2 => Some(Self::RestartAny),
            3 => Some(Self::RestartXon),
            _ => None,
        }
    }

    /// The command setting flow control on or off.
    #[must_use]
    pub const fn lineflow(on: bool) -> Self {
        if on {
            Self::On
        } else {
            Self::Off
        }
    }

    /// The command setting the restart mode: RESTART-ANY when `any`, else RESTART-XON.
    #[must_use]
    pub const fn restart(any: bool) -> Self {
        if any {
            Self::RestartAny
        } else {
            Self::RestartXon
        }
    }

    /// Parse a subnegotiation payload: exactly one command byte.
    ///
    /// # Errors
    ///
    /// [`SubnegotiationError::Empty`], [`SubnegotiationError::TooLong`] for more than one
    /// byte, [`SubnegotiationError::UnknownCommand`] for a byte other than 0 to 3.
    pub fn from_payload(payload: &[u8]) -> Result<Self, SubnegotiationError> {
        match *payload {
            [code] => Self::from_code(code).ok_or(SubnegotiationError::UnknownCommand(code)),
            [] => Err(SubnegotiationError::Empty),
            _ => Err(SubnegotiationError::TooLong),
        }
    }

    /// The subnegotiation payload.
    #[must_use]
    pub const fn to_payload(self) -> [u8; 1] {
        [self.code()]
    }
}

/// The flow control settings at the start of a connection.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Flow control on; telnetlib3's `lflow = True`.
    pub lineflow: bool,
    /// Restart output on any character (RESTART-ANY) rather than only XON; telnetlib3's
    /// `xon_any = False`.
    pub xon_any: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            lineflow: true,
            xon_any: false,
        }
    }
}

/// The settings in force, once changed from [`Config`] by a command or a setter.
#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    pub(crate) lineflow: Option<bool>,
    pub(crate) xon_any: Option<bool>,
}

/// What the application learns from LFLOW: the peer's commands (we perform LFLOW).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The peer turned flow control on (`ON`) or off (`OFF`).
    Lineflow(bool),
    /// The peer set the restart mode: `true` for `RESTART-ANY`, `false` for
    /// `RESTART-XON`.
    XonAny(bool),
}

impl State {
    /// Whether flow control is on.
    pub(crate) fn lineflow(&self, config: &Config) -> bool {
        self.lineflow.unwrap_or(config.lineflow)
    }

    /// Whether any character restarts output.
    pub(crate) fn xon_any(&self, config: &Config) -> bool {
        self.xon_any.unwrap_or(config.xon_any)
    }
}

pub(crate) fn receive(
    state: &mut State,
    link: &Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
    payload: &[u8],
) -> Result<(), SubnegotiationError> {
    // RFC 1372 section 2 and RFC 1080 section 4: only the sender of DO commands, so only
    // the side performing LFLOW (which sent WILL) accepts commands.
    if !link.enabled(option, Side::Local) {
        return Err(SubnegotiationError::NotAllowed);
    }
    let command = LflowCommand::from_payload(payload)?;
    let event = match command {
        LflowCommand::Off | LflowCommand::On => {
            let on = command == LflowCommand::On;
            state.lineflow = Some(on);
            Event::Lineflow(on)
        }
        // telnetlib3's `_handle_sb_lflow` sets `xon_any = (opt is RESTART_XON)`, the
        // inverse of what RFC 1372 says and of its own `send_lineflow_mode`; RESTART-ANY
        // means any character restarts output, so xon_any is true.
        LflowCommand::RestartAny | LflowCommand::RestartXon => {
            let any = command == LflowCommand::RestartAny;
            state.xon_any = Some(any);
            Event::XonAny(any)
        }
    };
    emit.emit(event);
    Ok(())
}

pub(crate) fn changed(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    option: TelnetOption,
    side: Side,
    enabled: bool,
) {
    if !enabled {
        return;
    }
    match side {
        // RFC 1080 section 4: once DO and WILL are exchanged, the sender of WILL must
        // enable flow control, so that it starts in a known state.
        Side::Local => state.lineflow = Some(true),
        // We command: send the restart mode, as telnetlib3's `send_lineflow_mode`, and OFF
        // if flow control should be off (the peer has just turned it on).
        Side::Remote => {
            let restart = LflowCommand::restart(state.xon_any(config));
            link.send_subnegotiation(option, &restart.to_payload());
            if !state.lineflow(config) {
                link.send_subnegotiation(option, &LflowCommand::Off.to_payload());
            }
        }
    }
}

/// The `SB LFLOW ... SE` parameters for a STATUS report while we command LFLOW: the flow
/// control state, then the restart mode, each as its own block (as BSD telnetd does).
pub(crate) fn status_parameters(
    state: &State,
    config: &Config,
    link: &Link,
) -> Option<[[u8; 1]; 2]> {
    link.enabled(TelnetOption::Lflow, Side::Remote).then(|| {
        [
            LflowCommand::lineflow(state.lineflow(config)).to_payload(),
            LflowCommand::restart(state.xon_any(config)).to_payload(),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::{drive_pair_with, transmit, Log};
    use crate::{Policy, Role, Session, SessionConfig};

    fn sb(code: u8) -> Vec<u8> {
        vec![0xff, 0xfa, 0x21, code, 0xff, 0xf0]
    }

    fn client() -> (Session, Log) {
        let policy = Policy::new().allow_local(TelnetOption::Lflow);
        let mut client = Session::new(Role::Client, SessionConfig::with_policy(policy));
        let mut log = Log::default();
        client.receive(b"\xff\xfd\x21", &mut log); // DO LFLOW
        assert_eq!(transmit(&mut client), b"\xff\xfb\x21");
        (client, log)
    }

    #[test]
    fn codes_round_trip() {
        for code in 0..=255u8 {
            match LflowCommand::from_payload(&[code]) {
                Ok(command) => assert_eq!(command.to_payload(), [code]),
                Err(error) => {
                    assert!(code > 3);
                    assert_eq!(error, SubnegotiationError::UnknownCommand(code));
                }
            }
        }
        assert_eq!(
            LflowCommand::from_payload(&[]),
            Err(SubnegotiationError::Empty)
        );
        assert_eq!(
            LflowCommand::from_payload(&[1, 1]),
            Err(SubnegotiationError::TooLong)
        );
    }

    #[test]
    fn server_sends_restart_mode_on_will() {
        let policy = Policy::new().allow_remote(TelnetOption::Lflow);
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(policy));
        let mut log = Log::default();
        server.receive(b"\xff\xfb\x21", &mut log); // WILL LFLOW
        assert_eq!(
            transmit(&mut server),
            [b"\xff\xfd\x21".as_slice(), &sb(3)].concat()
        );
        server.set_xon_any(true);
        assert_eq!(transmit(&mut server), sb(2));
        server.set_lineflow(false);
        assert_eq!(transmit(&mut server), sb(0));
        server.set_lineflow(true);
        assert_eq!(transmit(&mut server), sb(1));
        assert!(server.xon_any() && server.lineflow());
        // The server never obeys commands: it sent DO, not WILL.
        server.receive(&sb(0), &mut log);
        assert_eq!(
            log.events.last().unwrap(),
            "BadSubnegotiation { option: Lflow, error: NotAllowed }"
        );
        assert!(server.lineflow());
    }

    #[test]
    fn server_config_is_announced() {
        let mut config =
            SessionConfig::with_policy(Policy::new().allow_remote(TelnetOption::Lflow));
        config.lflow = Config {
            lineflow: false,
            xon_any: true,
        };
        let mut server = Session::new(Role::Server, config);
        server.receive(b"\xff\xfb\x21", &mut Log::default());
        assert_eq!(
            transmit(&mut server),
            [b"\xff\xfd\x21".as_slice(), &sb(2), &sb(0)].concat()
        );
    }

    #[test]
    fn setters_without_lflow_only_change_state() {
        let mut server = Session::new(Role::Server, SessionConfig::default());
        assert!(server.lineflow() && !server.xon_any());
        server.set_lineflow(false);
        server.set_xon_any(true);
        assert!(!server.lineflow() && server.xon_any());
        assert!(transmit(&mut server).is_empty());
    }

    #[test]
    fn client_obeys_commands() {
        let (mut client, mut log) = client();
        for code in [0, 2, 1, 3] {
            client.receive(&sb(code), &mut log);
        }
        assert_eq!(
            log.events[1..],
            [
                "Lflow(Lineflow(false))",
                "Lflow(XonAny(true))",
                "Lflow(Lineflow(true))",
                "Lflow(XonAny(false))",
            ]
        );
        client.receive(&sb(2), &mut log);
        assert!(client.xon_any());
        client.receive(&sb(0), &mut log);
        assert!(!client.lineflow());
        // Client setters never command the server.
        client.set_lineflow(true);
        assert!(transmit(&mut client).is_empty());
    }

    #[test]
    fn client_rejects_malformed_and_unexpected() {
        let (mut client, mut log) = client();
        client.receive(b"\xff\xfa\x21\x04\xff\xf0", &mut log);
        client.receive(b"\xff\xfa\x21\xff\xf0", &mut log);
        client.receive(b"\xff\xfa\x21\x00\x01\xff\xf0", &mut log);
        assert_eq!(
            log.events[1..],
            [
                "BadSubnegotiation { option: Lflow, error: UnknownCommand(4) }",
                "BadSubnegotiation { option: Lflow, error: Empty }",
                "BadSubnegotiation { option: Lflow, error: TooLong }",
            ]
        );
        assert!(client.lineflow() && !client.xon_any());

        let mut stranger = Session::new(Role::Client, SessionConfig::default());
        let mut log = Log::default();
        stranger.receive(&sb(0), &mut log);
        assert_eq!(
            log.events,
            ["BadSubnegotiation { option: Lflow, error: NotAllowed }"]
        );
        assert!(stranger.lineflow());
    }

    #[test]
    fn enabling_resets_client_to_flow_control_on() {
        let (mut client, mut log) = client();
        client.receive(&sb(0), &mut log);
        assert!(!client.lineflow());
        client.receive(b"\xff\xfe\x21\xff\xfd\x21", &mut log); // DONT, DO
        assert!(client.lineflow());
    }

    #[test]
    fn round_trip_between_sessions() {
        let mut server = SessionConfig::with_policy(Policy::new());
        server.lflow.xon_any = true;
        let (mut client, mut server, client_log, _) = drive_pair_with(
            SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Lflow)),
            server,
            |_client, server| server.request_remote(TelnetOption::Lflow, true).unwrap(),
        );
        assert!(client.xon_any() && client.lineflow());
        assert_eq!(client_log.events.last().unwrap(), "Lflow(XonAny(true))");
        server.set_lineflow(false);
        let wire = transmit(&mut server);
        client.receive(&wire, &mut Log::default());
        assert!(!client.lineflow());
    }
}
