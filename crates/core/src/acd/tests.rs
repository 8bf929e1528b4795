//! Unit tests of the ACD: agent states and wrap-up, the order callers are
//! served in, each strategy, language and region matching (the helpers
//! here are shared with `timer_tests`).

use std::time::{Duration, Instant};

use super::*;

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(super) fn agent(id: &str) -> AgentSpec {
    AgentSpec {
        id: id.to_string(),
        skills: vec![("sales".to_string(), 5)],
        languages: vec!["mandarin".to_string()],
        region: "beijing".to_string(),
        max_calls: 1,
        wrap_up_secs: 0,
    }
}

pub(super) fn queue(name: &str) -> QueueSpec {
    QueueSpec {
        name: name.to_string(),
        strategy: Strategy::LongestIdle,
        skills: vec![("sales".to_string(), 1)],
        language_required: false,
        max_wait_secs: None,
        overflow: Overflow::None,
        announce_secs: None,
        ring_secs: 20,
        empty_to_bot: false,
    }
}

pub(super) fn caller(call: u64) -> Caller {
    Caller {
        call,
        ..Caller::default()
    }
}

pub(super) fn drain(acd: &mut Acd, now: Instant) -> Vec<Output> {
    std::iter::from_fn(|| acd.poll(now)).collect()
}

