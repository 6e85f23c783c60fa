//! GMCP, the Generic MUD Communication Protocol (option 201): a subnegotiation carries
//! `Package.SubPackage.Command` and, after one space, an optional JSON value:
//! `IAC SB GMCP Char.Vitals {"hp":10} IAC SE`.
//!
//! Specification: <https://tintin.mudhalla.net/protocols/gmcp/> (also Mudlet's wiki).

use serde_json::Value;

use super::mud_text::best_effort;

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
}

impl GmcpData {
    /// Take in one message (a message without a value records nothing).
    pub fn merge(&mut self, message: &GmcpMessage) {
        let Some(data) = &message.data else { return };
        match self
            .packages
            .iter_mut()
            .find(|(package, _)| package.eq_ignore_ascii_case(&message.package))
        {
            Some((_, Value::Object(old))) if data.is_object() => {
                if let Value::Object(new) = data {
                    for (key, value) in new {
                        old.insert(key.clone(), value.clone());
                    }
                }
            }
            Some((_, old)) => *old = data.clone(),
            None => self.packages.push((message.package.clone(), data.clone())),
        }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
}
