//! Reads the WAV files operators and callers hand kefu: PCM 8/16/24/32-bit,
//! 32-bit float, G.711 µ-law and A-law (format tags 1, 3, 7, 6, and
//! WAVE_FORMAT_EXTENSIBLE around them), any channel count (mixed to mono),
//! any rate (left to the caller to resample).
//!
//! `hound` writes kefu's recordings; it cannot read G.711 WAVs, which is what
//! telephone recordings usually are, hence this reader.

use kefu_core::media::g711;

/// A decoded WAV: mono samples and their rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wav {
    /// Mono 16-bit samples.
    pub samples: Vec<i16>,
    /// Samples per second.
    pub rate: u32,
}

/// Why a WAV could not be read; whose fault: the file's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WavError {
    /// Not a RIFF/WAVE file.
    #[error("not a WAV file (no RIFF/WAVE header)")]
    NotWav,
    /// No `fmt ` or `data` chunk.
    #[error("WAV file has no {0} chunk")]
    MissingChunk(&'static str),
    /// An encoding this reader does not know.
    #[error("unsupported WAV encoding: format tag {tag}, {bits} bits")]
    Unsupported {
        /// The format tag.
        tag: u16,
        /// Bits per sample.
        bits: u16,
    },
    /// Values that make no sense (no channels, zero rate).
    #[error("malformed WAV header: {0}")]
    Malformed(&'static str),
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Decodes a whole WAV file held in memory.
pub fn decode(bytes: &[u8]) -> Result<Wav, WavError> {
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(WavError::NotWav);
    }
    let mut fmt: Option<&[u8]> = None;
    let mut data: Option<&[u8]> = None;
    let mut at = 12;
    while let (Some(id), Some(len)) = (bytes.get(at..at + 4), u32_at(bytes, at + 4)) {
        let start = at + 8;
        // A data chunk whose length runs past the end (a recording cut by a
        // crash) is read as far as it goes.
        let end = start.saturating_add(len as usize).min(bytes.len());
        let body = &bytes[start.min(end)..end];
        match id {
            b"fmt " => fmt = Some(body),
            b"data" => data = Some(body),
            _ => {}
        }
        at = end + (len as usize & 1);
        if at <= start.saturating_sub(8) {
            break;
        }
    }
    let fmt = fmt.ok_or(WavError::MissingChunk("fmt "))?;
    let data = data.ok_or(WavError::MissingChunk("data"))?;
    let mut tag = u16_at(fmt, 0).ok_or(WavError::Malformed("short fmt chunk"))?;
    let channels = u16_at(fmt, 2).ok_or(WavError::Malformed("short fmt chunk"))?;
    let rate = u32_at(fmt, 4).ok_or(WavError::Malformed("short fmt chunk"))?;
    let bits = u16_at(fmt, 14).ok_or(WavError::Malformed("short fmt chunk"))?;
    if tag == 0xFFFE {
        // WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID.
        tag = u16_at(fmt, 24).ok_or(WavError::Malformed("short extensible fmt chunk"))?;
    }
    if channels == 0 || rate == 0 {
        return Err(WavError::Malformed("zero channels or zero sample rate"));
    }
    let width = match (tag, bits) {
        (1, 8) | (6, 8) | (7, 8) => 1,
        (1, 16) => 2,
        (1, 24) => 3,
        (1, 32) | (3, 32) => 4,
        _ => return Err(WavError::Unsupported { tag, bits }),
    };
    let sample = |s: &[u8]| -> i16 {
        match (tag, width) {
            (7, _) => g711::ulaw_decode(s[0]),
            (6, _) => g711::alaw_decode(s[0]),
            (1, 1) => (i16::from(s[0]) - 128) << 8,
            (1, 2) => i16::from_le_bytes([s[0], s[1]]),
            (1, 3) => i16::from_le_bytes([s[1], s[2]]),
            (1, 4) => i16::from_le_bytes([s[2], s[3]]),
            _ => {
                let f = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                (f.clamp(-1.0, 1.0) * 32767.0) as i16
            }
        }
    };
    let frame = width * channels as usize;
    let samples = data
        .chunks_exact(frame)
        .map(|f| {
            let sum: i32 = f.chunks_exact(width).map(|s| i32::from(sample(s))).sum();
            (sum / i32::from(channels)) as i16
        })
        .collect();
    Ok(Wav { samples, rate })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_core::media::g711::Law;

    fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        let align = channels * bits / 8;
        v.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        v.extend_from_slice(&align.to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reads_pcm16_stereo_as_mono() {
        let d: Vec<u8> = [1000i16, 3000, -2000, -4000]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let w = decode(&wav(1, 2, 16000, 16, &d)).expect("wav");
        assert_eq!(
            w,
            Wav {
                samples: vec![2000, -3000],
                rate: 16000
            }
        );
    }

    #[test]
    fn reads_ulaw_and_alaw() {
        let mut mu = Vec::new();
        g711::encode(Law::Mu, &[0, 8000, -8000], &mut mu);
        let w = decode(&wav(7, 1, 8000, 8, &mu)).expect("ulaw");
        assert_eq!(w.rate, 8000);
        assert!(
            (i32::from(w.samples[1]) - 8000).abs() < 300,
            "{:?}",
            w.samples
        );
        let mut a = Vec::new();
        g711::encode(Law::A, &[-8000], &mut a);
        let w = decode(&wav(6, 1, 8000, 8, &a)).expect("alaw");
        assert!((i32::from(w.samples[0]) + 8000).abs() < 300);
    }

    #[test]
    fn reads_float_and_24_bit() {
        let f: Vec<u8> = [0.5f32, -0.5]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let w = decode(&wav(3, 1, 48000, 32, &f)).expect("float");
        assert_eq!(w.samples, vec![16383, -16383]);
        let w = decode(&wav(1, 1, 44100, 24, &[0, 0x10, 0x20])).expect("24");
        assert_eq!(w.samples, vec![0x2010]);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert_eq!(decode(b"nope"), Err(WavError::NotWav));
        assert_eq!(
            decode(&wav(85, 1, 8000, 16, &[0, 0])),
            Err(WavError::Unsupported { tag: 85, bits: 16 })
        );
        let mut cut = wav(1, 1, 8000, 16, &[1, 0, 2, 0, 3, 0]);
        cut.truncate(cut.len() - 2);
        assert_eq!(decode(&cut).expect("cut").samples, vec![1, 2]);
        let full = wav(1, 1, 8000, 16, &[1, 2, 3, 4]);
        for n in 0..=full.len() {
            let _ = decode(&full[..n]);
        }
    }
}
