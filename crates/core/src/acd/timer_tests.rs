//! Unit tests of the ACD's timers and edges: overflow to a queue and to
//! the bot, announcements and estimates, ring timeouts and declines,
//! several lines per agent, empty queues, leaving, removal and errors.

use std::time::Instant;

use super::tests::{agent, caller, drain, offers, queue, secs, setup, states};
use super::*;

#[test]
fn overflow_to_queue_keeps_entry_time() {
    let t = Instant::now();
    let mut first = queue("first");
    first.max_wait_secs = Some(10);
    first.overflow = Overflow::Queue("second".to_string());
    first.skills = vec![("billing".to_string(), 1)];
    let mut acd = setup(vec![], queue("second"), t);
    acd.put_queue(first).unwrap();
    acd.enqueue(caller(1), "first", t).unwrap();
    acd.enqueue(caller(2), "second", t + secs(5)).unwrap();
    assert_eq!(acd.next_wake(), Some(t + secs(10)));
    assert!(drain(&mut acd, t + secs(9)).is_empty());
    let outs = drain(&mut acd, t + secs(10));
    assert_eq!(
        outs,
        [Output::Overflowed {
            call: 1,
            from: "first".to_string(),
            to: "second".to_string()
        }]
    );
    let view: Vec<u64> = acd.waiting("second").iter().map(|w| w.call).collect();
    assert_eq!(view, [1, 2], "the overflowed caller entered earlier");
    acd.put_agent(agent("a"), t + secs(11)).unwrap();
    acd.presence("a", Presence::Ready, t + secs(11)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(11))),
        [(1, "a".to_string())]
    );
}

#[test]
fn overflow_to_bot_after_max_wait() {
    let t = Instant::now();
    let mut q = queue("q");
    q.max_wait_secs = Some(30);
    q.overflow = Overflow::Bot;
    let mut acd = setup(vec![], q, t);
    acd.enqueue(caller(1), "q", t).unwrap();
    assert!(drain(&mut acd, t + secs(29)).is_empty());
    let outs = drain(&mut acd, t + secs(30));
    assert_eq!(
        outs,
        [Output::ToBot {
            call: 1,
            queue: "q".to_string(),
            why: ToBotWhy::Timeout
        }]
    );
    assert_eq!(acd.position(1), None);
    assert_eq!(acd.next_wake(), None);
}

#[test]
fn overflow_waits_for_a_ringing_offer() {
    let t = Instant::now();
    let mut q = queue("q");
    q.max_wait_secs = Some(10);
    q.overflow = Overflow::Bot;
    let mut acd = setup(vec![agent("a")], q, t);
    acd.enqueue(caller(1), "q", t + secs(5)).unwrap();
    drain(&mut acd, t + secs(5));
    assert!(drain(&mut acd, t + secs(15)).is_empty(), "still ringing");
    acd.declined(1, "a", Declined::Rejected, t + secs(16))
        .unwrap();
    let outs = drain(&mut acd, t + secs(16));
    assert!(outs.contains(&Output::ToBot {
        call: 1,
        queue: "q".to_string(),
        why: ToBotWhy::Timeout
    }));
}

#[test]
fn announcements_at_the_interval() {
    let t = Instant::now();
    let mut q = queue("q");
    q.announce_secs = Some(30);
    let mut acd = setup(vec![], q, t);
    acd.enqueue(caller(1), "q", t).unwrap();
    acd.enqueue(caller(2), "q", t + secs(10)).unwrap();
    assert!(drain(&mut acd, t + secs(29)).is_empty());
    let announce = |call, position, eta_secs| Output::Announce {
        call,
        queue: "q".to_string(),
        position,
        eta_secs,
    };
    assert_eq!(drain(&mut acd, t + secs(30)), [announce(1, 1, 180)]);
    assert_eq!(drain(&mut acd, t + secs(40)), [announce(2, 2, 360)]);
    assert_eq!(drain(&mut acd, t + secs(60)), [announce(1, 1, 180)]);
    // Two ready agents (both busy) halve the estimate for position 2.
    let mut acd2 = setup(vec![agent("a"), agent("b")], queue("q"), t);
    let mut q = queue("q");
    q.announce_secs = Some(30);
    acd2.put_queue(q).unwrap();
    for call in 1..=4 {
        acd2.enqueue(caller(call), "q", t).unwrap();
    }
    for (c, a) in offers(&drain(&mut acd2, t)) {
        acd2.answered(c, &a, t).unwrap();
    }
    drain(&mut acd2, t);
    let outs = drain(&mut acd2, t + secs(30));
    assert_eq!(outs, [announce(3, 1, 180), announce(4, 2, 180)]);
}

