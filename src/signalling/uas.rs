//! The user-agent server: turns SIP transactions and dialog states (from
//! rsipstack) into engine inputs, and the engine's SIP actions back into
//! responses and requests.
//!
//! Out-of-dialog requests: INVITE creates a call (after the admission checks:
//! content type, capacity, an RTP port pair); OPTIONS is answered 200 with
//! our capabilities (RFC 3261 §11); other known methods get 405 with Allow;
//! unknown methods 501 (§8.2.1); requests naming a dialog we do not have get
//! 481 (§12.2.2). REGISTER goes to the [`Registrar`] when agents are
//! configured (405 otherwise). In-dialog requests are handled by the dialog;
//! NOTIFYs of a transfer's `refer` subscription report its progress
//! ([`super::refer`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use kefu_core::engine::{SignalAction, SignalEvent};
use kefu_core::sdp::LocalMedia;
use kefu_core::CallId;
use rsipstack::dialog::dialog::{
    DialogState, DialogStateReceiver, DialogStateSender, TerminatedReason, TransactionHandle,
};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::refer::{ReferProgress, TransferRequest};
use super::registrar::Registrar;

use crate::runtime::media::{FromMedia, MediaHandle, ToMedia};
use crate::runtime::metrics::Metrics;
use crate::runtime::recorder;
use kefu_core::engine::CallInfo;

/// Methods kefu answers (Allow header); REGISTER is added when kefu is the
/// registrar of configured agents ([`ALLOW_REGISTER`]).
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY";

/// The Allow header value when agents may register.
pub const ALLOW_REGISTER: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY, REGISTER";

/// Ring time of transfers that do not say (dialplan transfers to a URI).
pub const DEFAULT_RING_SECS: u32 = 30;

/// Time past `ring_secs` a final NOTIFY may take before the transfer fails.
pub(super) const NOTIFY_MARGIN_SECS: u64 = 5;

/// Methods that reach the SIP stack; every other method is answered 501 by
/// the wire check. Known methods kefu does not serve get 405 here.
pub const METHODS: &[&str] = &[
    "INVITE",
    "ACK",
    "CANCEL",
    "BYE",
    "OPTIONS",
    "INFO",
    "UPDATE",
    "PRACK",
    "REFER",
    "NOTIFY",
    "SUBSCRIBE",
    "PUBLISH",
    "MESSAGE",
    "REGISTER",
];

pub(super) struct CallEntry {
    pub(super) dialog: rsipstack::dialog::invite_dialog::InviteDialog,
    reoffer: Option<TransactionHandle>,
    /// kefu's Contact URI in this dialog (the REFER's Referred-By).
    pub(super) contact: String,
    /// The transfer in progress: its target and a number that tells it
    /// from an earlier one (for its timer).
    pub(super) refer: Option<(String, u64)>,
}

/// Where the outcome of transfers and the agents' presence are reported.
#[derive(Debug, Default, Clone)]
pub struct Hooks {
    /// Transfer progress of each call.
    pub progress: Option<UnboundedSender<(CallId, ReferProgress)>>,
    /// Agents coming online and going offline.
    pub presence: Option<UnboundedSender<super::registrar::Binding>>,
}

/// Shared state of the user-agent server.
pub struct Uas {
    pub(super) dialogs: Arc<DialogLayer>,
    pub(super) state_tx: DialogStateSender,
    pub(super) media: MediaHandle,
    metrics: Arc<Metrics>,
    pub(super) calls: Mutex<HashMap<CallId, CallEntry>>,
    by_dialog: Mutex<HashMap<String, CallId>>,
    pub(super) next_id: AtomicU64,
    closing: std::sync::atomic::AtomicBool,
    max_calls: usize,
    retry_after: u32,
    advertised: Option<IpAddr>,
    contact_port: u16,
    server: String,
    pub(super) log_pii: bool,
    registrar: Option<Arc<Registrar>>,
    pub(super) progress: Option<UnboundedSender<(CallId, ReferProgress)>>,
}

