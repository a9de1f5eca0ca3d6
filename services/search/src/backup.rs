//! A consistent copy of the live search index while it is written to (`onetime backup`).

use std::path::{Path, PathBuf};

use tantivy::Index;

use crate::index::{IndexError, current_name, io, set_current};

/// Copies the live generation of the index in `dir` into `target` (which gets its own
/// `CURRENT`), while it may be written to; returns the files written.
///
/// Segment files never change once written, so a copy of the files one `meta.json` names is a
/// consistent index. A merge may delete some of them meanwhile; then the copy starts over from
/// the newer `meta.json`.
pub fn backup(dir: &Path, target: &Path) -> Result<Vec<PathBuf>, IndexError> {
    let Some(name) = current_name(dir) else {
        return Ok(Vec::new());
    };
    let source = dir.join(&name);
    let copy = target.join(&name);
    let mut last_error = None;
    for _attempt in 0..5 {
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(&copy).map_err(io(&copy))?;
        let meta = Index::open_in_dir(&source)?.load_metas()?;
        let segments: Vec<String> = meta.segments.iter().map(|s| s.id().uuid_string()).collect();
        let mut files = Vec::new();
        let copied = std::fs::read_dir(&source)
            .map_err(io(&source))?
            .flatten()
            .try_for_each(|entry| {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                if segments.iter().any(|id| file_name.starts_with(id.as_str())) {
                    let to = copy.join(&file_name);
                    std::fs::copy(entry.path(), &to)?;
                    files.push(to);
                }
                Ok::<_, std::io::Error>(())
            });
        match copied {
            Ok(()) => {
                let meta_file = copy.join("meta.json");
                let json = serde_json::to_string(&meta).expect("index metadata serializes");
                std::fs::write(&meta_file, json).map_err(io(&meta_file))?;
                files.push(meta_file);
                set_current(target, &name)?;
                files.push(target.join("CURRENT"));
                return Ok(files);
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(IndexError::Io {
        path: source,
        source: last_error.expect("a failed attempt left its error"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SearchConfig;
    use crate::index::open;
    use crate::index::tests::{envelope, jobs, search};
    use onetime_common::events::job as events;

    #[test]
    fn a_backup_opens_as_the_same_index() {
        let dir = tempfile::tempdir().unwrap();
        let generation = open(dir.path(), &SearchConfig::default()).unwrap().generation;
        let jobs = jobs(30);
        let created: Vec<_> = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| envelope(i as u64 + 1, events::JOB_CREATED, j))
            .collect();
        generation.apply("jobs", &created[..10], 10, true).unwrap();
        generation.apply("jobs", &created[10..], 30, true).unwrap();

        let target = tempfile::tempdir().unwrap();
        let files = backup(dir.path(), target.path()).unwrap();
        assert!(files.len() > 2);
        let restored = open(target.path(), &SearchConfig::default()).unwrap();
        assert!(!restored.needs_rebuild);
        assert_eq!(restored.generation.cursor("jobs"), 30);
        assert_eq!(search(&restored.generation, "limit=100").total, 30);
    }
}
