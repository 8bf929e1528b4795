//! The console test's dataset: a week of calls written through
//! `Store::apply` (six scenarios in English and Chinese: resolved, angry
//! and transferred, a Chinese parcel complaint with a recording, a caller
//! asking for a human, an abandoned call, a missed one), agents, a queue
//! with its entries and agent legs, and an outbound campaign with
//! attempts and dispositions.

use std::path::Path;

use kefu::storage::sqlite::SqliteStore;
use kefu::storage::{
    Agent, AgentLeg, Attempt, CallEnd, Campaign, Contact, Direction, Disposition, Event, Line,
    NewCall, Outcome, QaFlag, QaResult, Queue, QueueEntry, Recording, Speaker, Store, TalkStats,
    TransferInfo, Write,
};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Calls seeded: six scenarios, several times each over the last days.
pub const CALLS: usize = 36;
/// A caller's words in the Chinese parcel scenario.
pub const ZH_TEXT: &str = "我的快递三天了还没到";

/// One seeded conversation: what is said, and how it ends.
struct Scenario {
    caller_lines: &'static [(&'static str, &'static str, &'static str)],
    bot_lines: &'static [&'static str],
    agent_line: Option<&'static str>,
    outcome: Outcome,
    transfer_reason: Option<&'static str>,
    tag: Option<&'static str>,
    csat: Option<u8>,
    qa: f64,
    flag: Option<(&'static str, &'static str)>,
}

const SCENARIOS: [Scenario; 6] = [
    Scenario {
        caller_lines: &[
            (
                "Where is my order 4417? It should have arrived yesterday.",
                "concerned",
                "order_status",
            ),
            ("Great, thank you.", "neutral", "thanks"),
        ],
        bot_lines: &[
            "Hello, this is the kefu assistant. How can I help?",
            "Order 4417 is out for delivery and arrives today before 6 pm.",
        ],
        agent_line: None,
        outcome: Outcome::Resolved,
        transfer_reason: None,
        tag: None,
        csat: Some(5),
        qa: 92.0,
        flag: None,
    },
    Scenario {
        caller_lines: &[(
            "This is the third time I call, I want a refund now!",
            "angry",
            "refund",
        )],
        bot_lines: &[
            "Hello, this is the kefu assistant. How can I help?",
            "I am sorry. Let me put you through to a colleague.",
        ],
        agent_line: Some("Hello, this is Alice from after-sales. I am sorry about this."),
        outcome: Outcome::Transferred,
        transfer_reason: Some("emotion"),
        tag: Some("complaint:refund"),
        csat: Some(2),
        qa: 61.0,
        flag: Some(("emotion_worse", "warning")),
    },
    Scenario {
        caller_lines: &[
            (
                "我的快递三天了还没到，单号是 SF1234567。",
                "upset",
                "order_status",
            ),
            ("好的，谢谢。", "neutral", "thanks"),
        ],
        bot_lines: &[
            "您好，这里是客服助手，请问有什么可以帮您？",
            "非常抱歉，您的包裹正在派送中，预计今天送达。",
        ],
        agent_line: None,
        outcome: Outcome::Resolved,
        transfer_reason: None,
        tag: Some("complaint:delivery"),
        csat: Some(4),
        qa: 88.0,
        flag: Some(("silence", "info")),
    },
    Scenario {
        caller_lines: &[("我要转人工客服。", "concerned", "agent")],
        bot_lines: &[
            "您好，这里是客服助手，请问有什么可以帮您？",
            "好的，正在为您转接人工客服。",
        ],
        agent_line: Some("您好，我是客服小王，请问有什么可以帮您？"),
        outcome: Outcome::Transferred,
        transfer_reason: Some("asked"),
        tag: Some("vip"),
        csat: None,
        qa: 79.0,
        flag: Some(("not_contained", "info")),
    },
    Scenario {
        caller_lines: &[("Hi, um, what are your opening hours?", "neutral", "hours")],
        bot_lines: &["Hello, this is the kefu assistant. How can I help?"],
        agent_line: None,
        outcome: Outcome::Abandoned,
        transfer_reason: None,
        tag: None,
        csat: None,
        qa: 70.0,
        flag: Some(("missing_required", "critical")),
    },
    Scenario {
        caller_lines: &[],
        bot_lines: &[],
        agent_line: None,
        outcome: Outcome::Missed,
        transfer_reason: None,
        tag: None,
        csat: None,
        qa: 0.0,
        flag: None,
    },
];

