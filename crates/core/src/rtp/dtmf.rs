//! DTMF as RTP telephone-events (RFC 4733 §2.3 payload, §3.2 event codes
//! 0-15): recognising each keypress once on receive, and building the packet
//! train for a keypress on send.
//!
//! Payload (§2.3): `event(8) | E(1) R(1) volume(6) | duration(16)`. Every
//! packet of one event carries the event's start RTP timestamp; the marker
//! bit is set on the first (§2.5.1.2), the end packet is sent three times
//! (§2.5.1.4).
//!
//! Receive policy: a digit is reported on the *first* packet seen of a new
//! event, not at its end, so a lost end packet cannot swallow a keypress and
//! the dialogue reacts 20 ms after the key goes down. An event is new when its
//! timestamp moves forward from the previous event's (or jumps far back, or
//! moves back with the marker set, as after a sender restart), or when the
//! event code changes at the same timestamp. The marker alone is not needed:
//! it may be lost (§2.5.1.3). Continuations and retransmitted end packets
//! share the timestamp and are ignored, so "11" is two events because the
//! second press has a new timestamp.
//!
//! It does not decode in-band (audio) DTMF, handle RFC 2198 redundancy or
//! segmented long events, or report durations.

use crate::media::Hz;

/// Why a telephone-event payload or a send request is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DtmfError {
    /// The payload is shorter than the 4-byte event block (peer's fault).
    #[error("telephone-event payload of {0} bytes, need 4")]
    TooShort(usize),
    /// The character is not a DTMF key (caller's fault).
    #[error("{0:?} is not a DTMF key")]
    UnknownDigit(char),
    /// The duration is zero or does not fit the 16-bit duration field at this
    /// clock rate (caller's fault; long events are not segmented).
    #[error("DTMF duration of {0} ms is out of range")]
    BadDuration(u32),
    /// The volume is above 63 (-dBm0, 6 bits) (caller's fault).
    #[error("DTMF volume {0} is above 63")]
    BadVolume(u8),
}

/// A keypress recognised by [`DtmfReceiver`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DtmfDigit {
    /// `'0'..='9'`, `'*'`, `'#'` or `'A'..='D'`.
    pub digit: char,
    /// The RFC 4733 event code (0-15).
    pub event: u8,
    /// Power level in -dBm0 (0-63) from the first packet seen.
    pub volume: u8,
    /// The event's RTP timestamp (its start).
    pub timestamp: u32,
}

/// The key for an RFC 4733 event code 0-15 (§3.2), else `None`.
pub fn digit_for_event(event: u8) -> Option<char> {
    match event {
        0..=9 => char::from_digit(u32::from(event), 10),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + (event - 12))),
        _ => None,
    }
}

/// The RFC 4733 event code for a key (`a-d` accepted as `A-D`), else `None`.
pub fn event_for_digit(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => d.to_digit(10).map(|v| v as u8),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => Some(12 + (d as u8 - b'A')),
        _ => None,
    }
}

/// Backward timestamp steps larger than this are a new timeline, not a
/// straggler (2^20 ticks is about 131 s at 8 kHz).
const FAR_BACK: i32 = 1 << 20;

/// Turns a stream of telephone-event packets into keypresses, once each.
#[derive(Clone, Debug, Default)]
pub struct DtmfReceiver {
    /// Timestamp and event code of the current (last reported) event.
    last: Option<(u32, u8)>,
    /// Start timestamps of the events reported before `last`, newest last.
    earlier: Vec<u32>,
}

impl DtmfReceiver {
    /// A receiver that has seen no event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the current event (e.g. when the SSRC changes).
    pub fn reset(&mut self) {
        self.last = None;
        self.earlier.clear();
    }

    /// Handles one telephone-event packet; returns the digit if it starts a
    /// new event. Events other than 0-15 are ignored.
    pub fn on_packet(
        &mut self,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<Option<DtmfDigit>, DtmfError> {
        let (Some(&event), Some(&flags)) = (payload.first(), payload.get(1)) else {
            return Err(DtmfError::TooShort(payload.len()));
        };
        if payload.len() < 4 {
            return Err(DtmfError::TooShort(payload.len()));
        }
        let Some(digit) = digit_for_event(event) else {
            return Ok(None);
        };
        if self.earlier.contains(&timestamp) {
            // A straggler or late copy of an event already reported.
            return Ok(None);
        }
        let is_new = match self.last {
            None => true,
            Some((ts, ev)) => {
                let step = timestamp.wrapping_sub(ts) as i32;
                let back = step < 0 && (marker || step < -FAR_BACK);
                step > 0 || back || (step == 0 && ev != event)
            }
        };
        if !is_new {
            return Ok(None);
        }
        if let Some((ts, _)) = self.last.filter(|(ts, _)| *ts != timestamp) {
            if self.earlier.len() == 8 {
                self.earlier.remove(0);
            }
            self.earlier.push(ts);
        }
        self.last = Some((timestamp, event));
        Ok(Some(DtmfDigit {
            digit,
            event,
            volume: flags & 0x3F,
            timestamp,
        }))
    }
}

/// One telephone-event packet to send, all with the event's start timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DtmfPayload {
    /// The 4-byte RFC 4733 payload.
    pub payload: [u8; 4],
    /// Set the RTP marker bit (first packet of the event).
    pub marker: bool,
    /// This is an end packet (E bit set).
    pub end: bool,
}

