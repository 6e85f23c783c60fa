//! What the server probe does with a server's banner, as telnetlib3 5.0.1's
//! `server_fingerprinting` does: track the cursor column so that a robot check's cursor
//! position reports ring true (`_VirtualCursor`), recognise prompts and charset menus and
//! pick their answers (`_detect_yn_prompt`), and follow SyncTERM font switches to the
//! banner's encoding (`detect_syncterm_font`).

use regex::bytes::Regex;
use telnetlib3::text::{Encoding, ErrorMode};
use unicode_width::UnicodeWidthChar;

/// telnetlib3's `_ANSI_STRIP_RE` (wcwidth's zero-width sequence pattern): CSI, OSC, APC,
/// DCS, PM, charset designations, nF, Fe, Fp and Fs escapes.
const ANSI_PATTERN: &str = r"(?-u)\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b_[^\x1b\x07]*(?:\x07|\x1b\\)|\x1bP[^\x1b\x07]*(?:\x07|\x1b\\)|\x1b\^[^\x1b\x07]*(?:\x07|\x1b\\)|\x1b[()](?s-u:.)|\x1b[\x20-\x2f]+[\x30-\x7e]|\x1b[\x40-\x5f]|\x1b[\x30-\x3f]|\x1b[\x60-\x7e]";

/// SyncTERM font IDs and the encodings telnetlib3 reads them as
/// (`SYNCTERM_FONT_ENCODINGS`).
const SYNCTERM_FONTS: [(u32, &str); 39] = [
    (0, "cp437"),
    (1, "cp1251"),
    (2, "koi8-r"),
    (3, "iso-8859-2"),
    (4, "iso-8859-4"),
    (5, "cp866"),
    (6, "iso-8859-9"),
    (8, "iso-8859-8"),
    (9, "koi8-u"),
    (10, "iso-8859-15"),
    (11, "iso-8859-4"),
    (12, "koi8-r"),
    (13, "iso-8859-4"),
    (14, "iso-8859-5"),
    (16, "iso-8859-15"),
    (17, "cp850"),
    (18, "cp850"),
    (20, "cp1251"),
    (21, "iso-8859-7"),
    (22, "koi8-r"),
    (23, "iso-8859-4"),
    (24, "iso-8859-1"),
    (25, "cp866"),
    (26, "cp437"),
    (27, "cp866"),
    (29, "cp866"),
    (30, "iso-8859-1"),
    (31, "cp1131"),
    (32, "petscii"),
    (33, "petscii"),
    (34, "petscii"),
    (35, "petscii"),
    (36, "atascii"),
    (37, "cp437"),
    (38, "cp437"),
    (39, "cp437"),
    (40, "cp437"),
    (41, "cp437"),
    (42, "cp437"),
];

/// A prompt's answer, and the encoding the server speaks from then on when the answer
/// picks one (a UTF-8 or Big5 menu entry; `codepage` for a code page menu answered
/// with return, which telnetlib3 records as the encoding's name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PromptAnswer {
    pub(super) response: Vec<u8>,
    pub(super) encoding: Option<&'static str>,
}

impl PromptAnswer {
    fn plain(response: &[u8]) -> Option<Self> {
        Some(Self {
            response: response.to_vec(),
            encoding: None,
        })
    }
}

/// The patterns of telnetlib3's banner handling, compiled once per probe.
pub(super) struct Prompts {
    ansi: Regex,
    esc_twice: Regex,
    esc_once: Regex,
    more: Regex,
    yes_no: Regex,
    color: Regex,
    ansi_color_standard: Regex,
    menu_utf8: Regex,
    menu_ansi: Regex,
    gb_big5: Regex,
    codepage: Regex,
    backspace_key: Regex,
    del_backspace: Regex,
    return_key: Regex,
    syncterm_font: Regex,
}

