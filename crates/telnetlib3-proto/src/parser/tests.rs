use proptest::prelude::*;

use super::*;

/// What a [`Handler`] saw, with adjacent data runs merged so that different splits of
/// the same stream compare equal.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Data(Vec<u8>),
    Command(Command),
    Negotiation(Verb, TelnetOption),
    Subnegotiation(TelnetOption, Vec<u8>),
    Error(ProtocolError),
}

#[derive(Default)]
struct Recorder {
    seen: Vec<Seen>,
    nvt: bool,
}

impl Handler for Recorder {
    fn data(&mut self, data: &[u8]) {
        assert!(!data.is_empty(), "empty data runs are never emitted");
        if let Some(Seen::Data(last)) = self.seen.last_mut() {
            last.extend_from_slice(data);
        } else {
            self.seen.push(Seen::Data(data.to_vec()));
        }
    }
    fn command(&mut self, command: Command) {
        self.seen.push(Seen::Command(command));
    }
    fn negotiation(&mut self, verb: Verb, option: TelnetOption) {
        self.seen.push(Seen::Negotiation(verb, option));
    }
    fn subnegotiation(&mut self, option: TelnetOption, payload: &[u8]) {
        self.seen
            .push(Seen::Subnegotiation(option, payload.to_vec()));
    }
    fn protocol_error(&mut self, error: ProtocolError) {
        self.seen.push(Seen::Error(error));
    }
    fn nvt_input(&self) -> bool {
        self.nvt
    }
}

fn parse_with(parser: &mut Parser, nvt: bool, chunks: &[&[u8]]) -> Vec<Seen> {
    let mut recorder = Recorder {
        nvt,
        ..Recorder::default()
    };
    for chunk in chunks {
        parser.advance(&mut recorder, chunk);
    }
    recorder.seen
}

fn parse(input: &[u8]) -> Vec<Seen> {
    parse_with(&mut Parser::new(), false, &[input])
}

fn parse_nvt(input: &[u8]) -> Vec<Seen> {
    parse_with(&mut Parser::new(), true, &[input])
}

fn data(bytes: &[u8]) -> Seen {
    Seen::Data(bytes.to_vec())
}

#[test]
fn plain_data_is_one_run() {
    assert_eq!(parse(b"hello, world"), [data(b"hello, world")]);
}

#[test]
fn iac_iac_is_one_data_byte() {
    assert_eq!(parse(b"a\xff\xffb\xff\xff"), [data(b"a\xffb\xff")]);
}

#[test]
fn every_rfc854_command() {
    let cases: [(u8, Command); 13] = [
        (241, Command::Nop),
        (242, Command::Dm),
        (243, Command::Brk),
        (244, Command::Ip),
        (245, Command::Ao),
        (246, Command::Ayt),
        (247, Command::Ec),
        (248, Command::El),
        (249, Command::Ga),
        (239, Command::Eor),
        (238, Command::Abort),
        (237, Command::Susp),
        (236, Command::Eof),
    ];
    for (code, command) in cases {
        assert_eq!(
            parse(&[b'x', IAC, code, b'y']),
            [data(b"x"), Seen::Command(command), data(b"y")],
            "IAC {code}"
        );
    }
}

#[test]
fn unknown_command_is_reported_not_data() {
    assert_eq!(
        parse(b"\xff\x41z"),
        [Seen::Command(Command::Unknown(0x41)), data(b"z")]
    );
}

#[test]
fn negotiations() {
    assert_eq!(
        parse(b"\xff\xfb\x01\xff\xfc\x03\xff\xfd\x18\xff\xfe\x22\xff\xfd\xc8"),
        [
            Seen::Negotiation(Verb::Will, TelnetOption::Echo),
            Seen::Negotiation(Verb::Wont, TelnetOption::Sga),
            Seen::Negotiation(Verb::Do, TelnetOption::Ttype),
            Seen::Negotiation(Verb::Dont, TelnetOption::Linemode),
            Seen::Negotiation(Verb::Do, TelnetOption::Atcp),
        ]
    );
}

