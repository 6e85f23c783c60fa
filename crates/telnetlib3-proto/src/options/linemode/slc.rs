//! The LINEMODE `SLC` suboption, Set Local Characters (RFC 1184 section 2.4, rules in
//! section 5.5 and the state diagram of section 5.9).
//!
//! `IAC SB LINEMODE SLC <function modifier value>... IAC SE`: each triplet names a
//! function (1 to 30: RFC 1116 defined 1 to 18, RFC 1184 added the visual-editing
//! functions 19 to 30, SLC_MCL to SLC_EEOL), a modifier byte (a support level in the low
//! two bits, ACK / FLUSHIN / FLUSHOUT above) and the character. A 0xFF octet is doubled on
//! the wire like any IAC (section 2.4: "If any of the octets in the list of octet triplets
//! is equal to IAC, it must be sent as a double IAC").

use core::fmt;

use super::flags::debug_flags;
use super::forwardmask::ForwardMask;
use crate::family::SubnegotiationError;

/// The number of SLC functions RFC 1184 defines (BSD's and telnetlib3's `NSLC`); RFC
/// 1116 had 18.
pub const NSLC: usize = 30;

/// The character telnetlib3 (and POSIX `_POSIX_VDISABLE` on BSD) uses for "no character".
pub const VDISABLE: u8 = 0xFF;

macro_rules! slc_functions {
    ($($(#[$doc:meta])* $name:ident = $code:literal => $text:literal,)*) => {
        /// An SLC function (RFC 1184 section 1: 1 to 18 as in RFC 1116, 19 to 30 added by
        /// RFC 1184 for visual editing).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum SlcFunction {
            $($(#[$doc])* $name = $code,)*
        }

        impl SlcFunction {
            /// Every function, in code order.
            pub const ALL: [Self; NSLC] = [$(Self::$name,)*];

            /// The function for a wire byte, if it is one of the 30.
            #[must_use]
            pub const fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($code => Some(Self::$name),)*
                    _ => None,
                }
            }

            /// telnetlib3's name (`SLC_IP`, ...).
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$name => $text,)*
                }
            }
        }
    };
}

slc_functions! {
    /// Synch (1).
    Synch = 1 => "SLC_SYNCH",
    /// Break (2).
    Brk = 2 => "SLC_BRK",
    /// Interrupt process (3).
    Ip = 3 => "SLC_IP",
    /// Abort output (4).
    Ao = 4 => "SLC_AO",
    /// Are you there (5).
    Ayt = 5 => "SLC_AYT",
    /// End of record (6).
    Eor = 6 => "SLC_EOR",
    /// Abort (7).
    Abort = 7 => "SLC_ABORT",
    /// End of file (8).
    Eof = 8 => "SLC_EOF",
    /// Suspend (9).
    Susp = 9 => "SLC_SUSP",
    /// Erase character (10).
    Ec = 10 => "SLC_EC",
    /// Erase line (11).
    El = 11 => "SLC_EL",
    /// Erase word (12).
    Ew = 12 => "SLC_EW",
    /// Reprint line (13).
    Rp = 13 => "SLC_RP",
    /// Literal next (14).
    Lnext = 14 => "SLC_LNEXT",
    /// Restart output (15).
    Xon = 15 => "SLC_XON",
    /// Stop output (16).
    Xoff = 16 => "SLC_XOFF",
    /// Forwarding character 1 (17).
    Forw1 = 17 => "SLC_FORW1",
    /// Forwarding character 2 (18).
    Forw2 = 18 => "SLC_FORW2",
    /// Move cursor left (19).
    Mcl = 19 => "SLC_MCL",
    /// Move cursor right (20).
    Mcr = 20 => "SLC_MCR",
    /// Move cursor one word left (21).
    Mcwl = 21 => "SLC_MCWL",
    /// Move cursor one word right (22).
    Mcwr = 22 => "SLC_MCWR",
    /// Move cursor to beginning of line (23).
    Mcbol = 23 => "SLC_MCBOL",
    /// Move cursor to end of line (24).
    Mceol = 24 => "SLC_MCEOL",
    /// Insert mode (25).
    Insrt = 25 => "SLC_INSRT",
    /// Overstrike mode (26).
    Over = 26 => "SLC_OVER",
    /// Erase character to the right (27).
    Ecr = 27 => "SLC_ECR",
    /// Erase word to the right (28).
    Ewr = 28 => "SLC_EWR",
    /// Erase to beginning of line (29).
    Ebol = 29 => "SLC_EBOL",
    /// Erase to end of line (30).
    Eeol = 30 => "SLC_EEOL",
}

