//! G.711 companding (ITU-T G.711, PCMU and PCMA; RTP payload types 0 and 8,
//! RFC 3551 §4.5.14).
//!
//! Owns the conversion between 16-bit linear PCM and 8-bit µ-law / A-law
//! code words, with the exact bit patterns of the ITU-T G.191 reference
//! implementation (`g711.c` in the Software Tool Library): negative inputs are
//! quantised by one's complement, so `-1` encodes like `-0`. Decoding uses
//! 256-entry tables and encoding uses 16 KiB (µ) / 4 KiB (A) tables, all
//! built at compile time from the reference arithmetic.
//!
//! It does not packetise, does not resample (G.711 is 8 kHz; see
//! [`super::resample`]) and does not do packet-loss concealment.

/// Which G.711 companding law a payload uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Law {
    /// µ-law (PCMU, North America and Japan).
    Mu,
    /// A-law (PCMA, the rest of the world).
    A,
}

/// µ-law decode table: code word -> linear sample (ITU-T G.191 `ulaw_expand`).
static ULAW_TABLE: [i16; 256] = build_ulaw_table();
/// A-law decode table: code word -> linear sample (ITU-T G.191 `alaw_expand`).
static ALAW_TABLE: [i16; 256] = build_alaw_table();

const fn ulaw_expand(code: u8) -> i16 {
    let negative = code < 0x80;
    let m = !code;
    let exponent = ((m >> 4) & 0x07) as i32;
    let mantissa = (m & 0x0F) as i32;
    let step = 4 << (exponent + 1);
    let magnitude = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
    (if negative { -magnitude } else { magnitude }) as i16
}

const fn alaw_expand(code: u8) -> i16 {
    let ix = ((code ^ 0x55) & 0x7F) as i32;
    let exponent = ix >> 4;
    let mut mantissa = ix & 0x0F;
    if exponent > 0 {
        mantissa += 16;
    }
    mantissa = (mantissa << 4) + 0x08;
    if exponent > 1 {
        mantissa <<= exponent - 1;
    }
    (if code > 127 { mantissa } else { -mantissa }) as i16
}

const fn build_ulaw_table() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_expand(i as u8);
        i += 1;
    }
    t
}

const fn build_alaw_table() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_expand(i as u8);
        i += 1;
    }
    t
}

/// Number of significant bits in `v` (0 for 0).
const fn bit_len(v: u32) -> u32 {
    32 - v.leading_zeros()
}

/// ITU-T G.191 `ulaw_compress` for one sample; depends only on `x >> 2`.
const fn ulaw_compress(x: i32) -> u8 {
    // One's complement magnitude of the 14 most significant bits, plus bias 33.
    let (magnitude, sign) = if x < 0 { (!x, 0x00) } else { (x, 0x80) };
    let mut biased = (magnitude >> 2) + 33;
    if biased > 0x1FFF {
        biased = 0x1FFF;
    }
    let biased = biased as u32;
    let segment = 1 + bit_len(biased >> 6); // 1..=8
    let high = 8 - segment;
    let low = 0x0F - ((biased >> segment) & 0x0F);
    ((high << 4) | low | sign) as u8
}

/// ITU-T G.191 `alaw_compress` for one sample; depends only on `x >> 4`.
const fn alaw_compress(x: i32) -> u8 {
    let (magnitude, sign) = if x < 0 { (!x, 0x00) } else { (x, 0x80) };
    // 12-bit magnitude (the 13 most significant bits with the sign).
    let ix = (magnitude >> 4) as u32;
    let code = if ix <= 15 {
        ix
    } else {
        let exponent = bit_len(ix) - 4; // 1..=7
        (exponent << 4) | ((ix >> (exponent - 1)) & 0x0F)
    };
    ((code | sign) ^ 0x55) as u8
}

/// µ-law encode table indexed by the 14-bit two's complement `s >> 2`.
static ULAW_ENCODE: [u8; 1 << 14] = {
    let mut t = [0u8; 1 << 14];
    let mut i = 0;
    while i < (1 << 14) {
        // Sign-extend the 14-bit index back to a sample with that `>> 2`.
        let x = ((i as i32) << 18) >> 16;
        t[i] = ulaw_compress(x);
        i += 1;
    }
    t
};

/// A-law encode table indexed by the 12-bit two's complement `s >> 4`.
static ALAW_ENCODE: [u8; 1 << 12] = {
    let mut t = [0u8; 1 << 12];
    let mut i = 0;
    while i < (1 << 12) {
        let x = ((i as i32) << 20) >> 16;
        t[i] = alaw_compress(x);
        i += 1;
    }
    t
};

/// Encodes one linear sample as µ-law (ITU-T G.191 `ulaw_compress`).
#[inline]
pub fn ulaw_encode(s: i16) -> u8 {
    ULAW_ENCODE[((s >> 2) as u16 & 0x3FFF) as usize]
}

/// Decodes one µ-law code word to a linear sample.
#[inline]
pub fn ulaw_decode(b: u8) -> i16 {
    ULAW_TABLE[usize::from(b)]
}

