//! LINEMODE (RFC 1184): MODE, FORWARDMASK and SLC, and SLC characters in the data.
//!
//! The client performs LINEMODE (`WILL LINEMODE`), the server asks for it (`DO`). Inside
//! `IAC SB LINEMODE ... IAC SE` the first byte says what follows:
//!
//! ```text
//! MODE (1) mask                      the server sets the mode; the client acknowledges
//! SLC (3) {function modifier value}  both ends agree on the special characters
//! DO (253) FORWARDMASK (2) mask      server: "forward your line on these characters"
//! DONT (254) FORWARDMASK (2)         server: "stop"
//! WILL (251) / WONT (252) FORWARDMASK client's answer
//! ```
//!
//! As telnetlib3 does, the server proposes its configured mode (`LIT_ECHO`, i.e. remote
//! editing) as soon as the client agrees, and the client starts the SLC exchange by
//! asking for the server's defaults (`SLC 0 SLC_DEFAULT 0`). When the session is in
//! "kludge" mode (the server echoes and go-aheads are suppressed, no LINEMODE) or
//! "remote" mode (LINEMODE without EDIT), every active SLC character in the client's data
//! is reported to the server as [`Event::SlcFunction`]; the byte stays in the data.

mod flags;
mod forwardmask;
mod mode;
mod slc;
mod snoop;

#[cfg(test)]
mod tests;

pub use forwardmask::{ForwardMask, MAX_MASK};
pub use mode::ModeMask;
pub use slc::{
    parse_triplets, SlcEntry, SlcFlags, SlcFunction, SlcLevel, SlcTable, SlcTriplet, NSLC, VDISABLE,
};

use crate::command::Verb;
use crate::family::{Emit, SubnegotiationError};
use crate::link::{Link, Role, Side};
use crate::option::TelnetOption;
use snoop::Scanner;

/// The `MODE` suboption byte.
pub const LM_MODE: u8 = 1;
/// The `FORWARDMASK` suboption byte (after DO, DONT, WILL or WONT).
pub const LM_FORWARDMASK: u8 = 2;
/// The `SLC` suboption byte.
pub const LM_SLC: u8 = 3;

/// One LINEMODE subnegotiation, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'p> {
    /// `MODE mask` (the MODE_ACK bit kept).
    Mode(ModeMask),
    /// `SLC triplets...`: the bytes after `SLC`, a whole number of triplets.
    Slc(&'p [u8]),
    /// `<verb> FORWARDMASK [mask]`: the mask only with DO.
    ForwardMask(Verb, Option<ForwardMask>),
}

impl<'p> Message<'p> {
    /// Parse a LINEMODE subnegotiation payload (IAC doubling already undone).
    ///
    /// # Errors
    ///
    /// An empty payload, an unknown suboption byte, a MODE without exactly one mask byte,
    /// an SLC list with a partial triplet, a FORWARDMASK verb not followed by FORWARDMASK,
    /// a DO without a mask of 1 to 32 bytes, or bytes after DONT / WILL / WONT.
    pub fn parse(payload: &'p [u8]) -> Result<Self, SubnegotiationError> {
        use SubnegotiationError as E;
        match *payload {
            [] => Err(E::Empty),
            [LM_MODE] => Err(E::Truncated),
            [LM_MODE, mask] => Ok(Self::Mode(ModeMask::from_bits_truncate(mask))),
            [LM_MODE, ..] => Err(E::TooLong),
            [LM_SLC, ref list @ ..] if list.len() % 3 == 0 => Ok(Self::Slc(list)),
            // A trailing partial triplet rejects the whole list.
            [LM_SLC, ..] => Err(E::Truncated),
            [verb, ref rest @ ..] => {
                let Some(verb) = Verb::from_code(verb) else {
                    return Err(E::UnknownCommand(verb));
                };
                match *rest {
                    [] => Err(E::Truncated),
                    [LM_FORWARDMASK] if verb == Verb::Do => Err(E::Truncated),
                    [LM_FORWARDMASK] => Ok(Self::ForwardMask(verb, None)),
                    [LM_FORWARDMASK, ref mask @ ..] if verb == Verb::Do => Ok(Self::ForwardMask(
                        verb,
                        Some(ForwardMask::from_bytes(mask)?),
                    )),
                    [LM_FORWARDMASK, ..] => Err(E::TooLong),
                    [other, ..] => Err(E::UnknownCommand(other)),
                }
            }
        }
    }

