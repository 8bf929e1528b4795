//! The built-in "digits" dialplan: greet the caller, collect DTMF digits,
//! read them back, say goodbye and hang up.
//!
//! States: `Greeting` (the greeting plays; a digit interrupts it),
//! `Collecting` (digits accumulate until `#`, `max_digits`, or a timeout),
//! `Closing` (the read-back and goodbye play; the call ends when the last
//! prompt finishes). Prompts used: `greeting`, `you-entered`, `goodbye`,
//! `no-input`, and `digit-0`..`digit-9`, `digit-star`, `digit-pound`,
//! `digit-a`..`digit-d`.

use std::time::Duration;

use super::{Ctx, Dialogue, Event};

/// Settings of the digits dialplan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Waiting time for the first digit after the greeting ends.
    pub first_digit_timeout: Duration,
    /// Waiting time between digits.
    pub inter_digit_timeout: Duration,
    /// Digits collected before the read-back starts without `#`.
    pub max_digits: usize,
    /// The key that ends collection.
    pub terminator: char,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            first_digit_timeout: Duration::from_secs(10),
            inter_digit_timeout: Duration::from_secs(5),
            max_digits: 20,
            terminator: '#',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Waiting,
    Greeting(u64),
    Collecting,
    Closing(Option<u64>),
}

/// The digits dialplan for one call.
#[derive(Debug, Clone)]
pub struct Digits {
    settings: Settings,
    state: State,
    collected: String,
}

impl Digits {
    /// A fresh dialogue, before the call is answered.
    pub fn new(settings: Settings) -> Self {
        Digits {
            settings,
            state: State::Waiting,
            collected: String::new(),
        }
    }

    /// The digits collected so far (without the terminator).
    pub fn collected(&self) -> &str {
        &self.collected
    }

    fn collect(&mut self, ctx: &mut dyn Ctx) {
        self.state = State::Collecting;
        ctx.set_timer(self.settings.first_digit_timeout);
    }

    fn close(&mut self, ctx: &mut dyn Ctx) {
        ctx.cancel_timer();
        ctx.flush();
        let mut last = None;
        if self.collected.is_empty() {
            last = ctx.play("no-input").or(last);
        } else {
            last = ctx.play("you-entered").or(last);
            let digits: Vec<char> = self.collected.chars().collect();
            for d in digits {
                last = ctx.play(&prompt_for(d)).or(last);
            }
        }
        last = ctx.play("goodbye").or(last);
        if last.is_none() {
            ctx.hangup();
        }
        self.state = State::Closing(last);
    }
}

/// The prompt that speaks one key.
pub fn prompt_for(digit: char) -> String {
    match digit {
        '*' => "digit-star".to_string(),
        '#' => "digit-pound".to_string(),
        d => format!("digit-{}", d.to_ascii_lowercase()),
    }
}

