//! MSDP, the MUD Server Data Protocol (option 69): variables with values that are
//! strings, arrays or tables, nested:
//! `IAC SB MSDP VAR "ROOM" VAL TABLE_OPEN VAR "VNUM" VAL "6008" TABLE_CLOSE IAC SE`.
//!
//! Specification: <https://tintin.mudhalla.net/protocols/msdp/>.
//!
//! As a family: once MSDP is agreed either way, each subnegotiation is decoded into
//! [`Event::Variables`] and the session keeps each variable's latest value (within
//! [`MAX_STORED_BYTES`]); a payload without a variable, or nested past [`MAX_DEPTH`],
//! is a bad subnegotiation. What a server reports, and when, is the application's
//! choice: it answers the client's `LIST`, `REPORT` and `SEND` with
//! [`Session::send_msdp`](crate::Session::send_msdp).

use super::mud_store::{self, store_within, DataDropped, Warned};
use super::mud_text::best_effort;
use crate::family::{check_mud_payload, Emit, SubnegotiationError};
use crate::link::Link;
use crate::option::TelnetOption;

/// The most bytes of MSDP variables a session keeps (names and encoded values, all
/// together): the peer chooses the names. A variable that would pass it is still
/// reported, but not kept.
pub const MAX_STORED_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// Each variable's latest value, in the order first received.
    pub(crate) variables: Vec<(String, MsdpValue)>,
    /// Names plus encoded values of `variables`.
    bytes: usize,
}

impl State {
    /// Keep `value` as `name`'s latest; returns whether it was kept.
    fn store(&mut self, name: &str, value: &MsdpValue) -> bool {
        let encoded_len = |value: &MsdpValue| {
            let mut out = Vec::new();
            encode_value(value, &mut out);
            out.len()
        };
        let (variables, bytes) = (&mut self.variables, &mut self.bytes);
        store_within(
            variables,
            bytes,
            (name, value),
            encoded_len,
            MAX_STORED_BYTES,
        )
    }
}

/// What the application learns from MSDP.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Variables arrived, in the order sent; each is now
    /// [`Session::msdp_data`](crate::Session::msdp_data)'s value for its name.
    Variables(Vec<(String, MsdpValue)>),
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
    let variables = decode(payload).map_err(|_| SubnegotiationError::Malformed)?;
    if variables.is_empty() {
        return Err(SubnegotiationError::Malformed);
    }
    let dropped: Vec<String> = variables
        .iter()
        .filter(|(name, value)| !state.store(name, value))
        .map(|(name, _)| name.clone())
        .collect();
    emit.emit(Event::Variables(variables));
    for name in dropped {
        mud_store::dropped(emit, warned, option, &name);
    }
    Ok(())
}

/// Queue `IAC SB MSDP <variables> IAC SE`.
pub(crate) fn send<N: AsRef<str>>(link: &mut Link, variables: &[(N, MsdpValue)]) {
    let mut payload = Vec::new();
    encode(variables, &mut payload);
    link.send_subnegotiation(TelnetOption::Msdp, &payload);
}

/// `MSDP_VAR`: a variable's name follows.
pub const VAR: u8 = 1;
/// `MSDP_VAL`: a value follows.
pub const VAL: u8 = 2;
/// `MSDP_TABLE_OPEN`: a table (name/value pairs) begins.
pub const TABLE_OPEN: u8 = 3;
/// `MSDP_TABLE_CLOSE`: the table ends.
pub const TABLE_CLOSE: u8 = 4;
/// `MSDP_ARRAY_OPEN`: an array (values) begins.
pub const ARRAY_OPEN: u8 = 5;
/// `MSDP_ARRAY_CLOSE`: the array ends.
pub const ARRAY_CLOSE: u8 = 6;

/// How deep tables and arrays may nest in what is decoded: deeper input is refused, so a
/// hostile payload cannot exhaust the stack. The specification's examples nest two deep.
pub const MAX_DEPTH: usize = 32;

/// An MSDP value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MsdpValue {
    /// A string (numbers are strings too).
    Text(String),
    /// `ARRAY_OPEN VAL v VAL v ... ARRAY_CLOSE`.
    Array(Vec<Self>),
    /// `TABLE_OPEN VAR k VAL v ... TABLE_CLOSE`, in the order sent.
    Table(Vec<(String, Self)>),
}

