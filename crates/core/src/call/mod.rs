//! One call: its lifecycle (ringing, active, ended), its media session, its
//! playout queue, its dialogue and its recording.
//!
//! Lifecycle: an offered call rings for `answer_after` (so the caller hears
//! ringing and a CANCEL can still arrive), then is answered with the SDP
//! answer negotiated on offer. While active, every 20 ms tick moves one frame
//! each way and one stereo frame to the recording (left: caller, right:
//! agent). The call ends on remote BYE or CANCEL, when the dialogue hangs up,
//! or when no RTP arrives for `media_timeout` while kefu expects some.
//!
//! A call running a speech dialogue also owns a [`voice::Voice`]: it listens
//! to the caller in every tick (VAD, endpointing, barge-in), asks for
//! transcriptions and syntheses, and turns their answers into dialogue
//! events. Digits calls have none.
//!
//! Not here: SIP transactions (the shell's signalling layer), timers other
//! than the engine's 20 ms tick.

pub mod media;
pub mod voice;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dialogue::{Ctx, Dialogue, Event};
use crate::engine::{
    CallEvent, CallId, EndReason, Output, RecordEvent, SignalAction, SpeechChunk, SpeechId, UttId,
};
use crate::playout::{Playout, Prompts};
use crate::sdp::{self, LocalCaps, LocalMedia, Negotiated, SessionDescription};
use media::{MediaSession, Received, FRAME};
use voice::{Transcript, Voice, VoiceEvent};

use crate::quality::TalkMeter;

/// Length of one media frame, in milliseconds.
const FRAME_MS: u32 = 20;

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Offered and ringing; answered at the given time.
    Ringing {
        /// When the engine answers.
        answer_at: Instant,
    },
    /// Answered; media flows.
    Active,
    /// Over; the engine drops the call.
    Ended,
}

/// Per-call settings taken from the engine configuration.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// Playout delay of the jitter buffer, in 20 ms frames.
    pub jitter_depth_frames: u32,
    /// Send RTP to where the caller's RTP comes from.
    pub symmetric_rtp: bool,
    /// Record both directions.
    pub record: bool,
    /// End the call when no RTP arrives for this long.
    pub media_timeout: Duration,
}

/// One call.
#[derive(Debug)]
pub struct Call {
    id: CallId,
    phase: Phase,
    local: LocalMedia,
    neg: Negotiated,
    media: MediaSession,
    playout: Playout,
    dialogue: Box<dyn Dialogue>,
    prompts: Arc<Prompts>,
    settings: CallSettings,
    timer: Option<Instant>,
    hangup: bool,
    last_rx: Instant,
    agent: [i16; FRAME],
    caller: [i16; FRAME],
    voice: Option<Box<Voice>>,
    talk: TalkMeter,
}

/// Cause of a failed offer, mapped to the SIP reply.
pub type OfferError = sdp::SdpError;

impl Call {
    /// Negotiates the offer; on success the call is ringing.
    #[allow(clippy::too_many_arguments)]
    pub fn offer(
        id: CallId,
        offer: &[u8],
        caps: &LocalCaps,
        local: LocalMedia,
        settings: CallSettings,
        dialogue: Box<dyn Dialogue>,
        prompts: Arc<Prompts>,
        answer_after: Duration,
        ssrc: u32,
        now: Instant,
    ) -> Result<Call, OfferError> {
        let text = String::from_utf8_lossy(offer);
        let sdp = SessionDescription::parse(&text)?;
        let neg = sdp::answer(&sdp, caps, &local)?;
        let media = MediaSession::new(
            &neg,
            settings.jitter_depth_frames,
            settings.symmetric_rtp,
            ssrc,
            (ssrc >> 16) as u16,
            now,
        );
        Ok(Call {
            id,
            phase: Phase::Ringing {
                answer_at: now + answer_after,
            },
            local,
            neg,
            media,
            playout: Playout::new(crate::media::Hz(8000)),
            dialogue,
            prompts,
            settings,
            timer: None,
            hangup: false,
            last_rx: now,
            agent: [0; FRAME],
            caller: [0; FRAME],
            voice: None,
            talk: TalkMeter::new(),
        })
    }

