//! Character encodings for the text flavour of the streams: every encoding `encoding_rs`
//! knows, true ISO-8859-1 and US-ASCII, and the DOS/OEM code pages (cp437, cp850, ...)
//! through `oem_cp`, looked up by the names Python users write (`utf8`, `latin1`,
//! `cp437`, `shift_jis`, ...), and telnetlib3's BBS encodings: `atascii`, `petscii`,
//! `atarist` and `big5bbs`.
//!
//! Decoding is incremental and linear in its input: a multi-byte sequence split across
//! reads is held by the decoder, never re-decoded from the start.

use std::fmt;

mod big5_table;
mod big5bbs;
mod retro;
mod retro_tables;

use encoding_rs::{CoderResult, DecoderResult, EncoderResult};
use oem_cp::code_table as oem;

/// What to do with bytes (or characters) the encoding cannot represent, as Python's
/// `errors=` argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ErrorMode {
    /// Fail with an error (what was valid before it is kept).
    Strict,
    /// Replace with U+FFFD when decoding, `?` when encoding.
    #[default]
    Replace,
    /// Drop it.
    Ignore,
}

impl ErrorMode {
    /// `strict`, `replace` or `ignore`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "strict" => Some(Self::Strict),
            "replace" => Some(Self::Replace),
            "ignore" => Some(Self::Ignore),
            _ => None,
        }
    }
}

/// Text that could not be decoded or encoded in [`ErrorMode::Strict`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// The encoding name is unknown.
    #[error("unknown encoding: {0}")]
    UnknownEncoding(String),
    /// The encoding can be read but not written (UTF-16).
    #[error("cannot encode to {0}")]
    CannotEncode(String),
    /// Bytes that are not valid in the encoding.
    #[error("invalid {encoding} input")]
    Malformed {
        /// The encoding's name.
        encoding: String,
    },
    /// A character the encoding has no byte for.
    #[error("{character:?} cannot be encoded in {encoding}")]
    Unmappable {
        /// The character.
        character: char,
        /// The encoding's name.
        encoding: String,
    },
}

