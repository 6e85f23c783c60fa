//! GMCP, the Generic MUD Communication Protocol (option 201): a subnegotiation carries
//! `Package.SubPackage.Command` and, after one space, an optional JSON value:
//! `IAC SB GMCP Char.Vitals {"hp":10} IAC SE`.
//!
//! Specification: <https://tintin.mudhalla.net/protocols/gmcp/> (also Mudlet's wiki,
//! <https://wiki.mudlet.org/w/Manual:Supported_Protocols#GMCP>).
//!
//! As a family: once GMCP is agreed either way, each message is decoded into
//! [`Event::Message`] and merged into the session's [`GmcpData`]; a payload that is not
//! a GMCP message is a bad subnegotiation. A client, when the server's `WILL GMCP` is
//! agreed, introduces itself as telnetlib3's client does: `Core.Hello` with its name and
//! version, then `Core.Supports.Set` with its modules ([`Config`]).

use serde_json::Value;

use super::mud_store::{self, DataDropped, Warned};
use super::mud_text::best_effort;
use crate::family::{check_mud_payload, Emit, SubnegotiationError};
use crate::link::{Link, Role, Side};
use crate::option::TelnetOption;

/// The modules telnetlib3 5.0.1's client asks for in `Core.Supports.Set`
/// (`_DEFAULT_GMCP_MODULES`): sub-modules are listed because not every server takes a
/// top-level module as covering them.
pub const DEFAULT_MODULES: &[&str] = &[
    "char 1",
    "char.vitals 1",
    "char.items 1",
    "room 1",
    "room.info 1",
    "comm 1",
    "comm.channel 1",
    "group 1",
];

/// The most bytes of GMCP data a session keeps (package names and their values as
/// compact JSON, all together): the peer chooses the names and an object's keys, and
/// merging would otherwise let it grow the store without bound. A message that would
/// pass it is still reported, but not kept.
pub const MAX_STORED_BYTES: usize = 64 * 1024;

/// What a client says about itself when GMCP is agreed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Client: the `client` of `Core.Hello` (telnetlib3: `"telnetlib3"`). Empty: no
    /// `Core.Hello` is sent.
    pub client_name: String,
    /// Client: the `version` of `Core.Hello` (this crate's version).
    pub client_version: String,
    /// Client: the modules of `Core.Supports.Set`, such as `"Char 1"`; sent lower-cased,
    /// as telnetlib3 sends them (GMCP names are case-insensitive, and some servers match
    /// them in lower case only). Empty: no `Core.Supports.Set` is sent.
    pub modules: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            client_name: "telnetlib3".to_owned(),
            client_version: env!("CARGO_PKG_VERSION").to_owned(),
            modules: DEFAULT_MODULES.iter().map(|&m| m.to_owned()).collect(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    pub(crate) data: GmcpData,
    /// `Core.Hello` goes once per connection, as telnetlib3's `_gmcp_hello_sent`.
    hello_sent: bool,
}

/// What the application learns from GMCP.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A message arrived; it is merged into [`Session::gmcp_data`] (within
    /// [`MAX_STORED_BYTES`]).
    ///
    /// [`Session::gmcp_data`]: crate::Session::gmcp_data
    Message(GmcpMessage),
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
    let message = GmcpMessage::decode(payload).map_err(|_| SubnegotiationError::Malformed)?;
    let kept = state.data.merge_within(&message, MAX_STORED_BYTES);
    let package = (!kept).then(|| message.package.clone());
    emit.emit(Event::Message(message));
    if let Some(package) = package {
        mud_store::dropped(emit, warned, option, &package);
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
    // telnetlib3's client greets once the server performs GMCP (its `on_will_gmcp`).
    if link.role != Role::Client || side != Side::Remote || !enabled || state.hello_sent {
        return;
    }
    state.hello_sent = true;
    if !config.client_name.is_empty() {
        let hello = serde_json::json!({
            "client": config.client_name,
            "version": config.client_version,
        });
        send(link, &GmcpMessage::new("Core.Hello", Some(hello)));
    }
    if !config.modules.is_empty() {
        let modules = config
            .modules
            .iter()
            .map(|module| Value::String(module.to_lowercase()))
            .collect();
        let set = GmcpMessage::new("Core.Supports.Set", Some(Value::Array(modules)));
        send(link, &set);
    }
}