impl Prompts {
    pub(super) fn new() -> Self {
        let build = |pattern: &str| Regex::new(pattern).expect("a fixed pattern");
        Self {
            ansi: build(ANSI_PATTERN),
            esc_twice: build(r"(?i)press\s+[\[<(]?\.?esc\.?[\]>)]?\s+twice"),
            // telnetlib3's has `(?!\s+twice)`; the twice pattern is always tried first,
            // so where this one is tried no "twice" follows anyway.
            esc_once: build(r"(?i)press\s+[\[<(]?\.?esc\.?[\]>)]?"),
            more: build(r"(?i)more[:\s]*\(?[yY]\)?.*\(?[cC]\)?\s*(?:ontinuous|ont)"),
            yes_no: build(
                r"(?i)(?:^|[^a-zA-Z0-9])(yes/no|y/n|\(yes\|no\))(?:[^a-zA-Z0-9]|$)|[(\[][Yy][Nn][)\]]",
            ),
            color: build(r"(?i)color\s*\?"),
            ansi_color_standard: build(r"(?i)ANSI\s+color\s+standard"),
            menu_utf8: build(r"(?i)[\[(]?(\d+)\s*(?:[\])]|\.{1,3})\s*(?:\S+\s*/\s*)?UTF-?8"),
            menu_ansi: build(r"(?i)[\[(]?(\d+)\s*(?:[\])]|\.{1,3})\s*(?:\S+\s*/\s*)?ANSI"),
            gb_big5: build(r"(?i)(?:^|[^a-zA-Z0-9])gb\s*/\s*big\s*5(?:[^a-zA-Z0-9]|$)"),
            codepage: build(
                r"(?i)(?:select|choose|pick)\s+(?:your\s+)?(?:terminal\s+)?(?:code\s*page|char(?:acter)?\s*set|charset|encoding)",
            ),
            backspace_key: build(r"(?i)press\s+the\s+backspace\s+key"),
            del_backspace: build(
                r"(?i)(?:press|hit)\s+(?:your\s+)?(?:del(?:ete)?(?:\s*/\s*backspace)?|backspace(?:\s*/\s*del(?:ete)?)?)(?:\s+key)?\s*[:\.]?",
            ),
            return_key: build(r"(?i)(?:hit|press)\s+[\[<(]?(?:return|enter)[\]>)]?\s*[:\.]?"),
            syncterm_font: build(r"\x1b\[(\d+);(\d+) D"),
        }
    }

