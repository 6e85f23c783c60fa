//! Bytes out: data escaping, NVT end-of-line, and command frames.
//!
//! Everything writes into a caller-provided `Vec<u8>`, so one output buffer can be reused
//! for the life of a connection.

use memchr::{memchr3_iter, memchr_iter};

use crate::command::{Command, Verb, IAC, SB, SE};
use crate::option::TelnetOption;
use crate::scan::{extend_short, iac_dense, IacPositions};

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const NUL: u8 = 0;

/// Escapes application data for the wire.
///
/// Always doubles IAC. Under the NVT rules (RFC 854; RFC 1123 3.3.1), which apply to a
/// direction that is not in BINARY mode, a newline is sent as CR LF and a carriage return
/// alone as CR NUL: `\n` and `\r\n` both become CR LF, and `\r` followed by anything else
/// becomes CR NUL.
///
/// The encoder remembers a CR that ended the previous call, so `"\r"` then `"\n"` still
/// gives CR LF. Such a CR is sent at once; its NUL goes out with the next data, or with
/// [`Encoder::flush_line_state`].
///
/// ```
/// use telnetlib3_proto::Encoder;
///
/// let mut out = Vec::new();
/// let mut encoder = Encoder::new();
/// encoder.encode(b"a\n\xffb\rc", true, &mut out);
/// assert_eq!(out, b"a\r\n\xff\xffb\r\0c");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Encoder {
    pending_cr: bool,
}

impl Encoder {
    /// A fresh encoder.
    #[must_use]
    pub const fn new() -> Self {
        Self { pending_cr: false }
    }

    /// Append `data`, escaped, to `out`. `nvt` selects the NVT end-of-line rules.
    #[inline]
    pub fn encode(&mut self, data: &[u8], nvt: bool, out: &mut Vec<u8>) {
        // The common small write (a line of text) has nothing to escape and no CR owed
        // before it: one check and one copy, inlined into the caller (behind the call,
        // its reserve and its dispatch cost as much as the check).
        if data.len() < SAMPLED_WRITE && !self.pending_cr {
            let plain = if nvt {
                // A line ending in CR LF, the NVT's own end of line, goes out as it is:
                // the usual write of a server's output line.
                let body = data.strip_suffix(b"\r\n").unwrap_or(data);
                !short_contains(body, [IAC, CR, LF])
            } else {
                !short_has_iac(data)
            };
            if plain {
                out.extend_from_slice(data);
                return;
            }
        }
        self.encode_escaped(data, nvt, out);
    }

    /// [`Encoder::encode`] for data that may need escaping. Never inlined: in the
    /// caller it would bloat the fast path's prologue and spill its registers.
    #[inline(never)]
    fn encode_escaped(&mut self, data: &[u8], nvt: bool, out: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        out.reserve(data.len() + data.len() / 16 + 2);
        if nvt {
            self.encode_nvt(data, out);
        } else {
            self.flush_line_state(out);
            escape_iac(data, out);
        }
    }

    /// Whether the last data ended with a CR whose NUL or LF is still to come.
    pub(crate) const fn owes_line_end(&self) -> bool {
        self.pending_cr
    }

