use super::*;
use crate::qmethod::QState::{No, WantNo, WantYes, Yes};
use crate::qmethod::Queue::{Empty, Opposite};

#[derive(Debug, Default, PartialEq, Eq)]
struct Log {
    data: Vec<u8>,
    events: Vec<String>,
}

impl Sink for Log {
    fn data(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
    }
    fn event(&mut self, event: Event<'_>) {
        self.events.push(format!("{event:?}"));
    }
}

fn session(policy: Policy) -> Session {
    Session::new(Role::Server, SessionConfig::with_policy(policy))
}

fn transmit(session: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = session.poll_transmit(&mut out);
    out
}

/// One golden row: the state of one side of ECHO before, the bytes received, the bytes
/// sent in reply, and the state after.
struct Row {
    before: QState,
    accept: bool,
    input: &'static [u8],
    output: &'static [u8],
    after: QState,
}

const fn row(
    before: QState,
    accept: bool,
    input: &'static [u8],
    output: &'static [u8],
    after: QState,
) -> Row {
    Row {
        before,
        accept,
        input,
        output,
        after,
    }
}

/// RFC 1143 section 7 for `him` (ECHO = 1): WILL and WONT received.
const HIM_ROWS: [Row; 13] = [
    row(No, true, b"\xff\xfb\x01", b"\xff\xfd\x01", Yes),
    row(No, false, b"\xff\xfb\x01", b"\xff\xfe\x01", No),
    row(Yes, true, b"\xff\xfb\x01", b"", Yes),
    row(WantNo(Empty), true, b"\xff\xfb\x01", b"", No),
    row(WantNo(Opposite), true, b"\xff\xfb\x01", b"", Yes),
    row(WantYes(Empty), true, b"\xff\xfb\x01", b"", Yes),
    row(
        WantYes(Opposite),
        true,
        b"\xff\xfb\x01",
        b"\xff\xfe\x01",
        WantNo(Empty),
    ),
    row(No, true, b"\xff\xfc\x01", b"", No),
    row(Yes, true, b"\xff\xfc\x01", b"\xff\xfe\x01", No),
    row(WantNo(Empty), true, b"\xff\xfc\x01", b"", No),
    row(
        WantNo(Opposite),
        true,
        b"\xff\xfc\x01",
        b"\xff\xfd\x01",
        WantYes(Empty),
    ),
    row(WantYes(Empty), true, b"\xff\xfc\x01", b"", No),
    row(WantYes(Opposite), true, b"\xff\xfc\x01", b"", No),
];

/// The same table for `us`: DO and DONT received, WILL and WONT sent.
const US_ROWS: [Row; 13] = [
    row(No, true, b"\xff\xfd\x01", b"\xff\xfb\x01", Yes),
    row(No, false, b"\xff\xfd\x01", b"\xff\xfc\x01", No),
    row(Yes, true, b"\xff\xfd\x01", b"", Yes),
    row(WantNo(Empty), true, b"\xff\xfd\x01", b"", No),
    row(WantNo(Opposite), true, b"\xff\xfd\x01", b"", Yes),
    row(WantYes(Empty), true, b"\xff\xfd\x01", b"", Yes),
    row(
        WantYes(Opposite),
        true,
        b"\xff\xfd\x01",
        b"\xff\xfc\x01",
        WantNo(Empty),
    ),
    row(No, true, b"\xff\xfe\x01", b"", No),
    row(Yes, true, b"\xff\xfe\x01", b"\xff\xfc\x01", No),
    row(WantNo(Empty), true, b"\xff\xfe\x01", b"", No),
    row(
        WantNo(Opposite),
        true,
        b"\xff\xfe\x01",
        b"\xff\xfb\x01",
        WantYes(Empty),
    ),
    row(WantYes(Empty), true, b"\xff\xfe\x01", b"", No),
    row(WantYes(Opposite), true, b"\xff\xfe\x01", b"", No),
];

