//! MSSP, the MUD Server Status Protocol (option 70): a server tells a crawler its name,
//! player count and the like, as `VAR name VAL value [VAL value ...]`.
//!
//! Specification: <https://tintin.mudhalla.net/protocols/mssp/>.
//!
//! As a family: a server with [`Config::variables`] offers `WILL MSSP` in its opening
//! and sends them once the client agrees; a client (or a server, should a peer send
//! them) decodes what arrives into [`Event::Variables`] and keeps each variable's latest
//! values (within [`MAX_STORED_BYTES`]). A payload without a variable is a bad
//! subnegotiation.

use super::mud_store::{self, store_within, DataDropped, Warned};
use super::mud_text::best_effort;
use crate::family::{check_mud_payload, Emit, SubnegotiationError};
use crate::link::{Link, Side};
use crate::option::TelnetOption;

/// The most bytes of MSSP variables a session keeps (names and values, all together).
/// A variable that would pass it is still reported, but not kept.
pub const MAX_STORED_BYTES: usize = 64 * 1024;

/// What a server reports with MSSP.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Config {
    /// The variables sent once the client agrees to our `WILL MSSP`, each with its values
    /// (several give repeated `VAL`s, as the specification lists ports). Not empty: the
    /// server's opening offers `WILL MSSP`.
    pub variables: Vec<(String, Vec<String>)>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// Each variable's latest values, in the order first received.
    pub(crate) variables: Vec<(String, Vec<String>)>,
    /// Names plus values of `variables`.
    bytes: usize,
}

impl State {
    /// Keep `values` as `name`'s latest; returns whether they were kept.
    fn store(&mut self, name: &str, values: &[String]) -> bool {
        let values_len = |values: &Vec<String>| values.iter().map(String::len).sum::<usize>();
        let (variables, bytes) = (&mut self.variables, &mut self.bytes);
        store_within(
            variables,
            bytes,
            (name, &values.to_vec()),
            values_len,
            MAX_STORED_BYTES,
        )
    }
}

/// What the application learns from MSSP.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Variables arrived, each with its values, in the order sent; they are now in
    /// [`Session::mssp_data`](crate::Session::mssp_data).
    Variables(Vec<(String, Vec<String>)>),
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
    let variables = decode(payload);
    if variables.is_empty() {
        return Err(SubnegotiationError::Malformed);
    }
    let dropped: Vec<String> = variables
        .iter()
        .filter(|(name, values)| !state.store(name, values))
        .map(|(name, _)| name.clone())
        .collect();
    emit.emit(Event::Variables(variables));
    for name in dropped {
        mud_store::dropped(emit, warned, option, &name);
    }
    Ok(())
}

pub(crate) fn changed(config: &Config, link: &mut Link, side: Side, enabled: bool) {
    // The specification: "the server sends the MSSP data" once the client says DO MSSP.
    if side == Side::Local && enabled && !config.variables.is_empty() {
        send(link, &config.variables);
    }
}

/// Queue `IAC SB MSSP <variables> IAC SE`.
pub(crate) fn send<N, L, V>(link: &mut Link, variables: &[(N, L)])
where
    N: AsRef<str>,
    L: AsRef<[V]>,
    V: AsRef<str>,
{
    let mut payload = Vec::new();
    encode(variables, &mut payload);
    link.send_subnegotiation(TelnetOption::Mssp, &payload);
}

/// `MSSP_VAR`: a variable's name follows.
pub const VAR: u8 = 1;
/// `MSSP_VAL`: one of its values follows.
pub const VAL: u8 = 2;

/// Decode a payload into its variables, each with its values in the order sent (a
/// variable sent twice keeps both lists, joined). Bytes before the first `VAR` and
/// values before any name are skipped; text is UTF-8, or Latin-1 if not.
///
/// ```
/// use telnetlib3_proto::options::mssp::decode;
///
/// let variables = decode(b"\x01NAME\x02Example MUD\x01PLAYERS\x0252");
/// assert_eq!(variables[0], ("NAME".to_owned(), vec!["Example MUD".to_owned()]));
/// ```
#[must_use]
pub fn decode(payload: &[u8]) -> Vec<(String, Vec<String>)> {
    let mut variables: Vec<(String, Vec<String>)> = Vec::new();
    let mut current: Option<usize> = None;
    // Each field runs from its marker to the next marker.
    let mut fields = payload.split(|&b| b == VAR || b == VAL);
    let mut markers = payload.iter().filter(|&&b| b == VAR || b == VAL);
    let _before_first_marker = fields.next();
    for (marker, field) in markers.by_ref().zip(fields) {
        let text = best_effort(field);
        if *marker == VAR {
            current = Some(match variables.iter().position(|(name, _)| *name == text) {
                Some(index) => index,
                None => {
                    variables.push((text, Vec::new()));
                    variables.len() - 1
                }
            });
        } else if let Some(index) = current {
            variables[index].1.push(text);
        }
    }
    variables
}

