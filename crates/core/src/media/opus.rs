//! Opus for RTP (RFC 7587) on top of libopus, for calls that negotiate
//! `opus/48000/2`. Built only with the `opus` cargo feature.
//!
//! kefu's audio is 8 kHz mono, so the encoder is fed 8 kHz frames upsampled
//! to 48 kHz by a streaming [`Resampler`] and encodes mono (RFC 7587 §7.1: a
//! sender may send mono in a stream declared with two channels), with the
//! VOIP application, 20 ms frames, 24 kbit/s VBR, narrowband (the source has
//! nothing above 4 kHz) and in-band FEC off. The decoder runs at 48 kHz with
//! one output channel, so it accepts stereo packets too (libopus downmixes),
//! and its output is downsampled to 8 kHz by a second resampler. The RTP
//! clock is always 48 kHz (§4.1), so a 20 ms packet advances the timestamp by
//! 960.
//!
//! A payload is checked with `opus_packet_parse` (RFC 6716 §3) before it is
//! decoded; one that does not parse is [`CodecError::Malformed`], never a
//! panic. Lost packets are concealed by libopus (decoding a null packet).
//!
//! Not here: FEC recovery from the next packet, DTX comfort noise, the
//! `a=fmtp` parameters (`maxplaybackrate`, `stereo`, `useinbandfec`): kefu's
//! encoder settings are within what every receiver must accept.

use super::codec::{CodecError, FRAME_8K};
use super::resample::Resampler;
use super::Hz;
use crate::sdp::Codec;

/// Opus's RTP clock and the decoder's output rate (RFC 7587 §4.1).
const RATE: Hz = Hz(48_000);
/// Samples in 20 ms at 48 kHz.
const FRAME_48K: usize = 960;
/// The longest Opus packet, 120 ms at 48 kHz (RFC 6716 §3.2.5).
const MAX_PACKET_SAMPLES: usize = 5760;
/// Room for one encoded 20 ms frame: at most 1275 bytes plus the TOC byte
/// (RFC 6716 §3.2.1), far above what 24 kbit/s needs (about 60 bytes).
const MAX_ENCODED: usize = 1500;
/// Largest payload looked at; nothing bigger fits in a UDP datagram.
const MAX_PAYLOAD: usize = 65_535;
/// Target bitrate: good wideband-quality speech, well under G.711's 64k.
const BITRATE: i32 = 24_000;
/// 8 kHz frame lengths that become a legal Opus frame (2.5 to 60 ms).
const ENCODE_LENGTHS: [usize; 6] = [20, 40, 80, 160, 320, 480];

/// Encoder and decoder state for one Opus call, with their resamplers.
#[derive(Debug)]
pub struct OpusCodec {
    encoder: opus::Encoder,
    decoder: opus::Decoder,
    /// 8 kHz -> 48 kHz, before encoding.
    up: Resampler,
    /// 48 kHz -> 8 kHz, after decoding or concealing.
    down: Resampler,
    /// 48 kHz scratch, reused by every call.
    pcm48: Vec<i16>,
}

fn library(e: opus::Error) -> CodecError {
    CodecError::Library {
        call: e.function(),
        reason: e.description(),
    }
}

/// Checks that `payload` is one well-formed Opus packet of at most 120 ms,
/// without decoding it.
///
/// # Errors
/// [`CodecError::Malformed`] otherwise, including for an empty payload
/// (which libopus would take as "conceal a lost packet").
pub fn check(payload: &[u8]) -> Result<(), CodecError> {
    let malformed = CodecError::Malformed(Codec::Opus);
    if payload.is_empty() || payload.len() > MAX_PAYLOAD {
        return Err(malformed);
    }
    opus::packet::parse(payload).map_err(|_| malformed)?;
    match opus::packet::get_nb_samples(payload, RATE.0) {
        Ok(n) if n <= MAX_PACKET_SAMPLES => Ok(()),
        _ => Err(malformed),
    }
}