    /// Finish a CR left pending by the previous call with its NUL.
    ///
    /// Call before anything that is not data (a command, a subnegotiation) goes out, or
    /// when BINARY is switched on.
    pub fn flush_line_state(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.pending_cr) {
            out.push(NUL);
        }
    }

    /// Remove the application data from `wire[from..]`, keeping every command,
    /// negotiation and subnegotiation whole; returns the new length. `wire` holds bytes
    /// for the peer starting at a frame boundary (what [`crate::Session::poll_transmit`]
    /// hands over) and `wire[..from]` was already sent: a frame that began there keeps its
    /// rest, so the peer never sees half of one.
    ///
    /// This is the discarding of Abort Output (RFC 854): the peer asked not to see the
    /// output, but its requests must still be answered.
    ///
    /// ```
    /// use telnetlib3_proto::Encoder;
    ///
    /// let mut wire = b"ab\xff\xfb\x03cd\xff\xffe\xff\xfa\x18\x01\xff\xf0f".to_vec();
    /// let len = Encoder::discard_data(&mut wire, 1);
    /// assert_eq!(wire, b"a\xff\xfb\x03\xff\xfa\x18\x01\xff\xf0");
    /// assert_eq!(len, wire.len());
    /// ```
    pub fn discard_data(wire: &mut Vec<u8>, from: usize) -> usize {
        Self::discard(wire, 0, from)
    }

    /// [`Encoder::discard_data`] of `wire[boundary..]`, where `boundary` is known to be a
    /// frame boundary: nothing before it is scanned (a flood of Abort Output must not
    /// rescan what the previous one left).
    pub(crate) fn discard_data_after(wire: &mut Vec<u8>, boundary: usize) -> usize {
        Self::discard(wire, boundary, boundary)
    }

    /// Discard the data of `wire[from..]`, scanning frames from `scan`, a frame boundary
    /// at or before `from`.
    fn discard(wire: &mut Vec<u8>, scan: usize, from: usize) -> usize {
        let from = from.min(wire.len());
        let mut kept = from;
        let mut at = scan.min(from);
        while at < wire.len() {
            let (end, frame) = if wire[at] == IAC {
                let end = match wire.get(at + 1) {
                    None => wire.len(),
                    Some(&SB) => subnegotiation_end(wire, at + 3),
                    Some(&verb) if crate::command::Verb::from_code(verb).is_some() => at + 3,
                    Some(_) => at + 2,
                };
                // An escaped IAC is data, but once its first byte went out the second
                // must follow, or the peer would take the next byte for a command.
                let escaped = wire.get(at + 1) == Some(&IAC);
                (end.min(wire.len()), !escaped || at < from)
            } else {
                let run = memchr::memchr(IAC, &wire[at..]).unwrap_or(wire.len() - at);
                (at + run, false)
            };
            if frame && end > from {
                let start = at.max(from);
                wire.copy_within(start..end, kept);
                kept += end - start;
            }
            at = end;
        }
        wire.truncate(kept);
        kept
    }

    fn encode_nvt(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut start = 0;
        if std::mem::take(&mut self.pending_cr) {
            if data[0] == LF {
                out.push(LF);
                start = 1;
            } else {
                out.push(NUL);
            }
        }
        let base = start;
        if data.len() < SAMPLED_WRITE && !short_contains(&data[base..], [IAC, CR, LF]) {
            out.extend_from_slice(&data[base..]);
            return;
        }
        for at in memchr3_iter(IAC, CR, LF, &data[base..]).map(|offset| offset + base) {
            if at < start {
                // The LF of a CR LF pair, already written with its CR.
                continue;
            }
            match data[at] {
                IAC => {
                    out.extend_from_slice(&data[start..=at]);
                    out.push(IAC);
                    start = at + 1;
                }
                CR => {
                    out.extend_from_slice(&data[start..=at]);
                    match data.get(at + 1) {
                        Some(&LF) => {
                            out.push(LF);
                            start = at + 2;
                        }
                        Some(_) => {
                            out.push(NUL);
                            start = at + 1;
                        }
                        None => {
                            self.pending_cr = true;
                            start = at + 1;
                        }
                    }
                }
                _ => {
                    // A LF not preceded by CR (CR LF was consumed in the CR arm).
                    out.extend_from_slice(&data[start..at]);
                    out.extend_from_slice(b"\r\n");
                    start = at + 1;
                }
            }
        }
        out.extend_from_slice(&data[start..]);
    }
}

/// Writes shorter than this are escaped with memchr without judging their IAC density.
const SAMPLED_WRITE: usize = 256;

/// Append `data` to `out` with every IAC doubled, and nothing else changed (BINARY).
pub fn escape_iac(data: &[u8], out: &mut Vec<u8>) {
    // Dense IAC (random or binary data): a word-at-a-time scan; sparse: one memchr
    // iterator over the whole input, whose SIMD set-up is paid once, not per IAC. A short
    // write (a line) is not sampled: counting its IACs cost more than escaping it, and
    // the few IACs it can hold cost a memchr call each at most.
    if data.len() < SAMPLED_WRITE {
        if short_contains(data, [IAC]) {
            escape_at(data, memchr_iter(IAC, data), out);
        } else {
            out.extend_from_slice(data);
        }
    } else if iac_dense(data) {
        // Room for every doubled IAC: the general reserve assumes few.
        out.reserve(data.len() + data.len() / 8);
        escape_at(data, IacPositions::new(data), out);
    } else {
        escape_at(data, memchr_iter(IAC, data), out);
    }
}

