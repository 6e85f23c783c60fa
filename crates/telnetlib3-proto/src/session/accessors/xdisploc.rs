//! XDISPLOC: requests and getters on [`Session`].

use crate::Session;

impl Session {
    /// The X display location the peer reported.
    #[must_use]
    pub fn peer_x_display(&self) -> Option<&str> {
        self.core.families.xdisploc.peer.as_deref()
    }
}
