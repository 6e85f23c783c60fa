//! TTYPE: requests and getters on [`Session`].

use crate::Session;

impl Session {
    /// Server: every terminal type the client reported in the current cycle, in order
    /// (telnetlib3's `ttype1`, `ttype2`, ...), including the repeat that ended it.
    #[must_use]
    pub fn terminal_types(&self) -> &[String] {
        &self.core.families.ttype.types
    }

    /// Server: the terminal type chosen from the replies (telnetlib3's `TERM`): the
    /// latest non-empty one, or the second one when the third is an MTTS bit vector.
    #[must_use]
    pub fn terminal_type(&self) -> Option<&str> {
        self.core.families.ttype.term.as_deref()
    }

    /// Server: whether the TTYPE cycle has ended (looped, repeated, empty reply, MTTS,
    /// or the loop limit).
    #[must_use]
    pub fn ttype_cycle_complete(&self) -> bool {
        self.core.families.ttype.complete
    }

    /// Server: whether our `SB TTYPE SEND` awaits its IS (telnetlib3's pending
    /// `SB TTYPE`, which holds back the end of a server's negotiation).
    #[must_use]
    pub fn ttype_pending(&self) -> bool {
        self.core.families.ttype.awaiting
    }
}
