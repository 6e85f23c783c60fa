//! Fingerprinting Telnet peers, as telnetlib3 5.0.1's `telnetlib3-fingerprint` does,
//! and its `telnetlib3-fingerprint-server` (which probes clients),
//! in its JSON format and with its hash, so that fingerprints taken by either compare.
//!
//! This lives in the CLI crate: it is a tool's logic (probing timeouts, prompt answers,
//! a file format) rather than Telnet itself, and it needs JSON and SHA-256, which the
//! library has no other use for.

mod banner;
pub mod client_probe;
mod negotiator;
pub mod record;
pub mod server_probe;
mod slc_record;
