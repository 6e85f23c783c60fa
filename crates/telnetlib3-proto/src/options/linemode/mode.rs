//! The LINEMODE `MODE` suboption (RFC 1184 section 2.2): one mask byte.

use core::fmt;

bitflags::bitflags! {
    /// The mask of a LINEMODE `MODE` command (RFC 1184 section 2.2).
    ///
    /// With no bit set the mode is telnetlib3's "remote": the server edits, character at
    /// a time. Bits this crate does not know (32, 64, 128) are dropped when parsing
    /// ([`ModeMask::from_bits_truncate`]), so a mode compares equal to what both ends
    /// understand.
    #[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub struct ModeMask: u8 {
        /// EDIT (1): the client edits lines and sends them complete.
        const EDIT = 1;
        /// TRAPSIG (2): the client turns interrupt keys into Telnet commands (IP, BRK,
        /// ...).
        const TRAPSIG = 2;
        /// MODE_ACK (4): this `MODE` acknowledges a previous one; never answered.
        const MODE_ACK = 4;
        /// SOFT_TAB (8): the client expands horizontal tabs to spaces.
        const SOFT_TAB = 8;
        /// LIT_ECHO (16): the client echoes non-printable characters literally.
        const LIT_ECHO = 16;
    }
}

impl ModeMask {
    /// No bit set: the server does the editing (telnetlib3's `LMODE_MODE_REMOTE`).
    pub const REMOTE: Self = Self::empty();
    /// Every bit RFC 1184 defines.
    pub const ALL: Self = Self::all();

    /// `self` without MODE_ACK: the mode proper, as the RFC compares modes.
    #[must_use]
    pub const fn without_ack(self) -> Self {
        self.difference(Self::MODE_ACK)
    }

    /// Whether MODE_ACK is set.
    #[must_use]
    pub const fn is_ack(self) -> bool {
        self.contains(Self::MODE_ACK)
    }
}

impl fmt::Debug for ModeMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::flags::debug_flags(f, "ModeMask", self, "REMOTE")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_names() {
        assert_eq!(ModeMask::from_bits_truncate(0xFF), ModeMask::ALL);
        assert_eq!((ModeMask::EDIT | ModeMask::MODE_ACK).bits(), 5);
        assert_eq!(
            (ModeMask::EDIT | ModeMask::MODE_ACK).without_ack(),
            ModeMask::EDIT
        );
        assert!(!ModeMask::LIT_ECHO.is_ack());
        assert_eq!(format!("{:?}", ModeMask::REMOTE), "ModeMask(REMOTE)");
        assert_eq!(
            format!("{:?}", ModeMask::EDIT | ModeMask::LIT_ECHO),
            "ModeMask(EDIT | LIT_ECHO)"
        );
        assert_eq!(!ModeMask::EDIT, ModeMask::from_bits_truncate(0x1E));
    }
}
