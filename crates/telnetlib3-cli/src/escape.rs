//! The interactive client's command prompt, as BSD telnet's: the escape character
//! (Ctrl-] unless `-e` says otherwise) leaves the session for `telnet> `, where one
//! command runs and the session resumes (an empty line resumes at once).
//!
//! Sans-IO: [`parse`] reads a line into an [`EscapeCommand`] (commands and their
//! arguments may be shortened to any unique prefix, as BSD telnet allows), [`status`]
//! and [`HELP`] are the texts shown; the client runs the rest.

use telnetlib3::proto::{Command, Mode, Session, Side, TelnetOption};

use crate::client::Forced;

/// The prompt.
pub const PROMPT: &str = "telnet> ";

/// What `?` and `help` print, one command a line, BSD telnet's wording where it has one.
pub const HELP: &str = "\
Commands may be abbreviated.  Commands are:\r\n\
\r\n\
close\t\tclose current connection\r\n\
quit\t\texit telnet\r\n\
send\t\ttransmit special characters ('send ?' for more)\r\n\
status\t\tprint status information\r\n\
mode\t\ttry to enter line or character mode ('mode ?' for more)\r\n\
set escape\tset the escape character ('off' for none)\r\n\
z\t\tsuspend telnet\r\n\
?\t\tprint help information\r\n\
<Enter>\t\treturn to the session\r\n";

/// What `send ?` prints.
pub const SEND_HELP: &str = "\
ayt\tsend Telnet 'Are You There'\r\n\
brk\tsend Telnet Break\r\n\
ip\tsend Telnet Interrupt Process\r\n\
ao\tsend Telnet Abort Output\r\n\
synch\tperform Telnet 'Synch' operation\r\n\
nop\tsend Telnet 'No operation'\r\n\
eof\tsend Telnet End of File Character\r\n\
susp\tsend Telnet Suspend Process\r\n\
abort\tsend Telnet Abort Process\r\n\
ec\tsend Telnet Erase Character\r\n\
el\tsend Telnet Erase Line\r\n\
ga\tsend Telnet 'Go Ahead' sequence\r\n\
eor\tsend Telnet End of Record\r\n";

/// What `mode ?` prints.
pub const MODE_HELP: &str = "\
line\t\tline-by-line mode: the terminal edits and echoes\r\n\
character\tcharacter-at-a-time mode\r\n\
auto\t\tfollow the server's negotiation again\r\n";

/// One line typed at the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EscapeCommand {
    /// An empty line: back to the session.
    Resume,
    /// `close` or `quit`: end the connection (and the client).
    Close,
    /// `send ...`: a Telnet command to the server.
    Send(Command),
    /// `send synch`: `IAC DM` as TCP urgent data, after the data before it is discarded
    /// by the server (RFC 854).
    Synch,
    /// `status`.
    Status,
    /// `mode line|character|auto`: the terminal mode, or following the server again
    /// (`None`).
    Mode(Option<Forced>),
    /// `set escape CHAR`: the new escape character, `None` for none (`off`).
    SetEscape(Option<u8>),
    /// `z`: suspend the client.
    Suspend,
    /// `?`, `help`: print this text.
    Help(&'static str),
    /// Anything else: print this one-line complaint.
    Invalid(String),
}

/// The commands, with what each word may be shortened to.
const COMMANDS: [&str; 9] = [
    "close", "quit", "send", "status", "mode", "set", "z", "help", "?",
];

/// The sendable names, each with its command (`synch` aside).
const SENDABLE: [(&str, Option<Command>); 13] = [
    ("ayt", Some(Command::Ayt)),
    ("brk", Some(Command::Brk)),
    ("ip", Some(Command::Ip)),
    ("ao", Some(Command::Ao)),
    ("synch", None),
    ("nop", Some(Command::Nop)),
    ("eof", Some(Command::Eof)),
    ("susp", Some(Command::Susp)),
    ("abort", Some(Command::Abort)),
    ("ec", Some(Command::Ec)),
    ("el", Some(Command::El)),
    ("ga", Some(Command::Ga)),
    ("eor", Some(Command::Eor)),
];

/// The one word of `choices` that `word` names: itself, or the only one it begins.
fn pick<'a>(
    word: &str,
    choices: impl IntoIterator<Item = &'a str> + Clone,
) -> Result<&'a str, String> {
    let word = word.to_ascii_lowercase();
    if let Some(exact) = choices.clone().into_iter().find(|choice| *choice == word) {
        return Ok(exact);
    }
    let mut matching = choices
        .into_iter()
        .filter(|choice| choice.starts_with(&word));
    match (matching.next(), matching.next()) {
        (Some(only), None) => Ok(only),
        (Some(_), Some(_)) => Err(format!("?Ambiguous command '{word}'")),
        (None, _) => Err(format!("?Invalid command '{word}'")),
    }
}

