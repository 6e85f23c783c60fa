//! Finding SLC characters in the data stream without a per-byte table lookup.
//!
//! Every default SLC character is a control character (below 0x20, or DEL). Data is read
//! in blocks of [`BLOCK`] bytes: one branch-free pass per block (which the compiler turns
//! into SIMD compares) tells whether it holds a control character that could be active,
//! CR and LF excepted unless they are active themselves (text has them on every line).
//! A block that passes goes through a second such pass that also skips the other control
//! characters common in text ([`QUIET`]: ESC of every terminal escape sequence, TAB, BS,
//! BEL) when they are inactive, so that colour codes or a cursor move in every line do
//! not send every block to the exact test. Only blocks passing both are looked at closely. A character a user configures outside
//! that range (printable or 8-bit) is found with `memchr` (up to three such characters),
//! or, past three, by a lookup of every byte.

use memchr::{Memchr, Memchr2, Memchr3};

use super::slc::{SlcFunction, SlcTable};

/// Bytes tested at once by the block filter (one bit each in a `u64` of hits).
const BLOCK: usize = 64;

/// The most runs of consecutive active control characters tested as ranges (the BSD
/// table makes six).
const RANGES: usize = 8;

/// Multiplying eight 0/1 bytes by this gathers them as bits 56..=63, in order.
const PACK_FLAGS: u64 = 0x0102_0408_1020_4080;

/// A value no control character has: an exclusion slot that excludes nothing.
const NO_EXCLUSION: u8 = 0x80;

/// Control characters common in text and terminal output (ESC, TAB, BS, BEL), skipped
/// by the second block filter when they are not active SLC characters.
const QUIET: [u8; 4] = [0x1B, b'\t', 0x08, 0x07];

#[inline]
const fn is_control(byte: u8) -> bool {
    byte < 0x20 || byte == 0x7F
}

/// Where a control character's function is kept in [`Scanner::control_functions`].
#[inline]
const fn control_index(byte: u8) -> usize {
    if byte == 0x7F {
        32
    } else {
        byte as usize
    }
}

/// A set of bytes, one bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, byte: u8) {
        self.0[usize::from(byte >> 6)] |= 1 << (byte & 63);
    }

    #[inline]
    fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0
    }
}

/// The active SLC characters of a table, arranged for scanning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scanner {
    /// Every active character.
    all: ByteSet,
    /// Whether any active character is a control character (the block pass is needed).
    any_control: bool,
    /// Control characters the block filter skips (CR and LF, when they are inactive).
    excluded: [u8; 2],
    /// Those the second filter skips besides: [`QUIET`]'s inactive ones.
    quiet: [u8; 4],
    /// The active control characters below 0x20, one bit each, and whether DEL is
    /// active: a block that passes the filter is tested with these, without branches,
    /// when `ranges` cannot be used.
    control_mask: u32,
    del_active: bool,
    /// The active control characters as runs `(first, last - first)`, unused slots
    /// repeating the first run; `None` when they make more than [`RANGES`] runs. A byte
    /// is tested against every run with compares the compiler vectorises.
    ranges: Option<[(u8, u8); RANGES]>,
    /// The function code of each active control character (0..=31, then DEL), 0 for none:
    /// a hit costs one load instead of a search of the table.
    control_functions: [u8; 33],
    /// Active characters that are not control characters, found with memchr.
    others: [u8; 3],
    n_others: u8,
    /// More than three such characters: look every byte up instead.
    many_others: bool,
}

