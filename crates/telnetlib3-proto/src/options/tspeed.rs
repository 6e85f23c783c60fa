//! TSPEED (RFC 1079).
//!
//! Not implemented yet: subnegotiations reach the application unparsed.

use super::Context;
use crate::option::TelnetOption;
use crate::session::{Event as SessionEvent, Side, Sink};

/// What this end answers or asks for TSPEED.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Config {}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {}

/// What the application learns from TSPEED.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    #[doc(hidden)]
    Placeholder,
}

pub(crate) fn receive<S: Sink>(cx: &mut Context<'_, S>, option: TelnetOption, payload: &[u8]) {
    cx.emit(SessionEvent::Subnegotiation { option, payload });
}

pub(crate) fn changed<S: Sink>(
    _cx: &mut Context<'_, S>,
    _option: TelnetOption,
    _side: Side,
    _enabled: bool,
) {
}