#[derive(Clone, Copy)]
enum Kind {
    Standard(&'static encoding_rs::Encoding),
    /// A single-byte table for 0x80..=0xFF (ISO-8859-1, US-ASCII, OEM code pages).
    Table(&'static [Option<char>; 128]),
    /// A single-byte table for all 256 bytes (ATASCII, PETSCII, Atari ST).
    Full(&'static retro::FullTable),
    /// Big5 with CP437 half-width art bytes.
    Big5Bbs,
}

/// A named character encoding.
///
/// Named as Python names codecs, with its aliases:
///
/// ```
/// use telnetlib3::text::{Encoding, ErrorMode};
///
/// let cp437 = Encoding::from_name("CP437").unwrap();
/// assert_eq!(cp437.name(), "CP437"); // as given
/// let mut text = String::new();
/// cp437.decoder(ErrorMode::Strict).decode(b"\xc9\xcd\xbb", true, &mut text).unwrap();
/// assert_eq!(text, "╔═╗");
/// assert!(Encoding::from_name("no-such-codec").is_err());
/// ```
#[derive(Clone)]
pub struct Encoding {
    name: String,
    kind: Kind,
}

impl fmt::Debug for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Encoding").field(&self.name).finish()
    }
}

impl PartialEq for Encoding {
    fn eq(&self, other: &Self) -> bool {
        self.canonical_name() == other.canonical_name()
    }
}

static LATIN1: [Option<char>; 128] = {
    let mut table = [None; 128];
    let mut i = 0;
    while i < 128 {
        table[i] = char::from_u32(0x80 + i as u32);
        i += 1;
    }
    table
};

static ASCII: [Option<char>; 128] = [None; 128];

/// Python's names that WHATWG labels lack, as a label `from_name` knows (the key is
/// lower case, with `-` for `_`).
fn python_alias(key: &str) -> String {
    let compact = key.replace('-', "");
    let label = match compact.as_str() {
        "u8" | "utf" | "cp65001" | "utf8ucs2" | "utf8ucs4" => "utf-8",
        "latin5" | "l5" => "iso-8859-9",
        "latin6" | "l6" => "iso-8859-10",
        "latin7" | "l7" => "iso-8859-13",
        "latin8" | "l8" => "iso-8859-14",
        "latin9" | "l9" => "iso-8859-15",
        "latin10" | "l10" => "iso-8859-16",
        "thai" => "iso-8859-11",
        "macroman" | "macintosh" => "macintosh",
        "maccyrillic" => "x-mac-cyrillic",
        "big5hkscs" | "hkscs" => "big5",
        "iso2022jp" | "csiso2022jp" => "iso-2022-jp",
        "kscs56011987" => "euc-kr",
        _ => {
            // iso8859_16, 8859-5 and the like.
            let number = compact
                .strip_prefix("iso8859")
                .or_else(|| compact.strip_prefix("8859"))
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            return match number {
                Some(number) => format!("iso-8859-{number}"),
                None => key.to_string(),
            };
        }
    };
    label.to_string()
}

/// An ISO 8859 table from the Windows code page that extends it: 0xA0..=0xFF as the
/// Windows page has them (undefined where it has none), 0x80..=0x9F the C1 controls
/// when `c1` (ISO 8859) or undefined (TIS-620), and 0xA0 undefined without `c1`.
fn iso_8859_table(
    windows: &'static encoding_rs::Encoding,
    c1: bool,
) -> &'static [Option<char>; 128] {
    use std::sync::OnceLock;
    static ISO_8859_9: OnceLock<[Option<char>; 128]> = OnceLock::new();
    static ISO_8859_11: OnceLock<[Option<char>; 128]> = OnceLock::new();
    static TIS_620: OnceLock<[Option<char>; 128]> = OnceLock::new();
    let cell = match (windows == encoding_rs::WINDOWS_1254, c1) {
        (true, _) => &ISO_8859_9,
        (false, true) => &ISO_8859_11,
        (false, false) => &TIS_620,
    };
    cell.get_or_init(|| {
        std::array::from_fn(|index| {
            let byte = 0x80 + index as u8;
            match byte {
                0x80..=0x9f => c1.then(|| char::from(byte)),
                0xa0 if !c1 => None,
                _ => {
                    let single = [byte];
                    let (text, malformed) = windows.decode_without_bom_handling(&single);
                    (!malformed).then(|| text.chars().next()).flatten()
                }
            }
        })
    })
}

macro_rules! oem_tables {
    ($($cp:literal => $kind:ident $table:ident,)*) => {
        /// The OEM code pages known, with their 0x80..=0xFF decoding tables.
        fn oem_table(code_page: u16) -> Option<&'static [Option<char>; 128]> {
            use std::sync::OnceLock;
            $(
                if code_page == $cp {
                    static TABLE: OnceLock<[Option<char>; 128]> = OnceLock::new();
                    return Some(TABLE.get_or_init(|| oem_tables!(@convert $kind oem::$table)));
                }
            )*
            None
        }
    };
    (@convert Complete $table:expr) => { $table.map(Some) };
    (@convert Incomplete $table:expr) => { $table };
}

oem_tables! {
    437 => Complete DECODING_TABLE_CP437,
    720 => Complete DECODING_TABLE_CP720,
    737 => Complete DECODING_TABLE_CP737,
    775 => Complete DECODING_TABLE_CP775,
    850 => Complete DECODING_TABLE_CP850,
    852 => Complete DECODING_TABLE_CP852,
    855 => Complete DECODING_TABLE_CP855,
    857 => Incomplete DECODING_TABLE_CP857,
    858 => Complete DECODING_TABLE_CP858,
    860 => Complete DECODING_TABLE_CP860,
    861 => Complete DECODING_TABLE_CP861,
    862 => Complete DECODING_TABLE_CP862,
    863 => Complete DECODING_TABLE_CP863,
    864 => Incomplete DECODING_TABLE_CP864,
    865 => Complete DECODING_TABLE_CP865,
    866 => Complete DECODING_TABLE_CP866,
    869 => Complete DECODING_TABLE_CP869,
    874 => Incomplete DECODING_TABLE_CP874,
}

