//! The ACD on the virtual clock: fifty agents and bursts of five hundred
//! callers with seeded random talk times, answers, rejections, missed
//! offers, abandons and callbacks, checking after every output that no
//! agent exceeds its lines, no caller rings two agents, nobody is served
//! ahead of an earlier or higher-priority caller of the same queue, and in
//! the end that every caller was answered, sent to the bot, called back or
//! hung up. Also: all agents busy, then a caller insists on a human.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use kefu_core::acd::{
    Acd, AgentSpec, AgentState, Caller, Declined, Leave, Output, Overflow, Presence, QueueSpec,
    Strategy,
};
use kefu_sim::clock::VirtualClock;
use kefu_sim::rng::Rng;

const QUEUES: [&str; 3] = ["sales", "billing", "general"];
const LANGUAGES: [&str; 3] = ["mandarin", "cantonese", "en"];

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Something scheduled in the simulated world.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Arrive(u64),
    Answer(u64, String),
    Reject(u64, String),
    HangUp(u64, String),
    Ready(String),
    GiveUp(u64, Leave),
}

/// Where a simulated caller stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    NotYet,
    Waiting,
    Ringing(String),
    Talking(String),
    Answered,
    ToBot,
    Callback,
    HungUp,
}

struct Sim {
    acd: Acd,
    clock: VirtualClock,
    rng: Rng,
    events: BTreeMap<(Instant, u64), Event>,
    seq: u64,
    callers: HashMap<u64, (Caller, String, Fate)>,
    max_calls: HashMap<String, u32>,
    talking: HashMap<String, BTreeSet<u64>>,
    rejected: BTreeSet<(u64, String)>,
    arrived: HashMap<u64, Instant>,
    counts: BTreeMap<&'static str, u32>,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        Sim {
            acd: Acd::new(),
            clock: VirtualClock::new(),
            rng: Rng::new(seed),
            events: BTreeMap::new(),
            seq: 0,
            callers: HashMap::new(),
            max_calls: HashMap::new(),
            talking: HashMap::new(),
            rejected: BTreeSet::new(),
            arrived: HashMap::new(),
            counts: BTreeMap::new(),
        }
    }

    fn at(&mut self, after: Duration, e: Event) {
        self.seq += 1;
        let t = self.clock.now() + after;
        self.events.insert((t, self.seq), e);
    }

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    fn fate(&mut self, call: u64) -> &mut Fate {
        &mut self.callers.get_mut(&call).expect("known caller").2
    }

    /// Runs until nothing is scheduled and the ACD has no timer, or until
    /// `limit` of virtual time.
    fn run(&mut self, limit: Duration) {
        let end = self.clock.now() + limit;
        loop {
            let next_event = self.events.keys().next().map(|(t, _)| *t);
            let next = match (next_event, self.acd.next_wake()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => return,
                },
            };
            assert!(next <= end, "the world did not settle in {limit:?}");
            self.clock.advance_to(next);
            let now = self.clock.now();
            while let Some(entry) = self.events.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let e = entry.remove();
                self.handle(e, now);
                self.drain(now);
            }
            self.drain(now);
        }
    }

    fn handle(&mut self, e: Event, now: Instant) {
        match e {
            Event::Arrive(call) => {
                let (caller, queue, _) = self.callers[&call].clone();
                self.acd.enqueue(caller, &queue, now).expect("enqueue");
                self.arrived.insert(call, now);
                *self.fate(call) = Fate::Waiting;
            }
            Event::Answer(call, agent) => {
                if *self.fate(call) != Fate::Ringing(agent.clone()) {
                    return;
                }
                self.acd.answered(call, &agent, now).expect("answer");
                *self.fate(call) = Fate::Talking(agent.clone());
                let lines = self.talking.entry(agent.clone()).or_default();
                lines.insert(call);
                assert!(
                    lines.len() as u32 <= self.max_calls[&agent],
                    "{agent} over max"
                );
                let talk = 30 + self.rng.up_to(270);
                self.at(secs(talk), Event::HangUp(call, agent));
            }
            Event::Reject(call, agent) => {
                if *self.fate(call) != Fate::Ringing(agent.clone()) {
                    return;
                }
                self.acd
                    .declined(call, &agent, Declined::Rejected, now)
                    .expect("reject");
                self.rejected.insert((call, agent));
                *self.fate(call) = Fate::Waiting;
            }
            Event::HangUp(call, agent) => {
                self.acd.hung_up(call, &agent, now).expect("hang up");
                if let Some(lines) = self.talking.get_mut(&agent) {
                    lines.remove(&call);
                }
                *self.fate(call) = Fate::Answered;
            }
            Event::Ready(agent) => {
                self.acd
                    .presence(&agent, Presence::Ready, now)
                    .expect("ready");
            }
            Event::GiveUp(call, how) => {
                if matches!(self.fate(call), Fate::Waiting | Fate::Ringing(_)) {
                    self.acd.leave(call, how, now).expect("leave");
                    *self.fate(call) = match how {
                        Leave::Callback => Fate::Callback,
                        _ => Fate::HungUp,
                    };
                }
            }
        }
    }

    fn drain(&mut self, now: Instant) {
        while let Some(out) = self.acd.poll(now) {
            self.output(out, now);
        }
    }

    fn output(&mut self, out: Output, _now: Instant) {
        match out {
            Output::Offer { call, agent, queue } => {
                self.count("offers");
                assert_eq!(*self.fate(call), Fate::Waiting, "call {call} offered twice");
                let busy = self.talking.get(&agent).map_or(0, |l| l.len()) as u32;
                assert!(
                    busy < self.max_calls[&agent],
                    "{agent} offered past max_calls"
                );
                self.check_fair(call, &agent, &queue);
                *self.fate(call) = Fate::Ringing(agent.clone());
                let r = self.rng.unit();
                if r < 0.05 {
                    // Lets it ring out.
                } else if r < 0.08 {
                    self.at(secs(2), Event::Reject(call, agent));
                } else {
                    let after = 1 + self.rng.up_to(4);
                    self.at(secs(after), Event::Answer(call, agent));
                }
            }
            Output::Withdraw { call, agent } => {
                self.count("withdrawn");
                assert_eq!(
                    *self.fate(call),
                    Fate::Ringing(agent),
                    "withdraw of call {call}"
                );
                *self.fate(call) = Fate::Waiting;
            }
            Output::Announce { call, position, .. } => {
                self.count("announcements");
                assert_eq!(*self.fate(call), Fate::Waiting);
                assert!(position >= 1);
            }
            Output::Overflowed { call, to, .. } => {
                self.count("overflows");
                self.callers.get_mut(&call).expect("caller").1 = to;
            }
            Output::ToBot { call, .. } => {
                self.count("to_bot");
                assert!(matches!(self.fate(call), Fate::Waiting | Fate::Ringing(_)));
                *self.fate(call) = Fate::ToBot;
            }
            Output::Callback { .. } => self.count("callbacks"),
            Output::AgentState { agent, state } => {
                if state == AgentState::Away {
                    let back = 10 + self.rng.up_to(50);
                    self.at(secs(back), Event::Ready(agent));
                }
            }
        }
    }

    /// Nobody of the same queue that this agent may take waits ahead of
    /// the caller just offered.
    /// The priority and arrival time are the world's own, not the ACD's.
    fn check_fair(&self, call: u64, agent: &str, queue: &str) {
        let rank = |c: u64| {
            let (caller, _, _) = &self.callers[&c];
            let class = if caller.upset || caller.complaint {
                2
            } else if caller.repeat {
                1
            } else {
                0
            };
            ((caller.vip, class), std::cmp::Reverse(self.arrived[&c]))
        };
        let me = rank(call);
        for w in self.acd.waiting(queue).iter().filter(|w| w.position > 0) {
            if self.rejected.contains(&(w.call, agent.to_string())) {
                continue;
            }
            let other = rank(w.call);
            assert!(
                other < me,
                "call {call} {me:?} served before call {} {other:?} in {queue}",
                w.call
            );
        }
    }
}

