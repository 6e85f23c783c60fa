use proptest::prelude::*;

use super::codec::{detect_report_layout, tokenize};
use super::*;
use crate::encoder::write_subnegotiation;
use crate::options::tests::{drive_pair_with, transmit, Log};
use crate::{Policy, Session, SessionConfig};

const NEW: TelnetOption = TelnetOption::NewEnviron;
const OLD: TelnetOption = TelnetOption::OldEnviron;

/// `IAC SB <option> <payload> IAC SE`, IAC doubled.
fn sb(option: TelnetOption, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_subnegotiation(&mut out, option, payload);
    out
}

/// A server whose peer already performs `option` (WILL answered with DO, SEND discarded).
fn server_with(option: TelnetOption, config: SessionConfig) -> Session {
    let mut config = config;
    config.policy = Policy::new().allow_remote(option);
    let mut server = Session::new(Role::Server, config);
    server.receive(&[0xff, 0xfb, option.code()], &mut Log::default());
    let _ = transmit(&mut server);
    server
}

/// A client performing `option` (DO answered with WILL).
fn client_with(option: TelnetOption, config: SessionConfig) -> Session {
    let mut config = config;
    config.policy = Policy::new().allow_local(option);
    let mut client = Session::new(Role::Client, config);
    client.receive(&[0xff, 0xfd, option.code()], &mut Log::default());
    assert_eq!(transmit(&mut client), [0xff, 0xfb, option.code()]);
    client
}

/// telnetlib3-server 5.0.1's SEND, byte for byte from the wire capture
/// (/work/shared/reference/telnetlib3-5.0.1-wire.md): note the bare VAR before the bare
/// USERVAR at the end.
const TELNETLIB3_SEND: &[u8] = b"\x01\x00USER\x00LOGNAME\x00DISPLAY\x00LANG\x00TERM\x00TERM_PROGRAM\x00COLUMNS\x00LINES\x00COLORTERM\x00EDITOR\x00IPADDRESS\x00\x03";

#[test]
fn server_sends_telnetlib3_request_on_will() {
    let config = SessionConfig::with_policy(Policy::new().allow_remote(NEW));
    let mut server = Session::new(Role::Server, config);
    let mut log = Log::default();
    server.receive(b"\xff\xfb\x27", &mut log);
    let mut expected = b"\xff\xfd\x27".to_vec();
    expected.extend(sb(NEW, TELNETLIB3_SEND));
    assert_eq!(transmit(&mut server), expected);
    assert_eq!(
        encode_send(&Config::default().server_request, Layout::Standard),
        TELNETLIB3_SEND
    );
}

#[test]
fn client_does_not_send_request() {
    // Only the server asks on its own; a client performing the option waits for SEND.
    let config = SessionConfig::with_policy(Policy::new().allow_remote(NEW));
    let mut client = Session::new(Role::Client, config);
    client.receive(b"\xff\xfb\x27", &mut Log::default());
    assert_eq!(transmit(&mut client), b"\xff\xfd\x27");
}

/// The telnetlib3 5.0.1 client (term xterm-256color, 132 x 43) answering an empty SEND.
const TELNETLIB3_IS: &[u8] = b"\x00\x00LANG\x01en_US.utf8\x00TERM\x01xterm-256color\x00LINES\x0143\x00COLUMNS\x01132\x00COLORTERM\x01";

fn telnetlib3_client_values() -> Vec<(Vec<u8>, Vec<u8>)> {
    [
        ("LANG", "en_US.utf8"),
        ("TERM", "xterm-256color"),
        ("LINES", "43"),
        ("COLUMNS", "132"),
        ("COLORTERM", ""),
    ]
    .into_iter()
    .map(|(name, value)| (name.into(), value.into()))
    .collect()
}

