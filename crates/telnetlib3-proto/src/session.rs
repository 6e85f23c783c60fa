//! The Telnet session: parser, encoder and option negotiation tied together.

use std::borrow::Cow;
use std::sync::Arc;

use crate::command::{Command, Verb};
use crate::encoder::{write_command, write_negotiation, Encoder};
use crate::negotiation::PlanState;
use crate::option::TelnetOption;
use crate::options::{self, Context, Families, SubnegotiationError};
use crate::parser::{Handler, Parser, ProtocolError, DEFAULT_MAX_SUBNEGOTIATION};
use crate::qmethod::{OptionState, QState, RequestError, SendVerb, Transition};

/// Which end of the connection a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that accepted the connection.
    Server,
    /// The end that opened the connection.
    Client,
}

/// Which side of an option: performed by us, or by the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// We perform the option (we sent WILL; telnetlib3's `local_option`).
    Local,
    /// The peer performs the option (he sent WILL; telnetlib3's `remote_option`).
    Remote,
}

impl Side {
    const fn verb(self, send: SendVerb) -> Verb {
        match (self, send) {
            (Self::Local, SendVerb::Enable) => Verb::Will,
            (Self::Local, SendVerb::Disable) => Verb::Wont,
            (Self::Remote, SendVerb::Enable) => Verb::Do,
            (Self::Remote, SendVerb::Disable) => Verb::Dont,
        }
    }
}

/// A set of option codes, one bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct OptionSet([u64; 4]);

impl OptionSet {
    const fn contains(&self, option: TelnetOption) -> bool {
        let code = option.code() as usize;
        self.0[code / 64] & (1 << (code % 64)) != 0
    }

    fn set(&mut self, option: TelnetOption, member: bool) {
        let code = option.code() as usize;
        let bit = 1 << (code % 64);
        if member {
            self.0[code / 64] |= bit;
        } else {
            self.0[code / 64] &= !bit;
        }
    }
}

/// Which options a session agrees to when the peer asks: everything else is refused.
///
/// ```
/// use telnetlib3_proto::{Policy, TelnetOption};
///
/// let policy = Policy::new()
///     .allow_local(TelnetOption::Echo)     // we answer DO ECHO with WILL ECHO
///     .allow_remote(TelnetOption::Naws);   // we answer WILL NAWS with DO NAWS
/// assert!(policy.accepts_local(TelnetOption::Echo));
/// assert!(!policy.accepts_remote(TelnetOption::Echo));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Policy {
    local: OptionSet,
    remote: OptionSet,
}

