//! Aardwolf's option 102: one channel byte, then (usually one) data byte, from the
//! server (`IAC SB 102 100 3 IAC SE`: status 3, "at the prompt"); the client turns
//! features on and off with the same shape.
//!
//! Specification: <https://www.aardwolf.com/blog/2008/07/10/telnet-negotiation-control-mud-client-interaction/>.
//!
//! As a family: once option 102 is agreed either way, each message is decoded into
//! [`Event::Message`]; an empty payload is a bad subnegotiation. Each channel's latest
//! data is kept, by telnetlib3's name for the channel, within [`MAX_STORED_BYTES`]
//! (telnetlib3's `aardwolf_data` keeps every message, without bound).

use super::mud_store::{self, store_within, DataDropped, Warned};
use crate::family::{check_mud_payload, Emit, SubnegotiationError};
use crate::link::Link;
use crate::option::TelnetOption;

/// The most bytes of Aardwolf data a session keeps (channel names and data, all
/// together). A message that would pass it is still reported, but not kept.
pub const MAX_STORED_BYTES: usize = 16 * 1024;

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// Each channel's latest data, by [`AardwolfMessage::channel_label`], in the order
    /// first received.
    pub(crate) channels: Vec<(String, Vec<u8>)>,
    /// Names plus data of `channels`.
    bytes: usize,
}

/// What the application learns from Aardwolf's option 102.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A message arrived.
    Message(AardwolfMessage),
}

pub(crate) fn receive(
    state: &mut State,
    warned: &mut Warned,
    link: &Link,
    emit: &mut (impl Emit<Event> + Emit<DataDropped>),
    option: TelnetOption,
    payload: &[u8],
) -> Result<(), SubnegotiationError> {
    check_mud_payload(link, option, payload)?;
    let message = AardwolfMessage::decode(payload).ok_or(SubnegotiationError::Empty)?;
    let label = message.channel_label();
    let (channels, bytes) = (&mut state.channels, &mut state.bytes);
    let kept = store_within(
        channels,
        bytes,
        (&label, &message.data),
        Vec::len,
        MAX_STORED_BYTES,
    );
    emit.emit(Event::Message(message));
    if !kept {
        mud_store::dropped(emit, warned, option, &label);
    }
    Ok(())
}

/// One Aardwolf message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AardwolfMessage {
    /// The channel byte (100 status, 101 tick, ...).
    pub channel: u8,
    /// What follows it (one byte as a rule).
    pub data: Vec<u8>,
}

impl AardwolfMessage {
    /// Decode a payload; `None` when it is empty.
    ///
    /// ```
    /// use telnetlib3_proto::options::aardwolf::AardwolfMessage;
    ///
    /// let message = AardwolfMessage::decode(&[100, 3]).unwrap();
    /// assert_eq!(message.channel_name(), Some("status"));
    /// assert_eq!(message.data, [3]);
    /// ```
    #[must_use]
    pub fn decode(payload: &[u8]) -> Option<Self> {
        let (&channel, data) = payload.split_first()?;
        Some(Self {
            channel,
            data: data.to_vec(),
        })
    }

    /// The channel's name as telnetlib3 names the server's channels, if it is one.
    #[must_use]
    pub fn channel_name(&self) -> Option<&'static str> {
        Some(match self.channel {
            100 => "status",
            101 => "tick",
            102 => "affect",
            103 => "group",
            104 => "skill",
            105 => "quest",
            106 => "spell",
            107 => "stat",
            108 => "message",
            _ => return None,
        })
    }

    /// The channel's name ([`AardwolfMessage::channel_name`]), or its byte in hex
    /// (`0x07`), as telnetlib3 labels it.
    ///
    /// ```
    /// use telnetlib3_proto::options::aardwolf::AardwolfMessage;
    ///
    /// assert_eq!(AardwolfMessage::decode(&[101]).unwrap().channel_label(), "tick");
    /// assert_eq!(AardwolfMessage::decode(&[7, 1]).unwrap().channel_label(), "0x07");
    /// ```
    #[must_use]
    pub fn channel_label(&self) -> String {
        match self.channel_name() {
            Some(name) => name.to_owned(),
            None => format!("0x{:02x}", self.channel),
        }
    }

    /// Append the payload to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.channel);
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Role;
    use crate::options::tests::Log;
    use crate::{Policy, Session, SessionConfig};

    #[test]
    fn channel_and_data() {
        assert_eq!(AardwolfMessage::decode(&[]), None);
        let tick = AardwolfMessage::decode(&[101]).unwrap();
        assert_eq!((tick.channel_name(), tick.data.len()), (Some("tick"), 0));
        let other = AardwolfMessage::decode(&[7, 1, 2]).unwrap();
        assert_eq!((other.channel_name(), other.data), (None, vec![1, 2]));
        let mut out = Vec::new();
        AardwolfMessage {
            channel: 100,
            data: vec![3],
        }
        .encode(&mut out);
        assert_eq!(out, [100, 3]);
    }

    #[test]
    fn messages_once_agreed() {
        let policy = Policy::client().allow_remote(TelnetOption::Aardwolf);
        let mut client = Session::new(Role::Client, SessionConfig::with_policy(policy));
        let mut log = Log::default();
        client.receive(b"\xff\xfa\x66\x64\x03\xff\xf0", &mut log);
        client.receive(
            b"\xff\xfb\x66\xff\xfa\x66\x64\x03\xff\xf0\xff\xfa\x66\xff\xf0",
            &mut log,
        );
        assert_eq!(
            log.events,
            [
                "BadSubnegotiation { option: Aardwolf, error: NotAllowed }",
                "OptionChanged { option: Aardwolf, side: Remote, enabled: true }",
                "Aardwolf(Message(AardwolfMessage { channel: 100, data: [3] }))",
                "BadSubnegotiation { option: Aardwolf, error: Empty }",
            ]
        );
        client.receive(
            b"\xff\xfa\x66\x65\xff\xf0\xff\xfa\x66\x64\x05\xff\xf0\xff\xfa\x66\x07\x01\x02\xff\xf0",
            &mut log,
        );
        assert_eq!(
            client.aardwolf_data(),
            [
                ("status".to_owned(), vec![5]),
                ("tick".to_owned(), vec![]),
                ("0x07".to_owned(), vec![1, 2]),
            ]
        );
    }
}
