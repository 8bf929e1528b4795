//! Checks of the whole graph, once every step is built: steps no call can
//! reach, FAQ use without FAQ entries, variables in FAQ answers, quality
//! overrides for queues no transfer names.
//!
//! A step is reachable from `start`, from an intent's global `goto`, from a
//! global rule and from the plan's `on_failures`, through every edge a step
//! has (next, routes, branch arms, fallbacks).

use std::collections::BTreeSet;

use super::raw::RawPlan;
use super::{Diagnostic, Source};
use crate::dialogue::flow::is_builtin;
use crate::dialogue::plan::{Action, Plan, StepIx};

/// Every problem of the built `plan`.
pub(super) fn check(raw: &RawPlan, plan: &Plan, src: Source<'_>) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let line_of = |name: &str| {
        raw.steps
            .iter()
            .find(|(n, _)| n.get_ref() == name)
            .map_or(0, |(n, _)| n.span().start)
    };
    let reached = reachable(plan);
    for (ix, step) in plan.steps.iter().enumerate() {
        if !reached.contains(&ix) {
            problems.push(src.error(
                line_of(&step.name),
                format!(
                    "unreachable step `{}`: no step, intent goto or rule leads to it",
                    step.name
                ),
            ));
        }
        let uses_faq = match &step.action {
            Action::Ask(a) => a.faq,
            Action::Faq { .. } => true,
            _ => false,
        };
        if uses_faq && plan.faq.is_empty() {
            problems.push(src.error(
                line_of(&step.name),
                format!(
                    "step `{}` answers from the FAQ, but the dialplan has no FAQ entries: add faq = [\"FILE\"]",
                    step.name
                ),
            ));
        }
    }
    let defined: BTreeSet<&str> = defined(plan);
    for entry in &plan.faq {
        for v in entry.answer.vars() {
            if !is_builtin(v) && !defined.contains(v) {
                problems.push(Diagnostic {
                    file: entry.origin.0.clone(),
                    line: entry.origin.1,
                    message: format!("FAQ `{}`: undefined variable `{v}` in the answer", entry.id),
                });
            }
        }
    }
    let targets: Vec<&str> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::Transfer(t) => Some(t.target.source()),
            _ => None,
        })
        .collect();
    problems.extend(crate::quality::table::unknown_queues(
        raw.quality.as_ref(),
        &targets,
        src,
    ));
    problems
}

fn defined(plan: &Plan) -> BTreeSet<&str> {
    let mut out: BTreeSet<&str> = plan.vars.keys().map(String::as_str).collect();
    for s in &plan.steps {
        out.extend(s.set.iter().map(|(k, _)| k.as_str()));
        match &s.action {
            Action::Ask(a) => {
                out.insert(a.save_as.as_deref().unwrap_or(&s.name));
            }
            Action::Http { spec, .. } => out.extend(spec.map.iter().map(|(k, _)| k.as_str())),
            _ => {}
        }
    }
    out
}

/// Indexes of the steps some call can reach.
fn reachable(plan: &Plan) -> BTreeSet<StepIx> {
    let mut todo: Vec<StepIx> = vec![plan.start];
    todo.extend(plan.intents.iter().filter_map(|i| i.goto));
    todo.extend(plan.rules.iter().map(|r| r.goto));
    todo.extend(plan.nlu.on_failures);
    let mut seen = BTreeSet::new();
    while let Some(ix) = todo.pop() {
        if ix >= plan.steps.len() || !seen.insert(ix) {
            continue;
        }
        todo.extend(edges(&plan.steps[ix].action));
    }
    seen
}

fn edges(action: &Action) -> Vec<StepIx> {
    match action {
        Action::Next(n) => vec![*n],
        Action::Ask(a) => a
            .routes
            .iter()
            .map(|(_, s)| *s)
            .chain(a.next)
            .chain(a.on_failure)
            .collect(),
        Action::Branch { arms, otherwise } => {
            arms.iter().map(|(_, s)| *s).chain([*otherwise]).collect()
        }
        Action::Http { next, on_error, .. } => vec![*next, *on_error],
        Action::Faq { next, on_miss } => vec![*next, *on_miss],
        Action::Transfer(t) => t.on_busy.into_iter().chain(t.on_decline).collect(),
        Action::Hangup => Vec::new(),
    }
}
