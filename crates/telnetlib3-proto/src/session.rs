//! The Telnet session: parser, encoder and option negotiation tied together.

use std::sync::Arc;

use crate::command::{Command, Verb};
use crate::config::{Policy, SessionConfig};
use crate::encoder::{write_command, Encoder};
use crate::event::{Event, Sink};
use crate::link::{Link, Role, Side};
use crate::negotiation::PlanState;
use crate::option::TelnetOption;
use crate::parser::{Handler, Parser, ProtocolError};
use crate::qmethod::{OptionState, QState, RequestError};
use routing::Core;

/// A Telnet connection's protocol state, without I/O.
///
/// The session never touches a socket or a clock. Its methods fall in five groups, as
/// quinn-proto's do:
///
/// - getters taking `&self` ([`Session::local_enabled`], [`Session::option_state`], ...);
/// - [`Session::receive`], which takes bytes from the peer and reports data and events to
///   a [`Sink`] in stream order, queueing any replies;
/// - time inputs named `handle_*` ([`Session::handle_negotiation_timeout`]): the caller
///   runs the timers and says when one fires;
/// - mutators for the application's own requests ([`Session::send_data`],
///   [`Session::request_local`], ...), which queue bytes;
/// - [`Session::poll_transmit`], which hands over the queued bytes for the socket.
///
/// ```
/// use telnetlib3_proto::{SessionConfig, Event, Policy, Role, Session, Sink, TelnetOption};
///
/// struct Print(Vec<String>);
/// impl Sink for Print {
///     fn data(&mut self, data: &[u8]) {
///         self.0.push(String::from_utf8_lossy(data).into_owned());
///     }
///     fn event(&mut self, event: Event<'_>) {
///         self.0.push(format!("{event:?}"));
///     }
/// }
///
/// let policy = Policy::new().allow_local(TelnetOption::Sga);
/// let mut session = Session::new(Role::Server, SessionConfig::with_policy(policy));
/// let mut sink = Print(Vec::new());
///
/// session.receive(b"\xff\xfd\x03hello", &mut sink); // DO SGA, then data
/// let mut wire = Vec::new();
/// session.poll_transmit(&mut wire);
/// assert_eq!(wire, b"\xff\xfb\x03");                // WILL SGA
/// assert!(session.local_enabled(TelnetOption::Sga));
/// assert_eq!(sink.0.last().unwrap(), "hello");
/// ```
#[derive(Clone, Debug)]
pub struct Session {
    parser: Parser,
    pub(crate) core: Core,
    pub(crate) plan: PlanState,
}

impl Session {
    /// A new session at the start of a connection.
    ///
    /// Pass an `Arc<SessionConfig>` to share one configuration between many sessions (a
    /// server's connections): an idle session then costs no copy of its lists.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use telnetlib3_proto::{Policy, Role, Session, SessionConfig, TelnetOption};
    ///
    /// let config = Arc::new(SessionConfig::with_policy(Policy::server()));
    /// let mut first = Session::new(Role::Server, Arc::clone(&config));
    /// let _second = Session::new(Role::Server, config);
    ///
    /// first.request_local(TelnetOption::Echo, true).unwrap();
    /// let mut wire = Vec::new();
    /// first.poll_transmit(&mut wire);
    /// assert_eq!(wire, b"\xff\xfb\x01"); // IAC WILL ECHO
    /// ```
    #[must_use]
    pub fn new(role: Role, config: impl Into<Arc<SessionConfig>>) -> Self {
        let config = config.into();
        Self {
            parser: Parser::with_max_subnegotiation(config.max_subnegotiation),
            core: Core::new(role, config),
            plan: PlanState::default(),
        }
    }

    /// Which end of the connection this is.
    #[must_use]
    pub const fn role(&self) -> Role {
        self.core.link.role
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.core.config
    }

    /// Change which options we agree to from now on (options already enabled stay).
    pub fn policy_mut(&mut self) -> &mut Policy {
        &mut self.core.config_mut().policy
    }

