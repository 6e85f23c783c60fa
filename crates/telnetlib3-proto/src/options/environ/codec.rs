//! The NEW-ENVIRON / ENVIRON subnegotiation codec: pure functions over payloads.
//!
//! A payload is `<command> <body>`; the body is a sequence of "type" markers (VAR,
//! USERVAR), VALUE markers and text, where the four marker bytes inside a name or value
//! travel as `ESC <byte>` (RFC 1572 section 2, the paragraph after the IS format).

use std::borrow::Cow;
use std::fmt;

use crate::family::SubnegotiationError;

/// VAR (RFC 1572 section 1).
pub(super) const VAR: u8 = 0;
/// VALUE (RFC 1572 section 1).
pub(super) const VALUE: u8 = 1;
/// ESC (RFC 1572 section 1).
pub(super) const ESC: u8 = 2;
/// USERVAR (RFC 1572 section 1).
pub(super) const USERVAR: u8 = 3;

/// The variables RFC 1572 section 5 (and RFC 1408 section 5) call well known: RFC 1571
/// section 3 uses them as the last hint about which codes an ENVIRON peer uses.
const WELL_KNOWN: [&[u8]; 6] = [
    b"USER",
    b"JOB",
    b"ACCT",
    b"PRINTER",
    b"SYSTEMTYPE",
    b"DISPLAY",
];

/// The first byte of a NEW-ENVIRON or ENVIRON subnegotiation (RFC 1572 section 1, RFC
/// 1408 section 1: the codes are the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// `IS` (0): the variables, in answer to a SEND.
    Is,
    /// `SEND` (1): a request for variables.
    Send,
    /// `INFO` (2): variables that changed since the IS, sent unprompted.
    Info,
}

impl Command {
    /// The command's code on the wire.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Is => 0,
            Self::Send => 1,
            Self::Info => 2,
        }
    }

    /// The command with this code, if any.
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Is),
            1 => Some(Self::Send),
            2 => Some(Self::Info),
            _ => None,
        }
    }
}

/// Whether a variable is well known (`VAR`) or user defined (`USERVAR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `VAR`: a well-known variable (RFC 1572 section 5 lists USER, JOB, ACCT, PRINTER,
    /// SYSTEMTYPE and DISPLAY; in practice TERM, LANG and others travel as VAR too).
    Var,
    /// `USERVAR`: a user-defined variable.
    UserVar,
}

/// Which byte codes the peer uses for VAR and VALUE.
///
/// RFC 1571 section 1: the BSD reference implementation of ENVIRON swapped the VAR (0)
/// and VALUE (1) codes of RFC 1408, and many implementations followed it. NEW-ENVIRON
/// (RFC 1572) exists to end the confusion, so it always uses [`Layout::Standard`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Layout {
    /// VAR = 0, VALUE = 1, as RFC 1408 and RFC 1572 define them.
    #[default]
    Standard,
    /// VAR = 1, VALUE = 0, as the BSD ENVIRON implementation sends them.
    Reversed,
}

impl Layout {
    const fn var_code(self) -> u8 {
        match self {
            Self::Standard => VAR,
            Self::Reversed => VALUE,
        }
    }

    const fn value_code(self) -> u8 {
        match self {
            Self::Standard => VALUE,
            Self::Reversed => VAR,
        }
    }
}

/// One environment variable as sent in an IS or INFO.
///
/// Names and values are bytes: the RFC says nothing of their encoding. Use
/// [`Variable::name_lossy`] and [`Variable::value_lossy`] to display them.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Variable {
    /// VAR or USERVAR.
    pub kind: Kind,
    /// The name, unescaped.
    pub name: Vec<u8>,
    /// The value, unescaped. `None`: no VALUE was sent, the variable is undefined;
    /// `Some` of an empty vector: defined, with an empty value (RFC 1572 section 2).
    pub value: Option<Vec<u8>>,
}