fn run_rows(side: Side, rows: &[Row]) {
    for (index, row) in rows.iter().enumerate() {
        let policy = match (side, row.accept) {
            (Side::Remote, true) => Policy::new().allow_remote(TelnetOption::Echo),
            (Side::Local, true) => Policy::new().allow_local(TelnetOption::Echo),
            (_, false) => Policy::new(),
        };
        let mut s = session(policy);
        *s.core.link.state_mut(side, TelnetOption::Echo) = row.before;
        let mut log = Log::default();
        s.receive(row.input, &mut log);
        assert_eq!(transmit(&mut s), row.output, "{side:?} row {index}");
        let state = s.option_state(TelnetOption::Echo);
        let after = match side {
            Side::Local => state.us,
            Side::Remote => state.him,
        };
        assert_eq!(after, row.after, "{side:?} row {index}");
        let changed = row.before.is_enabled() != row.after.is_enabled();
        assert_eq!(
            log.events.iter().any(|e| e.starts_with("OptionChanged")),
            changed,
            "{side:?} row {index}: {:?}",
            log.events
        );
        assert!(log.data.is_empty());
    }
}

#[test]
fn rfc1143_receipt_rows_him() {
    run_rows(Side::Remote, &HIM_ROWS);
}

#[test]
fn rfc1143_receipt_rows_us() {
    run_rows(Side::Local, &US_ROWS);
}

#[test]
fn dont_answered_by_will_is_reported() {
    let mut s = session(Policy::new().allow_remote(TelnetOption::Echo));
    *s.core.link.state_mut(Side::Remote, TelnetOption::Echo) = WantNo(Empty);
    let mut log = Log::default();
    s.receive(b"\xff\xfb\x01", &mut log);
    assert_eq!(
        log.events,
        ["NegotiationViolation { option: Echo, side: Remote }"]
    );
}

#[test]
fn requests_send_golden_bytes() {
    let mut s = session(Policy::new());
    s.request_remote(TelnetOption::Ttype, true).unwrap();
    s.request_local(TelnetOption::Sga, true).unwrap();
    assert_eq!(transmit(&mut s), b"\xff\xfd\x18\xff\xfb\x03");
    // A second request while the first is outstanding is an RFC 1143 error.
    assert_eq!(
        s.request_remote(TelnetOption::Ttype, true),
        Err(RequestError::AlreadyNegotiatingEnable)
    );
    // Queue a disable behind the outstanding enable: nothing sent now ...
    s.request_local(TelnetOption::Sga, false).unwrap();
    assert_eq!(transmit(&mut s), b"");
    // ... and the peer's DO is then answered with WONT.
    let mut log = Log::default();
    s.receive(b"\xff\xfd\x03", &mut log);
    assert_eq!(transmit(&mut s), b"\xff\xfc\x03");
    assert_eq!(s.option_state(TelnetOption::Sga).us, WantNo(Empty));
    s.receive(b"\xff\xfe\x03", &mut log);
    assert_eq!(s.option_state(TelnetOption::Sga).us, No);
    assert!(s.negotiation_pending(), "TTYPE still outstanding");
    s.receive(b"\xff\xfc\x18", &mut log);
    assert!(!s.negotiation_pending());
}

#[test]
fn unknown_options_are_refused() {
    let mut s = session(Policy::new().allow_local(TelnetOption::Echo));
    let mut log = Log::default();
    s.receive(b"\xff\xfb\x25\xff\xfd\x26\xff\xfd\xc8", &mut log);
    // AUTHENTICATION, ENCRYPT, and an unlisted code.
    assert_eq!(transmit(&mut s), b"\xff\xfe\x25\xff\xfc\x26\xff\xfc\xc8");
    assert!(log.events.is_empty());
}