/// Encodes one linear sample as A-law (ITU-T G.191 `alaw_compress`).
#[inline]
pub fn alaw_encode(s: i16) -> u8 {
    ALAW_ENCODE[((s >> 4) as u16 & 0x0FFF) as usize]
}

/// Decodes one A-law code word to a linear sample.
#[inline]
pub fn alaw_decode(b: u8) -> i16 {
    ALAW_TABLE[usize::from(b)]
}

/// Encodes `pcm` with `law`, appending one byte per sample to `out`.
pub fn encode(law: Law, pcm: &[i16], out: &mut Vec<u8>) {
    out.reserve(pcm.len());
    match law {
        Law::Mu => out.extend(pcm.iter().map(|&s| ulaw_encode(s))),
        Law::A => out.extend(pcm.iter().map(|&s| alaw_encode(s))),
    }
}

/// Decodes `payload` with `law`, appending one sample per byte to `out`.
pub fn decode(law: Law, payload: &[u8], out: &mut Vec<i16>) {
    let table = match law {
        Law::Mu => &ULAW_TABLE,
        Law::A => &ALAW_TABLE,
    };
    out.reserve(payload.len());
    out.extend(payload.iter().map(|&b| table[usize::from(b)]));
}

/// The code word for digital silence: `0xFF` for µ-law, `0xD5` for A-law.
pub fn silence_byte(law: Law) -> u8 {
    match law {
        Law::Mu => 0xFF,
        Law::A => 0xD5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vectors() {
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0xFE), 8);
        assert_eq!(ulaw_decode(0x7E), -8);
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(-1), 0x7F);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_encode(1000), 0xCE);
        assert_eq!(ulaw_encode(-1000), 0x4E);

        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(alaw_encode(1000), 0xFA);
        assert_eq!(alaw_encode(-1000), 0x7A);
    }

    #[test]
    fn encode_tables_match_the_reference_arithmetic() {
        for s in i16::MIN..=i16::MAX {
            assert_eq!(ulaw_encode(s), ulaw_compress(i32::from(s)), "mu {s}");
            assert_eq!(alaw_encode(s), alaw_compress(i32::from(s)), "A {s}");
        }
    }

    #[test]
    fn silence_decodes_to_near_zero() {
        assert_eq!(ulaw_decode(silence_byte(Law::Mu)), 0);
        assert_eq!(alaw_decode(silence_byte(Law::A)), 8);
    }

    #[test]
    fn reencoding_every_code_word_is_identity() {
        for b in 0..=255u8 {
            // µ-law has two zeros (0xFF = +0, 0x7F = -0); both decode to 0,
            // which encodes as +0.
            let expect_mu = if b == 0x7F { 0xFF } else { b };
            assert_eq!(ulaw_encode(ulaw_decode(b)), expect_mu, "mu {b:#04x}");
            assert_eq!(alaw_encode(alaw_decode(b)), b, "A {b:#04x}");
        }
    }

    #[test]
    fn quantisation_error_is_bounded_for_every_sample() {
        for s in i16::MIN..=i16::MAX {
            let x = i32::from(s);
            // Half a step of the segment (under 1/24 of the magnitude) and
            // the clipping above the largest code word.
            let bound = (x.abs() / 24).max(16) + if x.abs() > 32000 { 700 } else { 0 };
            let mu = (i32::from(ulaw_decode(ulaw_encode(s))) - x).abs();
            let a = (i32::from(alaw_decode(alaw_encode(s))) - x).abs();
            assert!(mu <= bound, "mu {s}: err {mu} > {bound}");
            assert!(a <= bound, "A {s}: err {a} > {bound}");
        }
    }

    #[test]
    fn encoding_is_monotonic() {
        let mut prev_mu = ulaw_decode(ulaw_encode(i16::MIN));
        let mut prev_a = alaw_decode(alaw_encode(i16::MIN));
        for s in i16::MIN..=i16::MAX {
            let mu = ulaw_decode(ulaw_encode(s));
            let a = alaw_decode(alaw_encode(s));
            assert!(mu >= prev_mu && a >= prev_a, "at {s}");
            prev_mu = mu;
            prev_a = a;
        }
    }

    proptest! {
        #[test]
        fn slices_append_and_round_trip(pcm in proptest::collection::vec(any::<i16>(), 0..400),
                                        prefix in 0usize..4) {
            for law in [Law::Mu, Law::A] {
                let mut bytes = vec![0xAB; prefix];
                encode(law, &pcm, &mut bytes);
                prop_assert_eq!(bytes.len(), prefix + pcm.len());
                let mut back = vec![7i16; prefix];
                decode(law, bytes.get(prefix..).unwrap_or_default(), &mut back);
                prop_assert_eq!(back.len(), prefix + pcm.len());
                for (orig, dec) in pcm.iter().zip(back.iter().skip(prefix)) {
                    let err = (i32::from(*orig) - i32::from(*dec)).abs();
                    prop_assert!(err <= (i32::from(*orig).abs() / 24).max(16) + 700);
                    prop_assert!(orig.signum() * dec.signum() >= 0 || err <= 16);
                }
            }
        }
    }
}
