//! What a session reports to the application: [`Event`] and the [`Sink`] it goes to.
//!
//! This module sits above the option families: it wraps each family's event type in a
//! variant of [`Event`], and makes every [`Sink`] an emitter of each of them, so that a
//! family reports through a sink without naming this module.

use crate::command::Command;
use crate::family::{Emit, SubnegotiationError};
use crate::link::Side;
use crate::option::TelnetOption;
use crate::options;
use crate::parser::ProtocolError;

/// Something that happened on the connection, other than data.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A two-byte command from the peer (`IAC AYT`, `IAC GA`, ...).
    Command(Command),
    /// An option became enabled or disabled on one side.
    OptionChanged {
        /// The option.
        option: TelnetOption,
        /// Which side of it.
        side: Side,
        /// Its new state.
        enabled: bool,
    },
    /// A subnegotiation of an option this crate does not interpret, payload unescaped.
    Subnegotiation {
        /// The option.
        option: TelnetOption,
        /// The bytes between `IAC SB <option>` and `IAC SE`.
        payload: &'a [u8],
    },
    /// Malformed input the parser recovered from.
    ProtocolError(ProtocolError),
    /// The peer answered our DONT with WILL, or our WONT with DO (RFC 1143 section 7
    /// calls this an error; the state recovers as the RFC says, and nothing is sent).
    NegotiationViolation {
        /// The option.
        option: TelnetOption,
        /// Which side of it.
        side: Side,
    },
    /// A subnegotiation was malformed or not allowed now; it was ignored.
    BadSubnegotiation {
        /// The option.
        option: TelnetOption,
        /// What was wrong.
        error: SubnegotiationError,
    },

    /// CHARSET (RFC 2066).
    Charset(options::charset::Event<'a>),

    /// NEW-ENVIRON or ENVIRON (RFC 1572, 1408).
    Environ(options::environ::Event<'a>),

    /// LFLOW (RFC 1372).
    Lflow(options::lflow::Event),

    /// LINEMODE (RFC 1184), including SLC functions recognised in the data.
    Linemode(options::linemode::Event),

    /// LOGOUT (RFC 727).
    Logout(options::logout::Event),

    /// NAWS (RFC 1073).
    Naws(options::naws::Event),

    /// MCCP2 and MCCP3: where compression starts and ends.
    Mccp(options::mccp::Event),

    /// SNDLOC (RFC 779).
    Sndloc(options::sndloc::Event<'a>),

    /// STATUS (RFC 859).
    Status(options::status::Event<'a>),

    /// TIMING-MARK (RFC 860).
    TimingMark(options::timing_mark::Event),

    /// TSPEED (RFC 1079).
    Tspeed(options::tspeed::Event),

    /// TTYPE (RFC 1091).
    Ttype(options::ttype::Event<'a>),

    /// XDISPLOC (RFC 1096).
    Xdisploc(options::xdisploc::Event<'a>),

    /// GMCP (MUD option 201).
    Gmcp(options::gmcp::Event),

    /// MSDP (MUD option 69).
    Msdp(options::msdp::Event),

    /// MSSP (MUD option 70).
    Mssp(options::mssp::Event),

    /// ZMP (MUD option 93).
    Zmp(options::zmp::Event),

    /// ATCP (MUD option 200).
    Atcp(options::atcp::Event),

    /// Aardwolf's option 102.
    Aardwolf(options::aardwolf::Event),

    /// A MUD protocol's data store was full: what arrived was reported (by the variant
    /// above) but not kept.
    MudDataDropped(options::mud_store::DataDropped),
}

/// Receives a [`Session`](crate::Session)'s output toward the application, in stream order.
pub trait Sink {
    /// Application data from the peer.
    fn data(&mut self, data: &[u8]);
    /// Anything else that happened.
    fn event(&mut self, event: Event<'_>);
}

/// Every sink takes every family's events: a family emits its own type and the sink gets
/// it wrapped in its [`Event`] variant.
impl<'e, S: Sink + ?Sized, E: Into<Event<'e>>> Emit<E> for S {
    #[inline]
    fn emit(&mut self, event: E) {
        self.event(event.into());
    }
}

/// `From<family event> for Event`, one line per family.
macro_rules! wrap {
    ($($variant:ident($($path:ident)::+ $(<$a:lifetime>)?)),+ $(,)?) => {$(
        impl<'a> From<$($path)::+ $(<$a>)?> for Event<'a> {
            fn from(event: $($path)::+ $(<$a>)?) -> Self {
                Self::$variant(event)
            }
        }
    )+};
}

wrap! {
    Charset(options::charset::Event<'a>),
    Environ(options::environ::Event<'a>),
    Lflow(options::lflow::Event),
    Linemode(options::linemode::Event),
    Logout(options::logout::Event),
    Naws(options::naws::Event),
    Mccp(options::mccp::Event),
    Sndloc(options::sndloc::Event<'a>),
    Status(options::status::Event<'a>),
    TimingMark(options::timing_mark::Event),
    Tspeed(options::tspeed::Event),
    Ttype(options::ttype::Event<'a>),
    Xdisploc(options::xdisploc::Event<'a>),
    Gmcp(options::gmcp::Event),
    Msdp(options::msdp::Event),
    Mssp(options::mssp::Event),
    Zmp(options::zmp::Event),
    Atcp(options::atcp::Event),
    Aardwolf(options::aardwolf::Event),
    MudDataDropped(options::mud_store::DataDropped),
}
