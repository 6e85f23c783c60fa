//! CHARSET (RFC 2066): choosing the character set of the text both ways.
//!
//! A side that performs CHARSET (it sent `WILL CHARSET` and received `DO CHARSET`) may send
//! `REQUEST <sep><charset><sep><charset>...`, its candidates in order of preference; the
//! other side answers `ACCEPTED <charset>` (one of them, spelled as offered) or `REJECTED`.
//! A REQUEST may also carry `[TTABLE]` and a version byte, offering to receive a translation
//! table (`TTABLE-IS`) instead; this crate never applies translation tables: it answers such a
//! REQUEST from the list as usual (which RFC 2066 allows) and answers `TTABLE-IS` with
//! `TTABLE-REJECTED`.
//!
//! Roles, as telnetlib3 5.0.1 plays them: the server sends `DO CHARSET`, answers the client's
//! `WILL CHARSET` with its own `WILL CHARSET` and sends its REQUEST right after it, without
//! waiting for the client's `DO` (a generous reading of RFC 2066: the client's WILL agrees to
//! the subnegotiation), once per connection (the application may ask again with
//! [`Session::request_charset`]). Either side answers a REQUEST from its [`Config::accept`]
//! list.
//!
//! [`Session::request_charset`]: crate::Session::request_charset

use core::fmt;

use crate::command::IAC;
use crate::family::{Emit, SubnegotiationError};
use crate::link::{Link, Role, Side};
use crate::option::TelnetOption;
use crate::qmethod::QState;

/// The longest character set name this end stores, offers or selects, in bytes.
///
/// IANA names are at most 40 characters; longer names in a peer's REQUEST are never chosen.
pub const MAX_NAME_LEN: usize = 64;

/// How many names of a peer's REQUEST [`Session::peer_charset_offer`] keeps.
///
/// [`Session::peer_charset_offer`]: crate::Session::peer_charset_offer
pub const MAX_STORED_OFFER: usize = 64;

/// The marker after `REQUEST` offering to receive a translation table (RFC 2066 section 2).
///
/// RFC 2066's syntax line spells the literal `"[TTABLE ]"`, with a space, but its prose ("If
/// the string [TTABLE] appears") and its examples (`CHARSET REQUEST [TTABLE] 1 Cyrillic`)
/// have none; we send `[TTABLE]` and accept both spellings.
const TTABLE_MARKER: &[u8] = b"[TTABLE]";

/// The syntax line's spelling of [`TTABLE_MARKER`], accepted when parsing.
const TTABLE_MARKER_SPACED: &[u8] = b"[TTABLE ]";

/// The command byte that starts every CHARSET subnegotiation (RFC 2066 section 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Command {
    /// `REQUEST`: the sender's candidate character sets.
    Request = 1,
    /// `ACCEPTED`: the receiver of REQUEST agrees to one of them.
    Accepted = 2,
    /// `REJECTED`: the receiver of REQUEST accepts none of them.
    Rejected = 3,
    /// `TTABLE-IS`: a translation table sent in answer to a `[TTABLE]` REQUEST.
    TtableIs = 4,
    /// `TTABLE-REJECTED`: the receiver of TTABLE-IS will not use it.
    TtableRejected = 5,
    /// `TTABLE-ACK`: the receiver of TTABLE-IS will use it.
    TtableAck = 6,
    /// `TTABLE-NAK`: the receiver of TTABLE-IS asks for it again.
    TtableNak = 7,
}

impl Command {
    /// The byte on the wire.
    #[must_use]
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The command for a byte, if RFC 2066 defines one.
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::Request,
            2 => Self::Accepted,
            3 => Self::Rejected,
            4 => Self::TtableIs,
            5 => Self::TtableRejected,
            6 => Self::TtableAck,
            7 => Self::TtableNak,
            _ => return None,
        })
    }
}