impl Scanner {
    /// The scanner for `table`'s active characters.
    pub(crate) fn new(table: &SlcTable) -> Self {
        let mut scanner = Self {
            all: ByteSet::default(),
            any_control: false,
            excluded: [b'\r', b'\n'],
            quiet: QUIET,
            control_mask: 0,
            del_active: false,
            ranges: None,
            control_functions: [0; 33],
            others: [0; 3],
            n_others: 0,
            many_others: false,
        };
        // In code order, so that a character shared by several functions maps to the
        // lowest-numbered one, as `SlcTable::function_for` finds it.
        for (function, entry) in table.iter() {
            if !entry.is_active() || scanner.all.contains(entry.value) {
                continue;
            }
            scanner.all.insert(entry.value);
            if is_control(entry.value) {
                scanner.any_control = true;
                scanner.control_functions[control_index(entry.value)] = function.code();
                if entry.value == 0x7F {
                    scanner.del_active = true;
                } else {
                    scanner.control_mask |= 1 << entry.value;
                }
                for slot in scanner.excluded.iter_mut().chain(&mut scanner.quiet) {
                    if *slot == entry.value {
                        *slot = NO_EXCLUSION;
                    }
                }
            } else if let Some(slot) = scanner.others.get_mut(usize::from(scanner.n_others)) {
                *slot = entry.value;
                scanner.n_others += 1;
            } else {
                scanner.many_others = true;
            }
        }
        scanner.ranges = scanner.control_ranges();
        scanner
    }

    /// The active control characters as at most [`RANGES`] runs.
    fn control_ranges(&self) -> Option<[(u8, u8); RANGES]> {
        let mut runs: Vec<(u8, u8)> = Vec::new();
        for byte in (0..0x20).chain([0x7F]) {
            if !self.all.contains(byte) {
                continue;
            }
            match runs.last_mut() {
                Some((first, span)) if *first + *span + 1 == byte => *span += 1,
                _ => runs.push((byte, 0)),
            }
        }
        let first = *runs.first()?;
        if runs.len() > RANGES {
            return None;
        }
        let mut ranges = [first; RANGES];
        ranges[..runs.len()].copy_from_slice(&runs);
        Some(ranges)
    }

    /// Which bytes of `block` (at most [`BLOCK`]) are active control characters, one bit each.
    #[inline]
    fn control_hits(&self, block: &[u8]) -> u64 {
        let mut hits = 0u64;
        if let Some(ranges) = &self.ranges {
            // A 0/1 flag per byte, with compares the compiler vectorises ...
            let mut flags = [0u8; BLOCK];
            for (flag, &byte) in flags.iter_mut().zip(block) {
                *flag = u8::from(ranges.iter().fold(false, |found, &(first, span)| {
                    found | (byte.wrapping_sub(first) <= span)
                }));
            }
            // ... then eight flags at a time packed into eight bits by one multiply (each
            // flag byte lands on its own bit of the top byte, with no carries).
            for (index, word) in flags.chunks_exact(8).enumerate() {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(word);
                let packed = u64::from_le_bytes(bytes).wrapping_mul(PACK_FLAGS) >> 56;
                hits |= packed << (index * 8);
            }
        } else {
            for (offset, &byte) in block.iter().enumerate() {
                let low = (byte < 0x20) & ((self.control_mask >> (byte & 31)) & 1 == 1);
                let del = (byte == 0x7F) & self.del_active;
                hits |= u64::from(low | del) << offset;
            }
        }
        hits
    }

    /// Whether there is nothing to find.
    pub(crate) const fn is_empty(&self) -> bool {
        !self.any_control && self.n_others == 0
    }

    /// The function of an active character found by [`Scanner::scan`] (`table` is the
    /// one the scanner was built from).
    #[inline]
    pub(crate) fn function_of(&self, byte: u8, table: &SlcTable) -> Option<SlcFunction> {
        if is_control(byte) {
            SlcFunction::from_code(self.control_functions[control_index(byte)])
        } else {
            table.function_for(byte)
        }
    }

