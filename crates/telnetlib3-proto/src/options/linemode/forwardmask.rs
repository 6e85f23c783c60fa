//! The LINEMODE `FORWARDMASK` suboption (RFC 1184 section 2.3).
//!
//! `IAC SB LINEMODE DO FORWARDMASK <mask> IAC SE` (server to client) asks the client to
//! send its buffer as soon as one of the masked characters is typed; the client answers
//! `WILL FORWARDMASK` or `WONT FORWARDMASK`; `DONT FORWARDMASK` cancels. The mask has one
//! bit per character, the first octet's high bit standing for character 0: 16 octets
//! (7-bit characters) unless BINARY is in effect from client to server, then 32. A 0xFF
//! octet in the mask is doubled on the wire (telnetlib3 forgets to).

use core::fmt;

use crate::family::SubnegotiationError;

/// The most octets a mask has (one bit for each of 256 characters).
pub const MAX_MASK: usize = 32;

/// A FORWARDMASK: which characters make the client forward its line.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ForwardMask {
    bytes: [u8; MAX_MASK],
    len: u8,
}

impl ForwardMask {
    /// A mask of `len` zero octets (clamped to 1..=32).
    #[must_use]
    pub const fn empty(len: usize) -> Self {
        let len = if len == 0 {
            1
        } else if len > MAX_MASK {
            MAX_MASK
        } else {
            len
        };
        Self {
            bytes: [0; MAX_MASK],
            len: len as u8,
        }
    }

    /// Parse the octets after `DO FORWARDMASK`.
    ///
    /// # Errors
    ///
    /// [`SubnegotiationError::Truncated`] for no octet, [`SubnegotiationError::TooLong`]
    /// for more than 32.
    pub fn from_bytes(octets: &[u8]) -> Result<Self, SubnegotiationError> {
        if octets.is_empty() {
            return Err(SubnegotiationError::Truncated);
        }
        if octets.len() > MAX_MASK {
            return Err(SubnegotiationError::TooLong);
        }
        let mut mask = Self::empty(octets.len());
        mask.bytes[..octets.len()].copy_from_slice(octets);
        Ok(mask)
    }

    /// The mask octets (before IAC doubling).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Whether `byte` is in the mask. Characters past the mask's length are not.
    #[must_use]
    pub const fn contains(&self, byte: u8) -> bool {
        let index = (byte / 8) as usize;
        index < self.len as usize && self.bytes[index] & (0x80 >> (byte % 8)) != 0
    }

    /// Add `byte` to the mask, if the mask is long enough to hold it.
    pub fn insert(&mut self, byte: u8) {
        let index = usize::from(byte / 8);
        if index < usize::from(self.len) {
            self.bytes[index] |= 0x80 >> (byte % 8);
        }
    }
}

impl fmt::Debug for ForwardMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForwardMask(")?;
        f.debug_list()
            .entries((0..=255u8).filter(|&b| self.contains(b)))
            .finish()?;
        f.write_str(")")
    }
}