    /// `bytes` without escape sequences.
    pub(super) fn strip<'a>(&self, bytes: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        self.ansi.replace_all(bytes, &b""[..])
    }

    /// The answer to the latest banner, or `None` when it shows no prompt telnetlib3
    /// knows (it sends a bare return then). Checked in telnetlib3's order.
    pub(super) fn answer(&self, banner: &[u8]) -> Option<PromptAnswer> {
        let text = self.strip(banner);
        if self.esc_twice.is_match(&text) {
            return PromptAnswer::plain(b"\x1b\x1b");
        }
        if self.esc_once.is_match(&text) {
            return PromptAnswer::plain(b"\x1b");
        }
        if self.more.is_match(&text) {
            return PromptAnswer::plain(b"C\r\n");
        }
        if let Some(found) = self.yes_no.captures(&text) {
            let long = found.get(1).is_some_and(|token| {
                let token = token.as_bytes().to_ascii_lowercase();
                token == b"yes/no" || token == b"(yes|no)"
            });
            return PromptAnswer::plain(if long { b"yes\r\n" } else { b"y\r\n" });
        }
        if self.color.is_match(&text) || self.ansi_color_standard.is_match(&text) {
            return PromptAnswer::plain(b"y\r\n");
        }
        if let Some(number) = self.utf8_menu_entry(&text) {
            return Some(PromptAnswer {
                response: number,
                encoding: Some("utf-8"),
            });
        }
        if let Some(found) = self.menu_ansi.captures(&text) {
            let mut response = found[1].to_vec();
            response.extend_from_slice(b"\r\n");
            return Some(PromptAnswer {
                response,
                encoding: None,
            });
        }
        if self.gb_big5.is_match(&text) {
            return Some(PromptAnswer {
                response: b"big5\r\n".to_vec(),
                encoding: Some("big5"),
            });
        }
        if self.codepage.is_match(&text) {
            return Some(PromptAnswer {
                response: b"\r\n".to_vec(),
                encoding: Some("codepage"),
            });
        }
        if self.backspace_key.is_match(&text) {
            return PromptAnswer::plain(b"\x08");
        }
        if self.del_backspace.is_match(&text) {
            // PETSCII's DEL.
            return PromptAnswer::plain(b"\x14");
        }
        if self.return_key.is_match(&text) {
            return PromptAnswer::plain(b"\r\n");
        }
        None
    }

    /// The number of a menu entry offering UTF-8 in `stripped`, with a return.
    pub(super) fn utf8_menu_entry(&self, stripped: &[u8]) -> Option<Vec<u8>> {
        let found = self.menu_utf8.captures(stripped)?;
        let mut response = found[1].to_vec();
        response.extend_from_slice(b"\r\n");
        Some(response)
    }

    /// Whether `stripped` asks to press ESC twice (`Some(true)`) or once.
    pub(super) fn esc_prompt(&self, stripped: &[u8]) -> Option<bool> {
        if self.esc_twice.is_match(stripped) {
            Some(true)
        } else if self.esc_once.is_match(stripped) {
            Some(false)
        } else {
            None
        }
    }

    /// Whether `stripped` asks to pick a code page.
    pub(super) fn codepage_prompt(&self, stripped: &[u8]) -> bool {
        self.codepage.is_match(stripped)
    }

    /// The encoding of the first SyncTERM font selection (`CSI Ps1 ; Ps2 SP D`) in
    /// `data`, when telnetlib3 knows its font.
    pub(super) fn syncterm_font(&self, data: &[u8]) -> Option<&'static str> {
        let found = self.syncterm_font.captures(data)?;
        let id: u32 = std::str::from_utf8(&found[2]).ok()?.parse().ok()?;
        SYNCTERM_FONTS
            .iter()
            .find(|(font, _)| *font == id)
            .map(|(_, encoding)| *encoding)
    }
}

/// The column of the probe's imaginary terminal (telnetlib3's `_VirtualCursor`): a robot
/// check sends DSR, a test character, DSR again, and compares the two reports.
pub(super) struct VirtualCursor {
    col: usize,
    /// The encoding the server's text is read in, to measure it.
    pub(super) encoding: String,
}

impl VirtualCursor {
    pub(super) fn new(encoding: &str) -> Self {
        Self {
            col: 1,
            encoding: encoding.to_owned(),
        }
    }

    /// The cursor position report at the current column.
    pub(super) fn cpr(&self) -> Vec<u8> {
        format!("\x1b[1;{}R", self.col).into_bytes()
    }