/// Whether `data` (a short write) holds one of `needles`: 16 bytes at a time, with no
/// branch per byte (vector compares), the tail as an overlapping last 16. For a line this
/// costs a few instructions where a memchr call costs its set-up, which is most of the
/// cost of escaping a line that has nothing to escape. (Each block is reduced on its
/// own: an accumulator of 16 lanes reduced once at the end was no faster, and once
/// inlined the compiler kept its lanes in 16 scalar registers.)
#[inline]
fn short_contains<const N: usize>(data: &[u8], needles: [u8; N]) -> bool {
    const WIDTH: usize = 16;
    // Not `contains`: for bytes it is a memchr call per byte, which no loop vectorises.
    #[allow(clippy::manual_contains)]
    let test = |found: u8, &byte: &u8| found | u8::from(needles.iter().any(|&n| n == byte));
    if data.len() < WIDTH {
        return data.iter().fold(0, test) != 0;
    }
    let mut found = 0;
    let mut chunks = data.chunks_exact(WIDTH);
    for chunk in &mut chunks {
        if let Ok(chunk) = <&[u8; WIDTH]>::try_from(chunk) {
            found |= chunk.iter().fold(0, test);
        }
    }
    if !chunks.remainder().is_empty() {
        if let Ok(last) = <&[u8; WIDTH]>::try_from(&data[data.len() - WIDTH..]) {
            found |= last.iter().fold(0, test);
        }
    }
    found != 0
}

/// [`short_contains`] for IAC alone (BINARY): IAC is 0xFF, the largest byte, so the
/// lane-wise maximum of all the 16-byte blocks holds it exactly when `data` does. A
/// block then costs one vector maximum, and the test is made once at the end.
#[inline]
fn short_has_iac(data: &[u8]) -> bool {
    const WIDTH: usize = 16;
    if data.len() < WIDTH {
        return short_contains(data, [IAC]);
    }
    let mut max = [0u8; WIDTH];
    let mut fold = |block: &[u8; WIDTH]| {
        for (lane, &byte) in max.iter_mut().zip(block) {
            *lane = (*lane).max(byte);
        }
    };
    let mut chunks = data.chunks_exact(WIDTH);
    for chunk in &mut chunks {
        if let Ok(block) = <&[u8; WIDTH]>::try_from(chunk) {
            fold(block);
        }
    }
    if !chunks.remainder().is_empty() {
        if let Ok(last) = <&[u8; WIDTH]>::try_from(&data[data.len() - WIDTH..]) {
            fold(last);
        }
    }
    max.iter()
        .fold(0, |found, &lane| found | u8::from(lane == IAC))
        != 0
}

fn escape_at(data: &[u8], positions: impl Iterator<Item = usize>, out: &mut Vec<u8>) {
    let mut start = 0;
    for at in positions {
        extend_short(out, data, start, at + 1);
        out.push(IAC);
        start = at + 1;
    }
    out.extend_from_slice(&data[start..]);
}

/// Where the subnegotiation whose payload starts at `at` ends: just after its `IAC SE`
/// (or at the end of `wire`).
fn subnegotiation_end(wire: &[u8], mut at: usize) -> usize {
    while at < wire.len() {
        match memchr::memchr(IAC, &wire[at..]) {
            None => return wire.len(),
            Some(found) => {
                let iac = at + found;
                if wire.get(iac + 1) == Some(&SE) {
                    return iac + 2;
                }
                at = iac + 2;
            }
        }
    }
    wire.len()
}

/// Append `IAC <command>`.
pub fn write_command(out: &mut Vec<u8>, command: Command) {
    out.extend_from_slice(&[IAC, command.code()]);
}

/// Append `IAC <verb> <option>`.
pub fn write_negotiation(out: &mut Vec<u8>, verb: Verb, option: TelnetOption) {
    out.extend_from_slice(&[IAC, verb.code(), option.code()]);
}

