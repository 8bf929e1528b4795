//! Understanding what the caller said, from the transcript text alone:
//! matching it against example phrases (intents) and FAQ questions, in
//! English and Chinese alike.
//!
//! - [`normalize`]: case, full-width forms and punctuation folded away, so
//!   "Where's my ORDER？" and "wheres my order" compare equal.
//! - [`ngram::PhraseIndex`]: labelled example phrases turned into character
//!   n-gram features weighted by rarity (TF-IDF), scored by cosine
//!   similarity. Character n-grams need no word segmentation (Chinese has
//!   no spaces) and survive the recogniser's spelling slips ("oder",
//!   "recieve") that defeat whole-word matching.
//!
//! - [`lexicon`]: negative and angry words, profanity and asking for a
//!   person, English and Chinese: the words' part of the emotion estimate.
//! - [`slots`]: yes/no and digit strings (order and phone numbers) spoken
//!   in words or digits, English and Chinese.
//!
//! Not here: deciding what to do with a match (the dialogue), thresholds
//! per dialplan (the dialplan), dates, the emotion estimate over a call.

pub mod lexicon;
pub mod ngram;
mod normalize;
pub mod slots;

pub use lexicon::{lexicon, LexiconSignal};
pub use ngram::{Match, PhraseIndex};
pub use normalize::normalize;
pub use slots::{digits, yes_no, YesNo};
