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
//! `zmp.support` or `zmp.no-support`, and `zmp.ping` with `zmp.time`, as the
//! specification asks. Each command's latest arguments are kept (telnetlib3's
//! `zmp_data`), within [`MAX_STORED_BYTES`].

use std::time::SystemTime;

use super::mud_store::{self, store_within, DataDropped, Warned};
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
    /// The clock `zmp.time` reads when it answers `zmp.ping` (the system clock; a fixed
    /// one in tests).
    pub clock: fn() -> SystemTime,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ident: vec![
                "telnetlib3".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            ],
            supported: Vec::new(),
            clock: SystemTime::now,
        }
    }
}

/// The most bytes of ZMP commands a session keeps (names and arguments, all together):
/// the peer chooses the commands. A command that would pass it is still reported, but
/// not kept.
pub const MAX_STORED_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// `zmp.ident` goes once per connection, as telnetlib3's `_zmp_ident_sent`.
    ident_sent: bool,
    /// Each command's latest arguments, in the order first received.
    pub(crate) commands: Vec<(String, Vec<String>)>,
    /// Names plus arguments of `commands`.
    bytes: usize,
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
    state: &mut State,
    warned: &mut Warned,
    config: &Config,
    link: &mut Link,
    emit: &mut (impl Emit<Event> + Emit<DataDropped>),
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
    // The specification: "When the zmp.ping command is received, the zmp.time command
    // must be sent in response", its one argument the UTC date and time as
    // `YYYY-MM-DD HH:MM:SS` (the text says `YYYY-MM-SS`, its example `2003-07-02
    // 12:20:34`). telnetlib3 does not answer; clients that speak ZMP do.
    if command == "zmp.ping" {
        send(link, "zmp.time", &[utc_time((config.clock)())]);
    }
    let args_len = |args: &Vec<String>| args.iter().map(String::len).sum::<usize>();
    let (commands, bytes) = (&mut state.commands, &mut state.bytes);
    let kept = store_within(
        commands,
        bytes,
        (&command, &fields),
        args_len,
        MAX_STORED_BYTES,
    );
    let dropped = (!kept).then(|| command.clone());
    emit.emit(Event::Message {
        command,
        args: fields,
    });
    if let Some(command) = dropped {
        mud_store::dropped(emit, warned, option, &command);
    }
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

/// `at` in UTC as `zmp.time` gives it: `2003-07-02 12:20:34`. A clock before 1970 reads
/// as 1970.
fn utc_time(at: SystemTime) -> String {
    let at = time::OffsetDateTime::from(at.max(SystemTime::UNIX_EPOCH));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
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
        let mut config = SessionConfig::with_policy(Policy::client());
        config.zmp.clock = the_specifications_time;
        let mut client = Session::new(Role::Client, config);
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
            [
                &b"\xff\xfa\x5dzmp.no-support\0color.\0\xff\xf0"[..],
                b"\xff\xfa\x5dzmp.time\x002003-07-02 12:20:34\0\xff\xf0",
            ]
            .concat()
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

    /// 2003-07-02 12:20:34 UTC, the specification's example of `zmp.time`.
    fn the_specifications_time() -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_057_148_434)
    }

    #[test]
    fn zmp_ping_is_answered_with_zmp_time_in_utc() {
        for role in [Role::Client, Role::Server] {
            let policy = match role {
                Role::Client => Policy::client(),
                Role::Server => Policy::server(),
            };
            let mut config = SessionConfig::with_policy(policy);
            config.zmp.ident.clear();
            config.zmp.clock = the_specifications_time;
            let mut session = Session::new(role, config);
            let mut log = Log::default();
            session.receive(b"\xff\xfb\x5d", &mut log); // WILL ZMP
            let _ = transmit(&mut session);
            session.receive(b"\xff\xfa\x5dzmp.ping\0\xff\xf0", &mut log);
            assert_eq!(
                transmit(&mut session),
                b"\xff\xfa\x5dzmp.time\x002003-07-02 12:20:34\0\xff\xf0",
                "{role:?}"
            );
            assert_eq!(session.zmp_data(), [("zmp.ping".to_owned(), vec![])]);
        }
        assert_eq!(utc_time(SystemTime::UNIX_EPOCH), "1970-01-01 00:00:00");
    }

    #[test]
    fn each_commands_latest_arguments_are_kept_within_the_bound() {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        let mut log = Log::default();
        server.receive(
            b"\xff\xfb\x5d\xff\xfa\x5dchar.vitals\x0010\0\xff\xf0\xff\xfa\x5droom.info\0Hall\0\xff\xf0\
              \xff\xfa\x5dchar.vitals\x009\0\xff\xf0",
            &mut log,
        );
        assert_eq!(
            server.zmp_data(),
            [
                ("char.vitals".to_owned(), vec!["9".to_owned()]),
                ("room.info".to_owned(), vec!["Hall".to_owned()]),
            ]
        );
        // Commands of 7 902 bytes (a subnegotiation holds 8 KiB at most): the eighth
        // still fits in the bound, the ninth is reported, not kept, and the loss told.
        let big = "x".repeat(7_900);
        let mut log = Log::default();
        for n in 0..9 {
            let name = format!("c{n}\0");
            let frame = [
                &b"\xff\xfa\x5d"[..],
                name.as_bytes(),
                big.as_bytes(),
                b"\0\xff\xf0",
            ]
            .concat();
            server.receive(&frame, &mut log);
        }
        assert_eq!(log.events.len(), 10);
        assert!(log.events[8].starts_with("Zmp(Message { command: \"c8\""));
        assert_eq!(
            log.events[9],
            "MudDataDropped(DataDropped { option: Zmp, name: \"c8\" })"
        );
        assert_eq!(server.zmp_data().len(), 10);
        assert!(!server.zmp_data().iter().any(|(name, _)| name == "c8"));
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
