//! NEW-ENVIRON and ENVIRON (RFC 1572, RFC 1408, RFC 1571).
//!
//! The side that is DO (normally the server) asks with `SEND`; the side that is WILL
//! (normally the client) answers with `IS` and may later report changes with `INFO`:
//!
//! ```text
//! IAC SB NEW-ENVIRON SEND [ type name ... ] IAC SE
//! IAC SB NEW-ENVIRON IS   [ type name [ VALUE value ] ... ] IAC SE
//! ```
//!
//! ENVIRON (option 36, RFC 1408) has the same layout, but half the implementations in
//! the wild swapped the VAR and VALUE codes; RFC 1571's heuristics tell them apart
//! ([`Layout`]). Both options share this module, its configuration and the store of
//! received variables; the option code tells them apart on the wire.
//!
//! As a server this end sends the SEND of [`Config::server_request`] once the peer
//! agrees to perform the option, in batches of at most [`SEND_PAYLOAD_MAX`] bytes, and
//! keeps what comes back (at most [`Config::max_variables`] names). As a client it
//! answers SEND from [`Config::values`], never revealing a value whose name is not in
//! [`Config::send_environ`].

mod codec;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

pub use codec::{
    encode_send, encode_variables, escape_into, Command, Kind, Layout, Message, Request, Variable,
};

use crate::family::{Emit, SubnegotiationError};
use crate::link::{Link, Role, Side};
use crate::option::TelnetOption;

/// The most bytes of one SEND subnegotiation, counting the option byte, the SEND byte
/// and each escaped entry (IAC doubling not counted, like telnetlib3): telnetlib3's
/// `_ENVIRON_SB_MAX`, which keeps requests inside GNU inetutils telnet's 256-byte
/// subnegotiation buffer.
pub const SEND_PAYLOAD_MAX: usize = 240;

/// What this end asks for (as a server) and answers (as a client) with NEW-ENVIRON and
/// ENVIRON.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Server: the SEND made when the peer agrees to perform the option. telnetlib3's
    /// default: VAR USER, LOGNAME, DISPLAY, LANG, TERM, TERM_PROGRAM, COLUMNS, LINES,
    /// COLORTERM, EDITOR, IPADDRESS, then a bare VAR and a bare USERVAR (every other
    /// variable the client volunteers). Empty: no SEND is made.
    pub server_request: Vec<Request>,
    /// Client: the names whose values may be sent; any other name requested is answered
    /// as undefined. telnetlib3's default: TERM, LANG, COLUMNS, LINES, COLORTERM.
    pub send_environ: Vec<Vec<u8>>,
    /// Client: the values the application provides, name then value, in the order an
    /// IS for "everything" lists them. Names absent here are undefined.
    pub values: Vec<(Vec<u8>, Vec<u8>)>,
    /// Server: the most distinct variables kept from the peer; further names are dropped
    /// and reported with [`Event::Overflow`]. Default 64.
    pub max_variables: usize,
    /// Server: the most bytes of names and values kept from the peer, all variables
    /// together; a variable that would pass it is dropped and reported with
    /// [`Event::Overflow`]. Default 8 KiB: without it, 64 variables of a subnegotiation
    /// each could pin half a megabyte per connection.
    pub max_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        let mut server_request: Vec<Request> = [
            "USER",
            "LOGNAME",
            "DISPLAY",
            "LANG",
            "TERM",
            "TERM_PROGRAM",
            "COLUMNS",
            "LINES",
            "COLORTERM",
            "EDITOR",
            "IPADDRESS",
        ]
        .into_iter()
        .map(Request::var)
        .collect();
        server_request.push(Request::all(Kind::Var));
        server_request.push(Request::all(Kind::UserVar));
        Self {
            server_request,
            send_environ: ["TERM", "LANG", "COLUMNS", "LINES", "COLORTERM"]
                .into_iter()
                .map(Vec::from)
                .collect(),
            values: Vec::new(),
            max_variables: 64,
            max_bytes: 8 * 1024,
        }
    }
}

impl Config {
    pub(crate) fn allows(&self, name: &[u8]) -> bool {
        self.send_environ.iter().any(|allowed| allowed == name)
    }