/// Queue `IAC SB GMCP <message> IAC SE`.
pub(crate) fn send(link: &mut Link, message: &GmcpMessage) {
    let mut payload = Vec::new();
    message.encode(&mut payload);
    link.send_subnegotiation(TelnetOption::Gmcp, &payload);
}

/// Why a GMCP payload was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GmcpError {
    /// The payload has no package name.
    #[error("GMCP message without a package name")]
    NoPackage,
    /// The text after the package name is not JSON.
    #[error("invalid JSON in GMCP {package}: {source}")]
    Json {
        /// The package the message named.
        package: String,
        /// serde_json's reason (its recursion limit bounds the nesting).
        source: serde_json::Error,
    },
}

/// One GMCP message: its package (and command) name and its value, if it has one.
#[derive(Clone, Debug, PartialEq)]
pub struct GmcpMessage {
    /// `Char.Vitals`, `Core.Hello`, ...: matched case-insensitively by convention.
    pub package: String,
    /// The JSON value after the name; `None` when there is none (`Core.Ping`).
    pub data: Option<Value>,
}

impl GmcpMessage {
    /// A message of `package` with `data`.
    #[must_use]
    pub fn new(package: impl Into<String>, data: Option<Value>) -> Self {
        Self {
            package: package.into(),
            data,
        }
    }

    /// Decode a subnegotiation payload (what is between `IAC SB GMCP` and `IAC SE`,
    /// unescaped). The name is read as UTF-8 (Latin-1 if it is not); blank JSON is no
    /// value, as telnetlib3 reads it.
    ///
    /// ```
    /// use telnetlib3_proto::options::gmcp::GmcpMessage;
    ///
    /// let message = GmcpMessage::decode(br#"Char.Vitals {"hp":10,"mp":5}"#).unwrap();
    /// assert_eq!(message.package, "Char.Vitals");
    /// assert_eq!(message.data.unwrap()["hp"], 10);
    /// ```
    ///
    /// # Errors
    ///
    /// [`GmcpError::NoPackage`] for an empty name, [`GmcpError::Json`] for a value that
    /// is not JSON (or nested deeper than serde_json's limit of 128).
    pub fn decode(payload: &[u8]) -> Result<Self, GmcpError> {
        let (name, rest) = match memchr::memchr(b' ', payload) {
            Some(at) => (&payload[..at], &payload[at + 1..]),
            None => (payload, &b""[..]),
        };
        let package = best_effort(name);
        if package.is_empty() {
            return Err(GmcpError::NoPackage);
        }
        let text = best_effort(rest);
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self {
                package,
                data: None,
            });
        }
        match serde_json::from_str(text) {
            Ok(data) => Ok(Self {
                package,
                data: Some(data),
            }),
            Err(source) => Err(GmcpError::Json { package, source }),
        }
    }

    /// Append the payload to `out`: the name, and with a value, one space and compact
    /// JSON (telnetlib3's `separators=(",", ":")`). The caller frames and escapes it.
    ///
    /// ```
    /// use telnetlib3_proto::options::gmcp::GmcpMessage;
    ///
    /// let hello = GmcpMessage::new(
    ///     "Core.Hello",
    ///     Some(serde_json::json!({"client": "telnetlib3", "version": "0.1.0"})),
    /// );
    /// let mut out = Vec::new();
    /// hello.encode(&mut out);
    /// assert_eq!(out, br#"Core.Hello {"client":"telnetlib3","version":"0.1.0"}"#);
    /// ```
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.package.as_bytes());
        if let Some(data) = &self.data {
            out.push(b' ');
            // Writing JSON into a Vec cannot fail: serde_json fails only on I/O errors
            // and on maps with non-string keys, which a `Value` cannot hold.
            serde_json::to_writer(&mut *out, data).expect("a JSON value always serializes");
        }
    }
}