impl MsdpValue {
    /// The string, if this is one.
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// A table's value for `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Self> {
        match self {
            Self::Table(entries) => entries.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl MsdpValue {
    /// How many tables and arrays deep the value goes (0 for text).
    fn nesting(&self) -> usize {
        let inner = match self {
            Self::Text(_) => return 0,
            Self::Array(items) => items.iter().map(Self::nesting).max(),
            Self::Table(entries) => entries.iter().map(|(_, value)| value.nesting()).max(),
        };
        1 + inner.unwrap_or(0)
    }
}

impl From<&str> for MsdpValue {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

/// Why an MSDP payload was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MsdpError {
    /// Tables and arrays nest deeper than [`MAX_DEPTH`].
    #[error("MSDP values nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

/// Decode a payload into its variables, in the order sent.
///
/// Lenient as telnetlib3's parser where the input is merely untidy: bytes before the
/// first `VAR` are skipped, a table or array left open ends with the payload, a
/// variable without a value is dropped, names and strings are UTF-8 (Latin-1 if they
/// are not). Unlike telnetlib3, a variable given several values (`VAR "REPORT" VAL
/// "HEALTH" VAL "MANA"`, the specification's way of listing) keeps them all, as an
/// array.
///
/// ```
/// use telnetlib3_proto::options::msdp::{decode, MsdpValue, VAL, VAR};
///
/// let payload = [&[VAR][..], b"HEALTH", &[VAL], b"100"].concat();
/// assert_eq!(decode(&payload).unwrap(), [("HEALTH".to_owned(), MsdpValue::from("100"))]);
/// ```
///
/// # Errors
///
/// [`MsdpError::TooDeep`] for nesting deeper than [`MAX_DEPTH`].
pub fn decode(payload: &[u8]) -> Result<Vec<(String, MsdpValue)>, MsdpError> {
    let mut reader = Reader { payload, at: 0 };
    let mut variables: Vec<(String, MsdpValue)> = Vec::new();
    while let Some(&byte) = reader.peek() {
        reader.at += 1;
        if byte != VAR {
            continue;
        }
        let name = reader.name();
        let mut values = Vec::new();
        while reader.peek() == Some(&VAL) {
            reader.at += 1;
            values.push(reader.value(0)?);
        }
        let value = match values.len() {
            0 => continue,
            1 => values.remove(0),
            // The list becomes an array, one level deeper: it must fit as one value would,
            // so that what we decode we could decode again once encoded.
            _ if values.iter().any(|value| value.nesting() >= MAX_DEPTH) => {
                return Err(MsdpError::TooDeep)
            }
            _ => MsdpValue::Array(values),
        };
        variables.push((name, value));
    }
    Ok(variables)
}

/// Append the payload of `variables` to `out` (the caller frames and escapes it).
///
/// ```
/// use telnetlib3_proto::options::msdp::{encode, MsdpValue};
///
/// let mut out = Vec::new();
/// encode(&[("ROOM", MsdpValue::Table(vec![("VNUM".into(), "6008".into())]))], &mut out);
/// assert_eq!(out, b"\x01ROOM\x02\x03\x01VNUM\x026008\x04");
/// ```
pub fn encode<N: AsRef<str>>(variables: &[(N, MsdpValue)], out: &mut Vec<u8>) {
    for (name, value) in variables {
        out.push(VAR);
        out.extend_from_slice(name.as_ref().as_bytes());
        out.push(VAL);
        encode_value(value, out);
    }
}

fn encode_value(value: &MsdpValue, out: &mut Vec<u8>) {
    match value {
        MsdpValue::Text(text) => out.extend_from_slice(text.as_bytes()),
        MsdpValue::Array(items) => {
            out.push(ARRAY_OPEN);
            for item in items {
                out.push(VAL);
                encode_value(item, out);
            }
            out.push(ARRAY_CLOSE);
        }
        MsdpValue::Table(entries) => {
            out.push(TABLE_OPEN);
            encode(entries, out);
            out.push(TABLE_CLOSE);
        }
    }
}

struct Reader<'a> {
    payload: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<&u8> {
        self.payload.get(self.at)
    }

    /// Bytes up to (not including) the first of `stops`, or the end.
    fn until(&mut self, stops: &[u8]) -> String {
        let rest = &self.payload[self.at..];
        let end = rest
            .iter()
            .position(|b| stops.contains(b))
            .unwrap_or(rest.len());
        self.at += end;
        best_effort(&rest[..end])
    }

    /// A variable's name: up to the next VAL or VAR.
    fn name(&mut self) -> String {
        self.until(&[VAL, VAR])
    }

    /// A value after its VAL, at nesting `depth`.
    fn value(&mut self, depth: usize) -> Result<MsdpValue, MsdpError> {
        match self.peek() {
            Some(&TABLE_OPEN) | Some(&ARRAY_OPEN) if depth >= MAX_DEPTH => Err(MsdpError::TooDeep),
            Some(&TABLE_OPEN) => {
                self.at += 1;
                let mut entries = Vec::new();
                while let Some(&byte) = self.peek() {
                    self.at += 1;
                    match byte {
                        TABLE_CLOSE => break,
                        VAR => {
                            let name = self.name();
                            if self.peek() == Some(&VAL) {
                                self.at += 1;
                                entries.push((name, self.value(depth + 1)?));
                            }
                        }
                        _ => {}
                    }
                }
                Ok(MsdpValue::Table(entries))
            }
            Some(&ARRAY_OPEN) => {
                self.at += 1;
                let mut items = Vec::new();
                while let Some(&byte) = self.peek() {
                    self.at += 1;
                    match byte {
                        ARRAY_CLOSE => break,
                        VAL => items.push(self.value(depth + 1)?),
                        _ => {}
                    }
                }
                Ok(MsdpValue::Array(items))
            }
            _ => Ok(MsdpValue::Text(self.until(&[
                VAR,
                VAL,
                TABLE_CLOSE,
                ARRAY_CLOSE,
            ]))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Role;
    use crate::options::tests::{drive_pair_with, transmit, Log};
    use crate::{Policy, Session, SessionConfig};

    fn text(value: &str) -> MsdpValue {
        MsdpValue::from(value)
    }

    #[test]
    fn the_specification_examples_decode() {
        // IAC SB MSDP MSDP_VAR "LIST" MSDP_VAL "COMMANDS" IAC SE
        assert_eq!(
            decode(b"\x01LIST\x02COMMANDS").unwrap(),
            [("LIST".to_owned(), text("COMMANDS"))]
        );
        // A table: ROOM with VNUM, NAME and an EXITS table.
        let room = b"\x01ROOM\x02\x03\x01VNUM\x026008\x01NAME\x02The forest clearing\
                     \x01EXITS\x02\x03\x01n\x026011\x01e\x026007\x04\x04";
        assert_eq!(
            decode(room).unwrap(),
            [(
                "ROOM".to_owned(),
                MsdpValue::Table(vec![
                    ("VNUM".into(), text("6008")),
                    ("NAME".into(), text("The forest clearing")),
                    (
                        "EXITS".into(),
                        MsdpValue::Table(vec![
                            ("n".into(), text("6011")),
                            ("e".into(), text("6007"))
                        ])
                    ),
                ])
            )]
        );
        // An array.
        assert_eq!(
            decode(b"\x01REPORTABLE_VARIABLES\x02\x05\x02HINT\x02AFFECTS\x06").unwrap(),
            [(
                "REPORTABLE_VARIABLES".to_owned(),
                MsdpValue::Array(vec![text("HINT"), text("AFFECTS")])
            )]
        );
        // Several values of one variable: a list.
        assert_eq!(
            decode(b"\x01REPORT\x02HEALTH\x02MANA\x01SEND\x02ROOM").unwrap(),
            [
                (
                    "REPORT".to_owned(),
                    MsdpValue::Array(vec![text("HEALTH"), text("MANA")])
                ),
                ("SEND".to_owned(), text("ROOM")),
            ]
        );
    }

    #[test]
    fn encoding_round_trips() {
        let variables = vec![
            ("HEALTH".to_owned(), text("100")),
            (
                "ROOM".to_owned(),
                MsdpValue::Table(vec![
                    (
                        "EXITS".into(),
                        MsdpValue::Array(vec![text("n"), MsdpValue::Array(vec![])]),
                    ),
                    ("EMPTY".into(), MsdpValue::Table(vec![])),
                ]),
            ),
        ];
        let mut out = Vec::new();
        encode(&variables, &mut out);
        assert_eq!(
            out,
            b"\x01HEALTH\x02100\x01ROOM\x02\x03\x01EXITS\x02\x05\x02n\x02\x05\x06\x06\x01EMPTY\x02\x03\x04\x04"
        );
        assert_eq!(decode(&out).unwrap(), variables);
    }

    #[test]
    fn untidy_input_is_read_and_hostile_input_refused() {
        assert_eq!(decode(b"").unwrap(), []);
        assert_eq!(
            decode(b"junk\x01A\x02b").unwrap(),
            [("A".to_owned(), text("b"))]
        );
        // Unclosed: ends with the payload.
        assert_eq!(
            decode(b"\x01A\x02\x05\x02x").unwrap(),
            [("A".to_owned(), MsdpValue::Array(vec![text("x")]))]
        );
        // A name without a value is dropped.
        assert_eq!(
            decode(b"\x01A\x01B\x02c").unwrap(),
            [("B".to_owned(), text("c"))]
        );
        // Latin-1 strings.
        assert_eq!(
            decode(b"\x01N\x02caf\xe9").unwrap(),
            [("N".to_owned(), text("café"))]
        );
        // MAX_DEPTH nested arrays are taken; one more is refused, however deep it goes.
        let nested = |depth: usize| {
            [
                &b"\x01A\x02"[..],
                &b"\x05\x02".repeat(depth),
                &b"\x06".repeat(depth),
            ]
            .concat()
        };
        assert!(decode(&nested(MAX_DEPTH)).is_ok());
        // As one of several values it would become an array one deeper: refused too.
        let listed = [nested(MAX_DEPTH), b"\x02x".to_vec()].concat();
        assert_eq!(decode(&listed), Err(MsdpError::TooDeep));
        let listed = [nested(MAX_DEPTH - 1), b"\x02x".to_vec()].concat();
        assert!(decode(&listed).is_ok());
        assert_eq!(decode(&nested(MAX_DEPTH + 1)), Err(MsdpError::TooDeep));
        assert_eq!(decode(&nested(100_000)), Err(MsdpError::TooDeep));
    }

    #[test]
    fn a_pair_exchanges_variables_and_keeps_the_latest() {
        let client = SessionConfig::with_policy(Policy::client().allow_remote(TelnetOption::Msdp));
        let server = SessionConfig::with_policy(Policy::server());
        let (mut client, mut server, _, _) = drive_pair_with(client, server, |_, server| {
            server.request_local(TelnetOption::Msdp, true).unwrap();
        });
        assert!(client.remote_enabled(TelnetOption::Msdp));
        assert!(client.send_msdp(&[("LIST", text("COMMANDS"))]));
        assert_eq!(
            transmit(&mut client),
            b"\xff\xfa\x45\x01LIST\x02COMMANDS\xff\xf0"
        );
        let mut log = Log::default();
        server.receive(b"\xff\xfa\x45\x01LIST\x02COMMANDS\xff\xf0", &mut log);
        assert_eq!(
            log.events,
            ["Msdp(Variables([(\"LIST\", Text(\"COMMANDS\"))]))"]
        );
        let room = MsdpValue::Table(vec![("VNUM".into(), text("6008"))]);
        assert!(server.send_msdp(&[("HEALTH", text("100")), ("ROOM", room.clone())]));
        assert!(server.send_msdp(&[("HEALTH", text("99"))]));
        let mut log = Log::default();
        client.receive(&transmit(&mut server), &mut log);
        assert_eq!(log.events.len(), 2, "{log:?}");
        assert_eq!(
            client.msdp_data(),
            [("HEALTH".to_owned(), text("99")), ("ROOM".to_owned(), room)]
        );
        // Bad payloads: refused, nothing kept.
        let mut log = Log::default();
        let deep = [&b"\x01A\x02"[..], &[ARRAY_OPEN, VAL].repeat(MAX_DEPTH + 1)].concat();
        let mut frames = Vec::new();
        for payload in [&b""[..], b"junk", &deep] {
            frames.extend_from_slice(b"\xff\xfa\x45");
            frames.extend_from_slice(payload);
            frames.extend_from_slice(b"\xff\xf0");
        }
        client.receive(&frames, &mut log);
        assert_eq!(
            log.events,
            [
                "BadSubnegotiation { option: Msdp, error: Empty }",
                "BadSubnegotiation { option: Msdp, error: Malformed }",
                "BadSubnegotiation { option: Msdp, error: Malformed }",
            ]
        );
        assert_eq!(client.msdp_data().len(), 2);
    }

    #[test]
    fn a_client_refuses_msdp_by_default_and_ignores_its_data() {
        let mut client = Session::new(Role::Client, SessionConfig::with_policy(Policy::client()));
        let mut log = Log::default();
        client.receive(b"\xff\xfb\x45\xff\xfa\x45\x01A\x02b\xff\xf0", &mut log);
        assert_eq!(transmit(&mut client), b"\xff\xfe\x45"); // DONT MSDP
        assert_eq!(
            log.events,
            ["BadSubnegotiation { option: Msdp, error: NotAllowed }"]
        );
        assert!(client.msdp_data().is_empty());
        assert!(!client.send_msdp(&[("A", text("b"))]));
        assert_eq!(transmit(&mut client), b"");
    }

    #[test]
    fn the_store_is_bounded() {
        let mut state = State::default();
        let big = text(&"x".repeat(MAX_STORED_BYTES / 2));
        assert!(state.store("A", &big));
        assert!(state.store("A", &big)); // replaced in place
        assert!(!state.store("B", &big)); // would pass the cap
        assert!(state.store("C", &text("small")));
        let names: Vec<&str> = state.variables.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["A", "C"]);
    }
}
