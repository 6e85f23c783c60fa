//! ATCP, the Achaea Telnet Client Protocol (option 200), GMCP's predecessor:
//! `Package.Message value`, the value plain text.
//!
//! Specification: <https://www.ironrealms.com/rapture/manual/files/FeatATCP-txt.html>.
//!
//! As a family: once ATCP is agreed either way, each message is decoded into
//! [`Event::Message`]; an empty payload or package name is a bad subnegotiation. Each
//! package's latest value is kept, within [`MAX_STORED_BYTES`] (telnetlib3's
//! `atcp_data` keeps every message, without bound; the latest of each is what GMCP,
//! its successor, keeps too).

use super::mud_store::{self, store_within, DataDropped, Warned};
use super::mud_text::best_effort;
use crate::family::{check_mud_payload, Emit, SubnegotiationError};
use crate::link::Link;
use crate::option::TelnetOption;

/// The most bytes of ATCP messages a session keeps (package names and values, all
/// together). A message that would pass it is still reported, but not kept.
pub const MAX_STORED_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// Each package's latest value, in the order first received.
    pub(crate) packages: Vec<(String, String)>,
    /// Names plus values of `packages`.
    bytes: usize,
}

/// What the application learns from ATCP.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A message arrived.
    Message {
        /// `Char.Vitals`, `Auth.Request`, ...
        package: String,
        /// The text after the name (empty when there is none).
        value: String,
    },
}

pub(crate) fn receive(
    state: &mut State,
    warned: &mut Warned,
    link: &Link,
    emit: &mut (impl Emit<Event> + Emit<DataDropped>),
    option: TelnetOption,
    payload: &[u8],
) -> Result<(), SubnegotiationError> {
    check_mud_payload(link, option, payload)?;
    let (package, value) = decode(payload);
    if package.is_empty() {
        return Err(SubnegotiationError::Malformed);
    }
    let (packages, bytes) = (&mut state.packages, &mut state.bytes);
    let kept = store_within(
        packages,
        bytes,
        (&package, &value),
        String::len,
        MAX_STORED_BYTES,
    );
    let dropped = (!kept).then(|| package.clone());
    emit.emit(Event::Message { package, value });
    if let Some(package) = dropped {
        mud_store::dropped(emit, warned, option, &package);
    }
    Ok(())
}

/// Queue `IAC SB ATCP <package> <value> IAC SE`.
pub(crate) fn send(link: &mut Link, package: &str, value: &str) {
    let mut payload = Vec::new();
    encode(package, value, &mut payload);
    link.send_subnegotiation(TelnetOption::Atcp, &payload);
}

/// Decode a payload into its package name and value (empty when there is none), split at
/// the first space as telnetlib3 does. Text is UTF-8, or Latin-1 if not.
///
/// ```
/// use telnetlib3_proto::options::atcp::decode;
///
/// assert_eq!(decode(b"Char.Vitals H:100/100 M:50/50"), ("Char.Vitals".into(), "H:100/100 M:50/50".into()));
/// ```
#[must_use]
pub fn decode(payload: &[u8]) -> (String, String) {
    match memchr::memchr(b' ', payload) {
        Some(at) => (best_effort(&payload[..at]), best_effort(&payload[at + 1..])),
        None => (best_effort(payload), String::new()),
    }
}

/// Append `package` and, if not empty, a space and `value` to `out`.
pub fn encode(package: &str, value: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(package.as_bytes());
    if !value.is_empty() {
        out.push(b' ');
        out.extend_from_slice(value.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Role;
    use crate::options::tests::{transmit, Log};
    use crate::{Policy, Session, SessionConfig};

    #[test]
    fn package_and_value() {
        assert_eq!(
            decode(b"Auth.Request CH"),
            ("Auth.Request".into(), "CH".into())
        );
        assert_eq!(
            decode(b"Client.Ping"),
            ("Client.Ping".into(), String::new())
        );
        assert_eq!(decode(b""), (String::new(), String::new()));
        let mut out = Vec::new();
        encode("hello", "telnetlib3 0.1.0\nauth 1", &mut out);
        assert_eq!(out, b"hello telnetlib3 0.1.0\nauth 1");
        assert_eq!(
            decode(&out),
            ("hello".into(), "telnetlib3 0.1.0\nauth 1".into())
        );
    }

    #[test]
    fn messages_once_agreed() {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        let mut log = Log::default();
        assert!(!server.send_atcp("Client.Ping", ""));
        server.receive(
            b"\xff\xfb\xc8\xff\xfa\xc8hello Mudlet 4.17\xff\xf0\xff\xfa\xc8\xff\xf0\xff\xfa\xc8 x\xff\xf0",
            &mut log,
        );
        assert_eq!(
            log.events,
            [
                "OptionChanged { option: Atcp, side: Remote, enabled: true }",
                "Atcp(Message { package: \"hello\", value: \"Mudlet 4.17\" })",
                "BadSubnegotiation { option: Atcp, error: Empty }",
                "BadSubnegotiation { option: Atcp, error: Malformed }",
            ]
        );
        assert_eq!(
            server.atcp_data(),
            [("hello".to_owned(), "Mudlet 4.17".to_owned())]
        );
        assert!(server.send_atcp("Char.Vitals", "H:100/100"));
        assert_eq!(
            transmit(&mut server),
            b"\xff\xfd\xc8\xff\xfa\xc8Char.Vitals H:100/100\xff\xf0"
        );
    }
}
