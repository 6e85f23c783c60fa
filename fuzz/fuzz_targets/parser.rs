//! The parser never panics, its memory stays bounded, and any split of the input gives
//! the same events as the whole; encode -> parse is the identity on data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telnetlib3_proto::{
    Command, Encoder, Handler, Parser, ProtocolError, TelnetOption, Verb,
};

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Data(Vec<u8>),
    Command(Command),
    Negotiation(Verb, TelnetOption),
    Subnegotiation(TelnetOption, Vec<u8>),
    Error(ProtocolError),
}

struct Recorder {
    seen: Vec<Seen>,
    nvt: bool,
    cap: usize,
}

impl Handler for Recorder {
    fn data(&mut self, data: &[u8]) {
        assert!(!data.is_empty());
        match self.seen.last_mut() {
            Some(Seen::Data(last)) => last.extend_from_slice(data),
            _ => self.seen.push(Seen::Data(data.to_vec())),
        }
    }
    fn command(&mut self, command: Command) {
        self.seen.push(Seen::Command(command));
    }
    fn negotiation(&mut self, verb: Verb, option: TelnetOption) {
        self.seen.push(Seen::Negotiation(verb, option));
    }
    fn subnegotiation(&mut self, option: TelnetOption, payload: &[u8]) {
        assert!(payload.len() <= self.cap, "subnegotiation over the cap");
        self.seen.push(Seen::Subnegotiation(option, payload.to_vec()));
    }
    fn protocol_error(&mut self, error: ProtocolError) {
        self.seen.push(Seen::Error(error));
    }
    fn nvt_input(&self) -> bool {
        self.nvt
    }
}

fn parse(chunks: &[&[u8]], nvt: bool, cap: usize) -> Vec<Seen> {
    let mut parser = Parser::with_max_subnegotiation(cap);
    let mut recorder = Recorder { seen: Vec::new(), nvt, cap };
    for chunk in chunks {
        parser.advance(&mut recorder, chunk);
    }
    recorder.seen
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, stream)) = input.split_first() else {
        return;
    };
    let nvt = control & 1 != 0;
    let cap = usize::from(control >> 1) * 4;

    let whole = parse(&[stream], nvt, cap);

    // Split at positions drawn from the stream itself.
    let mut chunks = Vec::new();
    let mut rest = stream;
    let mut step = usize::from(control) % 7 + 1;
    while !rest.is_empty() {
        let cut = step.min(rest.len());
        let (head, tail) = rest.split_at(cut);
        chunks.push(head);
        rest = tail;
        step = usize::from(head[0]) % 13 + 1;
    }
    assert_eq!(whole, parse(&chunks, nvt, cap), "split changed the events");

    // Encoding the stream as data and parsing it back gives the data again.
    let mut wire = Vec::new();
    Encoder::new().encode(stream, false, &mut wire);
    let back = parse(&[&wire], false, cap);
    if stream.is_empty() {
        assert!(back.is_empty());
    } else {
        assert_eq!(back, [Seen::Data(stream.to_vec())]);
    }
});