impl OpusCodec {
    /// A fresh encoder/decoder pair with kefu's settings (module docs).
    ///
    /// # Errors
    /// [`CodecError::Library`] if libopus cannot create or configure them.
    pub fn new() -> Result<Self, CodecError> {
        let mut encoder = opus::Encoder::new(RATE.0, opus::Channels::Mono, opus::Application::Voip)
            .map_err(library)?;
        encoder
            .set_bitrate(opus::Bitrate::Bits(BITRATE))
            .map_err(library)?;
        encoder.set_inband_fec(false).map_err(library)?;
        encoder
            .set_max_bandwidth(opus::Bandwidth::Narrowband)
            .map_err(library)?;
        let decoder = opus::Decoder::new(RATE.0, opus::Channels::Mono).map_err(library)?;
        let resampler = |from, to| {
            Resampler::new(from, to).map_err(|_| CodecError::Library {
                call: "Resampler::new",
                reason: "unsupported rate",
            })
        };
        Ok(Self {
            encoder,
            decoder,
            up: resampler(Hz(8_000), RATE)?,
            down: resampler(RATE, Hz(8_000))?,
            pcm48: Vec::with_capacity(MAX_PACKET_SAMPLES),
        })
    }

    /// Encodes 8 kHz PCM (normally 160 samples) as one Opus packet appended
    /// to `out`.
    ///
    /// # Errors
    /// [`CodecError::FrameSize`] for a length that is not 2.5 to 60 ms;
    /// [`CodecError::Library`] if libopus fails (nothing is appended).
    pub fn encode(&mut self, pcm_8k: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        if !ENCODE_LENGTHS.contains(&pcm_8k.len()) {
            return Err(CodecError::FrameSize(pcm_8k.len()));
        }
        self.pcm48.clear();
        // 8k -> 48k yields exactly six samples per input sample.
        self.up.process(pcm_8k, &mut self.pcm48);
        let start = out.len();
        out.resize(start + MAX_ENCODED, 0);
        let written = match out.get_mut(start..) {
            Some(buf) => self.encoder.encode(&self.pcm48, buf),
            None => Ok(0),
        };
        match written {
            Ok(n) => {
                out.truncate(start + n.min(MAX_ENCODED));
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(library(e))
            }
        }
    }

