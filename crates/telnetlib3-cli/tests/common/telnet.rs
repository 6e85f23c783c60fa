//! Telnet bytes for the raw-socket tests, and telnetlib3-server's opening negotiation.

#![allow(dead_code)] // Each test file uses its own part of this module.

pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
pub const SB: u8 = 250;
pub const GA: u8 = 249;
pub const SE: u8 = 240;
pub const BINARY: u8 = 0;
pub const ECHO: u8 = 1;
pub const SGA: u8 = 3;
pub const TTYPE: u8 = 24;
pub const NAWS: u8 = 31;
pub const NEW_ENVIRON: u8 = 39;
pub const CHARSET: u8 = 42;
/// NEW-ENVIRON's IS, SEND, VAR and VALUE.
pub const IS: u8 = 0;
pub const SEND: u8 = 1;
pub const VAR: u8 = 0;
pub const VALUE: u8 = 1;

/// telnetlib3's first request, alone until the client answers something.
pub const OPENING: [u8; 3] = [IAC, DO, TTYPE];

/// A client that refuses TTYPE but agrees to SGA and ECHO...
pub const AGREE_SGA_ECHO: [u8; 9] = [IAC, WONT, TTYPE, IAC, DO, SGA, IAC, DO, ECHO];

/// ... gets them, and then the rest of telnetlib3's opening (its "advanced" negotiation,
/// and NEW_ENVIRON since TTYPE was refused) ...
pub const ADVANCED: [u8; 18] = [
    IAC,
    WILL,
    SGA,
    IAC,
    WILL,
    ECHO,
    IAC,
    WILL,
    BINARY,
    IAC,
    DO,
    NAWS,
    IAC,
    DO,
    CHARSET,
    IAC,
    DO,
    NEW_ENVIRON,
];

/// ... which it refuses.
pub const REFUSE_ADVANCED: [u8; 12] = [
    IAC,
    DONT,
    BINARY,
    IAC,
    WONT,
    NAWS,
    IAC,
    WONT,
    CHARSET,
    IAC,
    WONT,
    NEW_ENVIRON,
];
