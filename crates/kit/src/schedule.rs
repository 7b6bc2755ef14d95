//! Deadlines a module keeps on the ledger: entries due at a block time, taken in the
//! end-of-block step of the blocks whose time has reached them ([`crate::Module::end_block`]).
//!
//! A queue lives in one key space of the module's (`permits/due`). Entries are kept by the
//! minute they fall due: a deadline is rounded up to the next whole minute ([`fires_at`]), so
//! every entry of a minute is due at once and a block takes them without looking at the rest.
//! Each minute holds a head (key `be64 minute`: how many entries were pushed to it and how many
//! taken) and chunks of at most [`CHUNK_ENTRIES`] entries (key `be64 minute | be32 chunk`),
//! filled in order and read in the same order, so the entries of a minute are taken first in,
//! first out; a chunk is deleted once its last entry is taken. Each day and each hour that
//! holds entries has a count of them (keys `"d" | be64 day` and `"h" | be64 hour`), so that a
//! walk over time skips an empty day or hour in one read. The cursor (the empty key) holds the
//! first minute that may still hold entries and how many entries wait in all.
//!
//! What a block costs: one read of the cursor when nothing waits or nothing is due; otherwise
//! also the reads of the walk from the cursor to the block's minute (one for an empty day, two
//! for an empty hour of a day with entries, three for a minute of an hour with entries:
//! usually a few, blocks being at most ten minutes apart, and at most [`READS_PER_BLOCK`]),
//! and the chunks it takes entries from. It writes only what
//! changed. A block takes at most the number of entries its caller asks for; what remains
//! is taken by the next blocks, in the same order on every validator: a module bounds how many
//! it takes per block, and so how late an entry can be when many fall due at once. Entries
//! are never cancelled: a module that moved on before the deadline recognises a stale entry
//! when it is taken (it names the occasion it was for) and ignores it.

use crate::{BlockError, Overlay, StateView};
use civitas_core::bundle::StateKey;
use civitas_core::codec_struct;
use civitas_core::time::TimestampMs;

/// The length of a minute, the queue's unit of time.
pub const MINUTE_MS: u64 = 60_000;
/// Most entries in one chunk.
pub const CHUNK_ENTRIES: u64 = 64;
/// Most bytes of one entry.
pub const ENTRY_MAX_BYTES: usize = 48;
/// Most days, hours and minutes one block's walk reads. A block is at most ten minutes after
/// its parent (`BLOCK_TIME_STEP_MAX_MS`), so on a chain this bound is hardly reached; it
/// bounds the work of a block whatever the state holds.
pub const READS_PER_BLOCK: u64 = 1_024;
/// Minutes in an hour and in a day, the spans counted to skip empty time.
const SPANS: [(u8, u64); 2] = [(b'd', 1_440), (b'h', 60)];

/// When an entry due at `at` is taken: the first whole minute at or after it.
pub fn fires_at(at: TimestampMs) -> TimestampMs {
    let minutes = at.0.div_ceil(MINUTE_MS);
    // The last whole minute a time can name, for a time after it (never a block's).
    TimestampMs(
        minutes
            .checked_mul(MINUTE_MS)
            .unwrap_or(u64::MAX / MINUTE_MS * MINUTE_MS),
    )
}

/// The queue's position and size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Cursor {
    /// The first minute that may still hold entries.
    next: u64,
    /// Entries waiting, in all minutes.
    pending: u64,
}
codec_struct!(Cursor {
    next: (),
    pending: ()
});

/// A minute's entries: how many were pushed and how many taken.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Head {
    pushed: u64,
    taken: u64,
}
codec_struct!(Head {
    pushed: (),
    taken: ()
});

/// One chunk of a minute's entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Chunk {
    entries: Vec<Vec<u8>>,
}
codec_struct!(Chunk {
    entries: (CHUNK_ENTRIES as usize, (ENTRY_MAX_BYTES, ()))
});

