//! ZMP, the Zenith MUD Protocol (option 93): a command and its arguments, each ended by
//! NUL: `IAC SB ZMP "zmp.ping" NUL IAC SE`.
//!
//! Specification: <https://discworld.starturtle.net/external/protocols/zmp.html>.

use super::mud_text::best_effort;

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
}
