//! ZMP, the Zenith MUD Protocol (option 93): a command and its arguments, each ended by
//! NUL: `IAC SB ZMP "zmp.ping" NUL IAC SE`.
//!
//! Specification: <https://discworld.starturtle.net/external/protocols/zmp.html>.
//!
//! As a family: once ZMP is agreed either way, each command is decoded into
//! [`Event::Message`]; an empty payload or an empty command name is a bad
//! subnegotiation. A client, when the server's `WILL ZMP` is agreed, identifies itself
//! as telnetlib3's client does (`zmp.ident telnetlib3 <version>`, then `zmp.support`
//! for each of [`Config::supported`]). Either end answers `zmp.check` with
//! `zmp.support` or `zmp.no-support`, as the specification asks.

use super::mud_text::best_effort;
use crate::family::{check_mud_payload, Emit, SubnegotiationError};
use crate::link::{Link, Role, Side};
use crate::option::TelnetOption;

/// What this end says about itself with ZMP.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Client: the arguments of the `zmp.ident` sent when the server's ZMP is agreed
    /// (telnetlib3: its name and version). Empty: no `zmp.ident`.
    pub ident: Vec<String>,
    /// The commands and packages (`"zmp."`, `"color.define"`) this end supports: a client
    /// announces each with `zmp.support` after its ident, and either end answers
    /// `zmp.check` from it. Empty by default, as telnetlib3's client (its
    /// `zmp_check_handler` refuses everything).
    pub supported: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ident: vec![
                "telnetlib3".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            ],
            supported: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// `zmp.ident` goes once per connection, as telnetlib3's `_zmp_ident_sent`.
    ident_sent: bool,
}