impl Dialogue for Digits {
    fn on_event(&mut self, event: Event, ctx: &mut dyn Ctx) {
        match (&self.state, event) {
            (State::Waiting, Event::Answered) => match ctx.play("greeting") {
                Some(id) => self.state = State::Greeting(id),
                None => self.collect(ctx),
            },
            (State::Greeting(id), Event::PlayoutFinished(done)) if *id == done => {
                self.collect(ctx);
            }
            (State::Greeting(_) | State::Collecting, Event::Digit(d)) => {
                if matches!(self.state, State::Greeting(_)) {
                    ctx.flush();
                    self.state = State::Collecting;
                }
                if d == self.settings.terminator {
                    self.close(ctx);
                    return;
                }
                self.collected.push(d);
                if self.collected.len() >= self.settings.max_digits {
                    self.close(ctx);
                } else {
                    ctx.set_timer(self.settings.inter_digit_timeout);
                }
            }
            (State::Collecting, Event::Timer) => self.close(ctx),
            (State::Closing(Some(last)), Event::PlayoutFinished(done)) if *last == done => {
                ctx.hangup();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[derive(Default)]
    struct Fake {
        played: Vec<String>,
        flushed: usize,
        hung_up: bool,
        timer: Option<Duration>,
        unknown: Vec<&'static str>,
    }

    impl Ctx for Fake {
        fn play(&mut self, prompt: &str) -> Option<u64> {
            if self.unknown.contains(&prompt) {
                return None;
            }
            self.played.push(prompt.to_string());
            Some(self.played.len() as u64)
        }
        fn flush(&mut self) {
            self.flushed += 1;
        }
        fn hangup(&mut self) {
            self.hung_up = true;
        }
        fn set_timer(&mut self, after: Duration) {
            self.timer = Some(after);
        }
        fn cancel_timer(&mut self) {
            self.timer = None;
        }
        fn now(&self) -> Instant {
            Instant::now()
        }
        fn say(&mut self, _text: &str) -> Option<u64> {
            None
        }
        fn listen(&mut self) {}
    }

    #[test]
    fn greets_collects_and_reads_back() {
        let mut d = Digits::new(Settings::default());
        let mut c = Fake::default();
        d.on_event(Event::Answered, &mut c);
        assert_eq!(c.played, ["greeting"]);
        d.on_event(Event::PlayoutFinished(1), &mut c);
        assert_eq!(c.timer, Some(Duration::from_secs(10)));
        for k in ['4', '2', '*'] {
            d.on_event(Event::Digit(k), &mut c);
        }
        assert_eq!(d.collected(), "42*");
        d.on_event(Event::Digit('#'), &mut c);
        assert_eq!(
            c.played,
            [
                "greeting",
                "you-entered",
                "digit-4",
                "digit-2",
                "digit-star",
                "goodbye"
            ]
        );
        assert!(!c.hung_up);
        d.on_event(Event::PlayoutFinished(6), &mut c);
        assert!(c.hung_up);
    }

    #[test]
    fn digit_interrupts_greeting() {
        let mut d = Digits::new(Settings::default());
        let mut c = Fake::default();
        d.on_event(Event::Answered, &mut c);
        d.on_event(Event::Digit('7'), &mut c);
        assert_eq!(c.flushed, 1);
        assert_eq!(d.collected(), "7");
        // A late "finished" for the flushed greeting changes nothing.
        d.on_event(Event::PlayoutFinished(1), &mut c);
        assert_eq!(c.timer, Some(Duration::from_secs(5)));
    }

    #[test]
    fn timeout_without_digits_says_goodbye() {
        let mut d = Digits::new(Settings::default());
        let mut c = Fake::default();
        d.on_event(Event::Answered, &mut c);
        d.on_event(Event::PlayoutFinished(1), &mut c);
        d.on_event(Event::Timer, &mut c);
        assert_eq!(c.played, ["greeting", "no-input", "goodbye"]);
        d.on_event(Event::PlayoutFinished(3), &mut c);
        assert!(c.hung_up);
    }

    #[test]
    fn missing_prompts_still_end_the_call() {
        let mut d = Digits::new(Settings::default());
        let mut c = Fake {
            unknown: vec!["greeting", "no-input", "goodbye"],
            ..Fake::default()
        };
        d.on_event(Event::Answered, &mut c);
        d.on_event(Event::Timer, &mut c);
        assert!(c.hung_up);
    }

    #[test]
    fn max_digits_ends_collection() {
        let mut d = Digits::new(Settings {
            max_digits: 2,
            ..Settings::default()
        });
        let mut c = Fake::default();
        d.on_event(Event::Answered, &mut c);
        d.on_event(Event::PlayoutFinished(1), &mut c);
        d.on_event(Event::Digit('1'), &mut c);
        d.on_event(Event::Digit('2'), &mut c);
        assert_eq!(c.played.last().map(String::as_str), Some("goodbye"));
    }
}
