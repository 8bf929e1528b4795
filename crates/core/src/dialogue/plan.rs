//! A dialplan as the interpreter runs it: a graph of named steps, the
//! intents and FAQ knowledge it understands, its variables and its global
//! rules. Built by the shell from the operator's file (which it parses and
//! whose lines it knows) and checked by [`super::syntax`]; nothing here
//! reads files.
//!
//! A step may speak first (`say` text with `{variables}`, or a recorded
//! `play` prompt) and then does one thing: ask the caller, branch, set
//! variables, call a CRM over HTTP, answer from the FAQ knowledge, transfer,
//! hang up, or just go on to `next`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::expr::Expr;
use super::http::HttpSpec;
use super::template::Template;

/// Index of a step in [`Plan::steps`].
pub type StepIx = usize;

/// A whole dialplan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Its name (the file stem).
    pub name: String,
    /// ISO 639-1 language of its prompts and examples ("en", "zh").
    pub language: String,
    /// The steps, in file order; the first is not special, see `start`.
    pub steps: Vec<Step>,
    /// Where every call begins.
    pub start: StepIx,
    /// Intents by name, in file order.
    pub intents: Vec<Intent>,
    /// FAQ knowledge: entries in the dialplan's language.
    pub faq: Vec<FaqEntry>,
    /// Variables every call starts with (name -> value).
    pub vars: BTreeMap<String, String>,
    /// Checked in order after every caller utterance, before the step's own
    /// handling: the first that holds moves the call to its step.
    pub rules: Vec<Rule>,
    /// Understanding thresholds and the failure limit.
    pub nlu: NluSettings,
    /// Caller profile: regions by number prefix, an optional CRM look-up.
    pub profile: ProfileSettings,
    /// Optional LLM fallback for questions nothing else answers.
    pub llm: Option<LlmSettings>,
    /// Recorded prompts the plan may `play` (checked by the validator).
    pub prompts: Vec<String>,
    /// What the quality inspection of its calls checks (`[quality]`).
    pub quality: crate::quality::Rules,
}

impl Plan {
    /// The step called `name`.
    pub fn step_ix(&self, name: &str) -> Option<StepIx> {
        self.steps.iter().position(|s| s.name == name)
    }

    /// The intent called `name`.
    pub fn intent(&self, name: &str) -> Option<&Intent> {
        self.intents.iter().find(|i| i.name == name)
    }
}

/// Thresholds of understanding and how many failures the caller gets.
#[derive(Debug, Clone, PartialEq)]
pub struct NluSettings {
    /// An intent below this confidence (0..1) is no match.
    pub intent_threshold: f32,
    /// An FAQ answer below this confidence is not given.
    pub faq_threshold: f32,
    /// Failed turns in a row (no input, no match) after which the call goes
    /// to `on_failures`; 0 for no limit.
    pub max_failures: u32,
    /// Where the call goes after `max_failures` (usually a transfer).
    pub on_failures: Option<StepIx>,
}

impl Default for NluSettings {
    fn default() -> Self {
        NluSettings {
            intent_threshold: 0.3,
            faq_threshold: 0.45,
            max_failures: 0,
            on_failures: None,
        }
    }
}

/// Where a caller's profile comes from.
#[derive(Debug, Clone, Default)]
pub struct ProfileSettings {
    /// Number prefix -> region name; the longest matching prefix wins.
    pub regions: Vec<(String, String)>,
    /// A CRM look-up at call start; its mapped fields become `profile.*`.
    pub lookup: Option<HttpSpec>,
}

/// An OpenAI-compatible chat endpoint asked when nothing else answers.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// Chat completions URL.
    pub url: String,
    /// Bearer key (already resolved from the environment by the shell).
    pub key: Option<String>,
    /// Model name sent in the request.
    pub model: String,
    /// System prompt; `{variables}` allowed.
    pub system: Template,
    /// The whole request must finish within this.
    pub timeout: Duration,
    /// Longest answer, in tokens.
    pub max_tokens: u32,
}

/// An intent: what the caller wants, learnt from example phrases.
#[derive(Debug, Clone)]
pub struct Intent {
    /// Its name (`order_status`).
    pub name: String,
    /// Example phrases in the dialplan's language.
    pub examples: Vec<String>,
    /// Global handler: wherever the call is listening, this intent moves it
    /// here (unless the step handles the intent itself).
    pub goto: Option<StepIx>,
}

/// One FAQ entry.
#[derive(Debug, Clone)]
pub struct FaqEntry {
    /// Its id (unique in the plan).
    pub id: String,
    /// Ways callers ask it.
    pub questions: Vec<String>,
    /// What kefu says.
    pub answer: Template,
    /// The file it came from and its line (for errors).
    pub origin: (String, usize),
}

/// A global rule: `when` holds after a caller utterance -> go to `goto`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The condition.
    pub when: Expr,
    /// The step.
    pub goto: StepIx,
}