impl Policy {
    /// A policy that refuses every option.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            local: OptionSet([0; 4]),
            remote: OptionSet([0; 4]),
        }
    }

    /// Agree to perform `option` when the peer sends DO.
    #[must_use]
    pub fn allow_local(mut self, option: TelnetOption) -> Self {
        self.local.set(option, true);
        self
    }

    /// Agree to let the peer perform `option` when he sends WILL.
    #[must_use]
    pub fn allow_remote(mut self, option: TelnetOption) -> Self {
        self.remote.set(option, true);
        self
    }

    /// What telnetlib3 5.0.1's server agrees to (its `handle_do` / `handle_will`):
    /// it performs BINARY, ECHO, SGA, STATUS, TIMING-MARK, LOGOUT, EOR and CHARSET, and
    /// lets the client perform BINARY, SGA, STATUS, LOGOUT (to learn of it), TTYPE, EOR,
    /// NAWS, TSPEED, LFLOW, LINEMODE, XDISPLOC, NEW-ENVIRON, CHARSET and SNDLOC. A server
    /// never agrees to the client's ECHO, nor performs the client-side options.
    #[must_use]
    pub fn server() -> Self {
        use TelnetOption as O;
        let local = [
            O::Binary,
            O::Echo,
            O::Sga,
            O::Status,
            O::Tm,
            O::Logout,
            O::Eor,
            O::Charset,
        ];
        let remote = [
            O::Binary,
            O::Sga,
            O::Status,
            O::Ttype,
            O::Eor,
            O::Naws,
            O::Tspeed,
            O::Lflow,
            O::Linemode,
            O::Xdisploc,
            O::NewEnviron,
            O::Charset,
            O::Sndloc,
        ];
        Self::from_lists(&local, &remote)
    }

    /// What telnetlib3 5.0.1's client agrees to: it performs BINARY, SGA, STATUS,
    /// TIMING-MARK, TTYPE, EOR, NAWS, TSPEED, LFLOW, LINEMODE, XDISPLOC, NEW-ENVIRON and
    /// CHARSET, and lets the server perform BINARY, ECHO, SGA, STATUS, LOGOUT, EOR and
    /// CHARSET. It never performs ECHO (some servers hang on a client's WILL ECHO).
    #[must_use]
    pub fn client() -> Self {
        use TelnetOption as O;
        let local = [
            O::Binary,
            O::Sga,
            O::Status,
            O::Tm,
            O::Ttype,
            O::Eor,
            O::Naws,
            O::Tspeed,
            O::Lflow,
            O::Linemode,
            O::Xdisploc,
            O::NewEnviron,
            O::Charset,
        ];
        let remote = [
            O::Binary,
            O::Echo,
            O::Sga,
            O::Status,
            O::Logout,
            O::Eor,
            O::Charset,
        ];
        Self::from_lists(&local, &remote)
    }

    fn from_lists(local: &[TelnetOption], remote: &[TelnetOption]) -> Self {
        let mut policy = Self::new();
        for &option in local {
            policy.set_local(option, true);
        }
        for &option in remote {
            policy.set_remote(option, true);
        }
        policy
    }

    /// Change whether we agree to perform `option`.
    pub fn set_local(&mut self, option: TelnetOption, allowed: bool) {
        self.local.set(option, allowed);
    }

    /// Change whether we agree to let the peer perform `option`.
    pub fn set_remote(&mut self, option: TelnetOption, allowed: bool) {
        self.remote.set(option, allowed);
    }

    /// Whether we agree to perform `option`.
    #[must_use]
    pub const fn accepts_local(&self, option: TelnetOption) -> bool {
        self.local.contains(option)
    }

    /// Whether we agree to let the peer perform `option`.
    #[must_use]
    pub const fn accepts_remote(&self, option: TelnetOption) -> bool {
        self.remote.contains(option)
    }
}

/// How a [`Session`] behaves: the [`Policy`] of options agreed to, the NVT rules, and each
/// option family's settings.
///
/// The struct is `#[non_exhaustive]`: start from [`SessionConfig::with_policy`] or the
/// default and set fields.
///
/// ```
/// use telnetlib3_proto::{Policy, Role, Session, SessionConfig, TelnetOption};
///
/// let mut config = SessionConfig::with_policy(Policy::client().allow_local(TelnetOption::Naws));
/// config.ayt_answer = None; // a client does not answer AYT
/// config.max_subnegotiation = 1024;
/// let session = Session::new(Role::Client, config);
/// assert_eq!(session.config().max_subnegotiation, 1024);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Which options we agree to when asked.
    pub policy: Policy,
    /// Apply the NVT end-of-line rules (CR LF, CR NUL) to each direction that is not in
    /// BINARY mode. Turn off for peers that send raw bytes without negotiating BINARY.
    pub translate_eol: bool,
    /// Cap on one subnegotiation's payload; longer ones are discarded and reported.
    pub max_subnegotiation: usize,
    /// CHARSET (RFC 2066): what we offer and accept.
    pub charset: options::charset::Config,
    /// NEW-ENVIRON and ENVIRON (RFC 1572, 1408): what we ask for and answer.
    pub environ: options::environ::Config,
    /// LFLOW (RFC 1372).
    pub lflow: options::lflow::Config,
    /// LINEMODE (RFC 1184): mode and SLC table.
    pub linemode: options::linemode::Config,
    /// NAWS (RFC 1073): the window size a client reports.
    pub naws: options::naws::Config,
    /// SNDLOC (RFC 779): the location a client reports.
    pub sndloc: options::sndloc::Config,
    /// TSPEED (RFC 1079): the speeds a client reports.
    pub tspeed: options::tspeed::Config,
    /// TTYPE (RFC 1091): the terminal types a client reports, how a server asks.
    pub ttype: options::ttype::Config,
    /// XDISPLOC (RFC 1096): the display a client reports.
    pub xdisploc: options::xdisploc::Config,
    /// What we answer to the peer's `IAC AYT` ("Are You There", RFC 854: "some visible
    /// (e.g., printable) evidence that the system is still up and running"), sent as data;
    /// `None`: no answer. [`SessionConfig::DEFAULT_AYT_ANSWER`] by default, BSD and
    /// inetutils telnetd's.
    /// A client does not normally answer (BSD telnet does not): set `None` there.
    pub ayt_answer: Option<Cow<'static, [u8]>>,
}