pub(super) fn offers(outs: &[Output]) -> Vec<(u64, String)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Offer { call, agent, .. } => Some((*call, agent.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn states(outs: &[Output], who: &str) -> Vec<AgentState> {
    outs.iter()
        .filter_map(|o| match o {
            Output::AgentState { agent, state } if agent == who => Some(*state),
            _ => None,
        })
        .collect()
}

/// An ACD with queue "q" and the given agents logged in, one second
/// apart in that order (the first is the longest idle).
pub(super) fn setup(agents: Vec<AgentSpec>, q: QueueSpec, t: Instant) -> Acd {
    let mut acd = Acd::new();
    acd.put_queue(q).unwrap();
    for (i, a) in agents.into_iter().enumerate() {
        let id = a.id.clone();
        acd.put_agent(a, t).unwrap();
        acd.presence(&id, Presence::Ready, t + secs(i as u64))
            .unwrap();
    }
    drain(&mut acd, t);
    acd
}

/// Offers one call at a time, answering each: the order agents were
/// offered callers or callers were served.
pub(super) fn serve_all(acd: &mut Acd, mut now: Instant, rounds: usize) -> Vec<(u64, String)> {
    let mut served = Vec::new();
    for _ in 0..rounds {
        let got = offers(&drain(acd, now));
        for (call, agent) in got {
            acd.answered(call, &agent, now).unwrap();
            now += secs(1);
            acd.hung_up(call, &agent, now).unwrap();
            served.push((call, agent));
        }
    }
    served
}

#[test]
fn names_round_trip() {
    for s in AgentState::ALL {
        assert_eq!(AgentState::parse(s.name()), Some(s));
    }
    for s in Strategy::ALL {
        assert_eq!(Strategy::parse(s.name()), Some(s));
    }
    assert_eq!(AgentState::parse("sleeping"), None);
    assert_eq!(Strategy::parse("random"), None);
}

#[test]
fn agent_walks_through_every_state() {
    let t = Instant::now();
    let mut acd = Acd::new();
    acd.put_queue(queue("q")).unwrap();
    let mut a = agent("a");
    a.wrap_up_secs = 10;
    acd.put_agent(a, t).unwrap();
    assert_eq!(acd.agents()[0].state, AgentState::Offline);
    acd.presence("a", Presence::Ready, t).unwrap();
    assert_eq!(states(&drain(&mut acd, t), "a"), [AgentState::Idle]);
    acd.enqueue(caller(1), "q", t).unwrap();
    let outs = drain(&mut acd, t);
    assert_eq!(offers(&outs), [(1, "a".to_string())]);
    assert_eq!(states(&outs, "a"), [AgentState::Ringing]);
    acd.answered(1, "a", t + secs(2)).unwrap();
    assert_eq!(
        states(&drain(&mut acd, t + secs(2)), "a"),
        [AgentState::Busy]
    );
    assert_eq!(acd.agents()[0].calls, 1);
    assert_eq!(acd.agents()[0].calls_today, 1);
    acd.hung_up(1, "a", t + secs(62)).unwrap();
    let outs = drain(&mut acd, t + secs(62));
    assert_eq!(states(&outs, "a"), [AgentState::WrapUp]);
    assert_eq!(acd.next_wake(), Some(t + secs(72)));
    assert!(drain(&mut acd, t + secs(71)).is_empty());
    assert_eq!(
        states(&drain(&mut acd, t + secs(72)), "a"),
        [AgentState::Idle]
    );
    assert_eq!(acd.next_wake(), None);
    acd.presence("a", Presence::Away, t + secs(80)).unwrap();
    assert_eq!(
        states(&drain(&mut acd, t + secs(80)), "a"),
        [AgentState::Away]
    );
    acd.presence("a", Presence::Offline, t + secs(81)).unwrap();
    let outs = drain(&mut acd, t + secs(81));
    assert_eq!(states(&outs, "a"), [AgentState::Offline]);
    assert_eq!(acd.agents()[0].since, t + secs(81));
    acd.reset_day();
    assert_eq!(acd.agents()[0].calls_today, 0);
}

#[test]
fn ready_ends_wrap_up_early() {
    let t = Instant::now();
    let mut a = agent("a");
    a.wrap_up_secs = 30;
    let mut acd = setup(vec![a], queue("q"), t);
    acd.enqueue(caller(1), "q", t).unwrap();
    acd.enqueue(caller(2), "q", t).unwrap();
    drain(&mut acd, t);
    acd.answered(1, "a", t).unwrap();
    acd.hung_up(1, "a", t + secs(5)).unwrap();
    assert!(offers(&drain(&mut acd, t + secs(6))).is_empty());
    acd.presence("a", Presence::Ready, t + secs(7)).unwrap();
    let outs = drain(&mut acd, t + secs(7));
    assert_eq!(offers(&outs), [(2, "a".to_string())]);
    assert_eq!(acd.next_wake(), Some(t + secs(27)), "only the ring timer");
}

#[test]
fn callers_are_served_by_priority_then_entry() {
    let t = Instant::now();
    let mut acd = Acd::new();
    acd.put_queue(queue("q")).unwrap();
    acd.put_agent(agent("a"), t).unwrap();
    let plain = caller(1);
    let repeat = Caller {
        repeat: true,
        ..caller(2)
    };
    let upset = Caller {
        upset: true,
        ..caller(3)
    };
    let complaint = Caller {
        complaint: true,
        ..caller(4)
    };
    let vip = Caller {
        vip: 1,
        ..caller(5)
    };
    let vip_upset = Caller {
        vip: 1,
        upset: true,
        ..caller(6)
    };
    let late_plain = caller(7);
    let insisted = Caller {
        insisted: true,
        ..caller(8)
    };
    for (i, c) in [
        plain, repeat, upset, complaint, vip, vip_upset, late_plain, insisted,
    ]
    .into_iter()
    .enumerate()
    {
        acd.enqueue(c, "q", t + secs(i as u64)).unwrap();
    }
    let view: Vec<u64> = acd.waiting("q").iter().map(|w| w.call).collect();
    assert_eq!(view, [6, 5, 3, 4, 2, 1, 7, 8]);
    assert_eq!(acd.position(1), Some(("q".to_string(), 6)));
    acd.presence("a", Presence::Ready, t + secs(10)).unwrap();
    let served: Vec<u64> = serve_all(&mut acd, t + secs(10), 10)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(served, [6, 5, 3, 4, 2, 1, 7, 8]);
}

#[test]
fn same_entry_time_keeps_arrival_order() {
    let t = Instant::now();
    let mut acd = setup(vec![], queue("q"), t);
    for call in [30, 10, 20] {
        acd.enqueue(caller(call), "q", t).unwrap();
    }
    let view: Vec<u64> = acd.waiting("q").iter().map(|w| w.call).collect();
    assert_eq!(view, [30, 10, 20]);
}

#[test]
fn longest_idle_gets_the_call() {
    let t = Instant::now();
    let mut acd = setup(vec![agent("b"), agent("a")], queue("q"), t);
    acd.enqueue(caller(1), "q", t + secs(5)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(5))),
        [(1, "b".to_string())]
    );
}

