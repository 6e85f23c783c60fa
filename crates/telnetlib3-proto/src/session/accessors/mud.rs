//! The MUD protocols (GMCP, MSDP, MSSP, ZMP, ATCP, Aardwolf) and MTTS: requests and getters on
//! [`Session`].
//!
//! Each `send_*` queues its subnegotiation only when the option is enabled on either side
//! (these protocols flow both ways once agreed, and telnetlib3's `send_gmcp` and the like
//! have the same rule), and returns whether it did; nothing is sent otherwise.

use crate::family::enabled_either_way;
use crate::option::TelnetOption;
use crate::options::gmcp::{self, GmcpData, GmcpMessage};
use crate::options::msdp::{self, MsdpValue};
use crate::options::mtts::Mtts;
use crate::options::{atcp, mssp, zmp};
use crate::Session;

impl Session {
    /// What GMCP messages said so far, merged as telnetlib3's `gmcp_data`.
    #[must_use]
    pub fn gmcp_data(&self) -> &GmcpData {
        &self.core.families.gmcp.data
    }

    /// Every MSDP variable received so far with its latest value, in the order first
    /// received.
    #[must_use]
    pub fn msdp_data(&self) -> &[(String, MsdpValue)] {
        &self.core.families.msdp.variables
    }

    /// Every MSSP variable received so far with its latest values, in the order first
    /// received (telnetlib3's `mssp_data`).
    #[must_use]
    pub fn mssp_data(&self) -> &[(String, Vec<String>)] {
        &self.core.families.mssp.variables
    }

    /// Every ZMP command received so far with its latest arguments, in the order first
    /// received (telnetlib3's `zmp_data`).
    #[must_use]
    pub fn zmp_data(&self) -> &[(String, Vec<String>)] {
        &self.core.families.zmp.commands
    }

    /// Every ATCP package received so far with its latest value, in the order first
    /// received (telnetlib3's `atcp_data` lists every message; this keeps the latest of
    /// each, as [`Session::gmcp_data`] does).
    #[must_use]
    pub fn atcp_data(&self) -> &[(String, String)] {
        &self.core.families.atcp.packages
    }

    /// Every Aardwolf channel heard so far with its latest data, by its name (`status`,
    /// `tick`, ..., or its byte in hex, `0x07`), in the order first received.
    #[must_use]
    pub fn aardwolf_data(&self) -> &[(String, Vec<u8>)] {
        &self.core.families.aardwolf.channels
    }

    /// Server: the client's MTTS flags, from a terminal type `MTTS <n>` of its TTYPE
    /// cycle (a MUD client's third reply), if it sent one.
    #[must_use]
    pub fn mtts(&self) -> Option<Mtts> {
        self.terminal_types()
            .iter()
            .find_map(|name| Mtts::from_terminal_type(name))
    }

    fn mud_enabled(&self, option: TelnetOption) -> bool {
        enabled_either_way(&self.core.link, option)
    }

    /// Send a GMCP message. Returns false, sending nothing, unless GMCP is enabled.
    pub fn send_gmcp(&mut self, message: &GmcpMessage) -> bool {
        let enabled = self.mud_enabled(TelnetOption::Gmcp);
        if enabled {
            gmcp::send(&mut self.core.link, message);
        }
        enabled
    }

    /// Send MSDP variables. Returns false, sending nothing, unless MSDP is enabled.
    pub fn send_msdp<N: AsRef<str>>(&mut self, variables: &[(N, MsdpValue)]) -> bool {
        let enabled = self.mud_enabled(TelnetOption::Msdp);
        if enabled {
            msdp::send(&mut self.core.link, variables);
        }
        enabled
    }

    /// Send MSSP variables, each with its values (a list gives repeated `VAL`s). Returns
    /// false, sending nothing, unless MSSP is enabled.
    pub fn send_mssp<N, L, V>(&mut self, variables: &[(N, L)]) -> bool
    where
        N: AsRef<str>,
        L: AsRef<[V]>,
        V: AsRef<str>,
    {
        let enabled = self.mud_enabled(TelnetOption::Mssp);
        if enabled {
            mssp::send(&mut self.core.link, variables);
        }
        enabled
    }

