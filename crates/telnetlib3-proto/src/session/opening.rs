//! The server's opening negotiation and the rule that says when a negotiation has
//! settled, as [`Session`] methods: the plan's data ([`ServerPlan`], its progress) is in
//! `negotiation.rs`, below the session; its steps are here, above it, since they make the
//! session's own requests and read its getters (see that module for the sequence, after
//! telnetlib3 5.0.1's server).

use std::sync::Arc;

use crate::link::{Role, Side};
use crate::negotiation::{PlanState, ServerPlan, MUD_OPTIONS};
use crate::option::TelnetOption;
use crate::session::Session;

impl Session {
    /// Begin the server's opening negotiation (step 1: `DO TTYPE`).
    ///
    /// Only for [`Role::Server`]; a client waits for the server's requests.
    pub fn start_server_negotiation(&mut self, plan: ServerPlan) {
        debug_assert_eq!(
            self.role(),
            Role::Server,
            "only a server runs the opening plan"
        );
        self.plan = PlanState {
            plan: Some(plan),
            ..PlanState::default()
        };
        let _ = self.request_remote(TelnetOption::Ttype, true);
    }

    /// The connect wait ran out: send what was deferred (ECHO, NEW_ENVIRON) and stop
    /// waiting for answers that did not come.
    ///
    /// A time input, named `handle_*` as quinn-proto names its time inputs: the session
    /// reads no clock, so the caller runs the timer (telnetlib3's `connect_maxwait`) and
    /// calls this when it fires.
    ///
    /// ```
    /// use telnetlib3_proto::{Policy, Role, ServerPlan, Session, SessionConfig};
    ///
    /// let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
    /// server.start_server_negotiation(ServerPlan::default());
    /// let mut wire = Vec::new();
    /// server.poll_transmit(&mut wire);
    /// assert_eq!(wire, b"\xff\xfd\x18"); // IAC DO TTYPE
    /// assert!(!server.negotiation_settled());
    /// // The client never answers; the caller's timer (`connect_maxwait`) fires:
    /// server.handle_negotiation_timeout();
    /// ```
    pub fn handle_negotiation_timeout(&mut self) {
        self.plan.finished = true;
        self.advance_plan();
    }

    /// Whether the opening negotiation has settled: every request we made has been
    /// answered (agreed or refused: RFC 1143 treats a refusal as a complete answer), and no
    /// TTYPE, NEW-ENVIRON or CHARSET subnegotiation awaits its answer.
    ///
    /// A server's `WILL CHARSET` is the one request left out: a client that said
    /// `WILL CHARSET` has been sent our REQUEST already (see the CHARSET module), and its
    /// answer to the REQUEST, not to the WILL, settles the character set. TinTin++ never
    /// answers that WILL, and must not wait out `connect_maxwait` for its prompt.
    ///
    /// A client's rule (telnetlib3's `check_negotiation`): nothing outstanding, and we
    /// perform TTYPE and either NEW_ENVIRON or CHARSET both ways; otherwise the caller
    /// waits for `connect_minwait`.
    #[must_use]
    pub fn negotiation_settled(&self) -> bool {
        if self.requests_outstanding()
            || self.ttype_pending()
            || self.environ_pending()
            || self.charset_pending()
        {
            return false;
        }
        match self.role() {
            // The plan sends each request in the same step as the answer that calls for it
            // (DO BINARY once WILL BINARY is agreed, WILL ECHO with the first terminal
            // type), so nothing outstanding means nothing more is coming.
            Role::Server => true,
            Role::Client => {
                self.local_enabled(TelnetOption::Ttype)
                    && (self.local_enabled(TelnetOption::NewEnviron)
                        || (self.local_enabled(TelnetOption::Charset)
                            && self.remote_enabled(TelnetOption::Charset)))
            }
        }
    }