#[test]
fn client_answers_empty_send_like_telnetlib3() {
    let mut config = SessionConfig::default();
    config.environ.values = telnetlib3_client_values();
    config
        .environ
        .values
        .push((b"USER".to_vec(), b"secret".to_vec()));
    let mut client = client_with(NEW, config);
    let mut log = Log::default();
    client.receive(&sb(NEW, b"\x01"), &mut log);
    // USER has a value but is not in send_environ: unlike telnetlib3, it stays private.
    assert_eq!(transmit(&mut client), sb(NEW, TELNETLIB3_IS));
    assert_eq!(
        log.events,
        ["Environ(Requested { option: NewEnviron, requests: [] })"]
    );
}

#[test]
fn client_answers_telnetlib3_send_in_order() {
    let mut config = SessionConfig::default();
    config.environ.values = telnetlib3_client_values();
    config
        .environ
        .values
        .push((b"USER".to_vec(), b"secret".to_vec()));
    let mut client = client_with(NEW, config);
    client.receive(&sb(NEW, TELNETLIB3_SEND), &mut Log::default());
    // One answer per named request, in order (RFC 1572 section 2); names not allowed or
    // without a value are undefined; the bare VAR adds nothing new and the bare USERVAR
    // nothing at all.
    let expected = b"\x00\x00USER\x00LOGNAME\x00DISPLAY\x00LANG\x01en_US.utf8\x00TERM\x01xterm-256color\x00TERM_PROGRAM\x00COLUMNS\x01132\x00LINES\x0143\x00COLORTERM\x01\x00EDITOR\x00IPADDRESS";
    assert_eq!(transmit(&mut client), sb(NEW, expected));
}

#[test]
fn client_bare_var_sends_remaining_allowed_values() {
    let mut config = SessionConfig::default();
    config.environ.values = telnetlib3_client_values();
    let mut client = client_with(NEW, config);
    // SEND VAR "TERM" VAR USERVAR "X" (X allowed? no: undefined).
    client.receive(&sb(NEW, b"\x01\x00TERM\x00\x03X"), &mut Log::default());
    let expected = b"\x00\x00TERM\x01xterm-256color\x00LANG\x01en_US.utf8\x00LINES\x0143\x00COLUMNS\x01132\x00COLORTERM\x01\x03X";
    assert_eq!(transmit(&mut client), sb(NEW, expected));
}

#[test]
fn client_allowed_variable_without_value_is_undefined() {
    let mut config = SessionConfig::default();
    config.environ.send_environ.push(b"MY\x01VAR".to_vec());
    let mut client = client_with(NEW, config);
    // SEND USERVAR "MY<VALUE>VAR" USERVAR "TERM": escaped name comes back escaped.
    client.receive(
        &sb(NEW, b"\x01\x03MY\x02\x01VAR\x03TERM"),
        &mut Log::default(),
    );
    assert_eq!(
        transmit(&mut client),
        sb(NEW, b"\x00\x03MY\x02\x01VAR\x03TERM")
    );
    client.set_environ_value("TERM", "vt100");
    client.receive(&sb(NEW, b"\x01\x03TERM"), &mut Log::default());
    assert_eq!(transmit(&mut client), sb(NEW, b"\x00\x03TERM\x01vt100"));
}

#[test]
fn server_receives_test_client_is() {
    // The simple test client's answer from the wire capture.
    let mut server = server_with(NEW, SessionConfig::default());
    let mut log = Log::default();
    server.receive(
        &sb(
            NEW,
            b"\x00\x00USER\x01tester\x00LANG\x01en_US.UTF-8\x00TERM\x01xterm",
        ),
        &mut log,
    );
    assert_eq!(
        log.events,
        [concat!(
            "Environ(Variables { option: NewEnviron, command: Is, variables: ",
            "[Var \"USER\"=\"tester\", Var \"LANG\"=\"en_US.UTF-8\", Var \"TERM\"=\"xterm\"] })"
        )]
    );
    assert_eq!(server.environ().len(), 3);
    let lang = server.environ_var("lang").unwrap();
    assert_eq!(lang.name, b"LANG");
    assert_eq!(lang.value_lossy().as_deref(), Some("en_US.UTF-8"));
    assert!(server.environ_var("HOME").is_none());
    assert!(transmit(&mut server).is_empty());
}

