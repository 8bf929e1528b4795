//! Readiness for `/readyz`: whether this process should be sent calls now.
//!
//! `serve` raises each flag as the part it names comes up (SIP socket
//! bound, store open, dialplan loaded, speech engines loaded when the
//! dialplan needs them, media workers running) and sets `draining` on
//! shutdown, so a load balancer stops sending calls before the process
//! hangs up the ones it has. Liveness (`/healthz`) is not decided here.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use serde_json::{json, Value};

/// The start-up checks and the draining flag, shared by `serve` and the
/// HTTP API. All flags start false; speech is not needed until
/// [`Readiness::require_speech`] says so.
#[derive(Debug, Default)]
pub struct Readiness {
    sip_bound: AtomicBool,
    store_open: AtomicBool,
    dialplan_loaded: AtomicBool,
    speech_needed: AtomicBool,
    speech_loaded: AtomicBool,
    media_workers_running: AtomicBool,
    draining: AtomicBool,
}

impl Readiness {
    /// Nothing up yet.
    pub fn new() -> Arc<Readiness> {
        Arc::new(Readiness::default())
    }

    /// The SIP socket is bound (or no longer is).
    pub fn set_sip_bound(&self, up: bool) {
        self.sip_bound.store(up, SeqCst);
    }

    /// The store is open and writable.
    pub fn set_store_open(&self, up: bool) {
        self.store_open.store(up, SeqCst);
    }

    /// The dialplan is loaded and valid.
    pub fn set_dialplan_loaded(&self, up: bool) {
        self.dialplan_loaded.store(up, SeqCst);
    }

    /// The dialplan listens and speaks, so the speech engines must be
    /// loaded before calls come.
    pub fn require_speech(&self, needed: bool) {
        self.speech_needed.store(needed, SeqCst);
    }

    /// The recognizer and the voice are loaded.
    pub fn set_speech_loaded(&self, up: bool) {
        self.speech_loaded.store(up, SeqCst);
    }

    /// The media worker threads run.
    pub fn set_media_workers_running(&self, up: bool) {
        self.media_workers_running.store(up, SeqCst);
    }

    /// Shutting down: no new calls, whatever the other checks say.
    pub fn set_draining(&self, draining: bool) {
        self.draining.store(draining, SeqCst);
    }

    /// Whether the process takes calls, and the body of `/readyz`:
    ///
    /// ```json
    /// {"ready": false, "draining": false,
    ///  "checks": {"sip_bound": true, "store_open": true, "dialplan_loaded": true,
    ///             "speech_loaded": "not needed", "media_workers_running": false}}
    /// ```
    ///
    /// `speech_loaded` is `"not needed"` for dialplans without speech.
    pub fn check(&self) -> (bool, Value) {
        let flag = |f: &AtomicBool| f.load(SeqCst);
        let speech_needed = flag(&self.speech_needed);
        let speech_ok = !speech_needed || flag(&self.speech_loaded);
        let draining = flag(&self.draining);
        let ready = flag(&self.sip_bound)
            && flag(&self.store_open)
            && flag(&self.dialplan_loaded)
            && speech_ok
            && flag(&self.media_workers_running)
            && !draining;
        let speech = if speech_needed {
            json!(flag(&self.speech_loaded))
        } else {
            json!("not needed")
        };
        let body = json!({
            "ready": ready,
            "draining": draining,
            "checks": {
                "sip_bound": flag(&self.sip_bound),
                "store_open": flag(&self.store_open),
                "dialplan_loaded": flag(&self.dialplan_loaded),
                "speech_loaded": speech,
                "media_workers_running": flag(&self.media_workers_running),
            },
        });
        (ready, body)
    }
}

/// What `/readyz` asks of the process beyond the API's own checks.
impl crate::api::Readiness for Readiness {
    fn check(&self) -> (bool, Value) {
        Readiness::check(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_up() -> Arc<Readiness> {
        let r = Readiness::new();
        r.set_sip_bound(true);
        r.set_store_open(true);
        r.set_dialplan_loaded(true);
        r.set_media_workers_running(true);
        r
    }

    #[test]
    fn nothing_is_ready_at_first() {
        let (ready, body) = Readiness::new().check();
        assert!(!ready);
        assert_eq!(body["ready"], json!(false));
        assert_eq!(body["checks"]["sip_bound"], json!(false));
        assert_eq!(body["checks"]["speech_loaded"], json!("not needed"));
    }

    #[test]
    fn ready_when_every_needed_part_is_up() {
        let r = all_up();
        let (ready, body) = r.check();
        assert!(ready, "{body}");
        assert_eq!(body["ready"], json!(true));
        r.set_store_open(false);
        let (ready, body) = r.check();
        assert!(!ready);
        assert_eq!(body["checks"]["store_open"], json!(false));
    }

    #[test]
    fn speech_counts_only_when_required() {
        let r = all_up();
        r.require_speech(true);
        let (ready, body) = r.check();
        assert!(!ready);
        assert_eq!(body["checks"]["speech_loaded"], json!(false));
        r.set_speech_loaded(true);
        assert!(r.check().0);
    }

    #[test]
    fn the_api_sees_the_same_check() {
        let r = all_up();
        let api: Arc<dyn crate::api::Readiness> = r.clone();
        assert!(api.check().0);
        r.set_draining(true);
        assert_eq!(api.check(), r.check());
        assert!(!api.check().0);
    }

    #[test]
    fn draining_overrides_everything() {
        let r = all_up();
        r.set_draining(true);
        let (ready, body) = r.check();
        assert!(!ready);
        assert_eq!(body["draining"], json!(true));
        assert_eq!(body["checks"]["sip_bound"], json!(true));
    }
}