#[test]
fn estimate_uses_recent_handle_times() {
    let t = Instant::now();
    let mut a = agent("a");
    a.wrap_up_secs = 20;
    let mut q = queue("q");
    q.announce_secs = Some(300);
    let mut acd = setup(vec![a], q, t);
    acd.enqueue(caller(1), "q", t).unwrap();
    drain(&mut acd, t);
    acd.answered(1, "a", t).unwrap();
    acd.hung_up(1, "a", t + secs(40)).unwrap();
    acd.presence("a", Presence::Away, t + secs(40)).unwrap();
    acd.enqueue(caller(2), "q", t + secs(41)).unwrap();
    acd.presence("a", Presence::Ready, t + secs(41)).unwrap();
    // Ready again but wrap-up ended early: the agent takes caller 2; a
    // third caller waits behind it.
    acd.enqueue(caller(3), "q", t + secs(42)).unwrap();
    drain(&mut acd, t + secs(42));
    acd.answered(2, "a", t + secs(42)).unwrap();
    let outs = drain(&mut acd, t + secs(342));
    assert!(outs.contains(&Output::Announce {
        call: 3,
        queue: "q".to_string(),
        position: 1,
        eta_secs: 60
    }));
}

#[test]
fn ring_timeout_withdraws_sends_away_and_tries_the_next() {
    let t = Instant::now();
    let mut acd = setup(vec![agent("a"), agent("b")], queue("q"), t);
    acd.enqueue(caller(1), "q", t + secs(5)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(5))),
        [(1, "a".to_string())]
    );
    assert_eq!(acd.position(1), Some(("q".to_string(), 0)));
    assert_eq!(acd.next_wake(), Some(t + secs(25)));
    let outs = drain(&mut acd, t + secs(25));
    assert_eq!(
        outs[0],
        Output::Withdraw {
            call: 1,
            agent: "a".to_string()
        }
    );
    assert_eq!(states(&outs, "a"), [AgentState::Away]);
    assert_eq!(offers(&outs), [(1, "b".to_string())]);
    assert!(acd.answered(1, "a", t + secs(26)).is_err());
    acd.answered(1, "b", t + secs(26)).unwrap();
}

#[test]
fn rejected_caller_keeps_its_place_and_skips_that_agent() {
    let t = Instant::now();
    let mut acd = setup(vec![agent("a")], queue("q"), t);
    acd.enqueue(caller(1), "q", t).unwrap();
    drain(&mut acd, t);
    acd.enqueue(caller(2), "q", t + secs(1)).unwrap();
    acd.declined(1, "a", Declined::Rejected, t + secs(2))
        .unwrap();
    let outs = drain(&mut acd, t + secs(2));
    assert_eq!(offers(&outs), [(2, "a".to_string())]);
    assert_eq!(acd.position(1), Some(("q".to_string(), 1)));
    acd.put_agent(agent("b"), t + secs(3)).unwrap();
    acd.presence("b", Presence::Ready, t + secs(3)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(3))),
        [(1, "b".to_string())]
    );
}

#[test]
fn no_answer_sends_the_agent_away() {
    let t = Instant::now();
    let mut acd = setup(vec![agent("a")], queue("q"), t);
    acd.enqueue(caller(1), "q", t).unwrap();
    drain(&mut acd, t);
    acd.declined(1, "a", Declined::NoAnswer, t + secs(1))
        .unwrap();
    let outs = drain(&mut acd, t + secs(1));
    assert_eq!(states(&outs, "a"), [AgentState::Away]);
    assert!(offers(&outs).is_empty());
    acd.presence("a", Presence::Ready, t + secs(9)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(9))),
        [(1, "a".to_string())]
    );
}

#[test]
fn agent_with_two_lines_takes_two_calls() {
    let t = Instant::now();
    let mut a = agent("a");
    a.max_calls = 2;
    let mut acd = setup(vec![a], queue("q"), t);
    for call in 1..=3 {
        acd.enqueue(caller(call), "q", t).unwrap();
    }
    assert_eq!(offers(&drain(&mut acd, t)), [(1, "a".to_string())]);
    acd.answered(1, "a", t).unwrap();
    let outs = drain(&mut acd, t);
    assert_eq!(offers(&outs), [(2, "a".to_string())]);
    assert_eq!(states(&outs, "a"), [AgentState::Busy, AgentState::Ringing]);
    acd.answered(2, "a", t).unwrap();
    assert!(offers(&drain(&mut acd, t)).is_empty());
    assert_eq!(acd.load("q").map(|l| (l.idle, l.waiting)), Some((0, 1)));
    acd.hung_up(1, "a", t + secs(9)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(9))),
        [(3, "a".to_string())]
    );
}

