//! The probing client's option negotiation, as telnetlib3 5.0.1's client answers when its
//! fingerprint tool drives it.
//!
//! A fingerprint records which options the peer agreed to and which it refused, read
//! from telnetlib3's own per-option tables (`local_option`, `remote_option`, `pending`),
//! not from a Q-method state (RFC 1143). For a fingerprint taken here to hash the same as
//! telnetlib3's, this side must answer every request the way telnetlib3's client does and
//! keep the same tables; so this is a small model of exactly that, kept apart from the
//! library's Q-method session.
//!
//! One deliberate difference: telnetlib3's client answers DO ECHO with WONT ECHO and then
//! records ECHO as agreed (`handle_do` falls through to `return True`); here a refused
//! option is recorded as refused.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use telnetlib3_proto::{Command, Handler, TelnetOption, Verb, IAC};

use super::record::EXTENDED_OPTIONS;

pub(crate) const ECHO: u8 = 1;
const SGA: u8 = 3;
const STATUS: u8 = 5;
const TM: u8 = 6;
const LOGOUT: u8 = 18;
const SNDLOC: u8 = 23;
const TTYPE: u8 = 24;
const EOR: u8 = 25;
const NAWS: u8 = 31;
const TSPEED: u8 = 32;
const LFLOW: u8 = 33;
const LINEMODE: u8 = 34;
const XDISPLOC: u8 = 35;
const NEW_ENVIRON: u8 = 39;
const CHARSET: u8 = 42;
const COM_PORT: u8 = 44;
const MCCP2: u8 = 86;
const MCCP3: u8 = 87;
const MSSP: u8 = 70;
const SB: u8 = 250;
const SE: u8 = 240;

/// The MUD protocols telnetlib3's client declines unless told to accept them.
const MUD_PROTOCOLS: [u8; 8] = [201, 69, 70, 90, 91, 93, 102, 200];

/// How many bytes of application data one probe keeps (the banners); more is dropped.
pub(crate) const MAX_KEPT_DATA: usize = 1 << 20;

/// Which side telnetlib3's writer believes it is: the wrong-direction probe pretends to
/// be a server so that the peer's wrong-direction answers are recorded, not refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stance {
    Client,
    Server,
}

/// The probing client's tables and what it has to send.
#[derive(Debug)]
pub(crate) struct Negotiator {
    /// Options we perform: `Some(true)` agreed, `Some(false)` refused; absent: never
    /// settled (telnetlib3's `local_option`).
    pub local: BTreeMap<u8, bool>,
    /// Options the peer performs (telnetlib3's `remote_option`).
    pub remote: BTreeMap<u8, bool>,
    /// Requests sent and not yet answered: `(verb byte, option)`.
    pending: HashSet<(u8, u8)>,
    /// Options the peer offered or requested in the wrong direction, refused.
    pub directional_refusals: BTreeSet<u8>,
    pub stance: Stance,
    always_will: BTreeSet<u8>,
    always_do: BTreeSet<u8>,
    /// The terminal type answered to TTYPE SEND.
    terminal_type: String,
    /// Variables sent in every NEW-ENVIRON IS besides TERM (`--send-env`).
    pub send_env: Vec<(String, String)>,
    /// The raw payload of the last NEW-ENVIRON SEND, after the SEND byte.
    pub environ_send: Option<Vec<u8>>,
    /// The character set agreed through CHARSET (RFC 2066), as the peer named it.
    pub charset: Option<String>,
    /// MSSP variables (name to values), when the peer sent them.
    pub mssp: Option<BTreeMap<String, Vec<String>>>,
    /// Application data received, at most [`MAX_KEPT_DATA`] bytes.
    pub data: Vec<u8>,
    /// Bytes to send.
    pub output: Vec<u8>,
    /// Set when the peer's MCCP2 stream starts (everything after it is compressed).
    pub compression_started: bool,
}