/// Why this end cannot send a REQUEST, or a REQUEST cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CharsetError {
    /// CHARSET is not enabled on our side: RFC 2066 section 2 lets only a side that sent
    /// `WILL CHARSET` and received `DO CHARSET` send a REQUEST.
    #[error("CHARSET is not enabled on our side (WILL sent and DO received)")]
    NotEnabled,
    /// A REQUEST of ours still awaits its answer.
    #[error("a CHARSET REQUEST is already outstanding")]
    Pending,
    /// The list of character sets is empty (RFC 2066 requires one or more).
    #[error("no character set to offer")]
    EmptyOffer,
    /// A name is empty, longer than [`MAX_NAME_LEN`], not printable 7-bit ASCII, or contains
    /// the separator; or the separator is IAC; or the TTABLE version is zero.
    #[error("invalid character set name, separator or TTABLE version")]
    InvalidOffer,
}

/// Whether `byte` may appear in a character set name: RFC 2066 section 2 says the list is
/// "a sequence of 7-BIT ASCII printable characters".
const fn printable(byte: u8) -> bool {
    matches!(byte, 0x20..=0x7e)
}

/// Whether we may send `name` in a list separated by `separator`.
fn valid_name(name: &str, separator: u8) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|b| printable(b) && b != separator)
}

/// Whether two character set names denote the same set: ASCII case is not significant
/// (RFC 2066 section 2), and like telnetlib3's `_normalize_charset_name` we ignore `-`, `_`
/// and spaces, so `utf8`, `UTF_8` and `UTF-8` match.
#[must_use]
pub fn same_charset(a: &str, b: &str) -> bool {
    fn key(name: &str) -> impl Iterator<Item = u8> + '_ {
        name.bytes()
            .filter(|b| !matches!(b, b'-' | b'_' | b' '))
            .map(|b| b.to_ascii_lowercase())
    }
    key(a).eq(key(b))
}

/// A parsed `REQUEST`, borrowing the payload.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Request<'a> {
    ttable: Option<u8>,
    separator: u8,
    /// Everything after the separator: names separated by it, all printable ASCII.
    list: &'a [u8],
}

impl<'a> Request<'a> {
    /// Parse what follows the `REQUEST` command byte.
    ///
    /// # Errors
    ///
    /// [`SubnegotiationError::Truncated`] when the separator (or the TTABLE version) is
    /// missing; [`SubnegotiationError::Malformed`] when the separator is IAC, the TTABLE
    /// version is zero, a name holds a byte that is not printable ASCII, or the list holds
    /// no name at all.
    pub fn parse(body: &'a [u8]) -> Result<Self, SubnegotiationError> {
        let marked = body
            .strip_prefix(TTABLE_MARKER)
            .or_else(|| body.strip_prefix(TTABLE_MARKER_SPACED));
        let (ttable, rest) = match marked {
            // RFC 2066 section 2: the version "must not be zero".
            Some(rest) => match rest.split_first() {
                None => return Err(SubnegotiationError::Truncated),
                Some((0, _)) => return Err(SubnegotiationError::Malformed),
                Some((&version, rest)) => (Some(version), rest),
            },
            None => (None, body),
        };
        let Some((&separator, list)) = rest.split_first() else {
            return Err(SubnegotiationError::Truncated);
        };
        if separator == IAC || !list.iter().all(|&b| b == separator || printable(b)) {
            return Err(SubnegotiationError::Malformed);
        }
        let request = Self {
            ttable,
            separator,
            list,
        };
        // "It consists of one or more character sets." Empty entries (a trailing or doubled
        // separator) are skipped rather than refused, but at least one name must remain.
        if request.charsets().next().is_none() {
            return Err(SubnegotiationError::Malformed);
        }
        Ok(request)
    }

    /// The highest TTABLE-IS version the sender accepts, when it offered `[TTABLE]`.
    #[must_use]
    pub const fn ttable_version(&self) -> Option<u8> {
        self.ttable
    }

    /// The separator byte the sender chose.
    #[must_use]
    pub const fn separator(&self) -> u8 {
        self.separator
    }

