//! Raw tables to a [`Plan`]: step names resolved to indexes, templates,
//! conditions and patterns compiled, each step's keys checked to make one
//! clear action. Every problem is collected with its line.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use toml::Spanned;

use super::raw::{RawFaqFile, RawHttp, RawPlan, RawStep};
use super::{toml_message, Diagnostic, Source};
use crate::dialogue::expr::Expr;
use crate::dialogue::flow::is_builtin;
use crate::dialogue::http::{HttpSpec, JsonTemplate};
use crate::dialogue::plan::{
    Action, Ask, FaqEntry, Intent, LlmSettings, NluSettings, Pattern, Plan, ProfileSettings, Rule,
    SlotKind, Speak, Step, StepIx, Transfer, TransferPolicy,
};
use crate::dialogue::template::Template;

/// Collects diagnostics while building.
struct Builder<'a> {
    src: Source<'a>,
    names: BTreeMap<String, StepIx>,
    /// Variables the plan defines (besides the built-in ones).
    defined: BTreeSet<String>,
    /// Intent names.
    intents: BTreeSet<String>,
    problems: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn err(&mut self, at: usize, message: impl Into<String>) {
        self.problems.push(self.src.error(at, message));
    }

    fn step(&mut self, name: &Spanned<String>) -> StepIx {
        match self.names.get(name.get_ref()) {
            Some(&ix) => ix,
            None => {
                let near = nearest(name.get_ref(), self.names.keys());
                let hint = near.map_or(String::new(), |n| format!(" (did you mean `{n}`?)"));
                self.err(
                    name.span().start,
                    format!("unknown step `{}`{hint}", name.get_ref()),
                );
                0
            }
        }
    }

    fn opt_step(&mut self, name: &Option<Spanned<String>>) -> Option<StepIx> {
        name.as_ref().map(|n| self.step(n))
    }

    fn template(&mut self, text: &Spanned<String>) -> Template {
        let t = Template::parse(text.get_ref()).unwrap_or_else(|e| {
            self.err(text.span().start, format!("in `{}`: {e}", text.get_ref()));
            Template::literal("")
        });
        let vars: Vec<String> = t.vars().map(str::to_string).collect();
        for v in vars {
            self.var(&v, text.span().start);
        }
        t
    }

    /// Reports `name` when nothing defines it.
    fn var(&mut self, name: &str, at: usize) {
        if is_builtin(name) || self.defined.contains(name) {
            return;
        }
        let near = nearest(name, self.defined.iter());
        let hint = near.map_or(String::new(), |n| format!(" (did you mean `{n}`?)"));
        self.err(at, format!("undefined variable `{name}`{hint}: define it in [vars], or set it with save_as, map or set"));
    }

    fn opt_template(&mut self, text: &Option<Spanned<String>>) -> Option<Template> {
        text.as_ref().map(|t| self.template(t))
    }

    fn expr(&mut self, text: &Spanned<String>) -> Option<Expr> {
        match Expr::parse(text.get_ref()) {
            Ok(e) => {
                let at = text.span().start;
                let vars: Vec<String> = e.vars().into_iter().map(str::to_string).collect();
                for v in vars {
                    self.var(&v, at);
                }
                let unknown: Vec<String> = e
                    .intents()
                    .into_iter()
                    .filter(|i| !self.intents.contains(*i))
                    .map(str::to_string)
                    .collect();
                for i in unknown {
                    self.err(at, format!("unknown intent `{i}` in condition"));
                }
                Some(e)
            }
            Err(e) => {
                self.err(
                    text.span().start,
                    format!("condition `{}`: {e}", text.get_ref()),
                );
                None
            }
        }
    }

    fn value_template(&mut self, v: &Spanned<toml::Value>) -> Template {
        match v.get_ref() {
            toml::Value::String(s) => self.template(&Spanned::new(v.span(), s.clone())),
            toml::Value::Integer(i) => Template::literal(&i.to_string()),
            toml::Value::Float(f) => Template::literal(&f.to_string()),
            toml::Value::Boolean(b) => Template::literal(&b.to_string()),
            _ => {
                self.err(
                    v.span().start,
                    "a value must be text, a number or true/false",
                );
                Template::literal("")
            }
        }
    }

    fn json(&mut self, v: &toml::Value, at: usize) -> JsonTemplate {
        match v {
            toml::Value::String(s) => {
                JsonTemplate::Str(self.template(&Spanned::new(at..at, s.clone())))
            }
            toml::Value::Integer(i) => JsonTemplate::Number(*i as f64),
            toml::Value::Float(f) => JsonTemplate::Number(*f),
            toml::Value::Boolean(b) => JsonTemplate::Bool(*b),
            toml::Value::Datetime(d) => JsonTemplate::Str(Template::literal(&d.to_string())),
            toml::Value::Array(a) => {
                JsonTemplate::Array(a.iter().map(|i| self.json(i, at)).collect())
            }
            toml::Value::Table(t) => JsonTemplate::Object(
                t.iter()
                    .map(|(k, v)| (k.clone(), self.json(v, at)))
                    .collect(),
            ),
        }
    }

    fn http(&mut self, raw: &Spanned<RawHttp>, map: &BTreeMap<String, String>) -> HttpSpec {
        let r = raw.get_ref();
        let method = r
            .method
            .as_ref()
            .map_or_else(|| "GET".to_string(), |m| m.get_ref().to_uppercase());
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
            let at = r
                .method
                .as_ref()
                .map_or(raw.span().start, |m| m.span().start);
            self.err(
                at,
                format!("method `{method}`: use GET, POST, PUT, PATCH or DELETE"),
            );
        }
        let url = self.template(&r.url);
        if !(r.url.get_ref().starts_with("http://")
            || r.url.get_ref().starts_with("https://")
            || r.url.get_ref().starts_with('{'))
        {
            self.err(
                r.url.span().start,
                "the url must start with http:// or https://",
            );
        }
        let headers = r
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), self.template(v)))
            .collect();
        let body = r
            .body
            .as_ref()
            .map(|b| self.json(b.get_ref(), b.span().start));
        let mut all_map: Vec<(String, String)> =
            r.map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all_map.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
        HttpSpec {
            method,
            url,
            headers,
            body,
            timeout: Duration::from_millis(r.timeout_ms.unwrap_or(3000).clamp(50, 60_000)),
            retries: r.retries.unwrap_or(0).min(5),
            map: all_map,
        }
    }
}