impl SlcFunction {
    /// The wire byte.
    #[must_use]
    pub const fn code(self) -> u8 {
        self as u8
    }
}

/// How far an end supports an SLC function: the low two bits of the modifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlcLevel {
    /// SLC_NOSUPPORT (0): the function is not supported.
    NoSupport = 0,
    /// SLC_CANTCHANGE (1): supported, but its character is fixed.
    CantChange = 1,
    /// SLC_VALUE (2; telnetlib3's `SLC_VARIABLE`): supported, and the character may change.
    Value = 2,
    /// SLC_DEFAULT (3): use the default character (in a request: "tell me yours").
    Default = 3,
}

impl SlcLevel {
    /// The level in a modifier byte (its low two bits; every byte has one).
    #[must_use]
    pub const fn from_modifier(modifier: u8) -> Self {
        match modifier & 3 {
            0 => Self::NoSupport,
            1 => Self::CantChange,
            2 => Self::Value,
            _ => Self::Default,
        }
    }

    /// The two level bits.
    #[must_use]
    pub const fn bits(self) -> u8 {
        self as u8
    }
}

bitflags::bitflags! {
    /// The flag bits of an SLC modifier (RFC 1184 section 2.4).
    #[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub struct SlcFlags: u8 {
        /// SLC_ACK (128): this triplet answers one of ours; it is never answered.
        const ACK = 128;
        /// SLC_FLUSHIN (64): whenever the function is sent, a Telnet "Synch" goes with
        /// it to flush the input stream (RFC 1184 sections 2.4 and 5.8; advisory).
        const FLUSHIN = 64;
        /// SLC_FLUSHOUT (32): whenever the function is sent, output is flushed, until
        /// the answer to an `IAC DO TIMING-MARK` sent after it (sections 2.4 and 5.8;
        /// advisory).
        const FLUSHOUT = 32;
    }
}

impl SlcFlags {
    /// No flag.
    pub const NONE: Self = Self::empty();

    /// The flags in a modifier byte (the level bits and bits 4 and 8 are dropped).
    #[must_use]
    pub const fn from_modifier(modifier: u8) -> Self {
        Self::from_bits_truncate(modifier)
    }
}

impl fmt::Debug for SlcFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_flags(f, "SlcFlags", self, "")
    }
}

/// One function's setting: level, flush flags and character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SlcEntry {
    /// How far the function is supported.
    pub level: SlcLevel,
    /// FLUSHIN / FLUSHOUT (ACK is a property of a message, never stored).
    pub flags: SlcFlags,
    /// The character; 0 means "not set" and 0xFF "disabled", as in telnetlib3.
    pub value: u8,
}

impl SlcEntry {
    /// Not supported, character disabled (telnetlib3's `SLC_nosupport()`).
    pub const NOSUPPORT: Self = Self::new(SlcLevel::NoSupport, SlcFlags::NONE, VDISABLE);

    /// An entry.
    #[must_use]
    pub const fn new(level: SlcLevel, flags: SlcFlags, value: u8) -> Self {
        Self {
            level,
            flags: flags.difference(SlcFlags::ACK),
            value,
        }
    }

    /// The modifier byte on the wire: level bits and flags (without ACK).
    #[must_use]
    pub const fn modifier(self) -> u8 {
        self.level.bits() | self.flags.bits()
    }

    /// Whether typing this entry's character performs the function: a supported level
    /// and a real character (neither 0, "unset", nor 0xFF, "disabled").
    #[must_use]
    pub const fn is_active(self) -> bool {
        !matches!(self.level, SlcLevel::NoSupport) && self.value != 0 && self.value != VDISABLE
    }
}

/// The SLC table: one entry per function 1 to 30. A fixed array, no heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlcTable {
    /// Index 0 is unused (function 0 is the "whole table" request).
    entries: [SlcEntry; NSLC + 1],
}

impl SlcTable {
    /// Every function unsupported.
    #[must_use]
    pub const fn empty() -> Self {
        Self {
            entries: [SlcEntry::NOSUPPORT; NSLC + 1],
        }
    }