impl Negotiator {
    pub(crate) fn new(terminal_type: &str, always_will: &[u8], always_do: &[u8]) -> Self {
        // The fingerprint tool adds every MUD protocol to both lists, so that the
        // peer's MUD subnegotiations are seen.
        let mut will: BTreeSet<u8> = EXTENDED_OPTIONS.into_iter().collect();
        will.extend(always_will);
        let mut do_: BTreeSet<u8> = EXTENDED_OPTIONS.into_iter().collect();
        do_.extend(always_do);
        Self {
            local: BTreeMap::new(),
            remote: BTreeMap::new(),
            pending: HashSet::new(),
            directional_refusals: BTreeSet::new(),
            stance: Stance::Client,
            always_will: will,
            always_do: do_,
            terminal_type: terminal_type.to_owned(),
            send_env: Vec::new(),
            environ_send: None,
            charset: None,
            mssp: None,
            data: Vec::new(),
            output: Vec::new(),
            compression_started: false,
        }
    }

    /// The opening: WILL and DO for each "always" option, as telnetlib3's client sends
    /// them at once.
    pub(crate) fn begin(&mut self) {
        let will: Vec<u8> = self.always_will.iter().copied().collect();
        let do_: Vec<u8> = self.always_do.iter().copied().collect();
        for option in will {
            self.request(Verb::Will, option);
        }
        for option in do_ {
            self.request(Verb::Do, option);
        }
    }

    /// Whether requests of ours are still unanswered.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Forget that `(verb, option)` was sent, so that it may be sent again.
    pub(crate) fn forget_pending(&mut self, verb: Verb, option: u8) {
        self.pending.remove(&(verb.code(), option));
    }

    /// Send a raw negotiation, outside the tables (the wrong-direction probe).
    pub(crate) fn send_raw(&mut self, verb: Verb, option: u8) {
        self.output.extend_from_slice(&[IAC, verb.code(), option]);
    }

    /// telnetlib3's `iac()`: send `verb option` unless the tables say it is redundant.
    pub(crate) fn request(&mut self, verb: Verb, option: u8) -> bool {
        let key = (verb.code(), option);
        if verb == Verb::Do && option != TM && option != LOGOUT && self.remote_enabled(option) {
            self.pending.remove(&key);
            return false;
        }
        if matches!(verb, Verb::Do | Verb::Will) {
            if self.pending.contains(&key) {
                return false;
            }
            self.pending.insert(key);
        }
        if verb == Verb::Will && option != TM && self.local_enabled(option) {
            self.pending.remove(&key);
            return false;
        }
        if verb == Verb::Dont && option != LOGOUT {
            if self.remote.get(&option) == Some(&false) {
                return false;
            }
            self.remote.insert(option, false);
        }
        if verb == Verb::Wont {
            self.local.insert(option, false);
        }
        self.send_raw(verb, option);
        true
    }

    pub(crate) fn local_enabled(&self, option: u8) -> bool {
        self.local.get(&option) == Some(&true)
    }

    pub(crate) fn remote_enabled(&self, option: u8) -> bool {
        self.remote.get(&option) == Some(&true)
    }

    fn subnegotiate(&mut self, option: u8, payload: &[u8]) {
        self.output.extend_from_slice(&[IAC, SB, option]);
        for &byte in payload {
            self.output.push(byte);
            if byte == IAC {
                self.output.push(IAC);
            }
        }
        self.output.extend_from_slice(&[IAC, SE]);
    }

    fn on_do(&mut self, option: u8) {
        let agreed = self.answer_do(option);
        if let Some(agreed) = agreed {
            self.local.insert(option, agreed);
        }
        self.pending.remove(&(Verb::Will.code(), option));
    }

