//! A peer that floods requests and never reads cannot grow a session's output queue
//! without bound when input is taken with `receive_until_output`, and holding input back
//! changes nothing but when it is processed.
//!
//! The victim (server running telnetlib3's opening plan, or client; telnetlib3's
//! policies) gets an attacker's byte stream built from the fuzz input: raw bytes, repeats
//! of the previous burst, and the victim's own replies echoed back. It takes them with
//! `receive_until_output(.., limit)` and its output is drained only at rare points and at
//! the end; what it leaves unconsumed is passed again at the next arrival, as a socket
//! buffer would hold it. After every call:
//!
//! - (a) its queued output stays under `limit + SLACK`;
//! - (b) it consumed at most what it was given, and stopped short only with a full queue
//!   (and, still full, takes nothing more).
//!
//! The input: a flags byte (bit 0: client, else server; bits 1-2: the limit, from
//! `LIMITS`), then steps, each an op byte whose low two bits say what arrives:
//! 0, the next `(op >> 2) + 1` input bytes; 1, the next `((op >> 2) + 1) * 32`; 2, up to
//! `((op >> 2) + 1) * 16` bytes of the victim's replies not yet echoed; 3, the previous
//! burst `(op >> 2) + 1` times again, except that op 0xFF drains the victim's output and
//! passes it its backlog.
//!
//! At the end its output is drained and the held-back bytes passed again until all are
//! taken. Then (c) it delivered the same data as a shadow victim that took every burst
//! with plain `receive` as it arrived, and the same events, replies and option states as
//! a replay with plain `receive` cut where the bounded victim's calls ended. A client
//! (which has no opening plan) must also match the shadow exactly in events, replies and
//! option states; a server need not, as its plan advances once per call (so the cuts
//! decide where its steps go out: see `Session::advance_plan`).
#![no_main]

use std::fmt::{self, Write as _};

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use telnetlib3_proto::options::linemode;
use telnetlib3_proto::{
    Event, Policy, Role, Session, Sink, TelnetOption,
    DEFAULT_MAX_SUBNEGOTIATION,
};

/// The bounded victim's output limit, the first by default; the others (chosen by the
/// input) make it stop and resume often on short inputs.
const LIMITS: [usize; 4] = [4096, 1, 64, 1024];
/// The most the replies to one command (and the plan step after it) may add.
const SLACK: usize = 2 * DEFAULT_MAX_SUBNEGOTIATION + 1024;
/// Cap on the attacker's whole stream (three times the default limit): keeps an
/// execution fast.
const MAX_STREAM: usize = 12 * 1024;

/// A hash of the text written to it, eight bytes at a time (both sides format the same
/// events the same way, so the pieces line up).
struct Hash(u64);

impl Hash {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

impl fmt::Write for Hash {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut words = s.as_bytes().chunks_exact(8);
        for word in &mut words {
            self.mix(u64::from_le_bytes(word.try_into().unwrap()));
        }
        let tail = words.remainder();
        let mut last = [0; 8];
        last[..tail.len()].copy_from_slice(tail);
        self.mix(u64::from_le_bytes(last) ^ ((tail.len() as u64) << 59));
        Ok(())
    }
}

/// Everything delivered: data concatenated (run boundaries do not matter), events hashed
/// with the data offset at which each arrived. An SLC function found in the data is
/// reported after the run that holds it, and where runs end depends on how the input was
/// cut, so its offset is left out (its place among the other events is kept).
struct Record {
    data: Vec<u8>,
    events: usize,
    hash: Hash,
}

impl Record {
    fn new() -> Self {
        Self {
            data: Vec::new(),
            events: 0,
            hash: Hash(0),
        }
    }

    fn same_events(&self, other: &Self) -> bool {
        self.events == other.events && self.hash.0 == other.hash.0
    }
}

impl Sink for Record {
    fn data(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
    }
    fn event(&mut self, event: Event<'_>) {
        self.events += 1;
        if matches!(event, Event::Linemode(linemode::Event::SlcFunction(_))) {
            let _ = write!(self.hash, "{event:?};");
        } else {
            let _ = write!(self.hash, "@{} {event:?};", self.data.len());
        }
    }
}

fn victim(role: Role) -> Session {
    let policy = match role {
        Role::Server => Policy::server(),
        Role::Client => Policy::client(),
    };
    common::fuzz_session(role, policy)
}

fn drain(session: &mut Session, out: &mut Vec<u8>) {
    let _ = session.poll_transmit(out);
}

/// The victim that takes input with `receive_until_output`.
struct Bounded {
    session: Session,
    sink: Record,
    /// How much of the stream it has consumed.
    pos: usize,
    /// Where each of its calls ended, for the replay.
    cuts: Vec<usize>,
    /// Everything it transmitted.
    out: Vec<u8>,
    /// How many calls had been made at each drain, for the replay: what an Abort Output
    /// discards depends on what was handed over before it.
    drained_after: Vec<usize>,
    /// Its last call stopped short, and its output was not drained since.
    paused: bool,
    limit: usize,
}