    /// Whether `block` holds a control character the filter does not skip. Written
    /// without branches or early exits so that it compiles to vector compares.
    #[inline]
    fn may_hit(&self, block: &[u8]) -> bool {
        let [a, b] = self.excluded;
        let test = |found: u8, &byte: &u8| {
            // `byte & 0xE0 == 0` is `byte < 0x20` in two vector instructions.
            found | u8::from(((byte & 0xE0 == 0) & (byte != a) & (byte != b)) | (byte == 0x7F))
        };
        // A whole block has a length known to the compiler: unrolled, all in vectors.
        match <&[u8; BLOCK]>::try_from(block) {
            Ok(whole) => whole.iter().fold(0, test) != 0,
            Err(_) => block.iter().fold(0, test) != 0,
        }
    }

    /// [`Scanner::may_hit`] skipping the inactive [`QUIET`] characters too: the second
    /// filter, for blocks that passed the first.
    #[inline]
    fn may_hit_besides_quiet(&self, block: &[u8]) -> bool {
        let [a, b] = self.excluded;
        let [c, d, e, f] = self.quiet;
        let test = |found: u8, &byte: &u8| {
            let skipped = (byte == a) | (byte == b) | (byte == c) | (byte == d);
            let skipped = skipped | (byte == e) | (byte == f);
            found | u8::from(((byte & 0xE0 == 0) & !skipped) | (byte == 0x7F))
        };
        match <&[u8; BLOCK]>::try_from(block) {
            Ok(whole) => whole.iter().fold(0, test) != 0,
            Err(_) => block.iter().fold(0, test) != 0,
        }
    }

    /// Call `hit` with every active character of `data`, in stream order.
    pub(crate) fn scan(&self, data: &[u8], mut hit: impl FnMut(u8)) {
        if self.many_others {
            for &byte in data {
                if self.all.contains(byte) {
                    hit(byte);
                }
            }
            return;
        }
        // The memchr hits and the control hits are disjoint; merge them by position.
        let mut others = Others::new(&self.others[..usize::from(self.n_others)], data);
        let mut next_other = others.next();
        let mut emit_upto = |position: usize, hit: &mut dyn FnMut(u8)| {
            while let Some(at) = next_other.filter(|&at| at < position) {
                if let Some(&byte) = data.get(at) {
                    hit(byte);
                }
                next_other = others.next();
            }
        };
        if self.any_control {
            // After a block with hits, the next is likely to have some too (binary data):
            // the filter is skipped until a block has none.
            let mut dense = false;
            for (index, block) in data.chunks(BLOCK).enumerate() {
                // Plain text fails the first filter; text with escape sequences, the
                // second.
                let passes = dense || (self.may_hit(block) && self.may_hit_besides_quiet(block));
                if !passes {
                    continue;
                }
                // Which bytes of the block are active control characters, computed
                // without a branch per byte (random data would mispredict them), then
                // visited in order. Other active characters come from memchr.
                let mut hits = self.control_hits(block);
                dense = hits != 0;
                while hits != 0 {
                    let offset = hits.trailing_zeros() as usize;
                    hits &= hits - 1;
                    emit_upto(index * BLOCK + offset, &mut hit);
                    hit(block[offset]);
                }
            }
        }
        emit_upto(data.len(), &mut hit);
    }
}

