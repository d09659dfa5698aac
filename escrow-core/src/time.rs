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

    /// Parse RFC 3339, or a time relative to `now` (the caller's clock): `now`,
    /// `now+DURATION` or `now-DURATION`, the duration as for [`parse_duration`] (`90s`, `15m`,
    /// `12h`, `7d`). So a script can write a warrant window around what it just sealed
    /// (`--from now-1h --until now+1h`) without computing dates.
    pub fn parse_at(s: &str, now: Timestamp) -> Result<Self> {
        let t = s.trim();
        let Some(rest) = t.strip_prefix("now") else {
            return Self::parse(t);
        };
        if rest.is_empty() {
            return Ok(now);
        }
        let bad = || Error::InvalidTime(s.to_string());
        let (sign, dur) = match rest.split_at_checked(1) {
            Some(("+", d)) => (1i64, d),
            Some(("-", d)) => (-1i64, d),
            _ => return Err(bad()),
        };
        let secs = parse_duration(dur.trim()).map_err(|_| bad())?;
        let secs = i64::try_from(secs).map_err(|_| bad())?;
        now.0
            .checked_add(sign.saturating_mul(secs))
            .map(Timestamp)
            .ok_or_else(bad)
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

/// A duration in seconds: `30s`, `15m`, `12h`, `183d`, or a plain number of seconds.
pub fn parse_duration(s: &str) -> core::result::Result<u64, String> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (s.get(..i).unwrap_or_default(), c),
        _ => (s, 's'),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 300s, 15m, 12h or 183d"))?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use s, m, h or d)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too long"))
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

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300"), Ok(300));
        assert_eq!(parse_duration("300s"), Ok(300));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("183d"), Ok(183 * 86_400));
        assert!(parse_duration("5w").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("-1d").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn relative_times() {
        let now = Timestamp::parse("2026-11-22T09:30:00Z").unwrap();
        let at = |s: &str| Timestamp::parse_at(s, now).map(|t| t.to_rfc3339());
        assert_eq!(at("now").unwrap(), "2026-11-22T09:30:00Z");
        assert_eq!(at("now-1h").unwrap(), "2026-11-22T08:30:00Z");
        assert_eq!(at("now+7d").unwrap(), "2026-11-29T09:30:00Z");
        assert_eq!(at(" now+90 ").unwrap(), "2026-11-22T09:31:30Z");
        assert_eq!(at("2026-11-01T00:00:00Z").unwrap(), "2026-11-01T00:00:00Z");
        for bad in [
            "now*1h",
            "now-",
            "now-1y",
            "nowish",
            "now-1h-2h",
            "tomorrow",
        ] {
            assert!(
                matches!(Timestamp::parse_at(bad, now), Err(Error::InvalidTime(ref s)) if s == bad),
                "{bad}"
            );
        }
        assert!(matches!(
            Timestamp::parse_at("now+9223372036854775807", now),
            Err(Error::InvalidTime(_))
        ));
    }
}
