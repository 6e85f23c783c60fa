//! What a session agrees to and how it behaves: [`Policy`] and [`SessionConfig`].

use std::borrow::Cow;

use crate::option::TelnetOption;
use crate::options;
use crate::parser::DEFAULT_MAX_SUBNEGOTIATION;

/// A set of option codes, one bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct OptionSet([u64; 4]);

impl OptionSet {
    pub(crate) const fn contains(&self, option: TelnetOption) -> bool {
        let code = option.code() as usize;
        self.0[code / 64] & (1 << (code % 64)) != 0
    }

    pub(crate) fn set(&mut self, option: TelnetOption, member: bool) {
        let code = option.code() as usize;
        let bit = 1 << (code % 64);
        if member {
            self.0[code / 64] |= bit;
        } else {
            self.0[code / 64] &= !bit;
        }
    }
}

/// The MUD protocols telnetlib3 5.0.1's server agrees to both ways
/// (`_MUD_PROTOCOL_OPTIONS`).
const MUD_PROTOCOLS: [TelnetOption; 8] = [
    TelnetOption::Msdp,
    TelnetOption::Mssp,
    TelnetOption::Msp,
    TelnetOption::Mxp,
    TelnetOption::Zmp,
    TelnetOption::Aardwolf,
    TelnetOption::Atcp,
    TelnetOption::Gmcp,
];

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
    /// never agrees to the client's ECHO, nor performs the client-side options. The MUD
    /// protocols (MSDP, MSSP, MSP, MXP, ZMP, AARDWOLF, ATCP, GMCP) it agrees to both ways.
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
        let local = [&local[..], &MUD_PROTOCOLS].concat();
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
        let remote = [&remote[..], &MUD_PROTOCOLS].concat();
        Self::from_lists(&local, &remote)
    }

    /// What telnetlib3 5.0.1's client agrees to: it performs BINARY, SGA, STATUS,
    /// TIMING-MARK, TTYPE, EOR, NAWS, TSPEED, LFLOW, LINEMODE, XDISPLOC, NEW-ENVIRON and
    /// CHARSET, and lets the server perform BINARY, ECHO, SGA, STATUS, LOGOUT, EOR and
    /// CHARSET. It never performs ECHO (some servers hang on a client's WILL ECHO). Of the
    /// MUD protocols it lets the server perform GMCP and ZMP only (telnetlib3's "passive
    /// DO"), and greets it on either (see [`crate::options::gmcp`], [`crate::options::zmp`]).
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
            O::Gmcp,
            O::Zmp,
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

/// How a [`Session`](crate::Session) behaves: the [`Policy`] of options agreed to, the NVT
/// rules, and each option family's settings.
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
    /// MCCP2 and MCCP3: whether we compress and accept compression (refused by
    /// default here; see [`options::mccp::Config`]).
    pub mccp: options::mccp::Config,
    /// SNDLOC (RFC 779): the location a client reports.
    pub sndloc: options::sndloc::Config,
    /// TSPEED (RFC 1079): the speeds a client reports.
    pub tspeed: options::tspeed::Config,
    /// TTYPE (RFC 1091): the terminal types a client reports, how a server asks.
    pub ttype: options::ttype::Config,
    /// XDISPLOC (RFC 1096): the display a client reports.
    pub xdisploc: options::xdisploc::Config,
    /// GMCP: what a client says in `Core.Hello` and `Core.Supports.Set`.
    pub gmcp: options::gmcp::Config,
    /// MSSP: the variables a server reports (and offers `WILL MSSP` for).
    pub mssp: options::mssp::Config,
    /// ZMP: what a client says in `zmp.ident`, and the commands this end supports.
    pub zmp: options::zmp::Config,
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
            mccp: Default::default(),
            sndloc: Default::default(),
            tspeed: Default::default(),
            ttype: Default::default(),
            xdisploc: Default::default(),
            gmcp: Default::default(),
            mssp: Default::default(),
            zmp: Default::default(),
            ayt_answer: Some(Cow::Borrowed(Self::DEFAULT_AYT_ANSWER)),
        }
    }
}
