//! The opening negotiation: what a server asks for on connect and when it considers the
//! negotiation settled, as telnetlib3 5.0.1's server does it; and the client's rule.
//!
//! The server sequence (telnetlib3's `begin_negotiation`, `begin_advanced_negotiation`,
//! `on_ttype`, `_negotiate_echo`, `_negotiate_environ`, `_check_encoding`):
//!
//! 1. `DO TTYPE`, and nothing else until the client acknowledges something (a bare TCP
//!    client that speaks no Telnet is not flooded with negotiation).
//! 2. Once any option is enabled either way: `WILL SGA` (unless line mode), `WILL BINARY`,
//!    `DO NAWS`, `DO CHARSET` (if a charset is offered), and `DO LINEMODE` when asked;
//!    then, beyond telnetlib3, `WILL MSSP` when MSSP variables are configured and a `WILL`
//!    for each of [`ServerPlan::offers`] (a MUD server's GMCP, MSDP, ...). Neither is
//!    sent by default, so the default opening is telnetlib3's byte for byte.
//! 3. On the first terminal type: `WILL ECHO` (unless line mode, or the type names a MUD
//!    client: those take `WILL ECHO` as password mode and hide what the user types), and
//!    `DO NEW_ENVIRON` unless the first type is `ANSI` (then after the second: Microsoft
//!    telnet answers ANSI then VT100 and is not sent NEW_ENVIRON before it can be
//!    recognised). If the client refuses TTYPE, both are sent at once; when the wait runs
//!    out, likewise.
//! 4. Once we send BINARY but do not receive it: `DO BINARY`.
//!
//! The session never reads a clock: the caller starts the sequence, feeds input, and calls
//! [`Session::handle_negotiation_timeout`] when its `connect_maxwait` runs out.
//!
//! This module holds the plan and its progress, as data; the steps are `Session` methods
//! in `session/opening.rs`, above the session they drive (the plan asks through the
//! session's own requests and reads its getters).
//!
//! [`Session::handle_negotiation_timeout`]: crate::Session::handle_negotiation_timeout

use std::sync::Arc;

use crate::option::TelnetOption;

/// The terminal types of MUD clients, in lower case, after telnetlib3 5.0.1's
/// `MUD_TERMINALS`: clients that take `WILL ECHO` as password mode (they stop showing what
/// the user types) and so are not sent it. The default of [`ServerPlan::mud_clients`].
pub const MUD_CLIENTS: &[&str] = &[
    "mudlet",
    "cmud",
    "zmud",
    "mushclient",
    "atlantis",
    "tintin++",
    "tt++",
    "blowtorch",
    "mudrammer",
    "kildclient",
    "portal",
    "beip",
    "savitar",
];

/// Options only MUD clients perform: a client that agreed to one of them is a MUD client
/// whatever its terminal type (telnetlib3's `_is_maybe_mud`).
pub(crate) const MUD_OPTIONS: [TelnetOption; 6] = [
    TelnetOption::Gmcp,
    TelnetOption::Msdp,
    TelnetOption::Mxp,
    TelnetOption::Msp,
    TelnetOption::Atcp,
    TelnetOption::Aardwolf,
];

/// What the server's opening negotiation asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerPlan {
    /// Keep the client in NVT line mode: no `WILL SGA`, no `WILL ECHO` (telnetlib3's
    /// `line_mode`).
    pub line_mode: bool,
    /// Ask for LINEMODE (telnetlib3's `LinemodeServer`).
    pub linemode: bool,
    /// Ask for CHARSET (telnetlib3 does when it has an encoding).
    pub charset: bool,
    /// Treat the session as 8-bit clean without BINARY both ways (telnetlib3's
    /// `force_binary`). The plan itself does not read it (a refused BINARY settles the
    /// negotiation like an agreed one); the text layer does.
    pub force_binary: bool,
    /// Terminal types (compared ignoring ASCII case) of MUD clients, which are not sent
    /// `WILL ECHO`; [`MUD_CLIENTS`] by default. Empty: every client is offered ECHO.
    /// Shared, since every connection of a server starts from the same plan.
    pub mud_clients: Arc<[String]>,
    /// Options offered with `WILL` in step 2, after telnetlib3's: a MUD server offers
    /// GMCP, MSDP and the like here (the policy must agree to perform them, as
    /// [`Policy::server`](crate::Policy::server) does). Empty by default: telnetlib3's
    /// server offers none. MSSP needs no entry: it is offered whenever
    /// [`SessionConfig::mssp`](crate::SessionConfig::mssp) has variables.
    pub offers: Arc<[TelnetOption]>,
}

impl Default for ServerPlan {
    fn default() -> Self {
        Self {
            line_mode: false,
            linemode: false,
            charset: true,
            force_binary: false,
            mud_clients: MUD_CLIENTS.iter().map(|&name| name.to_owned()).collect(),
            offers: Arc::from([]),
        }
    }
}

/// Progress of the server's opening negotiation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PlanState {
    pub(crate) plan: Option<ServerPlan>,
    pub(crate) advanced: bool,
    pub(crate) echo_sent: bool,
    pub(crate) environ_sent: bool,
    pub(crate) binary_in_sent: bool,
    pub(crate) finished: bool,
}
