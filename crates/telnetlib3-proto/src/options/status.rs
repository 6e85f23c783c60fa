//! STATUS (RFC 859).
//!
//! The sender of `DO STATUS` may ask with `IAC SB STATUS SEND IAC SE`; the sender of
//! `WILL STATUS` reports with `IAC SB STATUS IS <list> IAC SE`, where the list holds
//! `WILL opt` for each option it performs, `DO opt` for each it has the peer perform,
//! and `SB opt <parameters> SE` for subnegotiation state (RFC 859 section 5). Options
//! not listed are in their default (disabled) state.
//!
//! Inside the list, SB ends with a bare SE, so a data byte equal to SE (240), an option
//! code or a parameter, is doubled as `SE SE` (RFC 859 section 5). IAC is doubled by
//! the subnegotiation framing as usual. telnetlib3's `_send_status` never doubles 240 or
//! 255, and lists WONT/DONT for every option it knows; this module follows the RFC, but
//! accepts WONT/DONT from a peer.

use crate::command::{Verb, SB, SE};
use crate::family::{Emit, SubnegotiationError};
use crate::link::{Link, Side};
use crate::option::TelnetOption;

pub use crate::family::Subcommand;

/// One entry of a STATUS IS list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `WILL opt` (the reporter performs it) or `DO opt` (the reporter's peer does);
    /// WONT and DONT, which RFC 859 does not use, are accepted from peers that send them.
    Option {
        /// The verb.
        verb: Verb,
        /// The option.
        option: TelnetOption,
    },
    /// `SB opt <parameters> SE`: an option's subnegotiation state.
    Subnegotiation {
        /// The option.
        option: TelnetOption,
        /// The parameters, with `SE SE` undone.
        parameters: Vec<u8>,
    },
}

/// Append `byte`, doubled if it is SE (RFC 859 section 5).
fn push_escaped(out: &mut Vec<u8>, byte: u8) {
    out.push(byte);
    if byte == SE {
        out.push(SE);
    }
}

/// Build an IS payload (before IAC doubling): `IS` then each item, SE doubled.
#[must_use]
pub fn build_is(items: &[StatusItem]) -> Vec<u8> {
    let mut out = vec![Subcommand::Is.code()];
    for item in items {
        match item {
            StatusItem::Option { verb, option } => {
                out.push(verb.code());
                push_escaped(&mut out, option.code());
            }
            StatusItem::Subnegotiation { option, parameters } => {
                out.push(SB);
                push_escaped(&mut out, option.code());
                for &byte in parameters {
                    push_escaped(&mut out, byte);
                }
                out.push(SE);
            }
        }
    }
    out
}

/// Take one possibly doubled byte: `SE SE` is 240, a lone SE is an error.
fn take_escaped(list: &[u8]) -> Result<(u8, &[u8]), SubnegotiationError> {
    match *list {
        [SE, SE, ref rest @ ..] => Ok((SE, rest)),
        [SE] | [] => Err(SubnegotiationError::Truncated),
        [SE, ..] => Err(SubnegotiationError::Malformed),
        [byte, ref rest @ ..] => Ok((byte, rest)),
    }
}