    fn value(&self, name: &[u8]) -> Option<&[u8]> {
        self.values
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_slice())
    }

    /// The variable as we may report it: its value only if the name is allowed.
    pub(crate) fn report(&self, kind: Kind, name: &[u8]) -> Variable {
        Variable {
            kind,
            name: name.to_vec(),
            value: self
                .allows(name)
                .then(|| self.value(name))
                .flatten()
                .map(<[u8]>::to_vec),
        }
    }

    /// Every allowed variable that has a value, as VAR, in [`Config::values`] order.
    fn default_environment(&self) -> impl Iterator<Item = Variable> + '_ {
        self.values
            .iter()
            .filter(|(name, _)| self.allows(name))
            .map(|(name, value)| Variable::defined(Kind::Var, name.clone(), value.clone()))
    }

    /// The IS answering `requests` (RFC 1572 section 2).
    fn answer(&self, requests: &[Request]) -> Vec<Variable> {
        // No list: "the default environment ... should be sent".
        if requests.is_empty() {
            return self.default_environment().collect();
        }
        let mut out = Vec::new();
        let mut sent_all_vars = false;
        for request in requests {
            match (request.is_all(), request.kind) {
                (false, kind) => {
                    // "There must be a response for each type explicitly requested": a
                    // name we may not reveal, or have no value for, goes back undefined.
                    // telnetlib3 sends USER's value even when USER is not allowed; we do
                    // not.
                    out.push(self.report(kind, &request.name));
                }
                (true, Kind::Var) if !sent_all_vars => {
                    sent_all_vars = true;
                    for variable in self.default_environment() {
                        if !out.iter().any(|sent| sent.name == variable.name) {
                            out.push(variable);
                        }
                    }
                }
                // We hold no user-defined variables, so a bare USERVAR adds nothing.
                // telnetlib3 answers it with a bogus empty `VAR "" VALUE ""`.
                (true, _) => {}
            }
        }
        out
    }
}

/// What each of the two options remembers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Channel {
    /// ENVIRON only: the codes the peer uses, once RFC 1571's heuristics decided.
    pub(crate) layout: Option<Layout>,
    /// Server: SEND batches still to send, one after each IS or INFO.
    pub(crate) batches: VecDeque<Vec<Request>>,
    /// Server: a SEND went out and no IS or INFO has answered it yet.
    pub(crate) awaiting: bool,
    /// Client: an IS went out, so INFO may follow (RFC 1572: INFO is not for the
    /// initial information).
    pub(crate) answered: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    new: Channel,
    old: Channel,
    /// Server: the variables received, in arrival order, at most `max_variables`.
    pub(crate) received: Vec<Variable>,
}

impl State {
    pub(crate) fn channel(&self, option: TelnetOption) -> &Channel {
        if option == TelnetOption::OldEnviron {
            &self.old
        } else {
            &self.new
        }
    }

    fn channel_mut(&mut self, option: TelnetOption) -> &mut Channel {
        if option == TelnetOption::OldEnviron {
            &mut self.old
        } else {
            &mut self.new
        }
    }

    /// The codes to use toward the peer on `option`.
    pub(crate) fn layout(&self, option: TelnetOption) -> Layout {
        self.channel(option).layout.unwrap_or_default()
    }

    /// Store variables, replacing same-kind same-name ones; returns how many did not fit
    /// (`cap` variables, `byte_cap` bytes of names and values in all).
    fn store(&mut self, variables: &[Variable], cap: usize, byte_cap: usize) -> usize {
        fn size(variable: &Variable) -> usize {
            variable.name.len() + variable.value.as_ref().map_or(0, Vec::len)
        }
        let mut stored: usize = self.received.iter().map(size).sum();
        let mut dropped = 0;
        for variable in variables {
            let known = self
                .received
                .iter()
                .position(|known| known.kind == variable.kind && known.name == variable.name);
            if let Some(known) = known.and_then(|index| self.received.get_mut(index)) {
                let grown = stored - size(known) + size(variable);
                if grown <= byte_cap {
                    known.value.clone_from(&variable.value);
                    stored = grown;
                } else {
                    dropped += 1;
                }
            } else if self.received.len() < cap && stored + size(variable) <= byte_cap {
                self.received.push(variable.clone());
                stored += size(variable);
            } else {
                dropped += 1;
            }
        }
        dropped
    }
}

