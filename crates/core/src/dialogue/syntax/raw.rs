//! The dialplan file as written: TOML tables mirrored by serde structs that
//! remember where each value stands (`Spanned`), so every later error can
//! name its line. Unknown keys are errors (a misspelt `on_failur` must not
//! be silently ignored).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The top level of a flow dialplan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlan {
    pub kind: Option<Spanned<String>>,
    pub name: Option<String>,
    pub language: Option<Spanned<String>>,
    pub start: Option<Spanned<String>>,
    #[serde(default)]
    pub faq: Vec<Spanned<String>>,
    /// Shell keys: read by the shell, only accepted here (`prompts`
    /// also tells the shell where the plan's WAV prompts are).
    pub prompts: Option<toml::Value>,
    #[allow(dead_code)]
    pub answer_after_ms: Option<toml::Value>,
    #[allow(dead_code)]
    pub speech: Option<toml::Value>,
    #[allow(dead_code)]
    pub tones: Option<toml::Value>,
    #[serde(default)]
    pub nlu: RawNlu,
    #[serde(default)]
    pub vars: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    pub profile: RawProfile,
    pub llm: Option<Spanned<RawLlm>>,
    #[serde(default)]
    pub intents: BTreeMap<Spanned<String>, Spanned<RawIntent>>,
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
    #[serde(default)]
    pub steps: BTreeMap<Spanned<String>, Spanned<RawStep>>,
    /// `[quality]`: its shape and checks live with the rules it makes.
    pub quality: Option<crate::quality::table::RawQuality>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNlu {
    pub intent_threshold: Option<Spanned<f32>>,
    pub faq_threshold: Option<Spanned<f32>>,
    pub max_failures: Option<u32>,
    pub on_failures: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    #[serde(default)]
    pub regions: BTreeMap<String, String>,
    pub lookup: Option<Spanned<RawHttp>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLlm {
    pub url: Spanned<String>,
    pub key_env: Option<String>,
    pub model: Option<String>,
    pub system: Option<Spanned<String>>,
    pub timeout_ms: Option<u64>,
    pub max_tokens: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntent {
    #[serde(default)]
    pub examples: Vec<String>,
    pub goto: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub when: Spanned<String>,
    pub goto: Spanned<String>,
}

/// An HTTP request: in a step (`http = {...}` plus the step's `map`) or
/// the profile look-up (`map` inside).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub method: Option<Spanned<String>>,
    pub url: Spanned<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    pub body: Option<Spanned<toml::Value>>,
    pub timeout_ms: Option<u64>,
    pub retries: Option<u32>,
    #[serde(default)]
    pub map: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArm {
    pub when: Spanned<String>,
    pub goto: Spanned<String>,
}

/// One step: any of these keys; which combinations make sense is checked
/// when the plan is built.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub say: Option<Spanned<String>>,
    pub play: Option<Spanned<String>>,
    #[serde(default)]
    pub set: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    pub tag: Vec<String>,
    pub next: Option<Spanned<String>>,
    // ask
    pub ask: Option<Spanned<String>>,
    pub expect: Option<Spanned<String>>,
    pub save_as: Option<Spanned<String>>,
    pub min_digits: Option<u32>,
    pub max_digits: Option<u32>,
    pub dtmf: Option<bool>,
    pub pattern: Option<Spanned<String>>,
    pub on: Option<BTreeMap<String, Spanned<String>>>,
    pub faq: Option<bool>,
    pub retries: Option<u32>,
    pub no_input: Option<Spanned<String>>,
    pub no_match: Option<Spanned<String>>,
    pub on_failure: Option<Spanned<String>>,
    // branch
    pub branch: Option<Vec<Spanned<RawArm>>>,
    #[serde(rename = "else")]
    pub otherwise: Option<Spanned<String>>,
    // http
    pub http: Option<Spanned<RawHttp>>,
    pub map: Option<BTreeMap<String, String>>,
    pub on_error: Option<Spanned<String>>,
    // faq
    pub answer_from_faq: Option<bool>,
    pub on_miss: Option<Spanned<String>>,
    // transfer
    pub transfer: Option<Spanned<String>>,
    pub policy: Option<Spanned<String>>,
    pub confirm: Option<Spanned<String>>,
    pub on_busy: Option<Spanned<String>>,
    pub on_decline: Option<Spanned<String>>,
    // hangup
    pub hangup: Option<bool>,
}

/// An FAQ file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFaqFile {
    pub language: Option<Spanned<String>>,
    #[serde(default)]
    pub faq: Vec<Spanned<RawFaq>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFaq {
    pub id: Spanned<String>,
    #[serde(default)]
    pub questions: Vec<String>,
    pub answer: Spanned<String>,
}
