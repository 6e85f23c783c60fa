//! MCCP boundaries, whatever the peer sends: a session with compression on (a server that
//! offers it, a passive client) stops taking input exactly after the `IAC SE` that starts
//! the peer's stream and at no other place (apart from its output bound), and the
//! compression switches it records in its output queue are in order, inside the queue,
//! and alternate from the state the queue starts in.
//!
//! The fuzzer plays the transport: after a start it skips some bytes as "the compressed
//! stream", then reports its end or an error, and feeds the rest as plain Telnet; it
//! may also suspend our stream (the idle release) and resume it before the next output,
//! whose start must be an `IAC SB <option> IAC SE` where the switch says.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use telnetlib3_proto::{Event, Policy, Role, Session, Sink};

struct Count(usize);

impl Sink for Count {
    fn data(&mut self, data: &[u8]) {
        self.0 += data.len();
    }
    fn event(&mut self, event: Event<'_>) {
        self.0 += format!("{event:?}").len();
    }
}

/// The switches are in order, inside the queue, and alternate.
fn check_output(session: &Session) {
    let mut on = session.output_compressed();
    let mut last = 0;
    for switch in session.compression_switches() {
        assert!(switch.offset >= last && switch.offset <= session.output_len());
        assert_ne!(switch.compress, on, "a switch that changes nothing");
        on = switch.compress;
        last = switch.offset;
    }
    assert_eq!(on, session.compressing());
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, hostile)) = input.split_first() else {
        return;
    };
    for role in [Role::Server, Role::Client] {
        let policy = match role {
            Role::Server => Policy::server(),
            Role::Client => Policy::client(),
        };
        let mut session = common::fuzz_session(role, policy);
        // Before any input: the opening's MCCP offer is made at step 2.
        session.set_compression(if control & 1 == 0 { None } else { Some(true) });
        let mut sink = Count(0);
        let mut rest = hostile;
        let mut out = Vec::new();
        let mut rounds = 0;
        while !rest.is_empty() && rounds < 4096 {
            rounds += 1;
            let limit = if control & 2 == 0 { usize::MAX } else { 64 };
            let was_compressed = session.input_compressed();
            let used = session.receive_until_output(rest, &mut sink, limit);
            check_output(&session);
            let started = !was_compressed && session.input_compressed();
            if started {
                // Stopped exactly after the SE of the start.
                assert!(used >= 5 && rest[..used].ends_with(&[0xff, 0xf0]), "{used}");
            } else if used < rest.len() {
                assert!(session.output_len() >= limit, "stopped early for nothing");
            }
            rest = &rest[used..];
            if session.input_compressed() {
                // The "compressed stream": some bytes, then its end or an error.
                let skip = usize::from(rest.first().copied().unwrap_or(0) & 0x1f).min(rest.len());
                rest = &rest[skip..];
                if control & 4 == 0 {
                    session.handle_input_compression_end();
                } else {
                    session.handle_input_compression_error();
                }
            }
            // An idle release (the tokio layer's): the stream ends, and starts again
            // with `IAC SB <option> IAC SE` in front of the next output.
            if session.output_compression_suspended() && session.resume_output_compression() {
                check_output(&session);
                let start = session.compression_switches().last().expect("the start");
                assert!(start.compress && start.offset >= 5);
                let at = start.offset - 5;
                out.clear();
                let _ = session.poll_transmit(&mut out);
                assert_eq!(out[at..at + 2], [0xff, 0xfa]);
                assert_eq!(out[at + 3..at + 5], [0xff, 0xf0]);
            } else {
                out.clear();
                let _ = session.poll_transmit(&mut out);
            }
            check_output(&session);
            if control & 8 != 0 && session.end_output_compression() {
                check_output(&session);
            }
            if control & 16 != 0 && session.suspend_output_compression() {
                check_output(&session);
                assert!(session.output_compression_suspended());
            }
        }
    }
});
