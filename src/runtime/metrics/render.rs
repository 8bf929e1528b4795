//! [`Metrics`] as Prometheus text (exposition format 0.0.4): every family
//! opens with `# HELP` and `# TYPE`, label values are escaped, histograms
//! list cumulative `_bucket{le=…}` lines ending in `+Inf`, then `_sum` and
//! `_count`.
//!
//! Values are read once each with relaxed loads; a scrape is a consistent
//! picture of each family, not of the whole process at one instant.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use kefu_core::call::media::Dropped;

use super::{Histogram, Metrics, WorkerCounters};

/// A label value escaped for the text format: backslash, double quote and
/// line feed become `\\`, `\"` and `\n`.
pub fn escape_label(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A sample value: integers as they are, floats with `+Inf`, `-Inf` and
/// `NaN` spelled as the format wants.
fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// The exposition being written.
struct Text(String);

impl Text {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: &str) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape_label(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn counter(&mut self, name: &str, help: &str, v: u64) {
        self.head(name, "counter", help);
        self.sample(name, &[], &v.to_string());
    }

    fn gauge(&mut self, name: &str, help: &str, v: f64) {
        self.head(name, "gauge", help);
        self.sample(name, &[], &float(v));
    }

    fn labelled(&mut self, name: &str, help: &str, label: &str, values: &[(String, u64)]) {
        self.head(name, "gauge", help);
        for (k, v) in values {
            self.sample(name, &[(label, k)], &v.to_string());
        }
    }

    fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        let s = h.snapshot();
        self.head(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        for (le, n) in &s.buckets {
            self.sample(&bucket, &[("le", &float(*le))], &n.to_string());
        }
        self.sample(&bucket, &[("le", "+Inf")], &s.count.to_string());
        self.sample(&format!("{name}_sum"), &[], &float(s.sum));
        self.sample(&format!("{name}_count"), &[], &s.count.to_string());
    }
}

/// Every family of `m`, as of `now` (for the call rate).
pub(super) fn render(m: &Metrics, now: Instant) -> String {
    let mut t = Text(String::with_capacity(8192));
    let sum = |f: &dyn Fn(&WorkerCounters) -> u64| m.workers.iter().map(f).sum::<u64>();
    calls(&mut t, m, now);
    t.counter(
        "kefu_sip_invalid_replied_total",
        "SIP requests answered by the wire check (malformed, unknown method).",
        m.sip_bad_replied.load(Relaxed),
    );
    t.counter(
        "kefu_sip_invalid_dropped_total",
        "Malformed SIP messages discarded.",
        m.sip_bad_dropped.load(Relaxed),
    );
    t.counter(
        "kefu_recording_errors_total",
        "Recording write failures.",
        m.recording_errors.load(Relaxed),
    );
    t.counter(
        "kefu_rtp_packets_received_total",
        "RTP packets received and used.",
        sum(&|w| w.rtp_received.load(Relaxed)),
    );
    t.counter(
        "kefu_rtp_packets_sent_total",
        "RTP packets sent.",
        sum(&|w| w.rtp_sent.load(Relaxed)),
    );
    t.counter(
        "kefu_rtp_send_errors_total",
        "RTP packets the socket refused.",
        sum(&|w| w.send_errors.load(Relaxed)),
    );
    t.counter(
        "kefu_rtp_lost_packets_total",
        "Received RTP packets lost: sequence gaps, plus packets too late to play or \
         finding the jitter buffer full.",
        m.rtp_lost(),
    );
    t.gauge(
        "kefu_rtp_loss_ratio",
        "Lost RTP packets over packets expected, since start.",
        m.rtp_loss_ratio(),
    );
    t.counter(
        "kefu_dtmf_digits_total",
        "RFC 4733 key presses received.",
        sum(&|w| w.digits.load(Relaxed)),
    );
    t.counter(
        "kefu_media_clock_slips_total",
        "Media ticks more than one period late.",
        sum(&|w| w.clock_slips.load(Relaxed)),
    );
    t.head(
        "kefu_rtp_dropped_total",
        "counter",
        "Received datagrams dropped, by reason.",
    );
    for (i, d) in Dropped::ALL.iter().enumerate() {
        let v = sum(&|w| w.dropped.get(i).map_or(0, |c| c.load(Relaxed)));
        t.sample(
            "kefu_rtp_dropped_total",
            &[("reason", d.as_str())],
            &v.to_string(),
        );
    }
    send_interval(&mut t, m);
    speech(&mut t, m);
    t.labelled(
        "kefu_queue_waiting",
        "Callers waiting in each queue.",
        "queue",
        &m.queue_waiting.snapshot(),
    );
    t.labelled(
        "kefu_webhook_backlog",
        "Events not yet delivered, by webhook endpoint.",
        "endpoint",
        &m.webhook_backlog.snapshot(),
    );
    t.counter(
        "kefu_store_writes_total",
        "Writes to the store, failed ones included.",
        m.store_writes.load(Relaxed),
    );
    t.counter(
        "kefu_store_write_errors_total",
        "Writes to the store that failed.",
        m.store_write_errors.load(Relaxed),
    );
    t.0
}

fn calls(t: &mut Text, m: &Metrics, now: Instant) {
    t.counter(
        "kefu_calls_total",
        "Calls offered and accepted for negotiation.",
        m.calls_total.load(Relaxed),
    );
    t.counter(
        "kefu_calls_answered_total",
        "Calls answered.",
        m.calls_answered.load(Relaxed),
    );
    let active = m.calls_active();
    t.head("kefu_calls_active", "gauge", "Calls ringing or active.");
    t.sample("kefu_calls_active", &[], &active.to_string());
    t.head(
        "kefu_active_calls",
        "gauge",
        "Calls ringing or active, summed over the media workers.",
    );
    t.sample("kefu_active_calls", &[], &active.to_string());
    t.gauge(
        "kefu_calls_per_second",
        "INVITEs that created a call, per second over the last 10 s.",
        m.calls_per_second_at(now),
    );
    t.counter(
        "kefu_calls_rejected_busy_total",
        "INVITEs rejected with 503 at capacity.",
        m.calls_rejected_busy.load(Relaxed),
    );
    t.counter(
        "kefu_calls_rejected_sdp_total",
        "INVITEs rejected for their SDP.",
        m.calls_rejected_sdp.load(Relaxed),
    );
}

fn send_interval(t: &mut Text, m: &Metrics) {
    let name = "kefu_rtp_send_interval_deviation_ms";
    t.head(
        name,
        "summary",
        "Deviation of the RTP send interval from 20 ms.",
    );
    for q in [0.5, 0.9, 0.99, 0.999] {
        let v = m.send_deviation_quantile(q).unwrap_or(0.0);
        t.sample(name, &[("quantile", &float(q))], &format!("{v:.1}"));
    }
    let sum_ms = m.interval_sum_micros.load(Relaxed) as f64 / 1000.0;
    t.sample(&format!("{name}_sum"), &[], &float(sum_ms));
    let count: u64 = m.interval.iter().map(|b| b.load(Relaxed)).sum();
    t.sample(&format!("{name}_count"), &[], &count.to_string());
}

fn speech(t: &mut Text, m: &Metrics) {
    t.histogram(
        "kefu_asr_seconds",
        "Speech recognition time, from the decoder taking an utterance to its transcript.",
        &m.asr,
    );
    t.histogram(
        "kefu_tts_first_audio_seconds",
        "Speech synthesis latency, from the request to its first audio.",
        &m.tts_first_audio,
    );
    t.gauge(
        "kefu_asr_queue_length",
        "Utterances waiting for a recognizer.",
        m.asr_queue.load(Relaxed) as f64,
    );
    t.gauge(
        "kefu_tts_queue_length",
        "Replies waiting for the synthesizer.",
        m.tts_queue.load(Relaxed) as f64,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("plain"), "plain");
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let m = Metrics::new(1);
        m.set_queue_waiting("vip \"gold\"", 2);
        m.set_webhook_backlog("https://crm.example/hook", 5);
        let text = m.render();
        assert!(
            text.contains("kefu_queue_waiting{queue=\"vip \\\"gold\\\"\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("kefu_webhook_backlog{endpoint=\"https://crm.example/hook\"} 5\n"));
    }

    #[test]
    fn histogram_renders_cumulative_buckets_inf_sum_and_count() {
        let m = Metrics::new(1);
        m.observe_asr(Duration::from_millis(40));
        m.observe_asr(Duration::from_millis(700));
        m.observe_asr(Duration::from_secs(12));
        let text = m.render();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("kefu_asr_seconds"))
            .collect();
        assert_eq!(
            lines.first(),
            Some(&"kefu_asr_seconds_bucket{le=\"0.05\"} 1")
        );
        assert!(lines.contains(&"kefu_asr_seconds_bucket{le=\"0.5\"} 1"));
        assert!(lines.contains(&"kefu_asr_seconds_bucket{le=\"0.75\"} 2"));
        assert!(lines.contains(&"kefu_asr_seconds_bucket{le=\"8\"} 2"));
        let tail = &lines[lines.len() - 3..];
        assert_eq!(
            tail,
            [
                "kefu_asr_seconds_bucket{le=\"+Inf\"} 3",
                "kefu_asr_seconds_sum 12.74",
                "kefu_asr_seconds_count 3"
            ]
        );
        assert_eq!(lines.len(), 12 + 3);
        let at = text.find("kefu_asr_seconds_bucket").unwrap_or(0);
        let head = &text[..at];
        assert!(head.ends_with(
            "# HELP kefu_asr_seconds Speech recognition time, from the decoder taking an \
             utterance to its transcript.\n# TYPE kefu_asr_seconds histogram\n"
        ));
    }

    #[test]
    fn special_floats_use_the_format_spelling() {
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(0.25), "0.25");
        assert_eq!(float(3.0), "3");
    }

    #[test]
    fn every_family_is_present_once() {
        let text = Metrics::new(2).render();
        for family in [
            "kefu_active_calls gauge",
            "kefu_calls_per_second gauge",
            "kefu_rtp_lost_packets_total counter",
            "kefu_rtp_loss_ratio gauge",
            "kefu_asr_seconds histogram",
            "kefu_tts_first_audio_seconds histogram",
            "kefu_asr_queue_length gauge",
            "kefu_tts_queue_length gauge",
            "kefu_queue_waiting gauge",
            "kefu_webhook_backlog gauge",
            "kefu_store_writes_total counter",
            "kefu_store_write_errors_total counter",
        ] {
            let line = format!("# TYPE {family}\n");
            assert_eq!(text.matches(&line).count(), 1, "{family} in\n{text}");
        }
    }
}