    /// telnetlib3's `BSD_SLC_TAB` (the BSD `ttydefaults.h` characters): EOF ^D, EC DEL,
    /// EL ^U, IP ^C, ABORT ^\, XON ^Q, XOFF ^S, EW ^W, RP ^R, LNEXT ^V, AO ^O, SUSP ^Z,
    /// AYT ^T at level VALUE; BRK, SYNCH and EOR at DEFAULT with no character; the rest
    /// unsupported.
    #[must_use]
    pub const fn bsd() -> Self {
        use SlcFunction as F;
        const V: SlcLevel = SlcLevel::Value;
        const FIO: SlcFlags = SlcFlags::FLUSHIN.union(SlcFlags::FLUSHOUT);
        let unset = SlcEntry::new(SlcLevel::Default, SlcFlags::NONE, 0);
        let mut table = Self::empty();
        table.entries[F::Eof as usize] = SlcEntry::new(V, SlcFlags::NONE, 0x04);
        table.entries[F::Ec as usize] = SlcEntry::new(V, SlcFlags::NONE, 0x7F);
        table.entries[F::El as usize] = SlcEntry::new(V, SlcFlags::NONE, 0x15);
        table.entries[F::Ip as usize] = SlcEntry::new(V, FIO, 0x03);
        table.entries[F::Abort as usize] = SlcEntry::new(V, FIO, 0x1C);
        table.entries[F::Xon as usize] = SlcEntry::new(V, SlcFlags::NONE, 0x11);
        table.entries[F::Xoff as usize] = SlcEntry::new(V, SlcFlags::NONE, 0x13);
        table.entries[F::Ew as usize] = SlcEntry::new(V, SlcFlags::NONE, 0x17);
        table.entries[F::Rp as usize] = SlcEntry::new(V, SlcFlags::NONE, 0x12);
        table.entries[F::Lnext as usize] = SlcEntry::new(V, SlcFlags::NONE, 0x16);
        table.entries[F::Ao as usize] = SlcEntry::new(V, SlcFlags::FLUSHOUT, 0x0F);
        table.entries[F::Susp as usize] = SlcEntry::new(V, SlcFlags::FLUSHIN, 0x1A);
        table.entries[F::Ayt as usize] = SlcEntry::new(V, SlcFlags::NONE, 0x14);
        table.entries[F::Brk as usize] = unset;
        table.entries[F::Synch as usize] = unset;
        table.entries[F::Eor as usize] = unset;
        table
    }

    /// One function's entry.
    #[must_use]
    pub const fn get(&self, function: SlcFunction) -> SlcEntry {
        self.entries[function as usize]
    }

    /// Change one function's entry (ACK is dropped from the flags).
    pub fn set(&mut self, function: SlcFunction, entry: SlcEntry) {
        self.entries[function as usize] = SlcEntry::new(entry.level, entry.flags, entry.value);
    }

    /// Every function with its entry, in code order.
    pub fn iter(&self) -> impl Iterator<Item = (SlcFunction, SlcEntry)> + '_ {
        SlcFunction::ALL.iter().map(|&f| (f, self.get(f)))
    }

    /// The function an input character performs, if any (the lowest-numbered active one,
    /// as telnetlib3's `snoop` finds it).
    #[must_use]
    pub fn function_for(&self, byte: u8) -> Option<SlcFunction> {
        self.iter()
            .find(|(_, entry)| entry.is_active() && entry.value == byte)
            .map(|(f, _)| f)
    }

    /// The FORWARDMASK for this table's active characters: 32 bytes when the client
    /// transmits in BINARY, else 16 bytes covering the 7-bit characters (RFC 1184
    /// section 2.3).
    #[must_use]
    pub fn forward_mask(&self, binary: bool) -> ForwardMask {
        let mut mask = ForwardMask::empty(if binary { 32 } else { 16 });
        for (_, entry) in self.iter() {
            if entry.is_active() {
                mask.insert(entry.value);
            }
        }
        mask
    }

    /// Append `function modifier value` for every function whose level in `filter` is
    /// supported, with this table's current setting (BSD telnetd's `send_slc`).
    pub(crate) fn write_triplets(&self, filter: &Self, out: &mut Vec<u8>) {
        for (function, entry) in self.iter() {
            if filter.get(function).level != SlcLevel::NoSupport {
                out.extend_from_slice(&[function.code(), entry.modifier(), entry.value]);
            }
        }
    }
}

