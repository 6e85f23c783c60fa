use proptest::prelude::*;

use super::*;
use crate::options::tests::{drive_pair_with, transmit, Log};
use crate::{Policy, Session, SessionConfig};

const DO_CHARSET: &[u8] = b"\xff\xfd\x2a";
const DONT_CHARSET: &[u8] = b"\xff\xfe\x2a";
const WILL_CHARSET: &[u8] = b"\xff\xfb\x2a";
const WONT_CHARSET: &[u8] = b"\xff\xfc\x2a";

/// telnetlib3 5.0.1 server's REQUEST payload, byte for byte from the wire capture.
const TELNETLIB3_REQUEST: &[u8] = b"\x01 UTF-8 UTF-16 LATIN1 CP1252 ISO-8859-15 CP437 \
SHIFT_JIS CP932 BIG5 CP950 GBK GB2312 CP936 EUC-KR CP949 US-ASCII";

fn sb(payload: &[u8]) -> Vec<u8> {
    let mut out = b"\xff\xfa\x2a".to_vec();
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\xff\xf0");
    out
}

fn charset_policy() -> Policy {
    Policy::new()
        .allow_local(TelnetOption::Charset)
        .allow_remote(TelnetOption::Charset)
}

/// A client that performs CHARSET both ways, after the server's DO and WILL.
fn enabled_client(config: SessionConfig) -> Session {
    let mut client = Session::new(Role::Client, config);
    let mut log = Log::default();
    client.receive(DO_CHARSET, &mut log);
    client.receive(WILL_CHARSET, &mut log);
    assert_eq!(transmit(&mut client), [WILL_CHARSET, DO_CHARSET].concat());
    client
}

/// A server that sent DO CHARSET, got WILL, reciprocated with WILL and its REQUEST, then
/// got DO: the REQUEST is returned.
fn enabled_server(config: SessionConfig) -> (Session, Vec<u8>) {
    let mut server = Session::new(Role::Server, config);
    let mut log = Log::default();
    server.request_remote(TelnetOption::Charset, true).unwrap();
    assert_eq!(transmit(&mut server), DO_CHARSET);
    server.receive(WILL_CHARSET, &mut log);
    // It reciprocates, and its REQUEST follows at once (the client's WILL agrees to the
    // subnegotiation: telnetlib3's reading of RFC 2066).
    let wire = transmit(&mut server);
    let request = wire
        .strip_prefix(WILL_CHARSET)
        .unwrap_or_else(|| panic!("no WILL CHARSET first: {wire:?}"))
        .to_vec();
    assert!(server.charset_pending() || request.is_empty());
    server.receive(DO_CHARSET, &mut log);
    assert_eq!(transmit(&mut server), b"", "the DO adds nothing");
    (server, request)
}

#[test]
fn command_codes_match_rfc2066_section_1() {
    let all = [
        (Command::Request, 1),
        (Command::Accepted, 2),
        (Command::Rejected, 3),
        (Command::TtableIs, 4),
        (Command::TtableRejected, 5),
        (Command::TtableAck, 6),
        (Command::TtableNak, 7),
    ];
    for (command, code) in all {
        assert_eq!(command.code(), code);
        assert_eq!(Command::from_code(code), Some(command));
    }
    assert_eq!(Command::from_code(0), None);
    assert_eq!(Command::from_code(8), None);
}

#[test]
fn default_offer_is_telnetlib3_request_byte_for_byte() {
    let config = Config::default();
    let mut payload = Vec::new();
    write_request(&mut payload, None, config.separator, &config.offer).unwrap();
    assert_eq!(payload, TELNETLIB3_REQUEST);

    let Ok(Message::Request(request)) = Message::parse(TELNETLIB3_REQUEST) else {
        panic!("telnetlib3's REQUEST must parse");
    };
    assert_eq!(request.separator(), b' ');
    assert_eq!(request.ttable_version(), None);
    assert_eq!(request.charsets().collect::<Vec<_>>(), config.offer);
    assert_eq!(Message::Request(request).to_payload(), TELNETLIB3_REQUEST);
}

