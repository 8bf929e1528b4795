//! SIP parse cost per datagram: kefu's wire check alone, and check + the SIP
//! stack's parser, on a typical SIPp INVITE and on the RFC 4475 "short
//! tortuous INVITE".

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

const INVITE: &[u8] = b"INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-4242-1-0\r\n\
From: sipp <sip:sipp@127.0.0.1:5099>;tag=4242SIPpTag001\r\n\
To: service <sip:service@127.0.0.1:5060>\r\n\
Call-ID: 1-4242@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: sip:sipp@127.0.0.1:5099\r\n\
Max-Forwards: 70\r\n\
Subject: Performance Test\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 129\r\n\
\r\n\
v=0\r\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

fn bench(c: &mut Criterion) {
    let wsinv = std::fs::read("../shared/sip-torture/rfc4475/wsinv.dat").ok();
    // Benchmark what kefu accepts, not a rejection.
    assert!(
        kefu::signalling::decode_datagram(INVITE),
        "bench INVITE must pass"
    );
    if let Some(w) = &wsinv {
        assert!(kefu::signalling::decode_datagram(w), "wsinv must pass");
    }
    let mut g = c.benchmark_group("sip_parse");
    g.bench_function("check_invite", |b| {
        b.iter(|| {
            kefu::signalling::check::check(
                black_box(INVITE),
                kefu::signalling::check::Transport::Udp,
                &Default::default(),
            )
        })
    });
    g.bench_function("check_and_parse_invite", |b| {
        b.iter(|| kefu::signalling::decode_datagram(black_box(INVITE)))
    });
    if let Some(w) = wsinv {
        g.bench_function("check_and_parse_wsinv", |b| {
            b.iter(|| kefu::signalling::decode_datagram(black_box(&w)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
