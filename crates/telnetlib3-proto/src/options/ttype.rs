//! TTYPE, terminal type (RFC 1091, which obsoletes RFC 930).
//!
//! After `WILL TTYPE` / `DO TTYPE`, the server asks with `IAC SB TTYPE SEND IAC SE` and
//! the client answers `IAC SB TTYPE IS <name> IAC SE`. RFC 1091 section 5 lets a client
//! offer several emulations: each SEND gets the next name on its list, the end of the
//! list is marked by sending the last name a second time, and a SEND after that starts
//! over at the top. The server therefore "cycles": it asks again after each reply until
//! the replies repeat, as telnetlib3's `TelnetServer.on_ttype` does.
//!
//! Names are NVT ASCII, at most 40 characters (RFC 1091 section 5 and "Assigned
//! Numbers"); a longer or non-ASCII name from the peer is rejected, not truncated, so
//! that a truncated name can never be mistaken for a different, real terminal type.

use crate::family::{Emit, SubnegotiationError};
use crate::link::{Link, Role, Side};
use crate::option::TelnetOption;

/// The longest terminal type name accepted from the peer, in bytes (RFC 1091 section 5:
/// names are at most 40 characters).
pub const MAX_NAME_LEN: usize = 40;

/// telnetlib3's `TelnetServer.TTYPE_LOOPMAX`: the most replies a server asks for, and
/// so the most names it keeps.
pub const TTYPE_LOOPMAX: usize = 8;

pub use crate::family::Subcommand;

/// A parsed TTYPE subnegotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// `SEND`: the server asks for the next name.
    Send,
    /// `IS <name>`: the client's current terminal type.
    Is(&'a str),
}

impl<'a> Message<'a> {
    /// Parse a subnegotiation payload (IAC doubling already undone).
    ///
    /// # Errors
    ///
    /// [`SubnegotiationError::Empty`] without a subcommand byte,
    /// [`SubnegotiationError::UnknownCommand`] for a byte other than IS or SEND,
    /// [`SubnegotiationError::TooLong`] for bytes after SEND or a name over
    /// [`MAX_NAME_LEN`], [`SubnegotiationError::Malformed`] for a name that is not
    /// printable ASCII.
    pub fn parse(payload: &'a [u8]) -> Result<Self, SubnegotiationError> {
        let (&first, rest) = payload.split_first().ok_or(SubnegotiationError::Empty)?;
        match Subcommand::from_code(first) {
            Some(Subcommand::Send) if rest.is_empty() => Ok(Self::Send),
            Some(Subcommand::Send) => Err(SubnegotiationError::TooLong),
            Some(Subcommand::Is) if rest.len() > MAX_NAME_LEN => Err(SubnegotiationError::TooLong),
            // Printable ASCII only: space is allowed because MTTS replies ("MTTS 137")
            // contain one; control characters have no place in a name.
            Some(Subcommand::Is) if rest.iter().all(|b| (0x20..0x7f).contains(b)) => {
                core::str::from_utf8(rest)
                    .map(Self::Is)
                    .map_err(|_| SubnegotiationError::Malformed)
            }
            Some(Subcommand::Is) => Err(SubnegotiationError::Malformed),
            None => Err(SubnegotiationError::UnknownCommand(first)),
        }
    }

    /// The subnegotiation payload (before IAC doubling).
    #[must_use]
    pub fn to_payload(self) -> Vec<u8> {
        match self {
            Self::Send => vec![Subcommand::Send.code()],
            Self::Is(name) => {
                let mut payload = Vec::with_capacity(1 + name.len());
                payload.push(Subcommand::Is.code());
                payload.extend_from_slice(name.as_bytes());
                payload
            }
        }
    }
}

