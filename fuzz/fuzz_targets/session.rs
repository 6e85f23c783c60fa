//! Sessions never panic, never loop and stay bounded, whatever the peer sends, with every
//! option family in play.
//!
//! 1. Hostile bytes go into a server running telnetlib3's opening plan and into a client,
//!    each with telnetlib3's policy widened by fuzzed bits: replies stay bounded.
//! 2. A fresh client and server, after arbitrary RFC 1143 requests on both ends, are driven
//!    together: they always settle, with nothing outstanding and the same view of every
//!    option.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use telnetlib3_proto::{
    Event, Policy, Role, Session, Sink, TelnetOption,
};

struct Count(usize);

impl Sink for Count {
    fn data(&mut self, data: &[u8]) {
        self.0 += data.len();
    }
    fn event(&mut self, event: Event<'_>) {
        // Formatting walks every field of every event family.
        self.0 += format!("{event:?}").len();
    }
}

/// telnetlib3's policy for `role`, with extra options allowed by the fuzzed bits.
fn policy(role: Role, bits: &[u8]) -> Policy {
    let mut policy = match role {
        Role::Server => Policy::server(),
        Role::Client => Policy::client(),
    };
    for (i, &byte) in bits.iter().enumerate() {
        let option = TelnetOption::from((i as u8).wrapping_mul(37).wrapping_add(byte >> 2));
        if byte & 1 != 0 {
            policy.set_local(option, true);
        }
        if byte & 2 != 0 {
            policy.set_remote(option, true);
        }
    }
    policy
}

fn session(role: Role, bits: &[u8]) -> Session {
    common::fuzz_session(role, policy(role, bits))
}

fn transmit(session: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = session.poll_transmit(&mut out);
    out
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 16 {
        return;
    }
    let (bits, rest) = input.split_at(16);
    let (script, hostile) = rest.split_at(rest.len() / 4);

    // 1. Hostile bytes, in two chunks split where the script says.
    for role in [Role::Server, Role::Client] {
        let mut target = session(role, bits);
        let opening = transmit(&mut target).len();
        let cut = script.first().map_or(0, |&b| usize::from(b)).min(hostile.len());
        let mut sink = Count(0);
        target.receive(&hostile[..cut], &mut sink);
        target.receive(&hostile[cut..], &mut sink);
        if role == Role::Server {
            target.handle_negotiation_timeout();
        }
        let out = transmit(&mut target);
        // The largest single answer (a STATUS report of all 256 options both ways) is
        // about 1.5 KiB for 6 bytes in: bound the amplification well above that.
        assert!(
            out.len() <= opening + 512 * hostile.len() + 8192,
            "{role:?}: {} bytes out for {} in",
            out.len(),
            hostile.len()
        );
    }

    // 2. A fresh pair with arbitrary requests, driven until quiet.
    let mut server = session(Role::Server, &bits[..8]);
    let mut client = session(Role::Client, &bits[8..]);
    for pair in script.chunks(2) {
        let [op, code] = *pair else { break };
        let option = TelnetOption::from(code);
        let session = if op & 4 == 0 { &mut server } else { &mut client };
        let _ = match op & 3 {
            0 => session.request_local(option, true),
            1 => session.request_local(option, false),
            2 => session.request_remote(option, true),
            _ => session.request_remote(option, false),
        };
        if op & 8 != 0 {
            session.send_timing_mark();
        }
    }
    let mut sink = Count(0);
    let mut settled = false;
    for _ in 0..64 {
        let to_server = transmit(&mut client);
        let to_client = transmit(&mut server);
        if to_server.is_empty() && to_client.is_empty() {
            settled = true;
            break;
        }
        server.receive(&to_server, &mut sink);
        client.receive(&to_client, &mut sink);
    }
    assert!(settled, "the pair did not settle");
    assert!(!client.negotiation_pending() && !server.negotiation_pending());
    assert_eq!(client.timing_marks_outstanding(), 0);
    assert_eq!(server.timing_marks_outstanding(), 0);
    for code in 0..=255u8 {
        let option = TelnetOption::from(code);
        assert_eq!(server.local_enabled(option), client.remote_enabled(option), "{option}");
        assert_eq!(server.remote_enabled(option), client.local_enabled(option), "{option}");
    }
});