impl Encoding {
    /// The encoding for a name, as Python spells them: case and `-`/`_` do not matter
    /// (`UTF-8`, `utf8`, `latin_1`, `CP437`, `ibm850`, `shift_jis`, `cp932`, ...).
    ///
    /// # Errors
    ///
    /// [`TextError::UnknownEncoding`] for a name nothing knows.
    pub fn from_name(name: &str) -> Result<Self, TextError> {
        let lower = name.trim().to_ascii_lowercase();
        let key = python_alias(&lower.replace(['_', ' '], "-"));
        let compact = key.replace('-', "");
        let kind = match compact.as_str() {
            "latin1" | "iso88591" | "l1" | "8859" | "cp819" => Kind::Table(&LATIN1),
            "ascii" | "usascii" | "us" | "646" => Kind::Table(&ASCII),
            // WHATWG reads these as their Windows supersets, which put printable
            // characters where ISO 8859 has the C1 controls: Python does not.
            "iso88599" => Kind::Table(iso_8859_table(encoding_rs::WINDOWS_1254, true)),
            "iso885911" => Kind::Table(iso_8859_table(encoding_rs::WINDOWS_874, true)),
            "tis620" => Kind::Table(iso_8859_table(encoding_rs::WINDOWS_874, false)),
            // Microsoft's numbers for the East Asian sets, which WHATWG labels lack.
            "cp932" | "ms932" | "mskanji" => Kind::Standard(encoding_rs::SHIFT_JIS),
            "cp936" => Kind::Standard(encoding_rs::GBK),
            "cp949" | "uhc" => Kind::Standard(encoding_rs::EUC_KR),
            "cp950" => Kind::Standard(encoding_rs::BIG5),
            // telnetlib3's names for PCMan's reading of Taiwanese BBSes.
            "big5bbs" | "big5pcman" | "big5pcmanx" | "big5ptt" => Kind::Big5Bbs,
            _ if retro::lookup(&compact).is_some() => {
                Kind::Full(retro::lookup(&compact).expect("just looked up"))
            }
            _ => {
                let oem = ["cp", "ibm", "oem"]
                    .iter()
                    .find_map(|prefix| compact.strip_prefix(prefix))
                    .and_then(|number| number.parse().ok())
                    .and_then(oem_table);
                match oem {
                    Some(table) => Kind::Table(table),
                    None => encoding_rs::Encoding::for_label(key.as_bytes())
                        .or_else(|| encoding_rs::Encoding::for_label(compact.as_bytes()))
                        .or_else(|| encoding_rs::Encoding::for_label(lower.as_bytes()))
                        .map(Kind::Standard)
                        .ok_or_else(|| TextError::UnknownEncoding(name.to_string()))?,
                }
            }
        };
        Ok(Self {
            name: name.to_string(),
            kind,
        })
    }

    /// The name as given.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A canonical name: `UTF-8`, `ISO-8859-1`, `US-ASCII`, `windows-1252`, telnetlib3's
    /// name for its BBS encodings (`atascii`, `petscii`, `atarist`, `big5bbs`), or the
    /// name as given for an OEM code page.
    #[must_use]
    pub fn canonical_name(&self) -> &str {
        match self.kind {
            Kind::Standard(encoding) => encoding.name(),
            Kind::Table(table) if std::ptr::eq(table, &LATIN1) => "ISO-8859-1",
            Kind::Table(table) if std::ptr::eq(table, &ASCII) => "US-ASCII",
            Kind::Table(_) => &self.name,
            Kind::Full(table) => table.name,
            Kind::Big5Bbs => "big5bbs",
        }
    }

    /// A decoder that keeps its state between calls.
    #[must_use]
    pub fn decoder(&self, mode: ErrorMode) -> TextDecoder {
        let state = match self.kind {
            Kind::Standard(encoding) if encoding == encoding_rs::UTF_8 => DecoderState::Utf8 {
                partial: [0; 4],
                len: 0,
            },
            Kind::Standard(encoding) => {
                DecoderState::Standard(encoding.new_decoder_without_bom_handling())
            }
            Kind::Table(table) => DecoderState::Table(table),
            Kind::Full(table) => DecoderState::Full(table),
            Kind::Big5Bbs => DecoderState::Big5Bbs(big5bbs::Big5BbsDecoder::default()),
        };
        TextDecoder {
            state,
            mode,
            name: self.canonical_name().to_string(),
        }
    }

