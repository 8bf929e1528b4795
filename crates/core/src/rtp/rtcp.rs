//! RTCP (RFC 3550 §6): parsing compound packets, writing SR/RR + SDES CNAME
//! compounds (§6.4, §6.5.1), and the receiver statistics that fill report
//! blocks (§6.4.1, Appendix A.1 sequence tracking, A.3 loss, A.8 jitter).
//!
//! Owns the wire format and the arithmetic. It does not schedule reports
//! (§6.2 intervals are the caller's timer), read clocks (the NTP time and
//! `now` are arguments), parse SDES items or APP/feedback bodies, or enforce
//! the "first packet is SR/RR" rule (RFC 5506 reduced-size RTCP is allowed).

use std::time::Instant;

use super::{SeqNo, Ssrc};

/// RTCP packet types (RFC 3550 §12.1).
const PT_SR: u8 = 200;
const PT_RR: u8 = 201;
const PT_SDES: u8 = 202;
const PT_BYE: u8 = 203;
/// SDES item type CNAME (RFC 3550 §6.5.1).
const SDES_CNAME: u8 = 1;
/// A report block is six 32-bit words (RFC 3550 §6.4.1).
const BLOCK_LEN: usize = 24;

/// Why an RTCP datagram or a report to write is invalid. Parse errors are the
/// peer's fault (drop the datagram); write errors are API misuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtcpError {
    /// Fewer bytes than a common header or than the header's length field says.
    #[error("RTCP packet truncated")]
    Truncated,
    /// The version field is not 2.
    #[error("RTCP version {0}, expected 2")]
    BadVersion(u8),
    /// The padding count is 0 or larger than the packet (RFC 3550 §6.4.1).
    #[error("invalid RTCP padding")]
    BadPadding,
    /// An SR/RR/BYE count says more entries than the packet's length holds.
    #[error("RTCP item count exceeds packet length")]
    BadCount,
    /// More than 31 report blocks were given to a writer (the RC field is 5 bits).
    #[error("at most 31 report blocks fit one SR/RR")]
    TooManyReports,
    /// The CNAME given to a writer is longer than 255 bytes (SDES item length).
    #[error("CNAME longer than 255 bytes")]
    CnameTooLong,
}

/// A 64-bit NTP timestamp (RFC 3550 §4): seconds since 1900 in the high 32
/// bits, fraction in the low 32.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// The middle 32 bits, as carried in a report block's LSR field.
    pub fn middle32(self) -> u32 {
        (self.0 >> 16) as u32
    }
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: Ssrc,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed on the wire; duplicates can make
    /// it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | seq).
    pub highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP time from this source, or 0.
    pub lsr: u32,
    /// Delay since that SR in 1/65536 s, or 0.
    pub dlsr: u32,
}

/// One packet of a compound RTCP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket {
    /// Sender report (PT 200).
    SenderReport {
        /// Sender's SSRC.
        ssrc: Ssrc,
        /// Wall-clock time of the report.
        ntp: NtpTime,
        /// RTP timestamp corresponding to `ntp`.
        rtp_ts: u32,
        /// Sender's packet count.
        packets: u32,
        /// Sender's payload octet count.
        octets: u32,
        /// Reception report blocks.
        reports: Vec<ReportBlock>,
    },
    /// Receiver report (PT 201).
    ReceiverReport {
        /// Reporter's SSRC.
        ssrc: Ssrc,
        /// Reception report blocks.
        reports: Vec<ReportBlock>,
    },
    /// Source description (PT 202); items are not parsed.
    Sdes,
    /// Goodbye (PT 203); the reason text is not kept.
    Bye {
        /// Sources leaving.
        ssrcs: Vec<Ssrc>,
    },
    /// Any other packet type (APP, feedback, XR…), skipped.
    Other {
        /// Its packet type.
        pt: u8,
    },
}

