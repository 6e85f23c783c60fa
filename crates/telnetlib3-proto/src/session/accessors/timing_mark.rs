//! TIMING-MARK: requests and getters on [`Session`].

use crate::command::Verb;
use crate::option::TelnetOption;
use crate::options::timing_mark::MAX_OUTSTANDING;
use crate::Session;

impl Session {
    /// Send `IAC DO TIMING-MARK`; the answer arrives as
    /// `Event::TimingMark(Event::Answered { .. })` once the peer has processed everything
    /// sent before it.
    pub fn send_timing_mark(&mut self) {
        let state = &mut self.core.families.timing_mark;
        state.outstanding = (state.outstanding + 1).min(MAX_OUTSTANDING);
        self.core.link.send_negotiation(Verb::Do, TelnetOption::Tm);
    }

    /// How many timing marks we sent that are not answered yet.
    #[must_use]
    pub fn timing_marks_outstanding(&self) -> u32 {
        self.core.families.timing_mark.outstanding
    }
}
