//! How an ask step takes the caller's answer: slot values, intent routes,
//! global intents, FAQ answers and the LLM; failed turns and re-prompts;
//! the yes/no of an ask-first transfer.

use std::sync::Arc;

use super::{Action, Conversation, State};
use crate::dialogue::http::LlmRequest;
use crate::dialogue::plan::{Action as StepAction, Ask, SlotKind, StepIx};
use crate::dialogue::understand::slot_from_speech;
use crate::nlu::YesNo;

impl Conversation {
    pub(super) fn faq_answer(&mut self, text: &str) -> Option<String> {
        let m = self.flow.faq.lookup(text);
        self.faq_answer_for(m)
    }

    /// The answer of FAQ match `m`, when it reaches the threshold.
    pub(super) fn faq_answer_for(&mut self, m: Option<crate::nlu::FaqMatch>) -> Option<String> {
        let m = m?;
        if m.confidence < self.flow.plan.nlu.faq_threshold {
            return None;
        }
        let flow = Arc::clone(&self.flow);
        let entry = flow.plan.faq.iter().find(|e| e.id == m.id)?;
        let answer = self.render(&entry.answer);
        self.vars.set("faq_id", m.id.clone());
        self.vars.set("faq_answer", answer.clone());
        self.turn.faq = Some(m.id);
        Some(answer)
    }

    /// An answer to the ask step `step`.
    pub(super) fn answer(&mut self, step: StepIx, text: &str, intent: Option<String>) {
        let Some(ask) = self.ask_of(step) else { return };
        let global = |me: &Self| {
            intent
                .as_deref()
                .and_then(|i| me.flow.plan.intent(i))
                .and_then(|i| i.goto)
        };
        if ask.kind != SlotKind::Intent {
            // A caller asking for a person while giving an order number:
            // free text takes everything, so global intents go first there.
            if ask.kind == SlotKind::Text {
                if let Some(to) = global(self) {
                    return self.run(to);
                }
            }
            let today = self.world.time.date;
            match slot_from_speech(&ask, text, today) {
                Some(v) => return self.fill(step, &ask, v),
                None => {
                    if let Some(to) = global(self) {
                        return self.run(to);
                    }
                    return self.failed(step, false);
                }
            }
        }
        let routes = &ask.routes;
        // One FAQ look-up per turn: it decides against the intent and gives
        // the answer.
        let faq = if ask.faq {
            self.flow.faq.lookup(text)
        } else {
            None
        };
        if let Some(i) = &intent {
            let conf = self.turn.confidence;
            let faq_better = faq.as_ref().is_some_and(|m| {
                m.confidence >= self.flow.plan.nlu.faq_threshold && m.confidence > conf
            });
            if !faq_better {
                if let Some((_, to)) = routes.iter().find(|(name, _)| name == i) {
                    self.success();
                    return self.run(*to);
                }
                if let Some(to) = global(self) {
                    self.success();
                    return self.run(to);
                }
                if let Some(to) = ask.next {
                    self.success();
                    return self.run(to);
                }
            }
        }
        if ask.faq {
            if let Some(answer) = self.faq_answer_for(faq) {
                self.success();
                self.say_text(&answer);
                return self.ask_again(step, None);
            }
        }
        if let Some(llm) = self.flow.plan.llm.clone() {
            let id = self.id();
            let request = LlmRequest {
                url: llm.url.clone(),
                key: llm.key.clone(),
                model: llm.model.clone(),
                system: self.render(&llm.system),
                history: self.history.clone(),
                timeout: llm.timeout,
                max_tokens: llm.max_tokens,
            };
            self.state = State::Llm { step, id };
            self.out.push_back(Action::Llm { id, request });
            return;
        }
        self.failed(step, false)
    }

    pub(super) fn fill(&mut self, step: StepIx, ask: &Ask, value: String) {
        let name = ask
            .save_as
            .clone()
            .unwrap_or_else(|| self.flow.plan.steps[step].name.clone());
        self.vars.set(&name, value.clone());
        self.turn.slot = Some((name, value.clone()));
        self.success();
        let route = ask
            .routes
            .iter()
            .find(|(k, _)| *k == value)
            .map(|(_, to)| *to);
        match route.or(ask.next) {
            Some(to) => self.run(to),
            None => self.ask_again(step, None),
        }
    }

    pub(super) fn success(&mut self) {
        self.failures = 0;
        self.gave_up = false;
    }

    /// A failed turn in the ask `step`: no input, or no match.
    pub(super) fn failed(&mut self, step: StepIx, silent: bool) {
        self.failures += 1;
        self.retries += 1;
        let nlu = &self.flow.plan.nlu;
        if nlu.max_failures > 0 && self.failures >= nlu.max_failures {
            if let Some(to) = nlu.on_failures {
                self.failures = 0;
                self.gave_up = true;
                return self.run(to);
            }
        }
        let Some(ask) = self.ask_of(step) else { return };
        if self.retries > ask.retries {
            if let Some(to) = ask.on_failure.or(nlu.on_failures) {
                self.failures = 0;
                self.gave_up = true;
                return self.run(to);
            }
        }
        let prompt = if silent { &ask.no_input } else { &ask.no_match };
        let retries = self.retries;
        match prompt {
            Some(p) => {
                let p = self.render(p);
                self.say_text(&p);
                self.state = State::Asking { step };
                self.out.push_back(Action::Listen { dtmf: ask.dtmf });
            }
            None => self.ask_again(step, Some(retries)),
        }
    }

    /// Asks the step's question again and waits, keeping the retry count
    /// when `retries` is given.
    pub(super) fn ask_again(&mut self, step: StepIx, retries: Option<u32>) {
        let Some(ask) = self.ask_of(step) else { return };
        let q = self.render(&ask.prompt);
        self.say_text(&q);
        self.retries = retries.unwrap_or(0);
        self.state = State::Asking { step };
        self.step = Some(step);
        self.out.push_back(Action::Listen { dtmf: ask.dtmf });
    }

    /// The caller's answer to an ask-first transfer.
    pub(super) fn confirm(&mut self, step: StepIx, tries: u32, answer: Option<YesNo>) {
        let StepAction::Transfer(t) = &self.flow.plan.steps[step].action else {
            return;
        };
        let t = t.clone();
        match answer {
            Some(YesNo::Yes) => {
                let target = self.render(&t.target);
                self.state = State::Done;
                self.out.push_back(Action::Transfer(target));
            }
            Some(YesNo::No) => match t.on_decline.or(t.on_busy) {
                Some(to) => self.run(to),
                None => {
                    self.state = State::Done;
                    self.out.push_back(Action::Hangup);
                }
            },
            None if tries == 0 => {
                if let Some(q) = &t.confirm {
                    let q = self.render(q);
                    self.say_text(&q);
                }
                self.state = State::Confirming { step, tries: 1 };
                self.out.push_back(Action::Listen { dtmf: true });
            }
            None => self.confirm(step, tries, Some(YesNo::No)),
        }
    }
}