#[test]
fn server_info_replaces_and_undefines() {
    let mut server = server_with(NEW, SessionConfig::default());
    let mut log = Log::default();
    server.receive(&sb(NEW, b"\x00\x00TERM\x01xterm\x03TERM\x01u"), &mut log);
    server.receive(&sb(NEW, b"\x02\x00TERM\x01vt220\x03TERM"), &mut log);
    assert_eq!(
        server.environ(),
        [
            Variable::defined(Kind::Var, "TERM", "vt220"),
            Variable::undefined(Kind::UserVar, "TERM"),
        ]
    );
    assert_eq!(
        log.events[1],
        "Environ(Variables { option: NewEnviron, command: Info, variables: [Var \"TERM\"=\"vt220\", UserVar \"TERM\"] })"
    );
    // VAR wins over USERVAR whatever the order.
    server.receive(&sb(NEW, b"\x00\x03COLOR\x01a\x00color\x01b"), &mut log);
    assert_eq!(
        server.environ_var("Color").unwrap(),
        &Variable::defined(Kind::Var, "color", "b")
    );
}

#[test]
fn server_drops_telnetlib3_empty_entry() {
    // telnetlib3's client answers a bare USERVAR with `VAR "" VALUE ""`.
    let mut server = server_with(NEW, SessionConfig::default());
    server.receive(&sb(NEW, b"\x00\x00TERM\x01x\x00\x01"), &mut Log::default());
    assert_eq!(
        server.environ(),
        [Variable::defined(Kind::Var, "TERM", "x")]
    );
}

#[test]
fn server_store_is_bounded_in_bytes() {
    let mut config = SessionConfig::default();
    config.environ.max_bytes = 8;
    let mut server = server_with(NEW, config);
    let mut log = Log::default();
    // A=aaa (4 bytes) fits, B=bbbbb (6) would make 10: dropped; replacing A's value
    // with 8 bytes would make 9: dropped, A keeps its value.
    server.receive(&sb(NEW, b"\x00\x00A\x01aaa\x00B\x01bbbbb"), &mut log);
    server.receive(&sb(NEW, b"\x02\x00A\x01aaaaaaaa"), &mut log);
    assert_eq!(server.environ(), [Variable::defined(Kind::Var, "A", "aaa")]);
    let overflows: Vec<_> = log
        .events
        .iter()
        .filter(|e| e.contains("Overflow"))
        .collect();
    assert_eq!(
        overflows,
        [
            "Environ(Overflow { option: NewEnviron, dropped: 1 })",
            "Environ(Overflow { option: NewEnviron, dropped: 1 })"
        ]
    );
}

#[test]
fn server_store_is_bounded() {
    let mut config = SessionConfig::default();
    config.environ.max_variables = 2;
    let mut server = server_with(NEW, config);
    let mut log = Log::default();
    server.receive(&sb(NEW, b"\x00\x00A\x01a\x00B\x00C\x01c"), &mut log);
    server.receive(&sb(NEW, b"\x02\x00B\x01b\x00D"), &mut log);
    assert_eq!(
        server.environ(),
        [
            Variable::defined(Kind::Var, "A", "a"),
            Variable::defined(Kind::Var, "B", "b"),
        ]
    );
    assert_eq!(
        log.events[1],
        "Environ(Overflow { option: NewEnviron, dropped: 1 })"
    );
    assert_eq!(
        log.events[3],
        "Environ(Overflow { option: NewEnviron, dropped: 1 })"
    );
}

