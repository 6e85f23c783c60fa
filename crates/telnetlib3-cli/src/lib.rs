//! The shared parts of the `telnetlib3-server` and `telnetlib3-client` binaries.
//!
//! The binaries parse flags, set up logging and a runtime, and report errors; what they
//! do on a connection lives here, so that it can be tested without processes:
//!
//! - [`server::start`]: listen, negotiate, then run the debug shell ([`shell`]) or, with
//!   `--pty-exec`, a program on a pseudo-terminal (`pty`, Unix only) on each connection;
//! - [`client`]: copy standard input to the server and the server's data to standard
//!   output until the server closes ([`client::pump`]), or, on a terminal, the
//!   interactive client ([`interactive::interactive`], with [`terminal`] for the modes), or an
//!   external program as the client's shell ([`client::shell_exec`]);
//! - [`guard`]: the shell for connections that fail `--robot-check`;
//! - [`cli`]: flag value parsers, one-line usage errors;
//! - [`logging`]: `--logfile` and `--logfmt`, Python logging format strings;
//! - [`retro`]: the client's BBS helpers: keys for ATASCII and PETSCII, SyncTERM fonts.
//! - [`metrics_http`]: the `--metrics` endpoint Prometheus scrapes.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod cli;
pub mod client;
pub mod debug;
pub mod escape;
pub mod fingerprint;
pub mod guard;
#[cfg(unix)]
pub mod interactive;
pub mod logging;
pub mod metrics_http;
#[cfg(unix)]
pub mod pipe;
#[cfg(unix)]
mod process;
#[cfg(unix)]
pub mod pty;
pub mod relay;
pub mod retro;
pub mod server;
pub mod shell;
pub mod terminal;
