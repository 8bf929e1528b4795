//! The voice codec of one call, behind one type: [`AudioCodec`] turns kefu's
//! internal audio (16-bit linear PCM, mono, 8 kHz, 20 ms frames of
//! [`FRAME_8K`] samples) into RTP payloads and back, whatever was negotiated.
//!
//! Owns the choice between G.711 (always built; RFC 3551 §4.5.14) and Opus
//! (RFC 7587, only with the `opus` cargo feature; see `media::opus`), the
//! RTP clock rate and timestamp step each one implies, and packet-loss
//! concealment: silence for G.711, the decoder's own concealment for Opus.
//!
//! It does not packetise RTP, de-jitter, or pick the codec (that is
//! [`crate::sdp`]'s offer/answer).

use super::g711::{self, Law};
use crate::sdp::Codec;

/// Samples in one 20 ms frame of kefu's internal 8 kHz audio.
pub const FRAME_8K: usize = 160;

/// Why a codec could not be built or could not code a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The codec was negotiated but this build cannot run it (Opus without
    /// the `opus` cargo feature): the build's or operator's fault, since
    /// [`crate::sdp::LocalCaps`] should not have offered or accepted it.
    #[error("codec {} is not supported by this build", .0.encoding_name())]
    Unsupported(Codec),
    /// A received payload is not a valid packet of the codec: the peer's
    /// fault; the caller drops it and conceals.
    #[error("malformed {} payload", .0.encoding_name())]
    Malformed(Codec),
    /// The frame given to `encode` has a length the codec cannot packetise:
    /// API misuse.
    #[error("cannot encode a frame of {0} samples")]
    FrameSize(usize),
    /// The codec library itself failed (out of memory, internal error).
    #[error("codec library failed in {call}: {reason}")]
    Library {
        /// The library function that failed.
        call: &'static str,
        /// The library's description of the failure.
        reason: &'static str,
    },
}

/// One call's encoder and decoder state for the negotiated codec.
#[derive(Debug)]
#[non_exhaustive]
pub enum AudioCodec {
    /// G.711 at 8 kHz: stateless, one byte per sample.
    G711(Law),
    /// Opus at 48 kHz (RFC 7587), resampled to and from 8 kHz.
    #[cfg(feature = "opus")]
    Opus(Box<super::opus::OpusCodec>),
}

impl AudioCodec {
    /// The coder for `codec`.
    ///
    /// # Errors
    /// [`CodecError::Unsupported`] for Opus in a build without the `opus`
    /// feature; [`CodecError::Library`] if libopus cannot set up its state.
    pub fn new(codec: Codec) -> Result<Self, CodecError> {
        match codec {
            Codec::Pcmu => Ok(Self::G711(Law::Mu)),
            Codec::Pcma => Ok(Self::G711(Law::A)),
            #[cfg(feature = "opus")]
            Codec::Opus => Ok(Self::Opus(Box::new(super::opus::OpusCodec::new()?))),
            #[cfg(not(feature = "opus"))]
            Codec::Opus => Err(CodecError::Unsupported(codec)),
        }
    }

    /// The SDP codec this coder implements.
    pub fn codec(&self) -> Codec {
        match self {
            Self::G711(Law::Mu) => Codec::Pcmu,
            Self::G711(Law::A) => Codec::Pcma,
            #[cfg(feature = "opus")]
            Self::Opus(_) => Codec::Opus,
        }
    }

    /// RTP clock rate in Hz: 8000 for G.711, 48000 for Opus (RFC 7587 §4.1,
    /// whatever the audio bandwidth).
    pub fn clock_rate(&self) -> u32 {
        self.codec().clock_rate()
    }

    /// RTP timestamp units in one 20 ms frame: 160 for G.711, 960 for Opus.
    pub fn frame_samples(&self) -> u32 {
        self.clock_rate() / 50
    }

    /// Encodes one frame of 8 kHz PCM (normally [`FRAME_8K`] samples),
    /// appending the RTP payload to `out`.
    ///
    /// # Errors
    /// [`CodecError::FrameSize`] when Opus is given a length that is not
    /// 2.5, 5, 10, 20, 40 or 60 ms; [`CodecError::Library`] if libopus fails.
    pub fn encode(&mut self, pcm_8k: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        match self {
            Self::G711(law) => {
                g711::encode(*law, pcm_8k, out);
                Ok(())
            }
            #[cfg(feature = "opus")]
            Self::Opus(c) => c.encode(pcm_8k, out),
        }
    }

