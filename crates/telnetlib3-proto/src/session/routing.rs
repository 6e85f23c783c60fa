//! The routing table: the families' state, and which option family handles a
//! subnegotiation, a change of state, a refusal or a negotiation the Q method does not
//! own. Adding a family touches the family's module and this table (plus its field in
//! the configuration and its variant in [`Event`]).
//!
//! Each family's handler gets only its own state and configuration, the link layer and
//! the sink as an emitter of its own events; what it needs to know of another family
//! (STATUS reports NAWS, TTYPE and LFLOW; NEW-ENVIRON asks Microsoft telnet less) is
//! read here and passed in, so that no family knows another.

use std::sync::Arc;

use crate::command::Verb;
use crate::config::SessionConfig;
use crate::event::{Event, Sink};
use crate::family::SubnegotiationError;
use crate::link::{Link, Role, Side};
use crate::option::TelnetOption;
use crate::options::{aardwolf, atcp, gmcp, msdp, mssp, mud_store, zmp};
use crate::options::{
    charset, environ, lflow, linemode, logout, mccp, naws, sndloc, status, timing_mark, tspeed,
    ttype, xdisploc,
};

/// The per-connection state of every option family.
#[derive(Clone, Debug, Default)]
pub(crate) struct Families {
    pub(crate) charset: charset::State,
    pub(crate) environ: environ::State,
    pub(crate) lflow: lflow::State,
    pub(crate) linemode: linemode::State,
    pub(crate) mccp: mccp::State,
    pub(crate) naws: naws::State,
    pub(crate) sndloc: sndloc::State,
    pub(crate) status: status::State,
    pub(crate) timing_mark: timing_mark::State,
    pub(crate) tspeed: tspeed::State,
    pub(crate) ttype: ttype::State,
    pub(crate) xdisploc: xdisploc::State,
    pub(crate) gmcp: gmcp::State,
    pub(crate) msdp: msdp::State,
    pub(crate) mssp: mssp::State,
    pub(crate) zmp: zmp::State,
    pub(crate) atcp: atcp::State,
    pub(crate) aardwolf: aardwolf::State,
    /// Whether a MUD store's first loss was logged (once per connection, for all).
    pub(crate) mud_store_warned: mud_store::Warned,
}

/// What the option families work on: the link layer below them, the configuration and
/// every family's state. The session owns it beside its parser.
#[derive(Clone, Debug)]
pub(crate) struct Core {
    pub(crate) link: Link,
    /// Shared between the sessions of a server; copied on write by the few setters.
    pub(crate) config: Arc<SessionConfig>,
    pub(crate) families: Families,
}

impl Core {
    /// The state at the start of a connection.
    pub(crate) fn new(role: Role, config: Arc<SessionConfig>) -> Self {
        Self {
            link: Link::new(role),
            config,
            families: Families::default(),
        }
    }

    /// The configuration, made unique to this session before a change.
    pub(crate) fn config_mut(&mut self) -> &mut SessionConfig {
        Arc::make_mut(&mut self.config)
    }

    /// Whether data we send takes NVT end-of-line rules (translation on, BINARY off here).
    pub(crate) fn nvt_output(&self) -> bool {
        self.config.translate_eol && !self.link.enabled(TelnetOption::Binary, Side::Local)
    }

    /// What a STATUS report states besides the options (RFC 859 section 5): the NAWS size
    /// and TTYPE name we report, and the LFLOW mode we command.
    pub(crate) fn status_parameters(&self) -> status::Parameters {
        let families = &self.families;
        status_parameters(&self.config, &families.ttype, &families.lflow, &self.link)
    }
}

fn status_parameters(
    config: &SessionConfig,
    ttype: &ttype::State,
    lflow: &lflow::State,
    link: &Link,
) -> status::Parameters {
    let mut parameters = Vec::new();
    if link.enabled(TelnetOption::Naws, Side::Local) {
        parameters.push((TelnetOption::Naws, config.naws.size.to_payload().to_vec()));
    }
    if let Some(name) = ttype::status_parameters(ttype, &config.ttype, link) {
        parameters.push((TelnetOption::Ttype, name));
    }
    let lflow = lflow::status_parameters(lflow, &config.lflow, link);
    for block in lflow.into_iter().flatten() {
        parameters.push((TelnetOption::Lflow, block.to_vec()));
    }
    parameters
}

