//! SIP signalling: the only place that knows rsipstack.
//!
//! UDP datagrams pass kefu's wire check ([`check`], [`reply`]) before the
//! stack parses them ([`guard`]); TCP is read by the stack's own framing.
//! [`uas`] turns transactions and dialog states into engine inputs and the
//! engine's SIP actions back into messages. Agents register with kefu
//! ([`registrar`], authenticated by [`digest`]); callers are handed to them
//! by REFER ([`refer`]).

pub mod check;
pub mod digest;
pub mod guard;
pub mod headers;
pub mod normalize;
pub mod refer;
pub mod registrar;
pub mod reply;
pub mod uas;

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{TcpListenerConnection, TransportLayer};
use rsipstack::EndpointBuilder;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::runtime::media::{FromMedia, MediaHandle};
use crate::runtime::metrics::Metrics;

/// Signalling could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignallingError {
    /// The SIP address could not be bound.
    #[error("cannot listen for SIP on {addr} ({transport}): {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// udp or tcp.
        transport: &'static str,
        /// Why.
        reason: String,
    },
}

/// Running signalling.
pub struct Signalling {
    /// The bound SIP address (UDP, and TCP on the same port).
    pub addr: SocketAddr,
    uas: Arc<uas::Uas>,
    registrar: Option<Arc<registrar::Registrar>>,
}

impl Signalling {
    /// The registrar of the configured agents (none without agents).
    pub fn registrar(&self) -> Option<Arc<registrar::Registrar>> {
        self.registrar.clone()
    }

    /// Starts a blind transfer of `call`; its progress goes to
    /// [`uas::Hooks::progress`], and its end to the call's dialogue.
    pub fn transfer(&self, call: kefu_core::CallId, request: refer::TransferRequest) {
        tokio::spawn(self.uas.clone().transfer(call, request));
    }

    /// Ends every call (BYE) and refuses new ones with 503; waits up to
    /// `grace` for the calls to end.
    pub async fn drain(&self, grace: std::time::Duration) {
        let n = self.uas.hangup_all();
        if n > 0 {
            tracing::info!(calls = n, "hanging up calls");
        }
        let deadline = tokio::time::Instant::now() + grace;
        while self.uas.calls() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // Let the last BYEs leave.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Binds the SIP transports and starts the server tasks.
pub async fn start(
    settings: &Settings,
    media: MediaHandle,
    from_media: UnboundedReceiver<FromMedia>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) -> Result<Signalling, SignallingError> {
    start_with(
        settings,
        media,
        from_media,
        metrics,
        cancel,
        uas::Hooks::default(),
    )
    .await
}

/// The registrar of `settings`' agents, or `None` when none are configured
/// (REGISTER then keeps getting 405).
fn make_registrar(
    settings: &Settings,
    presence: Option<tokio::sync::mpsc::UnboundedSender<registrar::Binding>>,
) -> Option<Arc<registrar::Registrar>> {
    let routing = &settings.routing;
    if routing.agents.is_empty() {
        return None;
    }
    let agents = routing
        .agents
        .iter()
        .map(|a| (a.id.clone(), a.ha1(&routing.realm)));
    let secret: [u8; 32] = rand::random();
    Some(Arc::new(registrar::Registrar::new(
        &routing.realm,
        agents,
        &secret,
        presence,
    )))
}

/// [`start`], reporting transfer progress and agent presence to `hooks`.
pub async fn start_with(
    settings: &Settings,
    media: MediaHandle,
    from_media: UnboundedReceiver<FromMedia>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    hooks: uas::Hooks,
) -> Result<Signalling, SignallingError> {
    let transport = TransportLayer::new(cancel.child_token());
    let mut bound = settings.sip_listen;
    if settings.sip_udp {
        let sock = tokio::net::UdpSocket::bind(settings.sip_listen)
            .await
            .map_err(|e| SignallingError::Bind {
                addr: settings.sip_listen,
                transport: "udp",
                reason: e.to_string(),
            })?;
        bound = sock.local_addr().unwrap_or(bound);
        let guarded = guard::GuardedUdp::new(sock, settings.user_agent.clone(), metrics.clone());
        let conn = UdpConnection::from_socket(Arc::new(guarded), None, Some(cancel.child_token()))
            .await
            .map_err(|e| SignallingError::Bind {
                addr: bound,
                transport: "udp",
                reason: e.to_string(),
            })?;
        transport.add_transport(conn.into());
    }
    if settings.sip_tcp {
        let addr = SocketAddr::new(settings.sip_listen.ip(), bound.port());
        // Probe the port first: the stack binds in its own task and would
        // only log a failure.
        drop(
            std::net::TcpListener::bind(addr).map_err(|e| SignallingError::Bind {
                addr,
                transport: "tcp",
                reason: e.to_string(),
            })?,
        );
        let listener =
            TcpListenerConnection::new(addr, None)
                .await
                .map_err(|e| SignallingError::Bind {
                    addr,
                    transport: "tcp",
                    reason: e.to_string(),
                })?;
        transport.add_transport(listener.into());
    }
    let endpoint = EndpointBuilder::new()
        .with_user_agent(&settings.user_agent)
        .with_cancel_token(cancel.clone())
        .with_transport_layer(transport)
        .build();
    let incoming = endpoint
        .incoming_transactions()
        .map_err(|e| SignallingError::Bind {
            addr: bound,
            transport: "udp",
            reason: e.to_string(),
        })?;
    let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
    let (state_tx, state_rx) = dialogs.new_dialog_state_channel();
    let registrar = make_registrar(settings, hooks.presence);
    let uas = uas::Uas::new(
        dialogs,
        state_tx,
        media,
        metrics,
        settings.max_calls,
        settings.retry_after_secs,
        settings
            .public_ip
            .or_else(|| Some(settings.sip_listen.ip()).filter(|ip| !ip.is_unspecified())),
        bound.port(),
        settings.user_agent.clone(),
        settings.log_pii,
        registrar.clone(),
        hooks.progress,
    );
    if let Some(r) = registrar.clone() {
        // Bindings expire here (RFC 3261 §10.3: the registrar removes them).
        let cancel = cancel.clone();
        tokio::spawn(async move {
            loop {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                r.sweep(now);
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                }
            }
        });
    }
    tokio::spawn(async move { endpoint.serve().await });
    tokio::spawn(uas.clone().run_states(state_rx));
    tokio::spawn(uas.clone().run_actions(from_media));
    let server = uas.clone();
    tokio::spawn(async move {
        let mut incoming = incoming;
        while let Some(tx) = incoming.recv().await {
            tokio::spawn(server.clone().on_transaction(tx));
        }
    });
    Ok(Signalling {
        addr: bound,
        uas,
        registrar,
    })
}

/// What a received UDP datagram costs before the transaction layer: kefu's
/// wire check, the normalization, then the SIP stack's parser. Returns
/// whether the stack got a message. Used by the `sip_parse` benchmark; the
/// live path does the same work in [`guard`] and the stack's UDP reader.
pub fn decode_datagram(datagram: &[u8]) -> bool {
    match check::check(
        datagram,
        check::Transport::Udp,
        &check::CheckConfig::default(),
    ) {
        check::Verdict::Pass(bytes) => {
            rsipstack::sip::SipMessage::try_from(normalize::normalize(bytes).as_ref()).is_ok()
        }
        _ => false,
    }
}