/// The closest of `names` to `name` (edit distance at most 3).
pub(super) fn nearest<'a>(
    name: &str,
    names: impl Iterator<Item = &'a String>,
) -> Option<&'a String> {
    names
        .map(|n| (distance(name, n), n))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Builds the plan from its raw tables.
pub(super) fn plan(
    raw: &RawPlan,
    name: &str,
    src: Source<'_>,
    faq: Vec<FaqEntry>,
    prompts: &[String],
) -> Result<Plan, Vec<Diagnostic>> {
    let mut order: Vec<(&Spanned<String>, &Spanned<RawStep>)> = raw.steps.iter().collect();
    order.sort_by_key(|(_, s)| s.span().start);
    let mut b = Builder {
        src,
        names: order
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.get_ref().clone(), i))
            .collect(),
        defined: defined(raw),
        intents: raw.intents.keys().map(|k| k.get_ref().clone()).collect(),
        problems: Vec::new(),
    };
    if let Some(kind) = &raw.kind {
        if kind.get_ref() != "flow" {
            b.err(
                kind.span().start,
                "a dialplan with [steps] has kind = \"flow\" (or no kind)",
            );
        }
    }
    if order.is_empty() {
        b.err(0, "the dialplan has no steps: add [steps.NAME] tables");
    }
    let start = match &raw.start {
        Some(s) => b.step(s),
        None => {
            if !order.is_empty() {
                b.err(
                    0,
                    "`start = \"STEP\"` is missing: which step does a call begin with?",
                );
            }
            0
        }
    };
    let language = raw
        .language
        .as_ref()
        .map_or_else(|| "en".to_string(), |l| l.get_ref().clone());
    if let Some(l) = &raw.language {
        if !["en", "zh"].contains(&l.get_ref().as_str()) {
            b.err(
                l.span().start,
                format!("language `{}`: use \"en\" or \"zh\"", l.get_ref()),
            );
        }
    }
    let intents = intents(&mut b, raw);
    let rules = raw
        .rules
        .iter()
        .filter_map(|r| {
            let when = b.expr(&r.get_ref().when)?;
            Some(Rule {
                when,
                goto: b.step(&r.get_ref().goto),
            })
        })
        .collect();
    let nlu = nlu(&mut b, raw);
    let profile = ProfileSettings {
        regions: raw
            .profile
            .regions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        lookup: raw
            .profile
            .lookup
            .as_ref()
            .map(|l| b.http(l, &BTreeMap::new())),
    };
    let llm = raw.llm.as_ref().map(|l| {
        let r = l.get_ref();
        LlmSettings {
            url: r.url.get_ref().clone(),
            key: None,
            model: r.model.clone().unwrap_or_else(|| "default".into()),
            system: r
                .system
                .as_ref()
                .map_or_else(|| Template::literal(DEFAULT_SYSTEM), |s| b.template(s)),
            timeout: Duration::from_millis(r.timeout_ms.unwrap_or(2500).clamp(100, 30_000)),
            max_tokens: r.max_tokens.unwrap_or(120),
        }
    });
    let mut vars = BTreeMap::new();
    for (k, v) in &raw.vars {
        let t = b.value_template(v);
        vars.insert(
            k.clone(),
            t.render(|_| None, crate::dialogue::template::Escape::None),
        );
    }
    let steps = order
        .iter()
        .map(|(n, s)| step(&mut b, n, s, prompts))
        .collect();
    let (quality, problems) = crate::quality::table::rules(raw.quality.as_ref(), src);
    b.problems.extend(problems);
    if !b.problems.is_empty() {
        return Err(b.problems);
    }
    Ok(Plan {
        name: name.to_string(),
        language,
        steps,
        start,
        intents,
        faq,
        vars,
        rules,
        nlu,
        profile,
        llm,
        prompts: prompts.to_vec(),
        quality,
    })
}

