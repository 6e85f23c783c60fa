//! RFC 1143 "Q method" option negotiation, as pure state transitions.
//!
//! Each option has two independent sides: whether *we* perform it (`us`, negotiated with
//! WILL/WONT sent and DO/DONT received) and whether *he*, the peer, performs it (`him`,
//! DO/DONT sent and WILL/WONT received). RFC 1143 section 7 gives each side four states
//! and a one-bit queue, which exists only while a request is in flight:
//!
//! ```text
//! NO       the option is disabled
//! YES      the option is enabled
//! WANTNO   we sent DONT/WONT and wait for the answer
//! WANTYES  we sent DO/WILL and wait for the answer
//! queue    EMPTY, or OPPOSITE: once the answer comes, ask for the opposite
//! ```
//!
//! Because a request is never sent while one is outstanding, and an answer is sent only
//! on a change of state, negotiation cannot loop, whatever the peer does.
//!
//! The functions here return what to send and what changed; they never do I/O. One set
//! serves both sides: "enable" is WILL (for `him`) or DO (for `us`), "disable" WONT or DONT.

/// The queue bit of RFC 1143: what to ask for once the outstanding request is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Queue {
    /// Nothing more to ask.
    #[default]
    Empty,
    /// Ask for the opposite of the outstanding request.
    Opposite,
}

/// One side of one option's negotiation state (RFC 1143 section 7).
///
/// Transitions are pure: each returns the next state and what to send.
///
/// ```
/// use telnetlib3_proto::{QState, Queue, SendVerb};
///
/// // We ask to enable: send DO (or WILL) and wait.
/// let asked = QState::No.request_enable().unwrap();
/// assert_eq!(asked.state, QState::WantYes(Queue::Empty));
/// assert_eq!(asked.send, Some(SendVerb::Enable));
/// // The peer agrees: enabled, and nothing more is sent (no answer to an answer).
/// let agreed = asked.state.receive_enable(true);
/// assert_eq!(agreed.state, QState::Yes);
/// assert_eq!(agreed.send, None);
/// assert_eq!(agreed.enabled_changed, Some(true));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum QState {
    /// Disabled.
    #[doc(alias = "NO")]
    #[default]
    No,
    /// Enabled.
    #[doc(alias = "YES")]
    Yes,
    /// We asked to disable and wait for the answer.
    #[doc(alias = "WANTNO")]
    WantNo(Queue),
    /// We asked to enable and wait for the answer.
    #[doc(alias = "WANTYES")]
    WantYes(Queue),
}

/// What to send to the peer as the result of a transition.
///
/// Named `SendVerb`, not `Send`, so that `use telnetlib3_proto::*` does not shadow the
/// `Send` marker trait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendVerb {
    /// Send the enabling verb: DO (for `him`) or WILL (for `us`).
    Enable,
    /// Send the disabling verb: DONT (for `him`) or WONT (for `us`).
    Disable,
}

/// The result of one transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub struct Transition {
    /// The state after the transition.
    pub state: QState,
    /// What to send, if anything.
    pub send: Option<SendVerb>,
    /// Whether the option's enabled state changed, and to what.
    pub enabled_changed: Option<bool>,
    /// The peer broke RFC 1143 ("DONT answered by WILL"); we recovered as section 7 says.
    pub violation: bool,
}

/// A local request that RFC 1143 section 7 calls an error: nothing is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The option is already enabled.
    #[error("option already enabled")]
    AlreadyEnabled,
    /// The option is already disabled.
    #[error("option already disabled")]
    AlreadyDisabled,
    /// A request to enable is already outstanding.
    #[error("already negotiating to enable the option")]
    AlreadyNegotiatingEnable,
    /// A request to disable is already outstanding.
    #[error("already negotiating to disable the option")]
    AlreadyNegotiatingDisable,
    /// An enable is already queued behind the outstanding disable.
    #[error("enable already queued")]
    AlreadyQueuedEnable,
    /// A disable is already queued behind the outstanding enable.
    #[error("disable already queued")]
    AlreadyQueuedDisable,
    /// The option is not negotiated as a state (TIMING-MARK): use its own method.
    #[error("option is not negotiated with RFC 1143; use its own method")]
    NotNegotiable,
}