    /// Decodes one packet (mono or stereo, any legal duration), appending
    /// its 8 kHz audio to `out`: 160 samples for 20 ms.
    ///
    /// # Errors
    /// [`CodecError::Malformed`] if the packet does not parse or decode;
    /// nothing is appended then.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        check(payload)?;
        self.pcm48.clear();
        self.pcm48.resize(MAX_PACKET_SAMPLES, 0);
        let n = self
            .decoder
            .decode(payload, &mut self.pcm48, false)
            .map_err(|_| CodecError::Malformed(Codec::Opus))?;
        self.pcm48.truncate(n);
        // Opus durations are multiples of 2.5 ms (120 samples at 48 kHz), so
        // the 6:1 resampler yields exactly n / 6 samples.
        self.down.process(&self.pcm48, out);
        Ok(())
    }

    /// Appends 20 ms ([`FRAME_8K`] samples) of libopus's packet-loss
    /// concealment (silence if libopus declines).
    pub fn conceal(&mut self, out: &mut Vec<i16>) {
        self.pcm48.clear();
        self.pcm48.resize(FRAME_48K, 0);
        // An empty packet asks the decoder to extrapolate exactly as many
        // samples as the buffer holds.
        if self.decoder.decode(&[], &mut self.pcm48, false).is_err() {
            self.pcm48.fill(0);
        }
        let before = out.len();
        self.down.process(&self.pcm48, out);
        out.resize(before + FRAME_8K, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type TestResult = Result<(), CodecError>;

    fn tone(freqs: &[f64], len: usize) -> Vec<i16> {
        (0..len)
            .map(|i| {
                let t = i as f64 / 8000.0;
                let v: f64 = freqs
                    .iter()
                    .map(|f| (2.0 * std::f64::consts::PI * f * t).sin())
                    .sum();
                // A 3 Hz envelope, so the signal is not stationary.
                let env = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 3.0 * t).sin();
                (8000.0 * env * v / freqs.len() as f64).round() as i16
            })
            .collect()
    }

    /// Encodes `pcm` frame by frame and decodes every packet.
    fn round_trip(c: &mut OpusCodec, pcm: &[i16]) -> Result<Vec<i16>, CodecError> {
        let mut back = Vec::with_capacity(pcm.len());
        for frame in pcm.chunks_exact(FRAME_8K) {
            let mut packet = Vec::new();
            c.encode(frame, &mut packet)?;
            assert!(!packet.is_empty() && packet.len() < 200, "{}", packet.len());
            let before = back.len();
            c.decode(&packet, &mut back)?;
            assert_eq!(back.len() - before, FRAME_8K);
        }
        Ok(back)
    }

    /// Least-squares fit of a sine at `freq` (8 kHz); (amplitude, SNR dB).
    fn fit(signal: &[i16], freq: f64) -> (f64, f64) {
        let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
        let (mut ss, mut cc, mut sc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, &y) in signal.iter().enumerate() {
            let (s, c) = (w * i as f64).sin_cos();
            let y = f64::from(y);
            (ss, cc, sc, ys, yc) = (ss + s * s, cc + c * c, sc + s * c, ys + y * s, yc + y * c);
        }
        let det = ss * cc - sc * sc;
        let (a, b) = ((ys * cc - yc * sc) / det, (yc * ss - ys * sc) / det);
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

    /// Best normalised correlation of `out` against `input` delayed by
    /// 0..max_lag samples; (lag, correlation).
    fn best_lag(input: &[i16], out: &[i16], max_lag: usize) -> (usize, f64) {
        let n = input.len() - max_lag;
        (0..max_lag)
            .map(|lag| {
                let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
                for (x, y) in input[..n].iter().zip(&out[lag..lag + n]) {
                    let (x, y) = (f64::from(*x), f64::from(*y));
                    (xy, xx, yy) = (xy + x * y, xx + x * x, yy + y * y);
                }
                (lag, xy / (xx * yy).sqrt().max(1e-9))
            })
            .fold((0, f64::MIN), |best, c| if c.1 > best.1 { c } else { best })
    }

    #[test]
    fn one_khz_sine_survives_a_round_trip() -> TestResult {
        let mut c = OpusCodec::new()?;
        let input: Vec<i16> = (0..8000)
            .map(|i| {
                (10_000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin()) as i16
            })
            .collect();
        let out = round_trip(&mut c, &input)?;
        assert_eq!(out.len(), input.len());
        // Skip the codec's start-up; fit over the last half second.
        let (amp, snr) = fit(&out[4000..], 1000.0);
        assert!(snr > 20.0, "snr {snr:.1} dB");
        assert!((amp / 10_000.0 - 1.0).abs() < 0.2, "amp {amp:.0}");
        Ok(())
    }

    #[test]
    fn speech_band_signal_correlates_after_the_codec_delay() -> TestResult {
        let mut c = OpusCodec::new()?;
        let input = tone(&[310.0, 770.0, 1650.0], 16_000);
        let out = round_trip(&mut c, &input)?;
        let (lag, corr) = best_lag(&input[800..], &out[800..], 200);
        // Resamplers (about 2 ms each way) plus Opus look-ahead: under 25 ms.
        assert!(lag > 0 && lag < 200, "lag {lag}");
        assert!(corr > 0.9, "correlation {corr:.3} at lag {lag}");
        Ok(())
    }

    #[test]
    fn stereo_packets_decode_to_mono() -> TestResult {
        let mut stereo =
            opus::Encoder::new(48_000, opus::Channels::Stereo, opus::Application::Voip)
                .map_err(library)?;
        let mut c = OpusCodec::new()?;
        let frame: Vec<i16> = (0..2 * FRAME_48K)
            .map(|i| ((i % 40) as i16 - 20) * 300)
            .collect();
        let mut packet = [0u8; MAX_ENCODED];
        let n = stereo.encode(&frame, &mut packet).map_err(library)?;
        let mut out = Vec::new();
        c.decode(&packet[..n], &mut out)?;
        assert_eq!(out.len(), FRAME_8K);
        Ok(())
    }

    #[test]
    fn garbage_is_malformed_and_appends_nothing() -> TestResult {
        let mut c = OpusCodec::new()?;
        let bad: [&[u8]; 5] = [
            &[],
            // Code 3 without its frame-count byte (RFC 6716 §3.2.5).
            &[0x03],
            // Code 3 with a frame count of zero.
            &[0x03, 0x00],
            // Code 1 (two equal frames) with an odd remainder (§3.2.3).
            &[0x01, 0x00, 0x00, 0x00],
            // Code 3, 63 frames of 20 ms: 1260 ms, past the 120 ms limit.
            &[0x1B, 0x3F, 0x00],
        ];
        for payload in bad {
            let mut out = vec![9i16];
            assert_eq!(
                c.decode(payload, &mut out),
                Err(CodecError::Malformed(Codec::Opus)),
                "{payload:02x?}"
            );
            assert_eq!(check(payload), Err(CodecError::Malformed(Codec::Opus)));
            assert_eq!(out, [9]);
        }
        Ok(())
    }

    #[test]
    fn conceal_yields_one_frame_before_and_after_audio() -> TestResult {
        let mut c = OpusCodec::new()?;
        let mut out = Vec::new();
        c.conceal(&mut out);
        assert_eq!(out.len(), FRAME_8K);
        let input = tone(&[440.0], 8 * FRAME_8K);
        let decoded = round_trip(&mut c, &input)?;
        let mut hidden = Vec::new();
        c.conceal(&mut hidden);
        c.conceal(&mut hidden);
        assert_eq!(hidden.len(), 2 * FRAME_8K);
        // Concealment continues the tone rather than dropping to silence.
        let energy = |s: &[i16]| s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>();
        assert!(energy(&hidden[..FRAME_8K]) > 0.05 * energy(&decoded[decoded.len() - FRAME_8K..]));
        Ok(())
    }

    #[test]
    fn odd_frame_lengths_are_refused() -> TestResult {
        let mut c = OpusCodec::new()?;
        let mut out = vec![1u8];
        for len in [0, 1, 159, 161, 960] {
            assert_eq!(
                c.encode(&vec![0; len], &mut out),
                Err(CodecError::FrameSize(len))
            );
        }
        assert_eq!(out, [1]);
        c.encode(&[0; 80], &mut out)?;
        assert!(out.len() > 1);
        Ok(())
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
            let mut c = OpusCodec::new().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut out = Vec::new();
            match c.decode(&bytes, &mut out) {
                Ok(()) => prop_assert!(out.len() <= MAX_PACKET_SAMPLES / 6),
                Err(e) => {
                    prop_assert_eq!(e, CodecError::Malformed(Codec::Opus));
                    prop_assert!(out.is_empty());
                }
            }
            prop_assert_eq!(check(&bytes).is_ok(), c.decode(&bytes, &mut out).is_ok());
            c.conceal(&mut out);
        }
    }
}