impl Default for SlcTable {
    fn default() -> Self {
        Self::bsd()
    }
}

impl fmt::Debug for SlcTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// One `function modifier value` triplet as it is on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SlcTriplet {
    /// The function byte (0 for a whole-table request; above 30 unknown).
    pub function: u8,
    /// The modifier byte: level and flags.
    pub modifier: u8,
    /// The character.
    pub value: u8,
}

impl SlcTriplet {
    /// The level in the modifier.
    #[must_use]
    pub const fn level(self) -> SlcLevel {
        SlcLevel::from_modifier(self.modifier)
    }

    /// The flags in the modifier.
    #[must_use]
    pub const fn flags(self) -> SlcFlags {
        SlcFlags::from_modifier(self.modifier)
    }

    /// Whether SLC_ACK is set: such a triplet is never answered.
    #[must_use]
    pub const fn is_ack(self) -> bool {
        self.modifier & SlcFlags::ACK.bits() != 0
    }
}

/// Parse the triplets after the `SLC` byte. A trailing partial triplet rejects the whole
/// list: nothing of it may be applied.
///
/// # Errors
///
/// [`SubnegotiationError::Truncated`] when the length is not a multiple of three.
pub fn parse_triplets(
    list: &[u8],
) -> Result<impl Iterator<Item = SlcTriplet> + '_, SubnegotiationError> {
    if !list.len().is_multiple_of(3) {
        return Err(SubnegotiationError::Truncated);
    }
    Ok(list.chunks_exact(3).map(|t| match *t {
        [function, modifier, value] => SlcTriplet {
            function,
            modifier,
            value,
        },
        // chunks_exact(3) yields three bytes; this arm keeps the code panic-free.
        _ => SlcTriplet {
            function: 0,
            modifier: SlcFlags::ACK.bits(),
            value: 0,
        },
    }))
}

/// What one SLC list did to our table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Bit `f` set when function `f`'s entry changed.
    pub(crate) changed: u32,
    /// Whether the peer asked for our whole table (`0 SLC_DEFAULT 0` / `0 SLC_VALUE 0`).
    pub(crate) table_sent: bool,
}

/// Apply a peer's SLC list to `table` and append our answers to `reply` (without the
/// `SLC` byte). This is BSD telnetd's `process_slc` / `change_slc`, which telnetlib3's
/// `_slc_process` / `_slc_change` copy, following RFC 1184 sections 2.4 and 5.5:
///
/// - a triplet with SLC_ACK set is never answered (section 5.9: `x,SLC_ACK|x,x` gets "no
///   response");
/// - a triplet that matches our level and character needs no answer (section 5.5, rule
///   1);
/// - an SLC_ACK triplet at our level with another character (section 5.5, rule 2) is
///   ignored by the server and taken by the client, so that when both ends ask to change
///   the same function at once they "settle on the clients requested value";
/// - `0 SLC_DEFAULT 0` resets us to our defaults and asks for the whole table, `0
///   SLC_VALUE 0` asks for our current table (answered once per list). Section 2.4:
///   "Only the client may send an octet triplet with the first octet equal to zero", so
///   only a server (`client` false) honours them; a client ignores them;
/// - NOSUPPORT is accepted and acknowledged; DEFAULT is answered with our default;
/// - VALUE / CANTCHANGE is taken and acknowledged when our character may change (our
///   default level is VALUE) or we have no default of our own (DEFAULT); when both ends
///   CANTCHANGE the function degenerates to NOSUPPORT; else we answer with our level
///   (and, for CANTCHANGE, our fixed character).
///
/// Every answer either acknowledges or states our fixed setting, so two ends following
/// these rules settle.
pub(crate) fn negotiate(
    table: &mut SlcTable,
    defaults: &SlcTable,
    client: bool,
    triplets: impl Iterator<Item = SlcTriplet>,
    reply: &mut Vec<u8>,
) -> Outcome {
    let before = *table;
    let mut table_sent = false;
    for triplet in triplets {
        let his_level = triplet.level();
        if triplet.function == 0 {
            // Only the two whole-table requests mean anything for function 0; the RFC's
            // value is 0 but, like BSD, we do not insist on it.
            let reset = match his_level {
                SlcLevel::Default => true,
                SlcLevel::Value => false,
                _ => continue,
            };
            if client || triplet.is_ack() || table_sent {
                continue;
            }
            if reset {
                *table = *defaults;
            }
            table.write_triplets(defaults, reply);
            table_sent = true;
            continue;
        }
        let Some(function) = SlcFunction::from_code(triplet.function) else {
            // A function we do not know: say we do not support it, unless that is
            // already what the peer says (else two such ends would loop) or it is an ACK.
            if his_level != SlcLevel::NoSupport && !triplet.is_ack() {
                reply.extend_from_slice(&[triplet.function, SlcLevel::NoSupport.bits(), 0]);
            }
            continue;
        };
        let mine = table.get(function);
        if his_level == mine.level && triplet.value == mine.value {
            // Section 5.5, rule 1: "Ignore it if it is the same as the current settings."
            continue;
        }
        if triplet.is_ack() {
            // Section 5.5, rule 2: same level, another value, SLC_ACK set: "no reply is
            // generated. On the server side, the command is ignored, and on the client
            // side, a switch is made to the new value." (BSD telnetd, and telnetlib3 after
            // it, are server code and ignore it on both sides: the RFC wins.) An ACK at
            // another level answers an older request of ours (BSD's comment); it is
            // never answered either.
            if client && his_level == mine.level {
                table.set(
                    function,
                    SlcEntry::new(his_level, triplet.flags(), triplet.value),
                );
            }
            continue;
        }
        change(table, defaults, function, triplet, reply);
    }
    let mut changed = 0u32;
    for function in SlcFunction::ALL {
        if table.get(function) != before.get(function) {
            changed |= 1 << function.code();
        }
    }
    Outcome {
        changed,
        table_sent,
    }
}