    /// Move over `data`, the server's output between reports: escape sequences take no
    /// room, BS steps back (not past column 1), CR returns to column 1, and each other
    /// printable character takes its width; controls take none. The text is decoded as
    /// the server's encoding with replacement (an unknown encoding as Latin-1), as
    /// telnetlib3 does.
    pub(super) fn advance(&mut self, prompts: &Prompts, data: &[u8]) {
        let stripped = prompts.strip(data);
        let mut text = String::with_capacity(stripped.len());
        let decoded = Encoding::from_name(&self.encoding)
            .ok()
            .and_then(|encoding| {
                encoding
                    .decoder(ErrorMode::Replace)
                    .decode(&stripped, true, &mut text)
                    .ok()
            })
            .is_some();
        if !decoded {
            text = stripped.iter().map(|&b| char::from(b)).collect();
        }
        for ch in text.chars() {
            match ch {
                '\x08' => self.col = self.col.saturating_sub(1).max(1),
                '\r' => self.col = 1,
                // wcwidth gives the C0 and C1 controls and DEL -1: no room.
                '\0'..='\x1f' | '\x7f'..='\u{9f}' => {}
                _ => self.col += ch.width().unwrap_or(0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(prompts: &Prompts, banner: &[u8]) -> Option<(Vec<u8>, Option<&'static str>)> {
        prompts.answer(banner).map(|a| (a.response, a.encoding))
    }

    #[test]
    fn prompts_get_telnetlib3s_answers() {
        let prompts = Prompts::new();
        let plain = |r: &[u8]| Some((r.to_vec(), None));
        assert_eq!(answer(&prompts, b"Continue? (yes/no) "), plain(b"yes\r\n"));
        assert_eq!(answer(&prompts, b"\x1b[1mColor?\x1b[0m"), plain(b"y\r\n"));
        assert_eq!(answer(&prompts, b"Press [ESC] twice"), plain(b"\x1b\x1b"));
        assert_eq!(answer(&prompts, b"login: "), None);
        assert_eq!(
            answer(&prompts, b"Charset:\r\n 1) CP437\r\n 2) UTF-8\r\nChoice: "),
            Some((b"2\r\n".to_vec(), Some("utf-8")))
        );
        assert_eq!(
            answer(&prompts, b"[1] English/ANSI  [2] ASCII"),
            plain(b"1\r\n")
        );
        assert_eq!(
            answer(&prompts, b"Please choose GB/Big5: "),
            Some((b"big5\r\n".to_vec(), Some("big5")))
        );
        assert_eq!(
            answer(&prompts, b"Select terminal codepage:"),
            Some((b"\r\n".to_vec(), Some("codepage")))
        );
        assert_eq!(answer(&prompts, b"Press the BACKSPACE key"), plain(b"\x08"));
        assert_eq!(answer(&prompts, b"hit your DEL/backspace:"), plain(b"\x14"));
        assert_eq!(answer(&prompts, b"PRESS <RETURN>"), plain(b"\r\n"));
    }

    #[test]
    fn syncterm_fonts_name_encodings() {
        let prompts = Prompts::new();
        assert_eq!(prompts.syncterm_font(b"x\x1b[0;0 Dy"), Some("cp437"));
        assert_eq!(prompts.syncterm_font(b"\x1b[0;36 D"), Some("atascii"));
        assert_eq!(prompts.syncterm_font(b"\x1b[0;7 D"), None);
        assert_eq!(prompts.syncterm_font(b"\x1b[0;99999999999 D"), None);
    }

    #[test]
    fn the_cursor_moves_as_telnetlib3s() {
        let prompts = Prompts::new();
        let mut cursor = VirtualCursor::new("utf-8");
        cursor.advance(&prompts, b"\x1b[1;31mab\x1b[0m");
        assert_eq!(cursor.cpr(), b"\x1b[1;3R");
        // A wide character, then a backspace.
        cursor.advance(&prompts, "\u{4e2d}\x08".as_bytes());
        assert_eq!(cursor.cpr(), b"\x1b[1;4R");
        // LF keeps the column, CR returns, controls take nothing.
        cursor.advance(&prompts, b"x\n\x07");
        assert_eq!(cursor.cpr(), b"\x1b[1;5R");
        cursor.advance(&prompts, b"\r\x08\x08");
        assert_eq!(cursor.cpr(), b"\x1b[1;1R");
        // In ASCII a high byte is one replacement character, one column.
        let mut ascii = VirtualCursor::new("ascii");
        ascii.advance(&prompts, b"\xb1\xb1");
        assert_eq!(ascii.cpr(), b"\x1b[1;3R");
        // CP437 box drawing is one column a byte.
        let mut cp437 = VirtualCursor::new("cp437");
        cp437.advance(&prompts, b"\xc9\xcd\xbb");
        assert_eq!(cp437.cpr(), b"\x1b[1;4R");
    }
}
