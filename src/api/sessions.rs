//! Agents' console sessions: the tokens `POST /api/agent/login` hands out.
//!
//! A token is `kefu_session_` and 64 hex digits (32 random bytes). Only its
//! SHA-256 is kept, in memory, with the agent it belongs to and when it
//! expires ([`LIFETIME_MS`] after login); a restart of kefu signs every
//! agent out. A request presents a token exactly as it would an API key,
//! and is then the `agent` role bound to that agent id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::auth::secret_hash;
use crate::storage::Millis;

/// How long a session lasts: 12 hours.
pub const LIFETIME_MS: Millis = 12 * 3600 * 1000;
/// What every session token starts with (API keys start with `kefu_`
/// followed by hex digits, so the two never collide).
pub const PREFIX: &str = "kefu_session_";
/// Most sessions kept at once; past it the oldest are dropped.
const MAX_SESSIONS: usize = 10_000;

/// A signed-in agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The agent's id.
    pub agent: String,
    /// When the token stops working, ms since the epoch.
    pub expires_at: Millis,
}

/// The sessions of this process (cheap to clone, shared).
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Session>>>,
}

impl Sessions {
    /// Opens a session for `agent` at `now`: the token (shown to the agent
    /// once) and the session.
    pub fn open(&self, agent: &str, now: Millis) -> (String, Session) {
        let token = format!("{PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
        let session = Session {
            agent: agent.to_string(),
            expires_at: now + LIFETIME_MS,
        };
        let mut map = self.lock();
        map.retain(|_, s| s.expires_at > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.expires_at)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(secret_hash(&token), session.clone());
        (token, session)
    }

    /// The live session of `token` at `now`, if any.
    pub fn check(&self, token: &str, now: Millis) -> Option<Session> {
        let hash = secret_hash(token);
        let mut map = self.lock();
        match map.get(&hash) {
            Some(s) if s.expires_at > now => Some(s.clone()),
            Some(_) => {
                map.remove(&hash);
                None
            }
            None => None,
        }
    }

    /// Ends the session of `token`; whether there was one.
    pub fn close(&self, token: &str) -> bool {
        self.lock().remove(&secret_hash(token)).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic elsewhere while holding the lock leaves a usable map.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_work_until_they_expire_or_are_closed() {
        let sessions = Sessions::default();
        let (token, s) = sessions.open("alice", 1000);
        assert!(token.starts_with(PREFIX) && token.len() == PREFIX.len() + 64);
        assert_eq!(s.expires_at, 1000 + LIFETIME_MS);
        assert_eq!(
            sessions.check(&token, 2000).map(|s| s.agent),
            Some("alice".into())
        );
        assert_eq!(sessions.check(&token, 1000 + LIFETIME_MS), None);
        let (other, _) = sessions.open("bob", 5000);
        assert_ne!(other, token);
        assert!(sessions.close(&other));
        assert!(!sessions.close(&other));
        assert_eq!(sessions.check(&other, 5001), None);
    }
}
