//! Loads a flow dialplan from disk: the main file, the FAQ files it names
//! and the names of the WAV prompts in its prompts folder, into a checked
//! [`Flow`] (see `kefu_core::dialogue::syntax` for the language).
//!
//! Errors come back as the core's diagnostics (`file:line: message`), all of
//! them, so `kefu dialplan check` can print them at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kefu_core::dialogue::flow::{Flow, LocalTime};
use kefu_core::dialogue::syntax::{self, Diagnostic, Source};
use kefu_core::nlu::dates::Date;

/// A loaded flow dialplan and the files it was made of.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The flow, ready to run calls.
    pub flow: Arc<Flow>,
    /// The main file and its FAQ files (what a reload watches).
    pub files: Vec<PathBuf>,
}

/// Whether the file at `path` is a flow dialplan (has `[steps]`).
pub fn is_flow_file(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| syntax::is_flow(&t))
}

/// Loads and checks the flow dialplan at `path`.
pub fn load(path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| {
            vec![Diagnostic {
                file: p.display().to_string(),
                line: 0,
                message: format!("cannot read: {e}"),
            }]
        })
    };
    let text = read(path)?;
    let stem = path.file_stem().map_or_else(
        || "dialplan".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let draft = syntax::parse(
        Source {
            name: &file,
            text: &text,
        },
        &stem,
    )?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut files = vec![path.to_path_buf()];
    let mut faq = Vec::new();
    let mut problems = Vec::new();
    for f in draft.faq_files() {
        let p = dir.join(&f);
        files.push(p.clone());
        match read(&p).and_then(|t| {
            syntax::parse_faq(
                Source {
                    name: &p.display().to_string(),
                    text: &t,
                },
                &draft.language(),
            )
        }) {
            Ok(entries) => faq.extend(entries),
            Err(d) => problems.extend(d),
        }
    }
    let prompts = prompt_names(dir, draft.prompts_dir().as_deref());
    let key_env = draft.llm_key_env();
    // The plan's own problems are reported with the FAQ files' ones.
    let mut plan = match draft.build(faq, &prompts) {
        Ok(p) if problems.is_empty() => p,
        Ok(_) => return Err(problems),
        Err(mut d) => {
            problems.append(&mut d);
            return Err(problems);
        }
    };
    if let Some(llm) = plan.llm.as_mut() {
        llm.key = key_env
            .and_then(|v| std::env::var(v).ok())
            .filter(|k| !k.is_empty());
    }
    Ok(Loaded {
        flow: Arc::new(Flow::new(plan)),
        files,
    })
}

/// Names (file stems) of the WAV prompts in the plan's prompts folder
/// (`prompts = "DIR"`, default `prompts` beside the file).
fn prompt_names(dir: &Path, folder: Option<&str>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join(folder.unwrap_or("prompts"))) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// The local time now, for conditions on time of day and for dates.
pub fn local_now() -> LocalTime {
    use chrono::{Datelike, Timelike};
    let now = chrono::Local::now();
    LocalTime {
        date: Date {
            year: now.year(),
            month: u8::try_from(now.month()).unwrap_or(1),
            day: u8::try_from(now.day()).unwrap_or(1),
        },
        minute: u16::try_from(now.hour() * 60 + now.minute()).unwrap_or(0),
    }
}
