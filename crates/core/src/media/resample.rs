//! Streaming sample-rate conversion between the rates a call meets: 8 kHz
//! (G.711), 16 kHz (ASR), 22.05 kHz (TTS voices), 48 kHz (Opus), and the other
//! common rates in [`SUPPORTED_RATES`].
//!
//! Owns one design: a rational polyphase FIR. The ratio `to/from` is reduced
//! by the gcd to `L/M` (22050 -> 8000 is 160/441); output sample `n` sits at
//! input time `n*M/L` and is the dot product of the input history with one of
//! `L` phases of a Kaiser-windowed sinc low-pass whose cutoff is just below
//! `min(from, to)/2`. The filter spans 32 input samples when upsampling and
//! `32 * from/to` when downsampling, so the transition band scales with the
//! output rate (48 k -> 8 k uses 192 taps per phase). Arithmetic is `f32`.
//!
//! The converter is causal: it delays the signal by half the filter length
//! (at most 2 ms) and never waits for look-ahead, so `n` input samples always
//! yield exactly `ceil(total_in * L / M)` output samples in total, however the
//! input is chunked. It does not do mixing, channel conversion or dithering.

use super::Hz;

/// The sample rates [`Resampler::new`] accepts, in either direction.
pub const SUPPORTED_RATES: [Hz; 9] = [
    Hz(8_000),
    Hz(11_025),
    Hz(12_000),
    Hz(16_000),
    Hz(22_050),
    Hz(24_000),
    Hz(32_000),
    Hz(44_100),
    Hz(48_000),
];

/// Filter span, in input samples, when upsampling (the narrowest case).
const BASE_TAPS: usize = 32;
/// Cutoff as a fraction of the lower of the two rates (0.5 would be Nyquist).
const CUTOFF: f64 = 0.46;
/// Kaiser window shape: about 60 dB of stop-band attenuation.
const KAISER_BETA: f64 = 6.0;

/// Why a [`Resampler`] cannot be built. Always the caller's (API misuse or
/// operator configuration) fault: rates come from config and SDP, not audio.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResampleError {
    /// A rate of 0 Hz was given.
    #[error("sample rate must not be zero")]
    ZeroRate,
    /// The rate is not one of [`SUPPORTED_RATES`].
    #[error("unsupported sample rate {} Hz", .0 .0)]
    UnsupportedRate(Hz),
}

/// A streaming converter from one sample rate to another; keeps the filter
/// history between [`Resampler::process`] calls.
#[derive(Clone)]
pub struct Resampler {
    from: Hz,
    to: Hz,
    /// Interpolation factor (number of filter phases).
    up: usize,
    /// Decimation factor.
    down: usize,
    /// Taps per phase (a multiple of 8).
    taps: usize,
    /// `up` phases of `taps` coefficients each, stored time-reversed so each
    /// output is a forward dot product with a contiguous history window.
    coefs: Vec<f32>,
    /// Input history; starts with `taps - 1` zeros of pre-roll.
    hist: Vec<f32>,
    /// Index in `hist` of the newest input sample the next output needs.
    idx: usize,
    /// Phase (0..up) of the next output.
    phase: usize,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("up", &self.up)
            .field("down", &self.down)
            .field("taps", &self.taps)
            .finish_non_exhaustive()
    }
}

