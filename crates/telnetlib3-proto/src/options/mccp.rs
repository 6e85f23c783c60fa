//! MCCP2 (option 86) and MCCP3 (option 87): zlib compression of one direction of the
//! connection, MCCP2 from server to client and MCCP3 from client to server.
//!
//! Specifications: <https://mudstandards.org/mud/mccp2>, <https://mudstandards.org/mud/mccp3>
//! (also <http://tintin.sourceforge.net/mccp/>).
//!
//! - MCCP2: the server sends `IAC WILL MCCP2`, the client `IAC DO MCCP2`; the server then
//!   sends `IAC SB MCCP2 IAC SE` and "immediately afterwards" everything it sends, Telnet
//!   commands included, is a zlib stream (RFC 1950). It may end the stream at any point
//!   with an orderly stream end (`Z_FINISH`): what follows is plain Telnet again. On
//!   `IAC DONT MCCP2` the server stops compressing. A client whose decompression fails
//!   "can stop decompressing and send IAC DONT MCCP2".
//! - MCCP3: the same from client to server. The server sends `IAC WILL MCCP3`, the client
//!   answers `IAC DO MCCP3` and then `IAC SB MCCP3 IAC SE`, after which its output is a
//!   zlib stream; the server may ask it to stop with `IAC WONT MCCP3`.
//!
//! So for both options the server is the side that says WILL. Which direction an option
//! compresses does not follow from who performs it: MCCP2 compresses the output of the
//! side that performs it, MCCP3 the output of the side that asked for it.
//!
//! This module decides *where* compression starts and ends, to the byte: the zlib streams
//! themselves are the transport's (the session is sans-IO). On input, the session stops
//! parsing right after the `IAC SE` that starts the peer's stream, so its caller knows
//! that the rest is compressed ([`crate::Session::input_compressed`]); on output, it
//! records where in its queue our stream starts and ends
//! ([`crate::Session::compression_switches`]).

use crate::family::{Emit, SubnegotiationError};
use crate::link::{Link, Role, Side};
use crate::option::TelnetOption;

/// Whether this end takes part in MCCP (telnetlib3's `compression`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// `None`: passive, accept compression when the peer offers it (telnetlib3's
    /// default); `Some(true)`: a server also advertises `WILL MCCP2` and `WILL MCCP3` in
    /// its opening (a client, as telnetlib3's, only accepts: the server offers);
    /// `Some(false)`: MCCP off, nothing is compressed and the options are left to the
    /// [`Policy`](crate::Policy), which refuses them unless told otherwise (so a refusal).
    ///
    /// The default here is `Some(false)`: compression needs a zlib stream around the
    /// session, which a user of this sans-IO crate must supply (and only
    /// [`Session::receive_until_output`](crate::Session::receive_until_output) tells how
    /// much input it took). The tokio layer sets telnetlib3's default, `None`.
    pub compression: Option<bool>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            compression: Some(false),
        }
    }
}

impl Config {
    /// A configuration with `compression` (see the field).
    #[must_use]
    pub const fn new(compression: Option<bool>) -> Self {
        Self { compression }
    }
}

/// Which direction of the connection a compressed stream runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the peer to us: we decompress.
    Incoming,
    /// From us to the peer: we compress.
    Outgoing,
}

/// What the application learns from MCCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A compressed stream starts: incoming, right after the peer's `IAC SB <option>
    /// IAC SE` (the session took no byte after it); outgoing, after ours, queued now.
    Started {
        /// MCCP2 or MCCP3.
        option: TelnetOption,
        /// Which way.
        direction: Direction,
    },
    /// Our outgoing stream ends at this point of the queue: the peer refused the option,
    /// or asked us to stop (MCCP2's DONT, MCCP3's WONT).
    Ended {
        /// MCCP2 or MCCP3.
        option: TelnetOption,
        /// Which way (only [`Direction::Outgoing`] is reported: an incoming stream ends
        /// where the transport finds its end).
        direction: Direction,
    },
}

