//! One module per option family: each parses and builds its own subnegotiations, keeps
//! its own state, and reacts when its option is enabled or disabled.
//!
//! Every family has the same shape, so the session can dispatch to it blindly:
//!
//! - a public `Event` type (what the application learns), carried by
//!   [`crate::Event`]'s variant of the same name;
//! - a public `Config` (what this end answers or asks), a field of [`crate::SessionConfig`];
//! - a crate-private `State`, one field of the session's per-family state;
//! - handlers such as `receive(state, config, link, emit, option, payload)` for a
//!   subnegotiation and `changed(..., side, enabled)` when the option turns on or off on
//!   one side, which get only their own state and configuration, the link layer below
//!   them (role, option states, outgoing queue) and an emitter for their own events, and
//!   return a typed error;
//! - requests and getters on [`crate::Session`], which the session defines over the
//!   family's state.
//!
//! A family imports only the modules below it (the link layer and the shared family
//! helpers), never this module, the session, its configuration or its event type: those
//! sit above the families, and the session's routing table hands a family what it needs
//! of another one as an argument.
//!
//! A malformed subnegotiation is reported as [`crate::Event::BadSubnegotiation`] and
//! changes nothing.

pub mod aardwolf;
pub mod atcp;
pub mod charset;
pub mod environ;
pub mod gmcp;
pub mod lflow;
pub mod linemode;
pub mod logout;
pub mod mccp;
pub mod msdp;
pub mod mssp;
pub mod mtts;
pub mod mud_store;
mod mud_text;
pub mod naws;
pub mod sndloc;
pub mod status;
pub mod timing_mark;
pub mod tspeed;
pub mod ttype;
pub mod xdisploc;
pub mod zmp;

pub use crate::family::{Subcommand, SubnegotiationError};

#[cfg(test)]
pub(crate) mod tests;