    /// Whether an option request of ours awaits its answer, leaving out a server's
    /// `WILL CHARSET` to a client that performs CHARSET (see
    /// [`Session::negotiation_settled`]).
    fn requests_outstanding(&self) -> bool {
        let pending = self
            .core
            .link
            .options
            .iter()
            .filter(|state| state.us.is_pending() || state.him.is_pending())
            .count();
        let charset = self.option_state(TelnetOption::Charset);
        let unanswered_will_charset = self.role() == Role::Server
            && charset.us.is_pending()
            && !charset.him.is_pending()
            && charset.him.is_enabled();
        pending > usize::from(unanswered_will_charset)
    }

    fn ttype_refused(&self) -> bool {
        let state = self.option_state(TelnetOption::Ttype).him;
        !state.is_enabled() && !state.is_pending()
    }

    /// Whether the client looks like a MUD client: a terminal type it sent so far (only
    /// the first, when asked with the first; up to three once the wait ran out) names one
    /// of [`ServerPlan::mud_clients`], or it performs an option only MUD clients know.
    fn is_mud_client(&self) -> bool {
        let Some(plan) = &self.plan.plan else {
            return false;
        };
        let known = |name: &str| {
            plan.mud_clients
                .iter()
                .any(|mud| mud.eq_ignore_ascii_case(name))
        };
        self.terminal_types().iter().take(3).any(|name| known(name))
            || MUD_OPTIONS
                .iter()
                .any(|&option| self.remote_enabled(option))
    }