    /// The candidate character sets, most preferred first, as the sender spelled them.
    pub fn charsets(&self) -> impl Iterator<Item = &'a str> + 'a {
        let separator = self.separator;
        self.list
            .split(move |&b| b == separator)
            .filter(|name| !name.is_empty())
            // Always Ok: parse checked that the list is ASCII.
            .filter_map(|name| core::str::from_utf8(name).ok())
    }

    /// Append the payload (command byte included) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(Command::Request.code());
        if let Some(version) = self.ttable {
            out.extend_from_slice(TTABLE_MARKER);
            out.push(version);
        }
        out.push(self.separator);
        out.extend_from_slice(self.list);
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Names<'r, 'a>(&'r Request<'a>);
        impl fmt::Debug for Names<'_, '_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.charsets()).finish()
            }
        }
        f.debug_struct("Request")
            .field("ttable", &self.ttable)
            .field("separator", &char::from(self.separator))
            .field("charsets", &Names(self))
            .finish()
    }
}

/// Append a `REQUEST` payload (command byte included) offering `charsets` to `out`.
///
/// `ttable_version` adds `[TTABLE]` and that version byte.
///
/// # Errors
///
/// [`CharsetError::EmptyOffer`] for an empty list, [`CharsetError::InvalidOffer`] for a
/// bad name, an IAC separator or TTABLE version zero; nothing is written then.
pub fn write_request<S: AsRef<str>>(
    out: &mut Vec<u8>,
    ttable_version: Option<u8>,
    separator: u8,
    charsets: &[S],
) -> Result<(), CharsetError> {
    if charsets.is_empty() {
        return Err(CharsetError::EmptyOffer);
    }
    if separator == IAC
        || ttable_version == Some(0)
        || !charsets
            .iter()
            .all(|name| valid_name(name.as_ref(), separator))
    {
        return Err(CharsetError::InvalidOffer);
    }
    out.push(Command::Request.code());
    if let Some(version) = ttable_version {
        out.extend_from_slice(TTABLE_MARKER);
        out.push(version);
    }
    for name in charsets {
        out.push(separator);
        out.extend_from_slice(name.as_ref().as_bytes());
    }
    Ok(())
}

/// A version 1 translation table (RFC 2066 section 2, TTABLE-IS), borrowing the payload.
///
/// Layout: `<sep> <charset 1> <sep> <size 1> <count 1> <charset 2> <sep> <size 2> <count 2>
/// <map 1> <map 2>`, sizes one octet (bits per character), counts three octets in network
/// byte order. We read each map as `count` characters of `size` bits of its own set, packed
/// and padded to a whole octet; the RFC's text can also be read with the other set's size,
/// and both readings agree for the usual equal sizes. Since this crate never applies a table,
/// the reading only decides whether a table is answered TTABLE-REJECTED or reported malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableV1<'a> {
    separator: u8,
    charset1: &'a str,
    size1: u8,
    count1: u32,
    charset2: &'a str,
    size2: u8,
    count2: u32,
    map1: &'a [u8],
    map2: &'a [u8],
}

/// The byte length of a map of `count` characters of `size` bits, padded to an octet.
const fn map_len(count: u32, size: u8) -> u64 {
    (count as u64 * size as u64).div_ceil(8)
}

/// The largest count three octets hold.
const MAX_COUNT: u32 = 0x00ff_ffff;

