//! The SDP layer's error type: what went wrong with a session description
//! and which SIP reply it earns.
//!
//! Owns [`SdpError`]. Parse failures are the peer's fault and map to
//! `400 Bad Request` (RFC 3261 §21.4.1); offers that parse but cannot be
//! answered map to `488 Not Acceptable Here` (RFC 3261 §21.4.26, RFC 3264
//! §6); local misconfiguration maps to `500`. This module does not build the
//! SIP reply itself (no `Warning` header, no `Accept`): that is the
//! signalling layer's job.

use thiserror::Error;

/// Why a session description could not be parsed or answered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body exceeds [`MAX_SDP_LEN`](super::MAX_SDP_LEN) bytes (peer's fault).
    #[error("SDP body of {len} bytes exceeds the limit")]
    TooLarge {
        /// Size of the rejected body in bytes.
        len: usize,
    },
    /// The body has more than [`MAX_MEDIA`](super::MAX_MEDIA) `m=` lines
    /// (peer's fault).
    #[error("SDP has more than {max} media descriptions")]
    TooManyMedia {
        /// The limit that was exceeded.
        max: usize,
    },
    /// A required line (`v=`, `o=` or `s=`, RFC 4566 §5) is missing
    /// (peer's fault).
    #[error("SDP lacks the required {kind}= line")]
    MissingLine {
        /// The type letter of the missing line.
        kind: char,
    },
    /// A line does not follow the RFC 4566 §5 grammar for its type
    /// (peer's fault).
    #[error("malformed SDP line {line} ({what})")]
    Malformed {
        /// 1-based line number in the body.
        line: usize,
        /// What was wrong, for logs.
        what: &'static str,
    },
    /// The offer has no audio media description at all (peer's fault).
    #[error("offer has no audio stream")]
    NoAudio,
    /// Every audio media description in the offer has port 0 (RFC 3264 §5.1).
    #[error("every audio stream in the offer is disabled (port 0)")]
    AudioDisabled,
    /// The only usable audio streams require SRTP (`RTP/SAVP`, `RTP/SAVPF`,
    /// `UDP/TLS/RTP/SAVPF`), which kefu does not implement.
    #[error("offer requires SRTP ({profile}), which is not supported")]
    SrtpRequired {
        /// The transport profile of the offered stream.
        profile: String,
    },
    /// The audio streams use a transport other than RTP/AVP or RTP/AVPF.
    #[error("unsupported media transport {profile}")]
    UnsupportedProfile {
        /// The transport profile of the offered stream.
        profile: String,
    },
    /// No audio codec in the offer is one that kefu supports and has enabled.
    #[error("no codec in common with the offer")]
    NoCommonCodec,
    /// The chosen audio stream has no `c=` line, neither at media nor at
    /// session level (RFC 4566 §5.7 requires one).
    #[error("offered audio stream has no connection address")]
    NoConnection,
    /// The connection address is not an IP literal matching its address type
    /// (a host name cannot be resolved without I/O).
    #[error("offered connection address is not a usable IP address")]
    UnusableAddress,
    /// The local capabilities enable no codec: operator configuration error.
    #[error("no local codec is enabled")]
    NoLocalCodecs,
}

impl SdpError {
    /// The SIP status code that answers an INVITE (or re-INVITE) carrying
    /// the offending SDP: 400 for unparseable bodies, 488 for unusable
    /// offers, 500 for local misconfiguration.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge { .. }
            | Self::TooManyMedia { .. }
            | Self::MissingLine { .. }
            | Self::Malformed { .. } => 400,
            Self::NoAudio
            | Self::AudioDisabled
            | Self::SrtpRequired { .. }
            | Self::UnsupportedProfile { .. }
            | Self::NoCommonCodec
            | Self::NoConnection
            | Self::UnusableAddress => 488,
            Self::NoLocalCodecs => 500,
        }
    }
}