/// What this end answers (client) or how it asks (server) for TTYPE.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Client: the terminal types offered, preferred first, sent as given (telnetlib3
    /// sends e.g. `xterm-256color` unchanged). telnetlib3's default `term` is
    /// `"unknown"`. An empty list answers every SEND with an empty name, which tells
    /// the server there is nothing to offer.
    pub types: Vec<String>,
    /// Server: ask again after each reply to walk the client's list (RFC 1091); when
    /// false, only the first reply is asked for. Default true, as telnetlib3.
    pub cycle: bool,
    /// Server: the most replies asked for in one cycle, between 1 and
    /// [`TTYPE_LOOPMAX`] (values outside are clamped). Default [`TTYPE_LOOPMAX`].
    pub loop_max: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            types: vec!["unknown".to_owned()],
            cycle: true,
            loop_max: TTYPE_LOOPMAX,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// Server: every name received in this cycle, in order (at most `TTYPE_LOOPMAX`).
    pub(crate) types: Vec<String>,
    /// Server: the chosen TERM.
    pub(crate) term: Option<String>,
    /// Server: the cycle has ended.
    pub(crate) complete: bool,
    /// Server: a SEND is outstanding; only then is an IS accepted (RFC 1091 section 5:
    /// type information may not be sent spontaneously).
    pub(crate) awaiting: bool,
    /// Client: position in `Config::types` of the next name; `types.len()` means "send
    /// the last name again, then start over".
    next: usize,
    /// Client: index of the name last sent, for STATUS.
    sent: Option<usize>,
}

impl State {
    /// Server: whether the types so far are Microsoft telnet's (`ANSI`, then `VT100`).
    pub(crate) fn is_microsoft_telnet(&self) -> bool {
        matches!(self.types.as_slice(), [first, second, ..] if first == "ANSI" && second == "VT100")
    }
}

/// What the application learns from TTYPE.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The client reported a terminal type (server side).
    TerminalType {
        /// The name, exactly as received.
        name: &'a str,
        /// Its position in [`Session::terminal_types`], from 0 (telnetlib3's
        /// `ttype{index + 1}`).
        ///
        /// [`Session::terminal_types`]: crate::Session::terminal_types
        index: usize,
    },
    /// The server stopped asking (server side).
    CycleComplete {
        /// The chosen TERM ([`Session::terminal_type`]); `None` if every reply was empty.
        ///
        /// [`Session::terminal_type`]: crate::Session::terminal_type
        term: Option<&'a str>,
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
    match (Message::parse(payload)?, link.role) {
        (Message::Send, Role::Client) if link.enabled(option, Side::Local) => {
            answer_send(state, config, link);
        }
        (Message::Is(name), Role::Server)
            if link.enabled(option, Side::Remote) && state.awaiting =>
        {
            receive_is(state, config, link, emit, option, name);
        }
        // SEND to a server, IS to a client, IS nobody asked for, or the option is off.
        _ => return Err(SubnegotiationError::NotAllowed),
    }
    Ok(())
}

/// Client: answer SEND with the next name (RFC 1091 section 5).
fn answer_send(state: &mut State, config: &Config, link: &mut Link) {
    let count = config.types.len();
    let index = if count == 0 {
        None
    } else if state.next >= count {
        // The list is exhausted: send the last name a second time so the server sees
        // the end, and start over at the top on the next SEND.
        state.next = 0;
        Some(count - 1)
    } else {
        state.next += 1;
        Some(state.next - 1)
    };
    state.sent = index;
    let name = index
        .and_then(|i| config.types.get(i))
        .map_or("", String::as_str);
    let payload = Message::Is(name).to_payload();
    link.send_subnegotiation(TelnetOption::Ttype, &payload);
}

/// Why the server stops asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// Back at the first name.
    Looped,
    /// An empty name.
    Empty,
    /// The third name is an MTTS bit vector: the second name is the terminal type.
    Mtts,
    /// The same name twice in a row: the client's list has ended.
    Repeated,
    /// Cycling is off, or `loop_max` replies have arrived.
    Exhausted,
}

