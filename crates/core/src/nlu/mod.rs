//! Understanding what the caller said, from the transcript (and, for how
//! it was said, the audio): intents, FAQ questions, slot values and the
//! signals of the emotion estimate, in English and Chinese alike.
//!
//! - [`normalize`]: case, full-width forms and punctuation folded away, so
//!   "Where's my ORDER？" and "wheres my order" compare equal.
//! - [`ngram::PhraseIndex`]: labelled example phrases turned into character
//!   n-gram, word-stem and word-bigram features weighted by rarity
//!   (TF-IDF), scored by cosine similarity. Character n-grams need no word
//!   segmentation (Chinese has no spaces) and survive the recogniser's
//!   spelling slips ("oder", "recieve") that defeat whole-word matching.
//!   Contractions are written out and function words weigh little first
//!   (`words`: generic English and Chinese lists).
//! - [`intent::Classifier`]: a dialplan's intents from their example
//!   phrases, by similarity to them and by a softmax model trained on
//!   them (`softmax`); the best intent (among those a step allows) with a
//!   confidence calibrated for the dialplan's threshold (0.3).
//! - [`faq::Knowledge`]: a dialplan's FAQ entries from the ways to ask
//!   them; the best entry with a confidence calibrated for the FAQ
//!   threshold (0.45).
//! - [`slots`]: yes/no and digit strings (order numbers, PINs) spoken in
//!   words or digits; [`mod@phone`]: phone numbers; [`dates`]: calendar dates
//!   ("next friday", "March 3rd", "下周一", "3月5号") resolved against a
//!   date the caller supplies.
//! - [`mod@lexicon`]: negative and angry words, profanity and asking for a
//!   person: the words' part of the emotion estimate.
//! - [`prosody`]: loudness, pitch and speaking rate of an utterance's
//!   audio: the voice's part of the emotion estimate.
//!
//! Not here: deciding what to do with a match (the dialogue), thresholds
//! per dialplan (the dialplan), the emotion estimate over a call
//! (`dialogue::emotion`).

pub mod dates;
pub mod faq;
pub mod intent;
pub mod lexicon;
pub mod ngram;
mod normalize;
pub mod phone;
pub mod prosody;
pub mod slots;
mod softmax;
mod words;

pub use dates::{date, Date};
pub use faq::{FaqMatch, Knowledge};
pub use intent::{Classifier, IntentMatch};
pub use lexicon::{lexicon, LexiconSignal};
pub use ngram::{Match, PhraseIndex};
pub use normalize::normalize;
pub use phone::phone;
pub use prosody::Prosody;
pub use slots::{digits, yes_no, YesNo};