#[test]
fn least_calls_gets_the_call() {
    let t = Instant::now();
    let mut q = queue("q");
    q.strategy = Strategy::LeastCalls;
    let mut acd = setup(vec![agent("a"), agent("b")], q, t);
    // a takes one call; then b (fewer calls today) is preferred even
    // though a has been idle longer since.
    acd.presence("b", Presence::Away, t).unwrap();
    acd.enqueue(caller(1), "q", t).unwrap();
    drain(&mut acd, t);
    acd.answered(1, "a", t).unwrap();
    acd.hung_up(1, "a", t + secs(1)).unwrap();
    acd.presence("b", Presence::Ready, t + secs(50)).unwrap();
    drain(&mut acd, t + secs(50));
    acd.enqueue(caller(2), "q", t + secs(60)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(60))),
        [(2, "b".to_string())]
    );
}

#[test]
fn skill_level_gets_the_call() {
    let t = Instant::now();
    let mut q = queue("q");
    q.strategy = Strategy::SkillLevel;
    let mut expert = agent("z");
    expert.skills = vec![("sales".to_string(), 9)];
    let mut acd = setup(vec![agent("a"), expert], q, t);
    acd.enqueue(caller(1), "q", t + secs(5)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(5))),
        [(1, "z".to_string())]
    );
}

#[test]
fn round_robin_takes_turns_by_id() {
    let t = Instant::now();
    let mut q = queue("q");
    q.strategy = Strategy::RoundRobin;
    let mut acd = setup(vec![agent("c"), agent("a"), agent("b")], q, t);
    let mut order = Vec::new();
    for call in 1..=5 {
        let now = t + secs(10 * call);
        acd.enqueue(caller(call), "q", now).unwrap();
        for (c, a) in offers(&drain(&mut acd, now)) {
            acd.answered(c, &a, now).unwrap();
            acd.hung_up(c, &a, now + secs(1)).unwrap();
            order.push(a);
        }
    }
    assert_eq!(order, ["a", "b", "c", "a", "b"]);
}

#[test]
fn dialect_then_region_is_preferred_over_strategy() {
    let t = Instant::now();
    let mut canton = agent("canton");
    canton.languages = vec!["Cantonese".to_string(), "mandarin".to_string()];
    let mut local = agent("local");
    local.region = "guangdong".to_string();
    let mut acd = setup(vec![agent("first"), local, canton], queue("q"), t);
    let c = Caller {
        language: Some("cantonese".to_string()),
        region: Some("Guangdong".to_string()),
        ..caller(1)
    };
    acd.enqueue(c, "q", t + secs(5)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(5))),
        [(1, "canton".to_string())]
    );
    let c = Caller {
        language: Some("cantonese".to_string()),
        region: Some("guangdong".to_string()),
        ..caller(2)
    };
    acd.enqueue(c, "q", t + secs(6)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(6))),
        [(2, "local".to_string())]
    );
    // Without a match, the preference falls back to the strategy.
    let c = Caller {
        language: Some("cantonese".to_string()),
        ..caller(3)
    };
    acd.enqueue(c, "q", t + secs(7)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(7))),
        [(3, "first".to_string())]
    );
}

#[test]
fn required_language_only_goes_to_speakers() {
    let t = Instant::now();
    let mut q = queue("q");
    q.language_required = true;
    let mut acd = setup(vec![agent("m")], q, t);
    let canton = Caller {
        language: Some("cantonese".to_string()),
        ..caller(1)
    };
    acd.enqueue(canton, "q", t).unwrap();
    assert!(offers(&drain(&mut acd, t)).is_empty());
    assert_eq!(acd.load("q").map(|l| (l.idle, l.waiting)), Some((1, 1)));
    // A later Mandarin caller gets the Mandarin agent past the head.
    let mandarin = Caller {
        language: Some("mandarin".to_string()),
        ..caller(2)
    };
    acd.enqueue(mandarin, "q", t + secs(1)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(1))),
        [(2, "m".to_string())]
    );
    acd.answered(2, "m", t + secs(1)).unwrap();
    acd.hung_up(2, "m", t + secs(2)).unwrap();
    // Freed again, the agent still skips the Cantonese caller.
    assert!(offers(&drain(&mut acd, t + secs(2))).is_empty());
    let mut c = agent("c");
    c.languages = vec!["cantonese".to_string()];
    acd.put_agent(c, t + secs(3)).unwrap();
    acd.presence("c", Presence::Ready, t + secs(3)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(3))),
        [(1, "c".to_string())]
    );
}
