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

/// Keep `value` as `name`'s latest in `entries` (first-arrival order), within `max` bytes
/// of names and values in all: `bytes` is their running total and `size` a value's cost.
/// What would pass the budget is not kept (the caller still reports it).
pub(crate) fn store_within<V: Clone>(
    entries: &mut Vec<(String, V)>,
    bytes: &mut usize,
    (name, value): (&str, &V),
    size: impl Fn(&V) -> usize,
    max: usize,
) {
    let new_size = name.len() + size(value);
    match entries.iter().position(|(known, _)| known == name) {
        Some(at) => {
            let total = *bytes - (name.len() + size(&entries[at].1)) + new_size;
            if total <= max {
                *bytes = total;
                entries[at].1 = value.clone();
            }
        }
        None if *bytes + new_size <= max => {
            *bytes += new_size;
            entries.push((name.to_owned(), value.clone()));
        }
        None => {}
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
