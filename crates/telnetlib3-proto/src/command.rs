//! Telnet command bytes (RFC 854 and the extensions that add commands).

use core::fmt;

/// Interpret As Command: introduces every command (RFC 854).
pub const IAC: u8 = 255;
/// Option negotiation verbs and subnegotiation framing bytes.
pub(crate) const DONT: u8 = 254;
pub(crate) const DO: u8 = 253;
pub(crate) const WONT: u8 = 252;
pub(crate) const WILL: u8 = 251;
pub(crate) const SB: u8 = 250;
pub(crate) const SE: u8 = 240;

/// A two-byte Telnet command (`IAC <command>`), other than negotiation and subnegotiation.
///
/// Unlisted bytes are carried by [`Command::Unknown`] so that a peer's odd command can be
/// reported without losing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command {
    /// End of file (BSD `xEOF`, RFC 1184), 236.
    Eof,
    /// Suspend process (RFC 1184), 237.
    Susp,
    /// Abort process (RFC 1184), 238.
    Abort,
    /// End of record (RFC 885), 239.
    Eor,
    /// No operation, 241.
    Nop,
    /// Data mark, the data-stream part of a Synch, 242.
    Dm,
    /// Break, 243.
    Brk,
    /// Interrupt process, 244.
    Ip,
    /// Abort output, 245.
    Ao,
    /// Are you there, 246.
    Ayt,
    /// Erase character, 247.
    Ec,
    /// Erase line, 248.
    El,
    /// Go ahead, 249.
    Ga,
    /// Any other byte after IAC that is not a negotiation verb, SB, SE or IAC.
    Unknown(u8),
}

impl Command {
    /// The command byte on the wire (the byte after IAC).
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Eof => 236,
            Self::Susp => 237,
            Self::Abort => 238,
            Self::Eor => 239,
            Self::Nop => 241,
            Self::Dm => 242,
            Self::Brk => 243,
            Self::Ip => 244,
            Self::Ao => 245,
            Self::Ayt => 246,
            Self::Ec => 247,
            Self::El => 248,
            Self::Ga => 249,
            Self::Unknown(code) => code,
        }
    }

    /// The command for a byte that follows IAC and is not WILL/WONT/DO/DONT/SB/IAC.
    #[must_use]
    pub const fn from_code(code: u8) -> Self {
        match code {
            236 => Self::Eof,
            237 => Self::Susp,
            238 => Self::Abort,
            239 => Self::Eor,
            241 => Self::Nop,
            242 => Self::Dm,
            243 => Self::Brk,
            244 => Self::Ip,
            245 => Self::Ao,
            246 => Self::Ayt,
            247 => Self::Ec,
            248 => Self::El,
            249 => Self::Ga,
            other => Self::Unknown(other),
        }
    }
}

impl fmt::Display for Command {
    /// The name telnetlib3 logs (`AYT`, `CMD_EOR`, ...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Eof => "EOF",
            Self::Susp => "SUSP",
            Self::Abort => "ABORT",
            Self::Eor => "CMD_EOR",
            Self::Nop => "NOP",
            Self::Dm => "DM",
            Self::Brk => "BRK",
            Self::Ip => "IP",
            Self::Ao => "AO",
            Self::Ayt => "AYT",
            Self::Ec => "EC",
            Self::El => "EL",
            Self::Ga => "GA",
            Self::Unknown(code) => return write!(f, "{code:#04x}"),
        };
        f.write_str(name)
    }
}

/// An option negotiation verb (RFC 854).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    /// The sender wants to begin, or confirms it now performs, an option (251).
    Will,
    /// The sender refuses to perform, or stops performing, an option (252).
    Wont,
    /// The sender asks the receiver to perform, or confirms it expects, an option (253).
    Do,
    /// The sender demands the receiver stop, or confirms it no longer expects, an option (254).
    Dont,
}

impl Verb {
    /// The verb byte on the wire.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Will => WILL,
            Self::Wont => WONT,
            Self::Do => DO,
            Self::Dont => DONT,
        }
    }

    /// The verb for a wire byte, if it is one.
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            WILL => Some(Self::Will),
            WONT => Some(Self::Wont),
            DO => Some(Self::Do),
            DONT => Some(Self::Dont),
            _ => None,
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Will => "WILL",
            Self::Wont => "WONT",
            Self::Do => "DO",
            Self::Dont => "DONT",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_codes_round_trip() {
        for code in 0..=255u8 {
            if Verb::from_code(code).is_some() || matches!(code, SB | SE | IAC) {
                continue;
            }
            assert_eq!(Command::from_code(code).code(), code);
        }
        assert_eq!(Command::Eor.code(), 239);
        assert_eq!(Command::Ga.to_string(), "GA");
        assert_eq!(Command::Unknown(0x41).to_string(), "0x41");
    }
}
