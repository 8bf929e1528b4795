//! `kefu dialplan check|test|eval`: the operator's tools for dialplans.
//!
//! - `check FILE...`: loads each file as a call would and prints every
//!   problem as `file:line: message`; exit code 1 when any has one.
//! - `test FILE...`: runs `*.cases.toml` files (or the cases beside a
//!   dialplan); exit code 1 on any failed case.
//! - `eval FILE SET.tsv`: intent accuracy on labelled phrasings
//!   (`intent<TAB>phrase` lines), with the confusions and the time to pick
//!   a reply.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Subcommand;

use crate::dialplan::{cases, flow};

/// `kefu dialplan ...`
#[derive(Debug, Subcommand)]
pub enum DialplanCmd {
    /// Validate dialplan files (file:line errors; exit code 1 on error).
    Check {
        /// Dialplan files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run dialplan test cases (`NAME.cases.toml`).
    Test {
        /// Case files, or dialplans whose cases sit beside them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Measure intent accuracy on a labelled set (`intent<TAB>phrase`).
    Eval {
        /// The dialplan.
        file: PathBuf,
        /// The labelled phrasings.
        set: PathBuf,
        /// Print every miss.
        #[arg(long)]
        verbose: bool,
    },
}

/// Runs a `dialplan` subcommand.
pub fn run(cmd: &DialplanCmd) -> ExitCode {
    match cmd {
        DialplanCmd::Check { files } => check(files),
        DialplanCmd::Test { files } => test(files),
        DialplanCmd::Eval { file, set, verbose } => eval(file, set, *verbose),
    }
}

fn check(files: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for f in files {
        if !flow::is_flow_file(f) {
            match crate::dialplan::load(&f.display().to_string()) {
                Ok(_) => println!("{}: ok", f.display()),
                Err(e) => {
                    bad = true;
                    eprintln!("{e}");
                }
            }
            continue;
        }
        match flow::load(f) {
            Ok(l) => {
                let p = &l.flow.plan;
                println!(
                    "{}: ok ({} steps, {} intents, {} FAQ entries)",
                    f.display(),
                    p.steps.len(),
                    p.intents.len(),
                    p.faq.len()
                );
            }
            Err(problems) => {
                bad = true;
                for p in &problems {
                    eprintln!("{p}");
                }
                eprintln!(
                    "{}: {} problem{}",
                    f.display(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
            }
        }
    }
    if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn cases_path(f: &Path) -> PathBuf {
    let name = f.to_string_lossy();
    if name.ends_with(".cases.toml") {
        f.to_path_buf()
    } else {
        PathBuf::from(name.trim_end_matches(".toml").to_string() + ".cases.toml")
    }
}

fn test(files: &[PathBuf]) -> ExitCode {
    let mut failed = 0;
    for f in files {
        let path = cases_path(f);
        match cases::run_file(&path) {
            Ok(report) => {
                for fail in &report.failures {
                    eprintln!("{}: FAIL {fail}", path.display());
                }
                failed += report.failures.len();
                println!(
                    "{}: {} of {} cases passed",
                    path.display(),
                    report.cases - report.failures.len(),
                    report.cases
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
            }
        }
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn eval(file: &Path, set: &Path, verbose: bool) -> ExitCode {
    let loaded = match flow::load(file) {
        Ok(l) => l,
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read_to_string(set) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("kefu: {}: {e}", set.display());
            return ExitCode::from(2);
        }
    };
    let flow = &loaded.flow;
    let threshold = flow.plan.nlu.intent_threshold;
    let mut total = 0usize;
    let mut right = 0usize;
    let mut per: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let mut confusions: std::collections::BTreeMap<(String, String), usize> = Default::default();
    let mut times = Vec::new();
    let mut reply_times = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((want, phrase)) = line.split_once('\t') else {
            eprintln!("{}:{}: expected intent<TAB>phrase", set.display(), n + 1);
            return ExitCode::from(2);
        };
        let start = Instant::now();
        let got = flow.intents.classify(phrase, None);
        times.push(start.elapsed());
        reply_times.push(reply_time(flow, phrase));
        let got_name = got
            .as_ref()
            .filter(|m| m.confidence >= threshold)
            .map_or("none".to_string(), |m| m.name.clone());
        total += 1;
        let e = per.entry(want.to_string()).or_default();
        e.1 += 1;
        if got_name == want {
            right += 1;
            e.0 += 1;
        } else {
            *confusions
                .entry((want.to_string(), got_name.clone()))
                .or_default() += 1;
            if verbose {
                let conf = got.map_or(0.0, |m| m.confidence);
                println!("miss: {want} -> {got_name} ({conf:.2}): {phrase}");
            }
        }
    }
    if total == 0 {
        eprintln!("kefu: {}: no phrasings", set.display());
        return ExitCode::from(2);
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "{}: intent accuracy {:.1}% ({right}/{total}) at threshold {threshold}",
        file.display(),
        pct(right, total)
    );
    for (intent, (ok, n)) in &per {
        println!("  {intent:<18} {:5.1}% ({ok}/{n})", pct(*ok, *n));
    }
    let mut conf: Vec<_> = confusions.into_iter().collect();
    conf.sort_by_key(|c| std::cmp::Reverse(c.1));
    for ((want, got), n) in conf.iter().take(8) {
        println!("  confused {want} -> {got}: {n}");
    }
    print_times("classify time", &mut times);
    print_times(
        "reply choice time (transcript in, reply text out, first ask step)",
        &mut reply_times,
    );
    ExitCode::SUCCESS
}

/// Prints p50, p99 and the maximum of `times` in microseconds.
fn print_times(what: &str, times: &mut [std::time::Duration]) {
    times.sort();
    let q = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    println!(
        "  {what}: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        q(0.5),
        q(0.99),
        q(1.0)
    );
}

/// Time from a transcript arriving at the plan's first question to the
/// reply being chosen (everything up to the next wait: a question, a CRM
/// request, a transfer or the end).
fn reply_time(
    flow: &std::sync::Arc<kefu_core::dialogue::flow::Flow>,
    phrase: &str,
) -> std::time::Duration {
    use kefu_core::dialogue::flow::Surroundings;
    use kefu_core::dialogue::http::HttpFailure;
    use kefu_core::dialogue::interp::{Action, Conversation};
    let world = Surroundings::new("+10000000000", "kefu", flow::local_now());
    let mut c = Conversation::new(std::sync::Arc::clone(flow), world);
    c.start();
    // Answer any request before the first question with a failure.
    for _ in 0..16 {
        let mut pending = None;
        while let Some(a) = c.poll() {
            if let Action::Http { id, .. } = a {
                pending = Some(id);
            }
        }
        match pending {
            Some(id) => c.http_done(id, Err(HttpFailure::Timeout)),
            None => break,
        }
    }
    let start = Instant::now();
    c.heard(phrase, None, false);
    while c.poll().is_some() {}
    start.elapsed()
}