/// Parse the list after `IS` (RFC 859 section 5).
///
/// # Errors
///
/// [`SubnegotiationError::Truncated`] when an item is cut short (a verb without its
/// option, SB without its closing SE); [`SubnegotiationError::Malformed`] for a byte that
/// starts no item, or a lone SE where a data byte belongs.
pub fn parse_is(mut list: &[u8]) -> Result<Vec<StatusItem>, SubnegotiationError> {
    let mut items = Vec::new();
    while let [first, ref rest @ ..] = *list {
        if let Some(verb) = Verb::from_code(first) {
            let (code, rest) = take_escaped(rest)?;
            items.push(StatusItem::Option {
                verb,
                option: TelnetOption::from(code),
            });
            list = rest;
        } else if first == SB {
            let (code, mut rest) = take_escaped(rest)?;
            let mut parameters = Vec::new();
            loop {
                match *rest {
                    [SE, SE, ref tail @ ..] => {
                        parameters.push(SE);
                        rest = tail;
                    }
                    [SE, ref tail @ ..] => {
                        rest = tail;
                        break;
                    }
                    [byte, ref tail @ ..] => {
                        parameters.push(byte);
                        rest = tail;
                    }
                    [] => return Err(SubnegotiationError::Truncated),
                }
            }
            items.push(StatusItem::Subnegotiation {
                option: TelnetOption::from(code),
                parameters,
            });
            list = rest;
        } else {
            return Err(SubnegotiationError::Malformed);
        }
    }
    Ok(items)
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// The peer's last report.
    pub(crate) peer: Option<Vec<StatusItem>>,
}

/// What the application learns from STATUS.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The peer reported its view of the options (`IS`), also kept as
    /// [`Session::peer_status`].
    ///
    /// [`Session::peer_status`]: crate::Session::peer_status
    Report(&'a [StatusItem]),
}

/// Our view of every option, as RFC 859 lays it out: for each option in code order,
/// `WILL` if we perform it and `DO` if the peer does (RFC 859's example lists `WILL
/// STATUS DO STATUS`, so STATUS itself is included, unlike telnetlib3), then the
/// subnegotiation state we can state simply: the `SB` blocks in `parameters`, which the
/// session gathers from the other families (the NAWS size and TTYPE name we report, the
/// LFLOW mode we command), so that this family knows none of them.
pub(crate) fn report(link: &Link, parameters: &Parameters) -> Vec<StatusItem> {
    let mut items = Vec::new();
    for code in 0..=255u8 {
        let option = TelnetOption::from(code);
        for (side, verb) in [(Side::Local, Verb::Will), (Side::Remote, Verb::Do)] {
            if link.enabled(option, side) {
                items.push(StatusItem::Option { verb, option });
            }
        }
    }
    items.extend(
        parameters
            .iter()
            .map(|(option, parameters)| StatusItem::Subnegotiation {
                option: *option,
                parameters: parameters.clone(),
            }),
    );
    items
}

/// Other families' subnegotiation state for a report, as `SB <option> <parameters> SE`
/// blocks in the order they are listed.
pub(crate) type Parameters = Vec<(TelnetOption, Vec<u8>)>;

fn send_report(link: &mut Link, parameters: &Parameters) {
    let payload = build_is(&report(link, parameters));
    link.send_subnegotiation(TelnetOption::Status, &payload);
}

/// A STATUS subnegotiation; `parameters` is what a report we send would state besides
/// the options (see [`report`]).
pub(crate) fn receive(
    state: &mut State,
    link: &mut Link,
    emit: &mut impl for<'e> Emit<Event<'e>>,
    option: TelnetOption,
    payload: &[u8],
    parameters: impl FnOnce(&Link) -> Parameters,
) -> Result<(), SubnegotiationError> {
    let Some((&first, list)) = payload.split_first() else {
        return Err(SubnegotiationError::Empty);
    };
    match Subcommand::from_code(first) {
        // RFC 859 section 5: only the sender of DO asks, only the sender of WILL reports.
        Some(Subcommand::Send) if !list.is_empty() => Err(SubnegotiationError::TooLong),
        Some(Subcommand::Send) if link.enabled(option, Side::Local) => {
            let parameters = parameters(link);
            send_report(link, &parameters);
            Ok(())
        }
        Some(Subcommand::Is) if link.enabled(option, Side::Remote) => {
            let items = state.peer.insert(parse_is(list)?);
            emit.emit(Event::Report(items));
            Ok(())
        }
        Some(_) => Err(SubnegotiationError::NotAllowed),
        None => Err(SubnegotiationError::UnknownCommand(first)),
    }
}

