//! The SIP pre-parser (`signalling::check`) against the RFC 4475 and RFC 5118
//! torture messages in `../shared/sip-torture/`: each message gets a handling
//! its manifest rule allows, and mutations of them never panic and never
//! produce a reply that cannot be sent.

use std::net::SocketAddr;

mod common;

use common::cases;
use kefu::signalling::check::{check, CheckConfig, DropReason, Transport, Verdict};
use kefu::signalling::reply::{build_response, response_destination};

const CFG: CheckConfig = CheckConfig {
    supported: &[],
    methods: &[],
};

fn source() -> SocketAddr {
    SocketAddr::from(([198, 51, 100, 7], 40000))
}

/// What every verdict must satisfy, whatever the input.
fn assert_sound(input: &[u8], verdict: &Verdict<'_>, what: &str) {
    match verdict {
        Verdict::Pass(message) => {
            let start = message.as_ptr() as usize - input.as_ptr() as usize;
            assert!(
                start + message.len() <= input.len(),
                "{what}: Pass outside input"
            );
            assert_eq!(
                check(message, Transport::Udp, &CFG),
                Verdict::Pass(message),
                "{what}: a passed message must pass again unchanged"
            );
        }
        Verdict::Reply(reply) => {
            let response = build_response(input, reply, "kefu1", "kefu-test")
                .unwrap_or_else(|| panic!("{what}: Reply {} but no response", reply.status));
            let status_line = format!("SIP/2.0 {} {}\r\n", reply.status, reply.reason);
            assert!(
                response.starts_with(status_line.as_bytes()),
                "{what}: bad status line"
            );
            assert!(
                response.ends_with(b"Content-Length: 0\r\n\r\n"),
                "{what}: bad end"
            );
            assert!(
                response_destination(input, source()).is_some(),
                "{what}: Reply without a destination"
            );
        }
        Verdict::Drop(_) => {}
    }
}

