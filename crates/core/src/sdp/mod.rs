//! SDP (RFC 4566) and the offer/answer model (RFC 3264).
//!
//! - `parse`: the [`SessionDescription`] model and its tolerant-but-strict
//!   parser, with size limits ([`MAX_SDP_LEN`], [`MAX_MEDIA`]).
//! - `grammar`: one total function per RFC 4566 §5 line production.
//! - `write`: `Display` for the model, CRLF line ends; print then parse
//!   gives back an equal value.
//! - [`negotiate`]: the answerer ([`answer`]) choosing one audio stream and
//!   codec, kefu's own [`offer`], and hold detection ([`hold_state`]).
//! - [`SdpError`]: every failure, with the SIP status it earns (400 for
//!   unparseable bodies, 488 for unusable offers).
//!
//! This module does no I/O and reads no clock; it does not resolve host
//! names, implement SRTP/DTLS/ICE, or parse the answer to kefu's own offer.

mod error;
mod grammar;
pub mod negotiate;
pub mod parse;
mod write;

pub use error::SdpError;
pub use negotiate::{answer, hold_state, offer, Codec, LocalCaps, LocalMedia, Negotiated};
pub use parse::{
    AddrType, Attribute, Connection, Direction, MediaDescription, MediaKind, Origin, RtpMap,
    SessionDescription, Timing, MAX_MEDIA, MAX_SDP_LEN,
};

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
