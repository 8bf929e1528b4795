//! The RTP port pool: pairs of UDP sockets (RTP on an even port, RTCP on the
//! next odd one, RFC 3550 §11) bound once at start-up and lent to calls.
//!
//! Binding up front means a call never fails half-way for want of a port,
//! and the pool's size is the media capacity: when it is empty, new calls
//! get 503. A returned pair is drained of stale datagrams before reuse.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Mutex;

/// The two sockets of one call.
#[derive(Debug)]
pub struct PortPair {
    /// RTP socket (even port).
    pub rtp: UdpSocket,
    /// RTCP socket (RTP port + 1).
    pub rtcp: UdpSocket,
    /// The RTP port.
    pub port: u16,
}

impl PortPair {
    fn drain(&self) {
        let mut buf = [0u8; 2048];
        while self.rtp.recv_from(&mut buf).is_ok() {}
        while self.rtcp.recv_from(&mut buf).is_ok() {}
    }
}

/// Ports lent to calls and ports free.
#[derive(Debug)]
pub struct PortPool {
    free: Mutex<VecDeque<PortPair>>,
    size: usize,
}

/// The pool could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// Not a single pair could be bound in the range.
    #[error("no free RTP port pair in {low}-{high} on {ip}")]
    Empty {
        /// Bind address.
        ip: IpAddr,
        /// Range start.
        low: u16,
        /// Range end.
        high: u16,
    },
}

impl PortPool {
    /// Binds up to `want` pairs in `low..=high` on `ip`, skipping ports that
    /// are taken.
    pub fn bind(ip: IpAddr, low: u16, high: u16, want: usize) -> Result<PortPool, PoolError> {
        let mut free = Vec::new();
        let mut port = low + (low % 2);
        while port < high && free.len() < want {
            if let Some(pair) = bind_pair(ip, port) {
                free.push(pair);
            }
            port = match port.checked_add(2) {
                Some(p) => p,
                None => break,
            };
        }
        if free.is_empty() {
            return Err(PoolError::Empty { ip, low, high });
        }
        free.reverse();
        let size = free.len();
        Ok(PortPool {
            free: Mutex::new(free.into()),
            size,
        })
    }

    /// Pairs in the pool, lent or free.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Pairs free now.
    pub fn available(&self) -> usize {
        self.free.lock().map(|f| f.len()).unwrap_or(0)
    }

    /// Lends a pair, if one is free.
    pub fn take(&self) -> Option<PortPair> {
        self.free.lock().ok()?.pop_back()
    }

    /// Returns a pair; it is drained first and reused last (so a late
    /// packet of the old call is unlikely to reach a new one).
    pub fn give(&self, pair: PortPair) {
        pair.drain();
        if let Ok(mut f) = self.free.lock() {
            f.push_front(pair);
        }
    }
}

fn bind_pair(ip: IpAddr, port: u16) -> Option<PortPair> {
    let rtp = UdpSocket::bind(SocketAddr::new(ip, port)).ok()?;
    let rtcp = UdpSocket::bind(SocketAddr::new(ip, port + 1)).ok()?;
    rtp.set_nonblocking(true).ok()?;
    rtcp.set_nonblocking(true).ok()?;
    Some(PortPair { rtp, rtcp, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lends_and_takes_back() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let pool = PortPool::bind(ip, 41000, 41100, 3).expect("bind");
        assert_eq!(pool.size(), 3);
        let a = pool.take().expect("a");
        assert_eq!(a.port % 2, 0);
        assert_eq!(a.rtcp.local_addr().expect("addr").port(), a.port + 1);
        let _b = pool.take().expect("b");
        let _c = pool.take().expect("c");
        assert!(pool.take().is_none());
        pool.give(a);
        assert_eq!(pool.available(), 1);
    }
}
