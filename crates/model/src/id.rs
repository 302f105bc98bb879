//! Time-sortable 64-bit ids: `milliseconds since the Unix epoch << 16 | sequence`.
//!
//! Ids sort by creation time, so Mastodon's `max_id`/`since_id`/`min_id` paging is a
//! plain index range scan. They are serialized as decimal strings in the API, as
//! Mastodon does, because JavaScript numbers cannot hold 64 bits.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A database id. Always positive; serialized as a string in the Mastodon API.
pub type Id = i64;

/// Bits of an id below the millisecond timestamp: the process slot, then a sequence.
const SEQUENCE_BITS: u32 = 16;
/// Bits of the process slot ([`set_process_slot`]), the top of the 16 below the time.
const SLOT_BITS: u32 = 4;
/// Bits of the per-process counter inside a millisecond: 4,096 ids per millisecond per
/// process before it borrows the next millisecond.
const COUNTER_BITS: u32 = SEQUENCE_BITS - SLOT_BITS;
const COUNTER_MASK: u64 = (1 << COUNTER_BITS) - 1;
/// Process slots: 0 for processes that run on their own, 1 to 15 for serving processes
/// (the supervisor gives each live one its own).
pub const SLOTS: u16 = 1 << SLOT_BITS;

/// This process's slot; read by every [`IdGenerator`] made after it is set.
static PROCESS_SLOT: AtomicU16 = AtomicU16::new(0);

/// Sets this process's id slot (`0..SLOTS`; others are taken modulo `SLOTS`). Two live
/// processes with different slots never mint the same id, whatever their clocks say;
/// the supervisor gives each serving process one no other live process holds.
pub fn set_process_slot(slot: u16) {
    PROCESS_SLOT.store(slot % SLOTS, Ordering::Relaxed);
}

/// Generates strictly increasing ids within a process.
///
/// An id is `millisecond << 16 | slot << 12 | counter`. The slot is the process's own
/// ([`set_process_slot`]), so processes sharing a database (workers, and old and new ones
/// side by side during an upgrade) draw from disjoint ranges. Each millisecond starts
/// its counter at a pseudo-random point in the lower half, so processes of one slot
/// (commands run beside a server without a supervisor) rarely meet either. When a
/// millisecond's 4,096 ids run out the generator borrows the next millisecond, so ids
/// never repeat and never go backwards in one process.
#[derive(Debug)]
pub struct IdGenerator {
    /// The last id handed out, as `millisecond << 12 | counter` (without the slot).
    last: AtomicU64,
    /// `slot << 12`, or'ed into every id.
    slot: u64,
    /// Per-process salt for the counter start.
    salt: u64,
    /// Counter of [`IdGenerator::backdated`] ids.
    backdated: AtomicU64,
}

impl IdGenerator {
    pub fn new() -> Self {
        Self::with_slot(PROCESS_SLOT.load(Ordering::Relaxed))
    }

    /// A generator for an explicit slot (tests; processes use [`set_process_slot`]).
    pub fn with_slot(slot: u16) -> Self {
        let salt = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0)
            ^ (std::process::id() as u64).rotate_left(17);
        IdGenerator {
            last: AtomicU64::new(0),
            slot: u64::from(slot % SLOTS) << COUNTER_BITS,
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
        self.reserve(millis, 1)
    }

    /// An id for a past moment that keeps its place in time order: for things made
    /// elsewhere (a remote post, by its `published` time), which arrive out of order.
    /// Unlike [`IdGenerator::next_at`] it does not move forward past ids already given,
    /// so a late arrival sorts where it belongs; the counter part comes from a counter,
    /// so ids of one millisecond stay distinct (for 4,096 calls).
    pub fn backdated(&self, millis: i64) -> Id {
        let millis = millis.max(0) as u64;
        let counter = self.backdated.fetch_add(1, Ordering::Relaxed) & COUNTER_MASK;
        ((millis << SEQUENCE_BITS) | self.slot | counter) as Id
    }

    /// Reserves `n` ids for a given time, in increasing order: a batch insert then
    /// needs no call per row. They are consecutive numbers only within a millisecond's
    /// range; a block larger than what is left there continues in the next. `n` of 0 is
    /// taken as 1.
    pub fn next_block(&self, millis: i64, n: usize) -> Vec<Id> {
        let n = n.max(1) as u64;
        let first = self.reserve(millis, n) as u64;
        let first = ((first >> SEQUENCE_BITS) << COUNTER_BITS) | (first & COUNTER_MASK);
        (first..first + n).map(|v| self.id_of(v)).collect()
    }

    /// Takes `n` counter values from the given time on; the id of the first.
    fn reserve(&self, millis: i64, n: u64) -> Id {
        let millis = millis.max(0) as u64;
        let start = (millis << COUNTER_BITS) | (mix(millis ^ self.salt) & (COUNTER_MASK >> 1));
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = if start > last { start } else { last + 1 };
            match self.last.compare_exchange_weak(
                last,
                candidate + (n - 1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return self.id_of(candidate),
                Err(actual) => last = actual,
            }
        }
    }

    /// The id of a counter value (`millisecond << 12 | counter`).
    fn id_of(&self, v: u64) -> Id {
        (((v >> COUNTER_BITS) << SEQUENCE_BITS) | self.slot | (v & COUNTER_MASK)) as Id
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
    fn slots_never_share_an_id_and_blocks_cross_milliseconds() {
        let (a, b) = (IdGenerator::with_slot(1), IdGenerator::with_slot(2));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(a.next_at(1_700_000_000_000)));
            assert!(seen.insert(b.next_at(1_700_000_000_000)));
        }
        assert!(seen.insert(a.backdated(1_600_000_000_000)));
        assert!(seen.insert(b.backdated(1_600_000_000_000)));
        // A block larger than a millisecond's range: increasing, distinct, all in the
        // slot, and later ids stay above it.
        let block = a.next_block(1_800_000_000_000, 10_000);
        assert_eq!(block.len(), 10_000);
        assert!(block.windows(2).all(|w| w[0] < w[1]));
        assert!(block.iter().all(|id| (id >> 12) & 0xF == 1));
        assert!(block.iter().all(|id| seen.insert(*id)));
        assert!(a.next_at(1_800_000_000_000) > *block.last().unwrap());
        // Within one millisecond's range a block is consecutive numbers.
        let small = b.next_block(1_900_000_000_000, 100);
        assert_eq!(small[99] - small[0], 99);
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