fn check_rate(rate: Hz) -> Result<(), ResampleError> {
    if rate.0 == 0 {
        Err(ResampleError::ZeroRate)
    } else if SUPPORTED_RATES.contains(&rate) {
        Ok(())
    } else {
        Err(ResampleError::UnsupportedRate(rate))
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Zeroth-order modified Bessel function of the first kind (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..50 {
        let kf = f64::from(k);
        term *= (half / kf) * (half / kf);
        sum += term;
        if term < sum * 1e-12 {
            break;
        }
    }
    sum
}

/// Builds the time-reversed polyphase table, each phase normalised to unit
/// DC gain so a constant input stays constant.
fn design(up: usize, taps: usize, cutoff: f64) -> Vec<f32> {
    let half = taps as f64 / 2.0;
    let i0_beta = bessel_i0(KAISER_BETA);
    let mut coefs = Vec::with_capacity(up * taps);
    let mut phase = vec![0f64; taps];
    for p in 0..up {
        for (q, c) in phase.iter_mut().enumerate() {
            // Tap q of the window multiplies input x[i - (taps-1-q)], which lies
            // tau input samples before the (delayed) output instant.
            let j = (taps - 1 - q) as f64;
            let tau = j + p as f64 / up as f64 - half;
            let r = tau / half;
            let window = if r.abs() >= 1.0 {
                0.0
            } else {
                bessel_i0(KAISER_BETA * (1.0 - r * r).sqrt()) / i0_beta
            };
            let arg = 2.0 * cutoff * tau;
            let sinc = if arg.abs() < 1e-12 {
                1.0
            } else {
                (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
            };
            *c = 2.0 * cutoff * sinc * window;
        }
        let sum: f64 = phase.iter().sum();
        let norm = if sum.abs() > 1e-9 { 1.0 / sum } else { 1.0 };
        coefs.extend(phase.iter().map(|c| (c * norm) as f32));
    }
    coefs
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for ((s, xa), yb) in acc.iter_mut().zip(x).zip(y) {
            *s += xa * yb;
        }
    }
    acc.iter().sum()
}

impl Resampler {
    /// Builds a converter from `from` to `to`; both must be in
    /// [`SUPPORTED_RATES`]. Equal rates give a pass-through.
    pub fn new(from: Hz, to: Hz) -> Result<Self, ResampleError> {
        check_rate(from)?;
        check_rate(to)?;
        let g = gcd(from.0, to.0);
        let up = (to.0 / g) as usize;
        let down = (from.0 / g) as usize;
        let (taps, coefs) = if up == down {
            (1, Vec::new())
        } else {
            let span = BASE_TAPS as f64 * (f64::from(from.0) / f64::from(to.0)).max(1.0);
            let taps = (span.ceil() as usize).div_ceil(8) * 8;
            let cutoff = CUTOFF * f64::from(from.0.min(to.0)) / f64::from(from.0);
            (taps, design(up, taps, cutoff))
        };
        Ok(Self {
            from,
            to,
            up,
            down,
            taps,
            coefs,
            hist: vec![0.0; taps - 1],
            idx: taps - 1,
            phase: 0,
        })
    }

    /// The input rate.
    pub fn from_rate(&self) -> Hz {
        self.from
    }

    /// The output rate.
    pub fn to_rate(&self) -> Hz {
        self.to
    }

    /// Forgets the history, as if newly built (e.g. between two prompts).
    pub fn reset(&mut self) {
        self.hist.clear();
        self.hist.resize(self.taps - 1, 0.0);
        self.idx = self.taps - 1;
        self.phase = 0;
    }

    /// Converts `input`, appending the output samples to `out`. Chunked calls
    /// produce exactly the samples one call with the whole input would.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        if self.up == self.down {
            out.extend_from_slice(input);
            return;
        }
        self.hist.extend(input.iter().map(|&s| f32::from(s)));
        out.reserve(input.len() * self.up / self.down + 1);
        let n = self.taps;
        while self.idx < self.hist.len() {
            let start = self.idx + 1 - n;
            let c0 = self.phase * n;
            let (Some(window), Some(coefs)) =
                (self.hist.get(start..=self.idx), self.coefs.get(c0..c0 + n))
            else {
                break;
            };
            // `as` saturates, so loud overshoot clips instead of wrapping.
            out.push(dot(window, coefs).round() as i16);
            self.phase += self.down;
            self.idx += self.phase / self.up;
            self.phase %= self.up;
        }
        // Keep only the history the next output still needs.
        let drop = (self.idx + 1 - n).min(self.hist.len());
        self.hist.drain(..drop);
        self.idx -= drop;
    }
}

