//! The built-in speech dialplan: greet, listen, answer with a short reply,
//! repeat until the caller says goodbye or stays silent.
//!
//! States: `Speaking` (kefu's text plays; the turn passes to the caller when
//! its last piece finishes, or at once when the caller barges in),
//! `Listening` (waiting for [`Event::Heard`]; the no-input timer runs from
//! the end of kefu's speech) and `Closing` (the goodbye plays; then kefu
//! hangs up).
//!
//! Listening is armed when kefu's own speech *finishes*, not when it starts:
//! the no-input timeout then measures the caller's silence, not the prompt's
//! length. The caller can still speak over kefu: barge-in (decided by the
//! call, see [`crate::vad::bargein`]) stops the audio and hands the turn to
//! the caller at once. What the caller says while kefu speaks without
//! interrupting it (a backchannel, "mm") is ignored.
//!
//! A failed synthesis plays the recorded `fallback_prompt` instead; a failed
//! transcription plays it too and listens again. Neither counts as the
//! caller's silence.

use super::{Ctx, Dialogue, Event};

/// An answer given when the transcript contains any of the keywords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyRule {
    /// Words or phrases, matched case-insensitively (whole words for
    /// Latin-script keywords, substrings otherwise).
    pub keywords: Vec<String>,
    /// The text kefu says.
    pub answer: String,
}

/// Settings of the speech dialplan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Said (synthesized) when the call is answered.
    pub greeting: String,
    /// Checked in order; the first rule whose keyword the caller said wins.
    pub replies: Vec<ReplyRule>,
    /// The answer when no rule matches; `{text}` becomes the transcript.
    pub default_reply: String,
    /// Any of these ends the call (matched like [`ReplyRule::keywords`]).
    pub goodbye_words: Vec<String>,
    /// Said before kefu hangs up.
    pub goodbye: String,
    /// Said when the caller was silent for the no-input timeout.
    pub no_input_prompt: String,
    /// Silences in a row answered with `no_input_prompt`; one more and
    /// kefu says goodbye.
    pub max_no_input: u32,
    /// A recorded prompt (by name) played when synthesis or transcription
    /// fails.
    pub fallback_prompt: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            greeting: "Hello, this is kefu. How can I help you?".into(),
            replies: Vec::new(),
            default_reply: "You said: {text}. Anything else?".into(),
            goodbye_words: vec!["goodbye".into(), "bye".into(), "再见".into()],
            goodbye: "Goodbye.".into(),
            no_input_prompt: "Are you still there?".into(),
            max_no_input: 2,
            fallback_prompt: "sorry".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    /// kefu speaks; `last` is the playout id of its last queued piece.
    Speaking {
        last: Option<u64>,
    },
    Listening,
    Closing {
        last: Option<u64>,
    },
}

/// The speech dialplan for one call.
#[derive(Debug, Clone)]
pub struct Speech {
    settings: Settings,
    state: State,
    silences: u32,
}

impl Speech {
    /// A fresh dialogue, before the call is answered.
    pub fn new(settings: Settings) -> Self {
        Speech {
            settings,
            state: State::Waiting,
            silences: 0,
        }
    }

    /// What kefu answers to `heard`: `None` for a goodbye.
    pub fn reply(&self, heard: &str) -> Option<String> {
        let lower = heard.to_lowercase();
        let said = |words: &[String]| words.iter().any(|w| contains_phrase(&lower, w));
        if said(&self.settings.goodbye_words) {
            return None;
        }
        let rule = self.settings.replies.iter().find(|r| said(&r.keywords));
        Some(match rule {
            Some(r) => r.answer.clone(),
            None => self.settings.default_reply.replace("{text}", heard.trim()),
        })
    }

    /// Says `text`; the turn passes to the caller when it finishes (at once
    /// if nothing could be said).
    fn speak(&mut self, text: &str, ctx: &mut dyn Ctx) {
        match ctx.say(text) {
            Some(id) => self.state = State::Speaking { last: Some(id) },
            None => self.listen(ctx),
        }
    }

