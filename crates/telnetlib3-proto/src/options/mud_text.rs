//! Text in the MUD protocols' payloads: UTF-8 as their specifications say, read as
//! Latin-1 where a server sends something else (telnetlib3's best effort), so that no
//! payload is refused for its encoding.

/// `bytes` as UTF-8, or as Latin-1 (every byte one character) when they are not UTF-8.
pub(crate) fn best_effort(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_kept_and_anything_else_is_latin1() {
        assert_eq!(best_effort("café".as_bytes()), "café");
        assert_eq!(best_effort(b"caf\xe9"), "café");
        assert_eq!(best_effort(b""), "");
    }
}