#[test]
fn rfc1572_forms() {
    // SEND with no list: the default environment.
    assert_eq!(
        Message::parse(b"\x01", Layout::Standard),
        Ok(Message::Send(vec![]))
    );
    // SEND VAR USERVAR: a type with no name asks for every variable of that type.
    assert_eq!(
        Message::parse(b"\x01\x00\x03", Layout::Standard),
        Ok(Message::Send(vec![
            Request::all(Kind::Var),
            Request::all(Kind::UserVar)
        ]))
    );
    // IS: a type with no VALUE is undefined; a VALUE followed by a type or the end is
    // defined but empty.
    assert_eq!(
        Message::parse(
            b"\x00\x00USER\x00JOB\x01\x03ME\x01x\x00ACCT\x01",
            Layout::Standard
        ),
        Ok(Message::Is(vec![
            Variable::undefined(Kind::Var, "USER"),
            Variable::defined(Kind::Var, "JOB", ""),
            Variable::defined(Kind::UserVar, "ME", "x"),
            Variable::defined(Kind::Var, "ACCT", ""),
        ]))
    );
    // An empty IS or INFO is well formed.
    assert_eq!(
        Message::parse(b"\x02", Layout::Standard),
        Ok(Message::Info(vec![]))
    );
}

#[test]
fn esc_escapes_markers_both_ways() {
    let variable = Variable::defined(
        Kind::UserVar,
        *b"a\x00b\x01c\x02d\x03",
        *b"\x03\x02\x01\x00",
    );
    let payload = encode_variables(
        Command::Is,
        std::slice::from_ref(&variable),
        Layout::Standard,
    );
    assert_eq!(
        payload,
        b"\x00\x03a\x02\x00b\x02\x01c\x02\x02d\x02\x03\x01\x02\x03\x02\x02\x02\x01\x02\x00"
    );
    assert_eq!(
        Message::parse(&payload, Layout::Standard),
        Ok(Message::Is(vec![variable]))
    );
    // A name with ESC in a SEND.
    assert_eq!(
        encode_send(&[Request::var(*b"x\x02")], Layout::Standard),
        b"\x01\x00x\x02\x02"
    );
    // ESC before an ordinary byte is taken as that byte.
    assert_eq!(
        Message::parse(b"\x00\x00\x02AB", Layout::Standard),
        Ok(Message::Is(vec![Variable::undefined(Kind::Var, "AB")]))
    );
}

#[test]
fn iac_in_values_is_doubled_on_the_wire() {
    let mut config = SessionConfig::default();
    config.environ.values = vec![(b"TERM".to_vec(), b"\xff".to_vec())];
    let mut client = client_with(NEW, config);
    client.receive(b"\xff\xfa\x27\x01\x00TERM\xff\xf0", &mut Log::default());
    assert_eq!(
        transmit(&mut client),
        b"\xff\xfa\x27\x00\x00TERM\x01\xff\xff\xff\xf0"
    );
}

#[test]
fn malformed_is_rejected_without_state_change() {
    let mut server = server_with(NEW, SessionConfig::default());
    server.receive(&sb(NEW, b"\x00\x00KEEP\x01me"), &mut Log::default());
    let mut log = Log::default();
    for payload in [
        &b""[..],               // no command
        b"\x00\x01x\x00A",      // VALUE before any VAR
        b"\x00\x00A\x01a\x01b", // two VALUEs for one variable
        b"\x00\x00A\x01a\x02",  // ESC at the end
        b"\x00junk\x00A",       // text before the first type
        b"\x07\x00A",           // unknown command
        b"\x01\x00A\x01",       // VALUE inside a SEND (server side: not ours anyway)
    ] {
        server.receive(&sb(NEW, payload), &mut log);
    }
    assert_eq!(
        log.events,
        [
            "BadSubnegotiation { option: NewEnviron, error: Empty }",
            "BadSubnegotiation { option: NewEnviron, error: Malformed }",
            "BadSubnegotiation { option: NewEnviron, error: Malformed }",
            "BadSubnegotiation { option: NewEnviron, error: Truncated }",
            "BadSubnegotiation { option: NewEnviron, error: Malformed }",
            "BadSubnegotiation { option: NewEnviron, error: UnknownCommand(7) }",
            "BadSubnegotiation { option: NewEnviron, error: NotAllowed }",
        ]
    );
    assert_eq!(
        server.environ(),
        [Variable::defined(Kind::Var, "KEEP", "me")]
    );
    assert!(transmit(&mut server).is_empty());
}