/// What a session learned from GMCP messages, merged as telnetlib3's `gmcp_data`: each
/// package's latest value, with objects merged key by key into what came before (so
/// `Char.Vitals {"hp":9}` after `{"hp":10,"mp":5}` gives `{"hp":9,"mp":5}`); any other
/// value replaces the old one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GmcpData {
    packages: Vec<(String, Value)>,
    /// What [`GmcpData::merge_within`] counts: names plus compact JSON, all packages.
    bytes: usize,
}

impl GmcpData {
    /// [`GmcpData::merge`], unless the data would then hold more than `max_bytes`
    /// (package names and values as compact JSON, all together); returns whether the
    /// message was taken. Only the package it names is measured again.
    pub fn merge_within(&mut self, message: &GmcpMessage, max_bytes: usize) -> bool {
        let Some(data) = &message.data else {
            return true;
        };
        let found = self
            .packages
            .iter()
            .position(|(package, _)| package.eq_ignore_ascii_case(&message.package));
        let (name, old) = match found {
            Some(at) => (self.packages[at].0.as_str(), Some(&self.packages[at].1)),
            None => (message.package.as_str(), None),
        };
        let merged = match (old, data) {
            (Some(Value::Object(old)), Value::Object(new)) => {
                let mut merged = old.clone();
                for (key, value) in new {
                    merged.insert(key.clone(), value.clone());
                }
                Value::Object(merged)
            }
            _ => data.clone(),
        };
        let old_size = old.map_or(0, |old| name.len() + json_len(old));
        let new_size = name.len() + json_len(&merged);
        let total = self.bytes - old_size + new_size;
        if total > max_bytes {
            return false;
        }
        self.bytes = total;
        match found {
            Some(at) => self.packages[at].1 = merged,
            None => self.packages.push((message.package.clone(), merged)),
        }
        true
    }

    /// Take in one message (a message without a value records nothing).
    pub fn merge(&mut self, message: &GmcpMessage) {
        self.merge_within(message, usize::MAX);
    }

    /// The value of `package` (case-insensitive).
    #[must_use]
    pub fn get(&self, package: &str) -> Option<&Value> {
        self.packages
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(package))
            .map(|(_, value)| value)
    }

    /// Every package and its value, in the order they first arrived.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.packages
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// How many packages have a value.
    #[must_use]
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether no package has a value yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }
}