/// When call `i` started: the first six within the last half hour (today),
/// the rest spread over the five days before, in daytime hours.
fn start_of(i: usize, now: i64) -> i64 {
    if i < 6 {
        return now - 10_000 - i as i64 * 5 * MINUTE;
    }
    let day = 1 + (i as i64 % 5);
    now - day * DAY + (i as i64 % 7) * HOUR - 3 * HOUR
}

pub fn caller_of(i: usize) -> String {
    format!("+86138{:08}", 10_000_000 + i * 7919)
}

fn line(speaker: Speaker, text: &str, at: i64, extra: Option<(&str, &str)>) -> Line {
    Line {
        speaker,
        text: text.into(),
        started_at: at,
        ended_at: at + 2_500,
        confidence: extra.map(|_| 0.91),
        emotion: extra.map(|e| e.0.into()),
        intent: extra.map(|e| e.1.into()),
    }
}

/// Every write of seeded call `i`.
fn call_writes(i: usize, now: i64, recording: Option<Recording>) -> (String, Vec<Write>) {
    let s = &SCENARIOS[i % SCENARIOS.len()];
    let start = start_of(i, now);
    let id = format!("{start:011x}{i:08x}");
    let call = || id.clone();
    let mut w = vec![Write::CallStarted(NewCall {
        id: call(),
        direction: Direction::Inbound,
        sip_call_id: format!("sip-{i}@198.51.100.7"),
        caller: caller_of(i),
        called: "4008001234".into(),
        dialplan: "shop".into(),
        started_at: start,
        campaign_id: None,
        contact_id: None,
    })];
    let answered = start + 2_000;
    let mut at = answered;
    if s.outcome != Outcome::Missed {
        w.push(Write::Answered { call: call(), at });
        w.push(Write::Event {
            call: call(),
            event: Event {
                at,
                kind: "answered".into(),
                data: serde_json::json!({}),
            },
        });
    }
    let mut peak = "neutral";
    for (n, (text, emotion, intent)) in s.caller_lines.iter().enumerate() {
        if let Some(bot) = s.bot_lines.get(n) {
            w.push(Write::Line {
                call: call(),
                line: line(Speaker::Bot, bot, at, None),
            });
            at += 3_000;
        }
        w.push(Write::Line {
            call: call(),
            line: line(Speaker::Caller, text, at, Some((emotion, intent))),
        });
        w.push(Write::Event {
            call: call(),
            event: Event {
                at: at + 2_600,
                kind: "understood".into(),
                data: serde_json::json!({"intent": intent}),
            },
        });
        if *emotion == "angry"
            || (*emotion == "upset" && peak != "angry")
            || (*emotion == "concerned" && peak == "neutral")
        {
            peak = emotion;
        }
        at += 3_000;
    }
    if let Some(last) = s.bot_lines.get(s.caller_lines.len()) {
        w.push(Write::Line {
            call: call(),
            line: line(Speaker::Bot, last, at, None),
        });
        at += 3_000;
    }
    if let Some(reason) = s.transfer_reason {
        let transfer = TransferInfo {
            target: "queue:after-sales".into(),
            reason: reason.into(),
            at,
        };
        w.push(Write::Event {
            call: call(),
            event: Event {
                at,
                kind: "transfer".into(),
                data: serde_json::json!({"target": "queue:after-sales", "reason": reason}),
            },
        });
        w.push(Write::Transfer {
            call: call(),
            transfer,
        });
        at += 20_000;
        if let Some(agent) = s.agent_line {
            w.push(Write::Line {
                call: call(),
                line: line(Speaker::Agent, agent, at, None),
            });
            at += 60_000;
        }
    }
    if let Some(tag) = s.tag {
        w.push(Write::Tag {
            call: call(),
            phone: caller_of(i),
            tag: tag.into(),
            at,
        });
    }
    if let Some(score) = s.csat {
        w.push(Write::Csat {
            call: call(),
            score,
            at,
        });
    }
    let talked = s.outcome != Outcome::Missed;
    w.push(Write::Ended {
        call: call(),
        end: CallEnd {
            ended_at: at + 1_000,
            end_reason: if talked { "remote_bye" } else { "cancelled" }.into(),
            outcome: s.outcome,
            intents: s.caller_lines.iter().map(|l| l.2.to_string()).collect(),
            emotion_start: s.caller_lines.first().map(|l| l.1.into()),
            emotion_end: s.caller_lines.last().map(|l| l.1.into()),
            emotion_peak: talked.then(|| peak.into()),
            talk: TalkStats {
                total_ms: at + 1_000 - answered,
                caller_ms: 5_000,
                agent_ms: 8_000,
                silence_ms: 3_000,
                longest_silence_ms: 1_800,
                barge_ins: (i % 3) as i64,
                ..TalkStats::default()
            },
        },
    });
    if talked {
        let flags = s.flag.map(|(code, severity)| QaFlag {
            code: code.into(),
            severity: severity.into(),
            detail: format!("{code} found by the inspection"),
        });
        w.push(Write::Qa {
            call: call(),
            result: QaResult {
                score: s.qa,
                flags: flags.into_iter().collect(),
                checks: serde_json::json!({"greeting": true}),
                at: at + 2_000,
            },
        });
    }
    if let Some(mut r) = recording {
        r.call_id = call();
        r.at = at;
        w.push(Write::Recording(r));
    }
    (id, w)
}