#[test]
fn malformed_send_gets_no_answer() {
    let mut client = client_with(NEW, SessionConfig::default());
    let mut log = Log::default();
    client.receive(&sb(NEW, b"\x01\x00TERM\x01x"), &mut log);
    client.receive(&sb(NEW, b"\x01\x00TERM\x02"), &mut log);
    assert_eq!(
        log.events,
        [
            "BadSubnegotiation { option: NewEnviron, error: Malformed }",
            "BadSubnegotiation { option: NewEnviron, error: Truncated }",
        ]
    );
    assert!(transmit(&mut client).is_empty());
    // Not answered, so INFO is not allowed yet either.
    client.set_environ_value("TERM", "vt100");
    assert!(!client.send_environ_info(["TERM"]));
}

#[test]
fn subnegotiations_need_the_option_enabled() {
    let mut server = Session::new(Role::Server, SessionConfig::default());
    let mut client = Session::new(Role::Client, SessionConfig::default());
    let mut log = Log::default();
    server.receive(&sb(NEW, b"\x00\x00TERM\x01x"), &mut log);
    client.receive(&sb(NEW, b"\x01"), &mut log);
    assert_eq!(
        log.events,
        [
            "BadSubnegotiation { option: NewEnviron, error: NotAllowed }",
            "BadSubnegotiation { option: NewEnviron, error: NotAllowed }",
        ]
    );
    assert!(server.environ().is_empty());
    assert!(transmit(&mut client).is_empty());
}

#[test]
fn client_sends_info_after_answering() {
    let mut config = SessionConfig::default();
    config.environ.values = vec![(b"LINES".to_vec(), b"25".to_vec())];
    let mut client = client_with(NEW, config);
    client.set_environ_value("LINES", "50");
    assert!(!client.send_environ_info(["LINES"]));
    client.receive(&sb(NEW, b"\x01"), &mut Log::default());
    assert_eq!(transmit(&mut client), sb(NEW, b"\x00\x00LINES\x0150"));
    client.set_environ_value("COLUMNS", "100");
    client.set_environ_value("USER", "bob");
    // USER is not allowed and is left out; COLUMNS is new; LINES unchanged.
    assert!(client.send_environ_info(["COLUMNS", "USER", "LINES"]));
    assert_eq!(
        transmit(&mut client),
        sb(NEW, b"\x02\x00COLUMNS\x01100\x00LINES\x0150")
    );
    assert!(!client.send_environ_info(["USER"]));
    assert!(transmit(&mut client).is_empty());
}

#[test]
fn long_requests_are_batched() {
    let mut config = SessionConfig::default();
    // 30 names of 9 bytes: 10 bytes each, 2 bytes overhead: 23 per 240-byte batch.
    config.environ.server_request = (0..30)
        .map(|i| Request::var(format!("VARIABLE{}", i % 10)))
        .collect();
    let expected = |range: std::ops::Range<usize>| {
        let mut payload = vec![1];
        for i in range {
            payload.push(0);
            payload.extend(format!("VARIABLE{}", i % 10).bytes());
        }
        payload
    };
    let mut server = Session::new(
        Role::Server,
        SessionConfig {
            policy: Policy::new().allow_remote(NEW),
            ..config
        },
    );
    let mut log = Log::default();
    assert!(!server.environ_pending());
    server.receive(b"\xff\xfb\x27", &mut log);
    assert!(server.environ_pending());
    let first = expected(0..23);
    assert_eq!(first.len() + 1, 232);
    let mut wire = b"\xff\xfd\x27".to_vec();
    wire.extend(sb(NEW, &first));
    assert_eq!(transmit(&mut server), wire);
    // The rest follows the answer.
    server.receive(&sb(NEW, b"\x00"), &mut log);
    assert_eq!(transmit(&mut server), sb(NEW, &expected(23..30)));
    assert!(server.environ_pending());
    server.receive(&sb(NEW, b"\x00"), &mut log);
    assert!(transmit(&mut server).is_empty());
    assert!(!server.environ_pending());
    // A refused or withdrawn option leaves nothing pending.
    assert!(server.request_environ());
    assert!(server.environ_pending());
    server.receive(b"\xff\xfc\x27", &mut log);
    assert!(!server.environ_pending());
}

