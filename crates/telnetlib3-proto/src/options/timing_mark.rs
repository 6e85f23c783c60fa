//! TIMING-MARK (RFC 860).
//!
//! TIMING-MARK is not a state but a probe: `DO TM` asks the peer to answer `WILL TM` (or
//! `WONT TM`) once it has processed everything sent before it. So it bypasses the RFC 1143
//! machinery: every DO is answered, in stream order, and the option never becomes
//! "enabled". We use it as a ping: [`Session::send_timing_mark`] sends DO and the answer
//! comes back as [`Event::Answered`].
//!
//! Loops. A naive peer that answers every WILL with DO takes our WILL TM (an answer)
//! for an offer and "accepts" it with DO TM, which we would answer again, forever (at
//! loopback speed, 200 KB/s each way). Both RFCs mean to end such loops: RFC 1143's
//! rule is never to answer an answer, and RFC 860 asks for a mark "at the appropriate
//! place" in the data, which a run of DO TM with nothing between them does not move. So
//! after [`LOOP_LIMIT`] DO TM in a row that each came after our previous answer had gone
//! out, with nothing else from the peer between them (no data, no other command), further
//! ones are not answered until the peer sends something else. Pings sent together (a
//! batch that arrives before our answers go out) count once, so they are all answered.
//! A WILL/WONT TM we did not ask for is never answered either.
//!
//! [`Session::send_timing_mark`]: crate::Session::send_timing_mark

use crate::command::Verb;
use crate::family::Emit;
use crate::link::Link;
use crate::option::TelnetOption;

/// At most this many pings are counted as outstanding; more are sent but not tracked.
pub const MAX_OUTSTANDING: u32 = 1024;

/// How many DO TM in a row are answered when each comes after our previous answer went
/// out, with nothing else from the peer between them.
pub const LOOP_LIMIT: u32 = 8;

/// TIMING-MARK has nothing to configure: the policy's local TM decides WILL or WONT.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Config {}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// DO TM sent and not yet answered.
    pub(crate) outstanding: u32,
    /// DO TM answered since the peer last sent anything else, counting only those that
    /// came after our previous answer had gone out.
    answered_in_a_row: u32,
    /// An answer is queued and has not gone out yet.
    answer_queued: bool,
}

impl State {
    /// The peer sent something other than DO TM: the loop guard starts again.
    #[inline]
    pub(crate) fn peer_spoke(&mut self) {
        self.answered_in_a_row = 0;
    }

    /// Our queued output went out (a DO TM after this may be a reaction to it).
    #[inline]
    pub(crate) fn transmitted(&mut self) {
        self.answer_queued = false;
    }
}

/// What the application learns from TIMING-MARK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The peer sent DO TM and we answered (WILL if `agreed`, else WONT).
    Requested {
        /// Whether we answered WILL.
        agreed: bool,
    },
    /// The peer answered one of our DO TM: everything we sent before it was processed.
    Answered {
        /// WILL (true) or WONT (false); either way the mark is in place.
        will: bool,
    },
    /// A WILL/WONT TM arrived that answers nothing of ours; ignored.
    Unsolicited,
    /// A DO TM was not answered: the peer sent [`LOOP_LIMIT`] of them in a row with
    /// nothing else between them, as a peer that answers our WILL TM with DO TM does.
    LoopBroken,
}