/// How long `value` is as compact JSON.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // As in `encode`: a `Value` always serializes.
    serde_json::to_writer(&mut count, value).expect("a JSON value always serializes");
    count.0
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::options::tests::{transmit, Log};
    use crate::{Policy, Role, Session, SessionConfig};

    #[test]
    fn the_specification_examples_decode() {
        let message =
            GmcpMessage::decode(br#"Core.Hello { "client": "Mudlet", "version": "4.17.2" }"#)
                .unwrap();
        assert_eq!(message.package, "Core.Hello");
        assert_eq!(
            message.data,
            Some(json!({"client": "Mudlet", "version": "4.17.2"}))
        );
        let message =
            GmcpMessage::decode(br#"Core.Supports.Set [ "Char 1", "Char.Skills 1" ]"#).unwrap();
        assert_eq!(message.data, Some(json!(["Char 1", "Char.Skills 1"])));
        assert_eq!(
            GmcpMessage::decode(b"Core.Ping").unwrap(),
            GmcpMessage::new("Core.Ping", None)
        );
        assert_eq!(
            GmcpMessage::decode(b"Core.Ping   ").unwrap(),
            GmcpMessage::new("Core.Ping", None)
        );
        assert_eq!(
            GmcpMessage::decode(b"Char.Level 42").unwrap().data,
            Some(json!(42))
        );
    }

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        assert!(matches!(
            GmcpMessage::decode(b""),
            Err(GmcpError::NoPackage)
        ));
        assert!(matches!(
            GmcpMessage::decode(b" {}"),
            Err(GmcpError::NoPackage)
        ));
        let error = GmcpMessage::decode(b"Char.Vitals {hp:").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid JSON in GMCP Char.Vitals: "),
            "{error}"
        );
        // Nesting past serde_json's recursion limit is refused, not a stack overflow.
        let deep = [&b"A.B "[..], &[b'['; 100_000], &[b']'; 100_000]].concat();
        assert!(matches!(
            GmcpMessage::decode(&deep),
            Err(GmcpError::Json { .. })
        ));
        // Latin-1 where UTF-8 was expected is read, not refused.
        let message = GmcpMessage::decode(b"Room.Info {\"name\":\"caf\xe9\"}").unwrap();
        assert_eq!(message.data, Some(json!({"name": "café"})));
    }

    #[test]
    fn encoding_is_compact_and_round_trips() {
        let message = GmcpMessage::new("Char.Vitals", Some(json!({"hp": 10, "name": "ü"})));
        let mut out = Vec::new();
        message.encode(&mut out);
        assert_eq!(out, "Char.Vitals {\"hp\":10,\"name\":\"ü\"}".as_bytes());
        assert_eq!(GmcpMessage::decode(&out).unwrap(), message);
        let mut out = Vec::new();
        GmcpMessage::new("Core.Ping", None).encode(&mut out);
        assert_eq!(out, b"Core.Ping");
    }

    #[test]
    fn data_merges_objects_and_replaces_the_rest() {
        let mut data = GmcpData::default();
        data.merge(&GmcpMessage::new(
            "Char.Vitals",
            Some(json!({"hp": 10, "mp": 5})),
        ));
        data.merge(&GmcpMessage::new("char.vitals", Some(json!({"hp": 9}))));
        data.merge(&GmcpMessage::new("Char.Level", Some(json!(1))));
        data.merge(&GmcpMessage::new("Char.Level", Some(json!(2))));
        data.merge(&GmcpMessage::new("Core.Ping", None));
        assert_eq!(data.get("Char.Vitals"), Some(&json!({"hp": 9, "mp": 5})));
        assert_eq!(data.get("CHAR.LEVEL"), Some(&json!(2)));
        assert_eq!(data.len(), 2);
        let names: Vec<&str> = data.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["Char.Vitals", "Char.Level"]);
    }

    const VERSION: &str = env!("CARGO_PKG_VERSION");

    #[test]
    fn a_client_agrees_to_gmcp_and_greets_as_telnetlib3() {
        let mut client = Session::new(Role::Client, SessionConfig::with_policy(Policy::client()));
        client.receive(b"\xff\xfb\xc9", &mut Log::default()); // WILL GMCP
        let hello = format!(r#"Core.Hello {{"client":"telnetlib3","version":"{VERSION}"}}"#);
        let expected = [
            &b"\xff\xfd\xc9"[..], // DO GMCP
            b"\xff\xfa\xc9",
            hello.as_bytes(),
            b"\xff\xf0\xff\xfa\xc9",
            br#"Core.Supports.Set ["char 1","char.vitals 1","char.items 1","room 1","room.info 1","comm 1","comm.channel 1","group 1"]"#,
            b"\xff\xf0",
        ]
        .concat();
        assert_eq!(transmit(&mut client), expected);
        // Once per connection, as telnetlib3.
        client.receive(b"\xff\xfc\xc9\xff\xfb\xc9", &mut Log::default());
        assert_eq!(transmit(&mut client), b"\xff\xfe\xc9\xff\xfd\xc9");
    }

    #[test]
    fn configured_modules_go_lower_cased_and_empty_settings_send_nothing() {
        let mut config = SessionConfig::with_policy(Policy::client());
        config.gmcp.client_name = String::new();
        config.gmcp.modules = vec!["Char 1".into(), "Room 1".into()];
        let mut client = Session::new(Role::Client, config);
        client.receive(b"\xff\xfb\xc9", &mut Log::default());
        assert_eq!(
            transmit(&mut client),
            [
                &b"\xff\xfd\xc9\xff\xfa\xc9"[..],
                br#"Core.Supports.Set ["char 1","room 1"]"#,
                b"\xff\xf0"
            ]
            .concat()
        );
        let mut config = SessionConfig::with_policy(Policy::client());
        config.gmcp.client_name = String::new();
        config.gmcp.modules.clear();
        let mut client = Session::new(Role::Client, config);
        client.receive(b"\xff\xfb\xc9", &mut Log::default());
        assert_eq!(transmit(&mut client), b"\xff\xfd\xc9");
    }

    #[test]
    fn a_server_agrees_both_ways_keeps_what_arrives_and_refuses_bad_payloads() {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        let mut log = Log::default();
        server.receive(b"\xff\xfd\xc9", &mut log); // DO GMCP: no greeting from a server
        assert_eq!(transmit(&mut server), b"\xff\xfb\xc9");
        server.receive(
            b"\xff\xfa\xc9Core.Hello {\"client\":\"Mudlet\",\"version\":\"4.17\"}\xff\xf0\
              \xff\xfa\xc9Char.Vitals {\"hp\":1\xff\xf0\
              \xff\xfa\xc9\xff\xf0\
              \xff\xfa\xc9Core.Ping\xff\xf0",
            &mut log,
        );
        assert_eq!(
            log.events,
            [
                "OptionChanged { option: Gmcp, side: Local, enabled: true }",
                "Gmcp(Message(GmcpMessage { package: \"Core.Hello\", data: \
                 Some(Object {\"client\": String(\"Mudlet\"), \"version\": String(\"4.17\")}) }))",
                "BadSubnegotiation { option: Gmcp, error: Malformed }",
                "BadSubnegotiation { option: Gmcp, error: Empty }",
                "Gmcp(Message(GmcpMessage { package: \"Core.Ping\", data: None }))",
            ]
        );
        assert_eq!(
            server.gmcp_data().get("core.hello"),
            Some(&json!({"client": "Mudlet", "version": "4.17"}))
        );
        assert_eq!(server.gmcp_data().len(), 1);
        // Sent only while enabled.
        assert!(server.send_gmcp(&GmcpMessage::new("Char.Vitals", Some(json!({"hp": 9})))));
        assert_eq!(
            transmit(&mut server),
            b"\xff\xfa\xc9Char.Vitals {\"hp\":9}\xff\xf0"
        );
        server.receive(b"\xff\xfe\xc9", &mut log);
        let _ = transmit(&mut server);
        assert!(!server.send_gmcp(&GmcpMessage::new("Core.Ping", None)));
        assert_eq!(transmit(&mut server), b"");
        // Not agreed: refused, nothing kept.
        let mut log = Log::default();
        server.receive(b"\xff\xfa\xc9Room.Info {}\xff\xf0", &mut log);
        assert_eq!(
            log.events,
            ["BadSubnegotiation { option: Gmcp, error: NotAllowed }"]
        );
        assert!(server.gmcp_data().get("Room.Info").is_none());
    }

    #[test]
    fn the_store_is_bounded_but_updates_in_place_still_go_in() {
        let mut data = GmcpData::default();
        let big = "x".repeat(100);
        assert!(data.merge_within(&GmcpMessage::new("A", Some(json!({"k": big}))), 200));
        // Replacing a value measures the package anew: the same size fits again and again.
        for _ in 0..10 {
            assert!(data.merge_within(&GmcpMessage::new("a", Some(json!({"k": big}))), 200));
        }
        // A merge that grows the object past the cap is not taken.
        assert!(!data.merge_within(&GmcpMessage::new("A", Some(json!({"j": big}))), 200));
        assert_eq!(data.get("A"), Some(&json!({"k": big})));
        assert!(!data.merge_within(&GmcpMessage::new("B", Some(json!(big))), 200));
        assert!(data.merge_within(&GmcpMessage::new("B", Some(json!(1))), 200));
        assert_eq!(data.len(), 2);
    }
}