impl<'a> TableV1<'a> {
    /// A table from its parts.
    ///
    /// # Errors
    ///
    /// [`SubnegotiationError::Malformed`] when the separator is IAC, a name is empty, not
    /// printable ASCII or contains the separator, a size is zero, a count does not fit in
    /// three octets, or a map's length does not match its count and size.
    pub fn new(
        separator: u8,
        (charset1, size1, count1): (&'a str, u8, u32),
        (charset2, size2, count2): (&'a str, u8, u32),
        map1: &'a [u8],
        map2: &'a [u8],
    ) -> Result<Self, SubnegotiationError> {
        let table_name =
            |name: &str| !name.is_empty() && name.bytes().all(|b| printable(b) && b != separator);
        let ok = separator != IAC
            && table_name(charset1)
            && table_name(charset2)
            && size1 != 0
            && size2 != 0
            && count1 <= MAX_COUNT
            && count2 <= MAX_COUNT
            && map1.len() as u64 == map_len(count1, size1)
            && map2.len() as u64 == map_len(count2, size2);
        if !ok {
            return Err(SubnegotiationError::Malformed);
        }
        Ok(Self {
            separator,
            charset1,
            size1,
            count1,
            charset2,
            size2,
            count2,
            map1,
            map2,
        })
    }

    /// Parse what follows the version byte.
    fn parse(body: &'a [u8]) -> Result<Self, SubnegotiationError> {
        use SubnegotiationError::{Malformed, TooLong, Truncated};

        fn name(input: &[u8], separator: u8) -> Result<(&str, &[u8]), SubnegotiationError> {
            let end = input
                .iter()
                .position(|&b| b == separator)
                .ok_or(Truncated)?;
            let (name, rest) = input.split_at(end);
            if name.is_empty() || !name.iter().all(|&b| printable(b)) {
                return Err(Malformed);
            }
            let name = core::str::from_utf8(name).map_err(|_| Malformed)?;
            Ok((name, rest.get(1..).unwrap_or_default()))
        }
        fn size_count(input: &[u8]) -> Result<(u8, u32, &[u8]), SubnegotiationError> {
            match *input {
                [size, c2, c1, c0, ref rest @ ..] => {
                    Ok((size, u32::from_be_bytes([0, c2, c1, c0]), rest))
                }
                _ => Err(Truncated),
            }
        }

        let (&separator, rest) = body.split_first().ok_or(Truncated)?;
        if separator == IAC {
            return Err(Malformed);
        }
        // <sep> <charset 1> <sep>
        let (charset1, rest) = name(rest, separator)?;
        let (size1, count1, rest) = size_count(rest)?;
        // <charset 2> <sep>: no separator before the second name.
        let (charset2, rest) = name(rest, separator)?;
        let (size2, count2, rest) = size_count(rest)?;
        if size1 == 0 || size2 == 0 {
            return Err(Malformed);
        }
        let (len1, len2) = (map_len(count1, size1), map_len(count2, size2));
        let available = rest.len() as u64;
        if available < len1 + len2 {
            return Err(Truncated);
        }
        if available > len1 + len2 {
            return Err(TooLong);
        }
        // Both fit in `rest`, so both conversions and slices succeed.
        let len1 = usize::try_from(len1).map_err(|_| Truncated)?;
        let (map1, map2) = (rest.get(..len1), rest.get(len1..));
        let (Some(map1), Some(map2)) = (map1, map2) else {
            return Err(Truncated);
        };
        Ok(Self {
            separator,
            charset1,
            size1,
            count1,
            charset2,
            size2,
            count2,
            map1,
            map2,
        })
    }

    /// The separator.
    #[must_use]
    pub const fn separator(&self) -> u8 {
        self.separator
    }

    /// The first character set: its name, bits per character and number of characters.
    #[must_use]
    pub const fn charset1(&self) -> (&'a str, u8, u32) {
        (self.charset1, self.size1, self.count1)
    }

    /// The second character set: its name, bits per character and number of characters.
    #[must_use]
    pub const fn charset2(&self) -> (&'a str, u8, u32) {
        (self.charset2, self.size2, self.count2)
    }

    /// The map from the first set to the second.
    #[must_use]
    pub const fn map1(&self) -> &'a [u8] {
        self.map1
    }

    /// The map from the second set to the first.
    #[must_use]
    pub const fn map2(&self) -> &'a [u8] {
        self.map2
    }