    /// Take the next steps of the plan that the state now allows. Called after input is
    /// processed and when the wait runs out.
    pub(crate) fn advance_plan(&mut self) {
        let Some(plan) = &self.plan.plan else {
            return;
        };
        let (line_mode, linemode, charset) = (plan.line_mode, plan.linemode, plan.charset);
        let offers = Arc::clone(&plan.offers);
        // Agreed to log the client out (RFC 727): the connection is closing, so there is
        // nothing more to ask for.
        if self.local_enabled(TelnetOption::Logout) {
            return;
        }
        // Step 2: the client speaks Telnet.
        if !self.plan.advanced
            && (self.enabled_options(Side::Local).next().is_some()
                || self.enabled_options(Side::Remote).next().is_some())
        {
            self.plan.advanced = true;
            if !line_mode {
                let _ = self.request_local(TelnetOption::Sga, true);
            }
            let _ = self.request_local(TelnetOption::Binary, true);
            let _ = self.request_remote(TelnetOption::Naws, true);
            if charset {
                let _ = self.request_remote(TelnetOption::Charset, true);
            }
            if linemode {
                let _ = self.request_remote(TelnetOption::Linemode, true);
            }
            // A server with MSSP variables says so, for the crawlers that ask no option.
            if !self.config().mssp.variables.is_empty() {
                let _ = self.request_local(TelnetOption::Mssp, true);
            }
            for &option in offers.iter() {
                let _ = self.request_local(option, true);
            }
            // telnetlib3's `compression=True`: offer both directions, MCCP2 first.
            if self.compression() == Some(true) {
                let _ = self.request_local(TelnetOption::Mccp2, true);
                let _ = self.request_local(TelnetOption::Mccp3, true);
            }
        }
        if !self.plan.advanced {
            return;
        }
        // Step 3: after the terminal type (or its refusal, or the deadline).
        let types = self.terminal_types();
        let (count, first_is_ansi) = (types.len(), types.first().is_some_and(|t| t == "ANSI"));
        let waited_out = self.plan.finished || self.ttype_refused();
        if !self.plan.echo_sent && (count > 0 || waited_out) {
            self.plan.echo_sent = true;
            // telnetlib3 5.0.1 skips WILL ECHO for MUD clients too (`_negotiate_echo`).
            if !line_mode && !linemode && !self.is_mud_client() {
                let _ = self.request_local(TelnetOption::Echo, true);
            }
        }
        let environ_due = match count {
            0 => waited_out,
            1 => !first_is_ansi || waited_out,
            _ => true,
        };
        if !self.plan.environ_sent && environ_due {
            self.plan.environ_sent = true;
            let _ = self.request_remote(TelnetOption::NewEnviron, true);
        }
        // Step 4: BINARY the other way, once we send it; asked once, never again.
        if !self.plan.binary_in_sent && self.local_enabled(TelnetOption::Binary) {
            self.plan.binary_in_sent = true;
            let _ = self.request_remote(TelnetOption::Binary, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::naws::WindowSize;
    use crate::options::tests::{transmit, Log};
    use crate::{Mode, Policy, SessionConfig};

    fn server() -> Session {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        server.start_server_negotiation(ServerPlan::default());
        server
    }

    #[test]
    fn opening_bytes_match_telnetlib3() {
        let mut server = server();
        // Step 1 alone: a client that speaks no Telnet sees only this.
        assert_eq!(transmit(&mut server), b"\xff\xfd\x18");
        let mut log = Log::default();
        server.receive(b"\xff\xfb\x18", &mut log); // WILL TTYPE
        assert_eq!(
            transmit(&mut server),
            [
                &b"\xff\xfa\x18\x01\xff\xf0"[..], // SB TTYPE SEND
                b"\xff\xfb\x03",                  // WILL SGA
                b"\xff\xfb\x00",                  // WILL BINARY
                b"\xff\xfd\x1f",                  // DO NAWS
                b"\xff\xfd\x2a",                  // DO CHARSET
            ]
            .concat()
        );
        server.receive(b"\xff\xfa\x18\x00xterm-256color\xff\xf0", &mut log);
        assert_eq!(
            transmit(&mut server),
            [
                &b"\xff\xfa\x18\x01\xff\xf0"[..], // the cycle goes on
                b"\xff\xfb\x01",                  // WILL ECHO after the first type
                b"\xff\xfd\x27",                  // DO NEW_ENVIRON
            ]
            .concat()
        );
        assert!(!server.negotiation_settled());
    }

    #[test]
    fn an_outstanding_ttype_send_holds_the_negotiation_back() {
        let mut server = server();
        let mut log = Log::default();
        let _ = transmit(&mut server);
        assert!(!server.ttype_pending(), "DO TTYPE is not yet agreed");
        server.receive(b"\xff\xfb\x18", &mut log); // WILL TTYPE: SEND goes out
        assert!(server.ttype_pending());
        server.receive(b"\xff\xfa\x18\x00xterm\xff\xf0", &mut log); // and again
        assert!(server.ttype_pending());
        assert!(!server.negotiation_settled());
        server.receive(b"\xff\xfa\x18\x00xterm\xff\xf0", &mut log); // repeated: done
        assert!(!server.ttype_pending());
        assert!(server.ttype_cycle_complete());
    }

    #[test]
    fn microsoft_telnet_gets_new_environ_after_the_second_type() {
        let mut server = server();
        let mut log = Log::default();
        server.receive(b"\xff\xfb\x18", &mut log);
        let _ = transmit(&mut server);
        server.receive(b"\xff\xfa\x18\x00ANSI\xff\xf0", &mut log);
        assert_eq!(
            transmit(&mut server),
            b"\xff\xfa\x18\x01\xff\xf0\xff\xfb\x01"
        );
        server.receive(b"\xff\xfa\x18\x00VT100\xff\xf0", &mut log);
        assert_eq!(
            transmit(&mut server),
            b"\xff\xfa\x18\x01\xff\xf0\xff\xfd\x27"
        );
        // Asked for USER, telnet.exe crashes (telnetlib3 issue #24): the SEND leaves it out.
        server.receive(b"\xff\xfb\x27", &mut log);
        assert_eq!(
            transmit(&mut server),
            b"\xff\xfa\x27\x01\x00LOGNAME\x00DISPLAY\x00LANG\x00TERM\x00TERM_PROGRAM\
              \x00COLUMNS\x00LINES\x00COLORTERM\x00EDITOR\x00IPADDRESS\x00\x03\xff\xf0"
        );
    }

    #[test]
    fn a_silent_client_gets_only_do_ttype_even_after_the_wait() {
        let mut server = server();
        assert_eq!(transmit(&mut server), b"\xff\xfd\x18");
        server.handle_negotiation_timeout();
        assert_eq!(transmit(&mut server), b"");
        assert!(!server.negotiation_settled());
    }

    #[test]
    fn a_client_refusing_ttype_still_gets_echo_and_environ() {
        let mut server = server();
        let _ = transmit(&mut server);
        server.receive(b"\xff\xfc\x18\xff\xfd\x03", &mut Log::default()); // WONT TTYPE, DO SGA
        let out = transmit(&mut server);
        assert!(out.ends_with(b"\xff\xfb\x01\xff\xfd\x27"), "{out:?}");
    }

    #[test]
    fn our_client_and_server_settle_with_everything_agreed() {
        let mut client_config = SessionConfig::with_policy(Policy::client());
        client_config.ttype.types = vec!["xterm-256color".into()];
        client_config.naws.size = WindowSize {
            cols: 132,
            rows: 43,
        };
        client_config.environ.values = vec![
            (b"TERM".to_vec(), b"xterm-256color".to_vec()),
            (b"LANG".to_vec(), b"en_US.UTF-8".to_vec()),
        ];
        let mut client = Session::new(Role::Client, client_config);
        let mut server = server();
        let (mut client_log, mut server_log) = (Log::default(), Log::default());
        let mut rounds = 0;
        loop {
            let to_server = transmit(&mut client);
            let to_client = transmit(&mut server);
            if to_server.is_empty() && to_client.is_empty() {
                break;
            }
            rounds += 1;
            assert!(rounds < 32, "negotiation did not settle");
            server.receive(&to_server, &mut server_log);
            client.receive(&to_client, &mut client_log);
            // The shell would start mid-cycle, with a provisional terminal type.
            assert!(!(server.ttype_pending() && server.negotiation_settled()));
        }
        assert!(!server.ttype_pending());
        assert!(server.negotiation_settled(), "{server_log:?}");
        assert!(client.negotiation_settled());
        assert_eq!(server.terminal_type(), Some("xterm-256color"));
        assert_eq!(
            server.peer_window_size(),
            Some(WindowSize {
                cols: 132,
                rows: 43
            })
        );
        assert_eq!(server.charset(), Some("UTF-8"));
        assert_eq!(
            server.environ_var("LANG").and_then(|v| v.value.clone()),
            Some(b"en_US.UTF-8".to_vec())
        );
        assert_eq!(server.mode(), Mode::Kludge);
        assert_eq!(client.mode(), Mode::Kludge);
        assert_eq!(
            server.options_summary(),
            "server-will:BINARY,CHARSET,ECHO,SGA client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE"
        );
    }
}

#[cfg(test)]
mod real_clients {
    //! The opening against byte-for-byte replays of real clients.

    use std::sync::Arc;

    use super::*;
    use crate::options::tests::{transmit, Log};
    use crate::{Policy, SessionConfig};

    const DO_TTYPE: &[u8] = b"\xff\xfd\x18";
    const TTYPE_SEND: &[u8] = b"\xff\xfa\x18\x01\xff\xf0";
    const WILL_ECHO: &[u8] = b"\xff\xfb\x01";
    const WILL_CHARSET: &[u8] = b"\xff\xfb\x2a";
    const DO_NEW_ENVIRON: &[u8] = b"\xff\xfd\x27";

    fn server(plan: ServerPlan) -> Session {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        server.start_server_negotiation(plan);
        server
    }

    fn charset_request() -> Vec<u8> {
        let mut payload = vec![0x2a];
        let config = crate::options::charset::Config::default();
        crate::options::charset::write_request(&mut payload, None, b' ', &config.offer).unwrap();
        let mut out = b"\xff\xfa".to_vec();
        out.extend_from_slice(&payload);
        out.extend_from_slice(b"\xff\xf0");
        out
    }

    /// TinTin++ 2.02.20, as captured against our server: it answers DONT BINARY, says
    /// WILL CHARSET but never answers our WILL CHARSET, and accepts our REQUEST.
    #[test]
    fn tintin_settles_without_the_wait_and_is_not_sent_will_echo() {
        let mut server = server(ServerPlan::default());
        let mut log = Log::default();
        assert_eq!(transmit(&mut server), DO_TTYPE);
        server.receive(b"\xff\xfb\x18", &mut log);
        let _ = transmit(&mut server); // TTYPE SEND, WILL SGA, WILL BINARY, DO NAWS, DO CHARSET
        server.receive(b"\xff\xfa\x18\x00TINTIN++\xff\xf0", &mut log);
        // A MUD client: the cycle goes on and NEW_ENVIRON is asked for, but no WILL ECHO.
        assert_eq!(transmit(&mut server), [TTYPE_SEND, DO_NEW_ENVIRON].concat());
        // DO SGA, DONT BINARY, WILL NAWS, NAWS 120x40, WILL CHARSET.
        server.receive(
            b"\xff\xfd\x03\xff\xfe\x00\xff\xfb\x1f\xff\xfa\x1f\x00\x78\x00\x28\xff\xf0\xff\xfb\x2a",
            &mut log,
        );
        // Our WILL CHARSET, and the REQUEST right behind it.
        assert_eq!(
            transmit(&mut server),
            [WILL_CHARSET, &charset_request()].concat()
        );
        assert!(server.charset_pending());
        server.receive(b"\xff\xfa\x18\x00tmux-256color\xff\xf0", &mut log);
        assert_eq!(transmit(&mut server), TTYPE_SEND);
        server.receive(b"\xff\xfb\x27", &mut log); // WILL NEW_ENVIRON
        let _ = transmit(&mut server); // SB NEW_ENVIRON SEND
        server.receive(b"\xff\xfa\x18\x00MTTS 271\xff\xf0", &mut log);
        let _ = transmit(&mut server);
        server.receive(
            b"\xff\xfa\x27\x00\x00CHARSET\x01UTF-8\x00\x00CLIENT_NAME\x01TinTin++\xff\xf0",
            &mut log,
        );
        server.receive(b"\xff\xfa\x18\x00MTTS 271\xff\xf0", &mut log);
        assert!(!server.negotiation_settled(), "the REQUEST is unanswered");
        server.receive(b"\xff\xfa\x2a\x02UTF-8\xff\xf0", &mut log); // ACCEPTED UTF-8
        assert_eq!(server.charset(), Some("UTF-8"));
        // BINARY refused, our WILL CHARSET never answered: settled all the same.
        assert!(server.option_state(TelnetOption::Charset).us.is_pending());
        assert!(!server.remote_enabled(TelnetOption::Binary));
        assert!(server.negotiation_settled(), "{log:?}");
        assert!(!server.local_enabled(TelnetOption::Echo));
        assert_eq!(transmit(&mut server), b"");
    }

    #[test]
    fn an_empty_mud_list_offers_echo_to_every_client() {
        let mut server = server(ServerPlan {
            mud_clients: Arc::from([]),
            ..ServerPlan::default()
        });
        let mut log = Log::default();
        let _ = transmit(&mut server);
        server.receive(b"\xff\xfb\x18", &mut log);
        let _ = transmit(&mut server);
        server.receive(b"\xff\xfa\x18\x00TINTIN++\xff\xf0", &mut log);
        assert_eq!(
            transmit(&mut server),
            [TTYPE_SEND, WILL_ECHO, DO_NEW_ENVIRON].concat()
        );
    }

    #[test]
    fn mud_clients_are_recognised_by_type_in_any_case_and_by_mud_options() {
        for name in ["Mudlet", "MUSHCLIENT", "cmud", "zMUD"] {
            let mut server = server(ServerPlan::default());
            let mut log = Log::default();
            let _ = transmit(&mut server);
            server.receive(b"\xff\xfb\x18", &mut log);
            let _ = transmit(&mut server);
            let mut is = b"\xff\xfa\x18\x00".to_vec();
            is.extend_from_slice(name.as_bytes());
            is.extend_from_slice(b"\xff\xf0");
            server.receive(&is, &mut log);
            let out = transmit(&mut server);
            assert!(!out.windows(3).any(|w| w == WILL_ECHO), "{name}: {out:?}");
        }
        // A client that performs GMCP is a MUD client whatever it calls itself (the
        // policy must let it: a MUD server allows GMCP).
        let mut config =
            SessionConfig::with_policy(Policy::server().allow_remote(TelnetOption::Gmcp));
        config.ttype.types.clear();
        let mut server = Session::new(Role::Server, config);
        server.start_server_negotiation(ServerPlan::default());
        let mut log = Log::default();
        let _ = transmit(&mut server);
        server.receive(b"\xff\xfb\xc9\xff\xfb\x18", &mut log); // WILL GMCP, WILL TTYPE
        let _ = transmit(&mut server);
        server.receive(b"\xff\xfa\x18\x00xterm\xff\xf0", &mut log);
        let out = transmit(&mut server);
        assert!(!out.windows(3).any(|w| w == WILL_ECHO), "{out:?}");
    }

    /// A client that refuses BINARY and nothing else outstanding: settled at once.
    #[test]
    fn a_refused_binary_is_a_complete_answer() {
        let mut server = server(ServerPlan::default());
        let mut log = Log::default();
        let _ = transmit(&mut server);
        server.receive(b"\xff\xfc\x18\xff\xfd\x03", &mut log); // WONT TTYPE, DO SGA
        let out = transmit(&mut server);
        assert!(
            out.ends_with(&[WILL_ECHO, DO_NEW_ENVIRON].concat()),
            "{out:?}"
        );
        // DONT BINARY, WONT NAWS, WONT CHARSET, DO ECHO.
        server.receive(
            b"\xff\xfe\x00\xff\xfc\x1f\xff\xfc\x2a\xff\xfd\x01",
            &mut log,
        );
        assert!(!server.negotiation_settled(), "NEW_ENVIRON is unanswered");
        server.receive(b"\xff\xfc\x27", &mut log); // WONT NEW_ENVIRON
        assert!(server.negotiation_settled(), "{log:?}");
        assert!(!server.local_enabled(TelnetOption::Binary));
    }

    /// A DO LOGOUT is answered, and nothing more is asked of a client being logged out.
    #[test]
    fn a_logout_stops_the_plan() {
        let mut server = server(ServerPlan::default());
        let mut log = Log::default();
        assert_eq!(transmit(&mut server), DO_TTYPE);
        server.receive(b"\xff\xfd\x12", &mut log); // DO LOGOUT
        assert_eq!(transmit(&mut server), b"\xff\xfb\x12");
        server.handle_negotiation_timeout();
        assert_eq!(transmit(&mut server), b"");
    }

    /// A client that says WILL CHARSET and then refuses our WILL: the REQUEST sent after
    /// our WILL will get no answer, and nothing waits for it.
    #[test]
    fn a_refused_will_charset_cancels_the_early_request() {
        let mut server = server(ServerPlan::default());
        let mut log = Log::default();
        let _ = transmit(&mut server);
        server.receive(b"\xff\xfc\x18\xff\xfb\x2a", &mut log); // WONT TTYPE, WILL CHARSET
        let out = transmit(&mut server);
        assert!(out.windows(3).any(|w| w == WILL_CHARSET), "{out:?}");
        assert!(server.charset_pending());
        server.receive(b"\xff\xfe\x2a", &mut log); // DONT CHARSET
        assert!(!server.charset_pending());
        assert_eq!(
            server.request_charset(),
            Err(crate::options::charset::CharsetError::NotEnabled)
        );
        // A later DO CHARSET enables it: no REQUEST is left over from before the refusal,
        // and the application may send one.
        server.receive(b"\xff\xfd\x2a", &mut log);
        assert!(server.local_enabled(TelnetOption::Charset));
        assert!(!server.charset_pending());
        assert_eq!(server.request_charset(), Ok(()));
    }
}
