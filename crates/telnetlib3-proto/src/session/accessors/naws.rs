//! NAWS: requests and getters on [`Session`].

use crate::option::TelnetOption;
use crate::options::naws::WindowSize;
use crate::Session;

impl Session {
    /// The window size the peer last reported with NAWS.
    #[must_use]
    pub fn peer_window_size(&self) -> Option<WindowSize> {
        self.core.families.naws.peer
    }

    /// Change the window size we report, and send it if we perform NAWS.
    pub fn set_window_size(&mut self, size: WindowSize) {
        self.core.config_mut().naws.size = size;
        if self.local_enabled(TelnetOption::Naws) {
            self.core
                .link
                .send_subnegotiation(TelnetOption::Naws, &size.to_payload());
        }
    }
}