/// Append the payload of `variables` to `out`: each name, then each of its values (a
/// list gives repeated `VAL`s, as the specification lists ports and codebases).
///
/// ```
/// use telnetlib3_proto::options::mssp::encode;
///
/// let mut out = Vec::new();
/// encode(&[("NAME", &["Example"][..]), ("PORT", &["4000", "4001"][..])], &mut out);
/// assert_eq!(out, b"\x01NAME\x02Example\x01PORT\x024000\x024001");
/// ```
pub fn encode<N, L, V>(variables: &[(N, L)], out: &mut Vec<u8>)
where
    N: AsRef<str>,
    L: AsRef<[V]>,
    V: AsRef<str>,
{
    for (name, values) in variables {
        out.push(VAR);
        out.extend_from_slice(name.as_ref().as_bytes());
        for value in values.as_ref() {
            out.push(VAL);
            out.extend_from_slice(value.as_ref().as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Role;
    use crate::options::tests::{drive_pair_with, transmit, Log};
    use crate::{Policy, ServerPlan, Session, SessionConfig};

    fn owned(variables: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        variables
            .iter()
            .map(|(name, values)| {
                (
                    (*name).to_owned(),
                    values.iter().map(|v| (*v).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn the_specification_example_decodes() {
        let payload = b"\x01NAME\x02Lola\x01PLAYERS\x0252\x01UPTIME\x021234567890\
                        \x01PORT\x024000\x024001\x01CODEBASE\x02Merc\x02ROM";
        assert_eq!(
            decode(payload),
            owned(&[
                ("NAME", &["Lola"]),
                ("PLAYERS", &["52"]),
                ("UPTIME", &["1234567890"]),
                ("PORT", &["4000", "4001"]),
                ("CODEBASE", &["Merc", "ROM"]),
            ])
        );
    }

    #[test]
    fn untidy_input_is_read() {
        assert_eq!(decode(b""), owned(&[]));
        assert_eq!(decode(b"junk\x02orphan\x01A\x02b"), owned(&[("A", &["b"])]));
        assert_eq!(
            decode(b"\x01A\x01B\x02"),
            owned(&[("A", &[]), ("B", &[""])])
        );
        assert_eq!(
            decode(b"\x01A\x02x\x01A\x02y"),
            owned(&[("A", &["x", "y"])])
        );
        assert_eq!(decode(b"\x01N\x02caf\xe9"), owned(&[("N", &["café"])]));
    }

    #[test]
    fn encoding_round_trips() {
        let mut out = Vec::new();
        encode(
            &[
                ("NAME", &["telnetlib3"][..]),
                ("PLAYERS", &["0"][..]),
                ("PORT", &["23", "6023"][..]),
            ],
            &mut out,
        );
        assert_eq!(
            decode(&out),
            owned(&[
                ("NAME", &["telnetlib3"]),
                ("PLAYERS", &["0"]),
                ("PORT", &["23", "6023"])
            ])
        );
    }

    fn server_config() -> SessionConfig {
        let mut config = SessionConfig::with_policy(Policy::server());
        config.mssp.variables = vec![
            ("NAME".into(), vec!["telnetlib3".into()]),
            ("PORT".into(), vec!["23".into(), "6023".into()]),
        ];
        config
    }

    const SB_MSSP: &[u8] = b"\xff\xfa\x46\x01NAME\x02telnetlib3\x01PORT\x0223\x026023\xff\xf0";

    #[test]
    fn a_server_offers_mssp_in_its_opening_and_sends_its_variables() {
        let mut server = Session::new(Role::Server, server_config());
        server.start_server_negotiation(ServerPlan::default());
        assert_eq!(transmit(&mut server), b"\xff\xfd\x18"); // DO TTYPE alone, as ever
        let mut log = Log::default();
        server.receive(b"\xff\xfb\x18", &mut log); // WILL TTYPE
        assert_eq!(
            transmit(&mut server),
            [
                &b"\xff\xfa\x18\x01\xff\xf0"[..], // SB TTYPE SEND
                b"\xff\xfb\x03",                  // WILL SGA
                b"\xff\xfb\x00",                  // WILL BINARY
                b"\xff\xfd\x1f",                  // DO NAWS
                b"\xff\xfd\x2a",                  // DO CHARSET
                b"\xff\xfb\x46",                  // WILL MSSP
            ]
            .concat()
        );
        server.receive(b"\xff\xfd\x46", &mut log); // DO MSSP
        assert_eq!(transmit(&mut server), SB_MSSP);
        assert!(server.send_mssp(&[("PLAYERS", ["0"])]));
        assert_eq!(
            transmit(&mut server),
            b"\xff\xfa\x46\x01PLAYERS\x020\xff\xf0"
        );
    }

    #[test]
    fn a_client_that_allows_mssp_keeps_the_variables() {
        let client = SessionConfig::with_policy(Policy::client().allow_remote(TelnetOption::Mssp));
        let (client, _, client_log, _) = drive_pair_with(client, server_config(), |_, server| {
            server.request_local(TelnetOption::Mssp, true).unwrap();
        });
        assert_eq!(
            client.mssp_data(),
            owned(&[("NAME", &["telnetlib3"]), ("PORT", &["23", "6023"])])
        );
        assert!(client_log
            .events
            .iter()
            .any(|e| e.starts_with("Mssp(Variables(")));
        // telnetlib3's client refuses MSSP: the server sends nothing.
        let client = SessionConfig::with_policy(Policy::client());
        let (client, _, _, server_log) = drive_pair_with(client, server_config(), |_, server| {
            server.request_local(TelnetOption::Mssp, true).unwrap();
        });
        assert!(client.mssp_data().is_empty());
        assert!(!server_log.events.iter().any(|e| e.contains("Mssp(")));
    }

    #[test]
    fn bad_payloads_are_refused() {
        let mut client = Session::new(
            Role::Client,
            SessionConfig::with_policy(Policy::client().allow_remote(TelnetOption::Mssp)),
        );
        let mut log = Log::default();
        client.receive(
            b"\xff\xfb\x46\xff\xfa\x46\xff\xf0\xff\xfa\x46\x02x\xff\xf0",
            &mut log,
        );
        assert_eq!(
            log.events[1..],
            [
                "BadSubnegotiation { option: Mssp, error: Empty }",
                "BadSubnegotiation { option: Mssp, error: Malformed }",
            ]
        );
    }
}