#[test]
fn what_the_peer_negotiated_is_kept_per_side() {
    let mut s = session(Policy::new().allow_remote(TelnetOption::Sga));
    let mut log = Log::default();
    // WILL SGA (agreed), DO KERMIT (refused), DONT ECHO (nothing to do).
    s.receive(b"\xff\xfb\x03\xff\xfd\x2f\xff\xfe\x01", &mut log);
    assert_eq!(transmit(&mut s), b"\xff\xfd\x03\xff\xfc\x2f");
    let kermit = TelnetOption::from(47);
    assert!(s.peer_asked(Side::Remote, TelnetOption::Sga));
    assert!(!s.peer_asked(Side::Local, TelnetOption::Sga));
    assert!(s.peer_asked(Side::Local, kermit));
    assert!(
        !s.peer_asked(Side::Local, TelnetOption::Echo),
        "DONT asks nothing"
    );
    assert!(s.peer_negotiated(Side::Local, TelnetOption::Echo));
    assert!(s.peer_negotiated(Side::Local, kermit));

    // Our DO SGA again, state unchanged; the peer's WILL again is ignored by RFC 1143
    // but seen.
    s.clear_peer_negotiated();
    assert!(!s.peer_negotiated(Side::Remote, TelnetOption::Sga));
    s.repeat_request(Side::Remote, TelnetOption::Sga);
    assert_eq!(transmit(&mut s), b"\xff\xfd\x03");
    assert_eq!(s.option_state(TelnetOption::Sga).him, Yes);
    s.receive(b"\xff\xfb\x03", &mut log);
    assert_eq!(transmit(&mut s), b"");
    assert!(s.peer_negotiated(Side::Remote, TelnetOption::Sga));
    assert!(!s.peer_negotiated(Side::Local, TelnetOption::Sga));
    assert!(s.peer_asked(Side::Local, kermit), "never cleared");
}

#[test]
fn binary_switches_end_of_line_rules_per_direction() {
    let mut s = session(Policy::new().allow_remote(TelnetOption::Binary));
    let mut log = Log::default();
    // Before BINARY: CR NUL -> CR on input, LF -> CR LF on output.
    s.receive(b"a\r\0", &mut log);
    s.send_data(b"x\n");
    // Peer WILL BINARY mid-chunk: the rest of the chunk is binary input.
    s.receive(b"\xff\xfb\x00b\r\0", &mut log);
    assert_eq!(log.data, b"a\rb\r\0");
    assert_eq!(transmit(&mut s), b"x\r\n\xff\xfd\x00");
    // Output is still NVT: we never agreed to WILL BINARY.
    s.send_data(b"\r");
    s.send_command(Command::Ga);
    assert_eq!(transmit(&mut s), b"\r\0\xff\xf9");
}

#[test]
fn translation_can_be_turned_off() {
    let config = SessionConfig {
        translate_eol: false,
        ..SessionConfig::default()
    };
    let mut s = Session::new(Role::Client, config);
    let mut log = Log::default();
    s.receive(b"a\r\0", &mut log);
    s.send_data(b"\n\xff");
    assert_eq!(log.data, b"a\r\0");
    assert_eq!(transmit(&mut s), b"\n\xff\xff");
}

#[test]
fn commands_and_subnegotiations_reach_the_sink_in_order() {
    let mut s = session(Policy::new());
    let mut log = Log::default();
    // MXP (91): an option whose subnegotiations this crate hands over as they are.
    s.receive(b"x\xff\xf1\xff\xfa\x5b\x00\x50\x00\x18\xff\xf0y", &mut log);
    assert_eq!(log.data, b"xy");
    assert_eq!(
        log.events,
        [
            "Command(Nop)",
            "Subnegotiation { option: Mxp, payload: [0, 80, 0, 24] }"
        ]
    );
    s.send_subnegotiation(TelnetOption::Naws, &[0, 255, 0, 24]);
    assert_eq!(
        transmit(&mut s),
        b"\xff\xfa\x1f\x00\xff\xff\x00\x18\xff\xf0"
    );
}

#[test]
fn poll_transmit_appends_to_a_non_empty_buffer() {
    let mut s = session(Policy::new());
    s.send_data(b"b");
    let mut out = b"a".to_vec();
    assert_eq!(s.poll_transmit(&mut out), 1);
    assert_eq!(out, b"ab");
    assert!(!s.has_output());
}

/// Two sessions wired back to back, as in quinn-proto's tests.
struct Pair {
    client: Session,
    server: Session,
    client_log: Log,
    server_log: Log,
}

impl Pair {
    fn new(client: Policy, server: Policy) -> Self {
        Self {
            client: Session::new(Role::Client, SessionConfig::with_policy(client)),
            server: Session::new(Role::Server, SessionConfig::with_policy(server)),
            client_log: Log::default(),
            server_log: Log::default(),
        }
    }