/// STATUS turned on or off on one side; `parameters` as for [`receive`].
pub(crate) fn changed(
    state: &mut State,
    link: &mut Link,
    side: Side,
    enabled: bool,
    parameters: impl FnOnce(&Link) -> Parameters,
) {
    match (side, enabled) {
        // RFC 859 section 5 lets the sender of WILL report "spontaneously or in response
        // to a request"; telnetlib3 reports at once on DO STATUS, and so do we.
        (Side::Local, true) => {
            let parameters = parameters(link);
            send_report(link, &parameters);
        }
        // The peer can report: ask, as telnetlib3 does on WILL STATUS.
        (Side::Remote, true) => {
            link.send_subnegotiation(TelnetOption::Status, &[Subcommand::Send.code()]);
        }
        (Side::Remote, false) => state.peer = None,
        (Side::Local, false) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::naws::WindowSize;
    use crate::options::tests::{drive_pair_with, transmit, Log};
    use crate::{Policy, Role, Session, SessionConfig};
    use proptest::prelude::*;

    const SEND: &[u8] = b"\xff\xfa\x05\x01\xff\xf0";

    fn opt(verb: Verb, code: u8) -> StatusItem {
        StatusItem::Option {
            verb,
            option: TelnetOption::from(code),
        }
    }

    #[test]
    fn rfc859_example() {
        // Host1: DO STATUS; Host2: WILL STATUS; Host1: SEND; Host2 reports that it echoes,
        // has the peer suppress go-ahead, and both issues and requests STATUS.
        let policy = Policy::new()
            .allow_local(TelnetOption::Echo)
            .allow_remote(TelnetOption::Sga)
            .allow_local(TelnetOption::Status)
            .allow_remote(TelnetOption::Status);
        let mut host2 = Session::new(Role::Server, SessionConfig::with_policy(policy));
        let mut log = Log::default();
        host2.request_local(TelnetOption::Echo, true).unwrap();
        host2.request_remote(TelnetOption::Sga, true).unwrap();
        host2.request_remote(TelnetOption::Status, true).unwrap();
        let _ = transmit(&mut host2);
        host2.receive(b"\xff\xfd\x01\xff\xfb\x03\xff\xfb\x05", &mut log);
        assert_eq!(transmit(&mut host2), SEND); // we ask too, on WILL STATUS
        host2.receive(b"\xff\xfd\x05", &mut log); // DO STATUS
        let report = b"\xff\xfa\x05\x00\xfb\x01\xfd\x03\xfb\x05\xfd\x05\xff\xf0";
        // WILL STATUS, then the unsolicited report RFC 859 allows.
        assert_eq!(
            transmit(&mut host2),
            [b"\xff\xfb\x05".as_slice(), report].concat()
        );
        host2.receive(SEND, &mut log);
        assert_eq!(transmit(&mut host2), report);
        assert_eq!(
            parse_is(&report[4..report.len() - 2]),
            Ok(vec![
                opt(Verb::Will, 1),
                opt(Verb::Do, 3),
                opt(Verb::Will, 5),
                opt(Verb::Do, 5)
            ])
        );
    }

    #[test]
    fn se_and_iac_are_escaped() {
        let items = vec![
            opt(Verb::Will, 240),
            opt(Verb::Do, 255),
            StatusItem::Subnegotiation {
                option: TelnetOption::from(240),
                parameters: vec![240, 255, 1],
            },
        ];
        let payload = build_is(&items);
        assert_eq!(
            payload,
            [0, 251, 240, 240, 253, 255, 250, 240, 240, 240, 240, 255, 1, 240]
        );
        assert_eq!(parse_is(&payload[1..]), Ok(items));
        let mut wire = Vec::new();
        crate::write_subnegotiation(&mut wire, TelnetOption::Status, &payload);
        assert_eq!(
            wire,
            b"\xff\xfa\x05\x00\xfb\xf0\xf0\xfd\xff\xff\xfa\xf0\xf0\xf0\xf0\xff\xff\x01\xf0\xff\xf0"
        );
    }

    #[test]
    fn malformed_lists_are_rejected() {
        use SubnegotiationError::{Malformed, Truncated};
        assert_eq!(parse_is(&[]), Ok(vec![]));
        assert_eq!(parse_is(&[251]), Err(Truncated));
        assert_eq!(parse_is(&[251, 240]), Err(Truncated));
        assert_eq!(parse_is(&[251, 240, 1]), Err(Malformed));
        assert_eq!(parse_is(&[1, 2]), Err(Malformed));
        assert_eq!(parse_is(&[250]), Err(Truncated));
        assert_eq!(parse_is(&[250, 31, 0, 80]), Err(Truncated));
        assert_eq!(parse_is(&[250, 31, 240, 240]), Err(Truncated));
        assert_eq!(parse_is(&[251, 1, 240]), Err(Malformed));
        // WONT / DONT from telnetlib3 are accepted.
        assert_eq!(
            parse_is(&[252, 1, 254, 3]),
            Ok(vec![opt(Verb::Wont, 1), opt(Verb::Dont, 3)])
        );
    }

    fn client_with_status() -> (Session, Log) {
        let policy = Policy::new()
            .allow_local(TelnetOption::Status)
            .allow_local(TelnetOption::Naws)
            .allow_local(TelnetOption::Ttype);
        let mut config = SessionConfig::with_policy(policy);
        config.naws.size = WindowSize {
            cols: 240,
            rows: 24,
        };
        config.ttype.types = vec!["VT100".into()];
        let mut client = Session::new(Role::Client, config);
        let mut log = Log::default();
        client.receive(
            b"\xff\xfd\x1f\xff\xfd\x18\xff\xfa\x18\x01\xff\xf0",
            &mut log,
        );
        let _ = transmit(&mut client);
        (client, log)
    }

    #[test]
    fn client_reports_with_subnegotiation_state() {
        let (mut client, mut log) = client_with_status();
        client.receive(b"\xff\xfd\x05", &mut log);
        let report = b"\xff\xfa\x05\x00\xfb\x05\xfb\x18\xfb\x1f\
            \xfa\x1f\x00\xf0\xf0\x00\x18\xf0\
            \xfa\x18\x00VT100\xf0\xff\xf0";
        assert_eq!(
            transmit(&mut client),
            [b"\xff\xfb\x05".as_slice(), report].concat()
        );
        client.receive(SEND, &mut log);
        assert_eq!(transmit(&mut client), report);
        assert!(log.events.iter().all(|e| !e.contains("Bad")));
    }

    #[test]
    fn server_reports_lflow_mode() {
        let policy = Policy::new()
            .allow_local(TelnetOption::Status)
            .allow_remote(TelnetOption::Lflow);
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(policy));
        let mut log = Log::default();
        server.receive(b"\xff\xfb\x21", &mut log);
        server.set_xon_any(true);
        let _ = transmit(&mut server);
        server.receive(b"\xff\xfd\x05", &mut log);
        assert_eq!(
            transmit(&mut server),
            b"\xff\xfb\x05\xff\xfa\x05\x00\xfb\x05\xfd\x21\xfa\x21\x01\xf0\xfa\x21\x02\xf0\xff\xf0"
        );
    }

    #[test]
    fn rejects_what_is_not_allowed() {
        let mut session = Session::new(Role::Server, SessionConfig::default());
        let mut log = Log::default();
        session.receive(SEND, &mut log);
        session.receive(b"\xff\xfa\x05\x00\xfb\x01\xff\xf0", &mut log);
        session.receive(b"\xff\xfa\x05\xff\xf0", &mut log);
        session.receive(b"\xff\xfa\x05\x02\xff\xf0", &mut log);
        assert!(!session.request_status());
        assert!(transmit(&mut session).is_empty());
        assert_eq!(
            log.events,
            [
                "BadSubnegotiation { option: Status, error: NotAllowed }",
                "BadSubnegotiation { option: Status, error: NotAllowed }",
                "BadSubnegotiation { option: Status, error: Empty }",
                "BadSubnegotiation { option: Status, error: UnknownCommand(2) }",
            ]
        );
    }

    #[test]
    fn peer_report_is_parsed_and_kept() {
        let policy = Policy::new().allow_remote(TelnetOption::Status);
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(policy));
        let mut log = Log::default();
        server.receive(b"\xff\xfb\x05", &mut log);
        assert_eq!(
            transmit(&mut server),
            [b"\xff\xfd\x05".as_slice(), SEND].concat()
        );
        server.receive(
            b"\xff\xfa\x05\x00\xfb\x18\xfa\x1f\x00\x50\x00\x18\xf0\xff\xf0",
            &mut log,
        );
        let naws = StatusItem::Subnegotiation {
            option: TelnetOption::Naws,
            parameters: vec![0, 80, 0, 24],
        };
        assert_eq!(
            server.peer_status(),
            Some([opt(Verb::Will, 24), naws].as_slice())
        );
        // A bad report changes nothing.
        server.receive(b"\xff\xfa\x05\x00\xfb\xff\xf0", &mut log);
        server.receive(b"\xff\xfa\x05\x01\x00\xff\xf0", &mut log);
        assert_eq!(server.peer_status().map(<[_]>::len), Some(2));
        assert_eq!(
            log.events[1..],
            [
                "Status(Report([Option { verb: Will, option: Ttype }, \
                 Subnegotiation { option: Naws, parameters: [0, 80, 0, 24] }]))",
                "BadSubnegotiation { option: Status, error: Truncated }",
                "BadSubnegotiation { option: Status, error: TooLong }",
            ]
        );
        assert!(server.request_status());
        assert_eq!(transmit(&mut server), SEND);
    }

    #[test]
    fn round_trip_between_sessions() {
        let client = SessionConfig::with_policy(
            Policy::new()
                .allow_local(TelnetOption::Status)
                .allow_remote(TelnetOption::Echo),
        );
        let server = SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Echo));
        let (client, mut server, _, server_log) = drive_pair_with(client, server, |_, server| {
            server.request_remote(TelnetOption::Status, true).unwrap();
            server.request_local(TelnetOption::Echo, true).unwrap();
        });
        let expected = client.status_report();
        assert_eq!(expected, [opt(Verb::Do, 1), opt(Verb::Will, 5)]);
        // Two reports: the unsolicited one sent with WILL STATUS (before ECHO was
        // agreed), then the answer to the server's SEND, which is the one kept.
        let reports: Vec<_> = server_log
            .events
            .iter()
            .filter(|e| e.starts_with("Status(Report"))
            .collect();
        assert_eq!(
            reports,
            [
                "Status(Report([Option { verb: Will, option: Status }]))",
                "Status(Report([Option { verb: Do, option: Echo }, \
                 Option { verb: Will, option: Status }]))",
            ]
        );
        assert_eq!(server.peer_status(), Some(expected.as_slice()));
        assert!(server_log.events.iter().all(|e| !e.contains("Bad")));
        assert!(server.request_status());
    }

    proptest! {
        #[test]
        fn build_parse_round_trip(
            raw in proptest::collection::vec(
                (0u8..5, any::<u8>(), proptest::collection::vec(any::<u8>(), 0..8)),
                0..16,
            )
        ) {
            let items: Vec<StatusItem> = raw
                .into_iter()
                .map(|(kind, code, parameters)| match Verb::from_code(251 + kind) {
                    Some(verb) => opt(verb, code),
                    None => StatusItem::Subnegotiation {
                        option: TelnetOption::from(code),
                        parameters,
                    },
                })
                .collect();
            let payload = build_is(&items);
            prop_assert_eq!(parse_is(&payload[1..]), Ok(items));
        }

        #[test]
        fn any_list_is_handled(list in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_is(&list);
        }
    }
}