/// A whole RTP session negotiated as `opus/48000/2`, from SDP to audio.
#[cfg(test)]
mod session_tests {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use crate::call::media::{Dropped, MediaSession, Received, FRAME};
    use crate::rtp::packet::RtpPacket;
    use crate::sdp::{answer, Codec, LocalCaps, LocalMedia, Negotiated, SessionDescription};

    /// Linphone-like: Opus first, telephone-event at Opus's 48 kHz clock.
    const OFFER: &str = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
        t=0 0\r\nm=audio 7078 RTP/AVP 96 0 101\r\na=rtpmap:96 opus/48000/2\r\n\
        a=fmtp:96 useinbandfec=1\r\na=rtpmap:101 telephone-event/48000\r\na=sendrecv\r\n";

    fn negotiated() -> Negotiated {
        let caps = LocalCaps {
            codecs: vec![Codec::Opus, Codec::Pcmu],
            opus: true,
            telephone_event: true,
            ptime_ms: 20,
        };
        let local = LocalMedia {
            address: [127, 0, 0, 1].into(),
            rtp_port: 20_000,
            session_id: 1,
            session_version: 1,
            username: "kefu".to_owned(),
        };
        let offer = SessionDescription::parse(OFFER).expect("valid offer");
        answer(&offer, &caps, &local).expect("opus is accepted")
    }

    fn header(dgram: &[u8]) -> (u8, u32, Vec<u8>) {
        let p = RtpPacket::parse(dgram).expect("kefu writes valid RTP");
        (
            p.header.payload_type,
            p.header.timestamp,
            p.payload.to_vec(),
        )
    }

