//! One module per option family: each parses and builds its own subnegotiations, keeps
//! its own state, and reacts when its option is enabled or disabled.
//!
//! Every family has the same shape, so the session can dispatch to it blindly:
//!
//! - a public `Event` type (what the application learns), carried by
//!   [`crate::Event`]'s variant of the same name;
//! - a public `Config` (what this end answers or asks), a field of [`crate::SessionConfig`];
//! - a crate-private `State`, one field of the session's per-family state;
//! - `receive(cx, option, payload)` for a subnegotiation, and `changed(cx, option, side,
//!   enabled)` when the option turns on or off on one side;
//! - requests and getters on [`crate::Session`], which the session defines over the
//!   family's state: a family works on the link layer below it (role, option states,
//!   outgoing queue) and never sees the session, which routes input to it.
//!
//! A malformed subnegotiation is reported as [`crate::Event::BadSubnegotiation`] and
//! changes nothing.

use std::sync::Arc;

use crate::config::SessionConfig;
use crate::event::{Event, Sink};
use crate::link::{Link, Role, Side};
use crate::option::TelnetOption;
use crate::qmethod::RequestError;

pub mod charset;
pub mod environ;
pub mod lflow;
pub mod linemode;
pub mod logout;
pub mod naws;
pub mod sndloc;
pub mod status;
pub mod timing_mark;
pub mod tspeed;
pub mod ttype;
pub mod xdisploc;

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

/// The per-connection state of every option family.
#[derive(Clone, Debug, Default)]
pub(crate) struct Families {
    pub(crate) charset: charset::State,
    pub(crate) environ: environ::State,
    pub(crate) lflow: lflow::State,
    pub(crate) linemode: linemode::State,
    pub(crate) naws: naws::State,
    pub(crate) sndloc: sndloc::State,
    pub(crate) status: status::State,
    pub(crate) timing_mark: timing_mark::State,
    pub(crate) tspeed: tspeed::State,
    pub(crate) ttype: ttype::State,
    pub(crate) xdisploc: xdisploc::State,
}

/// What the option families work on: the link layer below them, the configuration and
/// every family's state. The session owns it beside its parser.
#[derive(Clone, Debug)]
pub(crate) struct Core {
    pub(crate) link: Link,
    /// Shared between the sessions of a server; copied on write by the few setters.
    pub(crate) config: Arc<SessionConfig>,
    pub(crate) families: Families,
}

impl Core {
    /// The state at the start of a connection.
    pub(crate) fn new(role: Role, config: Arc<SessionConfig>) -> Self {
        Self {
            link: Link::new(role),
            config,
            families: Families::default(),
        }
    }

    /// The configuration, made unique to this session before a change.
    pub(crate) fn config_mut(&mut self) -> &mut SessionConfig {
        Arc::make_mut(&mut self.config)
    }

    /// Whether data we send takes NVT end-of-line rules (translation on, BINARY off here).
    pub(crate) fn nvt_output(&self) -> bool {
        self.config.translate_eol && !self.link.enabled(TelnetOption::Binary, Side::Local)
    }
}

/// What an option family sees while it handles input: the link layer, the families'
/// state and the application's sink.
pub(crate) struct Context<'a, S> {
    pub(crate) core: &'a mut Core,
    pub(crate) sink: &'a mut S,
}

impl<S: Sink> Context<'_, S> {
    /// Which end of the connection this is.
    pub(crate) fn role(&self) -> Role {
        self.core.link.role
    }

    /// Report an event to the application.
    pub(crate) fn emit(&mut self, event: Event<'_>) {
        self.sink.event(event);
    }

    /// Report a malformed or unexpected subnegotiation; nothing else changes.
    pub(crate) fn reject(&mut self, option: TelnetOption, error: SubnegotiationError) {
        self.sink.event(Event::BadSubnegotiation { option, error });
    }

    /// Queue a subnegotiation frame (payload escaped).
    pub(crate) fn send_subnegotiation(&mut self, option: TelnetOption, payload: &[u8]) {
        self.core.link.send_subnegotiation(option, payload);
    }

    /// Whether `option` is enabled on `side`.
    pub(crate) fn enabled(&self, option: TelnetOption, side: Side) -> bool {
        self.core.link.enabled(option, side)
    }

    /// Ask for `option` on `side` (RFC 1143 request).
    pub(crate) fn request(
        &mut self,
        option: TelnetOption,
        side: Side,
        enable: bool,
    ) -> Result<(), RequestError> {
        self.core.link.request(side, option, enable)
    }
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
/// the side that sent DO may ask and only the side that sent WILL may answer. Anything
/// else is rejected (and `None` returned).
pub(crate) fn parse_send_is<'p, S: Sink>(
    cx: &mut Context<'_, S>,
    option: TelnetOption,
    payload: &'p [u8],
) -> Option<SendIs<'p>> {
    const IS: u8 = Subcommand::Is.code();
    const SEND: u8 = Subcommand::Send.code();
    let message = match payload {
        [] => Err(SubnegotiationError::Empty),
        [SEND] if cx.enabled(option, Side::Local) => Ok(SendIs::Send),
        [SEND, ..] if payload.len() > 1 => Err(SubnegotiationError::TooLong),
        [IS, value @ ..] if cx.enabled(option, Side::Remote) => Ok(SendIs::Is(value)),
        [IS | SEND, ..] => Err(SubnegotiationError::NotAllowed),
        [other, ..] => Err(SubnegotiationError::UnknownCommand(*other)),
    };
    message.map_err(|error| cx.reject(option, error)).ok()
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

#[cfg(test)]
pub(crate) mod tests;
