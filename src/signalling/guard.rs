//! The UDP socket the SIP stack reads from, with kefu's wire check in front:
//! every datagram passes [`check`](super::check::check) first. Malformed
//! requests are answered here (400, 416, 420, 505 …) or dropped as RFC 3261
//! says, so the stack only ever sees messages worth its time, and a peer
//! always learns what was wrong with its request. What passes is rewritten
//! by [`normalize`](super::normalize::normalize) into the form the stack
//! parses (unfolded, From tag present).

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::check::{check, CheckConfig, Transport, Verdict};
use super::normalize::normalize;
use super::reply::{build_response, response_destination};
use crate::runtime::metrics::Metrics;

/// A UDP socket that filters what it receives.
pub struct GuardedUdp {
    sock: tokio::net::UdpSocket,
    server: String,
    metrics: Arc<Metrics>,
    cfg: CheckConfig,
}

impl GuardedUdp {
    /// Wraps a bound socket.
    pub fn new(sock: tokio::net::UdpSocket, server: String, metrics: Arc<Metrics>) -> Self {
        GuardedUdp {
            sock,
            server,
            metrics,
            cfg: CheckConfig {
                supported: &[],
                methods: super::uas::METHODS,
            },
        }
    }
}

#[async_trait::async_trait]
impl rsipstack::platform::net::UdpSocket for GuardedUdp {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.sock.recv_from(buf).await?;
            let datagram = &buf[..n];
            let (start, len) = match check(datagram, Transport::Udp, &self.cfg) {
                Verdict::Pass(bytes) => {
                    let start =
                        (bytes.as_ptr() as usize).saturating_sub(datagram.as_ptr() as usize);
                    (start, bytes.len())
                }
                Verdict::Reply(reply) => {
                    self.metrics.sip_bad_replied.fetch_add(1, Relaxed);
                    let tag = format!("{:08x}", rand::random::<u32>());
                    if let (Some(resp), Some(dest)) = (
                        build_response(datagram, &reply, &tag, &self.server),
                        response_destination(datagram, from),
                    ) {
                        tracing::debug!(status = reply.status, "answered a malformed request");
                        let _ = self.sock.send_to(&resp, dest).await;
                    }
                    continue;
                }
                Verdict::Drop(reason) => {
                    self.metrics.sip_bad_dropped.fetch_add(1, Relaxed);
                    tracing::debug!(?reason, "dropped a malformed message");
                    continue;
                }
            };
            if start + len > n {
                continue;
            }
            // Only the rewritten bytes leave the borrow of `buf`.
            let rewritten = match normalize(&buf[start..start + len]) {
                Cow::Owned(message) => Some(message),
                Cow::Borrowed(_) => None,
            };
            match rewritten {
                Some(message) if message.len() <= buf.len() => {
                    buf[..message.len()].copy_from_slice(&message);
                    return Ok((message.len(), from));
                }
                // Does not fit: the stack gets the message as received.
                _ if start > 0 => buf.copy_within(start..start + len, 0),
                _ => {}
            }
            return Ok((len, from));
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.sock.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.sock.local_addr()?)
    }
}