/// Every variable the plan defines: [vars], slot answers (`save_as`, or
/// the step's name), request `map`s and `set`.
fn defined(raw: &RawPlan) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = raw.vars.keys().cloned().collect();
    for (name, s) in &raw.steps {
        let r = s.get_ref();
        if r.ask.is_some() {
            let slot = r.expect.as_ref().is_some_and(|e| e.get_ref() != "intent");
            match &r.save_as {
                Some(v) => {
                    out.insert(v.get_ref().clone());
                }
                None if slot => {
                    out.insert(name.get_ref().clone());
                }
                None => {}
            }
        }
        out.extend(r.map.iter().flatten().map(|(k, _)| k.clone()));
        if let Some(h) = &r.http {
            out.extend(h.get_ref().map.keys().cloned());
        }
        out.extend(r.set.keys().cloned());
    }
    out
}

const DEFAULT_SYSTEM: &str =
    "You answer callers of a customer-service line in one or two short spoken sentences.";

fn intents(b: &mut Builder<'_>, raw: &RawPlan) -> Vec<Intent> {
    let mut order: Vec<_> = raw.intents.iter().collect();
    order.sort_by_key(|(_, i)| i.span().start);
    order
        .into_iter()
        .map(|(name, i)| {
            let r = i.get_ref();
            let examples: Vec<String> = r
                .examples
                .iter()
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect();
            if examples.is_empty() {
                b.err(
                    name.span().start,
                    format!(
                        "intent `{}` has no examples: add examples = [\"...\"]",
                        name.get_ref()
                    ),
                );
            }
            Intent {
                name: name.get_ref().clone(),
                examples,
                goto: b.opt_step(&r.goto),
            }
        })
        .collect()
}

fn nlu(b: &mut Builder<'_>, raw: &RawPlan) -> NluSettings {
    let d = NluSettings::default();
    let threshold = |b: &mut Builder<'_>, v: &Option<Spanned<f32>>, default: f32| match v {
        Some(t) if !(0.0..=1.0).contains(t.get_ref()) => {
            b.err(t.span().start, "a threshold is between 0 and 1");
            default
        }
        Some(t) => *t.get_ref(),
        None => default,
    };
    NluSettings {
        intent_threshold: threshold(b, &raw.nlu.intent_threshold, d.intent_threshold),
        faq_threshold: threshold(b, &raw.nlu.faq_threshold, d.faq_threshold),
        max_failures: raw.nlu.max_failures.unwrap_or(0),
        on_failures: b.opt_step(&raw.nlu.on_failures),
    }
}

