//! The fallback synthesizer: the `espeak-ng` program speaking a whole text
//! as a WAV on its standard output, for languages that have no Piper voice
//! (Mandarin: `cmn-latn-pinyin` reads pinyin better than `cmn`).
//!
//! espeak-ng is GPL-3 and runs as a separate program, never linked. It is
//! robotic but small and fast (~10 ms per sentence), so the whole text is one
//! run and one [`Chunk`]. Its WAV header gives a placeholder length (it
//! streams), so the `data` chunk is read to the end of the output instead of
//! trusting it.

use super::tts::{Chunk, Synthesizer, TtsError};

/// A [`Synthesizer`] that runs `espeak-ng -v VOICE --stdout`.
#[derive(Debug, Clone)]
pub struct EspeakSynth {
    voice: String,
    program: String,
    /// From the WAV header of a probe run (22,050 Hz for espeak voices).
    rate: u32,
}

impl EspeakSynth {
    /// For an espeak-ng voice name (`en-us`, `cmn`, `cmn-latn-pinyin` …).
    /// Checks that the program runs and knows the voice.
    pub fn new(voice: &str) -> Result<Self, TtsError> {
        let program = std::env::var("KEFU_ESPEAK").unwrap_or_else(|_| "espeak-ng".into());
        let mut s = Self {
            voice: voice.to_owned(),
            program,
            rate: 0,
        };
        s.rate = s.run("")?.0;
        Ok(s)
    }

    /// The WAV rate and samples for `text`.
    fn run(&self, text: &str) -> Result<(u32, Vec<i16>), TtsError> {
        let stdout = super::phonemize::run_espeak(&self.program, &["--stdout"], &self.voice, text)?;
        wav_samples(&stdout)
            .ok_or_else(|| TtsError::Espeak(format!("voice `{}`: output is not a WAV", self.voice)))
    }
}

/// The rate and 16-bit mono samples of a WAV whose `data` length may be a
/// placeholder: everything after the `data` chunk header.
fn wav_samples(wav: &[u8]) -> Option<(u32, Vec<i16>)> {
    if wav.get(0..4)? != b"RIFF" || wav.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut pos = 12;
    let mut rate = None;
    loop {
        let id = wav.get(pos..pos + 4)?;
        let len = u32::from_le_bytes(wav.get(pos + 4..pos + 8)?.try_into().ok()?) as usize;
        pos += 8;
        if id == b"fmt " {
            // PCM, mono, 16-bit: format 1, channels 1, bits 16.
            let f = wav.get(pos..pos + 16)?;
            if f[0..4] != [1, 0, 1, 0] || f[14..16] != [16, 0] {
                return None;
            }
            rate = Some(u32::from_le_bytes(f[4..8].try_into().ok()?));
        }
        if id == b"data" {
            let data = wav.get(pos..)?;
            let samples = data
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            return Some((rate?, samples));
        }
        pos = pos.checked_add(len + (len & 1))?;
    }
}

impl Synthesizer for EspeakSynth {
    fn synthesize(&self, text: &str, sink: &mut dyn FnMut(Chunk) -> bool) -> Result<(), TtsError> {
        if !text.chars().any(char::is_alphanumeric) {
            return Ok(());
        }
        let (_, samples) = self.run(text)?;
        if !samples.is_empty() {
            sink(Chunk {
                samples,
                clause_end: true,
            });
        }
        Ok(())
    }

    fn sample_rate(&self) -> u32 {
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_data_past_a_placeholder_length() {
        let mut wav = b"RIFF\xff\xff\xff\x7fWAVEfmt \x10\x00\x00\x00".to_vec();
        wav.extend([1, 0, 1, 0, 0x22, 0x56, 0, 0, 0x44, 0xac, 0, 0, 2, 0, 16, 0]);
        wav.extend(b"data\x00\xf0\xff\x7f");
        wav.extend([1, 0, 0xff, 0xff]);
        assert_eq!(wav_samples(&wav), Some((22050, vec![1, -1])));
        assert_eq!(wav_samples(b"junk"), None);
    }
}
