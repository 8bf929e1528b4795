//! RTP (RFC 3550) packets, RTCP, the jitter buffer and RFC 4733 events.

pub mod dtmf;
pub mod jitter;
pub mod packet;
pub mod rtcp;

/// An RTP synchronisation source identifier (RFC 3550 §5.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssrc(pub u32);

/// An RTP sequence number (RFC 3550 §5.1). It wraps at 2^16, so it has no
/// total order; compare with [`SeqNo::diff`] / [`SeqNo::is_after`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeqNo(pub u16);

impl SeqNo {
    /// Signed wrap-aware distance `self - other`: positive when `self` comes
    /// after `other` within half the sequence space.
    pub fn diff(self, other: SeqNo) -> i16 {
        self.0.wrapping_sub(other.0) as i16
    }

    /// Whether `self` comes strictly after `other` (wrap-aware).
    pub fn is_after(self, other: SeqNo) -> bool {
        self.diff(other) > 0
    }

    /// The following sequence number, wrapping at 2^16.
    #[must_use]
    pub fn next(self) -> SeqNo {
        SeqNo(self.0.wrapping_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::SeqNo;

    #[test]
    fn seq_diff_wraps() {
        assert_eq!(SeqNo(0).diff(SeqNo(65535)), 1);
        assert_eq!(SeqNo(65535).diff(SeqNo(0)), -1);
        assert_eq!(SeqNo(10).diff(SeqNo(5)), 5);
        assert!(SeqNo(2).is_after(SeqNo(65000)));
        assert!(!SeqNo(65000).is_after(SeqNo(2)));
        assert_eq!(SeqNo(65535).next(), SeqNo(0));
    }
}
