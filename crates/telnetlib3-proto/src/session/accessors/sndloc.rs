//! SNDLOC: requests and getters on [`Session`].

use crate::Session;

impl Session {
    /// The location the peer reported with SNDLOC.
    #[must_use]
    pub fn peer_location(&self) -> Option<&str> {
        self.core.families.sndloc.peer.as_deref()
    }
}