    fn write(&self, out: &mut Vec<u8>) {
        let count = |count: u32| {
            let [_, c2, c1, c0] = count.to_be_bytes();
            [c2, c1, c0]
        };
        out.push(self.separator);
        out.extend_from_slice(self.charset1.as_bytes());
        out.push(self.separator);
        out.push(self.size1);
        out.extend_from_slice(&count(self.count1));
        out.extend_from_slice(self.charset2.as_bytes());
        out.push(self.separator);
        out.push(self.size2);
        out.extend_from_slice(&count(self.count2));
        out.extend_from_slice(self.map1);
        out.extend_from_slice(self.map2);
    }
}

/// The body of a TTABLE-IS message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TranslationTable<'a> {
    /// Version 1, the only one RFC 2066 defines.
    V1(TableV1<'a>),
    /// A later version, kept unparsed.
    Other {
        /// The version byte (2 or more).
        version: u8,
        /// Everything after the version byte.
        data: &'a [u8],
    },
}

impl<'a> TranslationTable<'a> {
    fn parse(body: &'a [u8]) -> Result<Self, SubnegotiationError> {
        match body.split_first() {
            None => Err(SubnegotiationError::Truncated),
            Some((0, _)) => Err(SubnegotiationError::Malformed),
            Some((1, rest)) => TableV1::parse(rest).map(Self::V1),
            Some((&version, data)) => Ok(Self::Other { version, data }),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::V1(table) => {
                out.push(1);
                table.write(out);
            }
            Self::Other { version, data } => {
                out.push(*version);
                out.extend_from_slice(data);
            }
        }
    }
}

