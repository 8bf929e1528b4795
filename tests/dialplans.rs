//! Every dialplan test case file (`dialplans/*.cases.toml`) passes, with
//! its CRM served over a real socket; the bundled plans are covered by
//! enough cases, and their FAQ knowledge has enough entries.

use std::path::{Path, PathBuf};
use std::thread;

use kefu::dialplan::{cases, flow};

/// The bundled dialplans and their languages.
const BUNDLED: [(&str, &str); 2] = [("shop", "en"), ("shop-zh", "zh")];
/// Fewest cases a bundled plan may have.
const MIN_CASES: usize = 15;
/// Fewest FAQ entries a bundled plan may have (per language).
const MIN_FAQ: usize = 20;

fn dialplans_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans")
}

fn case_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dialplans_dir())
        .expect("read dialplans/")
        .map(|e| e.expect("dialplans/ entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".cases.toml"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_case_file_passes() {
    let files = case_files();
    assert!(
        files.len() >= 2,
        "expected at least 2 case files in dialplans/, found {files:?}"
    );
    // The files are independent (each has its own CRM server): run them
    // side by side, so the CRM timeout cases overlap.
    let results: Vec<(PathBuf, Result<cases::Report, String>)> = thread::scope(|s| {
        let runs: Vec<_> = files
            .iter()
            .map(|f| (f.clone(), s.spawn(|| cases::run_file(f))))
            .collect();
        runs.into_iter()
            .map(|(f, h)| (f, h.join().expect("case runner panicked")))
            .collect()
    });
    let mut failed = Vec::new();
    for (file, result) in &results {
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        match result {
            Ok(report) => {
                assert!(report.cases > 0, "{name}: no cases");
                failed.extend(report.failures.iter().map(|f| format!("{name}: {f}")));
            }
            Err(e) => failed.push(format!("{name}: does not run: {e}")),
        }
    }
    assert!(
        failed.is_empty(),
        "{} failed dialplan case(s):\n  {}",
        failed.len(),
        failed.join("\n  ")
    );
}

#[test]
fn bundled_plans_have_enough_cases() {
    for (plan, _) in BUNDLED {
        let path = dialplans_dir().join(format!("{plan}.cases.toml"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let table: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let n = table
            .get("case")
            .and_then(toml::Value::as_array)
            .map_or(0, Vec::len);
        assert!(
            n >= MIN_CASES,
            "{plan}.cases.toml has {n} cases, expected at least {MIN_CASES}"
        );
    }
}

#[test]
fn bundled_plans_have_enough_faq_entries() {
    for (plan, language) in BUNDLED {
        let path = dialplans_dir().join(format!("{plan}.toml"));
        let loaded = flow::load(&path).unwrap_or_else(|problems| {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            panic!("{} does not load:\n{}", path.display(), text.join("\n"))
        });
        let p = &loaded.flow.plan;
        assert_eq!(p.language, language, "{plan}: language");
        assert!(
            p.faq.len() >= MIN_FAQ,
            "{plan} ({language}) has {} FAQ entries, expected at least {MIN_FAQ}",
            p.faq.len()
        );
        for entry in &p.faq {
            assert!(
                !entry.questions.is_empty(),
                "{plan}: FAQ `{}` has no questions",
                entry.id
            );
        }
        assert!(
            loaded.files.len() >= 2,
            "{plan}: the FAQ knowledge should come from its own file, files = {:?}",
            loaded.files
        );
    }
}
