//! Printing session descriptions (RFC 4566 §5) with CRLF line ends.
//!
//! Owns the `Display` impls of the [`super::parse`] types. Lines come out in
//! the order §5 requires (`v o s c t a*`, then per media `m c a*`); within a
//! media section the modelled attributes (`rtpmap`, `fmtp`, `ptime`,
//! direction, `rtcp`, `rtcp-mux`) precede the others. Whatever
//! [`SessionDescription::parse`] accepts prints back to text that parses to
//! an equal value. This module does not escape or validate strings set by
//! hand: a field containing CR or LF would print as extra lines.

use std::fmt::{self, Display, Formatter};

use super::parse::{
    Attribute, Connection, Direction, MediaDescription, MediaKind, Origin, RtpMap,
    SessionDescription,
};

impl Display for SessionDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "v=0\r\n{}", self.origin)?;
        // RFC 4566 §5.3: an empty name is written as a single space.
        let name = if self.session_name.is_empty() {
            " "
        } else {
            &self.session_name
        };
        write!(f, "s={name}\r\n")?;
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        write!(f, "t={} {}\r\n", self.timing.start, self.timing.stop)?;
        for a in &self.attributes {
            write!(f, "{a}")?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

impl Display for Origin {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "o={} {} {} {} {} {}\r\n",
            self.username,
            self.session_id,
            self.version,
            self.net_type,
            self.addr_type,
            self.address
        )
    }
}

/// `IN <addrtype> <address>`, without the `c=` prefix (also used by `a=rtcp`).
impl Display for Connection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "IN {} {}", self.addr_type.as_str(), self.address)
    }
}

impl Display for MediaKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Display for Direction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One full `a=` line, CRLF included.
impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "a={}:{v}\r\n", self.name),
            None => write!(f, "a={}\r\n", self.name),
        }
    }
}

/// The value of an `a=rtpmap:` line: `<pt> <encoding>/<rate>[/<channels>]`.
impl Display for RtpMap {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.pt, self.encoding, self.clock_rate)?;
        if let Some(ch) = self.channels {
            write!(f, "/{ch}")?;
        }
        Ok(())
    }
}

/// The whole section: `m=` line, `c=`, then attributes.
impl Display for MediaDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.kind, self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.protocol)?;
        for fmt in &self.formats {
            write!(f, " {fmt}")?;
        }
        f.write_str("\r\n")?;
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for map in &self.rtpmaps {
            write!(f, "a=rtpmap:{map}\r\n")?;
        }
        for (pt, params) in &self.fmtps {
            if params.is_empty() {
                write!(f, "a=fmtp:{pt}\r\n")?;
            } else {
                write!(f, "a=fmtp:{pt} {params}\r\n")?;
            }
        }
        if let Some(ptime) = self.ptime {
            write!(f, "a=ptime:{ptime}\r\n")?;
        }
        if let Some(d) = self.direction {
            write!(f, "a={d}\r\n")?;
        }
        match &self.rtcp {
            Some((port, Some(c))) => write!(f, "a=rtcp:{port} {c}\r\n")?,
            Some((port, None)) => write!(f, "a=rtcp:{port}\r\n")?,
            None => {}
        }
        if self.rtcp_mux {
            f.write_str("a=rtcp-mux\r\n")?;
        }
        for a in &self.attributes {
            write!(f, "{a}")?;
        }
        Ok(())
    }
}
