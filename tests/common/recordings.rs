//! Real recorded speech for the speech tests: Debian's
//! `pocketsphinx-testdata` (CMU, BSD-2-Clause; its LibriVox readings are
//! public domain), installed by `make deps`.

use std::path::{Path, PathBuf};

use kefu_core::media::g711::{ulaw_decode, ulaw_encode};
use kefu_core::media::resample::resample;
use kefu_core::media::Hz;

/// Where the package puts its recordings.
pub const DATA: &str = "/usr/share/pocketsphinx/test/data";

/// A recording's path.
pub fn path(name: &str) -> PathBuf {
    Path::new(DATA).join(name)
}

/// Whether `files` are all here; panics naming the missing ones and the
/// fix, unless KEFU_SKIP_MODEL_TESTS is set (then false).
pub fn present(files: &[PathBuf]) -> bool {
    let missing: Vec<&PathBuf> = files.iter().filter(|p| !p.is_file()).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("KEFU_SKIP_MODEL_TESTS").is_some() {
        eprintln!("skipped: {missing:?} missing and KEFU_SKIP_MODEL_TESTS is set");
        return false;
    }
    panic!(
        "{missing:?} missing: run `make models` and `make deps` (pocketsphinx-testdata), \
         or set KEFU_SKIP_MODEL_TESTS=1"
    );
}

/// A 16 kHz 16-bit raw recording (`*.raw`) as samples.
pub fn raw_16k(name: &str) -> Vec<i16> {
    let bytes = std::fs::read(path(name)).expect("recording");
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// 16 kHz audio as a phone line delivers it: 8 kHz, through µ-law.
pub fn phone_line(pcm_16k: &[i16]) -> Vec<i16> {
    let narrow = resample(Hz(16000), Hz(8000), pcm_16k).expect("resample");
    narrow
        .into_iter()
        .map(|s| ulaw_decode(ulaw_encode(s)))
        .collect()
}
