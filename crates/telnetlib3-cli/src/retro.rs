//! The client's help for retro-computing BBSes, as telnetlib3's client gives it:
//!
//! - [`forces_binary`]: the 8-bit home-computer encodings (ATASCII, PETSCII, Atari ST)
//!   are always transcoded, in raw terminal mode (telnetlib3's `FORCE_BINARY_ENCODINGS`);
//! - [`KeyMap`]: the keyboard's keys as an Atari or a Commodore sends them (arrows,
//!   delete, return), or as ANSI sequences with `--ansi-keys`;
//! - [`FontScanner`]: SyncTERM's font selection, `CSI Ps1 ; Ps2 SP D` (cterm.txt), in the
//!   server's output switches the decoding to the font's encoding.

use std::time::Duration;

use telnetlib3::text::Encoding;

/// Whether `encoding` is one of telnetlib3's `FORCE_BINARY_ENCODINGS` (by any alias):
/// its bytes are always transcoded (`--force-binary`) and the terminal is raw
/// (`--raw-mode`), since these machines' BBSes draw with every byte value.
#[must_use]
pub fn forces_binary(encoding: &Encoding) -> bool {
    matches!(encoding.canonical_name(), "atascii" | "petscii" | "atarist")
}

/// Keys whose bytes the BBS's machine has its own codes for: (what the terminal sends,
/// what the machine's keyboard sends). telnetlib3's `_INPUT_SEQ_XLAT`.
const ATASCII_KEYS: &[(&[u8], &[u8])] = &[
    (b"\x1b[A", b"\x1c"), // cursor up
    (b"\x1b[B", b"\x1d"), // cursor down
    (b"\x1b[C", b"\x1f"), // cursor right
    (b"\x1b[D", b"\x1e"), // cursor left
    (b"\x1bOA", b"\x1c"), // the same in application cursor mode (SS3)
    (b"\x1bOB", b"\x1d"),
    (b"\x1bOC", b"\x1f"),
    (b"\x1bOD", b"\x1e"),
    (b"\x1b[3~", b"\x7e"), // delete: ATASCII backspace
    (b"\t", b"\x7f"),      // ATASCII tab
];

const PETSCII_KEYS: &[(&[u8], &[u8])] = &[
    (b"\x1b[A", b"\x91"), // cursor up
    (b"\x1b[B", b"\x11"), // cursor down
    (b"\x1b[C", b"\x1d"), // cursor right
    (b"\x1b[D", b"\x9d"), // cursor left
    (b"\x1bOA", b"\x91"),
    (b"\x1bOB", b"\x11"),
    (b"\x1bOC", b"\x1d"),
    (b"\x1bOD", b"\x9d"),
    (b"\x1b[3~", b"\x14"), // delete: PETSCII DEL
    (b"\x1b[H", b"\x13"),  // home
    (b"\x1b[2~", b"\x94"), // insert
];

/// Single bytes the machine has its own codes for (telnetlib3's `_INPUT_XLAT`): the
/// terminal's backspaces, and for ATASCII its one end-of-line byte, 0x9B.
const ATASCII_BYTES: &[(u8, u8)] = &[(0x7f, 0x7e), (0x08, 0x7e), (b'\r', 0x9b), (b'\n', 0x9b)];
const PETSCII_BYTES: &[(u8, u8)] = &[(0x7f, 0x14), (0x08, 0x14)];

/// What the keyboard's input becomes: text for the encoder, or bytes sent as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Typed text (UTF-8), to encode in the server's encoding.
    Text(Vec<u8>),
    /// The machine's own key codes, sent unencoded.
    Raw(Vec<u8>),
}

