//! The `[search]` section of the configuration: the index writer's memory, how often what it
//! indexed is committed, and where dictionary files extending the built-in ones are.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Tantivy refuses a writer thread with less arena than this (15 MB).
const MIN_ARENA_PER_THREAD: usize = 15_000_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// The index writer's arena in MiB, shared by its threads: documents are buffered there
    /// until a commit (or a full arena) writes them out as a segment.
    pub writer_memory_mib: usize,
    /// Threads that tokenize and index documents.
    pub writer_threads: usize,
    /// How often indexed events are committed, which makes them searchable, in milliseconds.
    pub commit_interval_ms: u64,
    /// A directory of dictionary files (`synonyms.tsv`, `brands.tsv`, ... as in
    /// `services/search/dict`) merged over the built-in ones at start-up; none when unset.
    pub dictionary_dir: Option<PathBuf>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            writer_memory_mib: 32,
            writer_threads: 1,
            commit_interval_ms: 400,
            dictionary_dir: None,
        }
    }
}

impl SearchConfig {
    /// Checks what the types cannot; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=8).contains(&self.writer_threads) {
            return Err("`search.writer_threads` must be 1 to 8".to_owned());
        }
        if self.arena_bytes() < self.writer_threads * MIN_ARENA_PER_THREAD {
            return Err(format!(
                "`search.writer_memory_mib` must be at least {} for {} writer thread(s): 15 MB each",
                (self.writer_threads * MIN_ARENA_PER_THREAD).div_ceil(1024 * 1024),
                self.writer_threads
            ));
        }
        if !(10..=60_000).contains(&self.commit_interval_ms) {
            return Err("`search.commit_interval_ms` must be 10 to 60000".to_owned());
        }
        Ok(())
    }

    pub(crate) fn arena_bytes(&self) -> usize {
        self.writer_memory_mib * 1024 * 1024
    }

    pub(crate) fn commit_interval(&self) -> Duration {
        Duration::from_millis(self.commit_interval_ms)
    }
}