    #[test]
    fn opus_call_carries_audio_and_digits_at_48k() {
        let neg = negotiated();
        assert_eq!(
            (neg.codec, neg.payload_type, neg.clock_rate),
            (Codec::Opus, 96, 48_000)
        );
        assert_eq!(neg.telephone_event_pt, Some(101));
        let t0 = Instant::now();
        let mut kefu = MediaSession::new(&neg, 3, false, 0x1234_5678, 100, t0);
        let mut phone = MediaSession::new(&neg, 3, false, 0x0bad_cafe, 7, t0);
        let kefu_addr: SocketAddr = "127.0.0.1:20000".parse().expect("addr");

        let tone: Vec<i16> = (0..FRAME * 100)
            .map(|i| {
                (6000.0 * (2.0 * std::f64::consts::PI * 700.0 * i as f64 / 8000.0).sin()) as i16
            })
            .collect();
        let (mut sent_ts, mut heard) = (Vec::new(), Vec::new());
        let (mut scratch, mut frame) = ([0i16; FRAME], [0i16; FRAME]);
        for (k, agent) in tone.chunks_exact(FRAME).enumerate() {
            let now = t0 + Duration::from_millis(20 * k as u64);
            let (_, dgram) = kefu.tick(agent, &mut scratch).expect("kefu sends");
            let (pt, ts, payload) = header(&dgram);
            assert_eq!(pt, 96);
            assert!(payload.len() < 120, "24 kbit/s is about 60 bytes a frame");
            sent_ts.push(ts);
            // Packet 50 is lost: the phone conceals it.
            if k != 50 {
                assert_eq!(phone.on_rtp(kefu_addr, &dgram, now), Received::Audio);
            }
            phone.tick(&[0; FRAME], &mut frame);
            heard.extend_from_slice(&frame);
        }
        assert!(sent_ts.windows(2).all(|w| w[1].wrapping_sub(w[0]) == 960));
        // Fit the tone after the jitter buffer's 60 ms and the codec delay.
        let w = 2.0 * std::f64::consts::PI * 700.0 / 8000.0;
        let tail = &heard[FRAME * 60..];
        let (s, c) = tail.iter().enumerate().fold((0.0, 0.0), |(s, c), (i, &y)| {
            let (si, ci) = (w * i as f64).sin_cos();
            (s + f64::from(y) * si, c + f64::from(y) * ci)
        });
        let amp = 2.0 * (s * s + c * c).sqrt() / tail.len() as f64;
        assert!((amp / 6000.0 - 1.0).abs() < 0.2, "heard amplitude {amp:.0}");

        // Garbage in a well-formed RTP packet is dropped as malformed.
        let mut bad = Vec::new();
        let hdr = crate::rtp::packet::RtpHeader {
            marker: false,
            payload_type: 96,
            seq: crate::rtp::SeqNo(9000),
            timestamp: sent_ts[99].wrapping_add(960),
            ssrc: crate::rtp::Ssrc(0x1234_5678),
        };
        crate::rtp::packet::write(&hdr, &[0x03], &mut bad);
        let late = t0 + Duration::from_secs(3);
        assert_eq!(
            phone.on_rtp(kefu_addr, &bad, late),
            Received::Dropped(Dropped::Malformed)
        );

        // A key press goes out as telephone-event/48000: 100 ms = 4800 units.
        assert_eq!(kefu.send_digits("5", 100), 1);
        let mut last = Vec::new();
        let mut got = None;
        for k in 0..8u64 {
            let (_, dgram) = kefu.tick(&[0; FRAME], &mut scratch).expect("kefu sends");
            let (pt, _, payload) = header(&dgram);
            if pt == 101 {
                last = payload;
                if let Received::Event(Some(d)) =
                    phone.on_rtp(kefu_addr, &dgram, late + Duration::from_millis(20 * k))
                {
                    got = Some(d);
                }
            }
        }
        assert_eq!(got, Some('5'));
        assert_eq!(last.get(2..4), Some(&4800u16.to_be_bytes()[..]));
    }
}