/// What the application learns from NEW-ENVIRON and ENVIRON.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The peer sent variables (IS or INFO); they are now in [`Session::environ`].
    ///
    /// [`Session::environ`]: crate::Session::environ
    Variables {
        /// NEW-ENVIRON or ENVIRON.
        option: TelnetOption,
        /// [`Command::Is`] or [`Command::Info`].
        command: Command,
        /// The variables, in the order sent (entries with an empty name, which no valid
        /// variable has, left out).
        variables: &'a [Variable],
    },
    /// The peer asked for variables; the IS answering it is queued.
    Requested {
        /// NEW-ENVIRON or ENVIRON.
        option: TelnetOption,
        /// What was asked for; empty means the default environment.
        requests: &'a [Request],
    },
    /// The store of received variables was full ([`Config::max_variables`] or
    /// [`Config::max_bytes`]): these many variables were not stored.
    Overflow {
        /// NEW-ENVIRON or ENVIRON.
        option: TelnetOption,
        /// How many variables were not stored.
        dropped: usize,
    },
    /// RFC 1571's heuristics decided that the peer's ENVIRON swaps the VAR and VALUE
    /// codes; from now on we read and write them swapped.
    Reversed {
        /// ENVIRON.
        option: TelnetOption,
    },
}

pub(crate) fn receive(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl for<'e> Emit<Event<'e>>,
    option: TelnetOption,
    payload: &[u8],
) -> Result<(), SubnegotiationError> {
    let (command, tokens) = codec::tokenize(payload)?;
    match command {
        Command::Send => receive_send(state, config, link, emit, option, tokens),
        Command::Is | Command::Info => {
            receive_variables(state, config, link, emit, option, command, tokens)
        }
    }
}

/// A SEND: answer with IS (we must be performing the option).
fn receive_send(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl for<'e> Emit<Event<'e>>,
    option: TelnetOption,
    tokens: Vec<codec::Token>,
) -> Result<(), SubnegotiationError> {
    // RFC 1572 section 2: "Only the side that is DO NEW-ENVIRON may initiate a SEND",
    // so only the side that is WILL answers one.
    if !link.enabled(option, Side::Local) {
        return Err(SubnegotiationError::NotAllowed);
    }
    let detected = if option == TelnetOption::OldEnviron {
        codec::detect_send_layout(&tokens)?
    } else {
        None
    };
    let layout = detected.unwrap_or_else(|| state.layout(option));
    let requests = codec::requests(codec::orient(tokens, layout))?;
    // Parsed: now apply. RFC 1571 section 2: the codes a SEND shows hold "from that
    // point on", for our IS and INFO too.
    if let Some(layout) = detected {
        note_layout(state, emit, option, layout);
    }
    emit.emit(Event::Requested {
        option,
        requests: &requests,
    });
    let answer = config.answer(&requests);
    state.channel_mut(option).answered = true;
    let payload = encode_variables(Command::Is, &answer, layout);
    link.send_subnegotiation(option, &payload);
    Ok(())
}

/// An IS or INFO: store the variables (we must have the peer perform the option).
fn receive_variables(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl for<'e> Emit<Event<'e>>,
    option: TelnetOption,
    command: Command,
    tokens: Vec<codec::Token>,
) -> Result<(), SubnegotiationError> {
    // RFC 1572 section 2: only the side that is WILL sends IS and INFO.
    if !link.enabled(option, Side::Remote) {
        return Err(SubnegotiationError::NotAllowed);
    }
    let known = state.channel(option).layout;
    let detected = match (option, known) {
        (TelnetOption::OldEnviron, None) => codec::detect_report_layout(&tokens),
        _ => None,
    };
    // RFC 1571 section 3: when every heuristic fails, assume the standard codes.
    let layout = detected.or(known).unwrap_or_default();
    let mut variables = codec::variables(codec::orient(tokens, layout))?;
    // A variable always has a name; telnetlib3 clients answer a bare USERVAR with an
    // empty `VAR "" VALUE ""`, so drop such entries rather than refuse the whole IS.
    variables.retain(|variable| !variable.name.is_empty());
    if let Some(layout) = detected {
        note_layout(state, emit, option, layout);
    }
    state.channel_mut(option).awaiting = false;
    let (cap, byte_cap) = (config.max_variables, config.max_bytes);
    let dropped = state.store(&variables, cap, byte_cap);
    emit.emit(Event::Variables {
        option,
        command,
        variables: &variables,
    });
    if dropped > 0 {
        emit.emit(Event::Overflow { option, dropped });
    }
    // Like telnetlib3, the next SEND batch follows each answer.
    send_next_batch(state, link, option);
    Ok(())
}

