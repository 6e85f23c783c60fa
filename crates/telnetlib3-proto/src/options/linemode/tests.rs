//! LINEMODE tests: golden bytes for both roles, malformed input, round trips, the SLC
//! rules, and the data scan.

use super::slc::{negotiate, Outcome};
use super::*;
use crate::options::tests::{drive_pair_with, transmit, Log};
use crate::{Policy, Session, SessionConfig};
use proptest::prelude::*;

const WILL_LINEMODE: &[u8] = b"\xff\xfb\x22";
const DO_LINEMODE: &[u8] = b"\xff\xfd\x22";

/// telnetlib3's BSD table as the server sends it: functions whose level is not
/// NOSUPPORT, in code order.
const BSD_TABLE: &[u8] = b"\x01\x03\x00\x02\x03\x00\x03\x62\x03\x04\x22\x0f\x05\x02\x14\
\x06\x03\x00\x07\x62\x1c\x08\x02\x04\x09\x42\x1a\x0a\x02\x7f\x0b\x02\x15\x0c\x02\x17\
\x0d\x02\x12\x0e\x02\x16\x0f\x02\x11\x10\x02\x13";

/// `DO FORWARDMASK` for the BSD table, 16 octets: ^C ^D | ^O | ^Q..^W | ^Z ^\ | DEL.
const BSD_FORWARDMASK: &[u8] = b"\xff\xfa\x22\xfd\x02\x18\x01\x7f\x28\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\xff\xf0";