    /// telnetlib3's client `handle_do`: `Some(agreed)`, or `None` where it records nothing.
    fn answer_do(&mut self, option: u8) -> Option<bool> {
        let client_side = [
            LINEMODE,
            TTYPE,
            NAWS,
            NEW_ENVIRON,
            XDISPLOC,
            LFLOW,
            TSPEED,
            SNDLOC,
        ];
        match option {
            ECHO if self.stance == Stance::Client => {
                self.request(Verb::Wont, ECHO);
                Some(false)
            }
            _ if self.stance == Stance::Server && client_side.contains(&option) => {
                self.request(Verb::Wont, option);
                self.directional_refusals.insert(option);
                Some(false)
            }
            LOGOUT => None,
            TM => {
                self.send_raw(Verb::Will, TM);
                Some(true)
            }
            ECHO | LINEMODE | 0 | SGA | LFLOW | EOR | TTYPE | NEW_ENVIRON | XDISPLOC | TSPEED
            | CHARSET | NAWS | STATUS | MCCP2 => {
                if !self.local_enabled(option) {
                    self.request(Verb::Will, option);
                }
                match option {
                    // RFC 1073: the size follows the agreement; telnetlib3 reports 80x25.
                    NAWS => self.subnegotiate(NAWS, &[0, 80, 0, 25]),
                    // RFC 859: IS, then nothing else we track.
                    STATUS => self.subnegotiate(STATUS, &[0]),
                    _ => {}
                }
                Some(true)
            }
            // A MUD protocol not in always_will is declined (the catch-all below);
            // one in it is agreed, as any other always_will option.
            _ if self.always_will.contains(&option) => {
                if !self.local_enabled(option) {
                    self.request(Verb::Will, option);
                }
                Some(true)
            }
            _ => {
                if !self.local_enabled(option) {
                    self.request(Verb::Wont, option);
                }
                Some(false)
            }
        }
    }

    /// telnetlib3's client `handle_will`.
    fn on_will(&mut self, option: u8) {
        let accepted_both = [
            0, SGA, ECHO, NAWS, LINEMODE, EOR, SNDLOC, COM_PORT, MCCP2, MCCP3,
        ];
        let client_refuses = [NAWS, LINEMODE, SNDLOC];
        if accepted_both.contains(&option) || MUD_PROTOCOLS.contains(&option) {
            if self.stance == Stance::Client && client_refuses.contains(&option) {
                self.request(Verb::Dont, option);
                self.directional_refusals.insert(option);
            } else if self.stance == Stance::Client && MUD_PROTOCOLS.contains(&option) {
                if self.always_do.contains(&option) {
                    self.accept_will(option);
                } else {
                    self.request(Verb::Dont, option);
                }
            } else {
                self.accept_will(option);
            }
        } else if option == TM {
            if self.pending.contains(&(Verb::Do.code(), TM)) {
                self.remote.insert(TM, true);
            }
        } else if option == LOGOUT {
        } else if option == STATUS {
            self.remote.insert(STATUS, true);
            // RFC 859: ask for the peer's view of the options.
            self.subnegotiate(STATUS, &[1]);
        } else if [XDISPLOC, TTYPE, TSPEED, NEW_ENVIRON, LFLOW, CHARSET].contains(&option) {
            if self.stance == Stance::Client && option != CHARSET {
                self.request(Verb::Dont, option);
                self.directional_refusals.insert(option);
            } else {
                if option == CHARSET {
                    self.request(Verb::Do, CHARSET);
                }
                self.remote.insert(option, true);
                if self.stance == Stance::Server && option != CHARSET {
                    // telnetlib3 asks at once for what was offered (SEND is 1).
                    self.subnegotiate(option, &[1]);
                }
            }
        } else if self.always_do.contains(&option) {
            self.accept_will(option);
        } else {
            self.request(Verb::Dont, option);
        }
        self.pending.remove(&(Verb::Do.code(), option));
        self.pending.remove(&(Verb::Dont.code(), option));
    }

    fn accept_will(&mut self, option: u8) {
        if !self.remote_enabled(option) {
            self.request(Verb::Do, option);
            self.remote.insert(option, true);
        }
    }

