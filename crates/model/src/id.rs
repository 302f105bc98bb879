//! Time-sortable 64-bit ids: `milliseconds since the Unix epoch << 16 | sequence`.
//!
//! Ids sort by creation time, so Mastodon's `max_id`/`since_id`/`min_id` paging is a
//! plain index range scan. They are serialized as decimal strings in the API, as
//! Mastodon does, because JavaScript numbers cannot hold 64 bits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A database id. Always positive; serialized as a string in the Mastodon API.
pub type Id = i64;

/// Bits of an id below the millisecond timestamp.
const SEQUENCE_BITS: u32 = 16;
const SEQUENCE_MASK: u64 = (1 << SEQUENCE_BITS) - 1;

/// Generates strictly increasing ids within a process.
///
/// Each new millisecond starts its sequence at a pseudo-random point in the lower half of
/// the 16-bit space, so two processes sharing a database (during an upgrade both run for
/// a moment) rarely pick the same id in the same millisecond; when a millisecond's
/// sequence runs out the generator borrows the next millisecond, so ids never repeat and
/// never go backwards in one process.
#[derive(Debug)]
pub struct IdGenerator {
    /// The last id handed out.
    last: AtomicU64,
    /// Per-process salt for the sequence start.
    salt: u64,
    /// Sequence of [`IdGenerator::backdated`] ids.
    backdated: AtomicU64,
}

impl IdGenerator {
    pub fn new() -> Self {
        let salt = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0)
            ^ (std::process::id() as u64).rotate_left(17);
        IdGenerator {
            last: AtomicU64::new(0),
            salt,
            backdated: AtomicU64::new(salt.rotate_left(29)),
        }
    }

    /// The next id for "now".
    pub fn next(&self) -> Id {
        self.next_at(now_millis())
    }

    /// The next id for a given time (milliseconds since the epoch), never smaller than
    /// any id this generator returned before.
    pub fn next_at(&self, millis: i64) -> Id {
        self.next_block(millis, 1)
    }

    /// An id for a past moment that keeps its place in time order: for things made
    /// elsewhere (a remote post, by its `published` time), which arrive out of order.
    /// Unlike [`IdGenerator::next_at`] it does not move forward past ids already given,
    /// so a late arrival sorts where it belongs; the sequence part comes from a counter,
    /// so ids of one millisecond stay distinct (for 65,536 calls).
    pub fn backdated(&self, millis: i64) -> Id {
        let millis = millis.max(0) as u64;
        let seq = self.backdated.fetch_add(1, Ordering::Relaxed) & SEQUENCE_MASK;
        ((millis << SEQUENCE_BITS) | seq) as Id
    }

    /// Reserves `n` consecutive ids for a given time and returns the first: a batch
    /// insert then needs no call per row. `n` of 0 is taken as 1.
    pub fn next_block(&self, millis: i64, n: usize) -> Id {
        let n = n.max(1) as u64;
        let millis = millis.max(0) as u64;
        let start = (millis << SEQUENCE_BITS) | (mix(millis ^ self.salt) & (SEQUENCE_MASK >> 1));
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = if start > last { start } else { last + 1 };
            match self.last.compare_exchange_weak(
                last,
                candidate + (n - 1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return candidate as Id,
                Err(actual) => last = actual,
            }
        }
    }
}

impl Default for IdGenerator {
    fn default() -> Self {
        Self::new()
    }
}

/// The smallest id that can belong to the given millisecond: for range queries by time.
pub fn id_floor_for_millis(millis: i64) -> Id {
    millis.max(0) << SEQUENCE_BITS
}

/// The millisecond timestamp encoded in an id.
pub fn millis_of(id: Id) -> i64 {
    id >> SEQUENCE_BITS
}

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A cheap integer hash (splitmix64 finalizer); only spreads sequence starts.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d049bb133111eb);
    x ^ (x >> 31)
}

/// Parses an id from the API (a decimal string). Anything else is `None`.
pub fn parse_id(s: &str) -> Option<Id> {
    let s = s.trim();
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|id| *id >= 0)
}

#[cfg(test)]
mod tests {

    #[test]
    fn backdated_ids_sort_by_their_time_not_by_arrival() {
        let g = IdGenerator::new();
        let now = g.next_at(2_000_000);
        let late = g.backdated(1_000_000);
        assert!(late < now, "a past moment sorts before ids already given");
        let same: std::collections::HashSet<Id> =
            (0..1000).map(|_| g.backdated(1_000_000)).collect();
        assert_eq!(same.len(), 1000, "distinct within one millisecond");
        assert!(same.iter().all(|id| *id >> 16 == 1_000_000));
        assert!(g.backdated(999_999) < g.backdated(1_000_000));
    }

    use super::*;

    #[test]
    fn ids_increase_and_encode_time() {
        let g = IdGenerator::new();
        let mut prev = 0;
        for _ in 0..200_000 {
            let id = g.next_at(1_700_000_000_000);
            assert!(id > prev);
            prev = id;
        }
        // 200k ids in one millisecond overflow into later milliseconds, never backwards.
        assert!(millis_of(prev) > 1_700_000_000_000);
        let later = g.next_at(1_700_000_000_000);
        assert!(later > prev);
    }

    #[test]
    fn time_of_id_round_trips() {
        let g = IdGenerator::new();
        let id = g.next_at(1_234_567_890_123);
        assert_eq!(millis_of(id), 1_234_567_890_123);
        assert!(id >= id_floor_for_millis(1_234_567_890_123));
        assert!(id < id_floor_for_millis(1_234_567_890_124));
    }

    #[test]
    fn parses_only_decimal_ids() {
        assert_eq!(parse_id("123"), Some(123));
        assert_eq!(parse_id("abc"), None);
        assert_eq!(parse_id("-5"), None);
        assert_eq!(parse_id(""), None);
        assert_eq!(parse_id("99999999999999999999"), None);
    }
}
