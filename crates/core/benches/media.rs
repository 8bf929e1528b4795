//! Hot paths of the media plane, per 20 ms frame: G.711 encode/decode, a
//! jitter buffer push+pop (in order and reordered) and resampling of one
//! frame (22050 -> 8000 for TTS to the phone, 8000 -> 16000 for ASR).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use kefu_core::media::g711::{self, Law};
use kefu_core::media::resample::Resampler;
use kefu_core::media::Hz;
use kefu_core::rtp::jitter::{JitterBuffer, JitterConfig, Playout};
use kefu_core::rtp::SeqNo;

fn speechlike(len: usize) -> Vec<i16> {
    (0..len)
        .map(|i| {
            let t = i as f64 / 8000.0;
            (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                + 3000.0 * (2.0 * std::f64::consts::PI * 1730.0 * t).sin()) as i16
        })
        .collect()
}

fn g711(c: &mut Criterion) {
    let pcm = speechlike(160);
    let mut g = c.benchmark_group("g711");
    for (name, law) in [("mu", Law::Mu), ("a", Law::A)] {
        let mut bytes = Vec::with_capacity(160);
        g.bench_function(format!("encode_160_{name}"), |b| {
            b.iter(|| {
                bytes.clear();
                g711::encode(law, black_box(&pcm), &mut bytes);
                black_box(&bytes);
            })
        });
        let mut payload = Vec::new();
        g711::encode(law, &pcm, &mut payload);
        let mut out = Vec::with_capacity(160);
        g.bench_function(format!("decode_160_{name}"), |b| {
            b.iter(|| {
                out.clear();
                g711::decode(law, black_box(&payload), &mut out);
                black_box(&out);
            })
        });
    }
    g.finish();
}

fn jitter(c: &mut Criterion) {
    let payload = [0x55u8; 160];
    let mut g = c.benchmark_group("jitter");
    g.bench_function("push_pop_in_order", |b| {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let mut i: u32 = 0;
        b.iter(|| {
            jb.push(SeqNo(i as u16), i.wrapping_mul(160), black_box(&payload));
            if let Playout::Frame(f) = jb.pop() {
                black_box(f);
            }
            i = i.wrapping_add(1);
        })
    });
    g.bench_function("push_pop_reordered", |b| {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let mut i: u32 = 0;
        b.iter(|| {
            // Swap each pair: 1, 0, 3, 2, ...
            let k = i ^ 1;
            jb.push(SeqNo(k as u16), k.wrapping_mul(160), black_box(&payload));
            if let Playout::Frame(f) = jb.pop() {
                black_box(f);
            }
            i = i.wrapping_add(1);
        })
    });
    g.finish();
}

fn resample(c: &mut Criterion) {
    let mut g = c.benchmark_group("resample");
    for (from, to, len) in [(22_050u32, 8_000u32, 441usize), (8_000, 16_000, 160)] {
        let input = speechlike(len);
        let mut r = Resampler::new(Hz(from), Hz(to)).expect("supported rates");
        let mut out = Vec::with_capacity(2 * len);
        g.bench_function(format!("20ms_{from}_to_{to}"), |b| {
            b.iter(|| {
                out.clear();
                r.process(black_box(&input), &mut out);
                black_box(&out);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, g711, jitter, resample);
criterion_main!(benches);