    /// Gives the call a voice: it listens to the caller and can speak
    /// (speech dialogues).
    pub fn with_voice(mut self, voice: Voice) -> Self {
        self.voice = Some(Box::new(voice));
        self
    }

    /// The call's handle.
    pub fn id(&self) -> CallId {
        self.id
    }

    /// Where the call is in its life.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The negotiated media.
    pub fn negotiated(&self) -> &Negotiated {
        &self.neg
    }

    /// Handles a new offer inside the call (re-INVITE: hold, resume, a moved
    /// endpoint). Returns the answer SDP, or the error to reject it with; a
    /// rejected re-offer leaves the call as it was (RFC 3264 §8).
    pub fn reoffer(&mut self, offer: &[u8], caps: &LocalCaps) -> Result<String, OfferError> {
        if offer.iter().all(u8::is_ascii_whitespace) {
            // A re-INVITE without an offer asks for ours (RFC 3264 §8,
            // RFC 3261 §14.2): offer the session as it stands, unchanged,
            // so the answer in the ACK can only confirm it.
            self.local.session_version += 1;
            self.neg.answer.origin.version = self.local.session_version;
            return Ok(self.neg.answer.to_string());
        }
        let text = String::from_utf8_lossy(offer);
        let sdp = SessionDescription::parse(&text)?;
        let mut local = self.local.clone();
        local.session_version += 1;
        let neg = sdp::answer(&sdp, caps, &local)?;
        self.local = local;
        self.media.apply(&neg);
        let answer = neg.answer.to_string();
        self.neg = neg;
        Ok(answer)
    }

    /// Ends the call from outside (BYE, CANCEL, transport failure).
    pub fn end(&mut self, reason: EndReason, out: &mut VecDeque<Output>) {
        if self.phase == Phase::Ended {
            return;
        }
        if self.phase == Phase::Active && self.settings.record {
            out.push_back(Output::Record {
                call: self.id,
                event: RecordEvent::Stop,
            });
        }
        if self.phase == Phase::Active {
            out.push_back(Output::Event {
                call: self.id,
                event: CallEvent::Talk(self.talk.talk()),
            });
        }
        self.phase = Phase::Ended;
        if let Some(v) = self.voice.as_mut() {
            v.cancel_all(out);
        }
        out.push_back(Output::Event {
            call: self.id,
            event: CallEvent::Ended(reason),
        });
    }

    /// Queues RFC 4733 telephone events toward the caller.
    pub fn send_digits(&mut self, digits: &str) -> usize {
        self.media.send_digits(digits, 100)
    }

    /// Handles a received RTP datagram.
    pub fn on_rtp(
        &mut self,
        now: Instant,
        from: std::net::SocketAddr,
        data: &[u8],
        out: &mut VecDeque<Output>,
    ) -> Received {
        if self.phase != Phase::Active {
            return Received::Dropped(media::Dropped::NoSession);
        }
        let r = self.media.on_rtp(from, data, now);
        if !matches!(r, Received::Dropped(_)) {
            self.last_rx = now;
        }
        if let Received::Event(Some(d)) = r {
            out.push_back(Output::Event {
                call: self.id,
                event: CallEvent::Digit(d),
            });
            self.dispatch(Event::Digit(d), now, out);
        }
        r
    }

    /// A transcription answer for this call.
    pub fn on_transcript(
        &mut self,
        now: Instant,
        utt: UttId,
        result: Result<String, String>,
        out: &mut VecDeque<Output>,
    ) {
        if self.phase != Phase::Active {
            return;
        }
        let Some(t) = self
            .voice
            .as_mut()
            .and_then(|v| v.on_transcript(utt, result))
        else {
            return;
        };
        self.deliver(t, now, out);
    }

    /// A piece of synthesized speech for this call; chunks of cancelled or
    /// unknown requests are dropped.
    pub fn on_speech(
        &mut self,
        now: Instant,
        req: SpeechId,
        chunk: SpeechChunk,
        out: &mut VecDeque<Output>,
    ) {
        if self.phase != Phase::Active {
            return;
        }
        let Some(v) = self.voice.as_mut() else {
            return;
        };
        if let Some(stream) = v.on_speech(req, chunk, now, &mut self.playout) {
            self.dispatch(Event::SpeechFailed(stream), now, out);
        }
    }