impl SessionConfig {
    /// What BSD and inetutils telnetd answer to `IAC AYT`.
    pub const DEFAULT_AYT_ANSWER: &'static [u8] = b"\r\n[Yes]\r\n";

    /// The default configuration with `policy`.
    #[must_use]
    pub fn with_policy(policy: Policy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            policy: Policy::new(),
            translate_eol: true,
            max_subnegotiation: DEFAULT_MAX_SUBNEGOTIATION,
            charset: Default::default(),
            environ: Default::default(),
            lflow: Default::default(),
            linemode: Default::default(),
            naws: Default::default(),
            sndloc: Default::default(),
            tspeed: Default::default(),
            ttype: Default::default(),
            xdisploc: Default::default(),
            ayt_answer: Some(Cow::Borrowed(Self::DEFAULT_AYT_ANSWER)),
        }
    }
}

/// Something that happened on the connection, other than data.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A two-byte command from the peer (`IAC AYT`, `IAC GA`, ...).
    Command(Command),
    /// An option became enabled or disabled on one side.
    OptionChanged {
        /// The option.
        option: TelnetOption,
        /// Which side of it.
        side: Side,
        /// Its new state.
        enabled: bool,
    },
    /// A subnegotiation of an option this crate does not interpret, payload unescaped.
    Subnegotiation {
        /// The option.
        option: TelnetOption,
        /// The bytes between `IAC SB <option>` and `IAC SE`.
        payload: &'a [u8],
    },
    /// Malformed input the parser recovered from.
    ProtocolError(ProtocolError),
    /// The peer answered our DONT with WILL, or our WONT with DO (RFC 1143 section 7
    /// calls this an error; the state recovers as the RFC says, and nothing is sent).
    NegotiationViolation {
        /// The option.
        option: TelnetOption,
        /// Which side of it.
        side: Side,
    },
    /// A subnegotiation was malformed or not allowed now; it was ignored.
    BadSubnegotiation {
        /// The option.
        option: TelnetOption,
        /// What was wrong.
        error: SubnegotiationError,
    },

    /// CHARSET (RFC 2066).
    Charset(options::charset::Event<'a>),

    /// NEW-ENVIRON or ENVIRON (RFC 1572, 1408).
    Environ(options::environ::Event<'a>),

    /// LFLOW (RFC 1372).
    Lflow(options::lflow::Event),

    /// LINEMODE (RFC 1184), including SLC functions recognised in the data.
    Linemode(options::linemode::Event),

    /// LOGOUT (RFC 727).
    Logout(options::logout::Event),

    /// NAWS (RFC 1073).
    Naws(options::naws::Event),

    /// SNDLOC (RFC 779).
    Sndloc(options::sndloc::Event<'a>),

    /// STATUS (RFC 859).
    Status(options::status::Event<'a>),

    /// TIMING-MARK (RFC 860).
    TimingMark(options::timing_mark::Event),

    /// TSPEED (RFC 1079).
    Tspeed(options::tspeed::Event),

    /// TTYPE (RFC 1091).
    Ttype(options::ttype::Event<'a>),

    /// XDISPLOC (RFC 1096).
    Xdisploc(options::xdisploc::Event<'a>),
}

/// Receives a [`Session`]'s output toward the application, in stream order.
pub trait Sink {
    /// Application data from the peer.
    fn data(&mut self, data: &[u8]);
    /// Anything else that happened.
    fn event(&mut self, event: Event<'_>);
}

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

/// Every option's negotiation state. Only options that left the initial state (NO both
/// ways) have an entry: a session negotiates a dozen or so of the 256, and an idle
/// connection should not carry the rest (a short search beats 512 bytes per session).
#[derive(Clone, Debug, Default)]
pub(crate) struct OptionTable {
    /// Option codes with their state, in code order.
    entries: Vec<(u8, OptionState)>,
}

impl OptionTable {
    #[inline]
    pub(crate) fn get(&self, option: TelnetOption) -> OptionState {
        let code = option.code();
        self.entries
            .iter()
            .find(|(known, _)| *known == code)
            .map_or_else(OptionState::default, |&(_, state)| state)
    }

    pub(crate) fn get_mut(&mut self, option: TelnetOption) -> &mut OptionState {
        let code = option.code();
        let at = match self
            .entries
            .binary_search_by_key(&code, |&(known, _)| known)
        {
            Ok(at) => at,
            Err(at) => {
                // At most 256 entries, however hostile the peer.
                self.entries.insert(at, (code, OptionState::default()));
                at
            }
        };
        &mut self.entries[at].1
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &OptionState> {
        self.entries.iter().map(|(_, state)| state)
    }
}

/// Everything but the parser, so that the parser can call back into it.
#[derive(Clone, Debug)]
pub(crate) struct Core {
    pub(crate) role: Role,
    /// Shared between the sessions of a server; copied on write by the few setters.
    pub(crate) config: Arc<SessionConfig>,
    pub(crate) options: OptionTable,
    pub(crate) encoder: Encoder,
    pub(crate) output: Vec<u8>,
    pub(crate) families: Families,
    /// A Synch is under way (RFC 854): data is discarded up to the next `IAC DM`.
    pub(crate) synch: bool,
    /// The offset in `output` of the DM of a Synch we send, to go as TCP urgent data.
    pub(crate) urgent: Option<usize>,
    /// How much of `output` holds frames only (an Abort Output discarded the data there).
    pub(crate) frames_only: usize,
    /// The bytes last handed over ended with a data CR still owed its NUL or LF, which is
    /// then the first byte of `output`.
    pub(crate) cr_handed_over: bool,
    /// How much of `output` the debug log has shown (frames we send are logged as they
    /// are queued).
    pub(crate) logged: usize,
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
            core: Core {
                role,
                config,
                options: OptionTable::default(),
                encoder: Encoder::new(),
                output: Vec::new(),
                families: Families::default(),
                synch: false,
                urgent: None,
                frames_only: 0,
                cr_handed_over: false,
                logged: 0,
            },
            plan: PlanState::default(),
        }
    }

    /// Which end of the connection this is.
    #[must_use]
    pub const fn role(&self) -> Role {
        self.core.role
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
        self.core.options.get(option)
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
            .options
            .iter()
            .any(|state| state.us.is_pending() || state.him.is_pending())
    }

    /// Every option enabled on `side`, in code order.
    pub fn enabled_options(&self, side: Side) -> impl Iterator<Item = TelnetOption> + '_ {
        // The table is in code order and holds every option not NO/NO.
        self.core
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
    /// let flood = b"\xff\xfd\xc8".repeat(1000); // DO 200: each refused with WONT 200
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
        let mut dispatch = Dispatch {
            core: &mut self.core,
            sink,
            output_limit,
        };
        let used = self.parser.advance(&mut dispatch, input);
        self.advance_plan();
        self.core.log_sent();
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
        self.core.synch = true;
    }

    /// Queue application data, escaped for the wire (IAC doubled; NVT end-of-line
    /// outside BINARY unless translation is off).
    pub fn send_data(&mut self, data: &[u8]) {
        let nvt = self.core.nvt_output();
        self.core.encoder.encode(data, nvt, &mut self.core.output);
    }

    /// Queue a two-byte command (`IAC GA`, `IAC AYT`, ...).
    pub fn send_command(&mut self, command: Command) {
        self.core.before_frame();
        write_command(&mut self.core.output, command);
    }

    /// Where, among the bytes the next [`Session::poll_transmit`] hands over, the DM of a
    /// Synch we queued is: the transport should send that byte as TCP urgent data (RFC
    /// 854, "The TELNET 'Synch' Signal"), after the bytes before it. `None` when no Synch
    /// waits. A session queues a Synch when it answers the peer's `IAC AO`.
    #[must_use]
    pub fn urgent_offset(&self) -> Option<usize> {
        self.core.urgent
    }

    /// Queue `IAC SB <option> <payload> IAC SE`, escaping IAC in the payload.
    ///
    /// For options this crate speaks, prefer the option's own methods, which also keep
    /// the session's state.
    pub fn send_subnegotiation(&mut self, option: TelnetOption, payload: &[u8]) {
        self.core.send_subnegotiation(option, payload);
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
        self.core.request(Side::Local, option, enable)
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
        self.core.request(Side::Remote, option, enable)
    }

    /// How many bytes wait for [`Session::poll_transmit`] (for back-pressure).
    #[must_use]
    pub fn output_len(&self) -> usize {
        self.core.output.len()
    }

    /// Whether bytes wait for [`Session::poll_transmit`].
    #[must_use]
    pub fn has_output(&self) -> bool {
        !self.core.output.is_empty()
    }

    /// Move every queued byte to the end of `out`. Returns how many were moved.
    #[must_use = "the bytes must be written to the peer"]
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        self.core.log_sent();
        self.core.logged = 0;
        self.core.frames_only = 0;
        self.core.cr_handed_over = self.core.encoder.owes_line_end();
        self.core.urgent = None;
        let queued = self.core.output.len();
        self.core.families.timing_mark.transmitted();
        if out.is_empty() {
            // Hand over the buffer itself: no copy on the common path.
            std::mem::swap(out, &mut self.core.output);
        } else {
            out.append(&mut self.core.output);
        }
        queued
    }
}

impl Core {
    fn nvt_output(&self) -> bool {
        self.config.translate_eol && !self.options.get(TelnetOption::Binary).us.is_enabled()
    }

    /// Log the frames queued since the last call (at debug level; nothing is formatted
    /// when that level is off).
    fn log_sent(&mut self) {
        if self.logged < self.output.len() && wire_log::enabled() {
            wire_log::sent(&self.output[self.logged..]);
        }
        self.logged = self.output.len();
    }

    /// The peer sent `IAC AYT`: queue our answer, as data (RFC 854).
    fn answer_ayt(&mut self) {
        let nvt = self.nvt_output();
        if let Some(answer) = &self.config.ayt_answer {
            self.encoder.encode(answer, nvt, &mut self.output);
        }
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

    /// A CR left pending by data must get its NUL before any command goes out.
    pub(crate) fn before_frame(&mut self) {
        self.encoder.flush_line_state(&mut self.output);
    }

    /// The configuration, made unique to this session before a change.
    pub(crate) fn config_mut(&mut self) -> &mut SessionConfig {
        Arc::make_mut(&mut self.config)
    }

    pub(crate) fn enabled(&self, option: TelnetOption, side: Side) -> bool {
        let state = self.options.get(option);
        match side {
            Side::Local => state.us.is_enabled(),
            Side::Remote => state.him.is_enabled(),
        }
    }

    pub(crate) fn state_mut(&mut self, side: Side, option: TelnetOption) -> &mut QState {
        let state = self.options.get_mut(option);
        match side {
            Side::Local => &mut state.us,
            Side::Remote => &mut state.him,
        }
    }

    pub(crate) fn request(
        &mut self,
        side: Side,
        option: TelnetOption,
        enable: bool,
    ) -> Result<(), RequestError> {
        if option == TelnetOption::Tm {
            return Err(RequestError::NotNegotiable);
        }
        let state = *self.state_mut(side, option);
        let transition = if enable {
            state.request_enable()?
        } else {
            state.request_disable()?
        };
        self.apply(side, option, transition);
        Ok(())
    }

    fn receive_negotiation<S: Sink>(&mut self, verb: Verb, option: TelnetOption, sink: &mut S) {
        let mut cx = Context { core: self, sink };
        if options::special_negotiation(&mut cx, verb, option) {
            return;
        }
        let policy = self.config.policy;
        let state = self.options.get(option);
        let (side, transition) = match verb {
            Verb::Will => (
                Side::Remote,
                state.him.receive_enable(policy.accepts_remote(option)),
            ),
            Verb::Wont => (Side::Remote, state.him.receive_disable()),
            Verb::Do => (
                Side::Local,
                state.us.receive_enable(policy.accepts_local(option)),
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
        if let Some(enabled) = self.apply(side, option, transition) {
            sink.event(Event::OptionChanged {
                option,
                side,
                enabled,
            });
            options::changed(&mut Context { core: self, sink }, option, side, enabled);
        } else if refused {
            options::refused(&mut Context { core: self, sink }, option, side);
        }
    }

    /// Store a transition's state and queue what it sends. Returns the change, if any.
    fn apply(&mut self, side: Side, option: TelnetOption, transition: Transition) -> Option<bool> {
        *self.state_mut(side, option) = transition.state;
        if let Some(send) = transition.send {
            self.before_frame();
            write_negotiation(&mut self.output, side.verb(send), option);
        }
        transition.enabled_changed
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
        if self.core.synch {
            return;
        }
        self.sink.data(data);
        if self.core.families.linemode.snooping() {
            let mut cx = Context {
                core: self.core,
                sink: self.sink,
            };
            options::linemode::snoop(&mut cx, data);
        }
    }

    fn command(&mut self, command: Command) {
        self.core.families.timing_mark.peer_spoke();
        if wire_log::enabled() {
            wire_log::command("recv", command);
        }
        match command {
            // RFC 854: the DM marks the end of the Synch's discarding.
            Command::Dm => self.core.synch = false,
            Command::Ayt => self.core.answer_ayt(),
            // RFC 854 defines AO for the receiving "system", the server: a client's
            // output is what its user typed, not ours to drop.
            Command::Ao if self.core.role == Role::Server => self.core.abort_output(),
            _ => {}
        }
        self.sink.event(Event::Command(command));
        self.core.log_sent();
    }

    fn negotiation(&mut self, verb: Verb, option: TelnetOption) {
        if (verb, option) != (Verb::Do, TelnetOption::Tm) {
            self.core.families.timing_mark.peer_spoke();
        }
        if wire_log::enabled() {
            wire_log::negotiation("recv", verb, option);
        }
        self.core.receive_negotiation(verb, option, self.sink);
        self.core.log_sent();
    }

    fn subnegotiation(&mut self, option: TelnetOption, payload: &[u8]) {
        self.core.families.timing_mark.peer_spoke();
        if wire_log::enabled() {
            wire_log::subnegotiation("recv", option, payload);
        }
        let mut cx = Context {
            core: self.core,
            sink: self.sink,
        };
        options::receive(&mut cx, option, payload);
        self.core.log_sent();
    }

    fn protocol_error(&mut self, error: ProtocolError) {
        self.sink.event(Event::ProtocolError(error));
        if let ProtocolError::SubnegotiationTooLong {
            option, first_byte, ..
        } = error
        {
            let mut cx = Context {
                core: self.core,
                sink: self.sink,
            };
            options::overflowed(&mut cx, option, first_byte);
        }
    }

    fn paused(&self) -> bool {
        self.core.output.len() >= self.output_limit
    }

    fn nvt_input(&self) -> bool {
        self.core.config.translate_eol
            && !self.core.options.get(TelnetOption::Binary).him.is_enabled()
    }
}

#[cfg(test)]
mod tests;
mod wire_log;