/// A point in the output queue where our compressed stream starts or ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompressionSwitch {
    /// The offset in the bytes the next [`crate::Session::poll_transmit`] hands over:
    /// the bytes from here on are compressed (`compress`), or follow the end of the
    /// stream (`!compress`).
    pub offset: usize,
    /// Whether a stream starts (a new zlib stream) or ends (`Z_FINISH`) here.
    pub compress: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// The session's own setting, over [`Config::compression`] (the tokio layer refuses
    /// MCCP on a TLS connection without copying a shared configuration).
    pub(crate) setting: Option<Option<bool>>,
    /// Whether the first byte of the output queue is to be compressed.
    pub(crate) output_at_start: bool,
    /// Whether output queued now is to be compressed.
    pub(crate) output: bool,
    /// Where in the queue the stream starts or ends; emptied when the queue is handed
    /// over. At most a few entries: each needs a negotiation.
    pub(crate) switches: Vec<CompressionSwitch>,
    /// The peer's output is a zlib stream, from its `SB ... SE` until the transport
    /// finds the stream's end.
    pub(crate) input: bool,
    /// The peer's stream just started: the parser stops right after its `IAC SE`.
    pub(crate) pause: bool,
    /// Our stream was ended while the option stays on ([`suspend`]): the next output
    /// starts a new one.
    pub(crate) suspended: bool,
    /// A client agreed to MCCP3 and its stream has not started yet ([`start_deferred`]).
    pub(crate) start_deferred: bool,
}

impl State {
    /// The setting in force.
    pub(crate) fn compression(&self, config: &Config) -> Option<bool> {
        self.setting.unwrap_or(config.compression)
    }

    /// The queue was handed over: the next one starts as this one ended.
    pub(crate) fn transmitted(&mut self) {
        self.output_at_start = self.output;
        self.switches.clear();
    }
}

/// The option that compresses what `role` sends, and the side of it that does.
const fn outgoing(role: Role) -> (TelnetOption, Side) {
    match role {
        // The server performs MCCP2 (it sent WILL): its output.
        Role::Server => (TelnetOption::Mccp2, Side::Local),
        // The client asked for MCCP3 (it sent DO): its output.
        Role::Client => (TelnetOption::Mccp3, Side::Remote),
    }
}

/// The option that compresses what `role` receives, and the side of it that does.
const fn incoming(role: Role) -> (TelnetOption, Side) {
    match role {
        Role::Server => (TelnetOption::Mccp3, Side::Local),
        Role::Client => (TelnetOption::Mccp2, Side::Remote),
    }
}

/// Whether we agree to the peer's DO/WILL of an MCCP option on `side`, when MCCP
/// decides: `None` leaves it to the policy (MCCP off, or the side that is never ours).
/// Both options are the server's to perform: a server agrees to DO, a client to WILL.
pub(crate) fn accepts(state: &State, config: &Config, role: Role, side: Side) -> Option<bool> {
    if state.compression(config) == Some(false) {
        return None;
    }
    let ours = match role {
        Role::Server => Side::Local,
        Role::Client => Side::Remote,
    };
    (side == ours).then_some(true)
}

/// `IAC SB MCCP2|MCCP3 IAC SE` arrived: the peer's stream starts after it.
pub(crate) fn receive(
    state: &mut State,
    config: &Config,
    link: &Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
    payload: &[u8],
) -> Result<(), SubnegotiationError> {
    if !payload.is_empty() {
        return Err(SubnegotiationError::TooLong);
    }
    let (expected, side) = incoming(link.role);
    // Only the option that compresses our input, agreed, and not within a stream
    // already (a start inside the stream would be a second stream nested in the first).
    let off = state.compression(config) == Some(false);
    if off || option != expected || !link.enabled(option, side) || state.input {
        return Err(SubnegotiationError::NotAllowed);
    }
    state.input = true;
    state.pause = true;
    emit.emit(Event::Started {
        option,
        direction: Direction::Incoming,
    });
    Ok(())
}

/// `option` turned on or off on `side`: start or end our compressed stream.
pub(crate) fn changed(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
    side: Side,
    enabled: bool,
) {
    // MCCP off: an option the policy agreed to compresses nothing.
    if (option, side) != outgoing(link.role)
        || (enabled && state.compression(config) == Some(false))
    {
        return;
    }
    if enabled && link.role == Role::Client {
        // Our stream's start is deferred: the transport starts it
        // ([`start_deferred`]) when it chooses, and output goes plain until then. The
        // specification lets a client send its `IAC SB MCCP3 IAC SE` any time after its
        // DO. Why not at once: telnetlib3 5.0.1's server offers WILL MCCP3 and then
        // refuses our DO with WONT MCCP3, and it mishandles a stream sent meanwhile (it
        // starts decompressing only after the read that held the SB, and drops what a
        // stream decompressed when plain bytes follow its end in the same read). A
        // transport that waits a moment for a refusal never sends it a stream.
        state.start_deferred = !state.output;
    } else if enabled {
        start_output(state, link, emit, option);
    } else {
        state.start_deferred = false;
        end_output(state, link, emit, option);
    }
}

