//! LFLOW: requests and getters on [`Session`].

use crate::option::TelnetOption;
use crate::options::lflow::LflowCommand;
use crate::Session;

impl Session {
    /// Whether flow control is on: as last commanded by the peer if we perform LFLOW, or
    /// as we last set it.
    #[must_use]
    pub fn lineflow(&self) -> bool {
        self.core.families.lflow.lineflow(&self.core.config.lflow)
    }

    /// Whether any character restarts output (RESTART-ANY) rather than only XON.
    #[must_use]
    pub fn xon_any(&self) -> bool {
        self.core.families.lflow.xon_any(&self.core.config.lflow)
    }

    /// Turn flow control on or off, and command the peer (`ON` / `OFF`) if it performs
    /// LFLOW. Commands are sent even when unchanged, so that the peer can be resynced.
    pub fn set_lineflow(&mut self, on: bool) {
        self.core.families.lflow.lineflow = Some(on);
        self.send_lflow(LflowCommand::lineflow(on));
    }

    /// Set the restart mode, and command the peer (`RESTART-ANY` / `RESTART-XON`) if it
    /// performs LFLOW.
    pub fn set_xon_any(&mut self, any: bool) {
        self.core.families.lflow.xon_any = Some(any);
        self.send_lflow(LflowCommand::restart(any));
    }

    fn send_lflow(&mut self, command: LflowCommand) {
        if self.remote_enabled(TelnetOption::Lflow) {
            self.core
                .link
                .send_subnegotiation(TelnetOption::Lflow, &command.to_payload());
        }
    }
}