fn sb(payload: &[u8]) -> Vec<u8> {
    let mut out = b"\xff\xfa\x22".to_vec();
    for &b in payload {
        out.push(b);
        if b == 0xFF {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(b"\xff\xf0");
    out
}

fn server() -> Session {
    let config = SessionConfig::with_policy(Policy::new().allow_remote(TelnetOption::Linemode));
    let mut server = Session::new(Role::Server, config);
    server.request_remote(TelnetOption::Linemode, true).unwrap();
    assert_eq!(transmit(&mut server), DO_LINEMODE);
    server
}

fn client_with(config: SessionConfig) -> (Session, Log) {
    let mut config = config;
    config.policy = Policy::new().allow_local(TelnetOption::Linemode);
    let mut client = Session::new(Role::Client, config);
    let mut log = Log::default();
    client.receive(DO_LINEMODE, &mut log);
    (client, log)
}

#[test]
fn server_golden_exchange() {
    let mut server = server();
    let mut log = Log::default();
    server.receive(WILL_LINEMODE, &mut log);
    // telnetlib3's default mode: REMOTE | LIT_ECHO.
    assert_eq!(transmit(&mut server), sb(&[1, 0x10]));
    // RFC 1184 section 3: MODE 0 is in force until the client acknowledges.
    assert_eq!(server.linemode_mode(), Some(ModeMask::REMOTE));

    // The client asks for our defaults: the whole table, then the forward mask.
    server.receive(&sb(&[3, 0, 3, 0]), &mut log);
    let mut expected = sb(&[&[3][..], BSD_TABLE].concat());
    expected.extend_from_slice(BSD_FORWARDMASK);
    assert_eq!(transmit(&mut server), expected);

    // The client acknowledges the mode: no answer, and the table is not sent again.
    server.receive(&sb(&[1, 0x14]), &mut log);
    assert_eq!(transmit(&mut server), b"");
    assert_eq!(server.linemode_mode(), Some(ModeMask::LIT_ECHO));

    server.receive(&sb(&[251, 2]), &mut log);
    assert_eq!(transmit(&mut server), b"");
    assert_eq!(server.forwardmask_agreed(), Some(true));
    assert_eq!(
        log.events,
        [
            "OptionChanged { option: Linemode, side: Remote, enabled: true }",
            "Linemode(ModeChanged(ModeMask(LIT_ECHO)))",
            "Linemode(ForwardMaskAnswer(true))",
        ]
    );
}

#[test]
fn server_sends_its_table_once_after_the_first_ack() {
    let mut server = server();
    let mut log = Log::default();
    server.receive(WILL_LINEMODE, &mut log);
    let _ = transmit(&mut server);
    server.receive(&sb(&[1, 0x14]), &mut log);
    assert_eq!(transmit(&mut server), sb(&[&[3][..], BSD_TABLE].concat()));
    server.receive(&sb(&[1, 0x14]), &mut log);
    assert_eq!(transmit(&mut server), b"");
}

#[test]
fn server_takes_and_acknowledges_a_counter_proposal() {
    let mut server = server();
    let mut log = Log::default();
    server.receive(WILL_LINEMODE, &mut log);
    let _ = transmit(&mut server);
    // The client answers our LIT_ECHO with EDIT, no ACK.
    server.receive(&sb(&[1, 0x01]), &mut log);
    assert_eq!(transmit(&mut server), sb(&[1, 0x05]));
    assert_eq!(server.linemode_mode(), Some(ModeMask::EDIT));
    // Our own change: MODE without ACK; it takes effect on the acknowledgement.
    assert!(server.set_linemode_mode(ModeMask::EDIT | ModeMask::TRAPSIG));
    assert_eq!(transmit(&mut server), sb(&[1, 0x03]));
    assert_eq!(server.linemode_mode(), Some(ModeMask::EDIT));
    server.receive(&sb(&[1, 0x07]), &mut log);
    assert_eq!(
        server.linemode_mode(),
        Some(ModeMask::EDIT | ModeMask::TRAPSIG)
    );
    assert_eq!(
        transmit(&mut server),
        sb(&[
            3, 1, 3, 0, 2, 3, 0, 3, 0x62, 3, 4, 0x22, 15, 5, 2, 20, 6, 3, 0, 7, 0x62, 28, 8, 2, 4,
            9, 0x42, 26, 10, 2, 127, 11, 2, 21, 12, 2, 23, 13, 2, 18, 14, 2, 22, 15, 2, 17, 16, 2,
            19
        ])
    );
    // Nothing to send for the mode in force.
    assert!(!server.set_linemode_mode(ModeMask::EDIT | ModeMask::TRAPSIG | ModeMask::MODE_ACK));
}

#[test]
fn client_golden_exchange() {
    let (mut client, mut log) = client_with(SessionConfig::default());
    // WILL LINEMODE, then the SLC request for the server's defaults.
    let mut expected = WILL_LINEMODE.to_vec();
    expected.extend_from_slice(&sb(&[3, 0, 3, 0]));
    assert_eq!(transmit(&mut client), expected);

    client.receive(&sb(&[1, 0x10]), &mut log);
    assert_eq!(transmit(&mut client), sb(&[1, 0x14]));
    assert_eq!(client.linemode_mode(), Some(ModeMask::LIT_ECHO));

    // The same mode again, with or without ACK: ignored, never answered.
    client.receive(&sb(&[1, 0x10]), &mut log);
    client.receive(&sb(&[1, 0x14]), &mut log);
    // A different mode with ACK set: the client ignores it (RFC 1184 section 2.2).
    client.receive(&sb(&[1, 0x15]), &mut log);
    assert_eq!(transmit(&mut client), b"");
    assert_eq!(client.linemode_mode(), Some(ModeMask::LIT_ECHO));

    // The server's table equals ours: nothing to answer.
    client.receive(&sb(&[&[3][..], BSD_TABLE].concat()), &mut log);
    assert_eq!(transmit(&mut client), b"");

    // A forward mask with a 0xFF octet (doubled on the wire): WILL, in answer to every
    // DO FORWARDMASK (RFC 1184 section 2.3).
    let mask = [0x18, 0xFF];
    client.receive(&sb(&[253, 2, 0x18, 0xFF]), &mut log);
    assert_eq!(transmit(&mut client), b"\xff\xfa\x22\xfb\x02\xff\xf0");
    client.receive(&sb(&[253, 2, 0x18, 0xFF]), &mut log);
    assert_eq!(transmit(&mut client), b"\xff\xfa\x22\xfb\x02\xff\xf0");
    let got = client.forwardmask().unwrap();
    assert_eq!(got.as_bytes(), mask);
    assert!(got.contains(3) && got.contains(4) && got.contains(8) && got.contains(15));
    assert!(!got.contains(5) && !got.contains(16));
    client.receive(&sb(&[254, 2]), &mut log);
    assert_eq!(transmit(&mut client), b"\xff\xfa\x22\xfc\x02\xff\xf0");
    client.receive(&sb(&[254, 2]), &mut log);
    assert_eq!(transmit(&mut client), b"");
    assert_eq!(client.forwardmask(), None);
    assert_eq!(
        log.events,
        [
            "OptionChanged { option: Linemode, side: Local, enabled: true }",
            "Linemode(ModeChanged(ModeMask(LIT_ECHO)))",
            "Linemode(ForwardMask(ForwardMask([3, 4, 8, 9, 10, 11, 12, 13, 14, 15])))",
            "Linemode(ForwardMask(ForwardMask([3, 4, 8, 9, 10, 11, 12, 13, 14, 15])))",
            "Linemode(ForwardMaskCancelled)",
            "Linemode(ForwardMaskCancelled)",
        ]
    );
}

#[test]
fn client_declines_bits_it_does_not_do_but_follows_edit_and_trapsig() {
    let mut config = SessionConfig::default();
    config.linemode.client_modes = ModeMask::REMOTE;
    let (mut client, mut log) = client_with(config);
    let _ = transmit(&mut client);
    client.receive(&sb(&[1, 0x0B]), &mut log); // EDIT | TRAPSIG | SOFT_TAB
    assert_eq!(transmit(&mut client), sb(&[1, 0x03])); // no ACK: a different mode
    assert_eq!(
        client.linemode_mode(),
        Some(ModeMask::EDIT | ModeMask::TRAPSIG)
    );
    // The server acknowledges what we took: nothing more.
    client.receive(&sb(&[1, 0x07]), &mut log);
    assert_eq!(transmit(&mut client), b"");
}

#[test]
fn client_can_export_its_table_instead() {
    let mut config = SessionConfig::default();
    config.linemode.client_requests_defaults = false;
    let (mut client, _) = client_with(config);
    let mut expected = WILL_LINEMODE.to_vec();
    expected.extend_from_slice(&sb(&[&[3][..], BSD_TABLE].concat()));
    assert_eq!(transmit(&mut client), expected);
}

#[test]
fn malformed_and_unexpected_input_is_rejected_without_change() {
    let (mut client, _) = client_with(SessionConfig::default());
    let _ = transmit(&mut client);
    let before = *client.slc_table();
    let cases: &[(&[u8], &str)] = &[
        (&[], "Empty"),
        (&[1], "Truncated"),
        (&[1, 0x10, 0], "TooLong"),
        (&[3, 3, 2], "Truncated"),
        (&[3, 3, 2, 0x1f, 8], "Truncated"),
        (&[9, 1], "UnknownCommand(9)"),
        (&[253], "Truncated"),
        (&[253, 2], "Truncated"),
        (&[253, 7, 1], "UnknownCommand(7)"),
        (&[254, 2, 0], "TooLong"),
        (&[251, 2], "NotAllowed"),
    ];
    for &(payload, error) in cases {
        let mut log = Log::default();
        client.receive(&sb(payload), &mut log);
        assert_eq!(
            log.events,
            [format!(
                "BadSubnegotiation {{ option: Linemode, error: {error} }}"
            )],
            "{payload:?}"
        );
    }
    let mut long = vec![253, 2];
    long.extend_from_slice(&[0; 33]);
    assert_eq!(Message::parse(&long), Err(SubnegotiationError::TooLong));
    assert_eq!(transmit(&mut client), b"");
    assert_eq!(*client.slc_table(), before);
    assert_eq!(client.linemode_mode(), Some(ModeMask::REMOTE));
    assert_eq!(client.forwardmask(), None);

    // Before LINEMODE is agreed nothing is accepted.
    let mut server = Session::new(Role::Server, SessionConfig::default());
    let mut log = Log::default();
    server.receive(&sb(&[1, 0x14]), &mut log);
    server.receive(&sb(&[3, 3, 2, 0x1f]), &mut log);
    assert_eq!(
        log.events,
        ["BadSubnegotiation { option: Linemode, error: NotAllowed }"; 2]
    );
    assert_eq!(transmit(&mut server), b"");
    assert_eq!(*server.slc_table(), SlcTable::bsd());
}

/// `negotiate` as a server.
fn run(table: &mut SlcTable, defaults: &SlcTable, list: &[u8]) -> (Vec<u8>, Outcome) {
    run_as(false, table, defaults, list)
}

fn run_as(
    client: bool,
    table: &mut SlcTable,
    defaults: &SlcTable,
    list: &[u8],
) -> (Vec<u8>, Outcome) {
    let mut reply = Vec::new();
    let triplets = parse_triplets(list).unwrap();
    let outcome = negotiate(table, defaults, client, triplets, &mut reply);
    (reply, outcome)
}

#[test]
fn slc_rules() {
    use SlcFunction as F;
    let defaults = SlcTable::bsd();
    let mut table = defaults;
    // Same level and value, or any ACK: no answer, no change.
    assert_eq!(run(&mut table, &defaults, &[3, 0x62, 3]).0, b"");
    assert_eq!(run(&mut table, &defaults, &[3, 0x82, 9]).0, b"");
    assert_eq!(run(&mut table, &defaults, &[3, 0x81, 9]).0, b"");
    assert_eq!(table, defaults);
    // VALUE on a character we may change: take it, acknowledge with ACK.
    let (reply, outcome) = run(&mut table, &defaults, &[3, 0x42, 0x1f]);
    assert_eq!(reply, [3, 0xC2, 0x1f]);
    assert_eq!(outcome.changed, 1 << 3);
    assert_eq!(
        table.get(F::Ip),
        SlcEntry::new(SlcLevel::Value, SlcFlags::FLUSHIN, 0x1f)
    );
    // NOSUPPORT: taken and acknowledged.
    assert_eq!(run(&mut table, &defaults, &[8, 0, 0]).0, [8, 0x80, 0]);
    assert_eq!(table.get(F::Eof).level, SlcLevel::NoSupport);
    // DEFAULT: back to our default, answered without ACK.
    assert_eq!(run(&mut table, &defaults, &[8, 3, 0]).0, [8, 2, 4]);
    assert_eq!(table.get(F::Eof), defaults.get(F::Eof));
    // DEFAULT for a function without a default character of ours: NOSUPPORT.
    assert_eq!(run(&mut table, &defaults, &[2, 0x03, 0x1f]).0, [2, 0, 0]);
    assert_eq!(table.get(F::Brk).level, SlcLevel::NoSupport);
    // A VALUE for a DEFAULT-level function (no character of our own): taken.
    assert_eq!(run(&mut table, &defaults, &[2, 2, 0x1f]).0, [2, 0x82, 0x1f]);
    assert_eq!(table.get(F::Brk).value, 0x1f);
    // Unknown functions: NOSUPPORT, unless already NOSUPPORT or an ACK.
    assert_eq!(
        run(&mut table, &defaults, &[40, 2, 1, 41, 0, 1, 42, 0x82, 1]).0,
        [40, 0, 0]
    );
    // `0 SLC_VALUE 0`: our current table; `0 SLC_DEFAULT 0`: reset, then the defaults.
    let (reply, outcome) = run(&mut table, &defaults, &[0, 2, 0]);
    assert!(outcome.table_sent);
    assert_eq!(&reply[6..9], [3, 0x42, 0x1f]);
    let (reply, outcome) = run(&mut table, &defaults, &[0, 3, 0, 0, 3, 0]);
    assert_eq!(reply, BSD_TABLE, "answered once per list");
    assert_eq!(table, defaults);
    assert_eq!(outcome.changed, (1 << 2) | (1 << 3));

    // CANTCHANGE against CANTCHANGE: NOSUPPORT; against VALUE-only: our level back.
    let mut fixed = SlcTable::empty();
    fixed.set(
        F::Ip,
        SlcEntry::new(SlcLevel::CantChange, SlcFlags::NONE, 3),
    );
    let mut table = fixed;
    assert_eq!(run(&mut table, &fixed, &[3, 1, 4]).0, [3, 0, 4]);
    assert_eq!(table.get(F::Ip).level, SlcLevel::NoSupport);
    let mut table = fixed;
    assert_eq!(run(&mut table, &fixed, &[3, 2, 4]).0, [3, 1, 3]);
    assert_eq!(table.get(F::Ip), fixed.get(F::Ip));
}

/// RFC 1184 section 5.5, rule 2: an SLC_ACK triplet at our level with another value is
/// never answered; the server ignores it, the client switches to it.
#[test]
fn slc_ack_with_another_value_server_ignores_client_takes() {
    use SlcFunction as F;
    let defaults = SlcTable::bsd();
    let mut table = defaults;
    assert_eq!(run_as(false, &mut table, &defaults, &[10, 0x82, 8]).0, b"");
    assert_eq!(table, defaults);
    let (reply, outcome) = run_as(true, &mut table, &defaults, &[10, 0x82, 8]);
    assert_eq!(reply, b"");
    assert_eq!(outcome.changed, 1 << 10);
    assert_eq!(
        table.get(F::Ec),
        SlcEntry::new(SlcLevel::Value, SlcFlags::NONE, 8)
    );
    // An ACK at another level answers an older request: no answer, no change, either side.
    let before = table;
    assert_eq!(run_as(true, &mut table, &defaults, &[10, 0x81, 9]).0, b"");
    assert_eq!(table, before);
}

/// RFC 1184 section 2.4: "Only the client may send an octet triplet with the first octet
/// equal to zero", so a client ignores `0 SLC_DEFAULT 0` and `0 SLC_VALUE 0`.
#[test]
fn client_ignores_whole_table_requests() {
    let defaults = SlcTable::bsd();
    let mut table = defaults;
    table.set(
        SlcFunction::Ec,
        SlcEntry::new(SlcLevel::Value, SlcFlags::NONE, 8),
    );
    let before = table;
    let (reply, outcome) = run_as(true, &mut table, &defaults, &[0, 3, 0, 0, 2, 0]);
    assert_eq!(reply, b"");
    assert!(!outcome.table_sent);
    assert_eq!(table, before);
}

/// RFC 1184 section 3: once LINEMODE is negotiated the mode is 0, so a MODE 0 is "currently
/// in use" and ignored (section 2.2), and a server configured for mode 0 sends none.
#[test]
fn mode_zero_is_in_force_once_negotiated() {
    let (mut client, mut log) = client_with(SessionConfig::default());
    let _ = transmit(&mut client);
    assert_eq!(client.linemode_mode(), Some(ModeMask::REMOTE));
    client.receive(&sb(&[1, 0]), &mut log);
    assert_eq!(transmit(&mut client), b"");
    assert_eq!(client.linemode_mode(), Some(ModeMask::REMOTE));

    let mut config = SessionConfig::with_policy(Policy::new().allow_remote(TelnetOption::Linemode));
    config.linemode.default_mode = ModeMask::REMOTE;
    let mut server = Session::new(Role::Server, config);
    server.request_remote(TelnetOption::Linemode, true).unwrap();
    let _ = transmit(&mut server);
    server.receive(WILL_LINEMODE, &mut log);
    assert_eq!(transmit(&mut server), b"");
    assert_eq!(server.linemode_mode(), Some(ModeMask::REMOTE));
}

/// The example connection of RFC 1184 section 5.10, byte for byte where this crate's
/// choices match the example's (the example's own replies are not all consistent).
#[test]
fn rfc1184_example_connection_golden() {
    use SlcFunction as F;
    // Client side, with BSD's table.
    let (mut client, mut log) = client_with(SessionConfig::default());
    let _ = transmit(&mut client);
    // "LINEMODE MODE EDIT" -> "LINEMODE MODE EDIT|MODE_ACK".
    client.receive(&sb(&[1, 1]), &mut log);
    assert_eq!(transmit(&mut client), sb(&[1, 1 | 4]));
    // The server's SLC answer to the client's list: "SYNCH NOSUPPORT 0 IP
    // VALUE|FLUSHIN|FLUSHOUT|ACK 3 AO NOSUPPORT 0 AYT NOSUPPORT 0 ABORT
    // VALUE|FLUSHIN|FLUSHOUT|ACK 28 EOF VALUE|ACK 4 SUSP NOSUPPORT 0 EC VALUE|ACK 127 EL
    // VALUE|ACK 21 EW VALUE|ACK 23 RP VALUE|ACK 18 LNEXT VALUE|ACK 22 XON VALUE|ACK 17
    // XOFF VALUE|ACK 19".
    client.receive(
        &sb(&[
            3, 1, 0, 0, 3, 0xE2, 3, 4, 0, 0, 5, 0, 0, 7, 0xE2, 28, 8, 0x82, 4, 9, 0, 0, 10, 0x82,
            127, 11, 0x82, 21, 12, 0x82, 23, 13, 0x82, 18, 14, 0x82, 22, 15, 0x82, 17, 16, 0x82,
            19,
        ]),
        &mut log,
    );
    // "LINEMODE SLC SYNCH NOSUPPORT|ACK 0 AO NOSUPPORT|ACK 0 AYT NOSUPPORT|ACK 0 SUSP
    // NOSUPPORT|ACK 0".
    assert_eq!(
        transmit(&mut client),
        sb(&[3, 1, 0x80, 0, 4, 0x80, 0, 5, 0x80, 0, 9, 0x80, 0])
    );
    assert_eq!(client.slc_table().get(F::Ao).level, SlcLevel::NoSupport);
    // "LINEMODE MODE TRAPSIG" -> "TRAPSIG|MODE_ACK", "EDIT|TRAPSIG" -> with MODE_ACK,
    // "MODE 0" -> "0|MODE_ACK", "EDIT|TRAPSIG" -> with MODE_ACK.
    for mode in [2, 3, 0, 3] {
        client.receive(&sb(&[1, mode]), &mut log);
        assert_eq!(transmit(&mut client), sb(&[1, mode | 4]), "{mode}");
    }
    assert_eq!(
        client.linemode_mode(),
        Some(ModeMask::EDIT | ModeMask::TRAPSIG)
    );
    // "LINEMODE SLC EC VALUE 8" -> "LINEMODE SLC EC VALUE|ACK 8".
    client.receive(&sb(&[3, 10, 2, 8]), &mut log);
    assert_eq!(transmit(&mut client), sb(&[3, 10, 0x82, 8]));
    // "LINEMODE DO FORWARDMASK IAC 0377 IAC 0377 IAC 0377 IAC 0377 0 0 0" -> "LINEMODE
    // WILL FORWARDMASK"; "LINEMODE DONT FORWARDMASK" -> "LINEMODE WONT FORWARDMASK".
    let wire = b"\xff\xfa\x22\xfd\x02\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\xff\xf0";
    client.receive(wire, &mut log);
    assert_eq!(transmit(&mut client), sb(&[251, 2]));
    let mask = client.forwardmask().unwrap();
    assert!((0..32).all(|c| mask.contains(c)) && !mask.contains(b' '));
    client.receive(&sb(&[254, 2]), &mut log);
    assert_eq!(transmit(&mut client), sb(&[252, 2]));

    // Server side: "LINEMODE SLC 0 DEFAULT 0" -> "LINEMODE SLC IP VALUE|FLUSHIN|FLUSHOUT 3
    // ABORT VALUE|FLUSHIN|FLUSHOUT 28 EOF VALUE 4 EC VALUE 127 EL VALUE 21", from a server
    // whose defaults are those five.
    let fio = SlcFlags::FLUSHIN | SlcFlags::FLUSHOUT;
    let mut five = SlcTable::empty();
    five.set(F::Ip, SlcEntry::new(SlcLevel::Value, fio, 3));
    five.set(F::Abort, SlcEntry::new(SlcLevel::Value, fio, 28));
    five.set(F::Eof, SlcEntry::new(SlcLevel::Value, SlcFlags::NONE, 4));
    five.set(F::Ec, SlcEntry::new(SlcLevel::Value, SlcFlags::NONE, 127));
    five.set(F::El, SlcEntry::new(SlcLevel::Value, SlcFlags::NONE, 21));
    let mut table = five;
    let (reply, outcome) = run_as(false, &mut table, &five, &[0, 3, 0]);
    let import = [3, 0x62, 3, 7, 0x62, 28, 8, 2, 4, 10, 2, 127, 11, 2, 21];
    assert_eq!(reply, import);
    assert!(outcome.table_sent);
    // "Since these are the same as the current local settings, no response is generated."
    let (mut client, mut log) = client_with(SessionConfig::default());
    let _ = transmit(&mut client);
    client.receive(&sb(&[&[3][..], &import].concat()), &mut log);
    assert_eq!(transmit(&mut client), b"");
}

#[test]
fn slc_changes_are_reported_and_iac_is_doubled() {
    let mut server = server();
    let mut log = Log::default();
    server.receive(WILL_LINEMODE, &mut log);
    let _ = transmit(&mut server);
    server.receive(&sb(&[3, 3, 2, 0x1f]), &mut log);
    // The acknowledgement, then a forward mask with ^_ instead of ^C.
    let mut expected = sb(&[3, 3, 0x82, 0x1f]);
    expected.extend_from_slice(&sb(&[
        253, 2, 0x08, 0x01, 0x7f, 0x29, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ]));
    assert_eq!(transmit(&mut server), expected);
    assert_eq!(
        log.events.last().unwrap(),
        "Linemode(SlcChanged { function: Ip, entry: SlcEntry { level: Value, flags: SlcFlags(), value: 31 } })"
    );
    server.set_slc(SlcFunction::Forw1, SlcLevel::Value, 0xFF);
    assert_eq!(
        transmit(&mut server),
        b"\xff\xfa\x22\x03\x11\x02\xff\xff\xff\xf0"
    );
}

#[test]
fn the_peers_slc_triplets_are_kept_as_sent_and_bounded() {
    let mut server = server();
    let mut log = Log::default();
    server.receive(WILL_LINEMODE, &mut log);
    let _ = transmit(&mut server);
    assert!(server.peer_slc_triplets().is_empty());
    // IP to ^_ (taken), EC NOSUPPORT, and function 40 (unknown): kept as they were.
    server.receive(&sb(&[3, 3, 2, 0x1f, 10, 0, 0x7f, 40, 2, 1]), &mut log);
    let triplet = |function, modifier, value| SlcTriplet {
        function,
        modifier,
        value,
    };
    assert_eq!(
        server.peer_slc_triplets(),
        [triplet(3, 2, 0x1f), triplet(10, 0, 0x7f), triplet(40, 2, 1)]
    );
    // A truncated list is not applied, nor kept.
    server.receive(&sb(&[3, 3, 2]), &mut log);
    assert_eq!(server.peer_slc_triplets().len(), 3);
    // A flood keeps the first MAX_PEER_SLC.
    let mut flood = vec![3];
    for _ in 0..100 {
        flood.extend_from_slice(&[5, 2, 0x14]);
    }
    server.receive(&sb(&flood), &mut log);
    assert_eq!(server.peer_slc_triplets().len(), MAX_PEER_SLC);
    assert_eq!(server.peer_slc_triplets()[3], triplet(5, 2, 0x14));
}

#[test]
fn pair_settles_in_agreement() {
    let client = SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Linemode));
    let server = SessionConfig::with_policy(Policy::new().allow_remote(TelnetOption::Linemode));
    let (client, server, client_log, _) = drive_pair_with(client, server, |_, server| {
        server.request_remote(TelnetOption::Linemode, true).unwrap();
    });
    assert_eq!(client.linemode_mode(), Some(ModeMask::LIT_ECHO));
    assert_eq!(server.linemode_mode(), Some(ModeMask::LIT_ECHO));
    assert_eq!(client.slc_table(), server.slc_table());
    assert_eq!(server.forwardmask_agreed(), Some(true));
    assert_eq!(client.forwardmask(), server.forwardmask());
    assert!(client_log.events.iter().any(|e| e.contains("ForwardMask(")));
}

