//! Small measurements on PCM for assertions: splitting the recording's
//! channels, loudness, and counting silent frames.

/// Splits interleaved stereo into (left, right): for recordings, (caller,
/// agent).
pub fn split_stereo(interleaved: &[i16]) -> (Vec<i16>, Vec<i16>) {
    let left = interleaved.iter().step_by(2).copied().collect();
    let right = interleaved.iter().skip(1).step_by(2).copied().collect();
    (left, right)
}

/// Root mean square of `pcm` (0 for no samples).
pub fn rms(pcm: &[i16]) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    let sum: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / pcm.len() as f64).sqrt()
}

/// True when no sample exceeds `threshold` in magnitude.
pub fn is_silent(pcm: &[i16], threshold: i16) -> bool {
    pcm.iter()
        .all(|s| s.unsigned_abs() <= threshold.unsigned_abs())
}

/// Frames of `frame` samples in `pcm` that are entirely zero.
pub fn zero_frames(pcm: &[i16], frame: usize) -> usize {
    pcm.chunks_exact(frame)
        .filter(|f| f.iter().all(|&s| s == 0))
        .count()
}

/// Power of `freq` Hz in `pcm` at `rate` (Goertzel), normalised by length.
pub fn tone_power(pcm: &[i16], freq: u32, rate: u32) -> f64 {
    if pcm.is_empty() || rate == 0 {
        return 0.0;
    }
    let w = std::f64::consts::TAU * f64::from(freq) / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in pcm {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    power / (pcm.len() as f64 * pcm.len() as f64)
}

/// The candidate frequency with the most power in `pcm` (8 kHz).
pub fn dominant(pcm: &[i16], candidates: &[u32]) -> Option<u32> {
    candidates
        .iter()
        .copied()
        .map(|f| (f, tone_power(pcm, f, 8000)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_measures() {
        let (l, r) = split_stereo(&[1, 2, 3, 4]);
        assert_eq!((l, r), (vec![1, 3], vec![2, 4]));
        assert_eq!(rms(&[3, -3]), 3.0);
        assert!(is_silent(&[0, 1, -1], 1));
        assert_eq!(zero_frames(&[0, 0, 1, 0], 2), 1);
        let t = crate::fixture::tone(700, std::time::Duration::from_millis(100));
        assert_eq!(dominant(&t, &[500, 700, 900]), Some(700));
    }
}