    /// Checks that a received payload can be decoded, without touching the
    /// decoder state, so the receive path can drop it as malformed before it
    /// is buffered. G.711 accepts any bytes.
    ///
    /// # Errors
    /// [`CodecError::Malformed`] for a payload the decoder would reject.
    pub fn check(&self, payload: &[u8]) -> Result<(), CodecError> {
        match self {
            Self::G711(_) => {
                let _ = payload;
                Ok(())
            }
            #[cfg(feature = "opus")]
            Self::Opus(_) => super::opus::check(payload),
        }
    }

    /// Decodes one RTP payload, appending 8 kHz PCM to `out` (160 samples for
    /// a 20 ms packet).
    ///
    /// # Errors
    /// [`CodecError::Malformed`] for a payload that is not a valid packet;
    /// nothing is appended then, and the caller should [`Self::conceal`].
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        match self {
            Self::G711(law) => {
                g711::decode(*law, payload, out);
                Ok(())
            }
            #[cfg(feature = "opus")]
            Self::Opus(c) => c.decode(payload, out),
        }
    }

    /// Appends one 20 ms frame ([`FRAME_8K`] samples) standing in for a lost
    /// packet: silence for G.711, libopus's concealment for Opus.
    pub fn conceal(&mut self, out: &mut Vec<i16>) {
        match self {
            Self::G711(_) => out.resize(out.len() + FRAME_8K, 0),
            #[cfg(feature = "opus")]
            Self::Opus(c) => c.conceal(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn g711_clock_and_step() -> Result<(), CodecError> {
        for (codec, law) in [(Codec::Pcmu, Law::Mu), (Codec::Pcma, Law::A)] {
            let c = AudioCodec::new(codec)?;
            assert!(matches!(c, AudioCodec::G711(l) if l == law));
            assert_eq!(c.codec(), codec);
            assert_eq!((c.clock_rate(), c.frame_samples()), (8000, 160));
        }
        Ok(())
    }

    #[cfg(not(feature = "opus"))]
    #[test]
    fn opus_without_the_feature_is_unsupported() {
        assert_eq!(
            AudioCodec::new(Codec::Opus).err(),
            Some(CodecError::Unsupported(Codec::Opus))
        );
    }

    #[cfg(feature = "opus")]
    #[test]
    fn opus_clock_and_step() -> Result<(), CodecError> {
        let c = AudioCodec::new(Codec::Opus)?;
        assert_eq!(c.codec(), Codec::Opus);
        assert_eq!((c.clock_rate(), c.frame_samples()), (48_000, 960));
        Ok(())
    }

    #[test]
    fn g711_conceals_with_one_frame_of_silence() -> Result<(), CodecError> {
        let mut c = AudioCodec::new(Codec::Pcma)?;
        let mut out = vec![5i16; 3];
        c.conceal(&mut out);
        assert_eq!(out.len(), 3 + FRAME_8K);
        assert!(out[3..].iter().all(|&s| s == 0));
        Ok(())
    }

    proptest! {
        #[test]
        fn g711_is_bit_exact_with_the_g711_module(
            pcm in proptest::collection::vec(any::<i16>(), 0..400),
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            for (codec, law) in [(Codec::Pcmu, Law::Mu), (Codec::Pcma, Law::A)] {
                let mut c = AudioCodec::new(codec).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let (mut ours, mut theirs) = (vec![1u8], vec![1u8]);
                prop_assert!(c.encode(&pcm, &mut ours).is_ok());
                g711::encode(law, &pcm, &mut theirs);
                prop_assert_eq!(ours, theirs);
                prop_assert!(c.check(&bytes).is_ok());
                let (mut ours, mut theirs) = (vec![2i16], vec![2i16]);
                prop_assert!(c.decode(&bytes, &mut ours).is_ok());
                g711::decode(law, &bytes, &mut theirs);
                prop_assert_eq!(ours, theirs);
            }
        }
    }
}
