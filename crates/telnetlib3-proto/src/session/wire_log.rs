//! Debug logging of the protocol, worded as telnetlib3's (`recv IAC DO TTYPE`,
//! `send IAC WILL SGA`, `send IAC SB TTYPE SEND IAC SE`).
//!
//! Every function here is called only once `tracing` says the debug level is enabled, so a
//! connection whose log level is above debug pays for one level check per frame and
//! formats nothing.

use core::fmt::{self, Write as _};

use memchr::memchr;

use crate::command::{Command, Verb, IAC, SB, SE};
use crate::option::TelnetOption;

/// The most payload bytes shown for one subnegotiation; the rest is counted, not shown.
const SHOWN_PAYLOAD: usize = 256;

/// Whether the protocol log is on: one cached level check.
#[inline]
pub(super) fn enabled() -> bool {
    tracing::enabled!(tracing::Level::DEBUG)
}

/// `recv` or `send` one command frame.
pub(super) fn command(direction: &str, command: Command) {
    tracing::debug!("{direction} IAC {command}");
}

/// `recv` or `send` one negotiation.
pub(super) fn negotiation(direction: &str, verb: Verb, option: TelnetOption) {
    tracing::debug!("{direction} IAC {verb} {}", OptionName(option));
}

/// `recv` or `send` one subnegotiation, decoded (`IAC SB NAWS 80 25 IAC SE`).
pub(super) fn subnegotiation(direction: &str, option: TelnetOption, payload: &[u8]) {
    tracing::debug!(
        "{direction} IAC SB {} IAC SE",
        Subnegotiation { option, payload }
    );
}

/// Log every frame in `wire` (bytes we queued for the peer, starting at a frame
/// boundary): commands, negotiations and subnegotiations; data is skipped.
pub(super) fn sent(wire: &[u8]) {
    let mut at = 0;
    while let Some(found) = memchr(IAC, &wire[at..]) {
        let start = at + found;
        let Some(&byte) = wire.get(start + 1) else {
            return;
        };
        at = start + 2;
        if byte == IAC {
            continue; // an escaped data byte
        }
        if let Some(verb) = Verb::from_code(byte) {
            let Some(&option) = wire.get(start + 2) else {
                return; // cut short: nothing follows
            };
            negotiation("send", verb, TelnetOption::from(option));
            at = start + 3;
        } else if byte == SB {
            let Some(&option) = wire.get(start + 2) else {
                return;
            };
            let (payload, end) = unescape_until_se(&wire[start + 3..]);
            subnegotiation("send", TelnetOption::from(option), &payload);
            at = start + 3 + end;
        } else if byte != SE {
            command("send", Command::from_code(byte));
        }
    }
}

/// The payload of a subnegotiation, IAC IAC undone, and how many bytes up to and including
/// its `IAC SE`.
fn unescape_until_se(wire: &[u8]) -> (Vec<u8>, usize) {
    let mut payload = Vec::new();
    let mut at = 0;
    while at < wire.len() {
        match (wire[at], wire.get(at + 1)) {
            (IAC, Some(&IAC)) => {
                payload.push(IAC);
                at += 2;
            }
            (IAC, Some(&SE)) => return (payload, at + 2),
            (byte, _) => {
                payload.push(byte);
                at += 1;
            }
        }
    }
    (payload, at)
}

/// An option's name, or its number when it has none.
struct OptionName(TelnetOption);

impl fmt::Display for OptionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.0.code()),
        }
    }
}

/// A subnegotiation as the log shows it: the option, its command's name, then the rest
/// (text in quotes, NAWS as two numbers, NEW-ENVIRON's VAR/VALUE markers by name).
struct Subnegotiation<'a> {
    option: TelnetOption,
    payload: &'a [u8],
}

impl fmt::Display for Subnegotiation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TelnetOption as O;
        write!(f, "{}", OptionName(self.option))?;
        let payload = self.payload;
        if self.option == O::Naws {
            if let [w0, w1, h0, h1] = *payload {
                let width = u16::from_be_bytes([w0, w1]);
                let height = u16::from_be_bytes([h0, h1]);
                return write!(f, " {width} {height}");
            }
            return write!(f, " {}", Quoted(payload));
        }
        let Some((&first, rest)) = payload.split_first() else {
            return Ok(());
        };
        // RFC 1091, 1079, 1096, 1572, 859: IS 0, SEND 1, INFO 2 (NEW-ENVIRON);
        // RFC 2066: REQUEST 1, ACCEPTED 2, REJECTED 3, TTABLE-*; RFC 1372; RFC 1184.
        let name = match (self.option, first) {
            (O::Ttype | O::Tspeed | O::Xdisploc | O::Status, 0) => Some("IS"),
            (O::Ttype | O::Tspeed | O::Xdisploc | O::Status, 1) => Some("SEND"),
            (O::NewEnviron | O::OldEnviron, 0) => Some("IS"),
            (O::NewEnviron | O::OldEnviron, 1) => Some("SEND"),
            (O::NewEnviron | O::OldEnviron, 2) => Some("INFO"),
            (O::Charset, 1) => Some("REQUEST"),
            (O::Charset, 2) => Some("ACCEPTED"),
            (O::Charset, 3) => Some("REJECTED"),
            (O::Charset, 4) => Some("TTABLE-IS"),
            (O::Charset, 5) => Some("TTABLE-REJECTED"),
            (O::Charset, 6) => Some("TTABLE-ACK"),
            (O::Charset, 7) => Some("TTABLE-NAK"),
            (O::Lflow, 0) => Some("OFF"),
            (O::Lflow, 1) => Some("ON"),
            (O::Lflow, 2) => Some("RESTART-ANY"),
            (O::Lflow, 3) => Some("RESTART-XON"),
            (O::Linemode, 1) => Some("MODE"),
            (O::Linemode, 3) => Some("SLC"),
            (O::Linemode, 251) => Some("WILL"),
            (O::Linemode, 252) => Some("WONT"),
            (O::Linemode, 253) => Some("DO"),
            (O::Linemode, 254) => Some("DONT"),
            _ => None,
        };
        let Some(name) = name else {
            return write!(f, " {}", Quoted(payload));
        };
        write!(f, " {name}")?;
        match self.option {
            O::NewEnviron | O::OldEnviron => environ(f, rest),
            O::Linemode | O::Status | O::Lflow => hex(f, rest),
            _ if rest.is_empty() => Ok(()),
            _ => write!(f, " {}", Quoted(rest)),
        }
    }
}

