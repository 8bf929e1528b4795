//! ACD decisions at scale: 1,000 agents over 20 queues (two skills each,
//! so about 100 agents per queue) and 10,000 callers waiting.
//!
//! - `agent_free_10k_waiting`: a busy agent hangs up and the ACD offers it
//!   the best caller of its queues (one decision; answering the offer and
//!   topping the queues back up are not timed).
//! - `enqueue_with_idle_agents`: a caller arrives while agents are idle
//!   and is offered one (the caller then leaves, untimed).
//! - `poll_idle`: a poll with nothing to decide.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use kefu_core::acd::{
    Acd, AgentSpec, Caller, Leave, Output, Overflow, Presence, QueueSpec, Strategy,
};

const AGENTS: u64 = 1_000;
const QUEUES: u64 = 20;
const WAITING: u64 = 10_000;

fn queue_name(i: u64) -> String {
    format!("q{:02}", i % QUEUES)
}

fn world(now: Instant) -> Acd {
    let mut acd = Acd::new();
    let strategies = [
        Strategy::LongestIdle,
        Strategy::LeastCalls,
        Strategy::SkillLevel,
        Strategy::RoundRobin,
    ];
    for i in 0..QUEUES {
        let spec = QueueSpec {
            name: queue_name(i),
            strategy: strategies[(i % 4) as usize],
            skills: vec![(format!("s{i:02}"), 1)],
            language_required: i.is_multiple_of(5),
            max_wait_secs: Some(600),
            overflow: Overflow::Bot,
            announce_secs: Some(30),
            ring_secs: 20,
            empty_to_bot: false,
        };
        if let Err(e) = acd.put_queue(spec) {
            panic!("queue: {e}");
        }
    }
    for i in 0..AGENTS {
        let id = format!("agent{i:04}");
        let spec = AgentSpec {
            id: id.clone(),
            skills: vec![
                (format!("s{:02}", i % QUEUES), 1 + (i % 10) as u8),
                (format!("s{:02}", (i / QUEUES) % QUEUES), 1 + (i % 7) as u8),
            ],
            languages: vec![["mandarin", "cantonese", "en"][(i % 3) as usize].to_string()],
            region: ["guangdong", "beijing"][(i % 2) as usize].to_string(),
            max_calls: 1,
            wrap_up_secs: 0,
        };
        if acd.put_agent(spec, now).is_err() || acd.presence(&id, Presence::Ready, now).is_err() {
            panic!("agent {id}");
        }
    }
    while acd.poll(now).is_some() {}
    acd
}

fn caller(call: u64) -> Caller {
    Caller {
        call,
        vip: u8::from(call.is_multiple_of(17)) * 3,
        upset: call.is_multiple_of(11),
        repeat: call.is_multiple_of(7),
        language: Some(["mandarin", "cantonese", "en"][(call % 3) as usize].to_string()),
        region: Some("guangdong".to_string()),
        ..Caller::default()
    }
}

/// Drains the ACD; returns the offers made.
fn offers(acd: &mut Acd, now: Instant) -> Vec<(u64, String)> {
    std::iter::from_fn(|| acd.poll(now))
        .filter_map(|o| match o {
            Output::Offer { call, agent, .. } => Some((call, agent)),
            _ => None,
        })
        .collect()
}

fn agent_free(c: &mut Criterion) {
    let now = Instant::now();
    let mut acd = world(now);
    // Every agent busy, then 10,000 callers waiting.
    let mut next = 1u64;
    let mut talking: Vec<(u64, String)> = Vec::new();
    while talking.len() < AGENTS as usize {
        let _ = acd.enqueue(caller(next), &queue_name(next), now);
        next += 1;
        for (call, agent) in offers(&mut acd, now) {
            let _ = acd.answered(call, &agent, now);
            talking.push((call, agent));
        }
    }
    for _ in 0..WAITING {
        let _ = acd.enqueue(caller(next), &queue_name(next), now);
        next += 1;
    }
    assert!(offers(&mut acd, now).is_empty());
    let mut turn = 0usize;
    c.bench_function("acd/agent_free_10k_waiting", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (call, agent) = talking[turn % talking.len()].clone();
                let start = Instant::now();
                let _ = acd.hung_up(call, &agent, now);
                let offer = acd.poll(now);
                total += start.elapsed();
                let mut made = offers(&mut acd, now);
                if let Some(Output::Offer { call, agent, .. }) = offer {
                    made.push((call, agent));
                }
                for (call, agent) in made {
                    let _ = acd.answered(call, &agent, now);
                    if let Some(slot) = talking.iter_mut().find(|t| t.1 == agent) {
                        *slot = (call, agent);
                    }
                }
                let _ = acd.enqueue(caller(next), &queue_name(next), now);
                next += 1;
                while acd.poll(now).is_some() {}
                turn += 1;
            }
            total
        })
    });
    c.bench_function("acd/poll_idle_10k_waiting", |b| {
        b.iter(|| black_box(acd.poll(black_box(now))))
    });
}

fn enqueue_idle(c: &mut Criterion) {
    let now = Instant::now();
    let mut acd = world(now);
    let mut next = 1u64;
    c.bench_function("acd/enqueue_with_idle_agents", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let _ = acd.enqueue(caller(next), &queue_name(next), now);
                let offer = acd.poll(now);
                total += start.elapsed();
                black_box(&offer);
                while acd.poll(now).is_some() {}
                let _ = acd.leave(next, Leave::Hangup, now);
                while acd.poll(now).is_some() {}
                next += 1;
            }
            total
        })
    });
}

criterion_group!(benches, agent_free, enqueue_idle);
criterion_main!(benches);