fn step(
    b: &mut Builder<'_>,
    name: &Spanned<String>,
    s: &Spanned<RawStep>,
    prompts: &[String],
) -> Step {
    let at = name.span().start;
    let r = s.get_ref();
    let speak = match (&r.say, &r.play) {
        (Some(_), Some(p)) => {
            b.err(
                p.span().start,
                "a step either says text or plays a prompt, not both",
            );
            None
        }
        (Some(t), None) => Some(Speak::Text(b.template(t))),
        (None, Some(p)) => {
            if !prompts.contains(p.get_ref()) {
                b.err(
                    p.span().start,
                    format!(
                        "missing prompt `{}`: no such WAV file in the prompts folder",
                        p.get_ref()
                    ),
                );
            }
            Some(Speak::Prompt(p.get_ref().clone()))
        }
        (None, None) => None,
    };
    let set = r
        .set
        .iter()
        .map(|(k, v)| (k.clone(), b.value_template(v)))
        .collect();
    let kinds: Vec<&str> = [
        (r.ask.is_some(), "ask"),
        (r.branch.is_some(), "branch"),
        (r.http.is_some(), "http"),
        (r.answer_from_faq == Some(true), "answer_from_faq"),
        (r.transfer.is_some(), "transfer"),
        (r.hangup == Some(true), "hangup"),
    ]
    .into_iter()
    .filter_map(|(on, k)| on.then_some(k))
    .collect();
    if kinds.len() > 1 {
        b.err(
            at,
            format!(
                "step `{}` does more than one thing ({}): split it into steps",
                name.get_ref(),
                kinds.join(", ")
            ),
        );
    }
    let action = match kinds.first().copied() {
        Some("ask") => Action::Ask(ask(b, r)),
        Some("branch") => branch(b, name, r),
        Some("http") => {
            let spec = b.http(
                r.http.as_ref().expect("checked"),
                r.map.as_ref().unwrap_or(&BTreeMap::new()),
            );
            let next = required(
                b,
                name,
                &r.next,
                "next",
                "where to go when the request succeeds",
            );
            let on_error = required(
                b,
                name,
                &r.on_error,
                "on_error",
                "where to go when the request fails",
            );
            Action::Http {
                spec,
                next,
                on_error,
            }
        }
        Some("answer_from_faq") => Action::Faq {
            next: required(b, name, &r.next, "next", "where to go after the answer"),
            on_miss: required(
                b,
                name,
                &r.on_miss,
                "on_miss",
                "where to go when no FAQ entry fits",
            ),
        },
        Some("transfer") => transfer(b, r),
        Some("hangup") => Action::Hangup,
        _ => match &r.next {
            Some(n) => Action::Next(b.step(n)),
            None => {
                b.err(at, format!("step `{}` has nowhere to go: give it `next`, an action (ask, branch, http, answer_from_faq, transfer) or `hangup = true`", name.get_ref()));
                Action::Hangup
            }
        },
    };
    Step {
        name: name.get_ref().clone(),
        speak,
        action,
        set,
        tags: r.tag.clone(),
    }
}

fn required(
    b: &mut Builder<'_>,
    name: &Spanned<String>,
    v: &Option<Spanned<String>>,
    key: &str,
    why: &str,
) -> StepIx {
    match v {
        Some(s) => b.step(s),
        None => {
            b.err(
                name.span().start,
                format!("step `{}` needs `{key}`: {why}", name.get_ref()),
            );
            0
        }
    }
}

fn ask(b: &mut Builder<'_>, r: &RawStep) -> Ask {
    let prompt_raw = r.ask.as_ref().expect("checked");
    if prompt_raw.get_ref().trim().is_empty() {
        b.err(prompt_raw.span().start, "missing prompt: `ask` is empty");
    }
    let prompt = b.template(prompt_raw);
    let kind = match &r.expect {
        None => SlotKind::Intent,
        Some(e) => SlotKind::from_name(e.get_ref()).unwrap_or_else(|| {
            b.err(
                e.span().start,
                format!(
                    "expect `{}`: use intent, digits, phone, yes_no, date or text",
                    e.get_ref()
                ),
            );
            SlotKind::Intent
        }),
    };
    let pattern = r.pattern.as_ref().and_then(|p| {
        match regex::RegexBuilder::new(p.get_ref())
            .size_limit(1 << 20)
            .build()
        {
            Ok(regex) => Some(Pattern {
                source: p.get_ref().clone(),
                regex,
            }),
            Err(e) => {
                b.err(p.span().start, format!("bad regex `{}`: {e}", p.get_ref()));
                None
            }
        }
    });
    let routes =
        r.on.iter()
            .flatten()
            .map(|(k, v)| (k.clone(), b.step(v)))
            .collect();
    Ask {
        prompt,
        kind,
        save_as: r.save_as.as_ref().map(|s| s.get_ref().clone()),
        min_digits: r.min_digits.unwrap_or(1),
        max_digits: r.max_digits.unwrap_or(0),
        dtmf: r.dtmf.unwrap_or(matches!(
            kind,
            SlotKind::Digits | SlotKind::Phone | SlotKind::YesNo
        )),
        pattern,
        routes,
        next: b.opt_step(&r.next),
        faq: r.faq.unwrap_or(false),
        retries: r.retries.unwrap_or(1),
        no_input: b.opt_template(&r.no_input),
        no_match: b.opt_template(&r.no_match),
        on_failure: b.opt_step(&r.on_failure),
    }
}

