//! Blind transfer by REFER (RFC 3515): the `Refer-To` kefu sends, and the
//! progress the transferee reports back in NOTIFYs of the implicit `refer`
//! subscription (RFC 3515 §2.4.4-5, `message/sipfrag` bodies, RFC 3420).
//!
//! The handoff id travels in URI headers of the Refer-To (RFC 3261
//! §19.1.1): `X-Kefu-Handoff=ID` and `User-to-User=<hex>;encoding=hex`
//! (RFC 7433), so the transferee's INVITE to the agent carries both and the
//! agent's desk can find the caller's handoff. Header values are
//! %-escaped, the `;` and `=` inside User-to-User included.
//!
//! [`Uas::transfer`] sends the REFER and ends the transfer when the final
//! NOTIFY comes, the REFER is refused, or `ring_secs` (+ a margin) pass;
//! only then does the call's record become transferred (and kefu hangs up
//! its leg) or the caller goes back to the dialogue.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use kefu_core::CallId;
use rsipstack::sip::Header;

use super::uas::{Uas, NOTIFY_MARGIN_SECS};
use crate::runtime::media::ToMedia;

/// What the shell asks signalling to do for a blind transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    /// A `sip:`/`sips:` URI, or `queue:NAME` (needs agent routing).
    pub target: String,
    /// The handoff id, carried to the agent in the transferee's INVITE.
    pub handoff: Option<String>,
    /// How long the agent may ring before the transfer counts as failed.
    pub ring_secs: u32,
}

/// How a transfer is going, from the REFER's answer and the NOTIFYs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferProgress {
    /// The REFER was accepted (2xx).
    Accepted,
    /// The transferee is trying (sipfrag 100).
    Trying,
    /// The agent's phone rings (sipfrag 18x).
    Ringing,
    /// The agent answered (sipfrag 2xx): the caller is with the agent.
    Answered,
    /// The transfer failed: the status (0 when there was none) and why.
    Failed(u16, String),
}

impl ReferProgress {
    /// Whether nothing more follows.
    pub fn is_final(&self) -> bool {
        matches!(self, ReferProgress::Answered | ReferProgress::Failed(..))
    }
}

/// The Refer-To value (with `<…>`) for `target`, carrying `handoff` when
/// given. `target` may already have URI headers; ours are appended.
pub fn refer_to(target: &str, handoff: Option<&str>) -> String {
    let Some(id) = handoff else {
        return format!("<{target}>");
    };
    let uui = format!("{};encoding=hex", hex::encode(id.as_bytes()));
    let sep = if target.contains('?') { '&' } else { '?' };
    format!(
        "<{target}{sep}X-Kefu-Handoff={}&User-to-User={}>",
        escape_header_value(id),
        escape_header_value(&uui)
    )
}

/// %-escapes a URI header value (RFC 3261 §25.1: `hvalue = *( hnv-unreserved
/// / unreserved / escaped )`).
pub fn escape_header_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        let keep =
            b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) || b"[]/?:+$".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Why a NOTIFY could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The Event is not `refer` (RFC 6665 §4.2.2: 489 Bad Event).
    #[error("event package {0:?} is not refer")]
    BadEvent(String),
    /// The body is not a sipfrag status line (400).
    #[error("malformed sipfrag: {0}")]
    Body(String),
}

impl NotifyError {
    /// The SIP status to answer the NOTIFY with.
    pub fn status(&self) -> u16 {
        match self {
            NotifyError::BadEvent(_) => 489,
            NotifyError::Body(_) => 400,
        }
    }
}

/// Reads a NOTIFY of the refer subscription: its `Event` value, content
/// type and body, into the status line's code and reason.
pub fn read_notify(
    event: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(u16, String), NotifyError> {
    let package = event
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if package != "refer" {
        return Err(NotifyError::BadEvent(package));
    }
    let ctype = content_type.unwrap_or("").to_ascii_lowercase();
    if !ctype.trim_start().starts_with("message/sipfrag") {
        return Err(NotifyError::Body(format!("content type {ctype:?}")));
    }
    sipfrag_status(body)
}

/// The status code and reason of a sipfrag body's first line
/// (`SIP/2.0 180 Ringing`).
pub fn sipfrag_status(body: &[u8]) -> Result<(u16, String), NotifyError> {
    let text = std::str::from_utf8(body).map_err(|_| NotifyError::Body("not UTF-8".into()))?;
    let line = text.lines().next().unwrap_or("").trim();
    let mut parts = line.splitn(3, ' ');
    if parts.next() != Some("SIP/2.0") {
        return Err(NotifyError::Body(format!("status line {line:?}")));
    }
    let code = parts
        .next()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (100..700).contains(c))
        .ok_or_else(|| NotifyError::Body(format!("status line {line:?}")))?;
    Ok((code, parts.next().unwrap_or("").trim().to_string()))
}

