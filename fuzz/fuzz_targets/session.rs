//! Negotiation never loops and never panics: a session fed hostile bytes stays bounded,
//! and two sessions driven by arbitrary requests always settle.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telnetlib3_proto::{Config, Event, Policy, Role, Session, Sink, TelnetOption};

struct Count(usize);

impl Sink for Count {
    fn data(&mut self, data: &[u8]) {
        self.0 += data.len();
    }
    fn event(&mut self, _event: Event<'_>) {
        self.0 += 1;
    }
}

fn policy(bits: &[u8]) -> Policy {
    let mut policy = Policy::new();
    for (i, &byte) in bits.iter().enumerate() {
        let option = TelnetOption::from((i as u8).wrapping_mul(37));
        policy.set_local(option, byte & 1 != 0);
        policy.set_remote(option, byte & 2 != 0);
    }
    policy
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 16 {
        return;
    }
    let (bits, rest) = input.split_at(16);
    let (script, hostile) = rest.split_at(rest.len() / 2);

    // 1. Hostile bytes into a server session: no panic, and no reply is larger than the
    //    negotiation that caused it (3 bytes answer 3 bytes at most).
    let mut hostile_server = Session::new(Role::Server, Config::with_policy(policy(&bits[..8])));
    let mut sink = Count(0);
    hostile_server.receive(hostile, &mut sink);
    let mut out = Vec::new();
    let _ = hostile_server.poll_transmit(&mut out);
    assert!(out.len() <= hostile.len(), "reply larger than the input");

    // 2. Arbitrary requests on both ends of a fresh pair, then drive it: two RFC 1143
    //    sessions always settle in a few rounds with nothing left outstanding.
    let mut server = Session::new(Role::Server, Config::with_policy(policy(&bits[..8])));
    let mut client = Session::new(Role::Client, Config::with_policy(policy(&bits[8..])));
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
    }
    let mut to_server = Vec::new();
    let mut to_client = Vec::new();
    let mut settled = false;
    for _ in 0..8 {
        let _ = client.poll_transmit(&mut to_server);
        let _ = server.poll_transmit(&mut to_client);
        if to_server.is_empty() && to_client.is_empty() {
            settled = true;
            break;
        }
        server.receive(&to_server, &mut sink);
        client.receive(&to_client, &mut sink);
        to_server.clear();
        to_client.clear();
    }
    assert!(settled, "negotiation did not settle");
    assert!(!client.negotiation_pending() && !server.negotiation_pending());
    for code in 0..=255u8 {
        let option = TelnetOption::from(code);
        assert_eq!(server.local_enabled(option), client.remote_enabled(option));
        assert_eq!(server.remote_enabled(option), client.local_enabled(option));
    }
});
