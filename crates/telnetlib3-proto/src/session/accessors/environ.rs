//! NEW-ENVIRON and ENVIRON: requests and getters on [`Session`].

use crate::link::Side;
use crate::option::TelnetOption;
use crate::options::environ::{
    encode_variables, start_request, Command, Kind, Layout, Variable, OPTIONS,
};
use crate::Session;

impl Session {
    /// The variables the peer sent with IS and INFO, in arrival order (a later value for
    /// the same kind and name replaces the earlier one in place).
    #[must_use]
    pub fn environ(&self) -> &[Variable] {
        &self.core.families.environ.received
    }

    /// The variable the peer sent under `name`, compared without regard to ASCII case
    /// (telnetlib3 upper-cases the names it stores); VAR before USERVAR when both exist.
    #[must_use]
    pub fn environ_var(&self, name: impl AsRef<[u8]>) -> Option<&Variable> {
        let name = name.as_ref();
        let mut matching = self
            .environ()
            .iter()
            .filter(|variable| variable.name.eq_ignore_ascii_case(name));
        let first = matching.next()?;
        if first.kind == Kind::Var {
            return Some(first);
        }
        matching
            .find(|variable| variable.kind == Kind::Var)
            .or(Some(first))
    }

    /// The VAR and VALUE codes RFC 1571's heuristics settled on for the peer's ENVIRON.
    /// `None` while undecided ([`Layout::Standard`] is used meanwhile), and always for
    /// NEW-ENVIRON, whose codes are never swapped.
    #[must_use]
    pub fn environ_layout(&self, option: TelnetOption) -> Option<Layout> {
        self.core.families.environ.channel(option).layout
    }

    /// Whether a SEND of ours (on either option) still awaits its IS, or more batches
    /// of it wait to go out: telnetlib3's pending `SB NEW_ENVIRON`, which holds back the
    /// end of a server's negotiation.
    #[must_use]
    pub fn environ_pending(&self) -> bool {
        OPTIONS.into_iter().any(|option| {
            let channel = self.core.families.environ.channel(option);
            channel.awaiting || !channel.batches.is_empty()
        })
    }

    /// Send the configured SEND again on every environment option the peer performs.
    /// Returns whether anything was sent.
    pub fn request_environ(&mut self) -> bool {
        let mut sent = false;
        for option in OPTIONS {
            if self.remote_enabled(option) && !self.core.config.environ.server_request.is_empty() {
                let core = &mut self.core;
                let microsoft_telnet = core.families.ttype.is_microsoft_telnet();
                let state = &mut core.families.environ;
                let config = &core.config.environ;
                start_request(state, config, &mut core.link, option, microsoft_telnet);
                sent = true;
            }
        }
        sent
    }

    /// Set the value we report for `name` (it is still sent only if
    /// [`Config::send_environ`] allows the name). Nothing is sent: call
    /// [`Session::send_environ_info`] to report changes.
    ///
    /// [`Config::send_environ`]: crate::options::environ::Config::send_environ
    pub fn set_environ_value(&mut self, name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        let (name, value) = (name.into(), value.into());
        let values = &mut self.core.config_mut().environ.values;
        match values.iter_mut().find(|(known, _)| *known == name) {
            Some((_, old)) => *old = value,
            None => values.push((name, value)),
        }
    }

    /// Report the current values of `names` with INFO (RFC 1572 section 2) on every
    /// environment option we perform and have already answered a SEND on (INFO is not
    /// for the initial information). Names not allowed by [`Config::send_environ`] are
    /// left out. Returns whether anything was sent.
    ///
    /// [`Config::send_environ`]: crate::options::environ::Config::send_environ
    pub fn send_environ_info<I>(&mut self, names: I) -> bool
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let config = &self.core.config.environ;
        let variables: Vec<Variable> = names
            .into_iter()
            .filter(|name| config.allows(name.as_ref()))
            .map(|name| config.report(Kind::Var, name.as_ref()))
            .collect();
        if variables.is_empty() {
            return false;
        }
        let mut sent = false;
        for option in OPTIONS {
            let state = &self.core.families.environ;
            if self.core.link.enabled(option, Side::Local) && state.channel(option).answered {
                let payload = encode_variables(Command::Info, &variables, state.layout(option));
                self.core.link.send_subnegotiation(option, &payload);
                sent = true;
            }
        }
        sent
    }
}
