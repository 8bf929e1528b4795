//! The on-disk cache of synthesized speech: greetings, goodbyes and FAQ
//! answers are said again and again, so each is synthesized once per voice
//! and read back from `data/tts-cache/` afterwards (8 kHz mono WAV files named
//! by a stable hash of the voice and the text).
//!
//! Bounded: past `max_files` the oldest files are removed. Written
//! atomically (temporary file, then rename), so a crash never leaves a
//! half-written entry that would be played.

use std::path::{Path, PathBuf};

/// Bump when the stored audio changes (rate, format, synthesis settings).
const FORMAT: &str = "kefu-tts-1";

/// A cache folder for one voice.
#[derive(Debug, Clone)]
pub struct TtsCache {
    dir: PathBuf,
    voice: String,
    max_files: usize,
}

/// FNV-1a, 64 bits: stable across builds and platforms (unlike std's
/// hasher), which is what file names need.
fn fnv64(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

impl TtsCache {
    /// A cache in `dir` for `voice`, created if missing.
    pub fn open(dir: &Path, voice: &str, max_files: usize) -> std::io::Result<TtsCache> {
        std::fs::create_dir_all(dir)?;
        Ok(TtsCache {
            dir: dir.to_path_buf(),
            voice: voice.to_string(),
            max_files: max_files.max(1),
        })
    }

    fn path(&self, text: &str) -> PathBuf {
        let key = fnv64(&[FORMAT, &self.voice, text.trim()]);
        self.dir.join(format!("{key:016x}.wav"))
    }

    /// The cached 8 kHz audio of `text`, if any.
    pub fn get(&self, text: &str) -> Option<Vec<i16>> {
        let reader = hound::WavReader::open(self.path(text)).ok()?;
        let spec = reader.spec();
        if spec.sample_rate != 8000 || spec.channels != 1 || spec.bits_per_sample != 16 {
            return None;
        }
        reader.into_samples::<i16>().collect::<Result<_, _>>().ok()
    }

    /// Stores the 8 kHz audio of `text`; failures only cost the next
    /// synthesis, so they are logged, not returned.
    pub fn put(&self, text: &str, samples: &[i16]) {
        let path = self.path(text);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let written = (|| -> Result<(), hound::Error> {
            let mut w = hound::WavWriter::create(&tmp, spec)?;
            for s in samples {
                w.write_sample(*s)?;
            }
            w.finalize()
        })();
        match written
            .map_err(|e| e.to_string())
            .and_then(|()| std::fs::rename(&tmp, &path).map_err(|e| e.to_string()))
        {
            Ok(()) => self.trim(),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                tracing::warn!(file = %path.display(), error = %e, "cannot store synthesized speech");
            }
        }
    }

    /// Removes the oldest entries past `max_files`.
    fn trim(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "wav"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if files.len() <= self.max_files {
            return;
        }
        files.sort();
        let excess = files.len() - self.max_files;
        for (_, p) in files.into_iter().take(excess) {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_reads_back_per_voice_and_text() {
        let dir = tempfile::tempdir().expect("dir");
        let joe = TtsCache::open(dir.path(), "joe", 10).expect("open");
        let other = TtsCache::open(dir.path(), "other", 10).expect("open");
        assert_eq!(joe.get("Hello."), None);
        joe.put("Hello.", &[1, 2, 3]);
        assert_eq!(joe.get("Hello."), Some(vec![1, 2, 3]));
        assert_eq!(
            joe.get(" Hello. "),
            Some(vec![1, 2, 3]),
            "trimmed text, same entry"
        );
        assert_eq!(other.get("Hello."), None, "another voice");
        assert_eq!(joe.get("Goodbye."), None);
    }

    #[test]
    fn stays_within_its_size() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TtsCache::open(dir.path(), "joe", 3).expect("open");
        for i in 0..6 {
            c.put(&format!("text {i}"), &[i]);
        }
        let n = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(n, 3);
    }

    #[test]
    fn keys_are_stable() {
        // File names must not change between builds: a changed hash would
        // silently orphan every entry.
        assert_eq!(fnv64(&["a"]), 0x089b_e207_b544_f1e4);
    }
}
