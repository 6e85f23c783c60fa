//! Searching data that arrives in pieces for a separator or for patterns, in linear work.
//!
//! A reader waiting for a prompt sees its buffer grow one arrival at a time. Searching the
//! whole buffer at every arrival costs the square of its size (netmiko's issue #3872: 20
//! minutes instead of 2 seconds for a large output); these searches look only at what
//! arrived since the last search, plus a bounded look-back into what was searched
//! already, so every byte is searched a bounded number of times.
//!
//! - A separator of `n` bytes that was not in the first `k` bytes can only end in the new
//!   data, so it starts at `k - (n - 1)` or later.
//! - A pattern that did not match the first `k` bytes can only match so as to end at `k`
//!   or later (a match ending earlier sees the same bytes, and the byte after it, as
//!   before; the regex crate looks at most one character, 4 bytes, ahead). It starts at
//!   most its longest match before that end: the look-back is the longest match the
//!   pattern can make ([`regex_syntax`]'s `maximum_len`), plus 4 bytes for the look-ahead
//!   and capped at [`PATTERN_LOOKBACK`]. A pattern without a bound (`\S+#`, `.*`) looks
//!   back [`PATTERN_LOOKBACK`] bytes: a longer match that was incomplete at one arrival
//!   is found by its last [`PATTERN_LOOKBACK`] bytes (a match all the same, shorter on
//!   the left; whole if it arrived at once).
//!
//! Each search therefore scans at most the new data plus a constant, whatever the
//! chunking: linear in the data.

use std::ops::Range;

use regex::bytes::Regex;

/// How far back (in bytes) a pattern search looks into data it searched already, at
/// most: the cap for patterns whose matches have no bound of their own (`\S+#`, `.*`).
/// See [`TelnetReader::read_until_pattern`](crate::TelnetReader::read_until_pattern).
pub const PATTERN_LOOKBACK: usize = 4096;

/// How far a match's end may lie before the end of the data searched, for look-ahead
/// assertions (`\b` decodes one character after the match: up to 4 bytes).
const LOOK_AHEAD: usize = 4;

/// A pattern that matched, in [`TelnetReader::expect`](crate::TelnetReader::expect): which
/// one, what it matched, and the data before the match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The index of the pattern that matched, in the list given.
    pub index: usize,
    /// The bytes the pattern matched.
    pub matched: Vec<u8>,
    /// The bytes before the match.
    pub before: Vec<u8>,
}

/// A pattern that matched, in [`TextReader::expect`](crate::TextReader::expect): which one,
/// what it matched, and the text before the match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFound {
    /// The index of the pattern that matched, in the list given.
    pub index: usize,
    /// The text the pattern matched.
    pub matched: String,
    /// The text before the match.
    pub before: String,
}

/// The first of `patterns` (in their order) to match `text`, searched from `searched`
/// less each pattern's look-back (on a character boundary), as [`PatternSearch`] does
/// for bytes.
pub(crate) fn find_text(
    text: &str,
    searched: usize,
    patterns: &[regex::Regex],
    lookbacks: &[usize],
) -> Option<(usize, Range<usize>)> {
    for (index, (pattern, lookback)) in patterns.iter().zip(lookbacks).enumerate() {
        let mut from = searched.saturating_sub(*lookback);
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        if let Some(found) = pattern.find_at(text, from) {
            return Some((index, found.range()));
        }
    }
    None
}

impl Found {
    /// Split `data` (consumed up to the match's end) into what came before and the match.
    pub(crate) fn from_data(index: usize, mut data: Vec<u8>, at: &Range<usize>) -> Self {
        data.truncate(at.end);
        let matched = data.split_off(at.start);
        Self {
            index,
            matched,
            before: data,
        }
    }
}

/// The longest match `pattern` can make, as its look-back.
///
/// The regex keeps only its pattern text, not the flags a `RegexBuilder` gave it; the
/// bound is taken both as written and case-insensitively (case folding can change a
/// character's length: `k` and the Kelvin sign), and a pattern the plain parser does not
/// accept is unbounded. The other flags only shorten matches (`x` drops whitespace,
/// `-u` makes `.` one byte) or leave their length alone.
pub(crate) fn lookback(pattern: &Regex) -> usize {
    lookback_of(pattern.as_str(), false)
}

/// [`lookback`] of a pattern's text; `utf8` for a text (`regex::Regex`) pattern.
pub(crate) fn lookback_of(pattern: &str, utf8: bool) -> usize {
    let bound = |case_insensitive: bool| {
        regex_syntax::ParserBuilder::new()
            .utf8(utf8)
            .case_insensitive(case_insensitive)
            .build()
            .parse(pattern)
            .ok()
            .and_then(|hir| hir.properties().maximum_len())
    };
    match (bound(false), bound(true)) {
        (Some(plain), Some(folded)) => plain.max(folded).saturating_add(LOOK_AHEAD),
        _ => PATTERN_LOOKBACK,
    }
    .min(PATTERN_LOOKBACK)
}