/// Append `IAC SB <option> <payload> IAC SE`, doubling any IAC in the payload.
pub fn write_subnegotiation(out: &mut Vec<u8>, option: TelnetOption, payload: &[u8]) {
    out.reserve(payload.len() + 5);
    out.extend_from_slice(&[IAC, SB, option.code()]);
    escape_iac(payload, out);
    out.extend_from_slice(&[IAC, SE]);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::parser::{Handler, Parser};

    fn nvt(chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = Encoder::new();
        for chunk in chunks {
            encoder.encode(chunk, true, &mut out);
        }
        encoder.flush_line_state(&mut out);
        out
    }

    #[test]
    fn binary_only_doubles_iac() {
        let mut out = Vec::new();
        Encoder::new().encode(b"\xffa\r\n\xff\xff\r", false, &mut out);
        assert_eq!(out, b"\xff\xffa\r\n\xff\xff\xff\xff\r");
    }

    #[test]
    fn nvt_lines_ending_in_cr_lf() {
        // Lines a server writes whole: the fast path, and what it must leave to the
        // general one (a CR or LF inside, an IAC, a CR owed from before).
        assert_eq!(nvt(&[b"line one\r\n", b"two\r\n"]), b"line one\r\ntwo\r\n");
        assert_eq!(nvt(&[b"\r\n"]), b"\r\n");
        assert_eq!(nvt(&[b"a\r\r\n"]), b"a\r\0\r\n");
        assert_eq!(nvt(&[b"a\nb\r\n"]), b"a\r\nb\r\n");
        assert_eq!(nvt(&[b"a\xffb\r\n"]), b"a\xff\xffb\r\n");
        assert_eq!(nvt(&[b"a\r", b"b\r\n"]), b"a\r\0b\r\n");
        assert_eq!(nvt(&[b"a\r", b"\r\n"]), b"a\r\0\r\n");
        assert_eq!(nvt(&[b"a\r", b"\n\r\n"]), b"a\r\n\r\n");
    }

    #[test]
    fn nvt_end_of_line() {
        assert_eq!(
            nvt(&[b"one\ntwo\r\nthree\rfour"]),
            b"one\r\ntwo\r\nthree\r\0four"
        );
        assert_eq!(nvt(&[b"\n\n"]), b"\r\n\r\n");
        assert_eq!(nvt(&[b"\r\r\n"]), b"\r\0\r\n");
    }

    #[test]
    fn nvt_cr_split_across_writes() {
        assert_eq!(nvt(&[b"a\r", b"\nb"]), b"a\r\nb");
        assert_eq!(nvt(&[b"a\r", b"b"]), b"a\r\0b");
        assert_eq!(nvt(&[b"a\r"]), b"a\r\0");
        assert_eq!(nvt(&[b"a\r", b"\xff"]), b"a\r\0\xff\xff");
    }

    #[test]
    fn frames() {
        let mut out = Vec::new();
        write_command(&mut out, Command::Ayt);
        write_negotiation(&mut out, Verb::Will, TelnetOption::Sga);
        write_subnegotiation(&mut out, TelnetOption::Naws, &[0, 255, 0, 24]);
        assert_eq!(
            out,
            b"\xff\xf6\xff\xfb\x03\xff\xfa\x1f\x00\xff\xff\x00\x18\xff\xf0"
        );
    }

    #[test]
    fn discard_data_keeps_frames_and_what_was_sent() {
        let mut wire =
            b"ab\xff\xfb\x03cd\xff\xffe\xff\xfa\x18\x01\xff\xff\xff\xf0f\xff\xf6".to_vec();
        Encoder::discard_data(&mut wire, 0);
        assert_eq!(
            wire,
            b"\xff\xfb\x03\xff\xfa\x18\x01\xff\xff\xff\xf0\xff\xf6"
        );
        // Sent up to the middle of a negotiation: its rest stays.
        let mut wire = b"a\xff\xfd\x18bc".to_vec();
        Encoder::discard_data(&mut wire, 3);
        assert_eq!(wire, b"a\xff\xfd\x18");
        // Sent up to the middle of an escaped IAC: its second byte stays.
        let mut wire = b"a\xff\xffbc".to_vec();
        Encoder::discard_data(&mut wire, 2);
        assert_eq!(wire, b"a\xff\xff");
        let mut wire = b"abc".to_vec();
        assert_eq!(Encoder::discard_data(&mut wire, 9), 3);
    }

    #[derive(Default)]
    struct Collect {
        data: Vec<u8>,
        subnegotiations: Vec<(TelnetOption, Vec<u8>)>,
    }

    impl Handler for Collect {
        fn data(&mut self, data: &[u8]) {
            self.data.extend_from_slice(data);
        }
        fn subnegotiation(&mut self, option: TelnetOption, payload: &[u8]) {
            self.subnegotiations.push((option, payload.to_vec()));
        }
    }

    proptest! {
        /// Escape then parse is the identity on data in BINARY mode.
        #[test]
        fn binary_round_trip(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut wire = Vec::new();
            Encoder::new().encode(&data, false, &mut wire);
            let mut collect = Collect::default();
            Parser::new().advance(&mut collect, &wire);
            prop_assert_eq!(collect.data, data);
        }

        /// Under the NVT rules, a parse of the encoding gives the data with every lone
        /// `\n` turned into `\r\n`.
        #[test]
        fn nvt_round_trip(data in proptest::collection::vec(
            prop_oneof![any::<u8>(), Just(b'\r'), Just(b'\n'), Just(0u8)], 0..256)) {
            let mut wire = Vec::new();
            let mut encoder = Encoder::new();
            encoder.encode(&data, true, &mut wire);
            encoder.flush_line_state(&mut wire);
            struct Nvt(Collect);
            impl Handler for Nvt {
                fn data(&mut self, data: &[u8]) { self.0.data(data) }
                fn nvt_input(&self) -> bool { true }
            }
            let mut collect = Nvt(Collect::default());
            Parser::new().advance(&mut collect, &wire);
            let mut expected = Vec::new();
            for (i, &byte) in data.iter().enumerate() {
                if byte == LF && (i == 0 || data[i - 1] != CR) {
                    expected.push(CR);
                }
                expected.push(byte);
            }
            prop_assert_eq!(collect.0.data, expected);
        }

        /// Short writes (the ones not sampled for density, checked 16 bytes at a time)
        /// give the bytes of a byte-by-byte reference, in BINARY and under the NVT rules,
        /// whatever the cuts between writes; the check finds exactly what a lookup finds.
        #[test]
        fn short_writes_match_a_byte_by_byte_reference(
            data in proptest::collection::vec(
                prop_oneof![8 => Just(b'a'), 1 => Just(IAC), 1 => Just(CR), 1 => Just(LF), 1 => any::<u8>()],
                0..600),
            cuts in proptest::collection::vec(0usize..600, 0..4),
        ) {
            for needles in [&[IAC][..], &[IAC, CR, LF][..]] {
                let expected = data.iter().any(|b| needles.contains(b));
                let found = if needles.len() == 1 {
                    short_contains(&data, [IAC])
                } else {
                    short_contains(&data, [IAC, CR, LF])
                };
                prop_assert_eq!(found, expected);
            }
            prop_assert_eq!(short_has_iac(&data), data.contains(&IAC));
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            let pieces: Vec<&[u8]> = cuts.windows(2).map(|w| &data[w[0]..w[1]]).collect();
            let mut binary = Vec::new();
            let mut encoder = Encoder::new();
            for piece in &pieces {
                encoder.encode(piece, false, &mut binary);
            }
            let reference: Vec<u8> = data
                .iter()
                .flat_map(|&b| if b == IAC { vec![IAC, IAC] } else { vec![b] })
                .collect();
            prop_assert_eq!(binary, reference);

            let mut reference = Vec::new();
            let mut at = 0;
            while let Some(&byte) = data.get(at) {
                match byte {
                    IAC => reference.extend_from_slice(&[IAC, IAC]),
                    CR if data.get(at + 1) == Some(&LF) => {
                        reference.extend_from_slice(b"\r\n");
                        at += 1;
                    }
                    CR => reference.extend_from_slice(b"\r\0"),
                    LF => reference.extend_from_slice(b"\r\n"),
                    _ => reference.push(byte),
                }
                at += 1;
            }
            prop_assert_eq!(nvt(&pieces), reference);
        }

        /// Any payload survives a subnegotiation frame.
        #[test]
        fn subnegotiation_round_trip(option in any::<u8>(), payload in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut wire = Vec::new();
            write_subnegotiation(&mut wire, TelnetOption::from(option), &payload);
            let mut collect = Collect::default();
            Parser::new().advance(&mut collect, &wire);
            prop_assert_eq!(collect.subnegotiations, vec![(TelnetOption::from(option), payload)]);
        }
    }
}