    /// Append the payload (before IAC doubling) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match *self {
            Self::Mode(mode) => out.extend_from_slice(&[LM_MODE, mode.bits()]),
            Self::Slc(list) => {
                out.push(LM_SLC);
                out.extend_from_slice(list);
            }
            Self::ForwardMask(verb, mask) => {
                out.extend_from_slice(&[verb.code(), LM_FORWARDMASK]);
                if let Some(mask) = mask {
                    out.extend_from_slice(mask.as_bytes());
                }
            }
        }
    }
}

/// What this end proposes, accepts and starts with for LINEMODE.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The mode a server proposes once the client agrees to LINEMODE: telnetlib3's
    /// `default_linemode`, `REMOTE | LIT_ECHO` (its `LinemodeServer` uses `EDIT`).
    pub default_mode: ModeMask,
    /// The mode bits a client agrees to besides EDIT and TRAPSIG, which RFC 1184 section
    /// 2.2 says it must always follow. Default: all (telnetlib3 agrees to anything).
    pub client_modes: ModeMask,
    /// Our SLC defaults, and the table we start with: telnetlib3's `BSD_SLC_TAB`.
    pub slc_defaults: SlcTable,
    /// A client starts the SLC exchange with `0 SLC_DEFAULT 0`, asking for the server's
    /// defaults, as telnetlib3 does; when false it sends its own table instead, as BSD
    /// telnet does. RFC 1184 allows both.
    pub client_requests_defaults: bool,
    /// A server sends `DO FORWARDMASK` with the mask of its SLC characters after each SLC
    /// exchange that changes it (telnetlib3 sends it after every exchange).
    pub send_forwardmask: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            default_mode: ModeMask::LIT_ECHO,
            client_modes: ModeMask::ALL,
            slc_defaults: SlcTable::bsd(),
            client_requests_defaults: true,
            send_forwardmask: true,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// The mode in force, without MODE_ACK; `None` while LINEMODE is off, 0 once it is
    /// negotiated (RFC 1184 section 3).
    pub(crate) mode: Option<ModeMask>,
    /// Server: the mode we sent and whose acknowledgement we await.
    pub(crate) proposed: Option<ModeMask>,
    /// The SLC table; `None` while it is still `Config::slc_defaults` (the state is
    /// built before the configuration is at hand). Boxed, like the scanner: most
    /// sessions never have either, and an idle connection should not carry them.
    pub(crate) table: Option<Box<SlcTable>>,
    /// The table's characters arranged for the data scan; `None` like `table`.
    scanner: Option<Box<Scanner>>,
    /// Client: the mask the server sent; server: the mask we sent.
    pub(crate) forwardmask: Option<ForwardMask>,
    /// Client: whether we answered WILL FORWARDMASK; server: what the client answered.
    pub(crate) forwarding: Option<bool>,
    /// Server: our whole SLC table went out once.
    slc_sent: bool,
    /// The SLC triplets the peer sent, in order, up to [`MAX_PEER_SLC`]: what it said,
    /// before our rules made anything of it, for tools that classify peers (telnetlib3's
    /// fingerprint server records SLC by its own rules). Empty until an SLC list arrives.
    pub(crate) peer_slc: Vec<SlcTriplet>,
}

/// The most SLC triplets of the peer kept (two full tables and more); later ones are
/// processed but not kept, so a peer cannot grow the record.
pub const MAX_PEER_SLC: usize = 64;

impl State {
    /// Whether data must be scanned for SLC characters: a field read. Whether the session
    /// mode calls for it is checked by [`snoop`] itself, per block of data, because ECHO
    /// and SGA changes are not routed to this family.
    pub(crate) fn snooping(&self) -> bool {
        self.scanner
            .as_deref()
            .is_none_or(|scanner| !scanner.is_empty())
    }