/// A CHARSET subnegotiation payload, parsed completely.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Message<'a> {
    /// `REQUEST [TTABLE] <version>? <sep> <charset> ...`.
    Request(Request<'a>),
    /// `ACCEPTED <charset>`.
    Accepted(&'a str),
    /// `REJECTED`.
    Rejected,
    /// `TTABLE-IS <version> <table>`.
    TtableIs(TranslationTable<'a>),
    /// `TTABLE-REJECTED`.
    TtableRejected,
    /// `TTABLE-ACK`.
    TtableAck,
    /// `TTABLE-NAK`.
    TtableNak,
}

impl<'a> Message<'a> {
    /// Parse a whole subnegotiation payload (after `IAC SB CHARSET`, IAC IAC reduced).
    ///
    /// # Errors
    ///
    /// [`SubnegotiationError::Empty`] without a command byte,
    /// [`SubnegotiationError::UnknownCommand`] for a byte RFC 2066 does not define, and the
    /// command's own errors: a missing or non-ASCII name, bytes after a command that takes
    /// none ([`SubnegotiationError::TooLong`]), a truncated table.
    pub fn parse(payload: &'a [u8]) -> Result<Self, SubnegotiationError> {
        let Some((&code, body)) = payload.split_first() else {
            return Err(SubnegotiationError::Empty);
        };
        let command = Command::from_code(code).ok_or(SubnegotiationError::UnknownCommand(code))?;
        let bare = |message| {
            if body.is_empty() {
                Ok(message)
            } else {
                Err(SubnegotiationError::TooLong)
            }
        };
        match command {
            Command::Request => Request::parse(body).map(Self::Request),
            Command::Accepted => {
                if body.is_empty() {
                    return Err(SubnegotiationError::Truncated);
                }
                if !body.iter().all(|&b| printable(b)) {
                    return Err(SubnegotiationError::Malformed);
                }
                core::str::from_utf8(body)
                    .map(Self::Accepted)
                    .map_err(|_| SubnegotiationError::Malformed)
            }
            Command::Rejected => bare(Self::Rejected),
            Command::TtableIs => TranslationTable::parse(body).map(Self::TtableIs),
            Command::TtableRejected => bare(Self::TtableRejected),
            Command::TtableAck => bare(Self::TtableAck),
            Command::TtableNak => bare(Self::TtableNak),
        }
    }

    /// The command byte.
    #[must_use]
    pub const fn command(&self) -> Command {
        match self {
            Self::Request(_) => Command::Request,
            Self::Accepted(_) => Command::Accepted,
            Self::Rejected => Command::Rejected,
            Self::TtableIs(_) => Command::TtableIs,
            Self::TtableRejected => Command::TtableRejected,
            Self::TtableAck => Command::TtableAck,
            Self::TtableNak => Command::TtableNak,
        }
    }

    /// Append the payload (before IAC doubling) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Request(request) => request.write(out),
            Self::Accepted(name) => {
                out.push(Command::Accepted.code());
                out.extend_from_slice(name.as_bytes());
            }
            Self::TtableIs(table) => {
                out.push(Command::TtableIs.code());
                table.write(out);
            }
            Self::Rejected | Self::TtableRejected | Self::TtableAck | Self::TtableNak => {
                out.push(self.command().code());
            }
        }
    }

    /// The payload as a new vector.
    #[must_use]
    pub fn to_payload(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

/// What this end offers and accepts for CHARSET.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The character sets our REQUEST offers, most preferred first. The default is
    /// telnetlib3 5.0.1 server's list (`TelnetServer.on_request_charset`). Names must be
    /// printable ASCII, at most [`MAX_NAME_LEN`] bytes, without the separator; with an empty
    /// or invalid list no REQUEST is sent.
    pub offer: Vec<String>,
    /// The separator of our REQUEST; telnetlib3 uses a space.
    pub separator: u8,
    /// The character sets we accept when the peer sends a REQUEST: we answer with the first
    /// name of the peer's list that matches one of these ([`same_charset`]); with an empty
    /// list, with the peer's first name. The default, `UTF-8`, is what telnetlib3 5.0.1's
    /// client accepts with its default encoding (utf8): it rejects a list without it.
    pub accept: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let offer = [
            "UTF-8",
            "UTF-16",
            "LATIN1",
            "CP1252",
            "ISO-8859-15",
            "CP437",
            "SHIFT_JIS",
            "CP932",
            "BIG5",
            "CP950",
            "GBK",
            "GB2312",
            "CP936",
            "EUC-KR",
            "CP949",
            "US-ASCII",
        ];
        Self {
            offer: offer.iter().map(|&name| name.to_owned()).collect(),
            separator: b' ',
            accept: vec!["UTF-8".to_owned()],
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// The character set agreed last, either way (at most [`MAX_NAME_LEN`] bytes).
    pub(crate) charset: Option<String>,
    /// Our REQUEST awaits its answer; these are the names it offered.
    outstanding: Option<Vec<String>>,
    /// The peer answered our last REQUEST with REJECTED.
    pub(crate) rejected: bool,
    /// The server's automatic REQUEST was sent on this connection.
    auto_requested: bool,
    /// The names of the peer's last REQUEST (bounded by [`MAX_STORED_OFFER`]).
    pub(crate) peer_offer: Vec<String>,
}

/// What the application learns from CHARSET.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The peer sent a REQUEST; our answer ([`Event::Selected`] or [`Event::Declined`])
    /// follows and is already queued.
    Requested(Request<'a>),
    /// We answered the peer's REQUEST with ACCEPTED: text in both directions is now in this
    /// character set (switch the session's encoding).
    Selected(&'a str),
    /// We answered the peer's REQUEST with REJECTED: none of its names is acceptable, or
    /// (we are the server) it crossed our own REQUEST, which RFC 2066 section 5 has the
    /// server reject.
    Declined,
    /// The peer accepted our REQUEST: text in both directions is now in this character set
    /// (switch the session's encoding).
    Accepted(&'a str),
    /// The peer rejected our REQUEST (telnetlib3's `failed-reply:SB CHARSET`).
    Rejected,
    /// The peer answered our REQUEST with a translation table, which we refused with
    /// TTABLE-REJECTED; no character set was agreed.
    TtableRejected,
}

pub(crate) fn receive<'p>(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl Emit<Event<'p>>,
    option: TelnetOption,
    payload: &'p [u8],
) -> Result<(), SubnegotiationError> {
    match Message::parse(payload)? {
        Message::Request(request) => receive_request(state, config, link, emit, option, request)?,
        Message::Accepted(name) => {
            let Some(offered) = &state.outstanding else {
                return Err(SubnegotiationError::NotAllowed);
            };
            // RFC 2066 section 2: the name is "identical to one of the character sets in the
            // REQUEST message" (case is not significant).
            if !offered.iter().any(|o| o.eq_ignore_ascii_case(name)) {
                return Err(SubnegotiationError::Malformed);
            }
            state.outstanding = None;
            state.rejected = false;
            state.charset = Some(name.to_owned());
            emit.emit(Event::Accepted(name));
        }
        Message::Rejected => {
            if state.outstanding.take().is_none() {
                return Err(SubnegotiationError::NotAllowed);
            }
            state.rejected = true;
            emit.emit(Event::Rejected);
        }
        Message::TtableIs(_) => {
            // Only an answer to our REQUEST. We never apply tables (telnetlib3 raises
            // NotImplementedError here); TTABLE-REJECTED ends the subnegotiation cleanly.
            if state.outstanding.take().is_none() {
                return Err(SubnegotiationError::NotAllowed);
            }
            link.send_subnegotiation(option, &Message::TtableRejected.to_payload());
            emit.emit(Event::TtableRejected);
        }
        // Answers to a TTABLE-IS, which we never send.
        Message::TtableRejected | Message::TtableAck | Message::TtableNak => {
            return Err(SubnegotiationError::NotAllowed);
        }
    }
    Ok(())
}

/// A CHARSET subnegotiation longer than the cap: a REQUEST among them is answered with
/// REJECTED (RFC 2066 section 2: the receiver of a REQUEST answers ACCEPTED or REJECTED),
/// so that the peer does not wait for an answer that would never come.
pub(crate) fn overflowed(
    link: &mut Link,
    emit: &mut impl for<'e> Emit<Event<'e>>,
    option: TelnetOption,
    first_byte: Option<u8>,
) {
    if first_byte == Some(Command::Request.code()) && link.enabled(option, Side::Remote) {
        link.send_subnegotiation(option, &Message::Rejected.to_payload());
        emit.emit(Event::Declined);
    }
}

fn receive_request<'p>(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    emit: &mut impl Emit<Event<'p>>,
    option: TelnetOption,
    request: Request<'p>,
) -> Result<(), SubnegotiationError> {
    // RFC 2066 section 2: REQUEST "can only be sent by a side that has received a DO CHARSET
    // message and sent a WILL CHARSET message", so the peer must perform CHARSET.
    if !link.enabled(option, Side::Remote) {
        return Err(SubnegotiationError::NotAllowed);
    }
    if state.awaiting_answer() && link.role == Role::Server {
        // RFC 2066's collision rule (section 2, REQUEST, and section 5): "When both sides
        // simultaneously make such a request (send CHARSET REQUEST messages), the server
        // MUST reject the client's request by sending a CHARSET REJECTED message. The
        // client system MUST respond to the server's request." Section 5 also has the
        // other side "reject the new subnegotiation by sending a CHARSET REJECTED message"
        // whenever one is started while another is active. Our own REQUEST stays
        // outstanding. (telnetlib3 has no such rule and answers both.)
        link.send_subnegotiation(option, &Message::Rejected.to_payload());
        emit.emit(Event::Declined);
        return Ok(());
    }
    // A client answers the server's REQUEST even when its own crossed it; its own stays
    // outstanding, since the server MUST answer it with REJECTED.
    state.peer_offer = request
        .charsets()
        .filter(|name| name.len() <= MAX_NAME_LEN)
        .take(MAX_STORED_OFFER)
        .map(str::to_owned)
        .collect();
    let choice = select(&config.accept, &request);
    emit.emit(Event::Requested(request));
    // A [TTABLE] offer is ignored: RFC 2066 lets the receiver answer from the list.
    match choice {
        Some(name) => {
            link.send_subnegotiation(option, &Message::Accepted(name).to_payload());
            state.charset = Some(name.to_owned());
            emit.emit(Event::Selected(name));
        }
        None => {
            link.send_subnegotiation(option, &Message::Rejected.to_payload());
            emit.emit(Event::Declined);
        }
    }
    Ok(())
}

/// The peer's first name that we accept, or its first name when we accept anything.
fn select<'a>(accept: &[String], request: &Request<'a>) -> Option<&'a str> {
    let mut offered = request.charsets().filter(|name| name.len() <= MAX_NAME_LEN);
    if accept.is_empty() {
        return offered.next();
    }
    offered.find(|name| accept.iter().any(|a| same_charset(a, name)))
}