    /// Exchange bytes until both sides are quiet. Returns the number of rounds.
    fn drive(&mut self) -> usize {
        for round in 0..64 {
            let to_server = transmit(&mut self.client);
            let to_client = transmit(&mut self.server);
            if to_server.is_empty() && to_client.is_empty() {
                return round;
            }
            self.server.receive(&to_server, &mut self.server_log);
            self.client.receive(&to_client, &mut self.client_log);
        }
        panic!("negotiation did not settle");
    }
}

#[test]
fn pair_negotiates_and_settles() {
    let all = (0..=255u8).fold(Policy::new(), |p, code| {
        p.allow_local(TelnetOption::from(code))
            .allow_remote(TelnetOption::from(code))
    });
    let mut pair = Pair::new(all, Policy::new());
    // TIMING-MARK is not a state; it has its own ping API.
    let stateful = (0..=255u8)
        .map(TelnetOption::from)
        .filter(|&option| option != TelnetOption::Tm);
    for option in stateful.clone() {
        pair.server.request_local(option, true).unwrap();
        pair.client.request_local(option, true).unwrap();
    }
    assert_eq!(
        pair.server.request_local(TelnetOption::Tm, true),
        Err(RequestError::NotNegotiable)
    );
    assert!(pair.drive() <= 3);
    assert!(!pair.server.negotiation_pending());
    assert!(!pair.client.negotiation_pending());
    for option in stateful {
        // The client agrees to everything the server offers ...
        assert!(pair.server.local_enabled(option), "{option}");
        assert!(pair.client.remote_enabled(option), "{option}");
        // ... and the server, with an empty policy, refuses every offer of the client.
        assert!(!pair.client.local_enabled(option), "{option}");
        assert!(!pair.server.remote_enabled(option), "{option}");
    }
    // Now flip everything back and forth quickly: the queue keeps it loop-free.
    pair.server.request_local(TelnetOption::Sga, false).unwrap();
    pair.server.request_local(TelnetOption::Sga, true).unwrap();
    assert_eq!(pair.drive(), 4, "WONT, DONT, WILL, DO: one message a round");
    assert!(pair.server.local_enabled(TelnetOption::Sga));
    assert!(pair.client.remote_enabled(TelnetOption::Sga));
    // The client asks for what the server's policy refuses: one DO, one WONT, settled.
    pair.client
        .request_remote(TelnetOption::Sga, false)
        .unwrap();
    pair.client.request_remote(TelnetOption::Sga, true).unwrap();
    pair.drive();
    assert!(!pair.client.remote_enabled(TelnetOption::Sga));
    assert!(!pair.client.negotiation_pending());
}

#[test]
fn ayt_is_answered_with_yes_as_bsd_telnetd_does() {
    let mut server = session(Policy::server());
    let mut log = Log::default();
    server.receive(b"\xff\xf6", &mut log);
    assert_eq!(transmit(&mut server), b"\r\n[Yes]\r\n");
    assert_eq!(log.events, ["Command(Ayt)"]);
    // After a lone CR the shell wrote, the CR gets its NUL first (RFC 854 end of line).
    server.send_data(b"prompt\r");
    server.receive(b"\xff\xf6", &mut log);
    assert_eq!(transmit(&mut server), b"prompt\r\0\r\n[Yes]\r\n");
}

#[test]
fn ayt_answer_is_configurable_and_can_be_off() {
    let mut config = SessionConfig::with_policy(Policy::server());
    config.ayt_answer = None;
    let mut quiet = Session::new(Role::Server, config.clone());
    quiet.receive(b"\xff\xf6", &mut Log::default());
    assert!(!quiet.has_output());
    config.ayt_answer = Some(b"\xffhere\n".to_vec().into());
    let mut custom = Session::new(Role::Server, config);
    custom.receive(b"\xff\xf6", &mut Log::default());
    // Sent as data: IAC doubled, NVT end of line.
    assert_eq!(transmit(&mut custom), b"\xff\xffhere\r\n");
}