    fn table(&self, defaults: &SlcTable) -> SlcTable {
        self.table.as_deref().copied().unwrap_or(*defaults)
    }

    pub(crate) fn table_mut(&mut self, defaults: &SlcTable) -> &mut SlcTable {
        self.table.get_or_insert_with(|| Box::new(*defaults))
    }

    pub(crate) fn table_changed(&mut self) {
        self.scanner = self
            .table
            .as_deref()
            .map(|table| Box::new(Scanner::new(table)));
    }

    fn reset_negotiation(&mut self) {
        self.mode = None;
        self.proposed = None;
        self.forwardmask = None;
        self.forwarding = None;
        self.slc_sent = false;
    }
}

/// What the application learns from LINEMODE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The mode in force changed (MODE_ACK never set here).
    ModeChanged(ModeMask),
    /// The peer's SLC negotiation changed one function of our table.
    SlcChanged {
        /// The function.
        function: SlcFunction,
        /// Its new setting.
        entry: SlcEntry,
    },
    /// Client: the server asked us to forward on these characters (`DO FORWARDMASK`).
    ForwardMask(ForwardMask),
    /// Client: the server cancelled the forward mask (`DONT FORWARDMASK`).
    ForwardMaskCancelled,
    /// Server: the client agreed (`WILL FORWARDMASK`, true) or refused (`WONT`, false).
    ForwardMaskAnswer(bool),
    /// Server: an active SLC character arrived in the client's data (kludge or remote
    /// mode); the byte is still delivered as data. telnetlib3's `slc_received` and SLC
    /// callbacks.
    SlcFunction(SlcFunction),
}

/// The side of LINEMODE that matters for our role: the client performs it, the server
/// has the client perform it.
pub(crate) const fn linemode_side(role: Role) -> Side {
    match role {
        Role::Server => Side::Remote,
        Role::Client => Side::Local,
    }
}

pub(crate) fn receive(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
    payload: &[u8],
) -> Result<(), SubnegotiationError> {
    let message = Message::parse(payload)?;
    if !link.enabled(option, linemode_side(link.role)) {
        return Err(SubnegotiationError::NotAllowed);
    }
    match message {
        Message::Mode(mode) => {
            receive_mode(state, config, link, emit, option, mode);
            Ok(())
        }
        Message::Slc(list) => receive_slc(state, config, link, emit, option, list),
        Message::ForwardMask(verb, mask) => {
            receive_forwardmask(state, link, emit, option, verb, mask)
        }
    }
}

fn set_mode(state: &mut State, emit: &mut impl Emit<Event>, mode: ModeMask) {
    if state.mode != Some(mode) {
        state.mode = Some(mode);
        emit.emit(Event::ModeChanged(mode));
    }
}

/// RFC 1184 section 2.2. A MODE equal to the mode in force (ignoring MODE_ACK) is
/// ignored; a MODE with MODE_ACK set is never answered.
fn receive_mode(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
    received: ModeMask,
) {
    let mode = received.without_ack();
    let role = link.role;
    if role == Role::Server {
        // Any MODE from the client answers our proposal.
        state.proposed = None;
    }
    if received.is_ack() {
        match role {
            // "When a MODE command is received with the MODE_ACK bit set, and the mode
            // is different that what the current mode is, the client will ignore the
            // new mode" (and never answer).
            Role::Client => {}
            Role::Server => {
                // "... and the server will switch to the new mode. This ensures that
                // both sides of the connection will resolve to the same mode" (section
                // 2.2), even if it differs from our proposal.
                set_mode(state, emit, mode);
                // telnetlib3 sends its whole SLC table once, after the first
                // acknowledgement, unless the client already asked for it. An SLC list
                // without ACK bits may be sent at any time, and the client answers only
                // the entries that differ from its own, so the RFC allows it.
                let defaults = config.slc_defaults;
                if !state.slc_sent {
                    state.slc_sent = true;
                    let mut payload = vec![LM_SLC];
                    state
                        .table(&defaults)
                        .write_triplets(&defaults, &mut payload);
                    link.send_subnegotiation(option, &payload);
                }
            }
        }
        return;
    }
    if state.mode == Some(mode) {
        return;
    }
    let answer = match role {
        Role::Client => {
            // Section 2.2: the client "MUST agree with at least the state of the EDIT
            // and TRAPSIG bits"; it may decline the other bits, and then answers with the
            // subset it takes, without MODE_ACK.
            let accepted = config.client_modes | ModeMask::EDIT | ModeMask::TRAPSIG;
            let agreed = mode & accepted;
            if agreed == mode {
                agreed | ModeMask::MODE_ACK
            } else {
                agreed
            }
        }
        // The client answered our MODE with a subset, or asked for a mode itself (a MODE
        // "REQUESTS permission for" a switch, section 2.2): "a reply is sent with either
        // the new mode mask and the MODE_ACK bit set, or a subset of the new mode mask".
        // We agree to whatever the client can do (BSD telnetd and telnetlib3 do too).
        Role::Server => mode | ModeMask::MODE_ACK,
    };
    set_mode(state, emit, answer.without_ack());
    link.send_subnegotiation(option, &[LM_MODE, answer.bits()]);
}