/// The progress a sipfrag status means.
pub fn progress_of(code: u16, reason: &str) -> ReferProgress {
    match code {
        100..=179 => ReferProgress::Trying,
        180..=199 => ReferProgress::Ringing,
        200..=299 => ReferProgress::Answered,
        _ => ReferProgress::Failed(code, reason.to_string()),
    }
}

/// The shell side: REFER out, NOTIFYs in, and what their outcome does to
/// the call.
impl Uas {
    /// Blind transfer (RFC 3515): REFERs the caller to `req.target` and
    /// follows the NOTIFYs until the agent answers or the transfer fails.
    /// Queue targets need agent routing to pick an agent first: they fail at
    /// once. A failed transfer returns the caller to the dialogue (its
    /// `on_busy`); an answered one ends kefu's leg.
    pub async fn transfer(self: Arc<Self>, call: CallId, req: TransferRequest) {
        if !(req.target.starts_with("sip:") || req.target.starts_with("sips:")) {
            let why = format!("no agent routing for `{}`", req.target);
            return self.ended(call, String::new(), ReferProgress::Failed(0, why));
        }
        let Some((dialog, contact, generation)) = self.start_refer(call, &req.target) else {
            return;
        };
        // A dialplan may transfer as soon as the call is answered, before
        // the caller's ACK: the stack sends in-dialog requests only once the
        // dialog is confirmed (RFC 3261 §13.3.1.4), so wait for it.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while !dialog.state().is_confirmed()
            && !dialog.state().is_terminated()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tracing::info!(
            call = %call,
            target = %crate::logging::phone(&req.target, self.log_pii),
            handoff = req.handoff.as_deref().unwrap_or("-"),
            "REFER sent"
        );
        let refer_to = refer_to(&req.target, req.handoff.as_deref());
        let headers = vec![Header::Other("Referred-By".into(), format!("<{contact}>"))];
        let outcome = match dialog.refer(refer_to, Some(headers), None).await {
            Ok(Some(r)) if (200..300).contains(&u16::from(r.status_code.clone())) => {
                ReferProgress::Accepted
            }
            Ok(Some(r)) => {
                let code = u16::from(r.status_code.clone());
                ReferProgress::Failed(code, format!("REFER answered {}", r.status_code))
            }
            Ok(None) => ReferProgress::Failed(0, "REFER got no answer".into()),
            Err(e) => ReferProgress::Failed(0, format!("REFER failed: {e}")),
        };
        if outcome != ReferProgress::Accepted {
            return self.finish_with(call, Some(generation), outcome);
        }
        self.report(call, ReferProgress::Accepted);
        let wait = u64::from(req.ring_secs) + NOTIFY_MARGIN_SECS;
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        let no_answer = ReferProgress::Failed(408, "no answer".into());
        self.finish_with(call, Some(generation), no_answer);
    }

    /// Marks a transfer of `call` in progress; returns its dialog, kefu's
    /// contact and the transfer's number.
    fn start_refer(
        &self,
        call: CallId,
        target: &str,
    ) -> Option<(rsipstack::dialog::invite_dialog::InviteDialog, String, u64)> {
        let mut calls = self.calls.lock().ok()?;
        let entry = calls.get_mut(&call)?;
        let generation = self.next_id.fetch_add(1, Relaxed);
        entry.refer = Some((target.to_string(), generation));
        Some((entry.dialog.clone(), entry.contact.clone(), generation))
    }

    /// Answers a NOTIFY in `call`'s dialog; returns the status to reply.
    pub(super) fn on_notify(&self, call: Option<CallId>, req: &rsipstack::sip::Request) -> u16 {
        use rsipstack::sip::prelude::HeadersExt as _;
        let pending = call.filter(|c| {
            self.calls
                .lock()
                .ok()
                .and_then(|m| m.get(c).map(|e| e.refer.is_some()))
                .unwrap_or(false)
        });
        let Some(call) = pending else {
            // RFC 6665 §4.1.3: no subscription matches.
            return 481;
        };
        let read = read_notify(
            req.header_value("Event").as_deref(),
            req.header_value("Content-Type").as_deref(),
            &req.body,
        );
        match read {
            Ok((code, reason)) => {
                let progress = progress_of(code, &reason);
                if progress.is_final() {
                    self.finish_with(call, None, progress);
                } else {
                    tracing::info!(call = %call, status = code, "transfer progress");
                    self.report(call, progress);
                }
                200
            }
            Err(e) => {
                tracing::warn!(call = %call, error = %e, "NOTIFY refused");
                e.status()
            }
        }
    }