/// Converts a whole buffer from `from` to `to` in one go.
pub fn resample(from: Hz, to: Hz, input: &[i16]) -> Result<Vec<i16>, ResampleError> {
    let mut r = Resampler::new(from, to)?;
    let mut out = Vec::new();
    r.process(input, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAIN: [Hz; 4] = [Hz(8_000), Hz(16_000), Hz(22_050), Hz(48_000)];

    fn sine(freq: f64, rate: Hz, amp: f64, len: usize) -> Vec<i16> {
        (0..len)
            .map(|i| {
                let t = i as f64 / f64::from(rate.0);
                (amp * (2.0 * std::f64::consts::PI * freq * t).sin()).round() as i16
            })
            .collect()
    }

    /// Least-squares fit of a sine at `freq`; returns (amplitude, SNR in dB).
    fn fit(signal: &[i16], freq: f64, rate: Hz) -> (f64, f64) {
        let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate.0);
        let (mut ss, mut cc, mut sc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, &y) in signal.iter().enumerate() {
            let (s, c) = (w * i as f64).sin_cos();
            let y = f64::from(y);
            ss += s * s;
            cc += c * c;
            sc += s * c;
            ys += y * s;
            yc += y * c;
        }
        let det = ss * cc - sc * sc;
        let a = (ys * cc - yc * sc) / det;
        let b = (yc * ss - ys * sc) / det;
        let (mut sig, mut noise) = (0.0, 0.0);
        for (i, &y) in signal.iter().enumerate() {
            let (s, c) = (w * i as f64).sin_cos();
            let model = a * s + b * c;
            sig += model * model;
            noise += (f64::from(y) - model).powi(2);
        }
        (
            (a * a + b * b).sqrt(),
            10.0 * (sig / noise.max(1e-9)).log10(),
        )
    }

    fn power(signal: &[i16]) -> f64 {
        signal.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / signal.len().max(1) as f64
    }

    #[test]
    fn rejects_zero_and_unsupported_rates() {
        assert_eq!(
            Resampler::new(Hz(0), Hz(8000)).err(),
            Some(ResampleError::ZeroRate)
        );
        assert_eq!(
            Resampler::new(Hz(8000), Hz(12345)).err(),
            Some(ResampleError::UnsupportedRate(Hz(12345)))
        );
    }

    #[test]
    fn output_length_is_input_times_ratio() {
        for from in MAIN {
            for to in MAIN {
                for len in [0usize, 1, 7, 160, 441, 1000, 4410] {
                    let out = resample(from, to, &vec![100; len]).expect("supported");
                    let expect = (len as u64 * u64::from(to.0)).div_ceil(u64::from(from.0));
                    assert_eq!(out.len() as u64, expect, "{from:?}->{to:?} len {len}");
                }
            }
        }
    }

    #[test]
    fn one_khz_survives_48k_to_8k_and_back() {
        let input = sine(1000.0, Hz(48_000), 10_000.0, 48_000);
        let down = resample(Hz(48_000), Hz(8_000), &input).expect("supported");
        let up = resample(Hz(8_000), Hz(48_000), &down).expect("supported");
        // Skip the filters' start-up; fit over 100 whole cycles.
        let (amp, snr) = fit(&up[4_800..9_600], 1000.0, Hz(48_000));
        assert!(snr > 30.0, "snr {snr:.1} dB");
        assert!((amp / 10_000.0 - 1.0).abs() < 0.06, "amp {amp}");
    }

    #[test]
    fn one_khz_passes_every_pair_at_unit_gain() {
        for from in MAIN {
            for to in MAIN {
                let input = sine(1000.0, from, 8_000.0, from.0 as usize / 2);
                let out = resample(from, to, &input).expect("supported");
                let tail = &out[out.len() / 4..];
                let (amp, snr) = fit(tail, 1000.0, to);
                assert!(snr > 40.0, "{from:?}->{to:?} snr {snr:.1}");
                assert!(
                    (amp / 8_000.0 - 1.0).abs() < 0.06,
                    "{from:?}->{to:?} amp {amp}"
                );
            }
        }
    }

    #[test]
    fn six_khz_is_rejected_when_going_to_8k() {
        let input = sine(6000.0, Hz(48_000), 10_000.0, 48_000);
        let out = resample(Hz(48_000), Hz(8_000), &input).expect("supported");
        let attenuation = 10.0 * (power(&input) / power(&out[800..]).max(1e-9)).log10();
        assert!(attenuation > 30.0, "only {attenuation:.1} dB");
    }

    #[test]
    fn equal_rates_pass_through() {
        let input: Vec<i16> = (0..100).map(|i| i * 3 - 150).collect();
        assert_eq!(resample(Hz(16_000), Hz(16_000), &input), Ok(input));
    }

    #[test]
    fn full_scale_square_clips_without_wrapping() {
        let input: Vec<i16> = (0..2000)
            .map(|i| {
                if (i / 20) % 2 == 0 {
                    i16::MAX
                } else {
                    i16::MIN
                }
            })
            .collect();
        let out = resample(Hz(8_000), Hz(48_000), &input).expect("supported");
        // Gibbs overshoot saturates; a wrapped sample would flip sign mid-plateau.
        let plateau = &out[6 * 25..6 * 35];
        assert!(plateau.iter().all(|&s| s > 20_000), "{plateau:?}");
    }

    proptest! {
        #[test]
        fn chunked_equals_one_shot(
            input in proptest::collection::vec(any::<i16>(), 0..3000),
            cuts in proptest::collection::vec(0usize..400, 0..12),
            from in 0usize..4, to in 0usize..4,
        ) {
            let (from, to) = (MAIN[from], MAIN[to]);
            let whole = resample(from, to, &input).expect("supported");
            let mut r = Resampler::new(from, to).expect("supported");
            let mut chunked = Vec::new();
            let mut rest = input.as_slice();
            for cut in cuts {
                let (head, tail) = rest.split_at(cut.min(rest.len()));
                r.process(head, &mut chunked);
                rest = tail;
            }
            r.process(rest, &mut chunked);
            prop_assert_eq!(whole, chunked);
        }
    }
}