    fn on_subnegotiation(&mut self, option: u8, payload: &[u8]) {
        match (option, payload.first()) {
            // RFC 1091: SEND (1) is answered with IS (0) and the terminal type.
            (TTYPE, Some(1)) => {
                let mut reply = vec![0];
                reply.extend_from_slice(self.terminal_type.as_bytes());
                self.subnegotiate(TTYPE, &reply);
            }
            // RFC 1572: SEND (1); the answer is IS (0) with our terminal type only.
            (NEW_ENVIRON, Some(1)) => {
                self.environ_send = Some(payload[1..].to_vec());
                let mut reply = vec![0];
                let term = ("TERM".to_owned(), self.terminal_type.clone());
                for (name, value) in std::iter::once(&term).chain(&self.send_env) {
                    // RFC 1572: the well-known names go as VAR (0), others as USERVAR
                    // (3); VAR, VALUE, ESC and USERVAR bytes inside are escaped by ESC.
                    let well_known = ["USER", "JOB", "ACCT", "PRINTER", "SYSTEMTYPE", "DISPLAY"];
                    let kind = if name == "TERM" || well_known.contains(&name.as_str()) {
                        0
                    } else {
                        3
                    };
                    reply.push(kind);
                    push_environ_escaped(&mut reply, name.as_bytes());
                    reply.push(1);
                    push_environ_escaped(&mut reply, value.as_bytes());
                }
                self.subnegotiate(NEW_ENVIRON, &reply);
            }
            // RFC 1079: SEND (1) is answered IS (0) "38400,38400".
            (TSPEED, Some(1)) => {
                let mut reply = vec![0];
                reply.extend_from_slice(b"38400,38400");
                self.subnegotiate(TSPEED, &reply);
            }
            // RFC 1096: SEND (1) is answered IS (0) with no display (telnetlib3's default).
            (XDISPLOC, Some(1)) => self.subnegotiate(XDISPLOC, &[0]),
            // RFC 2066: REQUEST (1) [TTABLE] <sep> names...; we accept UTF-8 when offered.
            (CHARSET, Some(1)) => self.answer_charset(&payload[1..]),
            (MCCP2, _) => self.compression_started = true,
            (MSSP, _) => self.mssp = Some(parse_mssp(payload)),
            _ => {}
        }
    }

    fn answer_charset(&mut self, offer: &[u8]) {
        let offer = offer.strip_prefix(b"[TTABLE]\x01").unwrap_or(offer);
        let Some((&separator, names)) = offer.split_first() else {
            self.subnegotiate(CHARSET, &[3]);
            return;
        };
        let chosen = names
            .split(|&byte| byte == separator)
            .map(String::from_utf8_lossy)
            .find(|name| {
                let lower = name.to_ascii_lowercase();
                lower == "utf-8" || lower == "utf8"
            });
        match chosen {
            Some(name) => {
                let mut reply = vec![2];
                reply.extend_from_slice(name.as_bytes());
                self.subnegotiate(CHARSET, &reply);
                self.charset = Some(name.into_owned());
            }
            None => self.subnegotiate(CHARSET, &[3]),
        }
    }
}

/// `text` into a NEW-ENVIRON IS, its bytes 0 to 3 escaped with ESC (2), RFC 1572.
fn push_environ_escaped(out: &mut Vec<u8>, text: &[u8]) {
    for &byte in text {
        if byte <= 3 {
            out.push(2);
        }
        out.push(byte);
    }
}

/// MSSP (`VAR name VAL value ...`, VAR 1, VAL 2) as a map of names to their values.
fn parse_mssp(payload: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut variables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut name: Option<String> = None;
    let mut rest = payload;
    while let Some((&kind, tail)) = rest.split_first() {
        let end = tail
            .iter()
            .position(|&b| b == 1 || b == 2)
            .unwrap_or(tail.len());
        let text = String::from_utf8_lossy(&tail[..end]).into_owned();
        match kind {
            1 => {
                variables.entry(text.clone()).or_default();
                name = Some(text);
            }
            2 => {
                if let Some(name) = &name {
                    variables.entry(name.clone()).or_default().push(text);
                }
            }
            _ => {}
        }
        rest = &tail[end..];
    }
    variables
}

impl Handler for Negotiator {
    fn data(&mut self, data: &[u8]) {
        let room = MAX_KEPT_DATA.saturating_sub(self.data.len());
        self.data.extend_from_slice(&data[..data.len().min(room)]);
    }