impl Variable {
    /// A defined variable.
    #[must_use]
    pub fn defined(kind: Kind, name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            kind,
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// An undefined variable (a type and a name, no VALUE).
    #[must_use]
    pub fn undefined(kind: Kind, name: impl Into<Vec<u8>>) -> Self {
        Self {
            kind,
            name: name.into(),
            value: None,
        }
    }

    /// The name as text, invalid UTF-8 replaced.
    #[must_use]
    pub fn name_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }

    /// The value as text, invalid UTF-8 replaced; `None` when undefined.
    #[must_use]
    pub fn value_lossy(&self) -> Option<Cow<'_, str>> {
        self.value.as_deref().map(String::from_utf8_lossy)
    }
}

impl fmt::Debug for Variable {
    /// `Var "TERM"="xterm"`, or `Var "USER"` when undefined.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} \"{}\"", self.kind, self.name.escape_ascii())?;
        if let Some(value) = &self.value {
            write!(f, "=\"{}\"", value.escape_ascii())?;
        }
        Ok(())
    }
}

/// One entry of a SEND: a name to send, or every variable of a kind.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Request {
    /// VAR or USERVAR.
    pub kind: Kind,
    /// The name asked for, unescaped; empty asks for every variable of this kind in the
    /// default environment (RFC 1572 section 2, SEND).
    pub name: Vec<u8>,
}

impl Request {
    /// Ask for the well-known variable `name`.
    #[must_use]
    pub fn var(name: impl Into<Vec<u8>>) -> Self {
        Self {
            kind: Kind::Var,
            name: name.into(),
        }
    }

    /// Ask for the user-defined variable `name`.
    #[must_use]
    pub fn user_var(name: impl Into<Vec<u8>>) -> Self {
        Self {
            kind: Kind::UserVar,
            name: name.into(),
        }
    }

    /// Ask for every variable of `kind` (a type with no name).
    #[must_use]
    pub const fn all(kind: Kind) -> Self {
        Self {
            kind,
            name: Vec::new(),
        }
    }

    /// Whether this asks for every variable of its kind.
    #[must_use]
    pub fn is_all(&self) -> bool {
        self.name.is_empty()
    }
}

impl fmt::Debug for Request {
    /// `Var "USER"`, or `Var *` for every variable of a kind.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            write!(f, "{:?} *", self.kind)
        } else {
            write!(f, "{:?} \"{}\"", self.kind, self.name.escape_ascii())
        }
    }
}

/// A parsed NEW-ENVIRON or ENVIRON subnegotiation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// `SEND`: the variables asked for, in order; empty asks for the default environment.
    Send(Vec<Request>),
    /// `IS`: the variables, answering a SEND.
    Is(Vec<Variable>),
    /// `INFO`: variables that changed.
    Info(Vec<Variable>),
}

impl Message {
    /// Parse a payload (IAC doubling already undone) whose VAR and VALUE codes follow
    /// `layout`.
    ///
    /// # Errors
    ///
    /// [`SubnegotiationError::Empty`] for no command byte,
    /// [`SubnegotiationError::UnknownCommand`] for a command other than IS, SEND, INFO,
    /// [`SubnegotiationError::Truncated`] for an ESC as the last byte, and
    /// [`SubnegotiationError::Malformed`] for text before the first type, a VALUE that
    /// follows no type or a second VALUE for one variable, or a VALUE inside a SEND.
    pub fn parse(payload: &[u8], layout: Layout) -> Result<Self, SubnegotiationError> {
        let (command, tokens) = tokenize(payload)?;
        let tokens = orient(tokens, layout);
        match command {
            Command::Send => requests(tokens).map(Self::Send),
            Command::Is => variables(tokens).map(Self::Is),
            Command::Info => variables(tokens).map(Self::Info),
        }
    }

    /// The payload (before IAC doubling) with VAR and VALUE coded per `layout`.
    #[must_use]
    pub fn to_payload(&self, layout: Layout) -> Vec<u8> {
        match self {
            Self::Send(requests) => encode_send(requests, layout),
            Self::Is(variables) => encode_variables(Command::Is, variables, layout),
            Self::Info(variables) => encode_variables(Command::Info, variables, layout),
        }
    }
}

