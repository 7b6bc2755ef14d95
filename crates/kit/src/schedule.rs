//! Deadlines a module keeps on the ledger: entries due at a block time, taken in the
//! end-of-block step of the first block whose time has reached them ([`crate::Module::end_block`]).
//!
//! A queue lives in one key space of the module's (`permits/due`). Entries are kept by the
//! minute they fall due: a deadline is rounded up to the next whole minute ([`fires_at`]), so
//! every entry of a minute is due at once and a block takes them without looking at the rest.
//! Each minute holds a count (key `be64 minute`) and chunks of at most [`CHUNK_ENTRIES`] entries
//! (key `be64 minute | be32 chunk`), filled in order and emptied from the last. The cursor (the
//! empty key) holds the first minute not yet emptied and how many entries wait in all.
//!
//! What a block costs: one read of the cursor when nothing waits; otherwise also one read of
//! each minute that has passed since the previous block (usually none or one), at most
//! [`MINUTES_PER_BLOCK`] of them, and the chunks of the minutes it takes entries from. A block
//! takes at most the number of entries its caller asks for; what remains is taken by the next
//! blocks, in the same order on every validator. Entries are never cancelled: a module that
//! moved on before the deadline recognises a stale entry when it is taken (it names the step
//! it was for) and ignores it.

use crate::{BlockError, Overlay, StateView};
use civitas_core::bundle::StateKey;
use civitas_core::codec_struct;
use civitas_core::time::TimestampMs;

/// The length of a minute, the queue's unit of time.
pub const MINUTE_MS: u64 = 60_000;
/// Most entries in one chunk.
pub const CHUNK_ENTRIES: usize = 64;
/// Most bytes of one entry.
pub const ENTRY_MAX_BYTES: usize = 48;
/// Most minutes one block looks at. A block is at most ten minutes after its parent
/// (`BLOCK_TIME_STEP_MAX_MS`), so on a chain this bound is never reached; it bounds the work
/// of a block whatever the state holds.
pub const MINUTES_PER_BLOCK: u64 = 1_024;

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

/// One chunk of a minute's entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Chunk {
    entries: Vec<Vec<u8>>,
}
codec_struct!(Chunk {
    entries: (CHUNK_ENTRIES, (ENTRY_MAX_BYTES, ()))
});

/// A module's queue of deadlines, in the key space it names.
#[derive(Clone, Copy, Debug)]
pub struct Queue(pub &'static str);

impl Queue {
    fn cursor_key(&self) -> StateKey {
        StateKey::new(self.0, Vec::new())
    }

    fn count_key(&self, minute: u64) -> StateKey {
        StateKey::new(self.0, minute.to_be_bytes().to_vec())
    }

    fn chunk_key(&self, minute: u64, chunk: u64) -> StateKey {
        let mut id = minute.to_be_bytes().to_vec();
        id.extend_from_slice(&(chunk as u32).to_be_bytes());
        StateKey::new(self.0, id)
    }

    /// Adds `entry` (at most [`ENTRY_MAX_BYTES`]), due at `at`; returns when it will be taken
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
        let count: u64 = state.get_typed(&self.count_key(minute)).await?.unwrap_or(0);
        let chunk_key = self.chunk_key(minute, count / CHUNK_ENTRIES as u64);
        let mut chunk: Chunk = state.get_typed(&chunk_key).await?.unwrap_or_default();
        chunk.entries.push(entry.to_vec());
        state.put_typed(&chunk_key, &chunk);
        state.put_typed(&self.count_key(minute), &(count + 1));
        Ok(fires)
    }

    /// Takes at most `max` entries due at `now` or before (those of the earliest minutes
    /// first), and removes them.
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
        let mut looked = 0;
        while cursor.pending > 0 && cursor.next <= due && looked < MINUTES_PER_BLOCK {
            let minute = cursor.next;
            looked += 1;
            let mut count: u64 = state.get_typed(&self.count_key(minute)).await?.unwrap_or(0);
            while count > 0 && taken.len() < max {
                let index = (count - 1) / CHUNK_ENTRIES as u64;
                let key = self.chunk_key(minute, index);
                let mut chunk: Chunk = state.get_typed(&key).await?.unwrap_or_default();
                while count > index * CHUNK_ENTRIES as u64 && taken.len() < max {
                    let Some(entry) = chunk.entries.pop() else {
                        break;
                    };
                    taken.push(entry);
                    count -= 1;
                    cursor.pending = cursor.pending.saturating_sub(1);
                }
                if chunk.entries.is_empty() {
                    state.delete(&key);
                    count = index * CHUNK_ENTRIES as u64;
                } else {
                    state.put_typed(&key, &chunk);
                }
            }
            if count > 0 {
                state.put_typed(&self.count_key(minute), &count);
                break;
            }
            state.delete(&self.count_key(minute));
            cursor.next = minute + 1;
        }
        if cursor.pending == 0 {
            state.delete(&self.cursor_key());
        } else {
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
        assert_eq!(first.len(), 50);
        let mut sorted = first.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 50, "each entry once");
        assert!(
            first
                .iter()
                .all(|e| u32::from_be_bytes(e[..4].try_into().unwrap()) % 3 == 0)
        );
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
    async fn a_long_pause_is_walked_a_bounded_number_of_minutes_per_block() {
        let base = MemoryState::default();
        let mut state = Overlay::new(&base);
        QUEUE.push(&mut state, minutes(1), b"a").await.unwrap();
        QUEUE
            .push(&mut state, minutes(1 + MINUTES_PER_BLOCK + 10), b"b")
            .await
            .unwrap();
        let now = minutes(1 + 3 * MINUTES_PER_BLOCK);
        assert_eq!(
            QUEUE.take(&mut state, now, 10).await.unwrap(),
            vec![b"a".to_vec()]
        );
        assert_eq!(
            QUEUE.take(&mut state, now, 10).await.unwrap(),
            vec![b"b".to_vec()]
        );
        assert!(QUEUE.take(&mut state, now, 10).await.unwrap().is_empty());
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