/// Read a line typed at the prompt (without its end of line).
#[must_use]
pub fn parse(line: &str) -> EscapeCommand {
    let mut words = line.split_whitespace();
    let Some(first) = words.next() else {
        return EscapeCommand::Resume;
    };
    let command = match pick(first, COMMANDS) {
        Ok(command) => command,
        Err(complaint) => return EscapeCommand::Invalid(complaint),
    };
    let argument = words.next();
    match (command, argument) {
        ("close" | "quit", _) => EscapeCommand::Close,
        ("status", _) => EscapeCommand::Status,
        ("z", _) => EscapeCommand::Suspend,
        ("help" | "?", _) => EscapeCommand::Help(HELP),
        ("send", None | Some("?")) => EscapeCommand::Help(SEND_HELP),
        ("send", Some(name)) => match pick(name, SENDABLE.map(|(name, _)| name)) {
            Ok(name) => match SENDABLE.iter().find(|(known, _)| *known == name) {
                Some((_, Some(command))) => EscapeCommand::Send(*command),
                _ => EscapeCommand::Synch,
            },
            Err(complaint) => EscapeCommand::Invalid(complaint),
        },
        ("mode", None | Some("?")) => EscapeCommand::Help(MODE_HELP),
        ("mode", Some(name)) => match pick(name, ["line", "character", "auto"]) {
            Ok("line") => EscapeCommand::Mode(Some(Forced::Line)),
            Ok("character") => EscapeCommand::Mode(Some(Forced::Raw)),
            Ok(_) => EscapeCommand::Mode(None),
            Err(complaint) => EscapeCommand::Invalid(complaint),
        },
        ("set", Some(variable)) => match (pick(variable, ["escape"]), words.next()) {
            (Ok(_), Some(value)) => match parse_escape(value) {
                Ok(escape) => EscapeCommand::SetEscape(escape),
                Err(complaint) => EscapeCommand::Invalid(complaint),
            },
            (Ok(_), None) => EscapeCommand::Invalid("?Need an argument to 'set escape'".into()),
            (Err(complaint), _) => EscapeCommand::Invalid(complaint),
        },
        ("set", None) => EscapeCommand::Invalid("?Need an argument to 'set'".into()),
        _ => EscapeCommand::Invalid(format!("?Invalid command '{first}'")),
    }
}

/// An escape character as BSD telnet writes them: `^]`, `^X`, `^?` (DEL), one
/// character, or `off`/`none` for none.
///
/// # Errors
///
/// A one-line complaint for anything else.
pub fn parse_escape(text: &str) -> Result<Option<u8>, String> {
    match text.as_bytes() {
        b"off" | b"none" => Ok(None),
        b"^?" => Ok(Some(0x7f)),
        [b'^', letter] if letter.is_ascii_alphabetic() || b"@[\\]^_".contains(letter) => {
            Ok(Some(letter.to_ascii_uppercase() & 0x1f))
        }
        [byte] if byte.is_ascii() => Ok(Some(*byte)),
        _ => Err(format!(
            "?'{text}' is not an escape character (^], ^X, one character, or off)"
        )),
    }
}

/// An escape character as [`parse_escape`] reads it (`^]`, `^?`, `x`, `off`).
#[must_use]
pub fn show_escape(escape: Option<u8>) -> String {
    match escape {
        None => "off".to_string(),
        Some(0x7f) => "^?".to_string(),
        Some(byte) if byte < 0x20 => format!("^{}", char::from(byte | 0x40)),
        Some(byte) => char::from(byte).to_string(),
    }
}