/// Positions of up to three bytes, through the matching memchr iterator.
enum Others<'h> {
    None,
    One(Memchr<'h>),
    Two(Memchr2<'h>),
    Three(Memchr3<'h>),
}

impl<'h> Others<'h> {
    fn new(needles: &[u8], haystack: &'h [u8]) -> Self {
        match *needles {
            [a] => Self::One(memchr::memchr_iter(a, haystack)),
            [a, b] => Self::Two(memchr::memchr2_iter(a, b, haystack)),
            [a, b, c] => Self::Three(memchr::memchr3_iter(a, b, c, haystack)),
            _ => Self::None,
        }
    }
}

impl Iterator for Others<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        match self {
            Self::None => None,
            Self::One(it) => it.next(),
            Self::Two(it) => it.next(),
            Self::Three(it) => it.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::slc::{SlcEntry, SlcFlags, SlcFunction, SlcLevel};
    use super::*;
    use proptest::prelude::*;

    fn hits(scanner: &Scanner, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        scanner.scan(data, |b| out.push(b));
        out
    }

    #[test]
    fn block_filter_is_exact_outside_its_exclusions() {
        for (values, excluded) in [(&[3u8][..], &b"\r\n"[..]), (&[b'\r', 3], b"\n")] {
            let scanner = Scanner::new(&table_with(values));
            for byte in 0..=255u8 {
                for position in 0..BLOCK {
                    let mut block = [b'a'; BLOCK];
                    block[position] = byte;
                    let expected = is_control(byte) && !excluded.contains(&byte);
                    assert_eq!(scanner.may_hit(&block), expected, "{byte:#x} at {position}");
                }
            }
        }
    }

    fn table_with(values: &[u8]) -> SlcTable {
        let mut table = SlcTable::empty();
        for (&value, function) in values.iter().zip(SlcFunction::ALL) {
            table.set(
                function,
                SlcEntry::new(SlcLevel::Value, SlcFlags::NONE, value),
            );
        }
        table
    }

    /// The bytes of `data` that `table` gives a function, found one byte at a time.
    fn naive_hits(table: &SlcTable, data: &[u8]) -> Vec<u8> {
        data.iter()
            .copied()
            .filter(|&b| table.function_for(b).is_some())
            .collect()
    }

    proptest! {
        #[test]
        fn scan_matches_naive(
            values in proptest::collection::vec(prop_oneof![any::<u8>(), 0u8..0x20], 0..14),
            data in proptest::collection::vec(
                prop_oneof![any::<u8>(), Just(b'x'), Just(3u8), Just(b'q'), Just(b'\r'), Just(b'\n')], 0..200),
        ) {
            let table = table_with(&values);
            let scanner = Scanner::new(&table);
            let naive = naive_hits(&table, &data);
            prop_assert_eq!(&hits(&scanner, &data), &naive);
            let functions: Vec<_> = naive.iter().map(|&b| scanner.function_of(b, &table)).collect();
            let expected: Vec<_> = naive.iter().map(|&b| table.function_for(b)).collect();
            prop_assert_eq!(functions, expected);
        }
    }

    /// Data in which control characters are the rule, ESC and the other [`QUIET`] ones
    /// above all: stretches of quiet characters among glyphs (which only the second
    /// filter can skip), crossing blocks, between stretches of any bytes.
    fn control_dense() -> impl Strategy<Value = Vec<u8>> {
        let quiet = proptest::collection::vec(
            prop_oneof![
                2 => prop_oneof![Just(0x1Bu8), Just(b'\t'), Just(0x08), Just(0x07)],
                1 => prop_oneof![Just(b'\r'), Just(b'\n')],
                4 => Just(b'/'),
            ],
            0..200,
        );
        let mixed = proptest::collection::vec(
            prop_oneof![
                3 => 0u8..0x20,
                1 => Just(0x7Fu8),
                2 => Just(b'/'),
                1 => any::<u8>(),
            ],
            0..40,
        );
        proptest::collection::vec(prop_oneof![3 => quiet, 1 => mixed], 0..6)
            .prop_map(|stretches| stretches.concat())
    }

    proptest! {
        /// The two block filters and the dense-block shortcut find exactly what a lookup
        /// of every byte finds, whether the quiet characters are active or not.
        #[test]
        fn scan_of_control_dense_data_matches_a_lookup_of_every_byte(
            values in proptest::collection::vec(
                prop_oneof![Just(0x1Bu8), Just(b'\t'), Just(0x08), Just(0x07), 0u8..0x20, Just(0x7F), any::<u8>()],
                0..8),
            bsd in any::<bool>(),
            data in control_dense(),
        ) {
            let table = if bsd { SlcTable::bsd() } else { table_with(&values) };
            let scanner = Scanner::new(&table);
            let naive = naive_hits(&table, &data);
            prop_assert_eq!(hits(&scanner, &data), naive);
        }
    }

    #[test]
    fn escape_sequences_in_every_block_are_skipped_but_active_escapes_found() {
        // The dump line of the debug shell: 80 glyphs then ESC [1G.
        let line = [&[b'/'; 80][..], b"\x1b[1G"].concat();
        let data = line.repeat(100);
        let bsd = Scanner::new(&SlcTable::bsd());
        assert_eq!(bsd.quiet, QUIET);
        assert!(!bsd.may_hit_besides_quiet(&data[..BLOCK]));
        assert!(hits(&bsd, &data).is_empty());
        let mut with_ctrl_c = data.clone();
        with_ctrl_c[5000] = 0x03;
        assert_eq!(hits(&bsd, &with_ctrl_c), [0x03]);
        // ESC made an SLC character (as some users make it the escape of LNEXT): found
        // every time.
        let escape = Scanner::new(&table_with(&[0x1B]));
        assert_eq!(escape.quiet, [NO_EXCLUSION, b'\t', 0x08, 0x07]);
        assert_eq!(hits(&escape, &data), vec![0x1B; 100]);
    }

    #[test]
    fn many_runs_of_control_characters_use_the_bit_mask() {
        let values = [1u8, 3, 5, 7, 9, 11, 13, 15, 17, 19, 0x7F];
        let scanner = Scanner::new(&table_with(&values));
        assert!(scanner.ranges.is_none());
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let naive: Vec<u8> = data
            .iter()
            .copied()
            .filter(|b| values.contains(b))
            .collect();
        assert_eq!(hits(&scanner, &data), naive);
        let bsd = Scanner::new(&SlcTable::bsd());
        assert_eq!(
            bsd.ranges.map(|r| r[..6].to_vec()),
            Some(vec![
                (3, 1),
                (0x0F, 0),
                (0x11, 6),
                (0x1A, 0),
                (0x1C, 0),
                (0x7F, 0)
            ])
        );
    }

    /// A client reports no SLC character of the server's output, in kludge mode (WILL
    /// ECHO, WILL SGA) or in remote mode (LINEMODE without EDIT), where a server would.
    #[test]
    fn a_client_does_not_look_for_slc_characters_in_the_servers_output() {
        use crate::option::TelnetOption;
        use crate::options::tests::Log;
        use crate::{Policy, SessionConfig};
        use crate::{Role, Session};

        let data = b"a\x03b\x7fc\x04\x1a";
        let policy = Policy::new()
            .allow_remote(TelnetOption::Echo)
            .allow_remote(TelnetOption::Sga)
            .allow_local(TelnetOption::Linemode);
        let mut client = Session::new(Role::Client, SessionConfig::with_policy(policy));
        client.receive(b"\xff\xfb\x01\xff\xfb\x03", &mut Log::default());
        assert_eq!(client.mode().to_string(), "kludge");
        let mut log = Log::default();
        client.receive(data, &mut log);
        assert_eq!(log.data, data);
        assert_eq!(log.events, Vec::<String>::new());

        // DO LINEMODE, then MODE 0: remote mode.
        client.receive(
            b"\xff\xfd\x22\xff\xfa\x22\x01\x00\xff\xf0",
            &mut Log::default(),
        );
        assert_eq!(client.mode().to_string(), "remote");
        let mut log = Log::default();
        client.receive(data, &mut log);
        assert_eq!(log.data, data);
        assert_eq!(log.events, Vec::<String>::new());
    }

    #[test]
    fn printable_characters_are_found_in_order() {
        let scanner = Scanner::new(&table_with(&[b'q', 0x03, b'z']));
        assert_eq!(
            hits(&scanner, b"aaq\x03zzzzzzzzzq\x03"),
            b"q\x03zzzzzzzzzq\x03"
        );
    }
}