#[test]
fn torture_messages_get_the_handling_their_rule_allows() {
    let mut failures = Vec::new();
    for case in cases() {
        let verdict = check(&case.bytes, Transport::Udp, &CFG);
        assert_sound(&case.bytes, &verdict, &case.file);
        let status = match &verdict {
            Verdict::Reply(r) => Some(r.status),
            _ => None,
        };
        let ok = match (case.rule.as_str(), &verdict) {
            ("reject", Verdict::Drop(_)) => true,
            ("reject", _) => status == Some(400),
            ("expect", Verdict::Pass(_)) => !matches!(
                case.file.as_str(),
                "rfc4475/badvers.dat" | "rfc4475/mismatch02.dat"
            ),
            ("expect", _) => {
                status.is_some_and(|s| case.preferred.contains(&s))
                    && match case.file.as_str() {
                        "rfc4475/badvers.dat" => status == Some(505),
                        "rfc4475/mismatch02.dat" => status == Some(400),
                        _ => true,
                    }
            }
            ("accept", Verdict::Pass(_)) => true,
            ("accept", _) => status.is_some_and(|s| ![400, 500, 505].contains(&s)),
            ("drop", v) => !matches!(v, Verdict::Reply(_)),
            ("error", Verdict::Drop(_)) => true,
            ("error", _) => status.is_some_and(|s| s >= 400),
            ("liberal" | "survive", _) => true,
            (rule, _) => panic!("{}: unknown rule {rule}", case.file),
        };
        if !ok {
            failures.push(format!(
                "{} ({}): {:?}",
                case.file,
                case.rule,
                short(&verdict)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "wrong handling:\n{}",
        failures.join("\n")
    );
}

/// The exact decisions kefu makes, so a change of policy shows up here.
#[test]
fn torture_messages_exact_verdicts() {
    let expected: &[(&str, &str)] = &[
        ("rfc4475/badaspec.dat", "400"),
        ("rfc4475/baddn.dat", "400"),
        ("rfc4475/badinv01.dat", "400"),
        ("rfc4475/badvers.dat", "505"),
        ("rfc4475/bext01.dat", "420"),
        ("rfc4475/bigcode.dat", "drop"),
        ("rfc4475/clerr.dat", "400"),
        ("rfc4475/insuf.dat", "400"),
        ("rfc4475/ltgtruri.dat", "400"),
        ("rfc4475/lwsruri.dat", "400"),
        ("rfc4475/lwsstart.dat", "400"),
        ("rfc4475/mcl01.dat", "400"),
        ("rfc4475/mismatch01.dat", "400"),
        ("rfc4475/mismatch02.dat", "400"),
        ("rfc4475/multi01.dat", "400"),
        ("rfc4475/ncl.dat", "400"),
        ("rfc4475/novelsc.dat", "416"),
        ("rfc4475/quotbal.dat", "400"),
        ("rfc4475/scalar02.dat", "400"),
        ("rfc4475/scalarlg.dat", "drop"),
        ("rfc4475/trws.dat", "400"),
        ("rfc4475/unkscm.dat", "416"),
        ("rfc5118/ipv6-bad.dat", "400"),
        ("rfc5118/ipv6-bug-abnf-3-colons.dat", "400"),
        ("variants/baddn-ersip-with-final-crlf.dat", "400"),
    ];
    for case in cases() {
        let got = short(&check(&case.bytes, Transport::Udp, &CFG));
        let want = expected
            .iter()
            .find(|(f, _)| *f == case.file)
            .map_or("pass", |(_, v)| *v);
        assert_eq!(got, want, "{}", case.file);
    }
}

#[test]
fn trailing_octets_after_content_length_are_cut() {
    let all = cases();
    let find = |name: &str| {
        all.iter()
            .find(|c| c.file.ends_with(name))
            .unwrap_or_else(|| panic!("{name} missing from the corpus"))
    };
    let dblreq = find("dblreq.dat");
    let Verdict::Pass(message) = check(&dblreq.bytes, Transport::Udp, &CFG) else {
        panic!("dblreq.dat must pass");
    };
    assert!(message.ends_with(b"Content-Length: 0\r\n\r\n"));
    assert!(!message.windows(6).any(|w| w == b"INVITE"));
    // Content-Length 241 with 251 body bytes: the last 10 are not part of the message.
    let sdp = find("ipv6-in-sdp.dat");
    assert!(matches!(
        check(&sdp.bytes, Transport::Udp, &CFG),
        Verdict::Pass(m) if m.len() == sdp.bytes.len() - 10
    ));
}

#[test]
fn responses_are_never_answered() {
    for case in cases().iter().filter(|c| c.bytes.starts_with(b"SIP/")) {
        for transport in [Transport::Udp, Transport::Tcp] {
            let verdict = check(&case.bytes, transport, &CFG);
            assert!(!matches!(verdict, Verdict::Reply(_)), "{}", case.file);
        }
    }
    let bigcode = cases()
        .into_iter()
        .find(|c| c.file.ends_with("bigcode.dat"));
    let bigcode = bigcode.map(|c| c.bytes).unwrap_or_default();
    assert_eq!(
        check(&bigcode, Transport::Udp, &CFG),
        Verdict::Drop(DropReason::BadStatusCode)
    );
}

#[test]
fn tcp_framing_is_sound_on_every_message() {
    for case in cases() {
        let verdict = check(&case.bytes, Transport::Tcp, &CFG);
        assert_sound(&case.bytes, &verdict, &case.file);
    }
}

/// Deterministic xorshift64 (no dependency, same run every time).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(rng: &mut XorShift, input: &mut Vec<u8>) {
    const INTERESTING: &[u8] = b"\r\n\t :;,<>\"[]%@/=0925SIPv\\\x00\xff";
    let len = input.len();
    match rng.below(7) {
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] = rng.next() as u8;
        }
        1 => {
            let b = INTERESTING[rng.below(INTERESTING.len())];
            input.insert(rng.below(len + 1), b);
        }
        2 if len > 0 => {
            let from = rng.below(len);
            let to = (from + 1 + rng.below(64)).min(len);
            input.drain(from..to);
        }
        3 if len > 0 => {
            let from = rng.below(len);
            let to = (from + 1 + rng.below(128)).min(len);
            let piece = input[from..to].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, piece);
        }
        4 => input.truncate(rng.below(len + 1)),
        5 if len > 0 => {
            let i = rng.below(len);
            input[i] = INTERESTING[rng.below(INTERESTING.len())];
        }
        _ => {
            let digits = [
                "0",
                "65536",
                "4294967296",
                "-1",
                "999999999999999999999",
                "",
            ];
            let d = digits[rng.below(digits.len())].as_bytes();
            let at = rng.below(len + 1);
            input.splice(at..at, d.iter().copied());
        }
    }
}

#[test]
fn mutated_torture_messages_never_panic_or_yield_unsendable_replies() {
    let corpus = cases();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut passed, mut replied, mut dropped) = (0, 0, 0);
    for iteration in 0..20_000 {
        let mut input = corpus[rng.below(corpus.len())].bytes.clone();
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut input);
        }
        for transport in [Transport::Udp, Transport::Tcp] {
            let verdict = check(&input, transport, &CFG);
            assert_sound(&input, &verdict, &format!("iteration {iteration}"));
            match verdict {
                Verdict::Pass(_) => passed += 1,
                Verdict::Reply(_) => replied += 1,
                Verdict::Drop(_) => dropped += 1,
            }
        }
        let _ = response_destination(&input, source());
    }
    // The mutations must exercise all three outcomes, or the loop proves little.
    assert!(
        passed > 1000 && replied > 1000 && dropped > 100,
        "{passed}/{replied}/{dropped}"
    );
}

/// A verdict in one word: `pass`, `drop` or the reply status.
fn short(verdict: &Verdict<'_>) -> String {
    match verdict {
        Verdict::Pass(_) => "pass".into(),
        Verdict::Reply(r) => r.status.to_string(),
        Verdict::Drop(_) => "drop".into(),
    }
}