/// Builds RFC 4733 packet trains for keypresses at one RTP clock rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtmfSender {
    clock_rate: Hz,
}

/// Packet spacing, in milliseconds (one packet per 20 ms audio frame).
pub const PACKET_INTERVAL_MS: u32 = 20;
/// Times the end packet is sent (RFC 4733 §2.5.1.4).
const END_REPEATS: usize = 3;

impl DtmfSender {
    /// A sender for a telephone-event stream at `clock_rate` (usually 8000).
    pub fn new(clock_rate: Hz) -> Self {
        Self { clock_rate }
    }

    /// The packets for `digit` held `duration_ms`, at `volume` -dBm0, to send
    /// one per [`PACKET_INTERVAL_MS`]: updates with growing duration, the
    /// first marked, then the end packet three times. All carry the same RTP
    /// timestamp (the event's start), which the caller chooses.
    pub fn packets(
        &self,
        digit: char,
        duration_ms: u32,
        volume: u8,
    ) -> Result<Vec<DtmfPayload>, DtmfError> {
        let event = event_for_digit(digit).ok_or(DtmfError::UnknownDigit(digit))?;
        if volume > 63 {
            return Err(DtmfError::BadVolume(volume));
        }
        let rate = u64::from(self.clock_rate.0);
        let total = rate * u64::from(duration_ms) / 1000;
        let step = rate * u64::from(PACKET_INTERVAL_MS) / 1000;
        let (Ok(total16), true) = (u16::try_from(total), total > 0 && step > 0) else {
            return Err(DtmfError::BadDuration(duration_ms));
        };
        let block = |duration: u16, end: bool| {
            let [hi, lo] = duration.to_be_bytes();
            [event, (u8::from(end) << 7) | volume, hi, lo]
        };
        let updates = total.div_ceil(step) - 1;
        let mut out = Vec::with_capacity(updates as usize + END_REPEATS);
        for k in 1..=updates {
            out.push(DtmfPayload {
                payload: block((k * step) as u16, false),
                marker: k == 1,
                end: false,
            });
        }
        for i in 0..END_REPEATS {
            out.push(DtmfPayload {
                payload: block(total16, true),
                marker: updates == 0 && i == 0,
                end: true,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pkt(event: u8, end: bool, duration: u16) -> [u8; 4] {
        let [hi, lo] = duration.to_be_bytes();
        [event, (u8::from(end) << 7) | 10, hi, lo]
    }

    /// Feeds (marker, ts, payload) packets; returns the digits reported.
    fn feed(rx: &mut DtmfReceiver, pkts: &[(bool, u32, [u8; 4])]) -> String {
        pkts.iter()
            .filter_map(|(m, ts, p)| rx.on_packet(*m, *ts, p).expect("valid"))
            .map(|d| d.digit)
            .collect()
    }

    #[test]
    fn event_codes_map_to_keys() {
        let keys: String = (0..16).filter_map(digit_for_event).collect();
        assert_eq!(keys, "0123456789*#ABCD");
        for (code, key) in keys.chars().enumerate() {
            assert_eq!(event_for_digit(key), Some(code as u8));
        }
        assert_eq!(event_for_digit('b'), Some(13));
        assert_eq!(digit_for_event(16), None);
        assert_eq!(event_for_digit('x'), None);
    }

    #[test]
    fn reports_on_first_packet_once_with_marker() {
        let mut rx = DtmfReceiver::new();
        let first = rx
            .on_packet(true, 1000, &pkt(5, false, 160))
            .expect("valid");
        assert_eq!(
            first,
            Some(DtmfDigit {
                digit: '5',
                event: 5,
                volume: 10,
                timestamp: 1000
            })
        );
        let rest = [
            (false, 1000, pkt(5, false, 320)),
            (false, 1000, pkt(5, true, 480)),
            (false, 1000, pkt(5, true, 480)),
            (false, 1000, pkt(5, true, 480)),
        ];
        assert_eq!(feed(&mut rx, &rest), "");
    }

    #[test]
    fn works_without_marker_and_with_lost_start() {
        let mut rx = DtmfReceiver::new();
        let pkts = [
            (false, 1000, pkt(1, false, 320)),
            (false, 1000, pkt(1, true, 400)),
            (false, 1000, pkt(1, true, 400)),
            // Second press: only its end packets arrive.
            (false, 3000, pkt(2, true, 400)),
            (false, 3000, pkt(2, true, 400)),
        ];
        assert_eq!(feed(&mut rx, &pkts), "12");
    }

    #[test]
    fn repeated_key_is_two_events_by_timestamp() {
        let mut rx = DtmfReceiver::new();
        let pkts = [
            (true, 1000, pkt(1, false, 160)),
            (false, 1000, pkt(1, true, 320)),
            (false, 1000, pkt(1, true, 320)),
            (false, 2000, pkt(1, false, 160)), // marker lost
            (false, 2000, pkt(1, true, 320)),
            (false, 1000, pkt(1, true, 320)), // straggler from the first press
        ];
        assert_eq!(feed(&mut rx, &pkts), "11");
    }

    #[test]
    fn timestamp_wraps_and_sender_restarts() {
        let mut rx = DtmfReceiver::new();
        let pkts = [
            (true, u32::MAX - 100, pkt(3, false, 160)),
            (true, 200, pkt(4, false, 160)), // forward across the wrap
            (true, 100, pkt(6, false, 160)), // back, marked: new timeline
            (false, 50, pkt(6, true, 160)),  // back, unmarked: straggler
            (false, 100, pkt(7, false, 160)), // same ts, new code
        ];
        assert_eq!(feed(&mut rx, &pkts), "3467");
    }

    #[test]
    fn ignores_non_dtmf_events_and_rejects_short() {
        let mut rx = DtmfReceiver::new();
        assert_eq!(rx.on_packet(true, 1, &pkt(16, false, 160)), Ok(None));
        assert_eq!(
            rx.on_packet(true, 1, &[1, 2, 3]),
            Err(DtmfError::TooShort(3))
        );
        assert_eq!(rx.on_packet(true, 1, &[]), Err(DtmfError::TooShort(0)));
    }

    #[test]
    fn sender_builds_rfc_4733_train() {
        let tx = DtmfSender::new(Hz(8000));
        let p = tx.packets('#', 100, 10).expect("valid");
        let durations: Vec<u16> = p
            .iter()
            .map(|x| u16::from_be_bytes([x.payload[2], x.payload[3]]))
            .collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        assert!(p
            .iter()
            .all(|x| x.payload[0] == 11 && x.payload[1] & 0x3F == 10));
        assert_eq!(p.iter().filter(|x| x.marker).count(), 1);
        assert!(p[0].marker);
        assert_eq!(p.iter().filter(|x| x.end).count(), 3);
        assert!(p[4..].iter().all(|x| x.end && x.payload[1] & 0x80 != 0));
        let short = tx.packets('1', 20, 0).expect("valid");
        assert_eq!(short.len(), 3);
        assert!(short[0].marker && !short[1].marker);
    }

    #[test]
    fn sender_validates() {
        let tx = DtmfSender::new(Hz(8000));
        assert_eq!(tx.packets('x', 100, 10), Err(DtmfError::UnknownDigit('x')));
        assert_eq!(tx.packets('1', 0, 10), Err(DtmfError::BadDuration(0)));
        assert_eq!(tx.packets('1', 9000, 10), Err(DtmfError::BadDuration(9000)));
        assert_eq!(tx.packets('1', 100, 64), Err(DtmfError::BadVolume(64)));
        assert_eq!(
            DtmfSender::new(Hz(0)).packets('1', 100, 1),
            Err(DtmfError::BadDuration(100))
        );
    }

    #[test]
    fn sender_to_receiver_round_trip() {
        let tx = DtmfSender::new(Hz(8000));
        let mut rx = DtmfReceiver::new();
        let mut heard = String::new();
        let mut ts = 12_345u32;
        for key in "0123456789*#ABCD11".chars() {
            for p in tx.packets(key, 120, 10).expect("valid") {
                if let Some(d) = rx.on_packet(p.marker, ts, &p.payload).expect("valid") {
                    heard.push(d.digit);
                }
            }
            ts = ts.wrapping_add(8000);
        }
        assert_eq!(heard, "0123456789*#ABCD11");
    }

    proptest! {
        #[test]
        fn receiver_never_panics(pkts in proptest::collection::vec(
            (any::<bool>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..8)), 0..100)) {
            let mut rx = DtmfReceiver::new();
            for (m, ts, p) in pkts {
                let _ = rx.on_packet(m, ts, &p);
            }
        }

        #[test]
        fn any_train_is_one_digit(key in 0u8..16, ms in 1u32..8000, vol in 0u8..64, ts in any::<u32>(),
                                  drop_first in any::<bool>()) {
            let digit = digit_for_event(key).expect("0-15");
            let train = DtmfSender::new(Hz(8000)).packets(digit, ms, vol).expect("in range");
            let mut rx = DtmfReceiver::new();
            let skip = usize::from(drop_first && train.len() > 3);
            let heard: Vec<_> = train.iter().skip(skip)
                .filter_map(|p| rx.on_packet(p.marker, ts, &p.payload).expect("valid"))
                .collect();
            prop_assert_eq!(heard.len(), 1);
            prop_assert_eq!(heard[0].digit, digit);
            prop_assert_eq!(heard[0].volume, vol);
        }
    }
}