/// Sender information for [`write_sender_report`] (RFC 3550 §6.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// Wall-clock time now.
    pub ntp: NtpTime,
    /// RTP timestamp corresponding to `ntp`.
    pub rtp_ts: u32,
    /// Packets sent since the start.
    pub packets: u32,
    /// Payload octets sent since the start.
    pub octets: u32,
}

fn be_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

fn parse_blocks(body: &[u8], count: usize) -> Result<Vec<ReportBlock>, RtcpError> {
    let mut reports = Vec::with_capacity(count);
    for i in 0..count {
        let at = i * BLOCK_LEN;
        let w = |k: usize| be_u32(body, at + 4 * k).ok_or(RtcpError::BadCount);
        let lost_word = w(1)?;
        // Sign-extend the 24-bit cumulative loss.
        let cumulative_lost = ((lost_word << 8) as i32) >> 8;
        reports.push(ReportBlock {
            ssrc: Ssrc(w(0)?),
            fraction_lost: (lost_word >> 24) as u8,
            cumulative_lost,
            highest_seq: w(2)?,
            jitter: w(3)?,
            lsr: w(4)?,
            dlsr: w(5)?,
        });
    }
    Ok(reports)
}

fn parse_one(pt: u8, count: usize, body: &[u8]) -> Result<RtcpPacket, RtcpError> {
    let word = |k: usize| be_u32(body, 4 * k).ok_or(RtcpError::BadCount);
    Ok(match pt {
        PT_SR => RtcpPacket::SenderReport {
            ssrc: Ssrc(word(0)?),
            ntp: NtpTime((u64::from(word(1)?) << 32) | u64::from(word(2)?)),
            rtp_ts: word(3)?,
            packets: word(4)?,
            octets: word(5)?,
            reports: parse_blocks(body.get(24..).unwrap_or_default(), count)?,
        },
        PT_RR => RtcpPacket::ReceiverReport {
            ssrc: Ssrc(word(0)?),
            reports: parse_blocks(body.get(4..).unwrap_or_default(), count)?,
        },
        PT_SDES => RtcpPacket::Sdes,
        PT_BYE => RtcpPacket::Bye {
            ssrcs: (0..count)
                .map(|k| word(k).map(Ssrc))
                .collect::<Result<_, _>>()?,
        },
        pt => RtcpPacket::Other { pt },
    })
}

/// Parses a compound RTCP datagram (RFC 3550 §6.1) into its packets.
pub fn parse(buf: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    let mut packets = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let (Some(&b0), Some(&pt), Some(len_words)) = (rest.first(), rest.get(1), rest.get(2..4))
        else {
            return Err(RtcpError::Truncated);
        };
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion(version));
        }
        let words = usize::from(u16::from_be_bytes([
            *len_words.first().unwrap_or(&0),
            *len_words.get(1).unwrap_or(&0),
        ]));
        let len = 4 * (words + 1);
        let packet = rest.get(..len).ok_or(RtcpError::Truncated)?;
        let mut body = packet.get(4..).unwrap_or_default();
        if b0 & 0x20 != 0 {
            let pad = usize::from(*packet.last().unwrap_or(&0));
            if pad == 0 || pad > body.len() {
                return Err(RtcpError::BadPadding);
            }
            body = body.get(..body.len() - pad).unwrap_or_default();
        }
        packets.push(parse_one(pt, usize::from(b0 & 0x1F), body)?);
        rest = rest.get(len..).unwrap_or_default();
    }
    Ok(packets)
}

/// Writes a common header with a placeholder length; returns its offset.
fn begin(out: &mut Vec<u8>, count: usize, pt: u8) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0x80 | (count as u8 & 0x1F), pt, 0, 0]);
    at
}

/// Pads to a 32-bit boundary with zeros and fills in the length field.
fn finish(out: &mut Vec<u8>, at: usize) {
    while !(out.len() - at).is_multiple_of(4) {
        out.push(0);
    }
    let words = ((out.len() - at) / 4 - 1) as u16;
    if let Some(len) = out.get_mut(at + 2..at + 4) {
        len.copy_from_slice(&words.to_be_bytes());
    }
}

