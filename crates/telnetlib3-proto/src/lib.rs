//! The sans-IO core of telnetlib3 for Rust: Telnet parsing, encoding and option
//! negotiation as plain data transformations.
//!
//! This crate does no I/O and reads no clock. Bytes from the peer go into
//! [`Session::receive`], which reports application data and events to a [`Sink`] in stream
//! order and queues any replies; the bytes to send come out of
//! [`Session::poll_transmit`]. The async `telnetlib3` crate drives it over tokio sockets;
//! anything else (a test, a fuzzer, another runtime) can drive it the same way.
//!
//! Layers, each usable alone, each importing only those above it in this list (the test
//! `tests/layers.rs` fails on any two files that import each other):
//!
//! - [`Parser`]: the incremental tokenizer (RFC 854), with a `memchr` fast path over plain
//!   data and a capped subnegotiation buffer; events go to a [`Handler`].
//! - [`Encoder`] and the `write_*` frame builders: IAC doubling and NVT end-of-line.
//! - [`QState`]: RFC 1143 "Q method" negotiation as pure transitions.
//! - The link (crate-private): role, sides, the option table, the outgoing queue.
//! - [`options`]: one module per option family, each a state type whose handlers get its
//!   own configuration, the link and an emitter for its own events, and return a typed
//!   [`options::SubnegotiationError`]; no family reads another.
//! - [`Event`] and [`SessionConfig`], which wrap the families' events and configurations.
//! - [`Session`]: all of the above, with a [`Policy`] saying which options to accept; it
//!   owns the routing of input to the families.
//! - [`line`](mod@line): where lines end in received data (CR LF, CR NUL, CR, LF), for readers.
//!
//! RFCs: 854 and 855 (the protocol and option negotiation), 856 (BINARY), 857 (ECHO), 858
//! (SGA), 859 (STATUS), 860 (TIMING-MARK), 885 (EOR), 727 (LOGOUT), 779 (SNDLOC), 1073
//! (NAWS), 1079 (TSPEED), 1091 (TTYPE), 1096 (XDISPLOC), 1123 section 3.3.1 (end of line),
//! 1143 (the Q method), 1184 (LINEMODE with SLC), 1372 (LFLOW), 1408, 1571 and 1572
//! (ENVIRON and NEW-ENVIRON), 2066 (CHARSET); the MUD protocols GMCP, MSDP, MSSP, MTTS, ZMP,
//! ATCP and Aardwolf's option 102 after their specifications (each module cites its own).
//! Python telnetlib3 5.0.1 is the reference for
//! policy and defaults; where it departs from an RFC, the RFC is followed and the module
//! says so.
//!
//! The session never reads a clock: timing rules such as telnetlib3's `connect_maxwait`
//! are the caller's, which tells the session when time is up
//! ([`Session::handle_negotiation_timeout`]).
//!
//! Malformed input is never an error of the API: it is reported as a [`ProtocolError`]
//! event and the parser resynchronises, so any byte sequence from a peer has defined
//! behaviour and bounded memory.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod command;
mod config;
mod encoder;
mod event;
mod family;
pub mod line;
mod link;
mod mode;
mod negotiation;
mod option;
pub mod options;
mod parser;
mod qmethod;
mod scan;
mod session;

pub use command::{Command, Verb, IAC};
pub use config::{Policy, SessionConfig};
pub use encoder::{escape_iac, write_command, write_negotiation, write_subnegotiation, Encoder};
pub use event::{Event, Sink};
pub use family::SubnegotiationError;
pub use link::{Role, Side};
pub use mode::Mode;
pub use negotiation::{ServerPlan, MUD_CLIENTS};
pub use option::TelnetOption;
pub use parser::{Handler, Parser, ProtocolError, DEFAULT_MAX_SUBNEGOTIATION};
pub use qmethod::{OptionState, QState, Queue, RequestError, SendVerb, Transition};
pub use session::Session;

/// The crate README's example, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