/// Start the stream whose start [`changed`] deferred, if the option is still on:
/// `IAC SB MCCP3 IAC SE` at the end of the queue, and what is queued after it is
/// compressed. Returns whether it started.
pub(crate) fn start_deferred(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl Emit<Event>,
) -> bool {
    if !std::mem::take(&mut state.start_deferred) {
        return false;
    }
    let (option, side) = outgoing(link.role);
    if state.output || state.compression(config) == Some(false) || !link.enabled(option, side) {
        return false;
    }
    start_output(state, link, emit, option);
    true
}

/// Our own request on `option`'s `side`: asking to stop (WONT MCCP2 from a server, DONT
/// MCCP3 from a client) ends our stream at once, after the request, since the peer
/// expects nothing compressed once it reads it.
pub(crate) fn requested(
    state: &mut State,
    link: &mut Link,
    option: TelnetOption,
    side: Side,
    enable: bool,
) {
    if !enable && (option, side) == outgoing(link.role) {
        finish(state, link);
    }
}

/// Queue `IAC SB <option> IAC SE`; everything after it goes compressed (MCCP2: "If the
/// server receives IAC DO MCCP2 it should respond with: IAC SB MCCP2 IAC SE and
/// immediately afterwards start compressing data"; MCCP3 likewise for the client).
fn start_output(
    state: &mut State,
    link: &mut Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
) {
    state.suspended = false;
    if state.output {
        return;
    }
    link.send_subnegotiation(option, &[]);
    switch(state, link, true);
    emit.emit(Event::Started {
        option,
        direction: Direction::Outgoing,
    });
}

/// End our stream after what is queued now (an orderly stream end, `Z_FINISH`).
fn end_output(
    state: &mut State,
    link: &mut Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
) {
    // Off for good: a suspended stream is not started again either.
    state.suspended = false;
    if !state.output {
        return;
    }
    switch(state, link, false);
    emit.emit(Event::Ended {
        option,
        direction: Direction::Outgoing,
    });
}

/// Record a switch at the end of the queue.
fn switch(state: &mut State, link: &mut Link, compress: bool) {
    let offset = link.output.len();
    // An Abort Output discards queued data; what is before a switch must stay where it
    // is, or the offset would point elsewhere. Only frames are that old: the SB itself.
    link.frames_only = link.frames_only.max(offset);
    state.switches.push(CompressionSwitch { offset, compress });
    state.output = compress;
}

/// The application ends our stream without renegotiating (MCCP2: "The server may
/// terminate compression at any point by sending an orderly stream end").
pub(crate) fn finish(state: &mut State, link: &mut Link) -> bool {
    state.suspended = false;
    state.start_deferred = false;
    if !state.output {
        return false;
    }
    switch(state, link, false);
    true
}

/// End our stream after what is queued now, and start a new one before the next output
/// ([`resume`]), so that an idle connection need not keep a compressor. MCCP2 allows both
/// halves: "The server may terminate compression at any point by sending an orderly
/// stream end", after which "the connection continues as a normal telnet connection",
/// and a server starts compressing by sending `IAC SB MCCP2 IAC SE` (the option is still
/// agreed, so no new negotiation is needed; a client expects a new stream after it, as
/// it did after the first). Returns whether a stream was running.
pub(crate) fn suspend(state: &mut State, link: &mut Link) -> bool {
    let (option, side) = outgoing(link.role);
    if !state.output || !link.enabled(option, side) {
        return false;
    }
    switch(state, link, false);
    state.suspended = true;
    true
}

/// The length of `IAC SB <option> IAC SE`.
pub(crate) const START_LEN: usize = 5;

