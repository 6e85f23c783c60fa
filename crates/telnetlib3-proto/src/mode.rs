//! The session's input mode, derived from ECHO (RFC 857), SGA (RFC 858) and LINEMODE
//! (RFC 1184), and the prompt markers GA (RFC 854) and EOR (RFC 885).

use core::fmt;

use crate::command::Command;
use crate::link::{Role, Side};
use crate::option::TelnetOption;
use crate::session::Session;

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
        if self
            .core
            .link
            .enabled(TelnetOption::Linemode, linemode_side)
        {
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
            .is_some_and(|mode| mode.contains(crate::options::linemode::ModeMask::EDIT))
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

    /// Queue `data` as [`Session::send_data`] does, and take it as complete: under the NVT
    /// rules a CR that ends it goes out at once with its NUL (CR NUL, RFC 854), instead
    /// of its NUL waiting for the next data to show whether LF follows.
    ///
    /// For input whose end means something, such as what a keyboard gave: Enter typed
    /// alone is a whole CR, and a peer that drops the byte after a CR only within one
    /// read (busybox telnetd) must get both together, as BSD telnet sends them. In BINARY
    /// (RFC 856) the CR goes as it is.
    pub fn send_data_complete(&mut self, data: &[u8]) {
        self.send_data(data);
        self.core.link.before_frame();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::{transmit, Log};
    use crate::{Policy, SessionConfig};

    #[test]
    fn server_modes() {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
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
        let mut client = Session::new(Role::Client, SessionConfig::with_policy(Policy::client()));
        client.receive(b"\xff\xfb\x01\xff\xfb\x03", &mut Log::default());
        assert_eq!(transmit(&mut client), b"\xff\xfd\x01\xff\xfd\x03");
        assert_eq!(client.mode(), Mode::Kludge);
        client.receive(b"\xff\xfc\x01", &mut Log::default());
        assert_eq!(client.mode(), Mode::Local);
    }

    #[test]
    fn go_ahead_is_suppressed_by_sga_and_eor_needs_will_eor() {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        assert!(server.send_go_ahead());
        assert!(!server.send_end_of_record());
        assert_eq!(transmit(&mut server), b"\xff\xf9");
        server.receive(b"\xff\xfd\x03\xff\xfd\x19", &mut Log::default());
        assert_eq!(transmit(&mut server), b"\xff\xfb\x03\xff\xfb\x19");
        assert!(!server.send_go_ahead());
        assert!(server.send_end_of_record());
        assert_eq!(transmit(&mut server), b"\xff\xef");
    }

    #[test]
    fn complete_data_ends_a_cr_with_its_nul_at_once() {
        let mut client = Session::new(Role::Client, SessionConfig::with_policy(Policy::client()));
        // A stream's CR waits for what follows: LF makes CR LF, anything else CR NUL.
        client.send_data(b"echo one\r");
        assert_eq!(transmit(&mut client), b"echo one\r");
        client.send_data_complete(b"\n");
        assert_eq!(transmit(&mut client), b"\n");
        // Complete input: the CR's NUL goes with it, in the same output.
        client.send_data_complete(b"echo one\r");
        assert_eq!(transmit(&mut client), b"echo one\r\0");
        client.send_data_complete(b"\r");
        assert_eq!(transmit(&mut client), b"\r\0");
        client.send_data_complete(b"ls\n");
        assert_eq!(transmit(&mut client), b"ls\r\n");
        // Nothing more: the pending CR of earlier data is finished.
        client.send_data(b"a\r");
        client.send_data_complete(b"");
        assert_eq!(transmit(&mut client), b"a\r\0");
        // BINARY (RFC 856): no end-of-line rule, the CR goes alone.
        client.receive(b"\xff\xfd\x00", &mut Log::default());
        assert_eq!(transmit(&mut client), b"\xff\xfb\x00");
        client.send_data_complete(b"echo one\r");
        assert_eq!(transmit(&mut client), b"echo one\r");
    }
}
