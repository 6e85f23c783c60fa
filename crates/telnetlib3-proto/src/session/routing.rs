//! The routing table: which option family handles a subnegotiation, a change of state,
//! a refusal or a negotiation the Q method does not own. Adding a family touches the
//! family's module and this table.

use crate::command::Verb;
use crate::event::{Event, Sink};
use crate::link::Side;
use crate::option::TelnetOption;
use crate::options::{
    charset, environ, lflow, linemode, logout, naws, sndloc, status, timing_mark, tspeed, ttype,
    xdisploc, Context,
};

/// A subnegotiation arrived: hand it to its family.
pub(super) fn receive<S: Sink>(cx: &mut Context<'_, S>, option: TelnetOption, payload: &[u8]) {
    use TelnetOption as O;
    match option {
        O::Charset => charset::receive(cx, option, payload),
        O::NewEnviron | O::OldEnviron => environ::receive(cx, option, payload),
        O::Lflow => lflow::receive(cx, option, payload),
        O::Linemode => linemode::receive(cx, option, payload),
        O::Naws => naws::receive(cx, option, payload),
        O::Sndloc => sndloc::receive(cx, option, payload),
        O::Status => status::receive(cx, option, payload),
        O::Tspeed => tspeed::receive(cx, option, payload),
        O::Ttype => ttype::receive(cx, option, payload),
        O::Xdisploc => xdisploc::receive(cx, option, payload),
        // Anything else (MUD protocols, unknown codes) goes to the application as is.
        _ => cx.emit(Event::Subnegotiation { option, payload }),
    }
}

/// A subnegotiation of `option` was too long and is being discarded; `first_byte` is its
/// payload's first byte. A request that expects an answer still gets one.
pub(super) fn overflowed<S: Sink>(
    cx: &mut Context<'_, S>,
    option: TelnetOption,
    first_byte: Option<u8>,
) {
    if option == TelnetOption::Charset {
        charset::overflowed(cx, option, first_byte);
    }
}

/// An option turned on or off on one side: let its family react (send a SEND, an IS, ...).
pub(super) fn changed<S: Sink>(
    cx: &mut Context<'_, S>,
    option: TelnetOption,
    side: Side,
    enabled: bool,
) {
    use TelnetOption as O;
    match option {
        O::Charset => charset::changed(cx, option, side, enabled),
        O::NewEnviron | O::OldEnviron => environ::changed(cx, option, side, enabled),
        O::Lflow => lflow::changed(cx, option, side, enabled),
        O::Linemode => linemode::changed(cx, option, side, enabled),
        O::Logout => logout::changed(cx, option, side, enabled),
        O::Naws => naws::changed(cx, option, side, enabled),
        O::Sndloc => sndloc::changed(cx, option, side, enabled),
        O::Status => status::changed(cx, option, side, enabled),
        O::Tspeed => tspeed::changed(cx, option, side, enabled),
        O::Ttype => ttype::changed(cx, option, side, enabled),
        O::Xdisploc => xdisploc::changed(cx, option, side, enabled),
        _ => {}
    }
}

/// Our request to enable an option on `side` was refused (RFC 1143: WANTYES answered by
/// WONT/DONT).
pub(super) fn refused<S: Sink>(cx: &mut Context<'_, S>, option: TelnetOption, side: Side) {
    if option == TelnetOption::Charset && side == Side::Local {
        charset::refused(cx);
    }
}

/// A negotiation verb for an option whose semantics are not RFC 1143's: return true if
/// the family handled it, so the Q method must not see it.
pub(super) fn special_negotiation<S: Sink>(
    cx: &mut Context<'_, S>,
    verb: Verb,
    option: TelnetOption,
) -> bool {
    match option {
        TelnetOption::Tm => {
            timing_mark::negotiation(cx, verb);
            true
        }
        _ => false,
    }
}