fn note_layout(
    state: &mut State,
    emit: &mut impl for<'e> Emit<Event<'e>>,
    option: TelnetOption,
    layout: Layout,
) {
    let channel = state.channel_mut(option);
    let first_reversal = layout == Layout::Reversed && channel.layout != Some(layout);
    channel.layout = Some(layout);
    if first_reversal {
        emit.emit(Event::Reversed { option });
    }
}

/// NEW-ENVIRON or ENVIRON turned on or off on one side. `microsoft_telnet`: the peer's
/// terminal types are Microsoft telnet's (TTYPE's to know; see [`start_request`]).
pub(crate) fn changed(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    option: TelnetOption,
    side: Side,
    enabled: bool,
    microsoft_telnet: bool,
) {
    match (side, enabled) {
        // The server asks as soon as the peer agrees (telnetlib3: `request_environ` on
        // WILL NEW_ENVIRON).
        (Side::Remote, true) if link.role == Role::Server => {
            start_request(state, config, link, option, microsoft_telnet);
        }
        (Side::Remote, false) => {
            let channel = state.channel_mut(option);
            channel.batches.clear();
            channel.awaiting = false;
        }
        (Side::Local, false) => state.channel_mut(option).answered = false,
        _ => {}
    }
}

/// Split `requests` into SENDs of at most [`SEND_PAYLOAD_MAX`] bytes each (telnetlib3's
/// `_batch_environ_keys`: the option byte and the SEND byte count, then one type byte
/// plus the escaped name per entry; an entry too long for any batch goes alone).
fn batches(requests: &[Request]) -> VecDeque<Vec<Request>> {
    const OVERHEAD: usize = 2;
    let mut batches = VecDeque::new();
    let mut current: Vec<Request> = Vec::new();
    let mut size = OVERHEAD;
    for request in requests {
        let entry = 1 + codec::escaped_len(&request.name);
        if !current.is_empty() && size + entry > SEND_PAYLOAD_MAX {
            batches.push_back(std::mem::take(&mut current));
            size = OVERHEAD;
        }
        current.push(request.clone());
        size += entry;
    }
    if !current.is_empty() {
        batches.push_back(current);
    }
    batches
}

/// Queue the configured SEND, batched, and send its first part. `microsoft_telnet`: the
/// peer's terminal types are Microsoft telnet's (ANSI, then VT100).
pub(crate) fn start_request(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    option: TelnetOption,
    microsoft_telnet: bool,
) {
    let requests = &config.server_request;
    // Microsoft telnet crashes when asked for USER (telnetlib3 issue #24): leave USER
    // out of what it is asked.
    let batches = if microsoft_telnet {
        let without_user: Vec<Request> = requests
            .iter()
            .filter(|request| request.is_all() || request.name != b"USER")
            .cloned()
            .collect();
        batches(&without_user)
    } else {
        batches(requests)
    };
    state.channel_mut(option).batches = batches;
    send_next_batch(state, link, option);
}

fn send_next_batch(state: &mut State, link: &mut Link, option: TelnetOption) {
    let layout = state.layout(option);
    let channel = state.channel_mut(option);
    if let Some(batch) = channel.batches.pop_front() {
        channel.awaiting = true;
        link.send_subnegotiation(option, &encode_send(&batch, layout));
    }
}

pub(crate) const OPTIONS: [TelnetOption; 2] = [TelnetOption::NewEnviron, TelnetOption::OldEnviron];