/// The keyboard as the BBS's machine would send it, for ATASCII and PETSCII (telnetlib3's
/// `InputFilter`). A key sequence cut between reads is held ([`KeyMap::pending`]) until
/// the next read, or until [`esc_delay`] passes without one ([`KeyMap::flush`]): then it
/// was the Escape key.
#[derive(Debug)]
pub struct KeyMap {
    /// Longest first, so that `ESC [ 3 ~` is tried before anything shorter.
    keys: Vec<(&'static [u8], Vec<u8>)>,
    bytes: Vec<(u8, u8)>,
    held: Vec<u8>,
}

impl KeyMap {
    /// The map for `encoding`, if it has one (ATASCII, PETSCII). With `ansi_keys`, arrow
    /// and function keys go as the terminal's ANSI sequences (unencoded: ESC is a picture
    /// in these encodings). With `ascii_eol`, Return goes as ASCII CR (and LF as LF), not
    /// as ATASCII's 0x9B.
    #[must_use]
    pub fn new(encoding: &Encoding, ansi_keys: bool, ascii_eol: bool) -> Option<Self> {
        let (keys, bytes) = match encoding.canonical_name() {
            "atascii" => (ATASCII_KEYS, ATASCII_BYTES),
            "petscii" => (PETSCII_KEYS, PETSCII_BYTES),
            _ => return None,
        };
        let mut keys: Vec<(&'static [u8], Vec<u8>)> = keys
            .iter()
            .map(|&(from, to)| (from, if ansi_keys { from } else { to }.to_vec()))
            .collect();
        keys.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        let bytes = bytes
            .iter()
            .map(|&(from, to)| match from {
                // The line ends stay ASCII, unencoded (the encoder would fold them).
                b'\r' | b'\n' if ascii_eol => (from, from),
                _ => (from, to),
            })
            .collect();
        Some(Self {
            keys,
            bytes,
            held: Vec::new(),
        })
    }

    /// Whether part of a key sequence is held, waiting for the rest.
    #[must_use]
    pub fn pending(&self) -> bool {
        !self.held.is_empty()
    }

    /// The held bytes, sent as they are (mapped as single bytes): no more came within
    /// [`esc_delay`].
    pub fn flush(&mut self) -> Vec<u8> {
        let held = std::mem::take(&mut self.held);
        held.iter()
            .map(|&byte| self.byte(byte).unwrap_or(byte))
            .collect()
    }

    fn byte(&self, byte: u8) -> Option<u8> {
        self.bytes
            .iter()
            .find(|&&(from, _)| from == byte)
            .map(|&(_, to)| to)
    }

    /// Whether `byte` may begin a key or is mapped alone.
    fn special(&self, byte: u8) -> bool {
        self.keys.iter().any(|(from, _)| from[0] == byte) || self.byte(byte).is_some()
    }

    /// The pieces to send for `data` from the keyboard.
    pub fn feed(&mut self, data: &[u8]) -> Vec<Piece> {
        let mut input = std::mem::take(&mut self.held);
        input.extend_from_slice(data);
        let mut pieces = Vec::new();
        let mut raw = Vec::new();
        let mut rest = &input[..];
        while !rest.is_empty() {
            // Typed text up to the next byte that may be a key goes in one piece.
            let text = rest
                .iter()
                .position(|&b| self.special(b))
                .unwrap_or(rest.len());
            if text > 0 {
                push_raw(&mut pieces, &mut raw);
                pieces.push(Piece::Text(rest[..text].to_vec()));
                rest = &rest[text..];
                continue;
            }
            if let Some((from, to)) = self.keys.iter().find(|(from, _)| rest.starts_with(from)) {
                raw.extend_from_slice(to);
                rest = &rest[from.len()..];
                continue;
            }
            if self.keys.iter().any(|(from, _)| from.starts_with(rest)) {
                // The beginning of a key: the rest may come with the next read.
                self.held = rest.to_vec();
                break;
            }
            match self.byte(rest[0]) {
                Some(to) => raw.push(to),
                // A key's first byte with something else after it (ESC alone, Alt-x):
                // sent as typed, unencoded.
                None => raw.push(rest[0]),
            }
            rest = &rest[1..];
        }
        push_raw(&mut pieces, &mut raw);
        pieces
    }
}

fn push_raw(pieces: &mut Vec<Piece>, raw: &mut Vec<u8>) {
    if !raw.is_empty() {
        pieces.push(Piece::Raw(std::mem::take(raw)));
    }
}

/// How long a held key prefix (a lone ESC) waits for the rest: `$ESCDELAY` milliseconds
/// (the ncurses convention telnetlib3 follows), 350 ms by default.
#[must_use]
pub fn esc_delay() -> Duration {
    std::env::var("ESCDELAY")
        .ok()
        .and_then(|ms| ms.trim().parse().ok())
        .map_or(Duration::from_millis(350), Duration::from_millis)
}

/// The encoding SyncTERM's font `id` shows, as telnetlib3's `SYNCTERM_FONT_ENCODINGS`
/// (from the CTerm specification, Synchronet and x84): 0 is CP437, 32 to 35 the
/// Commodore fonts, 36 the Atari's, ...
#[must_use]
pub fn syncterm_font_encoding(id: u32) -> Option<&'static str> {
    Some(match id {
        0 | 26 | 37..=42 => "cp437",
        1 | 20 => "cp1251",
        2 | 12 | 22 => "koi8-r",
        3 => "iso-8859-2",
        4 | 11 | 13 | 23 => "iso-8859-4",
        5 | 25 | 27 | 29 => "cp866",
        6 => "iso-8859-9",
        8 => "iso-8859-8",
        9 => "koi8-u",
        10 | 16 => "iso-8859-15",
        14 => "iso-8859-5",
        17 | 18 => "cp850",
        21 => "iso-8859-7",
        24 | 30 => "iso-8859-1",
        31 => "cp1131",
        32..=35 => "petscii",
        36 => "atascii",
        _ => return None,
    })
}

/// The most digits read in each parameter: font ids are 0..=255, and a bound keeps what
/// is held between reads small.
const MAX_DIGITS: usize = 5;
/// `ESC [`, two parameters, `;`, `SP D`.
const MAX_SEQUENCE: usize = 2 + MAX_DIGITS + 1 + MAX_DIGITS + 2;

/// Finds SyncTERM font selections, `ESC [ Ps1 ; Ps2 SP D`, in the server's output, also
/// when one is cut between reads.
#[derive(Debug, Default)]
pub struct FontScanner {
    /// The end of the previous read, when it was the beginning of a selection.
    held: Vec<u8>,
}

/// What is at the start of some bytes.
enum Parse {
    /// A selection of `font`, `len` bytes long.
    Found { len: usize, font: u32 },
    /// The beginning of a selection: more bytes are needed.
    Partial,
    /// Not a selection.
    No,
}

fn parse(bytes: &[u8]) -> Parse {
    let mut at = 0;
    for &want in b"\x1b[" {
        match bytes.get(at) {
            None => return Parse::Partial,
            Some(&b) if b == want => at += 1,
            Some(_) => return Parse::No,
        }
    }
    let mut font = 0u32;
    for (index, terminator) in [b';', b' '].into_iter().enumerate() {
        let start = at;
        let mut value = 0u32;
        loop {
            match bytes.get(at) {
                None => return Parse::Partial,
                Some(b) if b.is_ascii_digit() && at - start < MAX_DIGITS => {
                    value = value * 10 + u32::from(b - b'0');
                    at += 1;
                }
                Some(&b) if b == terminator && at > start => {
                    at += 1;
                    break;
                }
                Some(_) => return Parse::No,
            }
        }
        if index == 1 {
            font = value;
        }
    }
    match bytes.get(at) {
        None => Parse::Partial,
        Some(b'D') => Parse::Found { len: at + 1, font },
        Some(_) => Parse::No,
    }
}

impl FontScanner {
    /// The font selections in `data`, in order: for each, the offset in `data` just past
    /// it and the font id.
    pub fn scan(&mut self, data: &[u8]) -> Vec<(usize, u32)> {
        let mut found = Vec::new();
        let mut skip = 0;
        if !self.held.is_empty() {
            let mut joined = std::mem::take(&mut self.held);
            let held = joined.len();
            joined.extend_from_slice(&data[..data.len().min(MAX_SEQUENCE)]);
            match parse(&joined) {
                Parse::Found { len, font } => {
                    found.push((len - held, font));
                    skip = len - held;
                }
                Parse::Partial if joined.len() < MAX_SEQUENCE => {
                    self.held = joined;
                    return found;
                }
                Parse::Partial | Parse::No => {}
            }
        }
        for escape in memchr::memchr_iter(0x1b, &data[skip..]).map(|i| i + skip) {
            match parse(&data[escape..]) {
                Parse::Found { len, font } => found.push((escape + len, font)),
                Parse::Partial => self.held = data[escape..].to_vec(),
                Parse::No => {}
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(name: &str, ansi: bool, ascii_eol: bool) -> KeyMap {
        KeyMap::new(&Encoding::from_name(name).unwrap(), ansi, ascii_eol).unwrap()
    }

    #[test]
    fn atascii_keys_as_an_atari_sends_them() {
        let mut map = keys("atascii", false, false);
        assert_eq!(
            map.feed(b"hi\x1b[Ax\x7f\r\t\x1b[3~"),
            [
                Piece::Text(b"hi".to_vec()),
                Piece::Raw(b"\x1c".to_vec()),
                Piece::Text(b"x".to_vec()),
                Piece::Raw(b"\x7e\x9b\x7f\x7e".to_vec()),
            ]
        );
        // A sequence cut between reads waits for its end.
        assert_eq!(map.feed(b"\x1b["), []);
        assert!(map.pending());
        assert_eq!(map.feed(b"D"), [Piece::Raw(b"\x1e".to_vec())]);
        // ESC alone is flushed as it is after the delay.
        assert_eq!(map.feed(b"\x1b"), []);
        assert_eq!(map.flush(), b"\x1b");
        assert!(!map.pending());
        // ESC then a key that is no sequence: both go.
        assert_eq!(
            map.feed(b"\x1bq"),
            [Piece::Raw(b"\x1b".to_vec()), Piece::Text(b"q".to_vec())]
        );
    }

    #[test]
    fn ansi_keys_and_ascii_eol() {
        let mut map = keys("atari8bit", true, true);
        assert_eq!(
            map.feed(b"\x1b[A\x1bOD\r\n\x7f"),
            [Piece::Raw(b"\x1b[A\x1bOD\r\n\x7e".to_vec())]
        );
        let mut map = keys("c64", false, false);
        assert_eq!(
            map.feed(b"\x1b[H\x1b[2~\x1b[C\x08\r"),
            [
                Piece::Raw(b"\x13\x94\x1d\x14".to_vec()),
                Piece::Text(b"\r".to_vec())
            ]
        );
        assert!(KeyMap::new(&Encoding::from_name("atarist").unwrap(), false, false).is_none());
    }

    #[test]
    fn font_selections_found_in_any_split() {
        let stream = b"ab\x1b[0;36 Dcd\x1b[1;2m\x1b[0;32 D\x1b[0;999999 De";
        let whole = FontScanner::default().scan(stream);
        assert_eq!(whole, [(10, 36), (26, 32)]);
        for cut in 0..=stream.len() {
            let mut scanner = FontScanner::default();
            let mut found = scanner.scan(&stream[..cut]);
            found.extend(
                scanner
                    .scan(&stream[cut..])
                    .into_iter()
                    .map(|(end, font)| (end + cut, font)),
            );
            assert_eq!(found, whole, "cut at {cut}");
        }
        assert_eq!(syncterm_font_encoding(36), Some("atascii"));
        assert_eq!(syncterm_font_encoding(7), None);
    }
}