/// What the application learns from ZMP.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A command arrived.
    Message {
        /// `zmp.ping`, `zmp.input`, ...
        command: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

pub(crate) fn receive(
    config: &Config,
    link: &mut Link,
    emit: &mut impl Emit<Event>,
    option: TelnetOption,
    payload: &[u8],
) -> Result<(), SubnegotiationError> {
    check_mud_payload(link, option, payload)?;
    let mut fields = decode(payload);
    if fields.is_empty() {
        return Err(SubnegotiationError::Empty);
    }
    let command = fields.remove(0);
    if command.is_empty() {
        return Err(SubnegotiationError::Malformed);
    }
    // The specification: "zmp.check" names a command or a package (ending in a dot); the
    // receiver answers "zmp.support" or "zmp.no-support" with the same name.
    if command == "zmp.check" {
        if let Some(name) = fields.first() {
            let answer = if config.supported.iter().any(|known| known == name) {
                "zmp.support"
            } else {
                "zmp.no-support"
            };
            send(link, answer, std::slice::from_ref(name));
        }
    }
    emit.emit(Event::Message {
        command,
        args: fields,
    });
    Ok(())
}

pub(crate) fn changed(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    side: Side,
    enabled: bool,
) {
    // telnetlib3's client identifies itself once the server performs ZMP (`on_will_zmp`).
    if link.role != Role::Client || side != Side::Remote || !enabled || state.ident_sent {
        return;
    }
    state.ident_sent = true;
    if !config.ident.is_empty() {
        send(link, "zmp.ident", &config.ident);
    }
    for command in &config.supported {
        send(link, "zmp.support", std::slice::from_ref(command));
    }
}

/// Queue `IAC SB ZMP <command> NUL <arg> NUL ... IAC SE`.
pub(crate) fn send<A: AsRef<str>>(link: &mut Link, command: &str, args: &[A]) {
    let mut payload = Vec::new();
    encode(command, args, &mut payload);
    link.send_subnegotiation(TelnetOption::Zmp, &payload);
}

/// Decode a payload into the command and its arguments (`[command, arg, ...]`); a last
/// field without its NUL is kept. Text is UTF-8, or Latin-1 if not.
///
/// ```
/// use telnetlib3_proto::options::zmp::decode;
///
/// assert_eq!(decode(b"zmp.ident\0mud\x001.0\0"), ["zmp.ident", "mud", "1.0"]);
/// ```
#[must_use]
pub fn decode(payload: &[u8]) -> Vec<String> {
    let payload = payload.strip_suffix(b"\0").unwrap_or(payload);
    if payload.is_empty() {
        return Vec::new();
    }
    payload.split(|&b| b == 0).map(best_effort).collect()
}

/// Append `command` and `args`, each ended by NUL, to `out`.
///
/// ```
/// use telnetlib3_proto::options::zmp::encode;
///
/// let mut out = Vec::new();
/// encode("zmp.ident", &["telnetlib3", "0.1.0"], &mut out);
/// assert_eq!(out, b"zmp.ident\0telnetlib3\x000.1.0\0");
/// ```
pub fn encode<A: AsRef<str>>(command: &str, args: &[A], out: &mut Vec<u8>) {
    for field in std::iter::once(command).chain(args.iter().map(AsRef::as_ref)) {
        out.extend_from_slice(field.as_bytes());
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Role;
    use crate::options::tests::{transmit, Log};
    use crate::{Policy, Session, SessionConfig};

    #[test]
    fn fields_end_with_nul() {
        assert_eq!(decode(b"zmp.ping\0"), ["zmp.ping"]);
        assert_eq!(decode(b"zmp.check\0zmp.\0"), ["zmp.check", "zmp."]);
        assert_eq!(decode(b"a\0\0b"), ["a", "", "b"]);
        assert!(decode(b"").is_empty());
        assert!(decode(b"\0").is_empty());
        let mut out = Vec::new();
        encode("zmp.input", &["look"], &mut out);
        assert_eq!(decode(&out), ["zmp.input", "look"]);
    }

    #[test]
    fn a_client_agrees_to_zmp_and_identifies_as_telnetlib3() {
        let mut client = Session::new(Role::Client, SessionConfig::with_policy(Policy::client()));
        let mut log = Log::default();
        client.receive(b"\xff\xfb\x5d", &mut log); // WILL ZMP
        let ident = format!("zmp.ident\0telnetlib3\0{}\0", env!("CARGO_PKG_VERSION"));
        assert_eq!(
            transmit(&mut client),
            [
                &b"\xff\xfd\x5d\xff\xfa\x5d"[..],
                ident.as_bytes(),
                b"\xff\xf0"
            ]
            .concat()
        );
        // zmp.check is answered; every command is reported.
        client.receive(
            b"\xff\xfa\x5dzmp.check\0color.\0\xff\xf0\xff\xfa\x5dzmp.ping\0\xff\xf0",
            &mut log,
        );
        assert_eq!(
            transmit(&mut client),
            b"\xff\xfa\x5dzmp.no-support\0color.\0\xff\xf0"
        );
        assert_eq!(
            log.events[1..],
            [
                "Zmp(Message { command: \"zmp.check\", args: [\"color.\"] })",
                "Zmp(Message { command: \"zmp.ping\", args: [] })",
            ]
        );
        assert!(client.send_zmp("zmp.input", &["look"]));
        assert_eq!(
            transmit(&mut client),
            b"\xff\xfa\x5dzmp.input\0look\0\xff\xf0"
        );
    }

    #[test]
    fn supported_commands_are_announced_and_checked() {
        let mut config = SessionConfig::with_policy(Policy::client());
        config.zmp.ident.clear();
        config.zmp.supported = vec!["zmp.".into()];
        let mut client = Session::new(Role::Client, config);
        let mut log = Log::default();
        client.receive(
            b"\xff\xfb\x5d\xff\xfa\x5dzmp.check\0zmp.\0\xff\xf0",
            &mut log,
        );
        assert_eq!(
            transmit(&mut client),
            b"\xff\xfd\x5d\xff\xfa\x5dzmp.support\0zmp.\0\xff\xf0\xff\xfa\x5dzmp.support\0zmp.\0\xff\xf0"
        );
    }

    #[test]
    fn bad_payloads_and_unagreed_zmp_are_refused() {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        let mut log = Log::default();
        server.receive(b"\xff\xfa\x5dzmp.ping\0\xff\xf0", &mut log);
        server.receive(
            b"\xff\xfb\x5d\xff\xfa\x5d\xff\xf0\xff\xfa\x5d\0x\0\xff\xf0",
            &mut log,
        );
        assert_eq!(
            log.events,
            [
                "BadSubnegotiation { option: Zmp, error: NotAllowed }",
                "OptionChanged { option: Zmp, side: Remote, enabled: true }",
                "BadSubnegotiation { option: Zmp, error: Empty }",
                "BadSubnegotiation { option: Zmp, error: Malformed }",
            ]
        );
        // A server does not identify itself.
        assert_eq!(transmit(&mut server), b"\xff\xfd\x5d");
    }
}