/// Start our stream again, after a [`suspend`], if output is queued after its end:
/// `IAC SB <option> IAC SE` goes in front of that output, and the stream starts right
/// after it (MCCP2: "IAC SB MCCP2 IAC SE and immediately afterwards start compressing
/// data"). What was queued while suspended is all compressed. Returns where in the
/// queue the start was put, if it was.
pub(crate) fn resume(state: &mut State, config: &Config, link: &mut Link) -> Option<usize> {
    let (option, side) = outgoing(link.role);
    // The end that suspended the stream, if the queue was not handed over since (then
    // the queue starts plain): nothing else switches while the option stays on and we
    // do not compress, so it is the last switch.
    let at = state.switches.last().map_or(0, |end| end.offset);
    if !state.suspended || link.output.len() <= at {
        return None;
    }
    state.suspended = false;
    if state.output || state.compression(config) == Some(false) || !link.enabled(option, side) {
        return None;
    }
    link.output
        .splice(at..at, [0xff, 0xfa, option.code(), 0xff, 0xf0]);
    state.switches.push(CompressionSwitch {
        offset: at + START_LEN,
        compress: true,
    });
    link.urgent = link.urgent.map(|urgent| {
        if urgent >= at {
            urgent + START_LEN
        } else {
            urgent
        }
    });
    // The start is a frame: an Abort Output keeps it (the end's switch already kept
    // everything before `at`).
    link.frames_only = link.frames_only.max(at) + START_LEN;
    state.output = true;
    Some(at)
}

/// The transport found the end of the peer's stream: input is plain again.
pub(crate) fn input_ended(state: &mut State) {
    state.input = false;
}

