//! TSPEED: requests and getters on [`Session`].

use crate::options::tspeed::TerminalSpeed;
use crate::Session;

impl Session {
    /// The speeds the peer last reported with TSPEED.
    #[must_use]
    pub fn peer_terminal_speed(&self) -> Option<TerminalSpeed> {
        self.core.families.tspeed.peer
    }
}