    /// Both sides of an option's negotiation state.
    #[must_use]
    pub fn option_state(&self, option: TelnetOption) -> OptionState {
        self.core.link.options.get(option)
    }

    /// Whether we perform `option`.
    #[must_use]
    pub fn local_enabled(&self, option: TelnetOption) -> bool {
        self.option_state(option).us.is_enabled()
    }

    /// Whether the peer performs `option`.
    #[must_use]
    pub fn remote_enabled(&self, option: TelnetOption) -> bool {
        self.option_state(option).him.is_enabled()
    }

    /// Whether any request of ours awaits its answer.
    #[must_use]
    pub fn negotiation_pending(&self) -> bool {
        self.core
            .link
            .options
            .iter()
            .any(|state| state.us.is_pending() || state.him.is_pending())
    }

    /// Every option enabled on `side`, in code order.
    pub fn enabled_options(&self, side: Side) -> impl Iterator<Item = TelnetOption> + '_ {
        // The table is in code order and holds every option not NO/NO.
        self.core
            .link
            .options
            .entries
            .iter()
            .filter(move |(_, state)| match side {
                Side::Local => state.us.is_enabled(),
                Side::Remote => state.him.is_enabled(),
            })
            .map(|&(code, _)| TelnetOption::from(code))
    }

    /// The options in force, in telnetlib3's writer format: `server-will:A,B client-will:C`
    /// from the server's point of view (`client-will:... server-will:...` from the
    /// client's), names sorted, each part left out when empty.
    ///
    /// ```
    /// use telnetlib3_proto::{SessionConfig, Policy, Role, Session, Sink, Event};
    /// # struct Null; impl Sink for Null { fn data(&mut self, _: &[u8]) {} fn event(&mut self, _: Event<'_>) {} }
    /// let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
    /// server.receive(b"\xff\xfd\x01\xff\xfd\x03\xff\xfb\x1f", &mut Null);
    /// assert_eq!(server.options_summary(), "server-will:ECHO,SGA client-will:NAWS");
    /// ```
    #[must_use]
    pub fn options_summary(&self) -> String {
        let (us, them) = match self.role() {
            Role::Server => ("server", "client"),
            Role::Client => ("client", "server"),
        };
        let mut parts = Vec::new();
        for (who, side) in [(us, Side::Local), (them, Side::Remote)] {
            let mut names: Vec<String> =
                self.enabled_options(side).map(|o| o.to_string()).collect();
            if !names.is_empty() {
                names.sort();
                parts.push(format!("{who}-will:{}", names.join(",")));
            }
        }
        parts.join(" ")
    }

    /// Process bytes from the peer: data and events go to `sink` in stream order, and
    /// replies are queued for [`Session::poll_transmit`].
    pub fn receive<S: Sink>(&mut self, input: &[u8], sink: &mut S) {
        self.receive_until_output(input, sink, usize::MAX);
    }

    /// [`Session::receive`] that stops taking input once the output queued for
    /// [`Session::poll_transmit`] has reached `output_limit` bytes, so that a peer that
    /// floods requests and never reads cannot grow the queue without bound. Returns how
    /// many bytes of `input` were consumed; pass the rest again once the output has
    /// drained. Input is only ever cut between commands, and no reply is dropped: the
    /// queue can exceed `output_limit` by at most the replies to one command: for the
    /// peer's requests at most twice the subnegotiation cap plus 1 KiB (the `unread` fuzz
    /// target asserts it), plus what our own configuration puts in a reply.
    ///
    /// ```
    /// use telnetlib3_proto::{SessionConfig, Event, Policy, Role, Session, Sink};
    /// # struct Null; impl Sink for Null { fn data(&mut self, _: &[u8]) {} fn event(&mut self, _: Event<'_>) {} }
    /// let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
    /// let flood = b"\xff\xfd\xc7".repeat(1000); // DO 199: each refused with WONT 199
    /// let used = server.receive_until_output(&flood, &mut Null, 30);
    /// assert_eq!(used, 30);                     // ten requests taken ...
    /// assert_eq!(server.output_len(), 30);      // ... ten answers queued
    /// ```
    pub fn receive_until_output<S: Sink>(
        &mut self,
        input: &[u8],
        sink: &mut S,
        output_limit: usize,
    ) -> usize {
        // The peer's compressed stream started in an earlier call: the caller has taken
        // it into account by now, and this input is the stream's content (or the plain
        // bytes after its end).
        self.core.families.mccp.pause = false;
        let mut dispatch = Dispatch {
            core: &mut self.core,
            sink,
            output_limit,
        };
        let used = self.parser.advance(&mut dispatch, input);
        self.advance_plan();
        self.core.link.log_sent();
        used
    }

    /// The transport says the peer sent urgent data that we have not read yet: a Synch
    /// (RFC 854, "The Synch Signal": the peer sends `IAC DM` with the DM as TCP urgent
    /// data). Until that `IAC DM` arrives, data from the peer is discarded and commands
    /// are still processed, as RFC 854 asks; [`Event::Command`] reports the DM.
    ///
    /// ```
    /// use telnetlib3_proto::{Command, SessionConfig, Event, Role, Session, Sink};
    /// #[derive(Default)]
    /// struct Log(Vec<u8>, Vec<String>);
    /// impl Sink for Log {
    ///     fn data(&mut self, data: &[u8]) { self.0.extend_from_slice(data) }
    ///     fn event(&mut self, event: Event<'_>) { self.1.push(format!("{event:?}")) }
    /// }
    /// let mut server = Session::new(Role::Server, SessionConfig::default());
    /// let mut log = Log::default();
    /// server.handle_urgent_data();
    /// server.receive(b"type-ahead\xff\xf4 more\xff\xf2after", &mut log); // ... IP ... DM
    /// assert_eq!(log.0, b"after");
    /// assert_eq!(log.1, ["Command(Ip)", "Command(Dm)"]);
    /// ```
    pub fn handle_urgent_data(&mut self) {
        self.core.link.synch = true;
    }

    /// Queue application data, escaped for the wire (IAC doubled; NVT end-of-line
    /// outside BINARY unless translation is off).
    pub fn send_data(&mut self, data: &[u8]) {
        let nvt = self.core.nvt_output();
        self.core
            .link
            .encoder
            .encode(data, nvt, &mut self.core.link.output);
    }

    /// Queue a two-byte command (`IAC GA`, `IAC AYT`, ...).
    pub fn send_command(&mut self, command: Command) {
        self.core.link.before_frame();
        write_command(&mut self.core.link.output, command);
    }

    /// Queue a Synch (RFC 854, "The TELNET 'Synch' Signal"; BSD telnet's `send synch`):
    /// `IAC DM`, with the DM to be sent as TCP urgent data ([`Session::urgent_offset`]),
    /// so that the peer discards the data before it and keeps the commands. A Synch
    /// already waiting to be handed over covers this one too.
    pub fn send_synch(&mut self) {
        if self.core.link.urgent.is_some() {
            return;
        }
        self.core.link.before_frame();
        write_command(&mut self.core.link.output, Command::Dm);
        self.core.link.urgent = Some(self.core.link.output.len() - 1);
    }

    /// Where, among the bytes the next [`Session::poll_transmit`] hands over, the DM of a
    /// Synch we queued is: the transport should send that byte as TCP urgent data (RFC
    /// 854, "The TELNET 'Synch' Signal"), after the bytes before it. `None` when no Synch
    /// waits. A session queues a Synch when it answers the peer's `IAC AO`, and on
    /// [`Session::send_synch`].
    #[must_use]
    pub fn urgent_offset(&self) -> Option<usize> {
        self.core.link.urgent
    }

    /// Queue `IAC SB <option> <payload> IAC SE`, escaping IAC in the payload.
    ///
    /// For options this crate speaks, prefer the option's own methods, which also keep
    /// the session's state.
    pub fn send_subnegotiation(&mut self, option: TelnetOption, payload: &[u8]) {
        self.core.link.send_subnegotiation(option, payload);
    }

    /// Ask to perform `option` ourselves (WILL), following RFC 1143.
    ///
    /// # Errors
    ///
    /// When RFC 1143 says the request is an error (already enabled, already asked, ...);
    /// nothing is sent then.
    pub fn request_local(
        &mut self,
        option: TelnetOption,
        enable: bool,
    ) -> Result<(), RequestError> {
        self.core.link.request(Side::Local, option, enable)?;
        routing::requested(&mut self.core, option, Side::Local, enable);
        Ok(())
    }

    /// Ask the peer to perform `option` (DO) or to stop (DONT), following RFC 1143.
    ///
    /// # Errors
    ///
    /// When RFC 1143 says the request is an error (already enabled, already asked, ...);
    /// nothing is sent then.
    pub fn request_remote(
        &mut self,
        option: TelnetOption,
        enable: bool,
    ) -> Result<(), RequestError> {
        self.core.link.request(Side::Remote, option, enable)?;
        routing::requested(&mut self.core, option, Side::Remote, enable);
        Ok(())
    }

    /// Whether the peer has ever asked to enable `option` on `side` (sent DO for our
    /// side, WILL for its own), whatever we answered. A fingerprinting server tells the
    /// offers it refused from this, as telnetlib3's records `rejected_will`/`rejected_do`.
    ///
    /// ```
    /// use telnetlib3_proto::{Event, Policy, Role, Session, SessionConfig, Side, Sink, TelnetOption};
    /// # struct Null; impl Sink for Null { fn data(&mut self, _: &[u8]) {} fn event(&mut self, _: Event<'_>) {} }
    /// let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
    /// server.receive(b"\xff\xfd\x2f", &mut Null); // DO KERMIT: refused with WONT
    /// assert!(server.peer_asked(Side::Local, TelnetOption::from(47)));
    /// assert!(!server.peer_asked(Side::Remote, TelnetOption::from(47)));
    /// ```
    #[must_use]
    pub fn peer_asked(&self, side: Side, option: TelnetOption) -> bool {
        self.core.link.peer_asked[side_index(side)].contains(option)
    }

    /// Whether the peer has sent any negotiation for `option` on `side` (DO or DONT for
    /// our side, WILL or WONT for its own) since [`Session::clear_peer_negotiated`], even
    /// one RFC 1143 ignores (a WILL for an option already enabled).
    #[must_use]
    pub fn peer_negotiated(&self, side: Side, option: TelnetOption) -> bool {
        self.core.link.peer_negotiated[side_index(side)].contains(option)
    }

    /// Forget which options the peer has negotiated (see [`Session::peer_negotiated`]).
    pub fn clear_peer_negotiated(&mut self) {
        self.core.link.peer_negotiated = Default::default();
    }

    /// Send a request for `option` on `side` (WILL for ours, DO for the peer's) as bytes
    /// only: its state stays as it is, and an answer is handled by that state. RFC 1143
    /// forbids repeating a request for an option already enabled, and a peer that follows
    /// it stays silent; a peer that answers again would loop against a naive
    /// implementation. telnetlib3's fingerprint server probes for that
    /// (`probe_client_loop_detection`), with [`Session::peer_negotiated`] to see answers.
    pub fn repeat_request(&mut self, side: Side, option: TelnetOption) {
        let verb = match side {
            Side::Local => Verb::Will,
            Side::Remote => Verb::Do,
        };
        self.core.link.send_negotiation(verb, option);
    }

    /// How many bytes wait for [`Session::poll_transmit`] (for back-pressure).
    #[must_use]
    pub fn output_len(&self) -> usize {
        self.core.link.output.len()
    }

    /// Whether bytes wait for [`Session::poll_transmit`].
    #[must_use]
    pub fn has_output(&self) -> bool {
        !self.core.link.output.is_empty()
    }

    /// Move every queued byte to the end of `out`. Returns how many were moved.
    #[must_use = "the bytes must be written to the peer"]
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        self.core.link.log_sent();
        self.core.link.logged = 0;
        self.core.link.frames_only = 0;
        self.core.link.cr_handed_over = self.core.link.encoder.owes_line_end();
        self.core.link.urgent = None;
        let queued = self.core.link.output.len();
        self.core.families.timing_mark.transmitted();
        self.core.families.mccp.transmitted();
        if out.is_empty() {
            // Hand over the buffer itself: no copy on the common path.
            std::mem::swap(out, &mut self.core.link.output);
        } else {
            out.append(&mut self.core.link.output);
        }
        queued
    }
}