    /// An encoder.
    ///
    /// # Errors
    ///
    /// [`TextError::CannotEncode`] for encodings that can only be read (UTF-16).
    pub fn encoder(&self, mode: ErrorMode) -> Result<TextEncoder, TextError> {
        let state = match self.kind {
            Kind::Standard(encoding) if encoding.output_encoding() != encoding => {
                return Err(TextError::CannotEncode(encoding.name().to_string()));
            }
            Kind::Standard(encoding) => EncoderState::Standard(encoding.new_encoder()),
            Kind::Table(table) => EncoderState::Table(table),
            Kind::Full(table) => EncoderState::Full(retro::FullTableEncoder::new(table)),
            Kind::Big5Bbs => EncoderState::Big5Bbs,
        };
        Ok(TextEncoder {
            state,
            mode,
            name: self.canonical_name().to_string(),
        })
    }
}

/// The encoding a POSIX locale names (`en_US.UTF-8` -> UTF-8), as telnetlib3's
/// `encoding_from_lang`: the part after `.` and before `@`; `C` and `POSIX` name none.
#[must_use]
pub fn encoding_from_lang(lang: &str) -> Option<Encoding> {
    let (_, rest) = lang.split_once('.')?;
    let charset = rest.split('@').next()?;
    Encoding::from_name(charset).ok()
}

enum DecoderState {
    /// UTF-8, validated with SIMD (simdutf8) straight into the output: one pass and
    /// one copy (through encoding_rs it took a copy and a second validation). Holds the
    /// bytes of a character cut at the end of the previous input.
    Utf8 {
        partial: [u8; 4],
        len: u8,
    },
    Standard(encoding_rs::Decoder),
    Table(&'static [Option<char>; 128]),
    Full(&'static retro::FullTable),
    Big5Bbs(big5bbs::Big5BbsDecoder),
}

/// Decodes bytes to text incrementally.
pub struct TextDecoder {
    state: DecoderState,
    mode: ErrorMode,
    name: String,
}

impl fmt::Debug for TextDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextDecoder")
            .field("encoding", &self.name)
            .field("mode", &self.mode)
            .finish()
    }
}

impl TextDecoder {
    /// Decode `input`, appending to `out`. With `last`, an incomplete sequence at the end
    /// is an error (or replaced, or dropped); otherwise it waits for the next call.
    ///
    /// # Errors
    ///
    /// [`TextError::Malformed`] in [`ErrorMode::Strict`]; everything decoded before the
    /// bad bytes is in `out`, and the bad bytes are skipped.
    pub fn decode(&mut self, input: &[u8], last: bool, out: &mut String) -> Result<(), TextError> {
        match &mut self.state {
            DecoderState::Utf8 { partial, len } => {
                let error = decode_utf8(partial, len, input, last, self.mode, out);
                if error {
                    return Err(TextError::Malformed {
                        encoding: self.name.clone(),
                    });
                }
                Ok(())
            }
            DecoderState::Full(table) => {
                table.decode(input, out);
                Ok(())
            }
            DecoderState::Big5Bbs(decoder) => {
                decoder.decode(input, last, out);
                Ok(())
            }
            DecoderState::Table(table) => {
                out.reserve(input.len());
                let mut error = false;
                for &byte in input {
                    match byte {
                        0..=0x7F => out.push(char::from(byte)),
                        _ => match (table[usize::from(byte - 0x80)], self.mode) {
                            (Some(c), _) => out.push(c),
                            (None, ErrorMode::Replace) => out.push('\u{FFFD}'),
                            (None, ErrorMode::Ignore) => {}
                            (None, ErrorMode::Strict) => error = true,
                        },
                    }
                }
                if error {
                    return Err(TextError::Malformed {
                        encoding: self.name.clone(),
                    });
                }
                Ok(())
            }
            DecoderState::Standard(decoder) => {
                // Decode through a small stack buffer: encoding_rs's `*_to_string` calls
                // touch the String's whole spare capacity on every call, which made many
                // small reads quadratic.
                let mut buf = [0u8; 4096];
                let mut rest = input;
                let mut error = false;
                loop {
                    let (done, read, written) = if self.mode == ErrorMode::Replace {
                        let (result, read, written, _) =
                            decoder.decode_to_utf8(rest, &mut buf, last);
                        (result == CoderResult::InputEmpty, read, written)
                    } else {
                        let (result, read, written) =
                            decoder.decode_to_utf8_without_replacement(rest, &mut buf, last);
                        if let DecoderResult::Malformed(..) = result {
                            error |= self.mode == ErrorMode::Strict;
                        }
                        (result == DecoderResult::InputEmpty, read, written)
                    };
                    rest = &rest[read..];
                    // encoding_rs writes only valid UTF-8.
                    out.push_str(std::str::from_utf8(&buf[..written]).unwrap_or_default());
                    if done {
                        break;
                    }
                }
                if error {
                    return Err(TextError::Malformed {
                        encoding: self.name.clone(),
                    });
                }
                Ok(())
            }
        }
    }
}