#[test]
fn subnegotiation_with_escaped_iac() {
    // NAWS 255 x 24, width escaped as IAC IAC (RFC 1073).
    assert_eq!(
        parse(b"\xff\xfa\x1f\x00\xff\xff\x00\x18\xff\xf0after"),
        [
            Seen::Subnegotiation(TelnetOption::Naws, vec![0, 255, 0, 24]),
            data(b"after")
        ]
    );
}

#[test]
fn empty_subnegotiation() {
    assert_eq!(
        parse(b"\xff\xfa\x56\xff\xf0"),
        [Seen::Subnegotiation(TelnetOption::Mccp2, vec![])]
    );
}

#[test]
fn se_without_sb_is_reported_and_ignored() {
    assert_eq!(
        parse(b"a\xff\xf0b"),
        [
            data(b"a"),
            Seen::Error(ProtocolError::UnexpectedSe),
            data(b"b")
        ]
    );
}

#[test]
fn subnegotiation_interrupted_by_a_command_resynchronises() {
    assert_eq!(
        parse(b"\xff\xfa\x18\x00xterm\xff\xfd\x01rest"),
        [
            Seen::Error(ProtocolError::SubnegotiationInterrupted {
                option: TelnetOption::Ttype,
                command: 0xfd
            }),
            Seen::Negotiation(Verb::Do, TelnetOption::Echo),
            data(b"rest"),
        ]
    );
    // A new SB inside an SB abandons the first.
    assert_eq!(
        parse(b"\xff\xfa\x18junk\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0"),
        [
            Seen::Error(ProtocolError::SubnegotiationInterrupted {
                option: TelnetOption::Ttype,
                command: SB
            }),
            Seen::Subnegotiation(TelnetOption::Naws, vec![0, 80, 0, 24]),
        ]
    );
}

#[test]
fn overlong_subnegotiation_is_discarded_up_to_se() {
    let mut parser = Parser::with_max_subnegotiation(4);
    let seen = parse_with(
        &mut parser,
        false,
        &[b"\xff\xfa\x18\x00abc", b"defgh\xff\xff", b"ij\xff\xf0ok"],
    );
    assert_eq!(
        seen,
        [
            Seen::Error(ProtocolError::SubnegotiationTooLong {
                option: TelnetOption::Ttype,
                limit: 4,
                first_byte: Some(0),
            }),
            data(b"ok"),
        ]
    );
    assert!(parser.subnegotiation.is_empty(), "nothing of it is kept");
    // Exactly at the cap is fine.
    let seen = parse_with(&mut parser, false, &[b"\xff\xfa\x18\x00abc\xff\xf0"]);
    assert_eq!(
        seen,
        [Seen::Subnegotiation(
            TelnetOption::Ttype,
            b"\x00abc".to_vec()
        )]
    );
}

#[test]
fn large_subnegotiation_buffer_is_released_after_use() {
    let mut parser = Parser::new();
    let mut stream = b"\xff\xfa\x27\x00".to_vec();
    stream.extend_from_slice(&[b'x'; 4000]);
    stream.extend_from_slice(b"\xff\xf0");
    let seen = parse_with(&mut parser, false, &[&stream]);
    assert!(
        matches!(&seen[..], [Seen::Subnegotiation(TelnetOption::NewEnviron, p)] if p.len() == 4001)
    );
    assert_eq!(parser.subnegotiation.capacity(), 0);
}

#[test]
fn nvt_cr_nul_becomes_cr_and_cr_lf_is_kept() {
    assert_eq!(parse_nvt(b"a\r\0b\r\nc\0d"), [data(b"a\rb\r\nc\0d")]);
    // Outside NVT rules, NUL is data.
    assert_eq!(parse(b"a\r\0b"), [data(b"a\r\0b")]);
}

#[test]
fn nvt_cr_nul_split_across_reads() {
    let seen = parse_with(
        &mut Parser::new(),
        true,
        &[b"a\r", b"\0b", b"\r", b"\0", b"\0"],
    );
    assert_eq!(seen, [data(b"a\rb\r\0")]);
}

