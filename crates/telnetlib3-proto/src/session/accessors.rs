//! Each option family's public face on [`Session`]: its requests and getters. They live
//! here, above the families, so that no family knows the session; each block works on
//! the family's state and the link layer through the family's own helpers.

mod charset;
mod environ;
mod lflow;
mod linemode;
mod mccp;
mod mud;
mod naws;
mod sndloc;
mod status;
mod timing_mark;
mod tspeed;
mod ttype;
mod xdisploc;