/// Decode UTF-8 `input` after the `partial` character left by the previous call, as
/// encoding_rs would (a malformed sequence is replaced by one U+FFFD per maximal
/// subpart, as WHATWG says). Returns whether malformed input was found in strict mode.
fn decode_utf8(
    partial: &mut [u8; 4],
    len: &mut u8,
    mut input: &[u8],
    last: bool,
    mode: ErrorMode,
    out: &mut String,
) -> bool {
    let mut error = false;
    // First complete the character cut at the end of the previous input, a byte at a time
    // (at most three).
    while *len > 0 {
        let have = usize::from(*len);
        let Some((&byte, rest)) = input.split_first() else {
            if last {
                *len = 0;
                decode_complete(&partial[..have], mode, &mut error, out);
            }
            return error;
        };
        partial[have] = byte;
        match simdutf8::compat::from_utf8(&partial[..=have]) {
            Ok(text) => {
                out.push_str(text);
                *len = 0;
                input = rest;
            }
            Err(e) if e.error_len().is_none() => {
                *len += 1;
                input = rest;
            }
            Err(_) => {
                // The kept bytes cannot be completed: replaced as a finished input would
                // be, and `byte` is looked at afresh below.
                *len = 0;
                let kept = *partial;
                decode_complete(&kept[..have], mode, &mut error, out);
            }
        }
    }
    // A character cut by the end of the input waits for the next call; split it off first
    // so that the usual case validates the rest once, in one call.
    let cut = if last { 0 } else { incomplete_tail(input) };
    let (body, tail) = input.split_at(input.len() - cut);
    decode_complete(body, mode, &mut error, out);
    partial[..tail.len()].copy_from_slice(tail);
    *len = tail.len() as u8;
    error
}

/// Decode `body` as a whole (a truncated sequence at its end is malformed too).
fn decode_complete(mut body: &[u8], mode: ErrorMode, error: &mut bool, out: &mut String) {
    loop {
        match simdutf8::compat::from_utf8(body) {
            Ok(text) => {
                out.push_str(text);
                return;
            }
            Err(e) => {
                let (valid, rest) = body.split_at(e.valid_up_to());
                // Valid by the error's own account; this second look is over the prefix
                // of a malformed input only.
                out.push_str(simdutf8::compat::from_utf8(valid).unwrap_or_default());
                match mode {
                    ErrorMode::Strict => *error = true,
                    ErrorMode::Replace => out.push('\u{FFFD}'),
                    ErrorMode::Ignore => {}
                }
                match e.error_len() {
                    Some(n) => body = &rest[n..],
                    None => return,
                }
            }
        }
    }
}

/// How many bytes at the end of `input` begin a UTF-8 character that is not complete
/// (0 to 3): a lead byte among the last three bytes with fewer continuation bytes after
/// it than it announces.
fn incomplete_tail(input: &[u8]) -> usize {
    for back in 1..=3.min(input.len()) {
        let byte = input[input.len() - back];
        if byte & 0xC0 == 0x80 {
            continue; // A continuation byte: the lead is further back.
        }
        let needed = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0,
        };
        return if back < needed { back } else { 0 };
    }
    0
}

