//! Timestamps: whole seconds since the Unix epoch, RFC 3339 (UTC, `Z`) in JSON and text.
//! The library never reads the clock; callers pass times in.

use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time, in whole seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Parse RFC 3339 (any offset; converted to UTC; fractional seconds truncated).
    pub fn parse(s: &str) -> Result<Self> {
        let t = OffsetDateTime::parse(s.trim(), &Rfc3339)
            .map_err(|_| Error::InvalidTime(s.to_string()))?;
        Ok(Timestamp(t.unix_timestamp()))
    }

    /// Seconds since the epoch.
    pub fn unix(&self) -> i64 {
        self.0
    }

    /// From a `SystemTime`-style seconds count.
    pub fn from_unix(secs: i64) -> Self {
        Timestamp(secs)
    }

    /// RFC 3339 in UTC, e.g. `2026-11-22T09:30:00Z`.
    pub fn to_rfc3339(&self) -> String {
        match OffsetDateTime::from_unix_timestamp(self.0) {
            Ok(t) => t
                .format(&Rfc3339)
                .unwrap_or_else(|_| format!("@{}", self.0)),
            Err(_) => format!("@{}", self.0),
        }
    }

    /// `self + secs`, saturating.
    pub fn plus(&self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs))
    }
}

impl core::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let t = Timestamp::parse(&s).map_err(de::Error::custom)?;
        // Only the canonical form round-trips byte for byte; refuse others so that what is
        // signed or hashed is what is shown.
        if t.to_rfc3339() != s {
            return Err(de::Error::custom(format!(
                "time {s:?} is not in canonical form {:?}",
                t.to_rfc3339()
            )));
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        let t = Timestamp::parse("2026-11-22T09:30:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T09:30:00Z");
        let u = Timestamp::parse("2026-11-22T10:30:00+01:00").unwrap();
        assert_eq!(t, u);
        assert!(Timestamp::parse("yesterday").is_err());
        let j: Result<Timestamp, _> = serde_json::from_str("\"2026-11-22T10:30:00+01:00\"");
        assert!(j.is_err());
    }
}
