//! The quality inspection of a finished call: the call's record as the
//! core's [`kefu_core::quality::Facts`], inspected with its dialplan's
//! `[quality]` rules (those of the queue it went to, when they differ).

use kefu_core::dialogue::emotion::Level;
use kefu_core::dialogue::flow::Flow;
use kefu_core::quality::{self, Facts, Talk};
use serde_json::json;

use crate::storage::{Millis, QaFlag, QaResult, Speaker, TalkStats};

/// What the inspection needs of a call.
pub(super) struct Record<'a> {
    pub flow: Option<&'a Flow>,
    pub answered_at: Option<Millis>,
    pub lines: &'a [(Speaker, String, Millis)],
    pub talk: &'a Talk,
    pub emotions: &'a [Level],
    pub transfer: Option<&'a str>,
}

/// The inspection's result, or `None` for a call never answered.
pub(super) fn inspect(r: &Record<'_>, at: Millis) -> Option<QaResult> {
    let answered = r.answered_at?;
    let rules = r
        .flow
        .map(|f| f.plan.quality.clone())
        .unwrap_or_default()
        .for_target(r.transfer);
    let facts = Facts {
        lines: r
            .lines
            .iter()
            .map(|(who, text, t)| quality::Line {
                speaker: match who {
                    Speaker::Caller => quality::Speaker::Caller,
                    Speaker::Bot => quality::Speaker::Bot,
                    Speaker::Agent => quality::Speaker::Agent,
                },
                text: text.clone(),
                offset_ms: (t - answered).max(0) as u64,
            })
            .collect(),
        talk: r.talk.clone(),
        emotions: r.emotions.to_vec(),
        transfer: r.transfer.map(str::to_string),
        answered: true,
    };
    let i = quality::inspect(&rules, &facts);
    let score = i.score?;
    Some(QaResult {
        score,
        flags: i
            .flags
            .iter()
            .map(|f| QaFlag {
                code: f.code.to_string(),
                severity: f.severity.name().to_string(),
                detail: f.detail.clone(),
            })
            .collect(),
        checks: i
            .checks
            .iter()
            .map(|c| json!({ "name": c.name, "passed": c.passed, "detail": c.detail }))
            .collect(),
        at,
    })
}

/// The core's talk figures as stored.
pub(super) fn talk_stats(t: &Talk) -> TalkStats {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    TalkStats {
        total_ms: n(t.total_ms),
        caller_ms: n(t.caller_ms),
        agent_ms: n(t.agent_ms),
        overlap_ms: n(t.overlap_ms),
        silence_ms: n(t.silence_ms),
        longest_silence_ms: n(t.longest_silence_ms),
        hold_ms: n(t.hold_ms),
        longest_hold_ms: n(t.longest_hold_ms),
        barge_ins: n(t.barge_ins),
    }
}