fn queue_spec(name: &str) -> QueueSpec {
    let (skills, strategy, overflow, wait) = match name {
        "sales" => (
            vec![("sales".to_string(), 3)],
            Strategy::SkillLevel,
            Overflow::Queue("general".to_string()),
            120,
        ),
        "billing" => (
            vec![("billing".to_string(), 2)],
            Strategy::LeastCalls,
            Overflow::Queue("general".to_string()),
            90,
        ),
        _ => (vec![], Strategy::LongestIdle, Overflow::Bot, 900),
    };
    QueueSpec {
        name: name.to_string(),
        strategy,
        skills,
        language_required: false,
        max_wait_secs: Some(wait),
        overflow,
        announce_secs: Some(30),
        ring_secs: 15,
        empty_to_bot: true,
    }
}

#[test]
fn bursts_of_callers_are_all_accounted_for() {
    let mut sim = Sim::new(20_240_601);
    for name in QUEUES {
        sim.acd.put_queue(queue_spec(name)).expect("queue");
    }
    let now = sim.clock.now();
    for i in 0..50u64 {
        let mut skills = vec![];
        if i % 2 == 0 {
            skills.push(("sales".to_string(), 1 + (sim.rng.up_to(9) as u8)));
        }
        if i % 3 != 1 {
            skills.push(("billing".to_string(), 1 + (sim.rng.up_to(9) as u8)));
        }
        let id = format!("agent{i:02}");
        let max_calls = if i % 10 == 0 { 2 } else { 1 };
        sim.max_calls.insert(id.clone(), max_calls);
        let spec = AgentSpec {
            id: id.clone(),
            skills,
            languages: vec![LANGUAGES[(i % 3) as usize].to_string()],
            region: if i % 4 == 0 { "guangdong" } else { "beijing" }.to_string(),
            max_calls,
            wrap_up_secs: sim.rng.up_to(15) as u32,
        };
        sim.acd.put_agent(spec, now).expect("agent");
        sim.acd.presence(&id, Presence::Ready, now).expect("login");
    }
    // 500 callers over one minute, twice as dense in the first ten seconds.
    for call in 1..=500u64 {
        let t = if call <= 160 {
            sim.rng.up_to(10_000)
        } else {
            sim.rng.up_to(60_000)
        };
        let vip = if sim.rng.chance(0.1) {
            1 + sim.rng.up_to(8) as u8
        } else {
            0
        };
        let caller = Caller {
            call,
            vip,
            upset: sim.rng.chance(0.1),
            complaint: sim.rng.chance(0.05),
            repeat: sim.rng.chance(0.2),
            insisted: sim.rng.chance(0.1),
            language: Some(LANGUAGES[sim.rng.up_to(2) as usize].to_string()),
            region: Some("guangdong".to_string()),
        };
        let queue = QUEUES[sim.rng.up_to(2) as usize].to_string();
        sim.callers.insert(call, (caller, queue, Fate::NotYet));
        sim.at(Duration::from_millis(t), Event::Arrive(call));
        if sim.rng.chance(0.08) {
            let how = if sim.rng.chance(0.5) {
                Leave::Callback
            } else {
                Leave::Hangup
            };
            let patience = 20 + sim.rng.up_to(400);
            sim.at(
                Duration::from_millis(t) + secs(patience),
                Event::GiveUp(call, how),
            );
        }
    }
    sim.run(Duration::from_secs(6 * 3600));

    let mut fates: BTreeMap<&str, u32> = BTreeMap::new();
    for (call, (_, _, fate)) in &sim.callers {
        let name = match fate {
            Fate::Answered => "answered",
            Fate::ToBot => "to_bot",
            Fate::Callback => "callback",
            Fate::HungUp => "hung_up",
            other => panic!("call {call} lost: {other:?}"),
        };
        *fates.entry(name).or_default() += 1;
    }
    assert_eq!(fates.values().sum::<u32>(), 500);
    assert!(fates["answered"] > 250, "{fates:?}");
    assert!(fates.get("callback").copied().unwrap_or(0) > 0, "{fates:?}");
    assert_eq!(sim.counts.get("callbacks"), fates.get("callback"));
    for key in ["overflows", "announcements", "withdrawn"] {
        assert!(
            sim.counts.get(key).copied().unwrap_or(0) > 0,
            "no {key}: {:?}",
            sim.counts
        );
    }
    for name in QUEUES {
        let load = sim.acd.load(name).expect("queue");
        assert_eq!(load.waiting, 0, "{name} still has callers");
    }
    assert!(sim.acd.agents().iter().all(|a| a.calls == 0));
    let answered: u32 = sim.acd.agents().iter().map(|a| a.calls_today).sum();
    assert_eq!(answered, fates["answered"]);
}