/// The queue's bookkeeping that only the session does: logging and Abort Output.
impl Link {
    /// Log the frames queued since the last call (at debug level; nothing is formatted
    /// when that level is off).
    fn log_sent(&mut self) {
        if self.logged < self.output.len() && wire_log::enabled() {
            wire_log::sent(&self.output[self.logged..]);
        }
        self.logged = self.output.len();
    }

    /// The peer sent `IAC AO` (RFC 854, "Abort Output"): discard the data queued for it
    /// and not yet handed over (negotiation and other commands stay: the peer's requests
    /// must still be answered, as BSD telnetd's `netclear` keeps them), then queue a
    /// Synch, `IAC DM` with the DM to be sent urgent, so that the peer's own discarding
    /// of what is already in flight stops at the right place.
    fn abort_output(&mut self) {
        self.log_sent();
        // A CR ending the data is owed its NUL or LF (RFC 854). Still queued, it goes with
        // the data; already handed over, the peer must get its NUL or LF before the DM:
        // the first byte queued since, or a NUL now. (A pending CR is always the last byte
        // queued: every frame flushes it first.)
        let mut scan_from = self.frames_only;
        if self.encoder.owes_line_end() && self.output.last() == Some(&b'\r') {
            self.encoder = Encoder::new();
        } else if self.cr_handed_over && scan_from == 0 {
            self.before_frame();
            scan_from = 1;
        }
        // What an earlier AO left is frames only: scan only what came after it, so that
        // a flood of AO costs linear time.
        let kept = Encoder::discard_data_after(&mut self.output, scan_from);
        self.logged = self.logged.min(kept);
        // One Synch covers every AO until it is handed over (RFC 1123 section 3.2.4: a
        // server MUST send a Synch on AO).
        if self.urgent.is_none() {
            write_command(&mut self.output, Command::Dm);
            self.urgent = Some(self.output.len() - 1);
        }
        self.frames_only = self.output.len();
    }
}

