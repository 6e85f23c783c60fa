//! STATUS: requests and getters on [`Session`].

use crate::option::TelnetOption;
use crate::options::status::{report, StatusItem, Subcommand};
use crate::Session;

impl Session {
    /// Ask the peer for its view of the options (`IAC SB STATUS SEND IAC SE`). Returns
    /// false, sending nothing, unless the peer performs STATUS (RFC 859 section 5).
    pub fn request_status(&mut self) -> bool {
        let allowed = self.remote_enabled(TelnetOption::Status);
        if allowed {
            self.core
                .link
                .send_subnegotiation(TelnetOption::Status, &[Subcommand::Send.code()]);
        }
        allowed
    }

    /// The peer's last STATUS report, while it performs STATUS.
    #[must_use]
    pub fn peer_status(&self) -> Option<&[StatusItem]> {
        self.core.families.status.peer.as_deref()
    }

    /// Our own view of the options, as we would report it in `STATUS IS`.
    #[must_use]
    pub fn status_report(&self) -> Vec<StatusItem> {
        report(&self.core.link, &self.core.status_parameters())
    }
}