/// Append `text` with the four marker bytes escaped (RFC 1572 section 2: "If a variable
/// or a value contains a VAR, it must be sent as ESC VAR", likewise VALUE, USERVAR, ESC).
pub fn escape_into(out: &mut Vec<u8>, text: &[u8]) {
    for &byte in text {
        if matches!(byte, VAR | VALUE | ESC | USERVAR) {
            out.push(ESC);
        }
        out.push(byte);
    }
}

/// How many bytes `text` takes once escaped.
pub(super) fn escaped_len(text: &[u8]) -> usize {
    text.len()
        + text
            .iter()
            .filter(|&&byte| matches!(byte, VAR | VALUE | ESC | USERVAR))
            .count()
}

const fn type_code(kind: Kind, layout: Layout) -> u8 {
    match kind {
        Kind::Var => layout.var_code(),
        Kind::UserVar => USERVAR,
    }
}

/// A SEND payload asking for `requests`.
#[must_use]
pub fn encode_send(requests: &[Request], layout: Layout) -> Vec<u8> {
    let mut out = vec![Command::Send.code()];
    for request in requests {
        out.push(type_code(request.kind, layout));
        escape_into(&mut out, &request.name);
    }
    out
}

/// An IS or INFO payload carrying `variables` (`command` should be IS or INFO).
#[must_use]
pub fn encode_variables(command: Command, variables: &[Variable], layout: Layout) -> Vec<u8> {
    let mut out = vec![command.code()];
    for variable in variables {
        out.push(type_code(variable.kind, layout));
        escape_into(&mut out, &variable.name);
        if let Some(value) = &variable.value {
            out.push(layout.value_code());
            escape_into(&mut out, value);
        }
    }
    out
}

/// A marker as coded on the wire, read with the standard codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mark {
    Var,
    Value,
    UserVar,
}

/// A marker and the unescaped text that follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) mark: Mark,
    pub(super) text: Vec<u8>,
}

/// Split a payload into its command and marker tokens, read with the standard codes.
/// Only the structure every command shares is checked here.
pub(super) fn tokenize(payload: &[u8]) -> Result<(Command, Vec<Token>), SubnegotiationError> {
    let Some((&code, body)) = payload.split_first() else {
        return Err(SubnegotiationError::Empty);
    };
    let command = Command::from_code(code).ok_or(SubnegotiationError::UnknownCommand(code))?;
    let mut tokens: Vec<Token> = Vec::new();
    let mut bytes = body.iter().copied();
    while let Some(byte) = bytes.next() {
        let mark = match byte {
            VAR => Mark::Var,
            VALUE => Mark::Value,
            USERVAR => Mark::UserVar,
            _ => {
                // ESC makes the next byte literal. RFC 1572 only escapes the four marker
                // bytes; like BSD telnetd we take any escaped byte as itself.
                let literal = if byte == ESC {
                    bytes.next().ok_or(SubnegotiationError::Truncated)?
                } else {
                    byte
                };
                match tokens.last_mut() {
                    Some(token) => token.text.push(literal),
                    // Text before the first type: the body must start with a marker.
                    None => return Err(SubnegotiationError::Malformed),
                }
                continue;
            }
        };
        tokens.push(Token {
            mark,
            text: Vec::new(),
        });
    }
    Ok((command, tokens))
}

/// Reinterpret standard-coded tokens for `layout` (swap VAR and VALUE when reversed).
pub(super) fn orient(mut tokens: Vec<Token>, layout: Layout) -> Vec<Token> {
    if layout == Layout::Reversed {
        for token in &mut tokens {
            token.mark = match token.mark {
                Mark::Var => Mark::Value,
                Mark::Value => Mark::Var,
                Mark::UserVar => Mark::UserVar,
            };
        }
    }
    tokens
}

/// The requests of a SEND body; a VALUE has no place there (RFC 1572 section 2).
pub(super) fn requests(tokens: Vec<Token>) -> Result<Vec<Request>, SubnegotiationError> {
    tokens
        .into_iter()
        .map(|Token { mark, text }| match mark {
            Mark::Var => Ok(Request::var(text)),
            Mark::UserVar => Ok(Request::user_var(text)),
            Mark::Value => Err(SubnegotiationError::Malformed),
        })
        .collect()
}