    /// The shell's answer to a request of the dialogue.
    pub fn on_reply(
        &mut self,
        now: Instant,
        reply: crate::dialogue::Reply,
        out: &mut VecDeque<Output>,
    ) {
        if self.phase != Phase::Active {
            return;
        }
        self.dispatch(Event::Reply(reply), now, out);
    }

    /// Hands a transcript to the dialogue (and the transcript log).
    fn deliver(&mut self, t: Transcript, now: Instant, out: &mut VecDeque<Output>) {
        let event = match t {
            Transcript::Text(text) if text.trim().is_empty() => Event::NoInput,
            Transcript::Text(text) => {
                let text = text.trim().to_string();
                let (started, ended) = self
                    .voice
                    .as_ref()
                    .and_then(|v| v.last_span())
                    .unwrap_or((now, now));
                out.push_back(Output::Event {
                    call: self.id,
                    event: CallEvent::Heard {
                        text: text.clone(),
                        started,
                        ended,
                    },
                });
                Event::Heard(text)
            }
            Transcript::Failed => Event::TranscriptFailed,
        };
        self.dispatch(event, now, out);
    }

    /// RTP packets lost on the way in so far (sequence gaps).
    pub fn rtp_lost(&self) -> u64 {
        self.media.rtp_lost()
    }

    /// Handles a received RTCP datagram.
    pub fn on_rtcp(&mut self, data: &[u8], now: Instant) -> bool {
        self.media.on_rtcp(data, now)
    }

    /// One 20 ms tick.
    pub fn tick(&mut self, now: Instant, ntp: u64, out: &mut VecDeque<Output>) {
        match self.phase {
            Phase::Ringing { answer_at } if now >= answer_at => self.answer(now, out),
            Phase::Active => self.tick_active(now, ntp, out),
            _ => {}
        }
    }

    fn answer(&mut self, now: Instant, out: &mut VecDeque<Output>) {
        self.phase = Phase::Active;
        self.last_rx = now;
        out.push_back(Output::Signal {
            call: self.id,
            action: SignalAction::Answer {
                sdp: self.neg.answer.to_string(),
            },
        });
        out.push_back(Output::Event {
            call: self.id,
            event: CallEvent::Answered,
        });
        if self.settings.record {
            out.push_back(Output::Record {
                call: self.id,
                event: RecordEvent::Start { rate: 8000 },
            });
        }
        self.dispatch(Event::Answered, now, out);
    }

    fn tick_active(&mut self, now: Instant, ntp: u64, out: &mut VecDeque<Output>) {
        let playing = self.playout.next_frame(&mut self.agent);
        if let Some((to, data)) = self.media.tick(&self.agent, &mut self.caller) {
            out.push_back(Output::Transmit {
                call: self.id,
                rtcp: false,
                to,
                data,
            });
        }
        if let Some((to, data)) = self.media.rtcp_due(now, ntp) {
            out.push_back(Output::Transmit {
                call: self.id,
                rtcp: true,
                to,
                data,
            });
        }
        if self.settings.record {
            let mut frame = Vec::with_capacity(FRAME * 2);
            for (c, a) in self.caller.iter().zip(self.agent.iter()) {
                frame.push(*c);
                frame.push(*a);
            }
            out.push_back(Output::Record {
                call: self.id,
                event: RecordEvent::Frame(frame),
            });
        }
        let expecting = self.neg.remote_direction != crate::sdp::Direction::Inactive
            && self.neg.remote_direction != crate::sdp::Direction::RecvOnly;
        if self.voice.is_some() {
            self.tick_voice(now, playing, !expecting, out);
        }
        let caller = self.voice.as_ref().is_some_and(|v| v.caller_speaking());
        self.talk
            .frame(FRAME_MS, caller, playing && expecting, !expecting);
        for f in self.playout.take_finished() {
            if self.phase == Phase::Ended {
                return;
            }
            self.dispatch(Event::PlayoutFinished(f.id), now, out);
        }
        if self.timer.is_some_and(|t| now >= t) && self.phase != Phase::Ended {
            self.timer = None;
            self.dispatch(Event::Timer, now, out);
        }
        if self.phase == Phase::Ended {
            return;
        }
        if !expecting {
            // Silence is expected (inactive hold): the timeout runs from
            // when media is expected again, not from the last packet.
            self.last_rx = now;
        } else if now.saturating_duration_since(self.last_rx) > self.settings.media_timeout {
            self.hangup_now(EndReason::MediaTimeout, out);
        }
    }