fn arb_entry() -> impl Strategy<Value = SlcEntry> {
    (
        0..4u8,
        prop_oneof![Just(0u8), Just(0x20), Just(0x40)],
        any::<u8>(),
    )
        .prop_map(|(l, f, v)| {
            SlcEntry::new(SlcLevel::from_modifier(l), SlcFlags::from_modifier(f), v)
        })
}

fn arb_table() -> impl Strategy<Value = SlcTable> {
    proptest::collection::vec(arb_entry(), NSLC).prop_map(|entries| {
        let mut table = SlcTable::empty();
        for (function, entry) in SlcFunction::ALL.into_iter().zip(entries) {
            table.set(function, entry);
        }
        table
    })
}

proptest! {
    #[test]
    fn message_round_trip(mode in any::<u8>(), triplets in proptest::collection::vec(any::<u8>(), 0..30),
                          mask in proptest::collection::vec(any::<u8>(), 1..=32), verb in 0..4usize) {
        let len = triplets.len() / 3 * 3;
        let verb = [Verb::Do, Verb::Dont, Verb::Will, Verb::Wont][verb];
        let mask = (verb == Verb::Do).then(|| ForwardMask::from_bytes(&mask).unwrap());
        for message in [
            Message::Mode(ModeMask::from_bits_truncate(mode)),
            Message::Slc(&triplets[..len]),
            Message::ForwardMask(verb, mask),
        ] {
            let mut payload = Vec::new();
            message.write(&mut payload);
            prop_assert_eq!(Message::parse(&payload), Ok(message));
        }
    }

    #[test]
    fn parse_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = Message::parse(&payload);
    }

    /// Two ends with any tables settle (drive_pair_with panics if they do not).
    #[test]
    fn any_tables_settle(client_table in arb_table(), server_table in arb_table(), export in any::<bool>()) {
        let mut client = SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Linemode));
        client.linemode.slc_defaults = client_table;
        client.linemode.client_requests_defaults = export;
        let mut server = SessionConfig::with_policy(Policy::new().allow_remote(TelnetOption::Linemode));
        server.linemode.slc_defaults = server_table;
        let _ = drive_pair_with(client, server, |_, server| {
            server.request_remote(TelnetOption::Linemode, true).unwrap();
        });
    }
}