fn write_blocks(out: &mut Vec<u8>, reports: &[ReportBlock]) {
    for r in reports {
        let lost = (r.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0x00FF_FFFF;
        for w in [
            r.ssrc.0,
            (u32::from(r.fraction_lost) << 24) | lost,
            r.highest_seq,
            r.jitter,
            r.lsr,
            r.dlsr,
        ] {
            out.extend_from_slice(&w.to_be_bytes());
        }
    }
}

/// SDES with one chunk: CNAME item then END, null-padded to 32 bits
/// (RFC 3550 §6.5).
fn write_sdes(out: &mut Vec<u8>, ssrc: Ssrc, cname: &str) {
    let at = begin(out, 1, PT_SDES);
    out.extend_from_slice(&ssrc.0.to_be_bytes());
    out.push(SDES_CNAME);
    out.push(cname.len() as u8);
    out.extend_from_slice(cname.as_bytes());
    out.push(0); // END item; `finish` adds the remaining null padding
    finish(out, at);
}

fn check(reports: &[ReportBlock], cname: &str) -> Result<(), RtcpError> {
    if reports.len() > 31 {
        return Err(RtcpError::TooManyReports);
    }
    if cname.len() > 255 {
        return Err(RtcpError::CnameTooLong);
    }
    Ok(())
}

/// Appends a compound SR + SDES(CNAME) packet to `out` (RFC 3550 §6.4.1).
pub fn write_sender_report(
    ssrc: Ssrc,
    info: &SenderInfo,
    reports: &[ReportBlock],
    cname: &str,
    out: &mut Vec<u8>,
) -> Result<(), RtcpError> {
    check(reports, cname)?;
    let at = begin(out, reports.len(), PT_SR);
    for w in [
        ssrc.0,
        (info.ntp.0 >> 32) as u32,
        info.ntp.0 as u32,
        info.rtp_ts,
        info.packets,
        info.octets,
    ] {
        out.extend_from_slice(&w.to_be_bytes());
    }
    write_blocks(out, reports);
    finish(out, at);
    write_sdes(out, ssrc, cname);
    Ok(())
}

/// Appends a compound RR + SDES(CNAME) packet to `out` (RFC 3550 §6.4.2).
pub fn write_receiver_report(
    ssrc: Ssrc,
    reports: &[ReportBlock],
    cname: &str,
    out: &mut Vec<u8>,
) -> Result<(), RtcpError> {
    check(reports, cname)?;
    let at = begin(out, reports.len(), PT_RR);
    out.extend_from_slice(&ssrc.0.to_be_bytes());
    write_blocks(out, reports);
    finish(out, at);
    write_sdes(out, ssrc, cname);
    Ok(())
}

/// Sequence numbers ahead of the highest seen by less than this are in order
/// (RFC 3550 A.1 `MAX_DROPOUT`).
const MAX_DROPOUT: u16 = 3000;
/// Sequence numbers behind by less than this are reordered, not a restart
/// (RFC 3550 A.1 `MAX_MISORDER`).
const MAX_MISORDER: u16 = 100;

/// Receiver-side statistics for one source, producing its report block.
///
/// Follows RFC 3550 A.1 without the probation period (the source is known
/// from signalling), A.3 for loss and A.8 for jitter.
#[derive(Clone, Debug)]
pub struct ReceptionStats {
    ssrc: Ssrc,
    started: bool,
    base_seq: u16,
    max_seq: u16,
    /// Sequence number that would confirm a restart after a large jump.
    bad_seq: Option<u16>,
    cycles: u64,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Previous relative transit time, for A.8.
    transit: Option<u32>,
    /// Jitter scaled by 16 (A.8).
    jitter_q4: u32,
    last_sr: Option<(NtpTime, Instant)>,
}

impl ReceptionStats {
    /// Empty statistics for packets from `ssrc`.
    pub fn new(ssrc: Ssrc) -> Self {
        Self {
            ssrc,
            started: false,
            base_seq: 0,
            max_seq: 0,
            bad_seq: None,
            cycles: 0,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
            last_sr: None,
        }
    }

    fn restart(&mut self, seq: u16) {
        self.base_seq = seq;
        self.max_seq = seq;
        self.bad_seq = None;
        self.cycles = 0;
        self.received = 0;
        self.expected_prior = 0;
        self.received_prior = 0;
        self.transit = None;
    }

    /// Records a packet with sequence `seq` and RTP timestamp `rtp_ts` that
    /// arrived at `arrival`, expressed in the same RTP clock units.
    pub fn on_packet(&mut self, seq: SeqNo, rtp_ts: u32, arrival: u32) {
        let seq = seq.0;
        if !self.started {
            self.started = true;
            self.restart(seq);
        } else {
            // RFC 3550 A.1 update_seq.
            let udelta = seq.wrapping_sub(self.max_seq);
            if udelta < MAX_DROPOUT {
                if seq < self.max_seq {
                    self.cycles += 1 << 16;
                }
                self.max_seq = seq;
            } else if udelta <= u16::MAX - MAX_MISORDER {
                // A very large jump: restart only if the next packet confirms it.
                if self.bad_seq == Some(seq) {
                    self.restart(seq);
                } else {
                    self.bad_seq = Some(seq.wrapping_add(1));
                    return;
                }
            }
            // else: duplicate or reordered packet, counted below.
        }
        self.received += 1;
        // RFC 3550 A.8: D = (Rj - Ri) - (Sj - Si); J += (|D| - J) / 16.
        let transit = arrival.wrapping_sub(rtp_ts);
        if let Some(prev) = self.transit {
            let d = (transit.wrapping_sub(prev) as i32).unsigned_abs();
            let j =
                i64::from(self.jitter_q4) + i64::from(d) - ((i64::from(self.jitter_q4) + 8) >> 4);
            self.jitter_q4 = j.clamp(0, i64::from(u32::MAX)) as u32;
        }
        self.transit = Some(transit);
    }

    /// Records a sender report from this source, received at `now`, for the
    /// LSR/DLSR fields.
    pub fn on_sender_report(&mut self, ntp: NtpTime, now: Instant) {
        self.last_sr = Some((ntp, now));
    }

    /// Packets received (including duplicates, as RFC 3550 A.3 counts them).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Extended highest sequence number received.
    pub fn extended_max(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    /// Packets expected: extended highest minus first, plus one.
    pub fn expected(&self) -> u64 {
        if self.started {
            (self.extended_max() + 1).saturating_sub(u64::from(self.base_seq))
        } else {
            0
        }
    }

    /// Cumulative packets lost (negative when duplicates outnumber losses).
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Interarrival jitter in RTP timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// The report block for this source at `now`, starting a new interval
    /// for the fraction-lost computation (RFC 3550 A.3).
    pub fn report_block(&mut self, now: Instant) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (lsr, dlsr) = match self.last_sr {
            Some((ntp, at)) => {
                let delay = now.saturating_duration_since(at);
                let units = delay.as_secs_f64() * 65536.0;
                (ntp.middle32(), units.min(f64::from(u32::MAX)) as u32)
            }
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            highest_seq: self.extended_max() as u32,
            jitter: self.jitter(),
            lsr,
            dlsr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    fn block(ssrc: u32, lost: i32) -> ReportBlock {
        ReportBlock {
            ssrc: Ssrc(ssrc),
            fraction_lost: 12,
            cumulative_lost: lost,
            highest_seq: 0x0001_0005,
            jitter: 77,
            lsr: 0x1234_5678,
            dlsr: 65536,
        }
    }

    #[test]
    fn sender_report_round_trips_with_cname() {
        for cname in ["", "a", "ab", "abc", "kefu@example.org"] {
            let info = SenderInfo {
                ntp: NtpTime(0xE000_0000_8000_0000),
                rtp_ts: 160,
                packets: 3,
                octets: 480,
            };
            let reports = [block(7, -3), block(8, 0x7F_FFFF)];
            let mut out = vec![0xEE]; // appends after existing bytes
            write_sender_report(Ssrc(1), &info, &reports, cname, &mut out).expect("valid");
            assert_eq!((out.len() - 1) % 4, 0, "32-bit aligned for {cname:?}");
            let parsed = parse(&out[1..]).expect("own output parses");
            assert_eq!(
                parsed,
                vec![
                    RtcpPacket::SenderReport {
                        ssrc: Ssrc(1),
                        ntp: info.ntp,
                        rtp_ts: 160,
                        packets: 3,
                        octets: 480,
                        reports: reports.to_vec(),
                    },
                    RtcpPacket::Sdes,
                ]
            );
            // CNAME item sits right after the SDES chunk's SSRC.
            let sr_len = 4 + 24 + 2 * 24;
            assert_eq!(out[1 + sr_len + 1], PT_SDES);
            assert_eq!(out[1 + sr_len + 8], SDES_CNAME);
            assert_eq!(usize::from(out[1 + sr_len + 9]), cname.len());
        }
    }

    #[test]
    fn receiver_report_round_trips() {
        let mut out = Vec::new();
        write_receiver_report(Ssrc(9), &[block(5, 10)], "x", &mut out).expect("valid");
        let parsed = parse(&out).expect("parses");
        assert_eq!(
            parsed[0],
            RtcpPacket::ReceiverReport {
                ssrc: Ssrc(9),
                reports: vec![block(5, 10)],
            }
        );
        assert_eq!(out[0], 0x81);
        assert_eq!(out[1], PT_RR);
    }

    #[test]
    fn writers_validate_limits() {
        let mut out = Vec::new();
        let many = vec![ReportBlock::default(); 32];
        assert_eq!(
            write_receiver_report(Ssrc(1), &many, "x", &mut out),
            Err(RtcpError::TooManyReports)
        );
        let long = "x".repeat(256);
        assert_eq!(
            write_receiver_report(Ssrc(1), &[], &long, &mut out),
            Err(RtcpError::CnameTooLong)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn parses_bye_app_and_padding() {
        // BYE with two SSRCs and a padded reason, then APP (PT 204) with padding.
        let mut buf = vec![
            0x82, PT_BYE, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 3, b'b', b'y', b'e',
        ];
        buf.extend_from_slice(&[
            0xA0, 204, 0, 3, 0, 0, 0, 9, b'n', b'a', b'm', b'e', 0, 0, 0, 4,
        ]);
        let parsed = parse(&buf).expect("valid");
        assert_eq!(
            parsed,
            vec![
                RtcpPacket::Bye {
                    ssrcs: vec![Ssrc(1), Ssrc(2)]
                },
                RtcpPacket::Other { pt: 204 },
            ]
        );
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(parse(&[0x80, 200, 0]), Err(RtcpError::Truncated));
        assert_eq!(parse(&[0x40, 200, 0, 0]), Err(RtcpError::BadVersion(1)));
        assert_eq!(parse(&[0x80, 201, 0, 6, 0, 0]), Err(RtcpError::Truncated));
        // RR claiming one block but carrying only the SSRC.
        assert_eq!(
            parse(&[0x81, 201, 0, 1, 0, 0, 0, 1]),
            Err(RtcpError::BadCount)
        );
        assert_eq!(parse(&[0xA0, 204, 0, 0]), Err(RtcpError::BadPadding));
        assert_eq!(parse(&[]), Ok(vec![]));
    }

    #[test]
    fn stats_count_loss_and_fraction() {
        let mut s = ReceptionStats::new(Ssrc(3));
        let now = Instant::now();
        for i in 0..100u16 {
            if i % 10 != 5 {
                s.on_packet(
                    SeqNo(65_500u16.wrapping_add(i)),
                    u32::from(i) * 160,
                    u32::from(i) * 160,
                );
            }
        }
        assert_eq!(s.expected(), 100);
        assert_eq!(s.received(), 90);
        assert_eq!(s.lost(), 10);
        let b = s.report_block(now);
        assert_eq!(b.fraction_lost, 25); // 10/100 * 256
        assert_eq!(b.cumulative_lost, 10);
        assert_eq!(
            b.highest_seq,
            (1 << 16) | u32::from(65_500u16.wrapping_add(99))
        );
        assert_eq!(b.jitter, 0);
        assert_eq!((b.lsr, b.dlsr), (0, 0));
        // Next interval without loss reports fraction 0.
        s.on_packet(SeqNo(65_500u16.wrapping_add(100)), 16_000, 16_000);
        assert_eq!(s.report_block(now).fraction_lost, 0);
    }

    #[test]
    fn duplicates_make_loss_negative() {
        let mut s = ReceptionStats::new(Ssrc(3));
        for seq in [1u16, 2, 2, 3, 3] {
            s.on_packet(SeqNo(seq), 0, 0);
        }
        assert_eq!(s.lost(), -2);
        assert_eq!(s.report_block(Instant::now()).cumulative_lost, -2);
    }

    #[test]
    fn jitter_follows_a8() {
        let mut s = ReceptionStats::new(Ssrc(3));
        // Transit alternates by 80 units: J converges towards 80.
        for i in 0..2000u32 {
            s.on_packet(SeqNo(i as u16), i * 160, i * 160 + (i % 2) * 80);
        }
        assert!((75..=80).contains(&s.jitter()), "jitter {}", s.jitter());
    }

    #[test]
    fn large_jump_needs_confirmation() {
        let mut s = ReceptionStats::new(Ssrc(3));
        s.on_packet(SeqNo(10), 0, 0);
        s.on_packet(SeqNo(20_000), 0, 0); // ignored, awaits 20001
        assert_eq!(s.received(), 1);
        s.on_packet(SeqNo(20_001), 0, 0); // confirms: restart
        assert_eq!(s.expected(), 1);
        assert_eq!(s.received(), 1);
    }

    #[test]
    fn lsr_and_dlsr_come_from_the_last_sender_report() {
        let mut s = ReceptionStats::new(Ssrc(3));
        let t0 = Instant::now();
        s.on_sender_report(NtpTime(0x0001_2345_6789_0000), t0);
        let b = s.report_block(t0 + Duration::from_millis(500));
        assert_eq!(b.lsr, 0x2345_6789);
        assert_eq!(b.dlsr, 32768);
    }

    proptest! {
        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&buf);
        }

        #[test]
        fn parse_never_panics_on_plausible_headers(
            mut buf in proptest::collection::vec(any::<u8>(), 4..120),
            count in 0u8..32, pt in 200u8..206, words in 0u16..40, pad in any::<bool>(),
        ) {
            buf[0] = 0x80 | if pad { 0x20 } else { 0 } | count;
            buf[1] = pt;
            buf[2..4].copy_from_slice(&words.to_be_bytes());
            let _ = parse(&buf);
        }

        #[test]
        fn blocks_round_trip(ssrc in any::<u32>(), frac in any::<u8>(), lost in -0x80_0000i32..0x80_0000,
                             hs in any::<u32>(), j in any::<u32>(), lsr in any::<u32>(), dlsr in any::<u32>()) {
            let b = ReportBlock { ssrc: Ssrc(ssrc), fraction_lost: frac, cumulative_lost: lost,
                                  highest_seq: hs, jitter: j, lsr, dlsr };
            let mut out = Vec::new();
            write_receiver_report(Ssrc(1), &[b], "c", &mut out).expect("valid");
            let parsed = parse(&out).expect("parses");
            prop_assert_eq!(parsed.first(), Some(&RtcpPacket::ReceiverReport { ssrc: Ssrc(1), reports: vec![b] }));
        }

        #[test]
        fn stats_never_panic(pkts in proptest::collection::vec((any::<u16>(), any::<u32>(), any::<u32>()), 0..200)) {
            let mut s = ReceptionStats::new(Ssrc(1));
            let now = Instant::now();
            for (seq, ts, arr) in pkts {
                s.on_packet(SeqNo(seq), ts, arr);
            }
            let _ = s.report_block(now);
        }
    }
}