impl Core {
    /// The peer sent `IAC AYT`: queue our answer, as data (RFC 854).
    fn answer_ayt(&mut self) {
        let nvt = self.nvt_output();
        if let Some(answer) = &self.config.ayt_answer {
            self.link.encoder.encode(answer, nvt, &mut self.link.output);
        }
    }

    fn receive_negotiation<S: Sink>(&mut self, verb: Verb, option: TelnetOption, sink: &mut S) {
        let index = match verb {
            Verb::Do | Verb::Dont => 0,
            Verb::Will | Verb::Wont => 1,
        };
        self.link.peer_negotiated[index].set(option, true);
        if matches!(verb, Verb::Do | Verb::Will) {
            self.link.peer_asked[index].set(option, true);
        }
        if routing::special_negotiation(self, sink, verb, option) {
            return;
        }
        let policy = self.config.policy;
        let state = self.link.options.get(option);
        // A family may decide instead of the policy (MCCP follows its own setting).
        let accepts = |side| routing::accepts(self, side, option);
        let (side, transition) = match verb {
            Verb::Will => (
                Side::Remote,
                state.him.receive_enable(
                    accepts(Side::Remote).unwrap_or_else(|| policy.accepts_remote(option)),
                ),
            ),
            Verb::Wont => (Side::Remote, state.him.receive_disable()),
            Verb::Do => (
                Side::Local,
                state.us.receive_enable(
                    accepts(Side::Local).unwrap_or_else(|| policy.accepts_local(option)),
                ),
            ),
            Verb::Dont => (Side::Local, state.us.receive_disable()),
        };
        if transition.violation {
            sink.event(Event::NegotiationViolation { option, side });
        }
        let before = match side {
            Side::Local => state.us,
            Side::Remote => state.him,
        };
        // Our request to enable, refused: no change of state, but a family may have acted
        // on the request already (CHARSET's early REQUEST).
        let refused = matches!(before, QState::WantYes(_)) && transition.state == QState::No;
        if let Some(enabled) = self.link.apply(side, option, transition) {
            sink.event(Event::OptionChanged {
                option,
                side,
                enabled,
            });
            routing::changed(self, sink, option, side, enabled);
        } else if refused {
            routing::refused(self, option, side);
        }
    }
}