#[test]
fn ao_discards_queued_data_keeps_replies_and_sends_a_synch() {
    let mut server = session(Policy::server());
    let mut log = Log::default();
    server.send_data(b"a long listing\r");
    server.receive(b"\xff\xfd\x03", &mut log); // DO SGA: WILL SGA queued
    server.send_data(b"more\n");
    assert_eq!(server.urgent_offset(), None);
    server.receive(b"\xff\xf5\xff\xfd\x01", &mut log); // AO, then DO ECHO
    assert_eq!(
        log.events.last().unwrap(),
        "OptionChanged { option: Echo, side: Local, enabled: true }"
    );
    assert!(log.events.contains(&"Command(Ao)".to_string()));
    // The data is gone, the answers stay in order, then IAC DM, then the later answer.
    assert_eq!(server.urgent_offset(), Some(4));
    assert_eq!(transmit(&mut server), b"\xff\xfb\x03\xff\xf2\xff\xfb\x01");
    assert_eq!(server.urgent_offset(), None);
    // The CR pending at the discard does not leave a stray NUL.
    server.send_data(b"next");
    assert_eq!(transmit(&mut server), b"next");
}

/// BSD telnet's `send synch`: `IAC DM` after the data, the DM marked urgent; a second
/// Synch before the first is handed over adds nothing.
#[test]
fn send_synch_queues_one_urgent_dm() {
    let mut client = session(Policy::client());
    client.send_data(b"ab");
    client.send_synch();
    client.send_synch();
    assert_eq!(client.urgent_offset(), Some(3));
    assert_eq!(transmit(&mut client), b"ab\xff\xf2");
    assert_eq!(client.urgent_offset(), None);
    client.send_synch();
    assert_eq!(client.urgent_offset(), Some(1));
    assert_eq!(transmit(&mut client), b"\xff\xf2");
}

/// A CR already handed over gets its NUL before the Synch (RFC 854: CR is followed by NUL
/// or LF), even though the data around it was discarded.
#[test]
fn ao_after_a_sent_cr_sends_its_nul_first() {
    let mut server = session(Policy::server());
    server.send_data(b"prompt\r");
    assert_eq!(transmit(&mut server), b"prompt\r");
    server.send_data(b"discarded");
    server.receive(b"\xff\xf5", &mut Log::default());
    assert_eq!(transmit(&mut server), b"\0\xff\xf2");
    // Nothing queued since the CR: its NUL is made now.
    server.send_data(b"again\r");
    assert_eq!(transmit(&mut server), b"again\r");
    server.receive(b"\xff\xf5", &mut Log::default());
    assert_eq!(transmit(&mut server), b"\0\xff\xf2");
    server.send_data(b"\n");
    assert_eq!(
        transmit(&mut server),
        b"\r\n",
        "no LF left owed to the old CR"
    );
}

/// A flood of AO costs linear time (each scans only what came after the previous one)
/// and queues one Synch until it is handed over, whatever comes between.
#[test]
fn an_ao_flood_queues_one_synch() {
    let mut server = session(Policy::server());
    let mut log = Log::default();
    server.send_data(b"output");
    let flood = b"\xff\xf5\xff\xfd\x03\xff\xfe\x03".repeat(20_000); // AO, DO SGA, DONT SGA
    server.receive(&flood, &mut log);
    let wire = transmit(&mut server);
    let dm_count = memchr::memmem::find_iter(&wire, b"\xff\xf2").count();
    assert_eq!(dm_count, 1);
    assert!(
        wire.starts_with(b"\xff\xf2\xff\xfb\x03\xff\xfc\x03"),
        "{:?}",
        &wire[..12]
    );
    assert_eq!(wire.len(), 2 + 20_000 * 6);
    // The next AO after the hand-over gets a Synch of its own.
    server.send_data(b"more");
    server.receive(b"\xff\xf5", &mut log);
    assert_eq!(transmit(&mut server), b"\xff\xf2");
}

#[test]
fn ao_to_a_client_is_only_reported() {
    let mut client = Session::new(Role::Client, SessionConfig::with_policy(Policy::client()));
    let mut log = Log::default();
    client.send_data(b"typed");
    client.receive(b"\xff\xf5", &mut log);
    assert_eq!(log.events, ["Command(Ao)"]);
    assert_eq!(transmit(&mut client), b"typed");
}