/// A separator search over a buffer that grows: where to look next.
#[derive(Debug, Default)]
pub(crate) struct SeparatorSearch {
    /// The buffer's length at the last search that found nothing.
    searched: usize,
    /// Bytes scanned in all, for the tests' linearity check.
    pub(crate) scanned: usize,
}

impl SeparatorSearch {
    /// The end of the first `separator` in `data` (the buffer so far: the same data, with
    /// more at the end, as at the last call).
    pub(crate) fn find(&mut self, data: &[u8], separator: &[u8]) -> Option<usize> {
        if separator.is_empty() {
            return Some(0);
        }
        let from = self.searched.saturating_sub(separator.len() - 1);
        self.scanned += data.len() - from;
        match memchr::memmem::find(&data[from..], separator) {
            Some(at) => Some(from + at + separator.len()),
            None => {
                self.searched = data.len();
                None
            }
        }
    }
}

/// A search for the first of several patterns (in the order given, as CPython's
/// `telnetlib.Telnet.expect`) over a buffer that grows.
#[derive(Debug)]
pub(crate) struct PatternSearch {
    /// The buffer's length at the last search that found nothing.
    searched: usize,
    lookbacks: Vec<usize>,
    /// Bytes scanned in all, for the tests' linearity check.
    pub(crate) scanned: usize,
}

impl PatternSearch {
    pub(crate) fn new(patterns: &[Regex]) -> Self {
        Self {
            searched: 0,
            lookbacks: patterns.iter().map(lookback).collect(),
            scanned: 0,
        }
    }

    /// The first pattern (by its place in `patterns`) that matches `data` (the buffer so
    /// far: the same data, with more at the end, as at the last call), and where.
    pub(crate) fn find(
        &mut self,
        data: &[u8],
        patterns: &[Regex],
    ) -> Option<(usize, Range<usize>)> {
        for (index, (pattern, lookback)) in patterns.iter().zip(&self.lookbacks).enumerate() {
            let from = self.searched.saturating_sub(*lookback);
            self.scanned += data.len() - from;
            // `find_at` sees the bytes before `from`, so `^` and `\b` judge the match's
            // start as a search of the whole buffer would.
            if let Some(found) = pattern.find_at(data, from) {
                return Some((index, found.range()));
            }
        }
        self.searched = data.len();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookbacks() {
        let lb = |p: &str| lookback(&Regex::new(p).unwrap());
        assert_eq!(lb(r"[#>] $"), 2 + LOOK_AHEAD);
        assert_eq!(lb(r"login: "), 7 + LOOK_AHEAD);
        assert_eq!(lb(r"\S+#"), PATTERN_LOOKBACK);
        assert_eq!(lb(r"a{0,100000}"), PATTERN_LOOKBACK);
        // The Kelvin sign folds to `k`: three bytes for one.
        assert_eq!(lb(r"(?-i)k"), 1 + LOOK_AHEAD);
        assert_eq!(lb(r"k"), 3 + LOOK_AHEAD);
    }

    /// Every split of the data into two or three pieces finds what one search of the
    /// whole finds.
    #[test]
    fn splits_find_what_the_whole_finds() {
        let data = b"xx abc login: yy # ";
        let patterns = [
            Regex::new(r"login: ").unwrap(),
            Regex::new(r"[#>] $").unwrap(),
        ];
        for a in 0..=data.len() {
            for b in a..=data.len() {
                let mut search = PatternSearch::new(&patterns);
                let mut separator = SeparatorSearch::default();
                let mut found = None;
                let mut at = None;
                for end in [a, b, data.len()] {
                    found = found.or_else(|| search.find(&data[..end], &patterns));
                    at = at.or_else(|| separator.find(&data[..end], b"login: "));
                }
                assert_eq!(found, Some((0, 7..14)), "split at {a} and {b}");
                assert_eq!(at, Some(14), "split at {a} and {b}");
            }
        }
    }

    #[test]
    fn searches_are_linear_in_small_arrivals() {
        let mut data = vec![b'.'; 1 << 20];
        data.extend_from_slice(b"router# ");
        let patterns = [
            Regex::new(r"\S+# $").unwrap(),
            Regex::new(r"[#>] $").unwrap(),
        ];
        let mut search = PatternSearch::new(&patterns);
        let mut separator = SeparatorSearch::default();
        let (mut found, mut at) = (None, None);
        for end in (100..data.len()).step_by(100).chain([data.len()]) {
            found = found.or_else(|| search.find(&data[..end], &patterns));
            at = at.or_else(|| separator.find(&data[..end], b"router# "));
        }
        // The unbounded pattern found its match by its last PATTERN_LOOKBACK bytes.
        let (index, range) = found.unwrap();
        assert_eq!(index, 0);
        assert_eq!(range.end, data.len());
        assert_eq!(at, Some(data.len()));
        // Each arrival of 100 bytes scans it plus the look-backs: bounded per byte.
        let arrivals = data.len() / 100 + 1;
        assert!(search.scanned <= 2 * data.len() + arrivals * (PATTERN_LOOKBACK + 10));
        assert!(separator.scanned <= data.len() + arrivals * 7);
    }
}