#[test]
fn nvt_cr_then_command_then_nul_keeps_nul() {
    assert_eq!(
        parse_nvt(b"\r\xff\xf1\0"),
        [data(b"\r"), Seen::Command(Command::Nop), data(b"\0")]
    );
}

#[test]
fn iac_split_at_every_position() {
    let stream = b"ab\xff\xff\xff\xfb\x00\xff\xfa\x18\x01\xff\xf0cd\xff\xf9";
    let whole = parse(stream);
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(
            parse_with(&mut Parser::new(), false, &[a, b]),
            whole,
            "cut {cut}"
        );
    }
}

#[test]
fn parser_is_idle_between_tokens() {
    let mut parser = Parser::new();
    parse_with(&mut parser, false, &[b"\xff"]);
    assert!(!parser.is_idle());
    parse_with(&mut parser, false, &[b"\xf1"]);
    assert!(parser.is_idle());
}

/// A stream biased toward the bytes that matter to the parser.
fn telnet_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        3 => Just(IAC),
        1 => Just(SB),
        1 => Just(SE),
        1 => Just(b'\r'),
        1 => Just(0u8),
        1 => 251u8..=254,
    ];
    proptest::collection::vec(byte, 0..200)
}

proptest! {
    /// Feeding a stream in any split gives the same events as feeding it whole.
    #[test]
    fn any_split_gives_the_same_events(
        stream in telnet_bytes(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        nvt in any::<bool>(),
        cap in 0usize..16,
    ) {
        let whole = parse_with(&mut Parser::with_max_subnegotiation(cap), nvt, &[&stream]);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for point in points {
            chunks.push(&stream[start..point]);
            start = point;
        }
        chunks.push(&stream[start..]);
        let split = parse_with(&mut Parser::with_max_subnegotiation(cap), nvt, &chunks);
        prop_assert_eq!(whole, split);
    }

    /// Data with no IAC, outside NVT rules, comes out unchanged in one run.
    #[test]
    fn plain_data_is_passed_through(stream in proptest::collection::vec(0u8..255, 1..300)) {
        let seen = parse(&stream);
        prop_assert_eq!(seen, vec![Seen::Data(stream)]);
    }
}

/// Records each data call as it comes, unmerged.
#[derive(Default)]
struct Calls {
    data: Vec<Vec<u8>>,
    nvt: bool,
}

impl Handler for Calls {
    fn data(&mut self, data: &[u8]) {
        self.data.push(data.to_vec());
    }
    fn command(&mut self, _command: Command) {
        self.data.push(b"<cmd>".to_vec());
    }
    fn nvt_input(&self) -> bool {
        self.nvt
    }
}

#[test]
fn escapes_do_not_cut_data_into_one_call_each() {
    let mut calls = Calls::default();
    let mut parser = Parser::new();
    parser.advance(&mut calls, b"a\xff\xffb\xff\xffc\xff\xf1d\xff\xff");
    assert_eq!(
        calls.data,
        [&b"a\xffb\xffc"[..], b"<cmd>", b"d\xff"],
        "one call per stretch between commands"
    );

    let mut calls = Calls {
        nvt: true,
        ..Calls::default()
    };
    let mut parser = Parser::new();
    parser.advance(&mut calls, b"x\r\0y\r\0\xff\xffz\r");
    parser.advance(&mut calls, b"\0w");
    assert_eq!(calls.data, [&b"x\ry\r\xffz\r"[..], b"w"]);
    assert!(parser.joined.capacity() <= RETAINED_JOINED_CAPACITY);

    // A large joined stretch is not kept once handed over.
    let mut big = vec![b'a'; 4096];
    big.extend_from_slice(b"\xff\xffb");
    parser.advance(&mut calls, &big);
    assert_eq!(calls.data.last().map(Vec::len), Some(4098));
    assert_eq!(parser.joined.capacity(), 0);
}

proptest! {
    /// The word-at-a-time IAC finder finds exactly what memchr finds.
    #[test]
    fn iac_positions_match_memchr(
        data in proptest::collection::vec(prop_oneof![any::<u8>(), Just(0xFFu8), Just(0xFEu8), Just(0x7Fu8)], 0..300),
    ) {
        let words: Vec<usize> = IacPositions::new(&data).collect();
        let simd: Vec<usize> = memchr_iter(IAC, &data).collect();
        prop_assert_eq!(words, simd);
    }

    /// A dense stream of data and IAC IAC pairs (in runs, between runs of every length,
    /// so short and long moves into the reserved buffer), with a command and a lone IAC
    /// now and then, read whole, gives the events of a parse one byte at a time.
    #[test]
    fn dense_unescape_matches_a_parse_byte_by_byte(
        tokens in proptest::collection::vec(prop_oneof![
            6 => any::<u8>().prop_map(|b| vec![b]),
            4 => Just(vec![IAC, IAC]),
            1 => Just(vec![IAC, 0xF1]),
            1 => Just(vec![IAC]),
        ], 40..400),
    ) {
        let stream: Vec<u8> = tokens.concat();
        let whole = parse(&stream);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        let by_byte = parse_with(&mut Parser::new(), false, &bytes);
        prop_assert_eq!(whole, by_byte);
    }

    /// Dense and sparse escaping give the same bytes (every IAC doubled, nothing else).
    #[test]
    fn dense_escaping_doubles_every_iac(
        data in proptest::collection::vec(prop_oneof![any::<u8>(), Just(0xFFu8)], 0..600),
    ) {
        let mut out = Vec::new();
        crate::encoder::escape_iac(&data, &mut out);
        let naive: Vec<u8> = data
            .iter()
            .flat_map(|&b| if b == IAC { vec![IAC, IAC] } else { vec![b] })
            .collect();
        prop_assert_eq!(out, naive);
    }
}

/// Binary data where IAC is dense (every byte IAC with probability 1/4 or so), long
/// enough to take the dense path, with commands, negotiations and subnegotiations.
fn dense_binary() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        6 => any::<u8>(),
        3 => Just(IAC),
        1 => Just(SB),
        1 => Just(SE),
        1 => Just(0xF1u8),
        1 => 251u8..=254,
    ];
    proptest::collection::vec(byte, 64..700)
}

