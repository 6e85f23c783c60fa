//! The LINEMODE `MODE` suboption (RFC 1184 section 2.2): one mask byte.

use core::fmt;
use core::ops::{BitAnd, BitOr, Not};

/// The mask of a LINEMODE `MODE` command (RFC 1184 section 2.2).
///
/// With no bit set the mode is telnetlib3's "remote": the server edits, character at a
/// time. Bits this crate does not know (32, 64, 128) are dropped when parsing, so a mode
/// compares equal to what both ends understand.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Mode(u8);

impl Mode {
    /// No bit set: the server does the editing (telnetlib3's `LMODE_MODE_REMOTE`).
    pub const REMOTE: Self = Self(0);
    /// EDIT (1): the client edits lines and sends them complete.
    pub const EDIT: Self = Self(1);
    /// TRAPSIG (2): the client turns interrupt keys into Telnet commands (IP, BRK, ...).
    pub const TRAPSIG: Self = Self(2);
    /// MODE_ACK (4): this `MODE` acknowledges a previous one; never answered.
    pub const MODE_ACK: Self = Self(4);
    /// SOFT_TAB (8): the client expands horizontal tabs to spaces.
    pub const SOFT_TAB: Self = Self(8);
    /// LIT_ECHO (16): the client echoes non-printable characters literally.
    pub const LIT_ECHO: Self = Self(16);
    /// Every bit RFC 1184 defines.
    pub const ALL: Self = Self(1 | 2 | 4 | 8 | 16);

    /// The mask byte.
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The mode for a mask byte, keeping only the bits RFC 1184 defines.
    #[must_use]
    pub const fn from_bits_truncate(bits: u8) -> Self {
        Self(bits & Self::ALL.0)
    }

    /// Whether every bit of `other` is set in `self`.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with the bits of `other` set.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// `self` with the bits of `other` cleared.
    #[must_use]
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

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

impl BitOr for Mode {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

impl BitAnd for Mode {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl Not for Mode {
    type Output = Self;
    fn not(self) -> Self {
        Self(!self.0 & Self::ALL.0)
    }
}

impl fmt::Debug for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Mode, &str); 5] = [
            (Mode::EDIT, "EDIT"),
            (Mode::TRAPSIG, "TRAPSIG"),
            (Mode::MODE_ACK, "MODE_ACK"),
            (Mode::SOFT_TAB, "SOFT_TAB"),
            (Mode::LIT_ECHO, "LIT_ECHO"),
        ];
        f.write_str("Mode(")?;
        let mut first = true;
        for (bit, name) in NAMES {
            if self.contains(bit) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("REMOTE")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_names() {
        assert_eq!(Mode::from_bits_truncate(0xFF), Mode::ALL);
        assert_eq!((Mode::EDIT | Mode::MODE_ACK).bits(), 5);
        assert_eq!((Mode::EDIT | Mode::MODE_ACK).without_ack(), Mode::EDIT);
        assert!(!Mode::LIT_ECHO.is_ack());
        assert_eq!(format!("{:?}", Mode::REMOTE), "Mode(REMOTE)");
        assert_eq!(
            format!("{:?}", Mode::EDIT | Mode::LIT_ECHO),
            "Mode(EDIT | LIT_ECHO)"
        );
        assert_eq!(!Mode::EDIT, Mode::from_bits_truncate(0x1E));
    }
}