/// A subnegotiation arrived: hand it to its family; report what it rejects.
pub(super) fn receive<S: Sink>(
    core: &mut Core,
    sink: &mut S,
    option: TelnetOption,
    payload: &[u8],
) {
    use TelnetOption as O;
    let Core {
        link,
        config,
        families: f,
    } = core;
    let warned = &mut f.mud_store_warned;
    let result = match option {
        O::Charset => {
            charset::receive(&mut f.charset, &config.charset, link, sink, option, payload)
        }
        O::NewEnviron | O::OldEnviron => {
            environ::receive(&mut f.environ, &config.environ, link, sink, option, payload)
        }
        O::Lflow => lflow::receive(&mut f.lflow, link, sink, option, payload),
        O::Linemode => linemode::receive(
            &mut f.linemode,
            &config.linemode,
            link,
            sink,
            option,
            payload,
        ),
        O::Naws => naws::receive(&mut f.naws, link, sink, option, payload),
        O::Mccp2 | O::Mccp3 => {
            mccp::receive(&mut f.mccp, &config.mccp, link, sink, option, payload)
        }
        O::Sndloc => sndloc::receive(&mut f.sndloc, link, sink, option, payload),
        O::Status => {
            let (ttype, lflow) = (&f.ttype, &f.lflow);
            status::receive(&mut f.status, link, sink, option, payload, |link| {
                status_parameters(config, ttype, lflow, link)
            })
        }
        O::Tspeed => tspeed::receive(&mut f.tspeed, &config.tspeed, link, sink, option, payload),
        O::Ttype => ttype::receive(&mut f.ttype, &config.ttype, link, sink, option, payload),
        O::Xdisploc => xdisploc::receive(
            &mut f.xdisploc,
            &config.xdisploc,
            link,
            sink,
            option,
            payload,
        ),
        O::Gmcp => gmcp::receive(&mut f.gmcp, warned, link, sink, option, payload),
        O::Msdp => msdp::receive(&mut f.msdp, warned, link, sink, option, payload),
        O::Mssp => mssp::receive(&mut f.mssp, warned, link, sink, option, payload),
        O::Zmp => zmp::receive(&mut f.zmp, warned, &config.zmp, link, sink, option, payload),
        O::Atcp => atcp::receive(&mut f.atcp, warned, link, sink, option, payload),
        O::Aardwolf => aardwolf::receive(&mut f.aardwolf, warned, link, sink, option, payload),
        // Anything else (MXP, MSP, unknown codes) goes to the application as is.
        _ => {
            sink.event(Event::Subnegotiation { option, payload });
            Ok(())
        }
    };
    if let Err(error) = result {
        reject(sink, option, error);
    }
}

/// Report a malformed or unexpected subnegotiation; nothing else changed.
fn reject<S: Sink>(sink: &mut S, option: TelnetOption, error: SubnegotiationError) {
    sink.event(Event::BadSubnegotiation { option, error });
}

/// A subnegotiation of `option` was too long and is being discarded; `first_byte` is its
/// payload's first byte. A request that expects an answer still gets one.
pub(super) fn overflowed<S: Sink>(
    core: &mut Core,
    sink: &mut S,
    option: TelnetOption,
    first_byte: Option<u8>,
) {
    if option == TelnetOption::Charset {
        charset::overflowed(&mut core.link, sink, option, first_byte);
    }
}