proptest! {
    /// The dense path (a whole chunk with IAC in one byte of 32 or more) gives the events
    /// of the memchr path, which a parse one byte at a time takes.
    #[test]
    fn dense_path_matches_a_parse_byte_by_byte(stream in dense_binary()) {
        prop_assume!(iac_dense(&stream));
        let whole = parse(&stream);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        let one_by_one = parse_with(&mut Parser::new(), false, &bytes);
        prop_assert_eq!(whole, one_by_one);
    }
}

#[test]
fn dense_path_hands_each_stretch_over_in_one_call() {
    // 10% IAC as the benchmark sends it, escaped, then a command and more.
    let mut stream = Vec::new();
    for i in 0..200u8 {
        stream.push(if i % 10 == 9 { IAC } else { i });
        if i % 10 == 9 {
            stream.push(IAC);
        }
    }
    stream.extend_from_slice(b"\xff\xf1tail\xff\xff");
    assert!(iac_dense(&stream));
    let mut calls = Calls::default();
    let mut parser = Parser::new();
    let used = parser.advance(&mut calls, &stream);
    assert_eq!(used, stream.len());
    let expected: Vec<u8> = (0..200u8)
        .map(|i| if i % 10 == 9 { IAC } else { i })
        .collect();
    assert_eq!(
        calls.data,
        [expected, b"<cmd>".to_vec(), b"tail\xff".to_vec()]
    );
    assert!(parser.joined.capacity() <= RETAINED_JOINED_CAPACITY);
    // A large stretch is not kept once handed over.
    let escaped = &stream[..stream.len() - 8];
    let big: Vec<u8> = escaped.repeat(20);
    parser.advance(&mut calls, &big);
    assert_eq!(parser.joined.capacity(), 0);
}