/// NEW-ENVIRON's list: `VAR "USER" VALUE "root" USERVAR ...` (RFC 1572: VAR 0, VALUE 1,
/// ESC 2, USERVAR 3).
fn environ(f: &mut fmt::Formatter<'_>, mut rest: &[u8]) -> fmt::Result {
    let mut shown = 0;
    while let Some((&marker, after)) = rest.split_first() {
        let name = match marker {
            0 => "VAR",
            1 => "VALUE",
            3 => "USERVAR",
            _ => return write!(f, " {}", Quoted(rest)),
        };
        let end = after.iter().position(|&b| b <= 3).unwrap_or(after.len());
        write!(f, " {name}")?;
        if end > 0 {
            write!(f, " {}", Quoted(&after[..end]))?;
        }
        rest = &after[end..];
        shown += 1;
        if shown >= SHOWN_PAYLOAD / 8 && !rest.is_empty() {
            return write!(f, " ... ({} bytes more)", rest.len());
        }
    }
    Ok(())
}

/// Bytes as two-digit hex, space separated.
fn hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for byte in bytes.iter().take(SHOWN_PAYLOAD) {
        write!(f, " {byte:02x}")?;
    }
    if bytes.len() > SHOWN_PAYLOAD {
        write!(f, " ... ({} bytes more)", bytes.len() - SHOWN_PAYLOAD)?;
    }
    Ok(())
}

/// Bytes in double quotes, printable ASCII as is, the rest as `\xNN`.
struct Quoted<'a>(&'a [u8]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for &byte in self.0.iter().take(SHOWN_PAYLOAD) {
            match byte {
                b'"' | b'\\' => write!(f, "\\{}", byte as char)?,
                0x20..=0x7e => f.write_char(byte as char)?,
                _ => write!(f, "\\x{byte:02x}")?,
            }
        }
        f.write_char('"')?;
        if self.0.len() > SHOWN_PAYLOAD {
            write!(f, " ... ({} bytes more)", self.0.len() - SHOWN_PAYLOAD)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(option: TelnetOption, payload: &[u8]) -> String {
        Subnegotiation { option, payload }.to_string()
    }

    #[test]
    fn subnegotiations_are_decoded() {
        use TelnetOption as O;
        assert_eq!(shown(O::Ttype, b"\x00xterm"), "TTYPE IS \"xterm\"");
        assert_eq!(shown(O::Ttype, b"\x01"), "TTYPE SEND");
        assert_eq!(shown(O::Naws, &[0, 80, 0, 25]), "NAWS 80 25");
        assert_eq!(
            shown(O::NewEnviron, b"\x00\x00USER\x01root\x03X"),
            "NEW_ENVIRON IS VAR \"USER\" VALUE \"root\" USERVAR \"X\""
        );
        assert_eq!(
            shown(O::Charset, b"\x01;UTF-8;LATIN1"),
            "CHARSET REQUEST \";UTF-8;LATIN1\""
        );
        assert_eq!(shown(O::Linemode, &[1, 3]), "LINEMODE MODE 03");
        assert_eq!(shown(O::from(150), b"a\xff\""), "150 \"a\\xff\\\"\"");
    }

    #[test]
    fn frames_are_found_in_output() {
        let wire = b"da\xff\xffta\xff\xfb\x03\xff\xfa\x18\x01\xff\xf0\xff\xf6";
        let (payload, end) = unescape_until_se(&wire[12..]);
        assert_eq!((payload.as_slice(), end), (&b"\x01"[..], 3));
        sent(wire); // no subscriber: nothing to see, but no panic on any frame
        sent(b"\xff");
        sent(b"\xff\xfa");
        sent(b"\xff\xfa\x18\x00ab");
        sent(b"\xff\xfb"); // a negotiation cut short after its verb
        sent(b"x\xff\xfd");
    }
}