    /// Send a ZMP command with its arguments. Returns false, sending nothing, unless ZMP
    /// is enabled.
    pub fn send_zmp<A: AsRef<str>>(&mut self, command: &str, args: &[A]) -> bool {
        let enabled = self.mud_enabled(TelnetOption::Zmp);
        if enabled {
            zmp::send(&mut self.core.link, command, args);
        }
        enabled
    }

    /// Send an ATCP message (`package value`). Returns false, sending nothing, unless
    /// ATCP is enabled.
    pub fn send_atcp(&mut self, package: &str, value: &str) -> bool {
        let enabled = self.mud_enabled(TelnetOption::Atcp);
        if enabled {
            atcp::send(&mut self.core.link, package, value);
        }
        enabled
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::options::mtts::Mtts;
    use crate::options::tests::{transmit, Log};
    use crate::{Policy, Role, ServerPlan, Session, SessionConfig, TelnetOption};

    const MUD: [u8; 8] = [69, 70, 90, 91, 93, 102, 200, 201];

    #[test]
    fn a_server_agrees_to_every_mud_protocol_both_ways() {
        for code in MUD {
            let mut server =
                Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
            server.receive(&[255, 253, code, 255, 251, code], &mut Log::default());
            assert_eq!(transmit(&mut server), [255, 251, code, 255, 253, code]);
        }
    }

    #[test]
    fn a_client_does_gmcp_and_zmp_only_and_performs_none() {
        for code in MUD {
            let mut client =
                Session::new(Role::Client, SessionConfig::with_policy(Policy::client()));
            client.receive(&[255, 253, code], &mut Log::default());
            assert_eq!(transmit(&mut client), [255, 252, code], "DO {code}");
            client.receive(&[255, 251, code], &mut Log::default());
            let out = transmit(&mut client);
            let verb = if matches!(code, 93 | 201) { 253 } else { 254 };
            assert_eq!(out[..3], [255, verb, code], "WILL {code}");
        }
    }

    #[test]
    fn mxp_and_msp_are_agreed_only_and_their_payloads_go_over_as_they_are() {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        let mut log = Log::default();
        server.receive(
            b"\xff\xfd\x5b\xff\xfa\x5b\xff\xf0\xff\xfd\x5a\xff\xfa\x5a!!SOUND(x.wav)\xff\xf0",
            &mut log,
        );
        assert_eq!(transmit(&mut server), b"\xff\xfb\x5b\xff\xfb\x5a");
        assert_eq!(
            log.events,
            [
                "OptionChanged { option: Mxp, side: Local, enabled: true }",
                "Subnegotiation { option: Mxp, payload: [] }",
                "OptionChanged { option: Msp, side: Local, enabled: true }",
                "Subnegotiation { option: Msp, payload: [33, 33, 83, 79, 85, 78, 68, 40, 120, 46, 119, 97, 118, 41] }",
            ]
        );
    }

    #[test]
    fn offers_follow_telnetlib3s_step_two() {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        server.start_server_negotiation(ServerPlan {
            offers: Arc::from([TelnetOption::Gmcp, TelnetOption::Msdp]),
            ..ServerPlan::default()
        });
        assert_eq!(transmit(&mut server), b"\xff\xfd\x18");
        server.receive(b"\xff\xfb\x18", &mut Log::default()); // WILL TTYPE: advances
        assert_eq!(
            transmit(&mut server),
            [
                &b"\xff\xfa\x18\x01\xff\xf0"[..], // SB TTYPE SEND
                b"\xff\xfb\x03\xff\xfb\x00",      // WILL SGA, WILL BINARY
                b"\xff\xfd\x1f\xff\xfd\x2a",      // DO NAWS, DO CHARSET
                b"\xff\xfb\xc9\xff\xfb\x45",      // WILL GMCP, WILL MSDP
            ]
            .concat()
        );
    }

    /// GMCP, MSDP and MSSP items of 7 902 bytes (a subnegotiation holds 8 KiB at most):
    /// eight fit in each store's 64 KiB, the ninth is reported by its own event and then
    /// by `MudDataDropped`, and is not kept.
    #[test]
    fn a_full_store_reports_what_it_drops() {
        /// The payload of item `n`, around `big`.
        type Payload = fn(usize, &str) -> Vec<u8>;
        let big = "x".repeat(7_890);
        let frames: [(TelnetOption, Payload); 3] = [
            (TelnetOption::Gmcp, |n, big| {
                format!("Pkg{n:05} \"{big}\"").into_bytes()
            }),
            (TelnetOption::Msdp, |n, big| {
                [
                    &[1][..],
                    format!("VAR{n:05}").as_bytes(),
                    &[2],
                    big.as_bytes(),
                ]
                .concat()
            }),
            (TelnetOption::Mssp, |n, big| {
                [
                    &[1][..],
                    format!("VAR{n:05}").as_bytes(),
                    &[2],
                    big.as_bytes(),
                ]
                .concat()
            }),
        ];
        for (option, payload) in frames {
            let mut server =
                Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
            let mut log = Log::default();
            server.receive(&[255, 251, option.code()], &mut log);
            for n in 0..9 {
                let frame = [
                    &[255, 250, option.code()][..],
                    &payload(n, &big),
                    &[255, 240],
                ];
                server.receive(&frame.concat(), &mut log);
            }
            let dropped: Vec<&String> = log
                .events
                .iter()
                .filter(|event| event.starts_with("MudDataDropped"))
                .collect();
            let name = if option == TelnetOption::Gmcp {
                "Pkg00008"
            } else {
                "VAR00008"
            };
            assert_eq!(
                dropped,
                [&format!(
                    "MudDataDropped(DataDropped {{ option: {option:?}, name: \"{name}\" }})"
                )],
                "{option:?}"
            );
            let kept = match option {
                TelnetOption::Gmcp => server.gmcp_data().len(),
                TelnetOption::Msdp => server.msdp_data().len(),
                _ => server.mssp_data().len(),
            };
            assert_eq!(kept, 8, "{option:?}");
        }
    }

    /// TinTin++ 2.02's TTYPE cycle and NEW-ENVIRON answer (MNES), as it sends them: the
    /// MTTS flags come from its third terminal type, and its MNES variables, which the
    /// server's SEND asks for with a bare VAR ("every variable"), stay in the environ store.
    #[test]
    fn mtts_flags_and_mnes_variables_of_a_mud_client() {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        server.start_server_negotiation(ServerPlan::default());
        let mut log = Log::default();
        server.receive(b"\xff\xfb\x18", &mut log);
        assert_eq!(server.mtts(), None);
        for name in ["TINTIN++", "tmux-256color", "MTTS 2831"] {
            let frame = [b"\xff\xfa\x18\x00", name.as_bytes(), b"\xff\xf0"].concat();
            server.receive(&frame, &mut log);
        }
        assert_eq!(
            server.mtts(),
            Some(
                Mtts::ANSI
                    | Mtts::VT100
                    | Mtts::UTF8
                    | Mtts::COLORS_256
                    | Mtts::TRUECOLOR
                    | Mtts::MNES
                    | Mtts::SSL
            )
        );
        assert_eq!(server.terminal_type(), Some("tmux-256color"));
        server.receive(b"\xff\xfb\x27", &mut log); // WILL NEW-ENVIRON
        let send = transmit(&mut server);
        // The SEND ends with a bare VAR and a bare USERVAR: "send every variable".
        assert!(send.ends_with(b"\x00\x03\xff\xf0"), "{send:?}");
        server.receive(
            b"\xff\xfa\x27\x00\x00CLIENT_NAME\x01TinTin++\x00CLIENT_VERSION\x012.02.20\
              \x00CHARSET\x01UTF-8\x00MTTS\x012831\x00TERMINAL_TYPE\x01tmux-256color\xff\xf0",
            &mut log,
        );
        let value = |name: &str| {
            server
                .environ_var(name)
                .and_then(|v| v.value.clone())
                .map(|v| String::from_utf8(v).unwrap())
        };
        assert_eq!(value("CLIENT_NAME").as_deref(), Some("TinTin++"));
        assert_eq!(value("CLIENT_VERSION").as_deref(), Some("2.02.20"));
        assert_eq!(value("MTTS").as_deref(), Some("2831"));
        assert_eq!(value("TERMINAL_TYPE").as_deref(), Some("tmux-256color"));
    }
}
