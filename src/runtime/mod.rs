//! The tokio shell's runtime: media worker threads (the only clock reads
//! on the media path), the RTP port pool, the recorder thread and the
//! process-wide metrics.

pub mod media;
pub mod metrics;
pub mod ports;
pub mod ready;
pub mod recorder;
#[cfg(feature = "speech")]
pub mod speech;
pub mod tts_cache;