impl QState {
    /// Whether the option is enabled on this side (only in YES).
    #[must_use]
    pub const fn is_enabled(self) -> bool {
        matches!(self, Self::Yes)
    }

    /// Whether a request of ours awaits its answer.
    #[must_use]
    pub const fn is_pending(self) -> bool {
        matches!(self, Self::WantNo(_) | Self::WantYes(_))
    }

    fn to(self, state: Self, send: Option<SendVerb>, violation: bool) -> Transition {
        let enabled_changed =
            (self.is_enabled() != state.is_enabled()).then_some(state.is_enabled());
        Transition {
            state,
            send,
            enabled_changed,
            violation,
        }
    }

    /// Receipt of the enabling verb (WILL for `him`, DO for `us`); `accept` says whether
    /// our policy agrees to the option.
    pub fn receive_enable(self, accept: bool) -> Transition {
        use Queue::{Empty, Opposite};
        match self {
            Self::No if accept => self.to(Self::Yes, Some(SendVerb::Enable), false),
            Self::No => self.to(Self::No, Some(SendVerb::Disable), false),
            Self::Yes => self.to(Self::Yes, None, false),
            // "Error: DONT answered by WILL." RFC 1143 chooses not to send more to a peer
            // that is evidently not compliant.
            Self::WantNo(Empty) => self.to(Self::No, None, true),
            Self::WantNo(Opposite) => self.to(Self::Yes, None, true),
            Self::WantYes(Empty) => self.to(Self::Yes, None, false),
            Self::WantYes(Opposite) => self.to(Self::WantNo(Empty), Some(SendVerb::Disable), false),
        }
    }

    /// Receipt of the disabling verb (WONT for `him`, DONT for `us`).
    pub fn receive_disable(self) -> Transition {
        use Queue::{Empty, Opposite};
        match self {
            Self::No => self.to(Self::No, None, false),
            Self::Yes => self.to(Self::No, Some(SendVerb::Disable), false),
            Self::WantNo(Empty) => self.to(Self::No, None, false),
            Self::WantNo(Opposite) => self.to(Self::WantYes(Empty), Some(SendVerb::Enable), false),
            Self::WantYes(Empty) | Self::WantYes(Opposite) => self.to(Self::No, None, false),
        }
    }

    /// Our own request to enable the option on this side.
    ///
    /// # Errors
    ///
    /// The cases RFC 1143 section 7 marks "Error": nothing is sent and the state stays.
    pub fn request_enable(self) -> Result<Transition, RequestError> {
        use Queue::{Empty, Opposite};
        match self {
            Self::No => Ok(self.to(Self::WantYes(Empty), Some(SendVerb::Enable), false)),
            Self::Yes => Err(RequestError::AlreadyEnabled),
            Self::WantNo(Empty) => Ok(self.to(Self::WantNo(Opposite), None, false)),
            Self::WantNo(Opposite) => Err(RequestError::AlreadyQueuedEnable),
            Self::WantYes(Empty) => Err(RequestError::AlreadyNegotiatingEnable),
            Self::WantYes(Opposite) => Ok(self.to(Self::WantYes(Empty), None, false)),
        }
    }

    /// Our own request to disable the option on this side.
    ///
    /// # Errors
    ///
    /// The cases RFC 1143 section 7 marks "Error": nothing is sent and the state stays.
    pub fn request_disable(self) -> Result<Transition, RequestError> {
        use Queue::{Empty, Opposite};
        match self {
            Self::No => Err(RequestError::AlreadyDisabled),
            Self::Yes => Ok(self.to(Self::WantNo(Empty), Some(SendVerb::Disable), false)),
            Self::WantNo(Empty) => Err(RequestError::AlreadyNegotiatingDisable),
            Self::WantNo(Opposite) => Ok(self.to(Self::WantNo(Empty), None, false)),
            Self::WantYes(Empty) => Ok(self.to(Self::WantYes(Opposite), None, false)),
            Self::WantYes(Opposite) => Err(RequestError::AlreadyQueuedDisable),
        }
    }
}

