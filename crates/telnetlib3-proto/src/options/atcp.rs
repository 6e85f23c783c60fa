//! ATCP, the Achaea Telnet Client Protocol (option 200), GMCP's predecessor:
//! `Package.Message value`, the value plain text.
//!
//! Specification: <https://www.ironrealms.com/rapture/manual/files/FeatATCP-txt.html>.

use super::mud_text::best_effort;

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
}