#[test]
fn free_agent_takes_the_best_caller_of_its_queues() {
    let t = Instant::now();
    let mut acd = setup(vec![], queue("q"), t);
    let mut other = queue("other");
    other.skills = vec![];
    acd.put_queue(other).unwrap();
    acd.enqueue(caller(1), "q", t).unwrap();
    acd.enqueue(
        Caller {
            vip: 2,
            ..caller(2)
        },
        "other",
        t + secs(1),
    )
    .unwrap();
    acd.put_agent(agent("a"), t + secs(2)).unwrap();
    acd.presence("a", Presence::Ready, t + secs(2)).unwrap();
    assert_eq!(
        offers(&drain(&mut acd, t + secs(2))),
        [(2, "a".to_string())]
    );
}

#[test]
fn empty_queue_sends_callers_to_the_bot() {
    let t = Instant::now();
    let mut q = queue("q");
    q.empty_to_bot = true;
    let mut acd = setup(vec![], q, t);
    acd.put_agent(agent("a"), t).unwrap();
    acd.enqueue(caller(1), "q", t).unwrap();
    let to_bot = |call| Output::ToBot {
        call,
        queue: "q".to_string(),
        why: ToBotWhy::NoAgents,
    };
    assert_eq!(drain(&mut acd, t), [to_bot(1)]);
    let insisting = Caller {
        insisted: true,
        ..caller(2)
    };
    acd.enqueue(insisting, "q", t).unwrap();
    assert!(drain(&mut acd, t).is_empty());
    acd.presence("a", Presence::Away, t).unwrap();
    acd.enqueue(caller(3), "q", t).unwrap();
    drain(&mut acd, t);
    assert_eq!(
        acd.position(3),
        Some(("q".to_string(), 2)),
        "away is logged in"
    );
    acd.presence("a", Presence::Offline, t + secs(1)).unwrap();
    let outs = drain(&mut acd, t + secs(1));
    assert!(outs.contains(&to_bot(3)));
    assert_eq!(acd.position(2), Some(("q".to_string(), 1)));
}

#[test]
fn callback_and_hangup_leave_the_queue() {
    let t = Instant::now();
    let mut acd = setup(vec![agent("a")], queue("q"), t);
    acd.enqueue(caller(1), "q", t).unwrap();
    acd.enqueue(caller(2), "q", t).unwrap();
    acd.enqueue(caller(3), "q", t).unwrap();
    drain(&mut acd, t);
    acd.leave(2, Leave::Callback, t + secs(1)).unwrap();
    assert_eq!(
        drain(&mut acd, t + secs(1)),
        [Output::Callback {
            call: 2,
            queue: "q".to_string()
        }]
    );
    // The ringing caller hangs up: the offer is withdrawn, the next
    // caller gets the agent.
    acd.leave(1, Leave::Hangup, t + secs(2)).unwrap();
    let outs = drain(&mut acd, t + secs(2));
    assert_eq!(
        outs[0],
        Output::Withdraw {
            call: 1,
            agent: "a".to_string()
        }
    );
    assert_eq!(offers(&outs), [(3, "a".to_string())]);
    assert_eq!(acd.load("q").map(|l| l.waiting), Some(1));
    assert_eq!(acd.leave(1, Leave::Bot, t), Err(AcdError::UnknownCall(1)));
}