enum EncoderState {
    Standard(encoding_rs::Encoder),
    Table(&'static [Option<char>; 128]),
    Full(retro::FullTableEncoder),
    Big5Bbs,
}

/// Encodes text to bytes.
pub struct TextEncoder {
    state: EncoderState,
    mode: ErrorMode,
    name: String,
}

impl fmt::Debug for TextEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextEncoder")
            .field("encoding", &self.name)
            .field("mode", &self.mode)
            .finish()
    }
}

impl TextEncoder {
    /// Encode `text`, appending to `out`.
    ///
    /// # Errors
    ///
    /// [`TextError::Unmappable`] in [`ErrorMode::Strict`] for the first character the
    /// encoding lacks; what came before it is in `out`.
    pub fn encode(&mut self, text: &str, out: &mut Vec<u8>) -> Result<(), TextError> {
        match &mut self.state {
            EncoderState::Table(table) => {
                out.reserve(text.len());
                for c in text.chars() {
                    let byte = if c.is_ascii() {
                        Some(c as u8)
                    } else {
                        // 128 entries: a scan is cheaper than building a map per encoder.
                        table
                            .iter()
                            .position(|&t| t == Some(c))
                            .map(|i| 0x80 + i as u8)
                    };
                    push(byte, c, self.mode, &self.name, out)?;
                }
                Ok(())
            }
            EncoderState::Full(encoder) => {
                out.reserve(text.len());
                for c in text.chars() {
                    match encoder.encode_char(c) {
                        Ok(Some(byte)) => out.push(byte),
                        Ok(None) => {}
                        Err(()) => push(None, c, self.mode, &self.name, out)?,
                    }
                }
                Ok(())
            }
            EncoderState::Big5Bbs => {
                out.reserve(text.len());
                for c in text.chars() {
                    if !big5bbs::encode_char(c, out) {
                        push(None, c, self.mode, &self.name, out)?;
                    }
                }
                Ok(())
            }
            EncoderState::Standard(encoder) => {
                // Through a stack buffer, for the same reason as the decoder.
                let mut buf = [0u8; 4096];
                let mut rest = text;
                loop {
                    let (result, read, written) =
                        encoder.encode_from_utf8_without_replacement(rest, &mut buf, false);
                    rest = &rest[read..];
                    out.extend_from_slice(&buf[..written]);
                    match result {
                        EncoderResult::InputEmpty => return Ok(()),
                        EncoderResult::OutputFull => {}
                        EncoderResult::Unmappable(c) => match self.mode {
                            ErrorMode::Strict => {
                                return Err(TextError::Unmappable {
                                    character: c,
                                    encoding: self.name.clone(),
                                })
                            }
                            ErrorMode::Replace => out.push(b'?'),
                            ErrorMode::Ignore => {}
                        },
                    }
                }
            }
        }
    }
}