/// One step of the graph.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its name, unique in the plan.
    pub name: String,
    /// Spoken (or played) when the step is entered, before its action.
    pub speak: Option<Speak>,
    /// What the step does.
    pub action: Action,
    /// Variables and tags set when the step is entered (before `speak`).
    pub set: Vec<(String, Template)>,
    /// Customer tags added when the step is entered.
    pub tags: Vec<String>,
}

/// Something kefu says.
#[derive(Debug, Clone)]
pub enum Speak {
    /// Text synthesized with the dialplan's voice.
    Text(Template),
    /// A recorded prompt by name.
    Prompt(String),
}

/// What a step does after speaking.
#[derive(Debug, Clone)]
pub enum Action {
    /// Go on to the step (a plain say/set step).
    Next(StepIx),
    /// Ask the caller and wait for an answer.
    Ask(Ask),
    /// Go to the first branch whose condition holds, else to `otherwise`.
    Branch {
        /// Conditions and their steps, in order.
        arms: Vec<(Expr, StepIx)>,
        /// Where to go when none holds.
        otherwise: StepIx,
    },
    /// Call a CRM: on success its mapped fields are variables and the call
    /// goes to `next`; on failure (timeout, error status, garbage) to
    /// `on_error`.
    Http {
        /// The request.
        spec: HttpSpec,
        /// After success.
        next: StepIx,
        /// After failure.
        on_error: StepIx,
    },
    /// Answer the caller's last utterance from the FAQ knowledge: the answer
    /// is said and the call goes to `next`; below the threshold to `on_miss`.
    Faq {
        /// After an answer.
        next: StepIx,
        /// When no entry is confident enough.
        on_miss: StepIx,
    },
    /// Hand the call to a human.
    Transfer(Transfer),
    /// End the call (after speaking).
    Hangup,
}

/// Which kind of answer an ask step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// An intent among the step's expected ones (or any).
    Intent,
    /// Digits (spoken or keyed), e.g. an order number.
    Digits,
    /// A phone number.
    Phone,
    /// Yes or no.
    YesNo,
    /// A date ("tomorrow", "March 3rd", "3月5号").
    Date,
    /// Whatever the caller says.
    Text,
}

impl SlotKind {
    /// The name operators write.
    pub fn name(self) -> &'static str {
        match self {
            SlotKind::Intent => "intent",
            SlotKind::Digits => "digits",
            SlotKind::Phone => "phone",
            SlotKind::YesNo => "yes_no",
            SlotKind::Date => "date",
            SlotKind::Text => "text",
        }
    }

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<SlotKind> {
        [
            SlotKind::Intent,
            SlotKind::Digits,
            SlotKind::Phone,
            SlotKind::YesNo,
            SlotKind::Date,
            SlotKind::Text,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// An ask step.
#[derive(Debug, Clone)]
pub struct Ask {
    /// The question (said after the step's `say`, and again after an FAQ
    /// answer).
    pub prompt: Template,
    /// What the answer should be.
    pub kind: SlotKind,
    /// Variable that receives a slot value (not for intents).
    pub save_as: Option<String>,
    /// Digits: fewest and most accepted.
    pub min_digits: u32,
    /// Digits: most accepted.
    pub max_digits: u32,
    /// The caller may key the answer (digits, yes=1/no=2).
    pub dtmf: bool,
    /// The answer must also match this pattern (text and digit slots).
    pub pattern: Option<Pattern>,
    /// Intent -> step (intent asks; also `yes`/`no` for yes/no asks).
    pub routes: Vec<(String, StepIx)>,
    /// The slot was filled (slot asks), or an intent matched without a
    /// route of its own (intent asks).
    pub next: Option<StepIx>,
    /// Try the FAQ knowledge when no expected intent matches (or when an
    /// FAQ entry matches better): answer and ask again.
    pub faq: bool,
    /// Re-prompts after no input or no match before `on_failure`.
    pub retries: u32,
    /// Said when the caller was silent.
    pub no_input: Option<Template>,
    /// Said when the answer was not understood.
    pub no_match: Option<Template>,
    /// Where the call goes when the retries are used up.
    pub on_failure: Option<StepIx>,
}

/// A compiled regular expression with its source.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// What the operator wrote.
    pub source: String,
    /// Compiled.
    pub regex: regex::Regex,
}

/// How and to whom a call is handed over.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// A queue name (`queue:after_sales`) or a SIP URI / agent.
    pub target: Template,
    /// Ask the caller first or not.
    pub policy: TransferPolicy,
    /// Ask-first: the question ("Shall I put you through to a colleague?").
    pub confirm: Option<Template>,
    /// Where the call goes when the caller declines, or when no agent can
    /// take it (queue busy, transfer failed): back into the bot.
    pub on_busy: Option<StepIx>,
    /// The caller declined an ask-first transfer.
    pub on_decline: Option<StepIx>,
}

/// Transfer policies (see the handoff design).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferPolicy {
    /// Transfer at once.
    Direct,
    /// Ask the caller first; transfer on yes.
    AskFirst,
}