/// A short WAV (a 440 Hz tone) for the recording player.
fn write_wav(path: &Path) -> Recording {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = hound::WavWriter::create(path, spec).expect("create wav");
    for n in 0..16_000 {
        let v = (n as f64 * 440.0 * std::f64::consts::TAU / 8000.0).sin() * 8000.0;
        wav.write_sample(v as i16).expect("write sample");
    }
    wav.finalize().expect("finalize wav");
    let bytes = std::fs::metadata(path).expect("wav size").len() as i64;
    Recording {
        call_id: String::new(),
        path: path.display().to_string(),
        format: "wav".into(),
        bytes,
        duration_ms: 2_000,
        at: 0,
    }
}

/// What the checks need to know about the seeded data.
pub struct Seeded {
    /// The Chinese parcel call that has a recording.
    pub zh_call: String,
    /// Calls whose transcript holds ZH_TEXT.
    pub zh_text_calls: usize,
}

pub fn seed(store: &SqliteStore, data: &Path, now: i64) -> Seeded {
    let wav = write_wav(&data.join("zh-call.wav"));
    let mut zh_call = String::new();
    let mut zh_text_calls = 0;
    let mut transferred = Vec::new();
    for i in 0..CALLS {
        let with_recording = (i == 2).then(|| wav.clone());
        let (id, writes) = call_writes(i, now, with_recording);
        store
            .apply(&writes)
            .unwrap_or_else(|e| panic!("seeding call {i}: {e}"));
        if i == 2 {
            zh_call = id.clone();
        }
        if i % SCENARIOS.len() == 2 {
            zh_text_calls += 1;
        }
        if SCENARIOS[i % SCENARIOS.len()].transfer_reason.is_some() {
            transferred.push((id, start_of(i, now)));
        }
    }
    for (id, name, skills) in [
        ("alice", "Alice Chen", ["after-sales", "refund"]),
        ("wang", "王芳", ["after-sales", "zh"]),
    ] {
        store
            .put_agent(&Agent {
                id: id.into(),
                name: name.into(),
                uri: format!("sip:{id}@pbx.example"),
                skills: skills.map(String::from).to_vec(),
                languages: vec!["zh".into(), "en".into()],
                max_calls: 2,
                ..Agent::default()
            })
            .expect("agent");
    }
    store
        .put_queue(&Queue {
            name: "after-sales".into(),
            skills: vec!["after-sales".into()],
            max_wait_secs: 120,
            ..Queue::default()
        })
        .expect("queue");
    for (n, (id, start)) in transferred.iter().enumerate() {
        let agent = if n % 2 == 0 { "alice" } else { "wang" };
        let answered = n % 4 != 3;
        store
            .put_queue_entry(&QueueEntry {
                call_id: id.clone(),
                queue: "after-sales".into(),
                entered_at: start + 10_000,
                left_at: Some(start + 25_000 + n as i64 * 1_000),
                result: Some(if answered { "answered" } else { "abandoned" }.into()),
                agent_id: answered.then(|| agent.into()),
            })
            .expect("queue entry");
        if answered {
            store
                .put_agent_leg(&AgentLeg {
                    call_id: id.clone(),
                    agent_id: agent.into(),
                    started_at: start + 26_000,
                    ended_at: Some(start + 90_000 + n as i64 * 5_000),
                })
                .expect("agent leg");
        }
    }
    seed_campaign(store, now);
    Seeded {
        zh_call,
        zh_text_calls,
    }
}