/// Server: record one IS and decide whether to ask again (telnetlib3 `on_ttype`).
fn receive_is(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl for<'e> Emit<Event<'e>>,
    option: TelnetOption,
    name: &str,
) {
    let loop_max = config.loop_max.clamp(1, TTYPE_LOOPMAX);
    let cycle = config.cycle;
    state.awaiting = false;
    let index = state.types.len();
    // RFC 1091 section 5: names are case-insensitive, so compare them that way
    // (telnetlib3 compares exactly; this can only stop a cycle earlier).
    let same = |i: usize, state: &State| {
        state
            .types
            .get(i)
            .is_some_and(|t| t.eq_ignore_ascii_case(name))
    };
    let stop = if index > 0 && same(0, state) {
        Some(Stop::Looped)
    } else if name.is_empty() {
        Some(Stop::Empty)
    } else if index == 2
        && name
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("MTTS "))
    {
        Some(Stop::Mtts)
    } else if index > 0 && same(index - 1, state) {
        Some(Stop::Repeated)
    } else if !cycle || index + 1 >= loop_max {
        Some(Stop::Exhausted)
    } else {
        None
    };
    state.types.push(name.to_owned());
    // The latest non-empty name is TERM, as telnetlib3's `_extra["TERM"]`; MTTS picks the
    // second name instead (the first is the client's name, the third a bit vector).
    if stop == Some(Stop::Mtts) {
        state.term = state.types.get(1).cloned();
    } else if !name.is_empty() {
        state.term = Some(name.to_owned());
    }
    emit.emit(Event::TerminalType { name, index });
    if stop.is_some() {
        state.complete = true;
        emit.emit(Event::CycleComplete {
            term: state.term.as_deref(),
        });
    } else {
        send_request(state, link, option);
    }
}

fn send_request(state: &mut State, link: &mut Link, option: TelnetOption) {
    state.awaiting = true;
    link.send_subnegotiation(option, &Message::Send.to_payload());
}

pub(crate) fn changed(
    state: &mut State,
    link: &mut Link,
    option: TelnetOption,
    side: Side,
    enabled: bool,
) {
    match (side, enabled) {
        // The client agreed to send types: start a fresh cycle (telnetlib3 sends SEND on
        // WILL TTYPE; RFC 1091 section 5 lets only the server ask).
        (Side::Remote, true) if link.role == Role::Server => {
            *state = State::default();
            send_request(state, link, option);
        }
        (Side::Remote, false) => state.awaiting = false,
        // A new negotiation restarts the client's list at the preferred name, as BSD
        // telnet does.
        (Side::Local, _) => {
            state.next = 0;
            state.sent = None;
        }
        _ => {}
    }
}

