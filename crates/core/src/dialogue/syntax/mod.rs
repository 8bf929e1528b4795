//! The dialplan language: TOML text in, a checked [`Plan`] out, or every
//! problem found with its file and line.
//!
//! Two phases, because a dialplan names other files (its FAQ knowledge, its
//! prompt folder) and this crate reads none: [`parse`] reads the main text
//! into a [`Draft`] that lists those files; the shell reads them and
//! [`Draft::build`] finishes the plan: steps resolved, templates,
//! conditions and patterns compiled, then the whole graph checked
//! ([`check`]: unknown and unreachable steps, missing prompts, undefined
//! variables). Errors are collected, not stopped at, so an operator sees
//! them all at once.
//!
//! Not here: the shell's own keys (`speech`, `prompts`, `answer_after_ms`,
//! `tones`), which the shell reads and checks from the same text.

mod build;
mod check;
mod raw;

use std::fmt;

pub use build::parse_faq;

use super::plan::{FaqEntry, Plan};
use raw::RawPlan;

/// A problem in a dialplan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the operator named it.
    pub file: String,
    /// 1-based line (0 when the whole file is meant).
    pub line: usize,
    /// What is wrong, and how to fix it when that is not obvious.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

/// A file's text and the name errors give it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// Path or name shown in errors.
    pub name: &'a str,
    /// The text.
    pub text: &'a str,
}

impl Source<'_> {
    /// The 1-based line of byte offset `at`.
    pub fn line(&self, at: usize) -> usize {
        let at = at.min(self.text.len());
        self.text.as_bytes()[..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub(crate) fn error(&self, at: usize, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.name.to_string(),
            line: self.line(at),
            message: message.into(),
        }
    }
}

/// A parsed main file, waiting for its FAQ files and prompt names.
#[derive(Debug)]
pub struct Draft {
    raw: RawPlan,
    name: String,
    file: String,
    text: String,
}

/// Whether `text` is a flow dialplan (it has steps), as opposed to the
/// older built-in kinds (`digits`, `speech`).
pub fn is_flow(text: &str) -> bool {
    match toml::from_str::<toml::Table>(text) {
        Ok(t) => t.contains_key("steps"),
        Err(_) => text.lines().any(|l| l.trim_start().starts_with("[steps")),
    }
}

/// Reads the main dialplan text. `name` is the plan's name (the file stem).
pub fn parse(main: Source<'_>, name: &str) -> Result<Draft, Vec<Diagnostic>> {
    let raw: RawPlan = toml::from_str(main.text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        vec![main.error(at, toml_message(&e))]
    })?;
    Ok(Draft {
        name: raw.name.clone().unwrap_or_else(|| name.to_string()),
        raw,
        file: main.name.to_string(),
        text: main.text.to_string(),
    })
}

/// A TOML error's message without its own rendering of the source.
pub(crate) fn toml_message(e: &toml::de::Error) -> String {
    e.message().trim().to_string()
}

impl Draft {
    /// FAQ files the plan names, as written (relative to the plan's file).
    pub fn faq_files(&self) -> Vec<String> {
        self.raw.faq.iter().map(|f| f.get_ref().clone()).collect()
    }

    /// The folder of recorded prompts (`prompts = "DIR"`), as written.
    pub fn prompts_dir(&self) -> Option<String> {
        self.raw
            .prompts
            .as_ref()
            .and_then(|p| p.as_str().map(str::to_string))
    }

    /// The environment variable holding the LLM key (`[llm] key_env`).
    pub fn llm_key_env(&self) -> Option<String> {
        self.raw.llm.as_ref()?.get_ref().key_env.clone()
    }

    /// The plan's language (`en` unless set).
    pub fn language(&self) -> String {
        self.raw
            .language
            .as_ref()
            .map_or_else(|| "en".to_string(), |l| l.get_ref().clone())
    }

    /// Finishes the plan with the FAQ entries (already parsed with
    /// [`parse_faq`]) and the names of the recorded prompts it may play.
    pub fn build(self, faq: Vec<FaqEntry>, prompts: &[String]) -> Result<Plan, Vec<Diagnostic>> {
        let src = Source {
            name: &self.file,
            text: &self.text,
        };
        let plan = build::plan(&self.raw, &self.name, src, faq, prompts)?;
        let problems = check::check(&self.raw, &plan, src);
        if problems.is_empty() {
            Ok(plan)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests;