    fn command(&mut self, _command: Command) {}

    fn negotiation(&mut self, verb: Verb, option: TelnetOption) {
        let option = option.code();
        match verb {
            Verb::Do => self.on_do(option),
            Verb::Dont => {
                self.pending.remove(&(Verb::Will.code(), option));
                self.local.insert(option, false);
            }
            Verb::Will => self.on_will(option),
            Verb::Wont => {
                if option != LOGOUT {
                    self.remote.insert(option, false);
                }
                self.pending.remove(&(Verb::Do.code(), option));
            }
        }
    }

    fn subnegotiation(&mut self, option: TelnetOption, payload: &[u8]) {
        self.on_subnegotiation(option.code(), payload);
    }

    fn paused(&self) -> bool {
        self.compression_started
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telnetlib3_proto::Parser;

    fn feed(negotiator: &mut Negotiator, bytes: &[u8]) {
        Parser::new().advance(negotiator, bytes);
    }

    #[test]
    fn opening_offers_and_requests_the_mud_protocols() {
        let mut negotiator = Negotiator::new("VT100", &[], &[]);
        negotiator.begin();
        assert_eq!(negotiator.output.len(), 2 * 3 * EXTENDED_OPTIONS.len());
        assert_eq!(&negotiator.output[..3], &[IAC, 251, 69]);
    }

    #[test]
    fn answers_as_telnetlib3s_client() {
        let mut negotiator = Negotiator::new("VT100", &[], &[]);
        // DO TTYPE, DO ECHO, DO 0x63 (unknown), WILL NAWS (wrong direction), WILL SGA.
        feed(
            &mut negotiator,
            &[
                IAC, 253, 24, IAC, 253, 1, IAC, 253, 99, IAC, 251, 31, IAC, 251, 3,
            ],
        );
        assert_eq!(
            negotiator.output,
            [IAC, 251, 24, IAC, 252, 1, IAC, 252, 99, IAC, 254, 31, IAC, 253, 3]
        );
        assert!(negotiator.local_enabled(TTYPE));
        assert_eq!(negotiator.local.get(&ECHO), Some(&false));
        assert_eq!(negotiator.local.get(&99), Some(&false));
        assert_eq!(negotiator.remote.get(&NAWS), Some(&false));
        assert!(negotiator.directional_refusals.contains(&NAWS));
        assert!(negotiator.remote_enabled(SGA));
    }

    #[test]
    fn answers_terminal_type_and_utf8_charset() {
        let mut negotiator = Negotiator::new("xterm", &[], &[]);
        feed(&mut negotiator, &[IAC, SB, TTYPE, 1, IAC, SE]);
        feed(&mut negotiator, b"\xff\xfa\x2a\x01 LATIN1 UTF-8\xff\xf0");
        assert_eq!(
            negotiator.output,
            b"\xff\xfa\x18\x00xterm\xff\xf0\xff\xfa\x2a\x02UTF-8\xff\xf0"
        );
        assert_eq!(negotiator.charset.as_deref(), Some("UTF-8"));
    }

    #[test]
    fn environ_is_answered_with_term_and_the_values_given() {
        let mut negotiator = Negotiator::new("VT100", &[], &[]);
        negotiator.send_env = vec![("USER".into(), "me".into()), ("K".into(), "a\x01b".into())];
        feed(&mut negotiator, &[IAC, SB, NEW_ENVIRON, 1, IAC, SE]);
        assert_eq!(
            negotiator.output,
            b"\xff\xfa\x27\x00\x00TERM\x01VT100\x00USER\x01me\x03K\x01a\x02\x01b\xff\xf0"
        );
        assert_eq!(negotiator.environ_send.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn mssp_is_parsed_into_lists() {
        let map = parse_mssp(b"\x01NAME\x02Mud\x01PORT\x024000\x025000");
        assert_eq!(map["NAME"], vec!["Mud"]);
        assert_eq!(map["PORT"], vec!["4000", "5000"]);
    }
}