/// The `SB TTYPE ... SE` parameters for a STATUS report: the name we last sent, while
/// we perform TTYPE.
pub(crate) fn status_parameters(state: &State, config: &Config, link: &Link) -> Option<Vec<u8>> {
    if !link.enabled(TelnetOption::Ttype, Side::Local) {
        return None;
    }
    let name = state.sent.and_then(|i| config.types.get(i))?;
    Some(Message::Is(name.as_str()).to_payload())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::{drive_pair_with, transmit, Log};
    use crate::{Policy, Session, SessionConfig};
    use proptest::prelude::*;

    const SEND: &[u8] = b"\xff\xfa\x18\x01\xff\xf0";

    fn is(name: &str) -> Vec<u8> {
        let mut wire = b"\xff\xfa\x18\x00".to_vec();
        wire.extend_from_slice(name.as_bytes());
        wire.extend_from_slice(b"\xff\xf0");
        wire
    }

    fn server_with(config: Config) -> (Session, Log) {
        let mut session_config =
            SessionConfig::with_policy(Policy::new().allow_remote(TelnetOption::Ttype));
        session_config.ttype = config;
        let mut server = Session::new(Role::Server, session_config);
        server.request_remote(TelnetOption::Ttype, true).unwrap();
        assert_eq!(transmit(&mut server), b"\xff\xfd\x18"); // DO TTYPE
        let mut log = Log::default();
        server.receive(b"\xff\xfb\x18", &mut log); // WILL TTYPE
        assert_eq!(transmit(&mut server), SEND);
        (server, log)
    }

    fn client_with(types: &[&str]) -> Session {
        let mut config = SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Ttype));
        config.ttype.types = types.iter().map(|&t| t.to_owned()).collect();
        let mut client = Session::new(Role::Client, config);
        client.receive(b"\xff\xfd\x18", &mut Log::default());
        assert_eq!(transmit(&mut client), b"\xff\xfb\x18");
        client
    }

    /// Feed the server each reply in turn; return what it sent after each.
    fn feed(server: &mut Session, log: &mut Log, names: &[&str]) -> Vec<Vec<u8>> {
        names
            .iter()
            .map(|name| {
                server.receive(&is(name), log);
                transmit(server)
            })
            .collect()
    }

    #[test]
    fn parse_and_build() {
        assert_eq!(Message::parse(&[1]), Ok(Message::Send));
        assert_eq!(Message::parse(b"\x00VT100"), Ok(Message::Is("VT100")));
        assert_eq!(Message::parse(b"\x00"), Ok(Message::Is("")));
        assert_eq!(Message::Is("xterm").to_payload(), b"\x00xterm");
        assert_eq!(Message::Send.to_payload(), [1]);
        assert_eq!(Message::parse(&[]), Err(SubnegotiationError::Empty));
        assert_eq!(
            Message::parse(&[2, b'x']),
            Err(SubnegotiationError::UnknownCommand(2))
        );
        assert_eq!(Message::parse(&[1, 0]), Err(SubnegotiationError::TooLong));
        assert_eq!(
            Message::parse(b"\x00VT\x07100"),
            Err(SubnegotiationError::Malformed)
        );
        assert_eq!(
            Message::parse(b"\x00caf\xc3\xa9"),
            Err(SubnegotiationError::Malformed)
        );
        let forty = [b'A'; MAX_NAME_LEN + 1];
        let mut long = vec![0];
        long.extend_from_slice(&forty);
        assert_eq!(Message::parse(&long), Err(SubnegotiationError::TooLong));
        long.pop();
        assert!(Message::parse(&long).is_ok());
    }

    #[test]
    fn server_cycles_until_repeat() {
        let (mut server, mut log) = server_with(Config::default());
        let sent = feed(&mut server, &mut log, &["ANSI", "VT100", "VT100"]);
        assert_eq!(sent, [SEND.to_vec(), SEND.to_vec(), Vec::new()]);
        assert_eq!(server.terminal_types(), ["ANSI", "VT100", "VT100"]);
        assert_eq!(server.terminal_type(), Some("VT100"));
        assert!(server.ttype_cycle_complete());
        assert_eq!(
            log.events,
            [
                "OptionChanged { option: Ttype, side: Remote, enabled: true }",
                r#"Ttype(TerminalType { name: "ANSI", index: 0 })"#,
                r#"Ttype(TerminalType { name: "VT100", index: 1 })"#,
                r#"Ttype(TerminalType { name: "VT100", index: 2 })"#,
                r#"Ttype(CycleComplete { term: Some("VT100") })"#,
            ]
        );
        // Nothing is outstanding now: a further IS is unsolicited.
        server.receive(&is("XTERM"), &mut log);
        assert_eq!(
            log.events.last().unwrap(),
            "BadSubnegotiation { option: Ttype, error: NotAllowed }"
        );
        assert_eq!(server.terminal_type(), Some("VT100"));
    }

    #[test]
    fn server_stops_when_looped() {
        let (mut server, mut log) = server_with(Config::default());
        let sent = feed(&mut server, &mut log, &["xterm", "vt220", "XTERM"]);
        assert_eq!(sent.last().unwrap(), &Vec::<u8>::new());
        assert_eq!(server.terminal_type(), Some("XTERM"));
        assert!(server.ttype_cycle_complete());
    }

    #[test]
    fn server_stops_on_empty_reply_keeping_previous_term() {
        let (mut server, mut log) = server_with(Config::default());
        let sent = feed(&mut server, &mut log, &["vt100", ""]);
        assert_eq!(sent, [SEND.to_vec(), Vec::new()]);
        assert_eq!(server.terminal_type(), Some("vt100"));
        assert_eq!(
            log.events.last().unwrap(),
            r#"Ttype(CycleComplete { term: Some("vt100") })"#
        );
        let (mut server, mut log) = server_with(Config::default());
        feed(&mut server, &mut log, &[""]);
        assert_eq!(server.terminal_type(), None);
        assert!(server.ttype_cycle_complete());
    }

    #[test]
    fn server_takes_second_name_on_mtts() {
        let (mut server, mut log) = server_with(Config::default());
        let sent = feed(
            &mut server,
            &mut log,
            &["MUDLET", "XTERM-256COLOR", "MTTS 137"],
        );
        assert_eq!(sent.last().unwrap(), &Vec::<u8>::new());
        assert_eq!(server.terminal_type(), Some("XTERM-256COLOR"));
        assert_eq!(
            log.events.last().unwrap(),
            r#"Ttype(CycleComplete { term: Some("XTERM-256COLOR") })"#
        );
    }

    #[test]
    fn server_stops_at_loop_max() {
        let (mut server, mut log) = server_with(Config::default());
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let sent = feed(&mut server, &mut log, &names);
        assert!(sent[..7].iter().all(|s| s == SEND));
        assert!(sent[7].is_empty());
        assert_eq!(server.terminal_types().len(), TTYPE_LOOPMAX);
        assert_eq!(server.terminal_type(), Some("h"));
        assert!(server.ttype_cycle_complete());

        let config = Config {
            loop_max: 2,
            ..Config::default()
        };
        let (mut server, mut log) = server_with(config);
        let sent = feed(&mut server, &mut log, &["a", "b"]);
        assert_eq!(sent, [SEND.to_vec(), Vec::new()]);

        let config = Config {
            cycle: false,
            ..Config::default()
        };
        let (mut server, mut log) = server_with(config);
        assert!(feed(&mut server, &mut log, &["a"])[0].is_empty());
        assert!(server.ttype_cycle_complete());
    }

    #[test]
    fn server_rejects_bad_input_and_keeps_asking() {
        let (mut server, mut log) = server_with(Config::default());
        server.receive(b"\xff\xfa\x18\x00VT\x00100\xff\xf0", &mut log);
        server.receive(SEND, &mut log);
        let mut long = b"\xff\xfa\x18\x00".to_vec();
        long.extend_from_slice(&[b'x'; 41]);
        long.extend_from_slice(b"\xff\xf0");
        server.receive(&long, &mut log);
        server.receive(b"\xff\xfa\x18\xff\xf0", &mut log);
        assert_eq!(
            log.events[1..],
            [
                "BadSubnegotiation { option: Ttype, error: Malformed }",
                "BadSubnegotiation { option: Ttype, error: NotAllowed }",
                "BadSubnegotiation { option: Ttype, error: TooLong }",
                "BadSubnegotiation { option: Ttype, error: Empty }",
            ]
        );
        assert!(server.terminal_types().is_empty());
        assert!(transmit(&mut server).is_empty());
        // The SEND is still outstanding: a good reply is taken.
        server.receive(&is("VT100"), &mut log);
        assert_eq!(server.terminal_types(), ["VT100"]);
    }

    #[test]
    fn server_ignores_is_before_will() {
        let mut server = Session::new(Role::Server, SessionConfig::default());
        let mut log = Log::default();
        server.receive(&is("VT100"), &mut log);
        assert_eq!(
            log.events,
            ["BadSubnegotiation { option: Ttype, error: NotAllowed }"]
        );
        assert!(server.terminal_types().is_empty());
    }

    #[test]
    fn client_walks_its_list_repeats_the_last_then_starts_over() {
        let mut client = client_with(&["xterm-256color", "VT100"]);
        let mut log = Log::default();
        let mut answers = Vec::new();
        for _ in 0..4 {
            client.receive(SEND, &mut log);
            answers.push(transmit(&mut client));
        }
        assert_eq!(
            answers,
            [
                is("xterm-256color"),
                is("VT100"),
                is("VT100"),
                is("xterm-256color")
            ]
        );
        assert!(log.events.is_empty());
    }

    #[test]
    fn client_default_is_unknown_and_rejects_is() {
        let mut client = client_with(&[]);
        let mut log = Log::default();
        client.receive(SEND, &mut log);
        assert_eq!(transmit(&mut client), is(""));

        let mut config = SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Ttype));
        config.ttype = Config::default();
        let mut client = Session::new(Role::Client, config);
        client.receive(b"\xff\xfd\x18", &mut log);
        assert_eq!(transmit(&mut client), b"\xff\xfb\x18");
        client.receive(SEND, &mut log);
        assert_eq!(transmit(&mut client), is("unknown"));
        client.receive(&is("VT100"), &mut log);
        assert_eq!(
            log.events.last().unwrap(),
            "BadSubnegotiation { option: Ttype, error: NotAllowed }"
        );
        assert!(transmit(&mut client).is_empty());
    }

    #[test]
    fn client_without_will_ignores_send() {
        let mut client = Session::new(Role::Client, SessionConfig::default());
        let mut log = Log::default();
        client.receive(SEND, &mut log);
        assert!(transmit(&mut client).is_empty());
        assert_eq!(
            log.events,
            ["BadSubnegotiation { option: Ttype, error: NotAllowed }"]
        );
    }

    #[test]
    fn round_trip_between_sessions() {
        let mut client = SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Ttype));
        client.ttype.types = vec!["xterm-256color".into(), "xterm".into(), "vt100".into()];
        let (_client, server, _, server_log) =
            drive_pair_with(client, SessionConfig::default(), |_client, server| {
                server.request_remote(TelnetOption::Ttype, true).unwrap()
            });
        assert_eq!(
            server.terminal_types(),
            ["xterm-256color", "xterm", "vt100", "vt100"]
        );
        assert_eq!(server.terminal_type(), Some("vt100"));
        assert!(server.ttype_cycle_complete());
        assert_eq!(
            server_log.events.last().unwrap(),
            r#"Ttype(CycleComplete { term: Some("vt100") })"#
        );
    }

    #[test]
    fn renegotiation_restarts_both_ends() {
        let mut client = client_with(&["a", "b"]);
        let mut log = Log::default();
        client.receive(SEND, &mut log);
        assert_eq!(transmit(&mut client), is("a"));
        client.receive(b"\xff\xfe\x18\xff\xfd\x18", &mut log); // DONT, DO
        assert_eq!(transmit(&mut client), b"\xff\xfc\x18\xff\xfb\x18");
        client.receive(SEND, &mut log);
        assert_eq!(transmit(&mut client), is("a"));

        let (mut server, mut log) = server_with(Config::default());
        feed(&mut server, &mut log, &["a", "a"]);
        server.receive(b"\xff\xfc\x18\xff\xfb\x18", &mut log); // WONT, WILL
        assert_eq!(
            transmit(&mut server),
            [b"\xff\xfe\x18\xff\xfd\x18", SEND].concat()
        );
        assert!(server.terminal_types().is_empty());
        assert!(!server.ttype_cycle_complete());
    }

    proptest! {
        #[test]
        fn is_round_trips(name in "[ -~]{0,40}") {
            let payload = Message::Is(&name).to_payload();
            prop_assert_eq!(Message::parse(&payload), Ok(Message::Is(&name)));
        }

        #[test]
        fn any_payload_is_handled(payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let (mut server, mut log) = server_with(Config::default());
            let mut wire = b"\xff\xfa\x18".to_vec();
            crate::escape_iac(&payload, &mut wire);
            wire.extend_from_slice(b"\xff\xf0");
            server.receive(&wire, &mut log);
            prop_assert!(server.terminal_types().len() <= 1);
        }
    }
}
