//! MTTS, the MUD Terminal Type Standard: a MUD client's third TTYPE reply is
//! `MTTS <number>`, a bit field of what its terminal can do.
//!
//! Specification: <https://tintin.mudhalla.net/protocols/mtts/>.

bitflags::bitflags! {
    /// What an MTTS client's terminal supports.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Mtts: u32 {
        /// All ANSI color codes.
        const ANSI = 1;
        /// Most VT100 codes.
        const VT100 = 2;
        /// UTF-8 is the client's character encoding.
        const UTF8 = 4;
        /// xterm's 256 colors.
        const COLORS_256 = 8;
        /// xterm's mouse tracking.
        const MOUSE_TRACKING = 16;
        /// The OSC color palette.
        const OSC_COLOR_PALETTE = 32;
        /// A screen reader is in use.
        const SCREEN_READER = 64;
        /// The client is a proxy between the server and another client.
        const PROXY = 128;
        /// 24-bit color.
        const TRUECOLOR = 256;
        /// The client supports MNES (MUD New-Environ Standard).
        const MNES = 512;
        /// The client supports MSLP (MUD Server Link Protocol).
        const MSLP = 1024;
        /// The connection is encrypted (SSL/TLS).
        const SSL = 2048;
    }
}

impl Mtts {
    /// The flags of a terminal type `MTTS <number>` (the prefix in any case), or `None`
    /// when the terminal type is not one. Bits the standard does not define are kept.
    ///
    /// ```
    /// use telnetlib3_proto::options::mtts::Mtts;
    ///
    /// let flags = Mtts::from_terminal_type("MTTS 137").unwrap();
    /// assert_eq!(flags, Mtts::ANSI | Mtts::COLORS_256 | Mtts::PROXY);
    /// assert_eq!(Mtts::from_terminal_type("XTERM-256COLOR"), None);
    /// ```
    #[must_use]
    pub fn from_terminal_type(terminal_type: &str) -> Option<Self> {
        let prefix = terminal_type.get(..5)?;
        if !prefix.eq_ignore_ascii_case("MTTS ") {
            return None;
        }
        let bits = terminal_type[5..].trim().parse::<u32>().ok()?;
        Some(Self::from_bits_retain(bits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_types_that_are_mtts() {
        assert_eq!(
            Mtts::from_terminal_type("MTTS 2831"),
            Some(
                Mtts::ANSI
                    | Mtts::VT100
                    | Mtts::UTF8
                    | Mtts::COLORS_256
                    | Mtts::TRUECOLOR
                    | Mtts::MNES
                    | Mtts::SSL
            )
        );
        assert_eq!(Mtts::from_terminal_type("mtts 0"), Some(Mtts::empty()));
        assert_eq!(
            Mtts::from_terminal_type("MTTS 65536").map(|m| m.bits()),
            Some(65536)
        );
        for not in [
            "MTTS",
            "MTTS ",
            "MTTS x",
            "MTTS -1",
            "MTTS 99999999999",
            "ANSI",
            "",
            "MTTSé",
        ] {
            assert_eq!(Mtts::from_terminal_type(not), None, "{not:?}");
        }
    }
}