#[test]
fn insisting_caller_waits_for_a_busy_queue_and_is_answered() {
    let mut sim = Sim::new(7);
    let mut q = queue_spec("general");
    q.max_wait_secs = None;
    q.overflow = Overflow::None;
    sim.acd.put_queue(q).expect("queue");
    let now = sim.clock.now();
    for id in ["a", "b"] {
        let spec = AgentSpec {
            id: id.to_string(),
            skills: vec![],
            languages: vec!["en".to_string()],
            region: String::new(),
            max_calls: 1,
            wrap_up_secs: 5,
        };
        sim.max_calls.insert(id.to_string(), 1);
        sim.acd.put_agent(spec, now).expect("agent");
        sim.acd.presence(id, Presence::Ready, now).expect("login");
    }
    for call in [1, 2] {
        let caller = Caller {
            call,
            ..Caller::default()
        };
        sim.acd.enqueue(caller, "general", now).expect("enqueue");
    }
    let offers: Vec<(u64, String)> = std::iter::from_fn(|| sim.acd.poll(now))
        .filter_map(|o| match o {
            Output::Offer { call, agent, .. } => Some((call, agent)),
            _ => None,
        })
        .collect();
    assert_eq!(offers.len(), 2);
    for (call, agent) in &offers {
        sim.acd.answered(*call, agent, now).expect("answer");
    }
    while sim.acd.poll(now).is_some() {}
    let load = sim.acd.load("general").expect("queue");
    assert_eq!((load.idle, load.waiting), (0, 0), "everyone busy");

    // The dialogue sees idle 0; the caller insists and is queued anyway.
    let insisting = Caller {
        call: 3,
        insisted: true,
        ..Caller::default()
    };
    sim.callers
        .insert(3, (insisting.clone(), "general".to_string(), Fate::Waiting));
    sim.arrived.insert(3, now);
    sim.acd.enqueue(insisting, "general", now).expect("enqueue");
    assert!(sim.acd.poll(now).is_none(), "nobody free yet");
    assert_eq!(sim.acd.load("general").map(|l| l.waiting), Some(1));
    assert_eq!(sim.acd.position(3), Some(("general".to_string(), 1)));

    // The first talk ends after two minutes; after wrap-up the insisting
    // caller is offered and answered.
    for (call, agent) in offers {
        sim.callers.insert(
            call,
            (
                Caller::default(),
                "general".into(),
                Fate::Talking(agent.clone()),
            ),
        );
        sim.talking.entry(agent.clone()).or_default().insert(call);
        let talk = if call == 1 { 120 } else { 400 };
        sim.at(secs(talk), Event::HangUp(call, agent));
    }
    sim.run(Duration::from_secs(3600));
    assert_eq!(sim.callers[&3].2, Fate::Answered);
    assert_eq!(sim.counts.get("offers"), Some(&1));

    // With every agent logged out, a plain caller goes to the bot but an
    // insisting one still waits.
    let now = sim.clock.now();
    for id in ["a", "b"] {
        sim.acd
            .presence(id, Presence::Offline, now)
            .expect("logout");
    }
    sim.acd
        .enqueue(
            Caller {
                call: 4,
                ..Caller::default()
            },
            "general",
            now,
        )
        .expect("enqueue");
    let insisting = Caller {
        call: 5,
        insisted: true,
        ..Caller::default()
    };
    sim.acd.enqueue(insisting, "general", now).expect("enqueue");
    let outs: Vec<Output> = std::iter::from_fn(|| sim.acd.poll(now)).collect();
    assert!(outs
        .iter()
        .any(|o| matches!(o, Output::ToBot { call: 4, .. })));
    assert_eq!(sim.acd.position(5), Some(("general".to_string(), 1)));
}