/// A server in kludge mode (WILL ECHO, WILL SGA).
fn kludge_server() -> Session {
    let policy = Policy::new()
        .allow_local(TelnetOption::Echo)
        .allow_local(TelnetOption::Sga)
        .allow_remote(TelnetOption::Linemode);
    let mut server = Session::new(Role::Server, SessionConfig::with_policy(policy));
    server.receive(b"\xff\xfd\x01\xff\xfd\x03", &mut Log::default());
    let _ = transmit(&mut server);
    server
}

fn slc_events(log: &Log) -> Vec<&str> {
    log.events
        .iter()
        .filter(|e| e.starts_with("Linemode(SlcFunction"))
        .map(String::as_str)
        .collect()
}

#[test]
fn one_interrupt_in_a_mebibyte_of_text() {
    let mut server = kludge_server();
    let mut data: Vec<u8> = (0..1 << 20).map(|i| b' ' + (i % 95) as u8).collect();
    data[(1 << 19) + 3] = 0x03;
    let mut log = Log::default();
    server.receive(&data, &mut log);
    assert_eq!(slc_events(&log), ["Linemode(SlcFunction(Ip))"]);
    assert_eq!(log.data, data, "the byte stays in the data");
}

#[test]
fn local_mode_does_not_snoop_but_kludge_and_remote_do() {
    let data = b"a\x03b\x7fc\x04";
    // Local: no ECHO / SGA, no LINEMODE.
    let mut local = Session::new(Role::Server, SessionConfig::default());
    let mut log = Log::default();
    local.receive(data, &mut log);
    assert!(slc_events(&log).is_empty());

    let mut kludge = kludge_server();
    let mut log = Log::default();
    kludge.receive(data, &mut log);
    assert_eq!(
        slc_events(&log),
        [
            "Linemode(SlcFunction(Ip))",
            "Linemode(SlcFunction(Ec))",
            "Linemode(SlcFunction(Eof))"
        ]
    );

    // LINEMODE without EDIT is "remote": snooped; with EDIT it is "local": not.
    let mut server = kludge_server();
    server.request_remote(TelnetOption::Linemode, true).unwrap();
    server.receive(WILL_LINEMODE, &mut Log::default());
    let mut log = Log::default();
    server.receive(data, &mut log);
    assert_eq!(slc_events(&log).len(), 3);
    server.receive(&sb(&[1, 0x05]), &mut Log::default());
    assert_eq!(server.linemode_mode(), Some(ModeMask::EDIT));
    let mut log = Log::default();
    server.receive(data, &mut log);
    assert!(slc_events(&log).is_empty());
}

#[test]
fn printable_slc_characters_are_found_too() {
    let mut server = kludge_server();
    server.set_slc(SlcFunction::Forw1, SlcLevel::Value, b'#');
    server.set_slc(SlcFunction::Ip, SlcLevel::NoSupport, 0x03);
    let mut log = Log::default();
    server.receive(b"ab#cd\x03ef\x04#", &mut log);
    assert_eq!(
        slc_events(&log),
        [
            "Linemode(SlcFunction(Forw1))",
            "Linemode(SlcFunction(Eof))",
            "Linemode(SlcFunction(Forw1))"
        ]
    );
}