/// What the connection is like now, for `status`: the peer, the mode, the options
/// agreed each way, the encoding, TLS and compression when in use, the escape character.
#[must_use]
pub fn status(session: &Session, peer: &str, details: &StatusDetails<'_>) -> String {
    let mut lines = vec![format!("Connected to {peer}.")];
    let linemode = session.local_enabled(TelnetOption::Linemode);
    lines.push(
        match (session.mode(), linemode) {
            (Mode::Local, true) => "Operating in line mode (LINEMODE EDIT: we edit lines).",
            (Mode::Remote, _) => "Operating in character mode (LINEMODE without EDIT).",
            (Mode::Kludge, _) => "Operating in character mode (the server echoes, no go-aheads).",
            (Mode::Local, false) if session.remote_enabled(TelnetOption::Echo) => {
                "Operating in line mode, the server echoing."
            }
            (Mode::Local, false) => "Operating in line mode (NVT).",
        }
        .to_string(),
    );
    lines.push(
        match details.forced {
            Some(Forced::Line) => "Terminal mode: line, as asked with 'mode line'.",
            Some(Forced::Raw) => "Terminal mode: character, as asked with 'mode character'.",
            None => "Terminal mode: following the server.",
        }
        .to_string(),
    );
    let agreed = |side: Side| {
        let mut names: Vec<String> = session
            .enabled_options(side)
            .map(|o| o.to_string())
            .collect();
        names.sort();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(" ")
        }
    };
    lines.push(format!("We do: {}", agreed(Side::Local)));
    lines.push(format!("The server does: {}", agreed(Side::Remote)));
    lines.push(format!("Encoding: {}", details.encoding));
    if let Some(tls) = details.tls {
        lines.push(format!("TLS: {tls}"));
    }
    let compression: Vec<&str> = [
        (TelnetOption::Mccp2, "MCCP2 (from the server)"),
        (TelnetOption::Mccp3, "MCCP3 (to the server)"),
    ]
    .iter()
    .filter(|(option, _)| session.local_enabled(*option) || session.remote_enabled(*option))
    .map(|(_, name)| *name)
    .collect();
    if !compression.is_empty() {
        lines.push(format!("Compression: {}", compression.join(", ")));
    }
    lines.push(format!(
        "Escape character is '{}'.",
        show_escape(details.escape)
    ));
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    text
}

/// What [`status`] reports beyond the session.
#[derive(Clone, Debug)]
pub struct StatusDetails<'a> {
    /// The encoding's name, or `none (bytes)`.
    pub encoding: &'a str,
    /// The TLS version and cipher, when over TLS.
    pub tls: Option<&'a str>,
    /// The terminal mode asked for with `mode`, if any.
    pub forced: Option<Forced>,
    /// The escape character.
    pub escape: Option<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_arguments_take_unique_prefixes() {
        assert_eq!(parse(""), EscapeCommand::Resume);
        assert_eq!(parse("   "), EscapeCommand::Resume);
        assert_eq!(parse("q"), EscapeCommand::Close);
        assert_eq!(parse("cl"), EscapeCommand::Close);
        assert_eq!(parse("send ayt"), EscapeCommand::Send(Command::Ayt));
        assert_eq!(
            parse("sen a"),
            EscapeCommand::Invalid("?Ambiguous command 'a'".into())
        );
        assert_eq!(parse("send ab"), EscapeCommand::Send(Command::Abort));
        assert_eq!(parse("send SYNCH"), EscapeCommand::Synch);
        assert_eq!(parse("send ?"), EscapeCommand::Help(SEND_HELP));
        assert_eq!(parse("st"), EscapeCommand::Status);
        assert_eq!(
            parse("s"),
            EscapeCommand::Invalid("?Ambiguous command 's'".into())
        );
        assert_eq!(parse("mode l"), EscapeCommand::Mode(Some(Forced::Line)));
        assert_eq!(parse("mode char"), EscapeCommand::Mode(Some(Forced::Raw)));
        assert_eq!(parse("mode auto"), EscapeCommand::Mode(None));
        assert_eq!(parse("set escape ^X"), EscapeCommand::SetEscape(Some(0x18)));
        assert_eq!(parse("set esc off"), EscapeCommand::SetEscape(None));
        assert_eq!(parse("z"), EscapeCommand::Suspend);
        assert_eq!(parse("?"), EscapeCommand::Help(HELP));
        assert_eq!(
            parse("open x"),
            EscapeCommand::Invalid("?Invalid command 'open'".into())
        );
        assert_eq!(
            parse("set escape"),
            EscapeCommand::Invalid("?Need an argument to 'set escape'".into())
        );
    }

    #[test]
    fn escape_characters_read_and_show_as_bsd_telnet_writes_them() {
        for (text, byte) in [
            ("^]", Some(0x1d)),
            ("^x", Some(0x18)),
            ("^?", Some(0x7f)),
            ("~", Some(b'~')),
            ("off", None),
        ] {
            assert_eq!(parse_escape(text), Ok(byte), "{text}");
        }
        assert_eq!(show_escape(Some(0x1d)), "^]");
        assert_eq!(show_escape(Some(0x18)), "^X");
        assert_eq!(show_escape(Some(b'~')), "~");
        assert!(parse_escape("^1").is_err());
        assert!(parse_escape("ab").is_err());
    }
}
