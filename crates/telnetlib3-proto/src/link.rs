//! The link layer below the option families: which end this is, each option's RFC 1143
//! state, and the outgoing queue with its encoder. The families queue their frames here;
//! the session above routes input to them.

use crate::command::Verb;
use crate::config::OptionSet;
use crate::encoder::{write_negotiation, write_subnegotiation, Encoder};
use crate::option::TelnetOption;
use crate::qmethod::{OptionState, QState, RequestError, SendVerb, Transition};

/// Which end of the connection a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that accepted the connection.
    Server,
    /// The end that opened the connection.
    Client,
}

/// Which side of an option: performed by us, or by the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// We perform the option (we sent WILL; telnetlib3's `local_option`).
    Local,
    /// The peer performs the option (he sent WILL; telnetlib3's `remote_option`).
    Remote,
}

impl Side {
    const fn verb(self, send: SendVerb) -> Verb {
        match (self, send) {
            (Self::Local, SendVerb::Enable) => Verb::Will,
            (Self::Local, SendVerb::Disable) => Verb::Wont,
            (Self::Remote, SendVerb::Enable) => Verb::Do,
            (Self::Remote, SendVerb::Disable) => Verb::Dont,
        }
    }
}
/// Every option's negotiation state. Only options that left the initial state (NO both
/// ways) have an entry: a session negotiates a dozen or so of the 256, and an idle
/// connection should not carry the rest (a short search beats 512 bytes per session).
#[derive(Clone, Debug, Default)]
pub(crate) struct OptionTable {
    /// Option codes with their state, in code order.
    pub(crate) entries: Vec<(u8, OptionState)>,
}

impl OptionTable {
    #[inline]
    pub(crate) fn get(&self, option: TelnetOption) -> OptionState {
        let code = option.code();
        self.entries
            .iter()
            .find(|(known, _)| *known == code)
            .map_or_else(OptionState::default, |&(_, state)| state)
    }

    pub(crate) fn get_mut(&mut self, option: TelnetOption) -> &mut OptionState {
        let code = option.code();
        let at = match self
            .entries
            .binary_search_by_key(&code, |&(known, _)| known)
        {
            Ok(at) => at,
            Err(at) => {
                // At most 256 entries, however hostile the peer.
                self.entries.insert(at, (code, OptionState::default()));
                at
            }
        };
        &mut self.entries[at].1
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &OptionState> {
        self.entries.iter().map(|(_, state)| state)
    }
}

/// The link layer: this end's role, every option's negotiation state and the outgoing
/// queue. The option families may use it; it knows none of them.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub(crate) role: Role,
    pub(crate) options: OptionTable,
    pub(crate) encoder: Encoder,
    pub(crate) output: Vec<u8>,
    /// A Synch is under way (RFC 854): data is discarded up to the next `IAC DM`.
    pub(crate) synch: bool,
    /// The offset in `output` of the DM of a Synch we send, to go as TCP urgent data.
    pub(crate) urgent: Option<usize>,
    /// How much of `output` holds frames only (an Abort Output discarded the data there).
    pub(crate) frames_only: usize,
    /// The bytes last handed over ended with a data CR still owed its NUL or LF, which is
    /// then the first byte of `output`.
    pub(crate) cr_handed_over: bool,
    /// How much of `output` the debug log has shown (frames we send are logged as they
    /// are queued).
    pub(crate) logged: usize,
    /// The options the peer asked to enable, whatever we answered: DO (index 0, our
    /// side) and WILL (index 1, its side). Never cleared.
    pub(crate) peer_asked: [OptionSet; 2],
    /// The options the peer sent any negotiation for since the application last cleared
    /// this: DO or DONT (index 0), WILL or WONT (index 1).
    pub(crate) peer_negotiated: [OptionSet; 2],
}

impl Link {
    /// The link at the start of a connection.
    pub(crate) fn new(role: Role) -> Self {
        Self {
            role,
            options: OptionTable::default(),
            encoder: Encoder::new(),
            output: Vec::new(),
            synch: false,
            urgent: None,
            frames_only: 0,
            cr_handed_over: false,
            logged: 0,
            peer_asked: [OptionSet::default(); 2],
            peer_negotiated: [OptionSet::default(); 2],
        }
    }

    /// A CR left pending by data must get its NUL before any command goes out.
    pub(crate) fn before_frame(&mut self) {
        self.encoder.flush_line_state(&mut self.output);
    }

    /// Queue `IAC <verb> <option>`.
    pub(crate) fn send_negotiation(&mut self, verb: Verb, option: TelnetOption) {
        self.before_frame();
        write_negotiation(&mut self.output, verb, option);
    }

    /// Queue a subnegotiation frame (payload escaped).
    pub(crate) fn send_subnegotiation(&mut self, option: TelnetOption, payload: &[u8]) {
        self.before_frame();
        write_subnegotiation(&mut self.output, option, payload);
    }

    /// Whether `option` is enabled on `side`.
    pub(crate) fn enabled(&self, option: TelnetOption, side: Side) -> bool {
        let state = self.options.get(option);
        match side {
            Side::Local => state.us.is_enabled(),
            Side::Remote => state.him.is_enabled(),
        }
    }

    pub(crate) fn state_mut(&mut self, side: Side, option: TelnetOption) -> &mut QState {
        let state = self.options.get_mut(option);
        match side {
            Side::Local => &mut state.us,
            Side::Remote => &mut state.him,
        }
    }

    /// Ask for `option` on `side` (RFC 1143 request).
    pub(crate) fn request(
        &mut self,
        side: Side,
        option: TelnetOption,
        enable: bool,
    ) -> Result<(), RequestError> {
        if option == TelnetOption::Tm {
            return Err(RequestError::NotNegotiable);
        }
        let state = *self.state_mut(side, option);
        let transition = if enable {
            state.request_enable()?
        } else {
            state.request_disable()?
        };
        self.apply(side, option, transition);
        Ok(())
    }

    /// Store a transition's state and queue what it sends. Returns the change, if any.
    pub(crate) fn apply(
        &mut self,
        side: Side,
        option: TelnetOption,
        transition: Transition,
    ) -> Option<bool> {
        *self.state_mut(side, option) = transition.state;
        if let Some(send) = transition.send {
            self.send_negotiation(side.verb(send), option);
        }
        transition.enabled_changed
    }
}