pub(crate) fn changed(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    option: TelnetOption,
    side: Side,
    enabled: bool,
) {
    if !enabled {
        // WONT/DONT CHARSET: "The sender REFUSES to use CHARSET option subnegotiation", so an
        // outstanding REQUEST will get no answer.
        state.outstanding = None;
        return;
    }
    if link.role != Role::Server {
        return;
    }
    if side == Side::Remote {
        // telnetlib3's server answers the client's WILL CHARSET with its own WILL CHARSET, so
        // that it may send REQUEST. An error means it is already enabled or asked for.
        let _ = link.request(Side::Local, option, true);
    }
    // RFC 2066 section 2 lets only "a side that has received a DO CHARSET message and sent
    // a WILL CHARSET message" send a REQUEST. We read it generously, as telnetlib3 5.0.1
    // does: a client that said WILL CHARSET has agreed to the subnegotiation, so our
    // REQUEST follows our own WILL at once instead of waiting for a DO that some clients
    // never send (TinTin++ answers the REQUEST, but not the WILL).
    let due = we_offer(link) && link.enabled(option, Side::Remote) && !state.auto_requested;
    if due {
        state.auto_requested = true;
        // Fails only on an empty or invalid offer, or a REQUEST already outstanding (the
        // application's): then there is nothing to do.
        let _ = send_request(state, config, link, Offer::Automatic);
    }
}