fn receive_slc(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
    list: &[u8],
) -> Result<(), SubnegotiationError> {
    let Ok(triplets) = parse_triplets(list) else {
        return Err(SubnegotiationError::Truncated);
    };
    let room = MAX_PEER_SLC.saturating_sub(state.peer_slc.len());
    if let Ok(kept) = parse_triplets(list) {
        state.peer_slc.extend(kept.take(room));
    }
    let client = link.role == Role::Client;
    let defaults = config.slc_defaults;
    let mut reply = vec![LM_SLC];
    let outcome = slc::negotiate(
        state.table_mut(&defaults),
        &defaults,
        client,
        triplets,
        &mut reply,
    );
    if outcome.table_sent {
        state.slc_sent = true;
    }
    if outcome.changed != 0 {
        state.table_changed();
    }
    let table = state.table(&defaults);
    if reply.len() > 1 {
        link.send_subnegotiation(option, &reply);
    }
    for function in SlcFunction::ALL {
        if outcome.changed & (1 << function.code()) != 0 {
            let entry = table.get(function);
            emit.emit(Event::SlcChanged { function, entry });
        }
    }
    if link.role == Role::Server && config.send_forwardmask {
        send_forwardmask(state, config, link, false);
    }
    Ok(())
}

/// Server: send `DO FORWARDMASK` with our table's characters, unless that mask already
/// went out (and `force` is false). Returns whether it was sent.
pub(crate) fn send_forwardmask(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    force: bool,
) -> bool {
    if !link.enabled(TelnetOption::Linemode, Side::Remote) {
        return false;
    }
    // The masked characters are typed at the client: 8-bit ones exist only when the
    // client transmits in BINARY. (telnetlib3 looks at its own outgoing BINARY instead.)
    let binary = link.enabled(TelnetOption::Binary, Side::Remote);
    let defaults = config.slc_defaults;
    let mask = state.table(&defaults).forward_mask(binary);
    if !force && state.forwardmask == Some(mask) {
        return false;
    }
    state.forwardmask = Some(mask);
    let mut payload = Vec::with_capacity(2 + MAX_MASK);
    Message::ForwardMask(Verb::Do, Some(mask)).write(&mut payload);
    // send_subnegotiation doubles a 0xFF mask octet, which telnetlib3 does not.
    link.send_subnegotiation(TelnetOption::Linemode, &payload);
    true
}

