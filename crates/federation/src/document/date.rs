//! Dates as remote servers write them.
//!
//! RFC 3339 first, plus what real servers send that is not RFC 3339 (all seen in the
//! fixtures or in the wild):
//! - an offset without a colon, `+0000` (Pixelfed) or only hours, `+02`;
//! - no offset at all, `2019-09-19T00:32:36.785333` (Pleroma's `closed`): read as UTC;
//! - no seconds, `2024-05-01T12:00Z`;
//! - any number of fraction digits (`.7576707`, Kroeg), with `.` or `,`;
//! - a space instead of `T`, lowercase `t`/`z`, a trailing ` UTC`/` GMT`;
//! - a bare date, `2024-05-01`: midnight UTC;
//! - a leap second `:60` is read as `:59`.
//!
//! Anything else is `None`; a bad date never makes a document fail.

use sluice_model::Timestamp;

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn digits(&mut self, n: usize) -> Option<i64> {
        let s = self.b.get(self.i..self.i + n)?;
        let mut v = 0i64;
        for &c in s {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        self.i += n;
        Some(v)
    }

    fn rest(&self) -> &[u8] {
        self.b.get(self.i..).unwrap_or_default()
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a date-time the tolerant way described in this module's documentation.
pub fn parse_date(s: &str) -> Option<Timestamp> {
    let mut c = Cursor {
        b: s.trim().as_bytes(),
        i: 0,
    };
    let year = c.digits(4)?;
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut millis, mut offset_secs) = (0, 0, 0, 0, 0);
    if c.peek().is_some() {
        if !matches!(c.peek(), Some(b'T' | b't' | b' ')) {
            return None;
        }
        c.i += 1;
        hour = c.digits(2)?;
        if !c.eat(b':') {
            return None;
        }
        minute = c.digits(2)?;
        if c.eat(b':') {
            second = c.digits(2)?;
            if c.eat(b'.') || c.eat(b',') {
                let start = c.i;
                while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                    c.i += 1;
                }
                let frac = &c.b[start..c.i];
                if frac.is_empty() {
                    return None;
                }
                for k in 0..3 {
                    millis = millis * 10 + frac.get(k).map_or(0, |d| i64::from(d - b'0'));
                }
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        second = second.min(59);
        c.eat(b' ');
        match c.peek() {
            None => {}
            Some(b'Z' | b'z') => c.i += 1,
            Some(sign @ (b'+' | b'-')) => {
                c.i += 1;
                let oh = c.digits(2)?;
                // `+02:00`, `+0200` or `+02`.
                let colon = c.eat(b':');
                let om = if colon || c.peek().is_some() {
                    c.digits(2)?
                } else {
                    0
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                let secs = oh * 3600 + om * 60;
                offset_secs = if sign == b'+' { secs } else { -secs };
            }
            Some(_) => {
                let r = c.rest();
                if r.eq_ignore_ascii_case(b"UTC") || r.eq_ignore_ascii_case(b"GMT") {
                    c.i = c.b.len();
                } else {
                    return None;
                }
            }
        }
        if c.peek().is_some() {
            return None;
        }
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(Timestamp(secs * 1000 + millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Option<i64> {
        parse_date(s).map(|t| t.0)
    }

    #[test]
    fn rfc3339_and_oddities() {
        let base = 1_714_564_800_000; // 2024-05-01T12:00:00Z
        assert_eq!(ms("2024-05-01T12:00:00Z"), Some(base));
        assert_eq!(ms("2024-05-01T12:00:00.123Z"), Some(base + 123));
        assert_eq!(ms("2024-05-01T12:00:00.1234567+00:00"), Some(base + 123));
        assert_eq!(ms("2024-05-01T14:00:00+02:00"), Some(base));
        assert_eq!(ms("2024-05-01T14:00:00+0200"), Some(base));
        assert_eq!(ms("2024-05-01T14:00:00+02"), Some(base));
        assert_eq!(ms("2024-05-01T10:00:00-02:00"), Some(base));
        assert_eq!(ms("2024-05-01T12:00Z"), Some(base));
        assert_eq!(ms("2024-05-01T12:00"), Some(base));
        assert_eq!(ms("2024-05-01T12:00:00"), Some(base));
        assert_eq!(ms("2024-05-01 12:00:00 UTC"), Some(base));
        assert_eq!(ms("2024-05-01t12:00:00z"), Some(base));
        assert_eq!(ms("2024-05-01"), Some(base - 12 * 3_600_000));
        assert_eq!(ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(ms("2016-12-31T23:59:60Z"), ms("2016-12-31T23:59:59Z"));
    }

    #[test]
    fn garbage_is_none() {
        for s in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01T25:00:00Z",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T12:00:00+2",
            "2024-05-01T12:00:00Zjunk",
            "2024-05-01X12:00",
            "２０２４-05-01",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
        assert!(parse_date("2024-02-29T00:00:00Z").is_some());
    }
}