/// The peer's stream could not be decompressed. Returns the request that asks the peer
/// to stop, if the option is still on: MCCP2's client sends `IAC DONT MCCP2` ("the
/// client can stop decompressing and send IAC DONT MCCP2"), MCCP3's server
/// `IAC WONT MCCP3`.
pub(crate) fn input_failed(state: &mut State, link: &Link) -> Option<(TelnetOption, Side)> {
    state.input = false;
    let (option, side) = incoming(link.role);
    link.enabled(option, side).then_some((option, side))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::{transmit, Log};
    use crate::{Policy, ServerPlan, Session, SessionConfig};

    const IAC: u8 = 0xff;
    const WILL: u8 = 0xfb;
    const WONT: u8 = 0xfc;
    const DO: u8 = 0xfd;
    const DONT: u8 = 0xfe;
    const SB: u8 = 0xfa;
    const SE: u8 = 0xf0;
    const MCCP2: u8 = 86;
    const MCCP3: u8 = 87;

    fn session(role: Role, compression: Option<bool>) -> Session {
        let policy = match role {
            Role::Server => Policy::server(),
            Role::Client => Policy::client(),
        };
        let mut config = SessionConfig::with_policy(policy);
        config.mccp = Config::new(compression);
        Session::new(role, config)
    }

    fn switch(offset: usize, compress: bool) -> CompressionSwitch {
        CompressionSwitch { offset, compress }
    }

    /// The server's opening up to step 2 (the client agreed to TTYPE), as bytes.
    fn opening(compression: Option<bool>) -> Vec<u8> {
        let mut server = session(Role::Server, compression);
        server.start_server_negotiation(ServerPlan::default());
        let mut wire = transmit(&mut server);
        server.receive(&[IAC, WILL, 24], &mut Log::default());
        wire.extend(transmit(&mut server));
        wire
    }

    #[test]
    fn a_server_with_compression_offers_mccp2_then_mccp3_in_its_opening() {
        let plain = opening(None);
        // telnetlib3's `begin_advanced_negotiation`: after DO CHARSET, WILL MCCP2 and
        // WILL MCCP3 (only with compression=True).
        let mut expected = plain.clone();
        let at = expected
            .windows(3)
            .position(|w| w == [IAC, DO, 42])
            .expect("DO CHARSET")
            + 3;
        expected.splice(at..at, [IAC, WILL, MCCP2, IAC, WILL, MCCP3]);
        assert_eq!(opening(Some(true)), expected);
        // Passive and refusing servers send what they always sent.
        assert_eq!(opening(Some(false)), plain);
        assert_eq!(
            plain,
            [
                &[IAC, DO, 24][..],
                &[IAC, SB, 24, 1, IAC, SE],
                &[IAC, WILL, 3, IAC, WILL, 0, IAC, DO, 31, IAC, DO, 42],
            ]
            .concat()
        );
    }

    #[test]
    fn a_server_starts_compressing_right_after_its_sb_on_do_mccp2() {
        for compression in [None, Some(true)] {
            let mut server = session(Role::Server, compression);
            let mut log = Log::default();
            server.receive(&[IAC, DO, MCCP2], &mut log);
            assert_eq!(server.output_len(), 8);
            assert_eq!(server.compression_switches(), [switch(8, true)]);
            assert!(server.compressing() && !server.output_compressed());
            assert_eq!(
                transmit(&mut server),
                [IAC, WILL, MCCP2, IAC, SB, MCCP2, IAC, SE]
            );
            assert!(log.events.iter().any(|e| e.contains("Started")));
            // The next batch is compressed from its first byte, in the same stream.
            assert!(server.output_compressed());
            assert!(server.compression_switches().is_empty());
            server.send_data(b"hi");
            // DONT MCCP2: our WONT, then the stream ends (MCCP2: "The server in turn
            // should disable compression upon receiving IAC DONT MCCP2").
            server.receive(&[IAC, DONT, MCCP2], &mut log);
            assert_eq!(server.compression_switches(), [switch(5, false)]);
            assert_eq!(transmit(&mut server), [b'h', b'i', IAC, WONT, MCCP2]);
            assert!(!server.output_compressed() && !server.compressing());
        }
    }

    #[test]
    fn a_server_that_asked_starts_on_the_answer_and_a_refusing_one_refuses() {
        let mut server = session(Role::Server, Some(true));
        server.request_local(TelnetOption::Mccp2, true).unwrap();
        assert_eq!(transmit(&mut server), [IAC, WILL, MCCP2]);
        server.receive(&[IAC, DO, MCCP2], &mut Log::default());
        assert_eq!(server.compression_switches(), [switch(5, true)]);
        assert_eq!(transmit(&mut server), [IAC, SB, MCCP2, IAC, SE]);
        // Our own WONT ends the stream after it.
        server.request_local(TelnetOption::Mccp2, false).unwrap();
        assert_eq!(server.compression_switches(), [switch(3, false)]);

        let mut refusing = session(Role::Server, Some(false));
        refusing.receive(&[IAC, DO, MCCP2, IAC, DO, MCCP3], &mut Log::default());
        assert_eq!(
            transmit(&mut refusing),
            [IAC, WONT, MCCP2, IAC, WONT, MCCP3]
        );
        assert!(refusing.compression_switches().is_empty());
        // The session's own setting wins over the configuration (TLS).
        let mut tls = session(Role::Server, None);
        tls.set_compression(Some(false));
        tls.receive(&[IAC, DO, MCCP2], &mut Log::default());
        assert_eq!(transmit(&mut tls), [IAC, WONT, MCCP2]);
    }

    #[test]
    fn a_client_accepts_mccp2_and_starts_mccp3_after_its_do() {
        let mut client = session(Role::Client, None);
        let mut log = Log::default();
        client.receive(&[IAC, WILL, MCCP2, IAC, WILL, MCCP3], &mut log);
        // MCCP3: "The client should respond with ... IAC DO MCCP3 IAC SB MCCP3 IAC SE"
        // and compress everything after it. Our stream's start is deferred to when the
        // transport starts it; output goes plain until then.
        assert_eq!(transmit(&mut client), [IAC, DO, MCCP2, IAC, DO, MCCP3]);
        assert!(client.output_compression_deferred() && !client.compressing());
        client.send_data(b"x");
        assert!(client.start_deferred_output_compression(&mut log));
        assert!(!client.output_compression_deferred() && client.compressing());
        assert_eq!(client.compression_switches(), [switch(6, true)]);
        assert_eq!(transmit(&mut client), [b'x', IAC, SB, MCCP3, IAC, SE]);
        assert!(log.events.last().unwrap().contains("Outgoing"));
        assert!(!client.input_compressed());
        // The server asks to stop (WONT MCCP3): our DONT, then the end of our stream.
        client.send_data(b"x");
        client.receive(&[IAC, WONT, MCCP3], &mut log);
        assert_eq!(client.compression_switches(), [switch(4, false)]);
        assert_eq!(transmit(&mut client), [b'x', IAC, DONT, MCCP3]);

        // Refused before it started (telnetlib3's server answers DO MCCP3 with WONT):
        // no stream at all.
        let mut client = session(Role::Client, None);
        client.receive(&[IAC, WILL, MCCP3], &mut log);
        client.receive(&[IAC, WONT, MCCP3], &mut log);
        client.send_data(b"x");
        assert!(!client.output_compression_deferred());
        assert!(!client.start_deferred_output_compression(&mut log));
        assert!(client.compression_switches().is_empty());
        assert_eq!(
            transmit(&mut client),
            [IAC, DO, MCCP3, IAC, DONT, MCCP3, b'x']
        );

        let mut refusing = session(Role::Client, Some(false));
        refusing.receive(&[IAC, WILL, MCCP2, IAC, WILL, MCCP3], &mut Log::default());
        assert_eq!(
            transmit(&mut refusing),
            [IAC, DONT, MCCP2, IAC, DONT, MCCP3]
        );
        // A client never performs MCCP itself: DO MCCP2 to a client is refused.
        let mut client = session(Role::Client, Some(true));
        client.receive(&[IAC, DO, MCCP2], &mut Log::default());
        assert_eq!(transmit(&mut client), [IAC, WONT, MCCP2]);
    }

    #[test]
    fn the_client_stops_parsing_right_after_the_se_that_starts_mccp2() {
        let mut client = session(Role::Client, None);
        let mut log = Log::default();
        client.receive(&[IAC, WILL, MCCP2], &mut log);
        let _ = transmit(&mut client);
        // One read: plain text, the start, then zlib bytes (which could hold anything,
        // IAC included).
        let mut input = b"plain".to_vec();
        input.extend([IAC, SB, MCCP2, IAC, SE]);
        let start = input.len();
        input.extend([0x78, 0xda, IAC, IAC, 0x01]);
        let used = client.receive_until_output(&input, &mut log, usize::MAX);
        assert_eq!(used, start);
        assert!(client.input_compressed());
        assert_eq!(log.data, b"plain");
        assert!(log.events.last().unwrap().contains("Incoming"));
        // The decompressed stream is parsed as usual, without stopping.
        let used = client.receive_until_output(b"a\xff\xf1b\xff\xf1c", &mut log, usize::MAX);
        assert_eq!(used, 7);
        assert_eq!(log.data, b"plainabc");
        // A second start within the stream is refused.
        let used = client.receive_until_output(&[IAC, SB, MCCP2, IAC, SE, b'd'], &mut log, 99);
        assert_eq!(used, 6);
        assert!(log.events.last().unwrap().contains("NotAllowed"));
        // The stream ended: plain again, and a new start pauses again.
        client.handle_input_compression_end();
        assert!(!client.input_compressed());
        let used = client.receive_until_output(&[IAC, SB, MCCP2, IAC, SE, b'e'], &mut log, 99);
        assert_eq!(used, 5);
        assert!(client.input_compressed());
        // Corrupt: the client asks the server to stop ("send IAC DONT MCCP2").
        client.handle_input_compression_error();
        assert!(!client.input_compressed());
        assert_eq!(transmit(&mut client), [IAC, DONT, MCCP2]);
    }

    #[test]
    fn the_server_stops_parsing_right_after_the_se_that_starts_mccp3() {
        let mut server = session(Role::Server, Some(true));
        let mut log = Log::default();
        let input = [IAC, DO, MCCP3, IAC, SB, MCCP3, IAC, SE, 0x78, 0x01];
        assert_eq!(server.receive_until_output(&input, &mut log, usize::MAX), 8);
        assert!(server.input_compressed());
        // MCCP3 compresses the client's output, not ours.
        assert!(!server.compressing());
        server.handle_input_compression_error();
        let wire = transmit(&mut server);
        assert!(wire.ends_with(&[IAC, WONT, MCCP3]), "{wire:?}");
    }

    #[test]
    fn a_start_that_was_not_agreed_is_refused_and_does_not_stop_the_parser() {
        let mut client = session(Role::Client, None);
        let mut log = Log::default();
        let input = [IAC, SB, MCCP2, IAC, SE, b'x'];
        assert_eq!(client.receive_until_output(&input, &mut log, 99), 6);
        assert!(!client.input_compressed());
        assert_eq!(log.data, b"x");
        // MCCP3's SB is the client's to send, never to receive.
        client.receive(&[IAC, WILL, MCCP3], &mut log);
        let input = [IAC, SB, MCCP3, IAC, SE, b'y'];
        assert_eq!(client.receive_until_output(&input, &mut log, 99), 6);
        assert!(!client.input_compressed());
        // Payload bytes are not MCCP2's.
        client.receive(&[IAC, WILL, MCCP2], &mut log);
        let input = [IAC, SB, MCCP2, 1, IAC, SE, b'z'];
        assert_eq!(client.receive_until_output(&input, &mut log, 99), 7);
        assert!(log.events.last().unwrap().contains("TooLong"));
    }

    #[test]
    fn a_suspended_stream_starts_again_before_the_next_output() {
        let mut server = session(Role::Server, None);
        let mut log = Log::default();
        server.receive(&[IAC, DO, MCCP2], &mut log);
        let _ = transmit(&mut server);
        server.send_data(b"a");
        // Idle: the stream ends after what is queued; nothing restarts without output.
        assert!(server.suspend_output_compression());
        assert!(!server.suspend_output_compression());
        assert_eq!(server.compression_switches(), [switch(1, false)]);
        assert!(!server.resume_output_compression());
        assert_eq!(transmit(&mut server), b"a");
        assert!(!server.output_compressed() && server.output_compression_suspended());
        assert!(!server.output_compressed() && server.output_compression_suspended());
        assert!(!server.resume_output_compression());
        // Output while suspended: the start goes in front of it, then a new stream.
        server.send_data(b"b");
        server.receive(&[IAC, 0xf1], &mut log); // a NOP queues nothing
        assert!(server.resume_output_compression());
        assert!(server.compressing() && !server.output_compression_suspended());
        assert_eq!(server.compression_switches(), [switch(5, true)]);
        assert_eq!(transmit(&mut server), [IAC, SB, MCCP2, IAC, SE, b'b']);
        assert!(server.output_compressed());
        // Suspended and output queued before the end was handed over: the end, the
        // start, then the output, in that order.
        assert!(server.suspend_output_compression());
        server.send_data(b"c");
        assert!(server.resume_output_compression());
        assert_eq!(
            server.compression_switches(),
            [switch(0, false), switch(5, true)]
        );
        assert_eq!(transmit(&mut server), [IAC, SB, MCCP2, IAC, SE, b'c']);
        // Output before the end stays in the old stream, output after it goes in the
        // new one.
        server.send_data(b"d");
        assert!(server.suspend_output_compression());
        server.send_data(b"e");
        assert!(server.resume_output_compression());
        assert_eq!(
            server.compression_switches(),
            [switch(1, false), switch(6, true)]
        );
        assert_eq!(transmit(&mut server), [b'd', IAC, SB, MCCP2, IAC, SE, b'e']);
        // DONT MCCP2 while suspended: off for good, no start with the next output.
        assert!(server.suspend_output_compression());
        let _ = transmit(&mut server);
        server.receive(&[IAC, DONT, MCCP2], &mut log);
        assert!(!server.output_compression_suspended());
        assert!(!server.resume_output_compression());
        assert_eq!(transmit(&mut server), [IAC, WONT, MCCP2]);
        // Nothing to suspend on a session that does not compress.
        let mut plain = session(Role::Server, None);
        assert!(!plain.suspend_output_compression());
    }

    #[test]
    fn abort_output_keeps_the_start_of_the_stream_where_it_was() {
        let mut server = session(Role::Server, None);
        server.send_data(b"before");
        server.receive(&[IAC, DO, MCCP2], &mut Log::default());
        server.send_data(b"after");
        server.receive(&[IAC, 0xf5], &mut Log::default()); // IAC AO
                                                           // The data after the start is gone; the start's offset still points after SB.
        assert_eq!(server.compression_switches(), [switch(14, true)]);
        let wire = transmit(&mut server);
        assert_eq!(&wire[..14], b"before\xff\xfb\x56\xff\xfa\x56\xff\xf0");
        assert_eq!(&wire[14..], [IAC, 0xf2]); // the Synch's IAC DM
    }
}
