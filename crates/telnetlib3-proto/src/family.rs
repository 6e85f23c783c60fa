//! What every option family is built from: the shared subnegotiation error, the emitter
//! its handlers report through, and the IS/SEND helpers of RFC 1079, 1091, 1096 and 859.
//!
//! This module sits just above the link layer and below the families: it names no family,
//! no session, no configuration and no event type. A family's handler has the shape
//!
//! ```text
//! fn receive(state: &mut State, config: &Config, link: &mut Link,
//!            emit: &mut impl Emit<Event>, option, payload) -> Result<(), SubnegotiationError>
//! ```
//!
//! It sees its own state and configuration, the link below it (role, option states,
//! outgoing queue) and an emitter for its own events; what it needs to know of another
//! family comes in as an argument from the session's routing table, which also reports
//! an `Err` as a bad subnegotiation.

use crate::link::{Link, Side};
use crate::option::TelnetOption;

/// Why a subnegotiation was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SubnegotiationError {
    /// The payload was empty where a command byte is required.
    #[error("empty subnegotiation")]
    Empty,
    /// The payload is shorter than the option requires.
    #[error("truncated subnegotiation")]
    Truncated,
    /// The payload is longer than the option allows.
    #[error("subnegotiation too long")]
    TooLong,
    /// The command byte (IS, SEND, REQUEST, ...) is unknown for this option.
    #[error("unknown subnegotiation command {0}")]
    UnknownCommand(u8),
    /// A field is malformed (not ASCII, not a number, bad structure).
    #[error("malformed subnegotiation field")]
    Malformed,
    /// The subnegotiation is valid but not allowed now: the option is not enabled on the
    /// side it needs, or this end of the connection may not receive it.
    #[error("subnegotiation not allowed in the current state")]
    NotAllowed,
    /// This option has no subnegotiation that we understand.
    #[error("subnegotiation of an unsupported option")]
    Unsupported,
}

/// Where a family's handlers report what the application learns. The session's sink is
/// one for every family's event type (the conversions into the session's `Event` live
/// above the families), so a family names only its own events.
pub(crate) trait Emit<E> {
    /// Report `event` to the application.
    fn emit(&mut self, event: E);
}

/// The first byte of the request/answer subnegotiations (TTYPE, TSPEED, XDISPLOC,
/// STATUS): RFC 1091, 1079, 1096 and 859 all use IS = 0 and SEND = 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subcommand {
    /// `IS` (0): the sender states its value.
    Is,
    /// `SEND` (1): the sender asks for the receiver's value.
    Send,
}

impl Subcommand {
    /// The byte on the wire.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Is => 0,
            Self::Send => 1,
        }
    }

    /// The subcommand for a wire byte, if it is one.
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Is),
            1 => Some(Self::Send),
            _ => None,
        }
    }
}

/// The two messages of the request/answer options (TSPEED, XDISPLOC, TTYPE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendIs<'p> {
    /// `SEND`: the sender of DO asks for the value.
    Send,
    /// `IS <value>`: the sender of WILL answers.
    Is(&'p [u8]),
}

/// Parse `IS <value>` / `SEND`, enforcing RFC 1079 / 1091 / 1096's direction rule: only
/// the side that sent DO may ask and only the side that sent WILL may answer.
pub(crate) fn parse_send_is<'p>(
    link: &Link,
    option: TelnetOption,
    payload: &'p [u8],
) -> Result<SendIs<'p>, SubnegotiationError> {
    const IS: u8 = Subcommand::Is.code();
    const SEND: u8 = Subcommand::Send.code();
    match payload {
        [] => Err(SubnegotiationError::Empty),
        [SEND] if link.enabled(option, Side::Local) => Ok(SendIs::Send),
        [SEND, ..] if payload.len() > 1 => Err(SubnegotiationError::TooLong),
        [IS, value @ ..] if link.enabled(option, Side::Remote) => Ok(SendIs::Is(value)),
        [IS | SEND, ..] => Err(SubnegotiationError::NotAllowed),
        [other, ..] => Err(SubnegotiationError::UnknownCommand(*other)),
    }
}

/// `IS <value>` as a payload.
pub(crate) fn is_payload(value: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(value.len() + 1);
    payload.push(Subcommand::Is.code());
    payload.extend_from_slice(value);
    payload
}

/// The `SEND` payload.
pub(crate) const SEND_PAYLOAD: &[u8] = &[Subcommand::Send.code()];

/// Validate a printable-ASCII text field of at most `max` bytes (terminal types, display
/// locations): the peer's bytes reach logs and environment variables.
pub(crate) fn ascii_text(value: &[u8], max: usize) -> Result<&str, SubnegotiationError> {
    if value.len() > max {
        return Err(SubnegotiationError::TooLong);
    }
    if !value.iter().all(|b| (0x20..0x7F).contains(b)) {
        return Err(SubnegotiationError::Malformed);
    }
    core::str::from_utf8(value).map_err(|_| SubnegotiationError::Malformed)
}

/// Whether `option` is enabled on either side: the MUD protocols (GMCP, MSDP, ZMP, ...)
/// flow both ways once one side performs them, as telnetlib3 sends them "with the
/// option enabled either direction".
pub(crate) fn enabled_either_way(link: &Link, option: TelnetOption) -> bool {
    link.enabled(option, Side::Local) || link.enabled(option, Side::Remote)
}

/// What every MUD protocol checks before it decodes a payload: the option is enabled on
/// either side ([`enabled_either_way`]), and the payload is not empty.
pub(crate) fn check_mud_payload(
    link: &Link,
    option: TelnetOption,
    payload: &[u8],
) -> Result<(), SubnegotiationError> {
    if !enabled_either_way(link, option) {
        return Err(SubnegotiationError::NotAllowed);
    }
    if payload.is_empty() {
        return Err(SubnegotiationError::Empty);
    }
    Ok(())
}