impl Bounded {
    /// Pass everything not yet consumed; returns how much was taken.
    fn feed(&mut self, stream: &[u8]) -> usize {
        let input = &stream[self.pos..];
        let used = self
            .session
            .receive_until_output(input, &mut self.sink, self.limit);
        let queued = self.session.output_len();
        assert!(used <= input.len(), "consumed {used} of {}", input.len());
        assert!(
            queued <= self.limit + SLACK,
            "{queued} bytes queued, over {} + {SLACK}",
            self.limit
        );
        if used < input.len() {
            assert!(
                queued >= self.limit,
                "stopped after {used} of {} with only {queued} queued",
                input.len()
            );
        }
        if self.paused {
            assert_eq!(used, 0, "took input while its output was still full");
        }
        self.paused = used < input.len();
        self.pos += used;
        self.cuts.push(self.pos);
        used
    }

    fn drain(&mut self) {
        self.drained_after.push(self.cuts.len());
        drain(&mut self.session, &mut self.out);
        self.paused = false;
    }
}

fn assert_same_states(a: &Session, b: &Session, what: &str) {
    for code in 0..=255u8 {
        let option = TelnetOption::from(code);
        assert_eq!(a.option_state(option), b.option_state(option), "{what}: {option}");
    }
    assert_eq!(a.negotiation_settled(), b.negotiation_settled(), "{what}");
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, mut script)) = input.split_first() else {
        return;
    };
    let role = if flags & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };

    let mut stream: Vec<u8> = Vec::new();
    let mut shadow = victim(role);
    let mut shadow_sink = Record::new();
    let mut shadow_out = Vec::new();
    let mut echoed = 0; // how much of the shadow's output was fed back
    let mut bounded = Bounded {
        session: victim(role),
        sink: Record::new(),
        pos: 0,
        cuts: Vec::new(),
        out: Vec::new(),
        drained_after: Vec::new(),
        paused: false,
        limit: LIMITS[usize::from(flags >> 1) & 3],
    };
    assert!(bounded.session.output_len() <= bounded.limit + SLACK);
    drain(&mut shadow, &mut shadow_out);
    let mut last = 0..0;

    while let Some((&op, rest)) = script.split_first() {
        script = rest;
        let arg = usize::from(op >> 2);
        let start = stream.len();
        let room = MAX_STREAM - start;
        match op & 3 {
            // Raw attacker bytes: a short or a long burst.
            0 | 1 => {
                let n = if op & 3 == 0 { arg + 1 } else { (arg + 1) * 32 };
                let n = n.min(script.len()).min(room);
                let (burst, rest) = script.split_at(n);
                script = rest;
                stream.extend_from_slice(burst);
            }
            // The victim's replies, echoed back naively.
            2 => {
                let n = ((arg + 1) * 16).min(shadow_out.len() - echoed).min(room);
                stream.extend_from_slice(&shadow_out[echoed..echoed + n]);
                echoed += n;
            }
            // The victim's application finally reads: drain, pass the held-back bytes.
            3 if arg == 63 => {
                bounded.drain();
                bounded.feed(&stream);
                continue;
            }
            // The previous burst again, up to 63 times.
            _ => {
                for _ in 0..=arg {
                    if last.is_empty() || stream.len() + last.len() > MAX_STREAM {
                        break;
                    }
                    stream.extend_from_within(last.clone());
                }
            }
        }
        if stream.len() == start {
            continue;
        }
        last = start..stream.len();
        shadow.receive(&stream[start..], &mut shadow_sink);
        drain(&mut shadow, &mut shadow_out);
        bounded.feed(&stream);
    }

    // The application reads at last: everything held back goes through.
    loop {
        bounded.drain();
        if bounded.pos == stream.len() {
            break;
        }
        let used = bounded.feed(&stream);
        assert!(used > 0, "no progress with an empty output queue");
    }

    // (c) The same data as the shadow that took every burst at once.
    assert!(
        bounded.sink.data == shadow_sink.data,
        "data differs from plain receive: {} bytes vs {}",
        bounded.sink.data.len(),
        shadow_sink.data.len()
    );

    // Exactly what plain `receive` does when cut where the bounded calls ended.
    let mut replay = victim(role);
    let mut replay_sink = Record::new();
    let mut replay_out = Vec::new();
    let mut from = 0;
    let mut drains = bounded.drained_after.iter().peekable();
    for (calls, &cut) in bounded.cuts.iter().enumerate() {
        while drains.next_if_eq(&&calls).is_some() {
            drain(&mut replay, &mut replay_out);
        }
        replay.receive(&stream[from..cut], &mut replay_sink);
        from = cut;
    }
    drain(&mut replay, &mut replay_out);
    assert!(replay_sink.data == bounded.sink.data, "replay: data differs");
    assert!(replay_sink.same_events(&bounded.sink), "replay: events differ");
    assert!(replay_out == bounded.out, "replay: output differs");
    assert_same_states(&replay, &bounded.session, "replay");

    // A client has no opening plan: holding input back changes nothing else either. A
    // server advances its plan after each call, so where the calls end decides whether
    // a plan step goes out before or after the commands around the cut (the replay above
    // covers that case).
    if role == Role::Client {
        assert!(
            shadow_sink.same_events(&bounded.sink),
            "events differ from plain receive: {} vs {}",
            bounded.sink.events,
            shadow_sink.events
        );
        assert!(
            shadow_out == bounded.out,
            "output differs from plain receive: {} bytes vs {}",
            bounded.out.len(),
            shadow_out.len()
        );
        assert_same_states(&shadow, &bounded.session, "shadow");
    } else {
        for (session, out) in [
            (&mut replay, &mut replay_out),
            (&mut bounded.session, &mut bounded.out),
        ] {
            session.handle_negotiation_timeout();
            drain(session, out);
        }
        assert!(replay_out == bounded.out, "output after the wait differs");
    }
});