/// Whether we perform CHARSET or have asked to (our WILL awaits its answer).
fn we_offer(link: &Link) -> bool {
    let us = link.options.get(TelnetOption::Charset).us;
    us.is_enabled() || matches!(us, QState::WantYes(_))
}

/// Who sends a REQUEST: the server's opening, or the application.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// The server's own, once per connection, possibly before our WILL is answered.
    Automatic,
    /// The application's ([`Session::request_charset`]): only when we perform CHARSET.
    ///
    /// [`Session::request_charset`]: crate::Session::request_charset
    Requested,
}

/// Queue our REQUEST with the configured offer.
pub(crate) fn send_request(
    state: &mut State,
    config: &Config,
    link: &mut Link,
    offer: Offer,
) -> Result<(), CharsetError> {
    let allowed = match offer {
        Offer::Automatic => we_offer(link),
        Offer::Requested => link.enabled(TelnetOption::Charset, Side::Local),
    };
    if !allowed {
        return Err(CharsetError::NotEnabled);
    }
    if state.awaiting_answer() {
        return Err(CharsetError::Pending);
    }
    let mut payload = Vec::new();
    write_request(&mut payload, None, config.separator, &config.offer)?;
    link.send_subnegotiation(TelnetOption::Charset, &payload);
    state.outstanding = Some(config.offer.clone());
    state.rejected = false;
    Ok(())
}

impl State {
    /// Whether our REQUEST awaits its answer.
    pub(crate) fn awaiting_answer(&self) -> bool {
        self.outstanding.is_some()
    }
}

/// Our `WILL CHARSET` was refused. A REQUEST sent after it but before its answer gets none:
/// `DONT CHARSET` means "The sender REFUSES to use CHARSET option subnegotiation".
pub(crate) fn refused(state: &mut State) {
    state.outstanding = None;
}

#[cfg(test)]
mod tests;