#[test]
fn batches_respect_the_limit_exactly() {
    // Overhead 2 + 7 entries of 34 bytes = 240: one batch; one more byte: two.
    let name = [b'N'; 33];
    let fits: Vec<Request> = (0..7).map(|_| Request::var(name)).collect();
    assert_eq!(batches(&fits).len(), 1);
    let mut over = fits.clone();
    over[6] = Request::var([b'N'; 34]);
    assert_eq!(batches(&over).len(), 2);
    // Escapes count.
    let mut escaped = fits;
    escaped[6] = Request::var(*b"NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN\x03");
    assert_eq!(batches(&escaped).len(), 2);
    assert!(batches(&[]).is_empty());
}

#[test]
fn server_request_can_be_repeated_or_disabled() {
    let mut config = SessionConfig::default();
    config.environ.server_request = vec![Request::var("TERM")];
    let mut server = server_with(NEW, config);
    assert!(server.request_environ());
    assert_eq!(transmit(&mut server), sb(NEW, b"\x01\x00TERM"));

    let mut config = SessionConfig::default();
    config.environ.server_request.clear();
    config.policy = Policy::new().allow_remote(NEW);
    let mut server = Session::new(Role::Server, config);
    server.receive(b"\xff\xfb\x27", &mut Log::default());
    assert_eq!(transmit(&mut server), b"\xff\xfd\x27");
    assert!(!server.request_environ());
}

#[test]
fn pair_round_trip() {
    let mut client_config = SessionConfig::with_policy(Policy::new().allow_local(NEW));
    client_config.environ.values = telnetlib3_client_values();
    let server_config = SessionConfig::default();
    let (_client, server, client_log, server_log) =
        drive_pair_with(client_config, server_config, |_client, server| {
            server.request_remote(NEW, true).unwrap();
        });
    assert_eq!(
        server
            .environ_var("TERM")
            .and_then(Variable::value_lossy)
            .as_deref(),
        Some("xterm-256color")
    );
    assert_eq!(
        server.environ_var("COLORTERM").unwrap().value.as_deref(),
        Some(&b""[..])
    );
    assert_eq!(
        server.environ_var("USER").unwrap(),
        &Variable::undefined(Kind::Var, "USER")
    );
    assert_eq!(server.environ().len(), 11);
    assert!(client_log.events.iter().any(|e| e.contains("Requested")));
    assert!(server_log.events.iter().any(|e| e.contains("Variables")));
}

// --- ENVIRON (RFC 1408) and RFC 1571's swapped codes ---

#[test]
fn old_environ_server_sends_rfc1408_codes() {
    let mut config = SessionConfig::with_policy(Policy::new().allow_remote(OLD));
    config.environ.server_request = vec![Request::var("USER"), Request::all(Kind::UserVar)];
    let mut server = Session::new(Role::Server, config);
    server.receive(b"\xff\xfb\x24", &mut Log::default());
    let mut expected = b"\xff\xfd\x24".to_vec();
    expected.extend(sb(OLD, b"\x01\x00USER\x03"));
    assert_eq!(transmit(&mut server), expected);
}