    /// Ends `call`'s transfer with `progress` (if it is still the transfer
    /// numbered `generation`, or any with `None`): an answered transfer
    /// marks the call transferred and hangs up kefu's leg; a failed one
    /// returns the caller to the dialogue.
    fn finish_with(&self, call: CallId, generation: Option<u64>, progress: ReferProgress) {
        let target = match self.calls.lock() {
            Ok(mut m) => match m.get_mut(&call) {
                Some(e) if generation.is_none() || e.refer.as_ref().map(|r| r.1) == generation => {
                    e.refer.take().map(|r| r.0)
                }
                _ => None,
            },
            Err(_) => None,
        };
        if let Some(target) = target {
            self.ended(call, target, progress);
        }
    }

    /// Acts on the end of a transfer of `call` to `target`.
    fn ended(&self, call: CallId, target: String, progress: ReferProgress) {
        match &progress {
            ReferProgress::Answered => {
                tracing::info!(call = %call, "transfer answered");
                self.media.send(call, ToMedia::Transferred { call, target });
                self.media.send(
                    call,
                    ToMedia::Command {
                        call,
                        command: kefu_core::engine::Command::Hangup,
                    },
                );
            }
            ReferProgress::Failed(_, why) => {
                tracing::info!(call = %call, why = %why, "transfer failed");
                self.media.send(
                    call,
                    ToMedia::Reply {
                        call,
                        reply: kefu_core::dialogue::Reply::TransferFailed(why.clone()),
                    },
                );
            }
            _ => return,
        }
        self.report(call, progress);
    }

    fn report(&self, call: CallId, progress: ReferProgress) {
        if let Some(tx) = &self.progress {
            let _ = tx.send((call, progress));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refer_to_without_handoff_is_the_bare_uri() {
        assert_eq!(refer_to("sip:alice@10.0.0.5", None), "<sip:alice@10.0.0.5>");
    }

    #[test]
    fn refer_to_escapes_handoff_headers() {
        let r = refer_to("sip:alice@10.0.0.5:5070", Some("h-42 x&y"));
        assert_eq!(
            r,
            "<sip:alice@10.0.0.5:5070?X-Kefu-Handoff=h-42%20x%26y\
             &User-to-User=682d343220782679%3Bencoding%3Dhex>"
        );
        let r = refer_to("sip:a@h?Foo=1", Some("7"));
        assert!(r.starts_with("<sip:a@h?Foo=1&X-Kefu-Handoff=7&"), "{r}");
    }

    #[test]
    fn escape_keeps_unreserved() {
        assert_eq!(
            escape_header_value("a-Z_0.~*'()[]/?:+$"),
            "a-Z_0.~*'()[]/?:+$"
        );
        assert_eq!(
            escape_header_value("é;=&<>\"%"),
            "%C3%A9%3B%3D%26%3C%3E%22%25"
        );
    }

    #[test]
    fn reads_sipfrag_notifies() {
        let ok = read_notify(
            Some("refer;id=3"),
            Some("message/sipfrag;version=2.0"),
            b"SIP/2.0 180 Ringing\r\n",
        );
        assert_eq!(ok, Ok((180, "Ringing".into())));
        assert_eq!(progress_of(180, "Ringing"), ReferProgress::Ringing);
        assert_eq!(progress_of(100, ""), ReferProgress::Trying);
        assert_eq!(progress_of(200, "OK"), ReferProgress::Answered);
        assert_eq!(
            progress_of(486, "Busy Here"),
            ReferProgress::Failed(486, "Busy Here".into())
        );
        assert_eq!(sipfrag_status(b"SIP/2.0 503\r\n"), Ok((503, String::new())));
    }

    #[test]
    fn refuses_bad_notifies() {
        let e = read_notify(Some("presence"), Some("message/sipfrag"), b"SIP/2.0 200 OK");
        assert_eq!(e.map_err(|e| e.status()), Err(489));
        let e = read_notify(None, Some("message/sipfrag"), b"SIP/2.0 200 OK");
        assert_eq!(e.map_err(|e| e.status()), Err(489));
        for body in [
            &b"HTTP/1.1 200 OK"[..],
            b"SIP/2.0 abc",
            b"SIP/2.0 99 X",
            b"",
            b"\xff\xfe",
        ] {
            let e = read_notify(Some("refer"), Some("message/sipfrag"), body);
            assert_eq!(e.map_err(|e| e.status()), Err(400), "{body:?}");
        }
        let e = read_notify(Some("refer"), Some("text/plain"), b"SIP/2.0 200 OK");
        assert_eq!(e.map_err(|e| e.status()), Err(400));
    }
}