/// BSD telnetd's `change_slc`: the peer's setting differs from ours and is no ACK.
fn change(
    table: &mut SlcTable,
    defaults: &SlcTable,
    function: SlcFunction,
    his: SlcTriplet,
    reply: &mut Vec<u8>,
) {
    let code = function.code();
    let default = defaults.get(function);
    let his_flags = his.flags().difference(SlcFlags::ACK);
    let ack = SlcFlags::ACK.bits();
    match his.level() {
        SlcLevel::NoSupport => {
            table.set(
                function,
                SlcEntry::new(SlcLevel::NoSupport, his_flags, VDISABLE),
            );
            reply.extend_from_slice(&[code, his.modifier | ack, his.value]);
        }
        SlcLevel::Default => {
            // "Use your default": a function whose default is itself DEFAULT (no
            // character of our own) becomes NOSUPPORT rather than DEFAULT again.
            let entry = if default.level == SlcLevel::Default {
                SlcEntry::new(SlcLevel::NoSupport, default.flags, default.value)
            } else {
                default
            };
            table.set(function, entry);
            reply.extend_from_slice(&[code, entry.modifier(), entry.value]);
        }
        level @ (SlcLevel::Value | SlcLevel::CantChange) => {
            if matches!(default.level, SlcLevel::Value | SlcLevel::Default) {
                // We may change this character, or have none of our own: take his.
                table.set(function, SlcEntry::new(level, his_flags, his.value));
                reply.extend_from_slice(&[code, his.modifier | ack, his.value]);
            } else if level == SlcLevel::CantChange && default.level == SlcLevel::CantChange {
                // Neither end can change: degenerate to NOSUPPORT.
                let entry =
                    SlcEntry::new(SlcLevel::NoSupport, his_flags, table.get(function).value);
                table.set(function, entry);
                reply.extend_from_slice(&[
                    code,
                    SlcLevel::NoSupport.bits() | his_flags.bits(),
                    his.value,
                ]);
            } else {
                // Tell him our level; if CANTCHANGE, with our fixed character.
                let mut value = his.value;
                let mut entry = table.get(function);
                entry.level = default.level;
                entry.flags = his_flags;
                if default.level == SlcLevel::CantChange {
                    entry.value = default.value;
                    value = default.value;
                }
                table.set(function, entry);
                reply.extend_from_slice(&[code, default.level.bits() | his_flags.bits(), value]);
            }
        }
    }
}