    fn listen(&mut self, ctx: &mut dyn Ctx) {
        self.state = State::Listening;
        ctx.listen();
    }

    fn close(&mut self, ctx: &mut dyn Ctx) {
        let last = ctx.say(&self.settings.goodbye);
        self.state = State::Closing { last };
        if last.is_none() {
            ctx.hangup();
        }
    }

    fn fallback(&mut self, ctx: &mut dyn Ctx) -> Option<u64> {
        ctx.play(&self.settings.fallback_prompt)
    }
}

/// True when `haystack` (lower case) contains `needle`, case-insensitively;
/// an alphanumeric ASCII edge of the needle must sit on a word boundary.
fn contains_phrase(haystack: &str, needle: &str) -> bool {
    let needle = needle.trim().to_lowercase();
    if needle.is_empty() {
        return false;
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let first = needle.chars().next();
    let last = needle.chars().next_back();
    haystack.match_indices(&needle).any(|(i, m)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + m.len()..].chars().next();
        let glued_before = word(first) && word(before);
        let glued_after = word(last) && word(after);
        !glued_before && !glued_after
    })
}

impl Dialogue for Speech {
    fn on_event(&mut self, event: Event, ctx: &mut dyn Ctx) {
        match (self.state, event) {
            (State::Waiting, Event::Answered) => {
                let greeting = self.settings.greeting.clone();
                self.speak(&greeting, ctx);
            }
            (State::Speaking { last }, Event::PlayoutFinished(id)) if last == Some(id) => {
                self.listen(ctx);
            }
            (State::Speaking { .. }, Event::BargeIn) => self.listen(ctx),
            (State::Speaking { last }, Event::SpeechFailed(_)) => {
                let last = self.fallback(ctx).or(last);
                self.state = State::Speaking { last };
            }
            (State::Listening, Event::Heard(text)) => {
                self.silences = 0;
                match self.reply(&text) {
                    Some(answer) => self.speak(&answer, ctx),
                    None => self.close(ctx),
                }
            }
            (State::Listening, Event::NoInput) => {
                self.silences += 1;
                if self.silences > self.settings.max_no_input {
                    self.close(ctx);
                } else {
                    let prompt = self.settings.no_input_prompt.clone();
                    self.speak(&prompt, ctx);
                }
            }
            (State::Listening, Event::TranscriptFailed) => match self.fallback(ctx) {
                Some(id) => self.state = State::Speaking { last: Some(id) },
                None => self.listen(ctx),
            },
            (State::Closing { last }, Event::PlayoutFinished(id)) if last == Some(id) => {
                ctx.hangup();
            }
            (State::Closing { .. }, Event::BargeIn) => ctx.hangup(),
            (State::Closing { .. }, Event::SpeechFailed(_)) => match self.fallback(ctx) {
                Some(id) => self.state = State::Closing { last: Some(id) },
                None => ctx.hangup(),
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[derive(Default)]
    struct Fake {
        said: Vec<String>,
        played: Vec<String>,
        listens: usize,
        hung_up: bool,
        mute: bool,
        next: u64,
    }

    impl Ctx for Fake {
        fn play(&mut self, prompt: &str) -> Option<u64> {
            self.played.push(prompt.to_string());
            self.next += 1;
            Some(self.next)
        }
        fn flush(&mut self) {}
        fn hangup(&mut self) {
            self.hung_up = true;
        }
        fn set_timer(&mut self, _after: Duration) {}
        fn cancel_timer(&mut self) {}
        fn now(&self) -> Instant {
            Instant::now()
        }
        fn say(&mut self, text: &str) -> Option<u64> {
            if self.mute {
                return None;
            }
            self.said.push(text.to_string());
            self.next += 1;
            Some(self.next)
        }
        fn listen(&mut self) {
            self.listens += 1;
        }
    }

    fn answered() -> (Speech, Fake) {
        let mut d = Speech::new(Settings {
            replies: vec![ReplyRule {
                keywords: vec!["Opening Hours".into(), "营业".into()],
                answer: "We are open nine to five.".into(),
            }],
            ..Settings::default()
        });
        let mut c = Fake::default();
        d.on_event(Event::Answered, &mut c);
        (d, c)
    }

    #[test]
    fn greets_then_listens_then_answers() {
        let (mut d, mut c) = answered();
        assert_eq!(c.said, [Settings::default().greeting]);
        assert_eq!(c.listens, 0);
        d.on_event(Event::PlayoutFinished(1), &mut c);
        assert_eq!(c.listens, 1);
        d.on_event(Event::Heard("what are your opening hours?".into()), &mut c);
        assert_eq!(c.said[1], "We are open nine to five.");
        d.on_event(Event::PlayoutFinished(2), &mut c);
        d.on_event(Event::Heard("请问营业时间".into()), &mut c);
        assert_eq!(c.said[2], "We are open nine to five.");
        d.on_event(Event::PlayoutFinished(3), &mut c);
        d.on_event(Event::Heard(" parcel ".into()), &mut c);
        assert_eq!(c.said[3], "You said: parcel. Anything else?");
    }

    #[test]
    fn goodbye_words_match_whole_words_only() {
        let (d, _) = answered();
        assert_eq!(d.reply("OK, bye!"), None);
        assert_eq!(d.reply("好的，再见"), None);
        assert!(d.reply("maybe tomorrow").is_some());
        assert!(d.reply("byelaw").is_some());
    }

    #[test]
    fn silence_twice_is_prompted_then_goodbye() {
        let (mut d, mut c) = answered();
        d.on_event(Event::PlayoutFinished(1), &mut c);
        d.on_event(Event::NoInput, &mut c);
        d.on_event(Event::PlayoutFinished(2), &mut c);
        d.on_event(Event::NoInput, &mut c);
        d.on_event(Event::PlayoutFinished(3), &mut c);
        d.on_event(Event::NoInput, &mut c);
        let s = Settings::default();
        assert_eq!(
            c.said,
            [
                s.greeting,
                s.no_input_prompt.clone(),
                s.no_input_prompt,
                s.goodbye
            ]
        );
        assert!(!c.hung_up);
        d.on_event(Event::PlayoutFinished(4), &mut c);
        assert!(c.hung_up);
    }

    #[test]
    fn failures_fall_back_to_the_recorded_prompt() {
        let (mut d, mut c) = answered();
        d.on_event(Event::SpeechFailed(1), &mut c);
        assert_eq!(c.played, ["sorry"]);
        // The failed stream's end no longer ends kefu's turn; the fallback's does.
        d.on_event(Event::PlayoutFinished(1), &mut c);
        assert_eq!(c.listens, 0);
        d.on_event(Event::PlayoutFinished(2), &mut c);
        assert_eq!(c.listens, 1);
        d.on_event(Event::TranscriptFailed, &mut c);
        assert_eq!(c.played, ["sorry", "sorry"]);
        d.on_event(Event::PlayoutFinished(3), &mut c);
        assert_eq!(c.listens, 2);
    }

    #[test]
    fn barge_in_hands_the_turn_over_and_a_call_without_speech_still_ends() {
        let (mut d, mut c) = answered();
        d.on_event(Event::BargeIn, &mut c);
        assert_eq!(c.listens, 1);
        d.on_event(Event::Heard("bye".into()), &mut c);
        d.on_event(Event::BargeIn, &mut c);
        assert!(c.hung_up);

        let mut d = Speech::new(Settings::default());
        let mut c = Fake {
            mute: true,
            ..Fake::default()
        };
        d.on_event(Event::Answered, &mut c);
        assert_eq!(c.listens, 1);
        d.on_event(Event::Heard("goodbye".into()), &mut c);
        assert!(c.hung_up);
    }
}