/// A module's queue of deadlines, in the key space it names.
#[derive(Clone, Copy, Debug)]
pub struct Queue(pub &'static str);

impl Queue {
    fn cursor_key(&self) -> StateKey {
        StateKey::new(self.0, Vec::new())
    }

    fn span_key(&self, tag: u8, span: u64) -> StateKey {
        let mut id = vec![tag];
        id.extend_from_slice(&span.to_be_bytes());
        StateKey::new(self.0, id)
    }

    /// Adds `times` to (`added`) or takes them from the counts of the day and hour of `minute`.
    async fn count<S: StateView>(
        &self,
        state: &mut Overlay<'_, S>,
        minute: u64,
        added: bool,
        times: u64,
    ) -> Result<(), BlockError> {
        for (tag, minutes) in SPANS {
            let key = self.span_key(tag, minute / minutes);
            let count: u64 = state.get_typed(&key).await?.unwrap_or(0);
            let count = if added {
                count + times
            } else {
                count.saturating_sub(times)
            };
            if count == 0 {
                state.delete(&key);
            } else {
                state.put_typed(&key, &count);
            }
        }
        Ok(())
    }

    fn head_key(&self, minute: u64) -> StateKey {
        StateKey::new(self.0, minute.to_be_bytes().to_vec())
    }

    fn chunk_key(&self, minute: u64, chunk: u64) -> StateKey {
        let mut id = minute.to_be_bytes().to_vec();
        id.extend_from_slice(&(chunk as u32).to_be_bytes());
        StateKey::new(self.0, id)
    }

    /// Adds `entry` (at most [`ENTRY_MAX_BYTES`]), due at `at`; returns when it will be due
    /// ([`fires_at`]). Returns an error only for an entry longer than the bound, which is the
    /// module's bug: its entries have a fixed shape.
    pub async fn push<S: StateView>(
        &self,
        state: &mut Overlay<'_, S>,
        at: TimestampMs,
        entry: &[u8],
    ) -> Result<TimestampMs, BlockError> {
        if entry.len() > ENTRY_MAX_BYTES {
            return Err(BlockError::invalid(
                "schedule_entry_too_long",
                format!("an entry of {} bytes in {}", entry.len(), self.0),
            ));
        }
        let fires = fires_at(at);
        let minute = fires.0 / MINUTE_MS;
        let mut cursor: Cursor = state
            .get_typed(&self.cursor_key())
            .await?
            .unwrap_or_default();
        if cursor.pending == 0 || minute < cursor.next {
            cursor.next = minute;
        }
        cursor.pending += 1;
        state.put_typed(&self.cursor_key(), &cursor);
        let mut head: Head = state
            .get_typed(&self.head_key(minute))
            .await?
            .unwrap_or_default();
        let chunk_key = self.chunk_key(minute, head.pushed / CHUNK_ENTRIES);
        let mut chunk: Chunk = state.get_typed(&chunk_key).await?.unwrap_or_default();
        chunk.entries.push(entry.to_vec());
        state.put_typed(&chunk_key, &chunk);
        head.pushed += 1;
        state.put_typed(&self.head_key(minute), &head);
        self.count(state, minute, true, 1).await?;
        Ok(fires)
    }

    /// Takes at most `max` entries due at `now` or before, those of the earliest minutes first
    /// and each minute's in the order they were pushed, and removes them.
    pub async fn take<S: StateView>(
        &self,
        state: &mut Overlay<'_, S>,
        now: TimestampMs,
        max: usize,
    ) -> Result<Vec<Vec<u8>>, BlockError> {
        let mut taken = Vec::new();
        let Some(mut cursor) = state.get_typed::<Cursor>(&self.cursor_key()).await? else {
            return Ok(taken);
        };
        let due = now.0 / MINUTE_MS;
        let before = cursor.clone();
        let mut reads = 0;
        'walk: while cursor.pending > 0
            && cursor.next <= due
            && reads < READS_PER_BLOCK
            && taken.len() < max
        {
            let minute = cursor.next;
            // Skip a day or an hour with nothing in it in one read.
            for (tag, minutes) in SPANS {
                reads += 1;
                let span = minute / minutes;
                let count: Option<u64> = state.get_typed(&self.span_key(tag, span)).await?;
                if count.unwrap_or(0) == 0 {
                    cursor.next = (span + 1).saturating_mul(minutes);
                    continue 'walk;
                }
            }
            reads += 1;
            let key = self.head_key(minute);
            let Some(mut head) = state.get_typed::<Head>(&key).await? else {
                cursor.next = minute + 1;
                continue;
            };
            let mut chunk: Option<(u64, Chunk)> = None;
            let from = head.taken;
            while head.taken < head.pushed && taken.len() < max {
                let index = head.taken / CHUNK_ENTRIES;
                let chunk_key = self.chunk_key(minute, index);
                if chunk.as_ref().is_none_or(|(i, _)| *i != index) {
                    let loaded: Chunk = state.get_typed(&chunk_key).await?.unwrap_or_default();
                    chunk = Some((index, loaded));
                }
                let position = (head.taken % CHUNK_ENTRIES) as usize;
                let entry = chunk
                    .as_ref()
                    .and_then(|(_, c)| c.entries.get(position))
                    .cloned()
                    .unwrap_or_default();
                taken.push(entry);
                head.taken += 1;
                cursor.pending = cursor.pending.saturating_sub(1);
                if head.taken % CHUNK_ENTRIES == 0 || head.taken == head.pushed {
                    state.delete(&chunk_key);
                }
            }
            self.count(state, minute, false, head.taken - from).await?;
            if head.taken < head.pushed {
                state.put_typed(&key, &head);
                break;
            }
            state.delete(&key);
            cursor.next = minute + 1;
        }
        if cursor.pending == 0 {
            state.delete(&self.cursor_key());
        } else if cursor != before {
            state.put_typed(&self.cursor_key(), &cursor);
        }
        Ok(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_exec::overlay::MemoryState;

    const QUEUE: Queue = Queue("test/due");

    fn minutes(m: u64) -> TimestampMs {
        TimestampMs(m * MINUTE_MS)
    }

    #[test]
    fn deadlines_round_up_to_the_minute() {
        assert_eq!(fires_at(TimestampMs(0)), TimestampMs(0));
        assert_eq!(fires_at(TimestampMs(1)), minutes(1));
        assert_eq!(fires_at(minutes(5)), minutes(5));
        assert_eq!(fires_at(TimestampMs(u64::MAX)).0 % MINUTE_MS, 0);
    }

    #[tokio::test]
    async fn entries_are_taken_once_when_due_in_order_and_within_the_bound() {
        let base = MemoryState::default();
        let mut state = Overlay::new(&base);
        // Three minutes, one of them with more entries than a chunk holds.
        for i in 0..150u32 {
            let at = TimestampMs(minutes(10).0 - 1 + u64::from(i % 3) * MINUTE_MS);
            let fires = QUEUE.push(&mut state, at, &i.to_be_bytes()).await.unwrap();
            assert_eq!(fires, minutes(10 + u64::from(i % 3)));
        }
        QUEUE.push(&mut state, minutes(30), b"late").await.unwrap();
        // Nothing is due before its minute.
        assert!(
            QUEUE
                .take(&mut state, TimestampMs(minutes(10).0 - 1), 1000)
                .await
                .unwrap()
                .is_empty()
        );
        // Minute 10's fifty entries, twenty at a time.
        let mut first = Vec::new();
        for _ in 0..3 {
            first.extend(QUEUE.take(&mut state, minutes(10), 20).await.unwrap());
        }
        // Each once, in the order they were pushed.
        let expected: Vec<Vec<u8>> = (0..150u32)
            .filter(|i| i % 3 == 0)
            .map(|i| i.to_be_bytes().to_vec())
            .collect();
        assert_eq!(first, expected);
        assert!(
            QUEUE
                .take(&mut state, minutes(10), 20)
                .await
                .unwrap()
                .is_empty()
        );
        // Later, minutes 11 and 12 together, then the late one alone.
        let rest = QUEUE.take(&mut state, minutes(29), 1000).await.unwrap();
        assert_eq!(rest.len(), 100);
        assert_eq!(
            QUEUE.take(&mut state, minutes(40), 1000).await.unwrap(),
            vec![b"late".to_vec()]
        );
        // Empty: the queue leaves nothing behind.
        let writes = state.into_writes();
        assert!(writes.values().all(Option::is_none), "{writes:?}");
    }

    #[tokio::test]
    async fn a_long_pause_is_walked_skipping_empty_days_and_hours() {
        let base = MemoryState::default();
        let mut state = Overlay::new(&base);
        let year = 365 * 1_440;
        QUEUE.push(&mut state, minutes(1), b"a").await.unwrap();
        QUEUE
            .push(&mut state, minutes(1 + year + 10), b"b")
            .await
            .unwrap();
        QUEUE
            .push(&mut state, minutes(1 + 6 * year), b"c")
            .await
            .unwrap();
        let now = minutes(2 + 6 * year);
        // A year of empty days is a few hundred reads: one walk reaches it.
        assert_eq!(
            QUEUE.take(&mut state, now, 10).await.unwrap(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        // Five more years are more than one walk reads: the next ones go on.
        assert_eq!(
            QUEUE.take(&mut state, now, 10).await.unwrap(),
            Vec::<Vec<u8>>::new()
        );
        assert_eq!(
            QUEUE.take(&mut state, now, 10).await.unwrap(),
            vec![b"c".to_vec()]
        );
        assert!(state.into_writes().values().all(Option::is_none));
    }

    #[tokio::test]
    async fn an_entry_pushed_to_a_minute_being_taken_is_taken_after_the_others() {
        let base = MemoryState::default();
        let mut state = Overlay::new(&base);
        for i in 0..70u32 {
            QUEUE
                .push(&mut state, minutes(3), &i.to_be_bytes())
                .await
                .unwrap();
        }
        assert_eq!(
            QUEUE.take(&mut state, minutes(3), 65).await.unwrap().len(),
            65
        );
        // Pushed late into the same minute (a deadline already passed): after the rest.
        QUEUE.push(&mut state, minutes(3), b"late").await.unwrap();
        let rest = QUEUE.take(&mut state, minutes(3), 100).await.unwrap();
        let expected: Vec<Vec<u8>> = (65..70u32)
            .map(|i| i.to_be_bytes().to_vec())
            .chain([b"late".to_vec()])
            .collect();
        assert_eq!(rest, expected);
        // And into a minute already emptied.
        QUEUE.push(&mut state, minutes(3), b"again").await.unwrap();
        assert_eq!(
            QUEUE.take(&mut state, minutes(4), 100).await.unwrap(),
            vec![b"again".to_vec()]
        );
        assert!(state.into_writes().values().all(Option::is_none));
    }

    #[tokio::test]
    async fn a_block_with_nothing_due_writes_nothing() {
        let base = MemoryState::default();
        let mut state = Overlay::new(&base);
        QUEUE.push(&mut state, minutes(100), b"far").await.unwrap();
        let mut base = MemoryState::default();
        base.apply(&state.into_writes());
        let mut state = Overlay::new(&base);
        assert!(
            QUEUE
                .take(&mut state, minutes(50), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(state.into_writes().is_empty());
    }

    #[tokio::test]
    async fn an_entry_longer_than_the_bound_is_refused() {
        let base = MemoryState::default();
        let mut state = Overlay::new(&base);
        assert!(
            QUEUE
                .push(&mut state, minutes(1), &[0; ENTRY_MAX_BYTES + 1])
                .await
                .is_err()
        );
    }
}