#[test]
fn old_environ_server_detects_reversed_client() {
    let mut server = server_with(OLD, SessionConfig::default());
    let mut log = Log::default();
    // A BSD client: IS followed by code 1 (its VAR), values after code 0.
    server.receive(&sb(OLD, b"\x00\x01USER\x00bob\x01TERM\x00vt100"), &mut log);
    assert_eq!(
        server.environ(),
        [
            Variable::defined(Kind::Var, "USER", "bob"),
            Variable::defined(Kind::Var, "TERM", "vt100"),
        ]
    );
    assert_eq!(server.environ_layout(OLD), Some(Layout::Reversed));
    assert_eq!(log.events[0], "Environ(Reversed { option: OldEnviron })");
    // From then on, reversed: an INFO starting with USERVAR.
    server.receive(&sb(OLD, b"\x02\x03X\x00y"), &mut log);
    assert_eq!(
        server.environ_var("X").unwrap(),
        &Variable::defined(Kind::UserVar, "X", "y")
    );
    // And our next SEND uses the client's codes.
    assert!(server.request_environ());
    assert_eq!(
        transmit(&mut server),
        sb(
            OLD,
            &encode_send(&Config::default().server_request, Layout::Reversed)
        )
    );
    // NEW-ENVIRON is never swapped.
    assert_eq!(server.environ_layout(NEW), None);
}

#[test]
fn old_environ_server_standard_client() {
    let mut server = server_with(OLD, SessionConfig::default());
    let mut log = Log::default();
    server.receive(&sb(OLD, b"\x00\x00USER\x01bob"), &mut log);
    assert_eq!(server.environ_layout(OLD), Some(Layout::Standard));
    assert_eq!(
        server.environ(),
        [Variable::defined(Kind::Var, "USER", "bob")]
    );
    assert_eq!(log.events.len(), 1);
}

fn report_layout(body: &[u8]) -> Option<Layout> {
    let mut payload = vec![0];
    payload.extend_from_slice(body);
    detect_report_layout(&tokenize(&payload).unwrap().1)
}

#[test]
fn rfc1571_server_heuristics() {
    use Layout::{Reversed, Standard};
    // IS followed by VAR / VALUE.
    assert_eq!(report_layout(b"\x00A\x01a"), Some(Standard));
    assert_eq!(report_layout(b"\x01A\x00a"), Some(Reversed));
    // After a USERVAR: two consecutive VARs / VALUEs.
    assert_eq!(report_layout(b"\x03U\x00A\x00B"), Some(Standard));
    assert_eq!(report_layout(b"\x03U\x01A\x01B"), Some(Reversed));
    // An empty VALUE / an empty VAR.
    assert_eq!(report_layout(b"\x03U\x01"), Some(Standard));
    assert_eq!(report_layout(b"\x03U\x00"), Some(Reversed));
    // Counts: USERVARs + VARs = VALUEs / USERVARs + VALUEs = VARs.
    assert_eq!(report_layout(b"\x03U\x01u\x00A\x01a"), Some(Standard));
    assert_eq!(report_layout(b"\x03U\x00u\x01A\x00a"), Some(Reversed));
    // Counts in doubt (USERVAR undefined, one VAR one VALUE): well-known names decide.
    assert_eq!(report_layout(b"\x03U\x00USER\x01x\x03V"), Some(Standard));
    assert_eq!(report_layout(b"\x03U\x01USER\x00x\x03V"), Some(Reversed));
    // Nothing decides: still in doubt (assume standard).
    assert_eq!(report_layout(b"\x03U\x00FOO\x01x\x03V"), None);
    assert_eq!(report_layout(b"\x03U\x03V"), None);
    assert_eq!(report_layout(b""), None);
}

#[test]
fn old_environ_undecided_stays_standard_for_now() {
    let mut server = server_with(OLD, SessionConfig::default());
    server.receive(&sb(OLD, b"\x00\x03U\x03V"), &mut Log::default());
    assert_eq!(server.environ_layout(OLD), None);
    assert_eq!(
        server.environ(),
        [
            Variable::undefined(Kind::UserVar, "U"),
            Variable::undefined(Kind::UserVar, "V"),
        ]
    );
    // A later decisive message settles it.
    server.receive(&sb(OLD, b"\x02\x01USER\x00bob"), &mut Log::default());
    assert_eq!(server.environ_layout(OLD), Some(Layout::Reversed));
}