/// A negotiation verb for TM, which RFC 860 does not negotiate as a state. `agreed`: the
/// policy lets us perform TM (answer WILL).
pub(crate) fn negotiation(
    state: &mut State,
    link: &mut Link,
    emit: &mut impl Emit<Event>,
    verb: Verb,
    agreed: bool,
) {
    let option = TelnetOption::Tm;
    match verb {
        Verb::Do => {
            if state.answered_in_a_row >= LOOP_LIMIT {
                return emit.emit(Event::LoopBroken);
            }
            if !state.answer_queued {
                state.answered_in_a_row += 1;
                state.answer_queued = true;
            }
            let reply = if agreed { Verb::Will } else { Verb::Wont };
            link.send_negotiation(reply, option);
            emit.emit(Event::Requested { agreed });
        }
        Verb::Will | Verb::Wont => {
            let event = if state.outstanding > 0 {
                state.outstanding -= 1;
                Event::Answered {
                    will: verb == Verb::Will,
                }
            } else {
                // Answering an unsolicited WILL TM (telnetlib3 raises) could start a loop.
                Event::Unsolicited
            };
            emit.emit(event);
        }
        // We never perform TM as a state, so there is nothing to turn off.
        Verb::Dont => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::options::tests::{transmit, Log};
    use crate::{Policy, Role, Session, SessionConfig, TelnetOption};

    #[test]
    fn every_do_tm_is_answered_in_order_and_state_stays_off() {
        let policy = Policy::new().allow_local(TelnetOption::Tm);
        let mut session = Session::new(Role::Server, SessionConfig::with_policy(policy));
        let mut log = Log::default();
        session.receive(b"a\xff\xfd\x06b\xff\xfd\x06", &mut log);
        assert_eq!(transmit(&mut session), b"\xff\xfb\x06\xff\xfb\x06");
        assert!(!session.local_enabled(TelnetOption::Tm));
        assert_eq!(log.data, b"ab");
    }

    #[test]
    fn a_run_of_do_tm_with_nothing_between_is_answered_loop_limit_times() {
        let mut session = Session::new(
            Role::Server,
            SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Tm)),
        );
        let mut log = Log::default();
        // A naive peer echoing each of our WILL TM back as DO TM, twenty times.
        let mut answers = Vec::new();
        for _ in 0..20 {
            session.receive(b"\xff\xfd\x06", &mut log);
            answers.extend(transmit(&mut session));
        }
        assert_eq!(answers, b"\xff\xfb\x06".repeat(8));
        assert_eq!(
            log.events
                .iter()
                .filter(|e| *e == "TimingMark(LoopBroken)")
                .count(),
            12
        );
        // Anything else from the peer (data, a command) and DO TM is answered again.
        for input in [&b"x\xff\xfd\x06"[..], b"\xff\xf1\xff\xfd\x06"] {
            session.receive(input, &mut log);
            assert_eq!(transmit(&mut session), b"\xff\xfb\x06", "{input:?}");
        }
    }

    #[test]
    fn a_batch_of_pings_is_answered_whole() {
        let mut session = Session::new(
            Role::Server,
            SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Tm)),
        );
        let mut log = Log::default();
        session.receive(&b"\xff\xfd\x06".repeat(20), &mut log);
        assert_eq!(transmit(&mut session), b"\xff\xfb\x06".repeat(20));
        // Split across reads, before our answers go out: the same.
        for _ in 0..20 {
            session.receive(b"\xff\xfd\x06", &mut log);
        }
        assert_eq!(transmit(&mut session), b"\xff\xfb\x06".repeat(20));
    }

    #[test]
    fn refused_by_policy_answers_wont() {
        let mut session = Session::new(Role::Client, SessionConfig::default());
        session.receive(b"\xff\xfd\x06", &mut Log::default());
        assert_eq!(transmit(&mut session), b"\xff\xfc\x06");
    }

    #[test]
    fn ping_round_trip() {
        let mut client = Session::new(Role::Client, SessionConfig::default());
        let mut server = Session::new(
            Role::Server,
            SessionConfig::with_policy(Policy::new().allow_local(TelnetOption::Tm)),
        );
        client.send_timing_mark();
        client.send_timing_mark();
        assert_eq!(client.timing_marks_outstanding(), 2);
        let wire = transmit(&mut client);
        assert_eq!(wire, b"\xff\xfd\x06\xff\xfd\x06");
        server.receive(&wire, &mut Log::default());
        let mut log = Log::default();
        client.receive(&transmit(&mut server), &mut log);
        client.receive(b"\xff\xfb\x06", &mut log);
        assert_eq!(
            log.events,
            [
                "TimingMark(Answered { will: true })",
                "TimingMark(Answered { will: true })",
                "TimingMark(Unsolicited)"
            ]
        );
        assert_eq!(client.timing_marks_outstanding(), 0);
        assert_eq!(
            transmit(&mut client),
            b"",
            "an unsolicited WILL TM is not answered"
        );
    }
}
