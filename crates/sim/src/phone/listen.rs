//! The phone's ear: every RTP packet kefu sent it, the audio decoded from
//! them, and keys decoded from RFC 4733 events.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kefu_core::media::g711::{self, Law};
use kefu_core::rtp::packet::RtpPacket;

use super::{Heard, ScriptedPhone, PT_EVENT, PT_PCMU};

impl ScriptedPhone {
    /// Handles a datagram arriving at the phone's RTP port.
    pub fn on_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let Ok(p) = RtpPacket::parse(data) else {
            self.garbage += 1;
            return;
        };
        let h = p.header;
        self.rx.push(Heard {
            at: now,
            from,
            marker: h.marker,
            pt: h.payload_type,
            seq: h.seq.0,
            ts: h.timestamp,
            ssrc: h.ssrc.0,
        });
        match h.payload_type {
            PT_PCMU => {
                let from = self.heard.len();
                g711::decode(Law::Mu, p.payload, &mut self.heard);
                let frame = &self.heard[from..];
                let level = kefu_core::vad::energy::level_dbfs(frame);
                self.levels.push((now, level));
                if let Some(e) = self.echo.as_mut() {
                    e.pending.extend(frame.iter().copied());
                }
            }
            PT_EVENT => {
                if let Ok(Some(d)) = self.dtmf_rx.on_packet(h.marker, h.timestamp, p.payload) {
                    self.digits.push(d.digit);
                }
            }
            _ => self.garbage += 1,
        }
    }

    /// Counts a datagram arriving at the phone's RTCP port.
    pub fn on_rtcp(&mut self) {
        self.rtcp += 1;
    }

    /// Decoded audio received, in arrival order.
    pub fn heard_samples(&self) -> &[i16] {
        &self.heard
    }

    /// Arrival time and level (dBFS) of each audio packet received.
    pub fn levels(&self) -> &[(Instant, f32)] {
        &self.levels
    }

    /// Arrival time of the first audio packet louder than `dbfs` at or
    /// after `t`.
    pub fn first_loud_after(&self, t: Instant, dbfs: f32) -> Option<Instant> {
        self.levels
            .iter()
            .find(|(at, l)| *at >= t && *l > dbfs)
            .map(|(at, _)| *at)
    }

    /// Every RTP packet received, in arrival order.
    pub fn received(&self) -> &[Heard] {
        &self.rx
    }

    /// RTP packets received.
    pub fn packets_received(&self) -> usize {
        self.rx.len()
    }

    /// Places in arrival order where the sequence number did not advance by
    /// exactly one (loss, reordering or duplication upstream).
    pub fn seq_gaps(&self) -> usize {
        self.rx
            .windows(2)
            .filter(|w| w[1].seq != w[0].seq.wrapping_add(1))
            .count()
    }

    /// Times between consecutive arrivals.
    pub fn inter_arrival(&self) -> Vec<Duration> {
        self.rx.windows(2).map(|w| w[1].at - w[0].at).collect()
    }

    /// Keys decoded from RFC 4733 events received.
    pub fn digits_received(&self) -> &str {
        &self.digits
    }

    /// RTCP datagrams received.
    pub fn rtcp_received(&self) -> u64 {
        self.rtcp
    }

    /// Datagrams that were not RTP the phone understands.
    pub fn garbage_received(&self) -> u64 {
        self.garbage
    }

    /// Audio packets sent.
    pub fn audio_sent(&self) -> u64 {
        self.sent_audio
    }

    /// Every RTP datagram sent, with its send time.
    pub fn sent(&self) -> &[(Instant, Vec<u8>)] {
        &self.sent
    }

    /// Telephone-event packets sent.
    pub fn events_sent(&self) -> u64 {
        self.sent_events
    }
}
