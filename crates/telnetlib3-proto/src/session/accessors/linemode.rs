//! LINEMODE: requests and getters on [`Session`].

use crate::link::Role;
use crate::option::TelnetOption;
use crate::options::linemode::{
    linemode_side, send_forwardmask, ForwardMask, ModeMask, SlcEntry, SlcFunction, SlcLevel,
    SlcTable, SlcTriplet, LM_MODE, LM_SLC,
};
use crate::Session;

impl Session {
    /// The LINEMODE mode in force (without MODE_ACK): `None` while LINEMODE is off, the
    /// empty mask ([`ModeMask::REMOTE`]) from the moment it is negotiated (RFC 1184 section
    /// 3) until the peers agree on another.
    #[must_use]
    pub fn linemode_mode(&self) -> Option<ModeMask> {
        self.core.families.linemode.mode
    }

    /// Our SLC table: `slc_table().iter()` gives each function with its level, flags
    /// and character.
    #[must_use]
    pub fn slc_table(&self) -> &SlcTable {
        let linemode = &self.core.families.linemode;
        linemode
            .table
            .as_deref()
            .unwrap_or(&self.core.config.linemode.slc_defaults)
    }

    /// The SLC triplets the peer sent, in arrival order, as they were on the wire (the
    /// first [`MAX_PEER_SLC`](crate::options::linemode::MAX_PEER_SLC); later ones are
    /// applied but not kept).
    #[must_use]
    pub fn peer_slc_triplets(&self) -> &[SlcTriplet] {
        &self.core.families.linemode.peer_slc
    }

    /// Client: the forward mask the server asked for; server: the one we sent.
    #[must_use]
    pub fn forwardmask(&self) -> Option<ForwardMask> {
        self.core.families.linemode.forwardmask
    }

    /// Server: whether the client agreed to the forward mask (`WILL FORWARDMASK`);
    /// client: whether we did. `None` before any answer.
    #[must_use]
    pub fn forwardmask_agreed(&self) -> Option<bool> {
        self.core.families.linemode.forwarding
    }

    /// Ask for a new LINEMODE mode (MODE_ACK is ignored). A server sends `MODE` and
    /// the mode takes effect when the client acknowledges it; a client takes the mode at
    /// once and announces it (the server then acknowledges). Returns whether a MODE was
    /// sent: not when LINEMODE is off, nor when `mode` is already in force with no
    /// proposal outstanding (the peer would ignore it).
    pub fn set_linemode_mode(&mut self, mode: ModeMask) -> bool {
        let role = self.role();
        if !self
            .core
            .link
            .enabled(TelnetOption::Linemode, linemode_side(role))
        {
            return false;
        }
        let mode = mode.without_ack();
        let state = &mut self.core.families.linemode;
        if state.mode == Some(mode) && state.proposed.is_none() {
            return false;
        }
        match role {
            Role::Server => state.proposed = Some(mode),
            Role::Client => state.mode = Some(mode),
        }
        self.core
            .link
            .send_subnegotiation(TelnetOption::Linemode, &[LM_MODE, mode.bits()]);
        true
    }

    /// Change one SLC function in our table (keeping its flush flags) and, when LINEMODE
    /// is on, tell the peer with `SLC function level value`; it answers by RFC 1184's
    /// rules. The data scan follows the new table at once.
    pub fn set_slc(&mut self, function: SlcFunction, level: SlcLevel, value: u8) {
        let defaults = self.core.config.linemode.slc_defaults;
        let state = &mut self.core.families.linemode;
        let table = state.table_mut(&defaults);
        let entry = SlcEntry::new(level, table.get(function).flags, value);
        table.set(function, entry);
        state.table_changed();
        if self
            .core
            .link
            .enabled(TelnetOption::Linemode, linemode_side(self.role()))
        {
            let payload = [LM_SLC, function.code(), entry.modifier(), entry.value];
            self.core
                .link
                .send_subnegotiation(TelnetOption::Linemode, &payload);
        }
    }

    /// Server: send `DO FORWARDMASK` with the characters of our SLC table now (16 octets,
    /// or 32 when the client transmits in BINARY). Returns false when LINEMODE is off or
    /// this is a client.
    pub fn request_forwardmask(&mut self) -> bool {
        if self.role() != Role::Server {
            return false;
        }
        let core = &mut self.core;
        let state = &mut core.families.linemode;
        send_forwardmask(state, &core.config.linemode, &mut core.link, true)
    }
}
