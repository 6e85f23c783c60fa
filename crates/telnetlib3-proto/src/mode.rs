//! The session's input mode, derived from ECHO (RFC 857), SGA (RFC 858) and LINEMODE
//! (RFC 1184), and the prompt markers GA (RFC 854) and EOR (RFC 885).

use core::fmt;

use crate::command::Command;
use crate::option::TelnetOption;
use crate::session::{Role, Session, Side};

/// How input is edited and echoed, named as telnetlib3 names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The client edits lines and echoes locally (NVT default).
    Local,
    /// LINEMODE is in force without EDIT: the server edits, character at a time.
    Remote,
    /// "Kludge line mode": the server echoes and go-aheads are suppressed, so the client
    /// sends each character as typed (no LINEMODE negotiated).
    Kludge,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Local => "local",
            Self::Remote => "remote",
            Self::Kludge => "kludge",
        })
    }
}

impl Session {
    /// The input mode, as telnetlib3 computes it: with LINEMODE negotiated, `local` if its
    /// EDIT bit is set and `remote` otherwise; without it, `kludge` when the server echoes
    /// and go-aheads are suppressed, else `local`.
    #[must_use]
    pub fn mode(&self) -> Mode {
        // The client performs LINEMODE (WILL); the server asks for it (DO).
        let linemode_side = match self.role() {
            Role::Server => Side::Remote,
            Role::Client => Side::Local,
        };
        if self.core.enabled(TelnetOption::Linemode, linemode_side) {
            return if self.linemode_edit() {
                Mode::Local
            } else {
                Mode::Remote
            };
        }
        let kludge = match self.role() {
            Role::Server => {
                self.local_enabled(TelnetOption::Echo) && self.local_enabled(TelnetOption::Sga)
            }
            Role::Client => {
                self.remote_enabled(TelnetOption::Echo)
                    && (self.remote_enabled(TelnetOption::Sga)
                        || self.local_enabled(TelnetOption::Sga))
            }
        };
        if kludge {
            Mode::Kludge
        } else {
            Mode::Local
        }
    }

    /// Whether the LINEMODE mode in force has EDIT set (the client edits lines).
    fn linemode_edit(&self) -> bool {
        self.linemode_mode()
            .is_some_and(|mode| mode.contains(crate::options::linemode::Mode::EDIT))
    }

    /// Whether this end echoes the other's input: the server when it WILL ECHO, the
    /// client when the server does not (telnetlib3's `will_echo` is the first half).
    #[must_use]
    pub fn will_echo(&self) -> bool {
        match self.role() {
            Role::Server => self.local_enabled(TelnetOption::Echo),
            Role::Client => self.remote_enabled(TelnetOption::Echo),
        }
    }

    /// Send `IAC GA` after a prompt, unless we suppress go-aheads (we WILL SGA).
    /// Returns whether it was sent.
    pub fn send_go_ahead(&mut self) -> bool {
        if self.local_enabled(TelnetOption::Sga) {
            return false;
        }
        self.send_command(Command::Ga);
        true
    }

    /// Send `IAC EOR` to mark the end of a record or prompt, if we WILL EOR (RFC 885).
    /// Returns whether it was sent.
    pub fn send_end_of_record(&mut self) -> bool {
        if !self.local_enabled(TelnetOption::Eor) {
            return false;
        }
        self.send_command(Command::Eor);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::{transmit, Log};
    use crate::{Config, Policy};

    #[test]
    fn server_modes() {
        let mut server = Session::new(Role::Server, Config::with_policy(Policy::server()));
        assert_eq!(server.mode(), Mode::Local);
        server.request_local(TelnetOption::Echo, true).unwrap();
        server.request_local(TelnetOption::Sga, true).unwrap();
        server.receive(b"\xff\xfd\x01", &mut Log::default());
        assert_eq!(server.mode(), Mode::Local, "SGA not yet agreed");
        server.receive(b"\xff\xfd\x03", &mut Log::default());
        assert_eq!(server.mode(), Mode::Kludge);
        assert!(server.will_echo());
        assert_eq!(server.mode().to_string(), "kludge");
    }

    #[test]
    fn client_modes() {
        let mut client = Session::new(Role::Client, Config::with_policy(Policy::client()));
        client.receive(b"\xff\xfb\x01\xff\xfb\x03", &mut Log::default());
        assert_eq!(transmit(&mut client), b"\xff\xfd\x01\xff\xfd\x03");
        assert_eq!(client.mode(), Mode::Kludge);
        client.receive(b"\xff\xfc\x01", &mut Log::default());
        assert_eq!(client.mode(), Mode::Local);
    }

    #[test]
    fn go_ahead_is_suppressed_by_sga_and_eor_needs_will_eor() {
        let mut server = Session::new(Role::Server, Config::with_policy(Policy::server()));
        assert!(server.send_go_ahead());
        assert!(!server.send_end_of_record());
        assert_eq!(transmit(&mut server), b"\xff\xf9");
        server.receive(b"\xff\xfd\x03\xff\xfd\x19", &mut Log::default());
        assert_eq!(transmit(&mut server), b"\xff\xfb\x03\xff\xfb\x19");
        assert!(!server.send_go_ahead());
        assert!(server.send_end_of_record());
        assert_eq!(transmit(&mut server), b"\xff\xef");
    }
}