#[test]
fn old_environ_client_follows_reversed_server() {
    let mut config = SessionConfig::default();
    config.environ.values = vec![(b"TERM".to_vec(), b"vt100".to_vec())];
    let mut client = client_with(OLD, config);
    let mut log = Log::default();
    // RFC 1571 section 2: a VALUE code in a SEND means the server is reversed.
    client.receive(&sb(OLD, b"\x01\x01TERM\x03X"), &mut log);
    assert_eq!(
        transmit(&mut client),
        sb(OLD, b"\x00\x01TERM\x00vt100\x03X")
    );
    assert_eq!(client.environ_layout(OLD), Some(Layout::Reversed));
    assert_eq!(
        log.events,
        [
            "Environ(Reversed { option: OldEnviron })",
            "Environ(Requested { option: OldEnviron, requests: [Var \"TERM\", UserVar \"X\"] })",
        ]
    );
    // INFO keeps the server's codes.
    client.set_environ_value("TERM", "vt220");
    assert!(client.send_environ_info(["TERM"]));
    assert_eq!(transmit(&mut client), sb(OLD, b"\x02\x01TERM\x00vt220"));
    // A SEND with both codes is not well formed (RFC 1571 section 2): ignored.
    client.receive(&sb(OLD, b"\x01\x00TERM\x01X"), &mut log);
    assert_eq!(
        log.events[2],
        "BadSubnegotiation { option: OldEnviron, error: Malformed }"
    );
    assert!(transmit(&mut client).is_empty());
    // An empty SEND tells nothing: the codes learnt stay.
    client.receive(&sb(OLD, b"\x01"), &mut log);
    assert_eq!(transmit(&mut client), sb(OLD, b"\x00\x01TERM\x00vt220"));
}

#[test]
fn old_environ_client_standard_server() {
    let mut config = SessionConfig::default();
    config.environ.values = vec![(b"TERM".to_vec(), b"vt100".to_vec())];
    let mut client = client_with(OLD, config);
    client.receive(&sb(OLD, b"\x01\x00TERM"), &mut Log::default());
    assert_eq!(transmit(&mut client), sb(OLD, b"\x00\x00TERM\x01vt100"));
    assert_eq!(client.environ_layout(OLD), Some(Layout::Standard));
}

// --- round trips ---

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Var), Just(Kind::UserVar)]
}

fn variable() -> impl Strategy<Value = Variable> {
    (
        kind(),
        proptest::collection::vec(any::<u8>(), 0..12),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..12)),
    )
        .prop_map(|(kind, name, value)| Variable { kind, name, value })
}

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![Just(Layout::Standard), Just(Layout::Reversed)]
}

proptest! {
    #[test]
    fn variables_round_trip(
        variables in proptest::collection::vec(variable(), 0..8),
        layout in layout(),
        info in any::<bool>(),
    ) {
        let message = if info { Message::Info(variables) } else { Message::Is(variables) };
        let payload = message.to_payload(layout);
        prop_assert_eq!(Message::parse(&payload, layout), Ok(message));
    }

    #[test]
    fn requests_round_trip(
        requests in proptest::collection::vec(
            (kind(), proptest::collection::vec(any::<u8>(), 0..12))
                .prop_map(|(kind, name)| Request { kind, name }),
            0..8,
        ),
        layout in layout(),
    ) {
        let message = Message::Send(requests);
        let payload = message.to_payload(layout);
        prop_assert_eq!(Message::parse(&payload, layout), Ok(message));
    }

    #[test]
    fn any_payload_is_handled(payload in proptest::collection::vec(0u8..6, 0..40)) {
        // Never panics; whatever parses re-encodes to something that parses the same.
        for layout in [Layout::Standard, Layout::Reversed] {
            if let Ok(message) = Message::parse(&payload, layout) {
                let again = message.to_payload(layout);
                prop_assert_eq!(Message::parse(&again, layout), Ok(message));
            }
        }
        let mut server = server_with(OLD, SessionConfig::default());
        server.receive(&sb(OLD, &payload), &mut Log::default());
        let mut client = client_with(OLD, SessionConfig::default());
        client.receive(&sb(OLD, &payload), &mut Log::default());
    }
}