impl Uas {
    /// A server for `dialogs`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dialogs: Arc<DialogLayer>,
        state_tx: DialogStateSender,
        media: MediaHandle,
        metrics: Arc<Metrics>,
        max_calls: usize,
        retry_after: u32,
        advertised: Option<IpAddr>,
        contact_port: u16,
        server: String,
        log_pii: bool,
        registrar: Option<Arc<Registrar>>,
        progress: Option<UnboundedSender<(CallId, ReferProgress)>>,
    ) -> Arc<Uas> {
        Arc::new(Uas {
            dialogs,
            state_tx,
            media,
            metrics,
            calls: Mutex::new(HashMap::new()),
            by_dialog: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            closing: std::sync::atomic::AtomicBool::new(false),
            max_calls,
            retry_after,
            advertised,
            contact_port,
            server,
            log_pii,
            registrar,
            progress,
        })
    }

    fn allow(&self) -> &'static str {
        if self.registrar.is_some() {
            ALLOW_REGISTER
        } else {
            ALLOW
        }
    }

    fn active(&self) -> usize {
        self.calls.lock().map(|c| c.len()).unwrap_or(0)
    }

    fn call_of(&self, dialog_id: &str) -> Option<CallId> {
        self.by_dialog.lock().ok()?.get(dialog_id).copied()
    }

    /// Handles one new server transaction.
    pub async fn on_transaction(self: Arc<Self>, mut tx: Transaction) {
        let has_to_tag = tx
            .original
            .to_header()
            .ok()
            .and_then(|t| t.tag().ok().flatten())
            .is_some();
        if has_to_tag {
            return self.in_dialog(tx).await;
        }
        let res = match tx.original.method {
            Method::Invite => return self.on_invite(tx).await,
            Method::Options => {
                tx.reply_with(StatusCode::OK, self.capabilities(), None)
                    .await
            }
            Method::Ack => Ok(()),
            Method::Bye
            | Method::Info
            | Method::Update
            | Method::Refer
            | Method::Notify
            | Method::PRack => tx.reply(StatusCode::CallTransactionDoesNotExist).await,
            Method::Register if self.registrar.is_some() => {
                if let Some(r) = &self.registrar {
                    super::registrar::answer(r, &mut tx).await;
                }
                Ok(())
            }
            Method::Register | Method::Message | Method::Subscribe | Method::Publish => {
                tx.reply_with(
                    StatusCode::MethodNotAllowed,
                    vec![Header::Other("Allow".into(), self.allow().into())],
                    None,
                )
                .await
            }
            _ => {
                tx.reply_with(
                    StatusCode::NotImplemented,
                    vec![Header::Other("Allow".into(), self.allow().into())],
                    None,
                )
                .await
            }
        };
        if let Err(e) = res {
            tracing::debug!(error = %e, "reply failed");
        }
    }

    fn capabilities(&self) -> Vec<Header> {
        vec![
            Header::Other("Allow".into(), self.allow().into()),
            Header::Other("Accept".into(), "application/sdp".into()),
            Header::Other("Server".into(), self.server.clone()),
        ]
    }

    async fn in_dialog(self: Arc<Self>, mut tx: Transaction) {
        match self.dialogs.match_dialog(&tx) {
            Some(mut dialog) => {
                if let Err(e) = dialog.handle(&mut tx).await {
                    tracing::debug!(error = %e, "in-dialog request failed");
                }
            }
            None if tx.original.method == Method::Ack => {}
            None => {
                let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
            }
        }
    }

    async fn on_invite(self: Arc<Self>, mut tx: Transaction) {
        if let Some((status, headers)) = self.admission(&tx) {
            if status == StatusCode::ServiceUnavailable {
                self.metrics.calls_rejected_busy.fetch_add(1, Relaxed);
            }
            let _ = tx.reply_with(status, headers, None).await;
            return;
        }
        let Some(ports) = self.media.pool.take() else {
            self.metrics.calls_rejected_busy.fetch_add(1, Relaxed);
            let _ = tx
                .reply_with(StatusCode::ServiceUnavailable, self.retry_after(), None)
                .await;
            return;
        };
        let local_ip = self.local_ip(&tx);
        let contact_uri = format!(
            "sip:kefu@{}",
            rsipstack::sip::HostWithPort::from(std::net::SocketAddr::new(
                local_ip,
                self.contact_port
            ))
        );
        let contact = rsipstack::sip::Uri::try_from(contact_uri.as_str()).ok();
        let mut dialog = match self.dialogs.get_or_create_server_invite(
            &tx,
            self.state_tx.clone(),
            None,
            contact,
        ) {
            Ok(d) => d,
            Err(e) => {
                self.media.pool.give(ports);
                tracing::debug!(error = %e, "cannot create dialog");
                let _ = tx.reply(StatusCode::ServerInternalError).await;
                return;
            }
        };
        let call = CallId(self.next_id.fetch_add(1, Relaxed));
        let dialog_id = dialog.id().to_string();
        let sip_call_id = tx
            .original
            .call_id_header()
            .map(|c| c.value().to_string())
            .unwrap_or_default();
        if let Ok(mut m) = self.by_dialog.lock() {
            m.insert(dialog_id, call);
        }
        if let Ok(mut m) = self.calls.lock() {
            m.insert(
                call,
                CallEntry {
                    dialog: dialog.clone(),
                    reoffer: None,
                    contact: contact_uri,
                    refer: None,
                },
            );
        }
        self.metrics.call_offered();
        let caller = tx
            .original
            .from_header()
            .map(|h| user_part(h.value()))
            .unwrap_or_default();
        let called = user_part(&tx.original.uri.to_string());
        let span = tracing::info_span!("call", id = %call);
        span.in_scope(|| {
            tracing::info!(
                rtp_port = ports.port,
                from = %crate::logging::phone(&caller, self.log_pii),
                to = %crate::logging::phone(&called, self.log_pii),
                "offered"
            )
        });
        let local = LocalMedia {
            address: local_ip,
            rtp_port: ports.port,
            session_id: call.0 ^ 0x6b65_6675,
            session_version: 1,
            username: "kefu".into(),
        };
        let sent = self.media.send(
            call,
            ToMedia::Offer {
                call,
                sdp: tx.original.body.clone(),
                local,
                record_as: recorder::file_name(call, &sip_call_id),
                sip_call_id: sip_call_id.clone(),
                ports,
                info: CallInfo {
                    caller,
                    called,
                    local_time: Some(crate::dialplan::flow::local_now()),
                    // Until agent routing tracks who is free, registered
                    // agents count as idle; without any, dialplans keep
                    // callers in the bot (their `on_busy`).
                    agents_idle: Some(self.registrar.as_ref().map_or(0, |r| r.online())),
                },
            },
        );
        if !sent {
            let _ = dialog.reject(Some(StatusCode::ServerInternalError), None);
        }
        if let Err(e) = dialog.handle(&mut tx).await {
            tracing::debug!(call = %call, error = %e, "INVITE transaction ended with error");
        }
    }

    fn retry_after(&self) -> Vec<Header> {
        vec![Header::Other(
            "Retry-After".into(),
            self.retry_after.to_string(),
        )]
    }

    /// Checks that come before any resource is taken.
    fn admission(&self, tx: &Transaction) -> Option<(StatusCode, Vec<Header>)> {
        let req = &tx.original;
        if self.closing.load(Relaxed) || self.active() >= self.max_calls {
            return Some((StatusCode::ServiceUnavailable, self.retry_after()));
        }
        let accept_sdp = vec![Header::Other("Accept".into(), "application/sdp".into())];
        if req.body.is_empty() {
            // A late offer (RFC 3264 §4) is not supported yet: say so.
            return Some((
                StatusCode::NotAcceptableHere,
                vec![Header::Other(
                    "Warning".into(),
                    "399 kefu \"an SDP offer is required in the INVITE\"".into(),
                )],
            ));
        }
        let ctype = req
            .header_value("Content-Type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !ctype.starts_with("application/sdp") {
            return Some((StatusCode::UnsupportedMediaType, accept_sdp));
        }
        if let Some(accept) = req.header_value("Accept") {
            let a = accept.to_ascii_lowercase();
            if !a.trim().is_empty()
                && !a.contains("application/sdp")
                && !a.contains("*/*")
                && !a.contains("application/*")
            {
                return Some((StatusCode::NotAcceptable, accept_sdp));
            }
        }
        None
    }

    fn local_ip(&self, tx: &Transaction) -> IpAddr {
        if let Some(ip) = self.advertised {
            return ip;
        }
        if let rsipstack::sip::Host::IpAddr(ip) = &tx.original.uri.host_with_port.host {
            if !ip.is_unspecified() {
                return *ip;
            }
        }
        [127, 0, 0, 1].into()
    }

    /// Handles dialog state changes until the layer closes.
    pub async fn run_states(self: Arc<Self>, mut rx: DialogStateReceiver) {
        while let Some(state) = rx.recv().await {
            match state {
                DialogState::Updated(id, req, handle) if req.method == Method::Invite => {
                    let Some(call) = self.call_of(&id.to_string()) else {
                        let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
                        continue;
                    };
                    if let Ok(mut m) = self.calls.lock() {
                        if let Some(e) = m.get_mut(&call) {
                            e.reoffer = Some(handle);
                        }
                    }
                    self.media.send(
                        call,
                        ToMedia::Signal {
                            call,
                            event: SignalEvent::Reoffer {
                                sdp: req.body.clone(),
                            },
                        },
                    );
                }
                DialogState::Updated(_, _, handle)
                | DialogState::Info(_, _, handle)
                | DialogState::Options(_, _, handle) => {
                    let _ = handle
                        .respond(StatusCode::OK, Some(self.capabilities()), None)
                        .await;
                }
                DialogState::Notify(id, req, handle) => {
                    let call = self.call_of(&id.to_string());
                    let status = self.on_notify(call, &req);
                    let _ = handle.reply(StatusCode::from(status)).await;
                }
                DialogState::Refer(_, _, handle)
                | DialogState::Message(_, _, handle)
                | DialogState::Publish(_, _, handle) => {
                    let _ = handle
                        .respond(
                            StatusCode::MethodNotAllowed,
                            Some(vec![Header::Other("Allow".into(), self.allow().into())]),
                            None,
                        )
                        .await;
                }
                DialogState::Terminated(id, reason) => {
                    let key = id.to_string();
                    self.dialogs.remove_dialog(&id);
                    let Some(call) = self.call_of(&key) else {
                        continue;
                    };
                    let event = match reason {
                        TerminatedReason::UacCancel => SignalEvent::Cancelled,
                        TerminatedReason::UacBye => SignalEvent::Bye,
                        TerminatedReason::UasBye | TerminatedReason::UasDecline => continue,
                        _ => SignalEvent::Failed,
                    };
                    self.media.send(call, ToMedia::Signal { call, event });
                }
                _ => {}
            }
        }
    }

    /// Performs the engine's SIP actions until the media side closes.
    pub async fn run_actions(self: Arc<Self>, mut rx: UnboundedReceiver<FromMedia>) {
        while let Some(msg) = rx.recv().await {
            match msg {
                FromMedia::Action { call, action } => self.act(call, action).await,
                FromMedia::Ended { call, .. } => self.forget(call),
                FromMedia::Transfer { call, target } => {
                    let request = TransferRequest {
                        target,
                        handoff: None,
                        ring_secs: DEFAULT_RING_SECS,
                    };
                    tokio::spawn(Arc::clone(&self).transfer(call, request));
                }
            }
        }
    }

    fn dialog(&self, call: CallId) -> Option<rsipstack::dialog::invite_dialog::InviteDialog> {
        self.calls.lock().ok()?.get(&call).map(|e| e.dialog.clone())
    }

    async fn act(&self, call: CallId, action: SignalAction) {
        let Some(dialog) = self.dialog(call) else {
            return;
        };
        let sdp_type = || {
            vec![Header::Other(
                "Content-Type".into(),
                "application/sdp".into(),
            )]
        };
        let res = match action {
            SignalAction::Ringing => dialog.ringing(None, None),
            SignalAction::Answer { sdp } => dialog.accept(Some(sdp_type()), Some(sdp.into_bytes())),
            SignalAction::Reject { status, reason } => {
                dialog.reject(Some(StatusCode::from(status)), Some(reason))
            }
            SignalAction::ReofferAnswer { sdp } => {
                if let Some(h) = self.take_reoffer(call) {
                    let _ = h
                        .respond(StatusCode::OK, Some(sdp_type()), Some(sdp.into_bytes()))
                        .await;
                }
                Ok(())
            }
            SignalAction::ReofferReject { status, .. } => {
                if let Some(h) = self.take_reoffer(call) {
                    let _ = h.reply(StatusCode::from(status)).await;
                }
                Ok(())
            }
            SignalAction::Hangup => {
                tokio::spawn(async move {
                    if let Err(e) = dialog.bye().await {
                        tracing::debug!(call = %call, error = %e, "BYE failed");
                    }
                });
                Ok(())
            }
        };
        if let Err(e) = res {
            tracing::debug!(call = %call, error = %e, "SIP action failed");
        }
    }

    /// Asks every call to end (kefu sends BYE, or 480 to calls still
    /// ringing) and stops admitting new ones; returns how many were asked.
    pub fn hangup_all(&self) -> usize {
        self.closing.store(true, Relaxed);
        let calls: Vec<CallId> = self
            .calls
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        for call in &calls {
            self.media.send(
                *call,
                ToMedia::Command {
                    call: *call,
                    command: kefu_core::engine::Command::Hangup,
                },
            );
        }
        calls.len()
    }

    /// Calls still known to signalling.
    pub fn calls(&self) -> usize {
        self.active()
    }

    fn take_reoffer(&self, call: CallId) -> Option<TransactionHandle> {
        self.calls.lock().ok()?.get_mut(&call)?.reoffer.take()
    }

    fn forget(&self, call: CallId) {
        let entry = self.calls.lock().ok().and_then(|mut m| m.remove(&call));
        if let Some(e) = entry {
            let id = e.dialog.id();
            if let Ok(mut m) = self.by_dialog.lock() {
                m.remove(&id.to_string());
            }
            // The dialog itself leaves the dialog layer on its Terminated
            // state (BYE either way, CANCEL, rejection, ACK timeout).
        }
    }
}

/// The user part of a SIP/tel URI inside a header value or URI
/// (`"Ann" <sip:+8613800000000@host>;tag=1` -> `+8613800000000`).
pub(super) fn user_part(value: &str) -> String {
    let start = ["sips:", "sip:", "tel:"]
        .iter()
        .find_map(|s| value.find(s).map(|i| i + s.len()));
    let Some(start) = start else {
        return String::new();
    };
    value[start..]
        .split(['@', ';', '>', '?'])
        .next()
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
mod user_part_tests {
    #[test]
    fn user_parts() {
        assert_eq!(
            super::user_part("\"A\" <sip:+8613800000000@h>;tag=1"),
            "+8613800000000"
        );
        assert_eq!(super::user_part("sip:400@10.0.0.1:5060"), "400");
        assert_eq!(super::user_part("<tel:+1555;phone-context=x>"), "+1555");
        assert_eq!(super::user_part("garbage"), "");
    }
}