fn receive_forwardmask(
    state: &mut State,
    link: &mut Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
    verb: Verb,
    mask: Option<ForwardMask>,
) -> Result<(), SubnegotiationError> {
    match (link.role, verb, mask) {
        (Role::Client, Verb::Do, Some(mask)) => {
            // RFC 1184 section 2.3: WILL FORWARDMASK "is sent in response to a DO
            // FORWARDMASK command", and every DO carries a new mask, so each one is
            // answered (WILL is a reply, never answered itself: no loop).
            state.forwardmask = Some(mask);
            state.forwarding = Some(true);
            link.send_subnegotiation(option, &[Verb::Will.code(), LM_FORWARDMASK]);
            emit.emit(Event::ForwardMask(mask));
        }
        (Role::Client, Verb::Dont, _) => {
            state.forwardmask = None;
            // Section 2.3 defines no answer to DONT FORWARDMASK, but the example of
            // section 5.10 answers it with WONT FORWARDMASK; answer only a change.
            let answer = state.forwarding == Some(true);
            state.forwarding = Some(false);
            if answer {
                link.send_subnegotiation(option, &[Verb::Wont.code(), LM_FORWARDMASK]);
            }
            emit.emit(Event::ForwardMaskCancelled);
        }
        (Role::Server, Verb::Will | Verb::Wont, _) => {
            let agreed = verb == Verb::Will;
            state.forwarding = Some(agreed);
            emit.emit(Event::ForwardMaskAnswer(agreed));
        }
        // DO / DONT go to the client, WILL / WONT to the server.
        _ => return Err(SubnegotiationError::NotAllowed),
    }
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
    let role = link.role;
    if option != TelnetOption::Linemode || side != linemode_side(role) {
        return;
    }
    state.reset_negotiation();
    if !enabled {
        return;
    }
    // RFC 1184 section 3: once LINEMODE is negotiated the mode is `MODE 0` until changed,
    // so a MODE 0 is then "currently in use" and ignored (section 2.2).
    state.mode = Some(ModeMask::REMOTE);
    let defaults = config.slc_defaults;
    match role {
        Role::Server => {
            // telnetlib3's `send_linemode(default_linemode)` on WILL LINEMODE; not for
            // mode 0, which is already in force and which the client would ignore.
            let mode = config.default_mode.without_ack();
            if mode != ModeMask::REMOTE {
                state.proposed = Some(mode);
                link.send_subnegotiation(option, &[LM_MODE, mode.bits()]);
            }
        }
        Role::Client => {
            let mut payload = vec![LM_SLC];
            if config.client_requests_defaults {
                // RFC 1184 section 2.4: `0 SLC_DEFAULT 0` asks the server to switch to
                // its defaults and send them.
                payload.extend_from_slice(&[0, SlcLevel::Default.bits(), 0]);
            } else {
                state
                    .table(&defaults)
                    .write_triplets(&defaults, &mut payload);
            }
            link.send_subnegotiation(option, &payload);
        }
    }
}

/// Whether the session mode is one where SLC characters are looked for in the data:
/// "remote" (LINEMODE without EDIT) or "kludge" (no LINEMODE; the server echoes and
/// go-aheads are suppressed), as telnetlib3's `mode` defines them.
///
/// Only a server looks: SLC characters are the keyboard's editing and signal characters
/// (RFC 1184 section 2.1), so they mean something in what the client's user typed, never
/// in the server's output. (telnetlib3's client runs the same byte handler and only logs
/// what it finds there; scanning every byte of the output for it cost our client a third
/// of its receiving time.)
fn snoop_mode(state: &State, link: &Link) -> bool {
    if link.role == Role::Client {
        return false;
    }
    if link.enabled(TelnetOption::Linemode, Side::Remote) {
        return !state.mode.is_some_and(|mode| mode.contains(ModeMask::EDIT));
    }
    link.enabled(TelnetOption::Echo, Side::Local) && link.enabled(TelnetOption::Sga, Side::Local)
}

/// Report every active SLC character of `data` (already delivered as data).
pub(crate) fn snoop(
    state: &mut State,
    config: &Config,
    link: &Link,
    emit: &mut impl Emit<Event>,
    data: &[u8],
) {
    if !snoop_mode(state, link) {
        return;
    }
    let table = state
        .table
        .as_deref()
        .copied()
        .unwrap_or(config.slc_defaults);
    let scanner = &**state
        .scanner
        .get_or_insert_with(|| Box::new(Scanner::new(&table)));
    scanner.scan(data, |byte| {
        if let Some(function) = scanner.function_of(byte, &table) {
            emit.emit(Event::SlcFunction(function));
        }
    });
}
