//! MSSP, the MUD Server Status Protocol (option 70): a server tells a crawler its name,
//! player count and the like, as `VAR name VAL value [VAL value ...]`.
//!
//! Specification: <https://tintin.mudhalla.net/protocols/mssp/>.

use super::mud_text::best_effort;

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
pub fn encode<N: AsRef<str>, V: AsRef<str>>(variables: &[(N, &[V])], out: &mut Vec<u8>) {
    for (name, values) in variables {
        out.push(VAR);
        out.extend_from_slice(name.as_ref().as_bytes());
        for value in *values {
            out.push(VAL);
            out.extend_from_slice(value.as_ref().as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