fn seed_campaign(store: &SqliteStore, now: i64) {
    store
        .put_campaign(&Campaign {
            id: "renewal".into(),
            name: "会员续费提醒".into(),
            dialplan: "shop".into(),
            status: "running".into(),
            created_at: now - 3 * DAY,
        })
        .expect("campaign");
    let contacts: Vec<Contact> = (0..4)
        .map(|n| Contact {
            id: 0,
            campaign_id: "renewal".into(),
            phone: format!("+8613900000{n:03}"),
            name: format!("客户{n}"),
            data: serde_json::json!({"plan": "gold"}),
            status: "pending".into(),
            attempts: 0,
        })
        .collect();
    let ids = store.add_contacts(&contacts).expect("contacts");
    for (n, contact) in ids.iter().enumerate() {
        let start = now - 2 * DAY + n as i64 * 10 * MINUTE;
        let id = format!("{start:011x}c{n:07x}");
        let answered = n % 2 == 0;
        let mut batch = vec![Write::CallStarted(NewCall {
            id: id.clone(),
            direction: Direction::Outbound,
            sip_call_id: format!("out-{n}@kefu"),
            caller: "4008001234".into(),
            called: contacts[n].phone.clone(),
            dialplan: "shop".into(),
            started_at: start,
            campaign_id: Some("renewal".into()),
            contact_id: Some(*contact),
        })];
        if answered {
            batch.push(Write::Answered {
                call: id.clone(),
                at: start + 8_000,
            });
            batch.push(Write::Line {
                call: id.clone(),
                line: line(
                    Speaker::Bot,
                    "您好，您的会员将在下周到期，需要为您续费吗？",
                    start + 9_000,
                    None,
                ),
            });
        }
        batch.push(Write::Ended {
            call: id.clone(),
            end: CallEnd {
                ended_at: start + 40_000,
                end_reason: "hangup".into(),
                outcome: if answered {
                    Outcome::Resolved
                } else {
                    Outcome::Missed
                },
                intents: vec![],
                emotion_start: None,
                emotion_end: None,
                emotion_peak: None,
                talk: TalkStats::default(),
            },
        });
        batch.push(Write::Disposition(Disposition {
            call_id: Some(id.clone()),
            campaign_id: Some("renewal".into()),
            contact_id: Some(*contact),
            code: if answered { "interested" } else { "no_answer" }.into(),
            note: String::new(),
            at: start + 41_000,
        }));
        store.apply(&batch).expect("campaign call");
        store
            .put_attempt(&Attempt {
                campaign_id: "renewal".into(),
                contact_id: *contact,
                call_id: Some(id),
                started_at: start,
                ended_at: Some(start + 40_000),
                result: Some(if answered { "answered" } else { "no_answer" }.into()),
            })
            .expect("attempt");
    }
}