/// Where a side's options sit in [`Core`]'s per-side sets.
const fn side_index(side: Side) -> usize {
    match side {
        Side::Local => 0,
        Side::Remote => 1,
    }
}

/// Routes the parser's callbacks into the session core and the application's sink.
struct Dispatch<'a, S> {
    core: &'a mut Core,
    sink: &'a mut S,
    /// Input stops being taken once this much output is queued.
    output_limit: usize,
}

impl<S: Sink> Handler for Dispatch<'_, S> {
    fn data(&mut self, data: &[u8]) {
        self.core.families.timing_mark.peer_spoke();
        if self.core.link.synch {
            return;
        }
        self.sink.data(data);
        if self.core.families.linemode.snooping() {
            routing::snoop(self.core, self.sink, data);
        }
    }

    fn command(&mut self, command: Command) {
        self.core.families.timing_mark.peer_spoke();
        if wire_log::enabled() {
            wire_log::command("recv", command);
        }
        match command {
            // RFC 854: the DM marks the end of the Synch's discarding.
            Command::Dm => self.core.link.synch = false,
            Command::Ayt => self.core.answer_ayt(),
            // RFC 854 defines AO for the receiving "system", the server: a client's
            // output is what its user typed, not ours to drop.
            Command::Ao if self.core.link.role == Role::Server => self.core.link.abort_output(),
            _ => {}
        }
        self.sink.event(Event::Command(command));
        self.core.link.log_sent();
    }

    fn negotiation(&mut self, verb: Verb, option: TelnetOption) {
        if (verb, option) != (Verb::Do, TelnetOption::Tm) {
            self.core.families.timing_mark.peer_spoke();
        }
        if wire_log::enabled() {
            wire_log::negotiation("recv", verb, option);
        }
        self.core.receive_negotiation(verb, option, self.sink);
        self.core.link.log_sent();
    }

    fn subnegotiation(&mut self, option: TelnetOption, payload: &[u8]) {
        self.core.families.timing_mark.peer_spoke();
        if wire_log::enabled() {
            wire_log::subnegotiation("recv", option, payload);
        }
        routing::receive(self.core, self.sink, option, payload);
        self.core.link.log_sent();
    }

    fn protocol_error(&mut self, error: ProtocolError) {
        self.sink.event(Event::ProtocolError(error));
        if let ProtocolError::SubnegotiationTooLong {
            option, first_byte, ..
        } = error
        {
            routing::overflowed(self.core, self.sink, option, first_byte);
        }
    }

    fn paused(&self) -> bool {
        // MCCP: what follows the peer's `IAC SB MCCP2|MCCP3 IAC SE` is a zlib stream,
        // which only the caller can decompress: stop right after the SE.
        self.core.link.output.len() >= self.output_limit || self.core.families.mccp.pause
    }

    fn nvt_input(&self) -> bool {
        self.core.config.translate_eol
            && !self
                .core
                .link
                .options
                .get(TelnetOption::Binary)
                .him
                .is_enabled()
    }
}

mod accessors;
mod opening;
mod routing;
#[cfg(test)]
mod tests;
mod wire_log;
