//! Timestamps: stored as milliseconds since the Unix epoch (a BIGINT in both engines),
//! rendered the way Mastodon renders them (`2024-05-01T12:00:00.000Z`).

use time::{OffsetDateTime, format_description::well_known::Rfc2822};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(crate::id::now_millis())
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    fn datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// ISO 8601 with milliseconds and `Z`, as in every Mastodon API date-time.
    pub fn to_rfc3339(self) -> String {
        let d = self.datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            d.year(),
            d.month() as u8,
            d.day(),
            d.hour(),
            d.minute(),
            d.second(),
            d.millisecond()
        )
    }

    /// Midnight of the day, as Mastodon shows `Account.created_at`.
    pub fn to_day_rfc3339(self) -> String {
        let d = self.datetime();
        format!(
            "{:04}-{:02}-{:02}T00:00:00.000Z",
            d.year(),
            d.month() as u8,
            d.day()
        )
    }

    /// `YYYY-MM-DD`, as Mastodon shows `Account.last_status_at`.
    pub fn to_date(self) -> String {
        let d = self.datetime();
        format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
    }

    /// RFC 2822, for RSS `pubDate`.
    pub fn to_rfc2822(self) -> String {
        self.datetime().format(&Rfc2822).unwrap_or_default()
    }

    /// Parses RFC 3339 (with or without fractional seconds and any offset).
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let d = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
        Some(Timestamp((d.unix_timestamp_nanos() / 1_000_000) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_mastodon() {
        let t = Timestamp(1_714_564_800_123);
        assert_eq!(t.to_rfc3339(), "2024-05-01T12:00:00.123Z");
        assert_eq!(t.to_day_rfc3339(), "2024-05-01T00:00:00.000Z");
        assert_eq!(t.to_date(), "2024-05-01");
        assert_eq!(t.to_rfc2822(), "Wed, 01 May 2024 12:00:00 +0000");
        assert_eq!(
            Timestamp::parse_rfc3339("2024-05-01T12:00:00.123Z"),
            Some(t)
        );
    }
}