/// Both sides of one option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OptionState {
    /// Whether we perform the option (WILL/WONT sent, DO/DONT received).
    pub us: QState,
    /// Whether the peer performs the option (DO/DONT sent, WILL/WONT received).
    pub him: QState,
}

#[cfg(test)]
mod tests {
    use super::QState::{No, WantNo, WantYes, Yes};
    use super::Queue::{Empty, Opposite};
    use super::*;

    /// RFC 1143 section 7, "Upon receipt of WILL" (and, symmetrically, DO), in the RFC's
    /// order: (state, we agree, next state, send, violation).
    const RECEIVE_ENABLE: [(QState, bool, QState, Option<SendVerb>, bool); 7] = [
        (No, true, Yes, Some(SendVerb::Enable), false),
        (No, false, No, Some(SendVerb::Disable), false),
        (Yes, true, Yes, None, false),
        (WantNo(Empty), true, No, None, true),
        (WantNo(Opposite), true, Yes, None, true),
        (WantYes(Empty), true, Yes, None, false),
        (
            WantYes(Opposite),
            true,
            WantNo(Empty),
            Some(SendVerb::Disable),
            false,
        ),
    ];

    /// "Upon receipt of WONT" (and DONT).
    const RECEIVE_DISABLE: [(QState, QState, Option<SendVerb>); 6] = [
        (No, No, None),
        (Yes, No, Some(SendVerb::Disable)),
        (WantNo(Empty), No, None),
        (WantNo(Opposite), WantYes(Empty), Some(SendVerb::Enable)),
        (WantYes(Empty), No, None),
        (WantYes(Opposite), No, None),
    ];

    type RequestRow = (QState, Result<(QState, Option<SendVerb>), RequestError>);

    /// "If we decide to ask him to enable".
    const REQUEST_ENABLE: [RequestRow; 6] = [
        (No, Ok((WantYes(Empty), Some(SendVerb::Enable)))),
        (Yes, Err(RequestError::AlreadyEnabled)),
        (WantNo(Empty), Ok((WantNo(Opposite), None))),
        (WantNo(Opposite), Err(RequestError::AlreadyQueuedEnable)),
        (WantYes(Empty), Err(RequestError::AlreadyNegotiatingEnable)),
        (WantYes(Opposite), Ok((WantYes(Empty), None))),
    ];

    /// "If we decide to ask him to disable".
    const REQUEST_DISABLE: [RequestRow; 6] = [
        (No, Err(RequestError::AlreadyDisabled)),
        (Yes, Ok((WantNo(Empty), Some(SendVerb::Disable)))),
        (WantNo(Empty), Err(RequestError::AlreadyNegotiatingDisable)),
        (WantNo(Opposite), Ok((WantNo(Empty), None))),
        (WantYes(Empty), Ok((WantYes(Opposite), None))),
        (WantYes(Opposite), Err(RequestError::AlreadyQueuedDisable)),
    ];

    #[test]
    fn receive_enable_table() {
        for (from, accept, to, send, violation) in RECEIVE_ENABLE {
            let t = from.receive_enable(accept);
            assert_eq!(
                (t.state, t.send, t.violation),
                (to, send, violation),
                "{from:?}"
            );
            assert_eq!(
                t.enabled_changed,
                (from.is_enabled() != to.is_enabled()).then_some(to.is_enabled())
            );
        }
    }

    #[test]
    fn receive_disable_table() {
        for (from, to, send) in RECEIVE_DISABLE {
            let t = from.receive_disable();
            assert_eq!(
                (t.state, t.send, t.violation),
                (to, send, false),
                "{from:?}"
            );
        }
    }

    #[test]
    fn request_tables() {
        for (from, expected) in REQUEST_ENABLE {
            let got = from.request_enable().map(|t| (t.state, t.send));
            assert_eq!(got, expected, "enable from {from:?}");
        }
        for (from, expected) in REQUEST_DISABLE {
            let got = from.request_disable().map(|t| (t.state, t.send));
            assert_eq!(got, expected, "disable from {from:?}");
        }
    }

    #[test]
    fn yes_to_wantno_reports_disabled_at_once() {
        let t = Yes.request_disable().unwrap();
        assert_eq!(t.enabled_changed, Some(false));
    }
}
