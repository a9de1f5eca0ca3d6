//! How much of a store file is live: the share of it that compaction would give back.
//!
//! redb reuses freed pages but never shrinks its file, so a store that once held many rows (an
//! outbox before pruning, rewritten records) keeps its size. Measuring takes a walk over every
//! tree, so it is done when asked (start-up, a schedule, after compaction), not per commit.

use serde::Serialize;

/// A store file's size and how much of it redb has allocated to live pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Space {
    pub file_bytes: u64,
    pub allocated_bytes: u64,
}

impl Space {
    /// The share of the file not allocated to live pages: what compaction can give back.
    pub fn free_share(&self) -> f64 {
        if self.file_bytes == 0 {
            return 0.0;
        }
        let free = self.file_bytes.saturating_sub(self.allocated_bytes);
        free as f64 / self.file_bytes as f64
    }
}

/// When a store is compacted as the platform starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactionPolicy {
    /// Compact when more than this share of the file is free (1.0: never).
    pub above_free_share: f64,
    /// Files smaller than this are left alone: the space to win is not worth the pause.
    pub min_file_bytes: u64,
}

impl CompactionPolicy {
    pub fn wants(&self, space: &Space) -> bool {
        space.file_bytes >= self.min_file_bytes && space.free_share() > self.above_free_share
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_share_is_the_unallocated_part_of_the_file() {
        let space = |file_bytes, allocated_bytes| Space {
            file_bytes,
            allocated_bytes,
        };
        assert_eq!(space(0, 0).free_share(), 0.0);
        assert_eq!(space(100, 25).free_share(), 0.75);
        assert_eq!(space(100, 100).free_share(), 0.0);
        // Allocation can run ahead of the file's recorded length while it grows.
        assert_eq!(space(100, 120).free_share(), 0.0);

        let policy = CompactionPolicy {
            above_free_share: 0.5,
            min_file_bytes: 1000,
        };
        assert!(policy.wants(&space(4000, 1000)));
        assert!(
            !policy.wants(&space(4000, 2000)),
            "exactly half free is not more than half"
        );
        assert!(!policy.wants(&space(999, 0)), "too small to bother");
    }
}