/// An option turned on or off on one side: let its family react (send a SEND, an IS, ...).
pub(super) fn changed<S: Sink>(
    core: &mut Core,
    sink: &mut S,
    option: TelnetOption,
    side: Side,
    enabled: bool,
) {
    use TelnetOption as O;
    let Core {
        link,
        config,
        families: f,
    } = core;
    match option {
        O::Charset => {
            charset::changed(&mut f.charset, &config.charset, link, option, side, enabled)
        }
        O::NewEnviron | O::OldEnviron => {
            let microsoft_telnet = f.ttype.is_microsoft_telnet();
            environ::changed(
                &mut f.environ,
                &config.environ,
                link,
                option,
                side,
                enabled,
                microsoft_telnet,
            );
        }
        O::Lflow => lflow::changed(&mut f.lflow, &config.lflow, link, option, side, enabled),
        O::Linemode => {
            linemode::changed(
                &mut f.linemode,
                &config.linemode,
                link,
                option,
                side,
                enabled,
            );
        }
        O::Logout => logout::changed(sink, side, enabled),
        O::Naws => naws::changed(&config.naws, link, option, side, enabled),
        O::Mccp2 | O::Mccp3 => {
            mccp::changed(&mut f.mccp, &config.mccp, link, sink, option, side, enabled)
        }
        O::Sndloc => sndloc::changed(&config.sndloc, link, option, side, enabled),
        O::Status => {
            let (ttype, lflow) = (&f.ttype, &f.lflow);
            status::changed(&mut f.status, link, side, enabled, |link| {
                status_parameters(config, ttype, lflow, link)
            });
        }
        O::Tspeed => tspeed::changed(link, option, side, enabled),
        O::Ttype => ttype::changed(&mut f.ttype, link, option, side, enabled),
        O::Xdisploc => xdisploc::changed(link, option, side, enabled),
        O::Gmcp => gmcp::changed(&mut f.gmcp, &config.gmcp, link, side, enabled),
        O::Mssp => mssp::changed(&config.mssp, link, side, enabled),
        O::Zmp => zmp::changed(&mut f.zmp, &config.zmp, link, side, enabled),
        _ => {}
    }
}

/// Whether we agree to the peer's enabling request for `option` on `side`, when its
/// family decides rather than the policy (`None`).
pub(super) fn accepts(core: &Core, side: Side, option: TelnetOption) -> Option<bool> {
    match option {
        TelnetOption::Mccp2 | TelnetOption::Mccp3 => {
            let (state, config) = (&core.families.mccp, &core.config.mccp);
            mccp::accepts(state, config, core.link.role, side)
        }
        _ => None,
    }
}

/// We asked to enable (`enable`) or disable `option` on `side`, and the request went out.
pub(super) fn requested(core: &mut Core, option: TelnetOption, side: Side, enable: bool) {
    if let TelnetOption::Mccp2 | TelnetOption::Mccp3 = option {
        mccp::requested(
            &mut core.families.mccp,
            &mut core.link,
            option,
            side,
            enable,
        );
    }
}

/// Our request to enable an option on `side` was refused (RFC 1143: WANTYES answered by
/// WONT/DONT).
pub(super) fn refused(core: &mut Core, option: TelnetOption, side: Side) {
    if option == TelnetOption::Charset && side == Side::Local {
        charset::refused(&mut core.families.charset);
    }
}

/// A negotiation verb for an option whose semantics are not RFC 1143's: return true if
/// the family handled it, so the Q method must not see it.
pub(super) fn special_negotiation<S: Sink>(
    core: &mut Core,
    sink: &mut S,
    verb: Verb,
    option: TelnetOption,
) -> bool {
    match option {
        TelnetOption::Tm => {
            // RFC 860: we answer WILL TM when the policy lets us perform it.
            let agreed = core.config.policy.accepts_local(option);
            let state = &mut core.families.timing_mark;
            timing_mark::negotiation(state, &mut core.link, sink, verb, agreed);
            true
        }
        _ => false,
    }
}

/// Data from the peer: a server in kludge or remote mode reports its SLC characters
/// (LINEMODE's snooping). Only called when the LINEMODE state says it may snoop.
pub(super) fn snoop<S: Sink>(core: &mut Core, sink: &mut S, data: &[u8]) {
    let state = &mut core.families.linemode;
    linemode::snoop(state, &core.config.linemode, &core.link, sink, data);
}