    /// The voice's part of a tick: listen to the caller's frame.
    fn tick_voice(&mut self, now: Instant, playing: bool, held: bool, out: &mut VecDeque<Output>) {
        let Some(v) = self.voice.as_mut() else {
            return;
        };
        v.set_held(held, now);
        let events = v.tick(
            now,
            &self.caller,
            &self.agent,
            playing,
            &mut self.playout,
            out,
        );
        for e in events {
            if self.phase == Phase::Ended {
                return;
            }
            match e {
                VoiceEvent::Dialogue(ev) => {
                    if ev == Event::BargeIn {
                        self.talk.barge_in();
                    }
                    self.dispatch(ev, now, out)
                }
                VoiceEvent::Transcript(text) => self.deliver(Transcript::Text(text), now, out),
                VoiceEvent::TranscriptExpired => self.deliver(Transcript::Failed, now, out),
            }
        }
    }

    fn dispatch(&mut self, event: Event, now: Instant, out: &mut VecDeque<Output>) {
        let mut ctx = CallCtx {
            call: self.id,
            playout: &mut self.playout,
            prompts: &self.prompts,
            timer: &mut self.timer,
            hangup: &mut self.hangup,
            voice: self.voice.as_deref_mut(),
            out,
            now,
        };
        self.dialogue.on_event(event, &mut ctx);
        if self.hangup {
            self.hangup_now(EndReason::Hangup, out);
        }
    }

    fn hangup_now(&mut self, reason: EndReason, out: &mut VecDeque<Output>) {
        if self.phase == Phase::Ended {
            return;
        }
        out.push_back(Output::Signal {
            call: self.id,
            action: SignalAction::Hangup,
        });
        self.end(reason, out);
    }
}

struct CallCtx<'a> {
    call: CallId,
    playout: &'a mut Playout,
    prompts: &'a Prompts,
    timer: &'a mut Option<Instant>,
    hangup: &'a mut bool,
    voice: Option<&'a mut Voice>,
    out: &'a mut VecDeque<Output>,
    now: Instant,
}

impl Ctx for CallCtx<'_> {
    fn play(&mut self, prompt: &str) -> Option<u64> {
        let source = self.prompts.source(prompt)?;
        Some(self.playout.push(source))
    }
    fn flush(&mut self) {
        self.playout.flush();
        if let Some(v) = self.voice.as_deref_mut() {
            v.cancel_all(self.out);
        }
    }
    fn hangup(&mut self) {
        *self.hangup = true;
    }
    fn set_timer(&mut self, after: Duration) {
        *self.timer = Some(self.now + after);
    }
    fn cancel_timer(&mut self) {
        *self.timer = None;
    }
    fn now(&self) -> Instant {
        self.now
    }
    fn say(&mut self, text: &str) -> Option<u64> {
        let voice = self.voice.as_deref_mut()?;
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let stream = self.playout.open_stream();
        voice.say(text, stream, self.now, self.out);
        Some(stream)
    }
    fn listen(&mut self) {
        if let Some(v) = self.voice.as_deref_mut() {
            v.listen(self.now);
        }
    }
    fn request(&mut self, request: crate::dialogue::Request) {
        self.out.push_back(Output::Request {
            call: self.call,
            request,
        });
    }
    fn note(&mut self, note: crate::dialogue::Note) {
        self.out.push_back(Output::Note {
            call: self.call,
            note,
        });
    }
    fn prosody(&self, text: &str) -> Option<crate::nlu::Prosody> {
        self.voice.as_deref().and_then(|v| v.prosody(text))
    }
}
