//! The opening negotiation: what a server asks for on connect and when it considers the
//! negotiation settled, as telnetlib3 5.0.1's server does it; and the client's rule.
//!
//! The server sequence (telnetlib3's `begin_negotiation`, `begin_advanced_negotiation`,
//! `on_ttype`, `_negotiate_echo`, `_negotiate_environ`, `_check_encoding`):
//!
//! 1. `DO TTYPE`, and nothing else until the client acknowledges something (a bare TCP
//!    client that speaks no Telnet is not flooded with negotiation).
//! 2. Once any option is enabled either way: `WILL SGA` (unless line mode), `WILL BINARY`,
//!    `DO NAWS`, `DO CHARSET` (if a charset is offered), and `DO LINEMODE` when asked.
//! 3. On the first terminal type: `WILL ECHO` (unless line mode), and `DO NEW_ENVIRON`
//!    unless the first type is `ANSI` (then after the second: Microsoft telnet answers
//!    ANSI then VT100 and is not sent NEW_ENVIRON before it can be recognised). If the
//!    client refuses TTYPE, both are sent at once; when the wait runs out, likewise.
//! 4. Once we send BINARY but do not receive it: `DO BINARY`.
//!
//! The session never reads a clock: the caller starts the sequence, feeds input, and calls
//! [`Session::finish_negotiation`] when its `connect_maxwait` runs out.

use crate::option::TelnetOption;
use crate::session::{Role, Session, Side};

/// What the server's opening negotiation asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// `force_binary`): the negotiation does not wait for BINARY.
    pub force_binary: bool,
}

impl Default for ServerPlan {
    fn default() -> Self {
        Self {
            line_mode: false,
            linemode: false,
            charset: true,
            force_binary: false,
        }
    }
}

/// Progress of the server's opening negotiation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PlanState {
    plan: Option<ServerPlan>,
    advanced: bool,
    echo_sent: bool,
    environ_sent: bool,
    binary_in_sent: bool,
    finished: bool,
}

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
    pub fn finish_negotiation(&mut self) {
        self.plan.finished = true;
        self.advance_plan();
    }

    /// Whether the opening negotiation has settled: nothing we asked for is outstanding
    /// (options, TTYPE, NEW-ENVIRON and CHARSET requests), and, for a server, BINARY is
    /// agreed both ways (or forced, or the client refused TTYPE and so will not go
    /// further).
    ///
    /// A client's rule (telnetlib3's `check_negotiation`): nothing outstanding, and we
    /// perform TTYPE and either NEW_ENVIRON or CHARSET both ways; otherwise the caller
    /// waits for `connect_minwait`.
    #[must_use]
    pub fn negotiation_settled(&self) -> bool {
        if self.negotiation_pending()
            || self.ttype_pending()
            || self.environ_pending()
            || self.charset_pending()
        {
            return false;
        }
        match self.role() {
            Role::Server => {
                let binary = self.local_enabled(TelnetOption::Binary)
                    && self.remote_enabled(TelnetOption::Binary);
                let forced = self.plan.plan.is_some_and(|plan| plan.force_binary);
                binary || forced || self.ttype_refused()
            }
            Role::Client => {
                self.local_enabled(TelnetOption::Ttype)
                    && (self.local_enabled(TelnetOption::NewEnviron)
                        || (self.local_enabled(TelnetOption::Charset)
                            && self.remote_enabled(TelnetOption::Charset)))
            }
        }
    }

    fn ttype_refused(&self) -> bool {
        let state = self.option_state(TelnetOption::Ttype).him;
        !state.is_enabled() && !state.is_pending()
    }

    /// Take the next steps of the plan that the state now allows. Called after input is
    /// processed and when the wait runs out.
    pub(crate) fn advance_plan(&mut self) {
        let Some(plan) = self.plan.plan else {
            return;
        };
        // Step 2: the client speaks Telnet.
        if !self.plan.advanced
            && (self.enabled_options(Side::Local).next().is_some()
                || self.enabled_options(Side::Remote).next().is_some())
        {
            self.plan.advanced = true;
            if !plan.line_mode {
                let _ = self.request_local(TelnetOption::Sga, true);
            }
            let _ = self.request_local(TelnetOption::Binary, true);
            let _ = self.request_remote(TelnetOption::Naws, true);
            if plan.charset {
                let _ = self.request_remote(TelnetOption::Charset, true);
            }
            if plan.linemode {
                let _ = self.request_remote(TelnetOption::Linemode, true);
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
            if !plan.line_mode && !plan.linemode {
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
    use crate::{Config, Mode, Policy};

    fn server() -> Session {
        let mut server = Session::new(Role::Server, Config::with_policy(Policy::server()));
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
        server.finish_negotiation();
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
        let mut client_config = Config::with_policy(Policy::client());
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