#[test]
fn removing_things_keeps_callers() {
    let t = Instant::now();
    let mut acd = setup(vec![agent("a"), agent("b")], queue("q"), t);
    acd.enqueue(caller(1), "q", t + secs(5)).unwrap();
    drain(&mut acd, t + secs(5));
    acd.remove_agent("a", t + secs(6)).unwrap();
    let outs = drain(&mut acd, t + secs(6));
    assert_eq!(offers(&outs), [(1, "b".to_string())]);
    assert_eq!(states(&outs, "a"), [AgentState::Offline]);
    acd.answered(1, "b", t + secs(7)).unwrap();
    drain(&mut acd, t + secs(7));
    assert_eq!(
        acd.remove_agent("b", t + secs(7)),
        Err(AcdError::AgentOnCalls {
            agent: "b".to_string(),
            calls: 1
        })
    );
    acd.enqueue(caller(2), "q", t + secs(8)).unwrap();
    acd.remove_queue("q").unwrap();
    assert_eq!(
        drain(&mut acd, t + secs(8)),
        [Output::ToBot {
            call: 2,
            queue: "q".to_string(),
            why: ToBotWhy::QueueRemoved
        }]
    );
    acd.hung_up(1, "b", t + secs(9)).unwrap();
    assert_eq!(acd.load("q"), None);
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let t = Instant::now();
    let mut acd = setup(vec![agent("a")], queue("q"), t);
    let mut a = agent("z");
    a.max_calls = 0;
    assert!(matches!(
        acd.put_agent(a, t),
        Err(AcdError::MaxCallsZero { .. })
    ));
    let mut a = agent("z");
    a.skills = vec![("sales".to_string(), 11)];
    let e = acd.put_agent(a, t).unwrap_err();
    assert_eq!(
        e.to_string(),
        "\"z\": skill \"sales\" has level 11, levels are 1 to 10"
    );
    assert_eq!(e.status(), 400);
    let mut a = agent("z");
    a.skills = vec![("sales".to_string(), 0)];
    assert!(acd.put_agent(a, t).is_err());
    assert_eq!(
        acd.put_agent(agent(" "), t),
        Err(AcdError::EmptyName { kind: "agent" })
    );
    assert_eq!(
        acd.put_queue(queue("")),
        Err(AcdError::EmptyName { kind: "queue" })
    );
    let mut q = queue("q");
    q.ring_secs = 0;
    assert!(matches!(
        acd.put_queue(q),
        Err(AcdError::RingSecsZero { .. })
    ));
    let mut q = queue("q");
    q.overflow = Overflow::Queue("q".to_string());
    assert!(matches!(
        acd.put_queue(q),
        Err(AcdError::OverflowCycle { .. })
    ));
    let mut r = queue("r");
    r.overflow = Overflow::Queue("q".to_string());
    acd.put_queue(r).unwrap();
    let mut q = queue("q");
    q.overflow = Overflow::Queue("r".to_string());
    let e = acd.put_queue(q).unwrap_err();
    assert_eq!(
        e.to_string(),
        "queue \"q\" overflows into a cycle: q -> r -> q"
    );
    assert_eq!(
        acd.enqueue(caller(1), "nope", t),
        Err(AcdError::UnknownQueue("nope".into()))
    );
    assert!(matches!(
        acd.enqueue(
            Caller {
                vip: 10,
                ..caller(1)
            },
            "q",
            t
        ),
        Err(AcdError::Vip { vip: 10, .. })
    ));
    acd.enqueue(caller(1), "q", t).unwrap();
    assert_eq!(
        acd.enqueue(caller(1), "q", t),
        Err(AcdError::AlreadyQueued(1))
    );
    drain(&mut acd, t);
    assert_eq!(
        acd.presence("ghost", Presence::Ready, t),
        Err(AcdError::UnknownAgent("ghost".into()))
    );
    assert_eq!(acd.answered(9, "a", t), Err(AcdError::UnknownCall(9)));
    acd.put_agent(agent("b"), t).unwrap();
    let e = acd.answered(1, "b", t).unwrap_err();
    assert_eq!(
        e,
        AcdError::NotOffered {
            call: 1,
            agent: "b".into()
        }
    );
    assert_eq!(e.status(), 409);
    assert!(matches!(
        acd.hung_up(1, "a", t),
        Err(AcdError::NotTalking { .. })
    ));
    acd.answered(1, "a", t).unwrap();
    assert_eq!(acd.leave(1, Leave::Hangup, t), Err(AcdError::NotWaiting(1)));
    assert!(acd.hung_up(1, "b", t).is_err());
    assert_eq!(
        acd.remove_queue("nope"),
        Err(AcdError::UnknownQueue("nope".into()))
    );
    assert_eq!(AcdError::UnknownCall(3).status(), 404);
    // Refused inputs changed nothing.
    assert_eq!(acd.agents().len(), 2);
    assert_eq!(acd.agents()[0].state, AgentState::Busy);
}

#[test]
fn updating_an_agent_keeps_its_state() {
    let t = Instant::now();
    let mut acd = setup(vec![agent("a")], queue("q"), t);
    acd.enqueue(caller(1), "q", t).unwrap();
    drain(&mut acd, t);
    acd.answered(1, "a", t).unwrap();
    let mut a = agent("a");
    a.skills = vec![("billing".to_string(), 3)];
    acd.put_agent(a, t + secs(1)).unwrap();
    assert_eq!(acd.agents()[0].state, AgentState::Busy);
    acd.hung_up(1, "a", t + secs(2)).unwrap();
    acd.enqueue(caller(2), "q", t + secs(3)).unwrap();
    assert!(
        offers(&drain(&mut acd, t + secs(3))).is_empty(),
        "no longer a member"
    );
    assert_eq!(acd.load("q").map(|l| l.idle), Some(0));
}
