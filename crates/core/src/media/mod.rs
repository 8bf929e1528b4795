//! Sample-level media: G.711 companding, sample-rate conversion, tones.
//! Works on 16-bit linear PCM, mono. Knows nothing of RTP or calls.

pub mod codec;
pub mod g711;
#[cfg(feature = "opus")]
pub mod opus;
pub mod resample;
pub mod tone;

/// A sample rate or clock rate in hertz (samples or RTP ticks per second).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hz(pub u32);
