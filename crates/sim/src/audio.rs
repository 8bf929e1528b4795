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
    pcm.iter().all(|s| s.unsigned_abs() <= threshold.unsigned_abs())
}

/// Frames of `frame` samples in `pcm` that are entirely zero.
pub fn zero_frames(pcm: &[i16], frame: usize) -> usize {
    pcm.chunks_exact(frame)
        .filter(|f| f.iter().all(|&s| s == 0))
        .count()
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
    }
}