#[test]
fn simple_messages_parse_and_write() {
    let cases: [(&[u8], Message<'_>); 6] = [
        (b"\x02UTF-8", Message::Accepted("UTF-8")),
        (b"\x03", Message::Rejected),
        (b"\x05", Message::TtableRejected),
        (b"\x06", Message::TtableAck),
        (b"\x07", Message::TtableNak),
        (
            b"\x04\x02whatever",
            Message::TtableIs(TranslationTable::Other {
                version: 2,
                data: b"whatever",
            }),
        ),
    ];
    for (payload, message) in cases {
        assert_eq!(Message::parse(payload), Ok(message), "{payload:?}");
        assert_eq!(message.to_payload(), payload);
    }
}

#[test]
fn ttable_request_parses() {
    let Ok(Message::Request(request)) = Message::parse(b"\x01[TTABLE]\x01;UTF-8;LATIN1") else {
        panic!("a TTABLE REQUEST must parse");
    };
    assert_eq!(request.ttable_version(), Some(1));
    assert_eq!(request.separator(), b';');
    assert_eq!(request.charsets().collect::<Vec<_>>(), ["UTF-8", "LATIN1"]);
    assert_eq!(
        format!("{request:?}"),
        r#"Request { ttable: Some(1), separator: ';', charsets: ["UTF-8", "LATIN1"] }"#
    );
}

/// A version 1 table: sep ';', "ASCII" 8 bits x 2 chars, "EBCDIC" 8 bits x 3 chars.
const TABLE_V1: &[u8] = b"\x04\x01;ASCII;\x08\x00\x00\x02EBCDIC;\x08\x00\x00\x03abxyz";

#[test]
fn ttable_is_version_1_layout() {
    let Ok(Message::TtableIs(TranslationTable::V1(table))) = Message::parse(TABLE_V1) else {
        panic!("the table must parse");
    };
    assert_eq!(table.separator(), b';');
    assert_eq!(table.charset1(), ("ASCII", 8, 2));
    assert_eq!(table.charset2(), ("EBCDIC", 8, 3));
    assert_eq!(table.map1(), b"ab");
    assert_eq!(table.map2(), b"xyz");
    assert_eq!(
        Message::TtableIs(TranslationTable::V1(table)).to_payload(),
        TABLE_V1
    );
    let built = TableV1::new(b';', ("ASCII", 8, 2), ("EBCDIC", 8, 3), b"ab", b"xyz");
    assert_eq!(built, Ok(table));
    // 7-bit characters: 3 x 7 = 21 bits, padded to 3 octets.
    let packed = b"\x04\x01 A \x07\x00\x00\x03B \x07\x00\x00\x01abcd";
    let Ok(Message::TtableIs(TranslationTable::V1(table))) = Message::parse(packed) else {
        panic!("a packed table must parse");
    };
    assert_eq!((table.map1(), table.map2()), (&b"abc"[..], &b"d"[..]));
}

#[test]
fn malformed_payloads_are_refused() {
    use SubnegotiationError::{Empty, Malformed, TooLong, Truncated, UnknownCommand};
    let cases: &[(&[u8], SubnegotiationError)] = &[
        (b"", Empty),
        (b"\x00", UnknownCommand(0)),
        (b"\x08UTF-8", UnknownCommand(8)),
        // REQUEST without a separator, with nothing but the separator, only separators.
        (b"\x01", Truncated),
        (b"\x01;", Malformed),
        (b"\x01;;;", Malformed),
        // IAC as separator, a control byte or 8-bit byte in a name.
        (b"\x01\xffUTF-8", Malformed),
        (b"\x01;UTF\x008", Malformed),
        (b"\x01;UTF-8;\xe9", Malformed),
        // [TTABLE] without version, version 0, without a list.
        (b"\x01[TTABLE]", Truncated),
        (b"\x01[TTABLE]\x00;UTF-8", Malformed),
        (b"\x01[TTABLE]\x01", Truncated),
        (b"\x01[TTABLE]\x01;", Malformed),
        // ACCEPTED without or with a bad name.
        (b"\x02", Truncated),
        (b"\x02UTF\x0d8", Malformed),
        // Bodies after commands that take none.
        (b"\x03UTF-8", TooLong),
        (b"\x05x", TooLong),
        (b"\x06x", TooLong),
        (b"\x07x", TooLong),
        // TTABLE-IS: no version, version 0, truncated at every field.
        (b"\x04", Truncated),
        (b"\x04\x00", Malformed),
        (b"\x04\x01", Truncated),
        (b"\x04\x01;ASCII", Truncated),
        (b"\x04\x01;ASCII;\x08\x00", Truncated),
        (b"\x04\x01;ASCII;\x08\x00\x00\x02EBCDIC", Truncated),
        (
            b"\x04\x01;ASCII;\x08\x00\x00\x02EBCDIC;\x08\x00\x00\x03ab",
            Truncated,
        ),
        (
            b"\x04\x01;ASCII;\x08\x00\x00\x02EBCDIC;\x08\x00\x00\x03abxyz!",
            TooLong,
        ),
        (b"\x04\x01;;\x08\x00\x00\x00B;\x08\x00\x00\x00", Malformed),
        (b"\x04\x01;A;\x00\x00\x00\x00B;\x08\x00\x00\x00", Malformed),
        (
            b"\x04\x01\xffA\xff\x08\x00\x00\x00B\xff\x08\x00\x00\x00",
            Malformed,
        ),
        // A count of 2^24 - 1 characters cannot fit in any payload.
        (b"\x04\x01;A;\xff\xff\xff\xffB;\x08\x00\x00\x00", Truncated),
    ];
    for &(payload, error) in cases {
        assert_eq!(Message::parse(payload), Err(error), "{payload:?}");
    }
}

#[test]
fn write_request_refuses_bad_offers() {
    let mut out = Vec::new();
    let none: [&str; 0] = [];
    assert_eq!(
        write_request(&mut out, None, b' ', &none),
        Err(CharsetError::EmptyOffer)
    );
    for (ttable, sep, names) in [
        (None, b' ', vec!["UTF 8"]),
        (None, b' ', vec![""]),
        (None, IAC, vec!["UTF-8"]),
        (None, b';', vec!["caf\u{e9}"]),
        (Some(0), b';', vec!["UTF-8"]),
    ] {
        assert_eq!(
            write_request(&mut out, ttable, sep, &names),
            Err(CharsetError::InvalidOffer)
        );
    }
    let long = "X".repeat(MAX_NAME_LEN + 1);
    assert_eq!(
        write_request(&mut out, None, b' ', &[long]),
        Err(CharsetError::InvalidOffer)
    );
    assert!(out.is_empty());
    write_request(&mut out, Some(1), b';', &["UTF-8", "LATIN1"]).unwrap();
    assert_eq!(out, b"\x01[TTABLE]\x01;UTF-8;LATIN1");
}

#[test]
fn names_compare_like_telnetlib3_normalisation() {
    assert!(same_charset("UTF-8", "utf8"));
    assert!(same_charset("utf_8", "UTF-8"));
    assert!(same_charset("LATIN1", "latin-1"));
    assert!(same_charset("ISO 8859-15", "iso-8859-15"));
    assert!(!same_charset("UTF-8", "UTF-16"));
    assert!(!same_charset("CP437", "CP4370"));
}

#[test]
fn server_negotiates_and_sends_telnetlib3_request_once() {
    let (mut server, wire) = enabled_server(SessionConfig::default());
    assert_eq!(wire, sb(TELNETLIB3_REQUEST));
    assert!(server.charset_pending());
    assert_eq!(server.request_charset(), Err(CharsetError::Pending));

    let mut log = Log::default();
    server.receive(&sb(b"\x02UTF-8"), &mut log);
    assert_eq!(log.events, [r#"Charset(Accepted("UTF-8"))"#]);
    assert_eq!(server.charset(), Some("UTF-8"));
    assert!(!server.charset_pending());
    assert!(!server.charset_rejected());
    assert!(transmit(&mut server).is_empty());

    // A second ACCEPTED answers nothing: refused, nothing changes.
    server.receive(&sb(b"\x02LATIN1"), &mut log);
    assert_eq!(
        log.events[1],
        "BadSubnegotiation { option: Charset, error: NotAllowed }"
    );
    assert_eq!(server.charset(), Some("UTF-8"));

    // Re-enabling CHARSET does not send the automatic REQUEST again...
    server.receive(WONT_CHARSET, &mut log);
    assert_eq!(transmit(&mut server), DONT_CHARSET);
    server.request_remote(TelnetOption::Charset, true).unwrap();
    assert_eq!(transmit(&mut server), DO_CHARSET);
    server.receive(WILL_CHARSET, &mut log);
    assert!(server.remote_enabled(TelnetOption::Charset));
    assert!(transmit(&mut server).is_empty());
    // ...but the application may ask again.
    server.request_charset().unwrap();
    assert_eq!(transmit(&mut server), sb(TELNETLIB3_REQUEST));
}

#[test]
fn server_accepts_only_an_offered_name() {
    let (mut server, _) = enabled_server(SessionConfig::default());
    let mut log = Log::default();
    server.receive(&sb(b"\x02KOI8-R"), &mut log);
    assert_eq!(
        log.events,
        ["BadSubnegotiation { option: Charset, error: Malformed }"]
    );
    assert!(server.charset_pending());
    // Case is not significant (RFC 2066 section 2).
    server.receive(&sb(b"\x02utf-16"), &mut log);
    assert_eq!(log.events[1], r#"Charset(Accepted("utf-16"))"#);
    assert_eq!(server.charset(), Some("utf-16"));
}

#[test]
fn server_records_rejection() {
    let (mut server, _) = enabled_server(SessionConfig::default());
    let mut log = Log::default();
    server.receive(&sb(b"\x03"), &mut log);
    assert_eq!(log.events, ["Charset(Rejected)"]);
    assert!(server.charset_rejected());
    assert!(!server.charset_pending());
    assert_eq!(server.charset(), None);
    // A new REQUEST clears the flag.
    server.request_charset().unwrap();
    assert!(!server.charset_rejected());
}

#[test]
fn server_refuses_translation_table() {
    let (mut server, _) = enabled_server(SessionConfig::default());
    let mut log = Log::default();
    server.receive(&sb(TABLE_V1), &mut log);
    assert_eq!(log.events, ["Charset(TtableRejected)"]);
    assert_eq!(transmit(&mut server), sb(b"\x05"));
    assert!(!server.charset_pending());
    assert_eq!(server.charset(), None);
    // Without an outstanding REQUEST a table, and any TTABLE answer, is out of place.
    for payload in [TABLE_V1, b"\x05", b"\x06", b"\x07", b"\x03"] {
        server.receive(&sb(payload), &mut log);
    }
    assert_eq!(log.events.len(), 6);
    assert!(log.events[1..]
        .iter()
        .all(|e| e == "BadSubnegotiation { option: Charset, error: NotAllowed }"));
    assert!(transmit(&mut server).is_empty());
}

#[test]
fn refusal_of_charset_cancels_outstanding_request() {
    let (mut server, _) = enabled_server(SessionConfig::default());
    let mut log = Log::default();
    server.receive(DONT_CHARSET, &mut log);
    assert!(!server.charset_pending());
    assert_eq!(server.request_charset(), Err(CharsetError::NotEnabled));
}

#[test]
fn client_answers_telnetlib3_request_with_accepted_utf8() {
    let mut client = enabled_client(SessionConfig::with_policy(charset_policy()));
    let mut log = Log::default();
    client.receive(&sb(TELNETLIB3_REQUEST), &mut log);
    assert_eq!(transmit(&mut client), b"\xff\xfa\x2a\x02UTF-8\xff\xf0");
    assert_eq!(
        log.events,
        [
            r#"Charset(Requested(Request { ttable: None, separator: ' ', charsets: ["UTF-8", "UTF-16", "LATIN1", "CP1252", "ISO-8859-15", "CP437", "SHIFT_JIS", "CP932", "BIG5", "CP950", "GBK", "GB2312", "CP936", "EUC-KR", "CP949", "US-ASCII"] }))"#,
            r#"Charset(Selected("UTF-8"))"#,
        ]
    );
    assert_eq!(client.charset(), Some("UTF-8"));
    assert_eq!(client.peer_charset_offer().len(), 16);
    assert_eq!(client.peer_charset_offer()[15], "US-ASCII");
    // The client never sends a REQUEST on its own.
    assert!(!client.charset_pending());
}

#[test]
fn client_picks_first_offered_name_it_accepts() {
    let mut config = SessionConfig::with_policy(charset_policy());
    config.charset.accept = vec!["cp437".into(), "latin_1".into()];
    let mut client = enabled_client(config);
    let mut log = Log::default();
    // The peer's order decides: LATIN1 comes before CP437 in telnetlib3's list.
    client.receive(&sb(TELNETLIB3_REQUEST), &mut log);
    assert_eq!(transmit(&mut client), sb(b"\x02LATIN1"));

    let mut config = SessionConfig::with_policy(charset_policy());
    config.charset.accept = Vec::new();
    let mut client = enabled_client(config);
    client.receive(&sb(b"\x01;CP437;UTF-8"), &mut log);
    assert_eq!(transmit(&mut client), sb(b"\x02CP437"));
}

#[test]
fn client_rejects_when_nothing_is_acceptable() {
    let mut client = enabled_client(SessionConfig::with_policy(charset_policy()));
    let mut log = Log::default();
    client.receive(&sb(b"\x01;KOI8-R;CP437"), &mut log);
    assert_eq!(transmit(&mut client), b"\xff\xfa\x2a\x03\xff\xf0");
    assert_eq!(log.events[1], "Charset(Declined)");
    assert_eq!(client.charset(), None);
    assert_eq!(client.peer_charset_offer(), ["KOI8-R", "CP437"]);
}

#[test]
fn a_request_longer_than_the_cap_is_rejected_not_ignored() {
    let mut client = enabled_client(SessionConfig::with_policy(charset_policy()));
    let mut log = Log::default();
    let mut names = b"\x01".to_vec();
    while names.len() <= crate::DEFAULT_MAX_SUBNEGOTIATION {
        names.extend_from_slice(b";UTF-8");
    }
    // Split across reads as it would arrive: REJECTED goes out once, when the cap is
    // passed, and nothing more at its IAC SE.
    let wire = sb(&names);
    let (head, tail) = wire.split_at(wire.len() / 2);
    client.receive(head, &mut log);
    client.receive(tail, &mut log);
    assert_eq!(transmit(&mut client), b"\xff\xfa\x2a\x03\xff\xf0");
    assert_eq!(client.charset(), None);
    assert!(
        log.events.iter().any(|e| e == "Charset(Declined)"),
        "{:?}",
        log.events
    );
    // Any other oversized CHARSET message (here ACCEPTED) is only reported.
    let mut accepted = b"\x02".to_vec();
    accepted.resize(crate::DEFAULT_MAX_SUBNEGOTIATION + 1, b'x');
    client.receive(&sb(&accepted), &mut log);
    assert_eq!(transmit(&mut client), b"");
}

#[test]
fn client_answers_ttable_request_from_the_list() {
    let mut client = enabled_client(SessionConfig::with_policy(charset_policy()));
    let mut log = Log::default();
    client.receive(&sb(b"\x01[TTABLE]\x01;UTF-8;LATIN1"), &mut log);
    assert_eq!(transmit(&mut client), sb(b"\x02UTF-8"));
    assert_eq!(client.charset(), Some("UTF-8"));
}

#[test]
fn request_needs_the_peer_to_perform_charset() {
    // RFC 2066 section 2: only a side that received DO and sent WILL sends REQUEST.
    let mut client = Session::new(Role::Client, SessionConfig::with_policy(charset_policy()));
    let mut log = Log::default();
    client.receive(DO_CHARSET, &mut log); // we perform it; the server does not.
    let _ = transmit(&mut client);
    client.receive(&sb(TELNETLIB3_REQUEST), &mut log);
    assert_eq!(
        log.events.last().unwrap(),
        "BadSubnegotiation { option: Charset, error: NotAllowed }"
    );
    assert!(transmit(&mut client).is_empty());
    assert_eq!(client.charset(), None);
    assert!(client.peer_charset_offer().is_empty());
}

#[test]
fn malformed_request_changes_nothing() {
    let mut client = enabled_client(SessionConfig::with_policy(charset_policy()));
    let mut log = Log::default();
    client.receive(&sb(b"\x01;"), &mut log);
    client.receive(&sb(b"\x09"), &mut log);
    assert_eq!(
        log.events,
        [
            "BadSubnegotiation { option: Charset, error: Malformed }",
            "BadSubnegotiation { option: Charset, error: UnknownCommand(9) }",
        ]
    );
    assert!(transmit(&mut client).is_empty());
    assert_eq!(client.charset(), None);
}

#[test]
fn request_charset_needs_charset_enabled_and_an_offer() {
    let mut client = Session::new(Role::Client, SessionConfig::with_policy(charset_policy()));
    assert_eq!(client.request_charset(), Err(CharsetError::NotEnabled));
    let mut config = SessionConfig::with_policy(charset_policy());
    config.charset.offer.clear();
    let mut client = enabled_client(config);
    assert_eq!(client.request_charset(), Err(CharsetError::EmptyOffer));
    assert!(transmit(&mut client).is_empty());
    // A server with nothing to offer negotiates the option but sends no REQUEST.
    let mut config = SessionConfig::default();
    config.charset.offer.clear();
    let (server, wire) = enabled_server(config);
    assert!(wire.is_empty());
    assert!(!server.charset_pending());
}

#[test]
fn both_roles_end_to_end() {
    let (client, server, client_log, server_log) = drive_pair_with(
        SessionConfig::with_policy(charset_policy()),
        SessionConfig::default(),
        |_client, server| server.request_remote(TelnetOption::Charset, true).unwrap(),
    );
    for session in [&client, &server] {
        assert!(session.local_enabled(TelnetOption::Charset));
        assert!(session.remote_enabled(TelnetOption::Charset));
        assert_eq!(session.charset(), Some("UTF-8"));
        assert!(!session.charset_pending());
    }
    assert!(client_log
        .events
        .contains(&r#"Charset(Selected("UTF-8"))"#.to_owned()));
    assert!(server_log
        .events
        .contains(&r#"Charset(Accepted("UTF-8"))"#.to_owned()));
    assert!(!server_log.events.iter().any(|e| e.contains("Bad")));
    assert!(!client_log.events.iter().any(|e| e.contains("Bad")));
}

#[test]
fn client_refusal_end_to_end() {
    let mut client_config = SessionConfig::with_policy(charset_policy());
    client_config.charset.accept = vec!["KOI8-R".into()];
    let (client, server, _, server_log) = drive_pair_with(
        client_config,
        SessionConfig::default(),
        |_client, server| server.request_remote(TelnetOption::Charset, true).unwrap(),
    );
    assert!(server.charset_rejected());
    assert_eq!(server.charset(), None);
    assert_eq!(client.charset(), None);
    assert_eq!(server_log.events.last().unwrap(), "Charset(Rejected)");
}

#[test]
fn collision_server_request_wins() {
    // Both sides perform CHARSET both ways; the server's automatic REQUEST is on the wire.
    let mut client_config = SessionConfig::with_policy(charset_policy());
    client_config.charset.offer = vec!["CP437".into()];
    let mut client = enabled_client(client_config);
    let (mut server, server_request) = enabled_server(SessionConfig::default());

    // The client sends its own REQUEST before it sees the server's.
    client.request_charset().unwrap();
    let client_request = transmit(&mut client);
    assert_eq!(client_request, sb(b"\x01 CP437"));

    // RFC 2066 section 5: "the server MUST reject the client's request by sending a
    // CHARSET REJECTED message"; its own REQUEST stays outstanding.
    let (mut client_log, mut server_log) = (Log::default(), Log::default());
    server.receive(&client_request, &mut server_log);
    assert_eq!(server_log.events, ["Charset(Declined)"]);
    let rejection = transmit(&mut server);
    assert_eq!(rejection, sb(b"\x03"));
    assert!(server.charset_pending());
    assert!(server.peer_charset_offer().is_empty());

    // "The client system MUST respond to the server's request"; its own REQUEST awaits
    // the server's REJECTED.
    client.receive(&server_request, &mut client_log);
    assert_eq!(client_log.events[1], r#"Charset(Selected("UTF-8"))"#);
    assert!(client.charset_pending());
    let answer = transmit(&mut client);
    assert_eq!(answer, sb(b"\x02UTF-8"));

    server_log.events.clear();
    server.receive(&answer, &mut server_log);
    assert_eq!(server_log.events, [r#"Charset(Accepted("UTF-8"))"#]);
    assert_eq!(server.charset(), Some("UTF-8"));
    assert!(!server.charset_pending());

    // The server's REJECTED ends the client's REQUEST, leaving the character set as the
    // server's REQUEST chose it.
    client.receive(&rejection, &mut client_log);
    assert_eq!(client_log.events.last().unwrap(), "Charset(Rejected)");
    assert!(!client.charset_pending());
    assert_eq!(client.charset(), Some("UTF-8"));
    assert!(transmit(&mut client).is_empty());
    assert!(transmit(&mut server).is_empty());
}

#[test]
fn rfc2066_examples_golden() {
    // Section 5's first example: the client (workstation) sends "CHARSET REQUEST Cyrillic
    // EBCDIC-Cyrillic", the server answers "CHARSET ACCEPTED EBCDIC-Cyrillic".
    let mut config = SessionConfig::default();
    config.charset.accept = vec!["EBCDIC-Cyrillic".into()];
    let (mut server, _) = enabled_server(config);
    let mut log = Log::default();
    // (Our automatic REQUEST is answered first, so that no collision occurs.)
    server.receive(&sb(b"\x03"), &mut log);
    server.receive(&sb(b"\x01 Cyrillic EBCDIC-Cyrillic"), &mut log);
    assert_eq!(transmit(&mut server), sb(b"\x02EBCDIC-Cyrillic"));
    assert_eq!(server.charset(), Some("EBCDIC-Cyrillic"));

    // Its second example: "CHARSET REQUEST [TTABLE] 1 Cyrillic". This crate never sends
    // TTABLE-IS; the receiver may answer from the list (section 2), and with nothing
    // acceptable answers REJECTED.
    let (mut server, _) = enabled_server(SessionConfig::default());
    server.receive(&sb(b"\x03"), &mut log);
    server.receive(&sb(b"\x01[TTABLE]\x01 Cyrillic"), &mut log);
    assert_eq!(transmit(&mut server), sb(b"\x03"));
    // The syntax line's "[TTABLE ]" spelling is understood too; we write "[TTABLE]".
    let request = Request::parse(b"[TTABLE ]\x01 Cyrillic EBCDIC-INT").unwrap();
    assert_eq!(request.ttable_version(), Some(1));
    assert_eq!(
        request.charsets().collect::<Vec<_>>(),
        ["Cyrillic", "EBCDIC-INT"]
    );
    let mut written = Vec::new();
    request.write(&mut written);
    assert_eq!(written, b"\x01[TTABLE]\x01 Cyrillic EBCDIC-INT");
}

#[test]
fn server_answers_a_client_request_when_not_colliding() {
    let (mut server, _) = enabled_server(SessionConfig::default());
    let mut log = Log::default();
    server.receive(&sb(b"\x02UTF-8"), &mut log);
    server.receive(&sb(b"\x01;utf8;CP437"), &mut log);
    assert_eq!(transmit(&mut server), sb(b"\x02utf8"));
    assert_eq!(server.charset(), Some("utf8"));
}

#[test]
fn stored_offer_is_bounded() {
    let mut client = enabled_client(SessionConfig::with_policy(charset_policy()));
    let mut payload = b"\x01;".to_vec();
    payload.extend_from_slice(&"Y".repeat(MAX_NAME_LEN + 1).into_bytes());
    for i in 0..200 {
        payload.extend_from_slice(format!(";N{i}").as_bytes());
    }
    let mut log = Log::default();
    client.receive(&sb(&payload), &mut log);
    assert_eq!(client.peer_charset_offer().len(), MAX_STORED_OFFER);
    assert_eq!(client.peer_charset_offer()[0], "N0");
    // Nothing acceptable (accept is UTF-8): REJECTED.
    assert_eq!(transmit(&mut client), sb(b"\x03"));
}

fn separator_and_names() -> impl Strategy<Value = (u8, Vec<String>)> {
    (
        any::<u8>().prop_filter("IAC is not a separator", |&b| b != IAC),
        prop::collection::vec("[ -~]{1,20}", 1..8),
    )
        .prop_filter_map("names must not contain the separator", |(sep, names)| {
            let names: Vec<String> = names
                .into_iter()
                .map(|n| n.replace(char::from(sep), ""))
                .filter(|n| !n.is_empty())
                .collect();
            (!names.is_empty()).then_some((sep, names))
        })
}

proptest! {
    #[test]
    fn request_round_trip(
        (sep, names) in separator_and_names(),
        ttable in prop::option::of(1u8..=255),
    ) {
        let mut payload = Vec::new();
        write_request(&mut payload, ttable, sep, &names).unwrap();
        let Ok(Message::Request(request)) = Message::parse(&payload) else {
            panic!("a built REQUEST must parse: {payload:?}");
        };
        prop_assert_eq!(request.separator(), sep);
        prop_assert_eq!(request.ttable_version(), ttable);
        prop_assert_eq!(request.charsets().collect::<Vec<_>>(), names);
        prop_assert_eq!(Message::Request(request).to_payload(), payload);
    }

    #[test]
    fn parse_never_panics_and_rewrites_what_it_accepts(
        payload in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        if let Ok(message) = Message::parse(&payload) {
            prop_assert_eq!(message.to_payload(), payload);
        }
    }

    #[test]
    fn session_survives_any_payload(payload in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut client = enabled_client(SessionConfig::with_policy(charset_policy()));
        let mut log = Log::default();
        let mut escaped = Vec::new();
        crate::escape_iac(&payload, &mut escaped);
        client.receive(&sb(&escaped), &mut log);
        prop_assert!(client.charset().is_none_or(|name| name.len() <= MAX_NAME_LEN));
        prop_assert!(client.peer_charset_offer().len() <= MAX_STORED_OFFER);
    }
}