/// One character of a single-byte encoding: its byte, or what the error mode says.
fn push(
    byte: Option<u8>,
    c: char,
    mode: ErrorMode,
    name: &str,
    out: &mut Vec<u8>,
) -> Result<(), TextError> {
    match (byte, mode) {
        (Some(byte), _) => out.push(byte),
        (None, ErrorMode::Replace) => out.push(b'?'),
        (None, ErrorMode::Ignore) => {}
        (None, ErrorMode::Strict) => {
            return Err(TextError::Unmappable {
                character: c,
                encoding: name.to_string(),
            })
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_8859_9_and_11_keep_the_c1_controls_that_their_windows_pages_replace() {
        // Python: b"\x80\xd0".decode("iso8859_9") == "\x80\u011e"; windows-1254 has EUR at 0x80.
        for name in ["iso-8859-9", "latin5", "iso8859_9"] {
            assert_eq!(
                decode_all(name, ErrorMode::Strict, b"\x80\xd0"),
                ("\u{80}\u{11e}".to_string(), Ok(())),
                "{name}"
            );
        }
        assert_eq!(
            decode_all("iso8859_11", ErrorMode::Strict, b"\x85\xa0\xa1"),
            ("\u{85}\u{a0}\u{e01}".to_string(), Ok(()))
        );
        // TIS-620 has neither the C1 controls nor 0xA0; 0xDB is undefined in all three.
        assert_eq!(
            decode_all("tis-620", ErrorMode::Replace, b"\x85\xa0\xa1\xdb"),
            ("\u{fffd}\u{fffd}\u{e01}\u{fffd}".to_string(), Ok(()))
        );
        let mut out = Vec::new();
        Encoding::from_name("latin5")
            .unwrap()
            .encoder(ErrorMode::Strict)
            .unwrap()
            .encode("\u{11e}\u{80}", &mut out)
            .unwrap();
        assert_eq!(out, b"\xd0\x80");
    }

    fn decode_all(name: &str, mode: ErrorMode, input: &[u8]) -> (String, Result<(), TextError>) {
        let mut out = String::new();
        let result = Encoding::from_name(name)
            .unwrap()
            .decoder(mode)
            .decode(input, true, &mut out);
        (out, result)
    }

    fn encode_all(name: &str, mode: ErrorMode, text: &str) -> (Vec<u8>, Result<(), TextError>) {
        let mut out = Vec::new();
        let result = Encoding::from_name(name)
            .unwrap()
            .encoder(mode)
            .unwrap()
            .encode(text, &mut out);
        (out, result)
    }

    /// The UTF-8 fast path against encoding_rs itself, over pseudo-random inputs rich in
    /// lead, continuation and invalid bytes, cut into pieces at pseudo-random points.
    #[test]
    fn utf8_fast_path_decodes_as_encoding_rs_in_any_split() {
        let alphabet = [
            b'a', 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF4, 0xF5,
            0xFF, 0x90, 0xA0, 0x9F,
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let utf8 = Encoding::from_name("utf8").unwrap();
        for _ in 0..5000 {
            let n = (next() % 24) as usize;
            let mut input: Vec<u8> = (0..n)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            if next() % 3 == 0 {
                input.extend_from_slice("é€😀".as_bytes());
            }
            let mut expected = String::with_capacity(input.len() * 3 + 16);
            let (_, _, had_errors) = encoding_rs::UTF_8
                .new_decoder_without_bom_handling()
                .decode_to_string(&input, &mut expected, true);
            for mode in [ErrorMode::Replace, ErrorMode::Strict, ErrorMode::Ignore] {
                let mut decoder = utf8.decoder(mode);
                let mut out = String::new();
                let mut failed = false;
                let mut rest = &input[..];
                while !rest.is_empty() {
                    let take = ((next() % 5) as usize).min(rest.len()).max(1);
                    failed |= decoder.decode(&rest[..take], false, &mut out).is_err();
                    rest = &rest[take..];
                }
                failed |= decoder.decode(b"", true, &mut out).is_err();
                let want = match mode {
                    ErrorMode::Replace => expected.clone(),
                    _ => expected.replace('\u{FFFD}', ""),
                };
                assert_eq!(out, want, "{mode:?} {input:02x?}");
                assert_eq!(
                    failed,
                    mode == ErrorMode::Strict && had_errors,
                    "{input:02x?}"
                );
            }
        }
    }

    #[test]
    fn names_as_python_users_write_them() {
        for (name, canonical) in [
            ("utf8", "UTF-8"),
            ("UTF-8", "UTF-8"),
            ("latin1", "ISO-8859-1"),
            ("latin_1", "ISO-8859-1"),
            ("iso-8859-1", "ISO-8859-1"),
            ("ascii", "US-ASCII"),
            ("US-ASCII", "US-ASCII"),
            ("cp1252", "windows-1252"),
            ("shift_jis", "Shift_JIS"),
            ("cp932", "Shift_JIS"),
            ("big5", "Big5"),
            ("cp437", "cp437"),
            ("CP437", "CP437"),
            ("ibm850", "ibm850"),
            // Python's aliases that are not WHATWG labels.
            ("u8", "UTF-8"),
            ("cp65001", "UTF-8"),
            ("latin9", "ISO-8859-15"),
            ("iso8859_16", "ISO-8859-16"),
            ("latin10", "ISO-8859-16"),
            ("mac_roman", "macintosh"),
            ("big5hkscs", "Big5"),
            ("iso2022_jp", "ISO-2022-JP"),
            ("ks_c_5601-1987", "EUC-KR"),
        ] {
            assert_eq!(
                Encoding::from_name(name).unwrap().canonical_name(),
                canonical,
                "{name}"
            );
        }
        assert_eq!(
            Encoding::from_name("klingon").unwrap_err(),
            TextError::UnknownEncoding("klingon".into())
        );
        assert!(Encoding::from_name("utf-16")
            .unwrap()
            .encoder(ErrorMode::Strict)
            .is_err());
    }

    #[test]
    fn cp437_box_drawing_round_trip() {
        let (text, result) = decode_all("cp437", ErrorMode::Strict, b"\xC9\xCD\xBB\xBA");
        assert_eq!((text.as_str(), result), ("╔═╗║", Ok(())));
        assert_eq!(
            encode_all("cp437", ErrorMode::Strict, "╔═╗║"),
            (b"\xC9\xCD\xBB\xBA".to_vec(), Ok(()))
        );
        let (bytes, result) = encode_all("cp437", ErrorMode::Replace, "a€b");
        assert_eq!((bytes, result), (b"a?b".to_vec(), Ok(())));
    }

    #[test]
    fn latin1_is_not_windows_1252() {
        let bytes: Vec<u8> = (0x80..=0xFF).collect();
        let (text, result) = decode_all("latin1", ErrorMode::Strict, &bytes);
        assert!(result.is_ok());
        assert!(text
            .chars()
            .zip(0x80u32..)
            .all(|(c, code)| c as u32 == code));
        assert_eq!(encode_all("latin1", ErrorMode::Strict, &text).0, bytes);
    }

    #[test]
    fn error_modes_on_invalid_utf8() {
        assert_eq!(
            decode_all("utf8", ErrorMode::Replace, b"a\xffb").0,
            "a\u{FFFD}b"
        );
        assert_eq!(decode_all("utf8", ErrorMode::Ignore, b"a\xffb").0, "ab");
        let (text, result) = decode_all("utf8", ErrorMode::Strict, b"a\xffb");
        assert_eq!(text, "ab", "valid text around the error is kept");
        assert!(matches!(result, Err(TextError::Malformed { .. })));
        let (_, result) = encode_all("ascii", ErrorMode::Strict, "é");
        assert!(matches!(
            result,
            Err(TextError::Unmappable {
                character: 'é', ..
            })
        ));
    }

    #[test]
    fn split_multibyte_sequences_decode_as_whole() {
        let text = "héllo ✓ 日本語";
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let mut decoder = Encoding::from_name("utf-8")
                .unwrap()
                .decoder(ErrorMode::Strict);
            let mut out = String::new();
            decoder.decode(&bytes[..cut], false, &mut out).unwrap();
            decoder.decode(&bytes[cut..], true, &mut out).unwrap();
            assert_eq!(out, text, "cut at {cut}");
        }
        // Byte by byte is linear: 1 MiB one byte at a time.
        let big = "✓".repeat(1 << 18);
        let mut decoder = Encoding::from_name("utf-8")
            .unwrap()
            .decoder(ErrorMode::Strict);
        let mut out = String::new();
        for byte in big.as_bytes() {
            decoder
                .decode(std::slice::from_ref(byte), false, &mut out)
                .unwrap();
        }
        assert_eq!(out.len(), big.len());
    }

    #[test]
    fn lang_names_an_encoding() {
        assert_eq!(
            encoding_from_lang("en_US.UTF-8").unwrap().canonical_name(),
            "UTF-8"
        );
        assert_eq!(
            encoding_from_lang("de_DE.ISO-8859-1@euro")
                .unwrap()
                .canonical_name(),
            "ISO-8859-1"
        );
        assert!(encoding_from_lang("C").is_none());
    }
}