fn branch(b: &mut Builder<'_>, name: &Spanned<String>, r: &RawStep) -> Action {
    let arms = r
        .branch
        .iter()
        .flatten()
        .filter_map(|a| {
            let when = b.expr(&a.get_ref().when)?;
            Some((when, b.step(&a.get_ref().goto)))
        })
        .collect();
    let otherwise = required(
        b,
        name,
        &r.otherwise,
        "else",
        "where to go when no condition holds",
    );
    Action::Branch { arms, otherwise }
}

fn transfer(b: &mut Builder<'_>, r: &RawStep) -> Action {
    let target = b.template(r.transfer.as_ref().expect("checked"));
    let policy = match &r.policy {
        None => TransferPolicy::Direct,
        Some(p) => match p.get_ref().as_str() {
            "direct" => TransferPolicy::Direct,
            "ask_first" => TransferPolicy::AskFirst,
            other => {
                b.err(
                    p.span().start,
                    format!("policy `{other}`: use direct or ask_first"),
                );
                TransferPolicy::Direct
            }
        },
    };
    if policy == TransferPolicy::AskFirst && r.confirm.is_none() {
        let at = r.policy.as_ref().map_or(0, |p| p.span().start);
        b.err(
            at,
            "missing prompt: an ask_first transfer needs `confirm` (the question)",
        );
    }
    Action::Transfer(Transfer {
        target,
        policy,
        confirm: b.opt_template(&r.confirm),
        on_busy: b.opt_step(&r.on_busy),
        on_decline: b.opt_step(&r.on_decline),
    })
}

/// Reads an FAQ file. `language` is the plan's: entries in another
/// language are an error (they would never match).
pub fn parse_faq(src: Source<'_>, language: &str) -> Result<Vec<FaqEntry>, Vec<Diagnostic>> {
    let raw: RawFaqFile = toml::from_str(src.text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        vec![src.error(at, toml_message(&e))]
    })?;
    let mut problems = Vec::new();
    if let Some(l) = &raw.language {
        if l.get_ref() != language {
            problems.push(src.error(
                l.span().start,
                format!(
                    "FAQ language `{}` differs from the dialplan's `{language}`",
                    l.get_ref()
                ),
            ));
        }
    }
    let mut out: Vec<FaqEntry> = Vec::new();
    for e in &raw.faq {
        let r = e.get_ref();
        if out.iter().any(|o| o.id == *r.id.get_ref()) {
            problems.push(src.error(
                r.id.span().start,
                format!("FAQ id `{}` is used twice", r.id.get_ref()),
            ));
        }
        if r.questions.iter().all(|q| q.trim().is_empty()) {
            problems.push(src.error(
                r.id.span().start,
                format!("FAQ `{}` has no questions", r.id.get_ref()),
            ));
        }
        if r.answer.get_ref().trim().is_empty() {
            problems.push(src.error(
                r.answer.span().start,
                format!(
                    "missing prompt: FAQ `{}` has an empty answer",
                    r.id.get_ref()
                ),
            ));
        }
        let answer = Template::parse(r.answer.get_ref()).unwrap_or_else(|err| {
            problems.push(src.error(r.answer.span().start, format!("answer: {err}")));
            Template::literal("")
        });
        out.push(FaqEntry {
            id: r.id.get_ref().clone(),
            questions: r.questions.clone(),
            answer,
            origin: (src.name.to_string(), src.line(r.answer.span().start)),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}