/// The variables of an IS or INFO body: each type, then at most one VALUE.
pub(super) fn variables(tokens: Vec<Token>) -> Result<Vec<Variable>, SubnegotiationError> {
    let mut out: Vec<Variable> = Vec::with_capacity(tokens.len());
    for Token { mark, text } in tokens {
        match mark {
            Mark::Var => out.push(Variable::undefined(Kind::Var, text)),
            Mark::UserVar => out.push(Variable::undefined(Kind::UserVar, text)),
            Mark::Value => match out.last_mut() {
                Some(variable) if variable.value.is_none() => variable.value = Some(text),
                // A VALUE before any type, or a second VALUE for one variable.
                _ => return Err(SubnegotiationError::Malformed),
            },
        }
    }
    Ok(out)
}

/// RFC 1571 section 2 (the client reading an ENVIRON SEND): a SEND holds only VAR and
/// USERVAR, so a VALUE code means the server swapped the codes. `None`: no VAR or VALUE
/// code at all, nothing learnt.
///
/// # Errors
///
/// [`SubnegotiationError::Malformed`] when both codes appear: RFC 1571 calls such a SEND
/// not well formed and leaves the outcome to the implementation; we ignore it.
pub(super) fn detect_send_layout(tokens: &[Token]) -> Result<Option<Layout>, SubnegotiationError> {
    let has = |mark| tokens.iter().any(|token| token.mark == mark);
    match (has(Mark::Var), has(Mark::Value)) {
        (true, true) => Err(SubnegotiationError::Malformed),
        (true, false) => Ok(Some(Layout::Standard)),
        (false, true) => Ok(Some(Layout::Reversed)),
        (false, false) => Ok(None),
    }
}

/// RFC 1571 section 3 (the server reading an ENVIRON IS or INFO), its heuristics in the
/// RFC's order, over standard-coded tokens. `None`: still in doubt, and the RFC says to
/// assume the standard codes.
pub(super) fn detect_report_layout(tokens: &[Token]) -> Option<Layout> {
    // IS/INFO followed by VAR: the client is right; by VALUE: reversed. A USERVAR may
    // legally be followed by either, so it decides nothing.
    match tokens.first()?.mark {
        Mark::Var => return Some(Layout::Standard),
        Mark::Value => return Some(Layout::Reversed),
        Mark::UserVar => {}
    }
    // Two consecutive VARs (an undefined variable) or an empty VALUE are legal only with
    // the standard codes; two consecutive VALUEs or an empty VAR only with reversed ones.
    let mut previous: Option<Mark> = None;
    for token in tokens {
        match (previous, token.mark) {
            (Some(Mark::Var), Mark::Var) => return Some(Layout::Standard),
            (Some(Mark::Value), Mark::Value) => return Some(Layout::Reversed),
            _ => {}
        }
        if token.text.is_empty() {
            match token.mark {
                Mark::Value => return Some(Layout::Standard),
                Mark::Var => return Some(Layout::Reversed),
                Mark::UserVar => {}
            }
        }
        previous = Some(token.mark);
    }
    // Count: with the standard codes every VALUE belongs to a VAR or USERVAR. When both
    // sums match (no USERVAR, as many VARs as VALUEs) the count decides nothing.
    let count = |mark| tokens.iter().filter(|token| token.mark == mark).count();
    let (vars, values, user_vars) = (count(Mark::Var), count(Mark::Value), count(Mark::UserVar));
    match (vars + user_vars == values, values + user_vars == vars) {
        (true, false) => return Some(Layout::Standard),
        (false, true) => return Some(Layout::Reversed),
        _ => {}
    }
    // Well-known names after VAR codes: standard; after VALUE codes: reversed.
    let names_well_known = |mark| {
        tokens
            .iter()
            .any(|token| token.mark == mark && WELL_KNOWN.contains(&&*token.text))
    };
    if names_well_known(Mark::Var) {
        Some(Layout::Standard)
    } else if names_well_known(Mark::Value) {
        Some(Layout::Reversed)
    } else {
        None
    }
}
