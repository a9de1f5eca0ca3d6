//! The search index on disk: open or create it, apply job events to it with the bus cursor in
//! the same commit. Searching it is [`crate::retrieve`], copying it [`crate::backup`].
//!
//! Layout: `<dir>/CURRENT` names the live generation, `<dir>/<generation>/` holds its Tantivy
//! index. A rebuild writes a new generation and swaps `CURRENT` (a rename, so atomic).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock};

use onetime_common::events::Envelope;
use onetime_common::events::job::{self as events, Job, JobStatus};
use serde::{Deserialize, Serialize};
use tantivy::merge_policy::LogMergePolicy;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TERMINATED, TantivyDocument, Term,
};

use crate::config::SearchConfig;
use crate::schema::{self, Fields, SCHEMA_VERSION};
use crate::suggest::{Suggester, job_phrases};

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index directory {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("reading the jobs to index: {0}")]
    Directory(String),
    #[error("event {seq} ({event_type}) does not decode: {reason}")]
    BadEvent {
        seq: u64,
        event_type: String,
        reason: String,
    },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What each commit records beside the documents.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommitPayload {
    schema_version: u32,
    /// Last applied sequence number per event source.
    cursors: BTreeMap<String, u64>,
}

/// Documents added since the last commit that make the next [`Generation::apply`] commit at
/// once rather than waiting for [`Generation::commit_pending`].
const COMMIT_EVERY_DOCS: usize = 5_000;

/// One generation of the index.
pub struct Generation {
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<Writing>,
    suggester: RwLock<Suggester>,
    /// The cursors of the last commit: what a restart resumes from.
    committed: Mutex<BTreeMap<String, u64>>,
}

/// The writer and what it holds beyond the last commit.
///
/// Events are added as they arrive but committed on an interval (or by size): a Tantivy commit
/// writes a segment and syncs it, and one per bus batch made many tiny segments for the merge
/// thread to fold back together. Until the commit, `applied` runs ahead of the committed
/// cursors; a crash loses only uncommitted work, which the bus delivers again from the committed
/// cursors (putting a job is idempotent: it replaces the job's document).
struct Writing {
    writer: IndexWriter,
    applied: BTreeMap<String, u64>,
    /// Documents added or deleted since the last commit.
    uncommitted: usize,
    /// The suggestion phrases of each job put or dropped since the last commit (none when
    /// dropped). The committed index, where [`Generation::put`] otherwise reads what a job
    /// contributed before, does not show these changes yet.
    since_commit: HashMap<String, Vec<String>>,
    /// Whether this generation was loaded from the job directory (see [`Generation::put`]).
    loaded: bool,
}

/// The live generation, and whether it is of this binary's schema.
pub struct Opened {
    pub generation: Generation,
    /// The index on disk was written by another schema version (or is new) and must be rebuilt.
    pub needs_rebuild: bool,
}

pub fn current_name(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join("CURRENT"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Makes `name` the live generation.
pub fn set_current(dir: &Path, name: &str) -> Result<(), IndexError> {
    let tmp = dir.join("CURRENT.tmp");
    std::fs::write(&tmp, name).map_err(io(&tmp))?;
    std::fs::rename(&tmp, dir.join("CURRENT")).map_err(io(dir))
}

/// Opens the live generation in `dir`, or creates a first one. Generations a rebuild left
/// half-written are removed.
pub fn open(dir: &Path, config: &SearchConfig) -> Result<Opened, IndexError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let live = current_name(dir);
    for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && Some(&name) != live.as_ref() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    if let Some(name) = current_name(dir) {
        let path = dir.join(&name);
        if let Ok(index) = Index::open_in_dir(&path) {
            let payload = read_payload(&index);
            if payload.as_ref().is_some_and(|p| p.schema_version == SCHEMA_VERSION) {
                let generation = Generation::from_index(index, payload.unwrap_or_default().cursors, config)?;
                return Ok(Opened {
                    generation,
                    needs_rebuild: false,
                });
            }
        }
        tracing::warn!(generation = %name, "the search index is of another schema version; it will be rebuilt");
    }
    let name = new_generation_name();
    let generation = Generation::create(&dir.join(&name), config)?;
    set_current(dir, &name)?;
    Ok(Opened {
        generation,
        needs_rebuild: true,
    })
}

pub fn new_generation_name() -> String {
    format!("g{}", onetime_common::events::new_id().simple())
}

/// Merging for a stream of small commits: every commit adds a small segment, and merging each
/// handful of them at once would rewrite the same documents over and over. Small segments wait
/// until there are more of them (one merge then folds many), and a segment is only rewritten
/// for its deletions once a good share of it is deleted.
fn merge_policy() -> LogMergePolicy {
    let mut policy = LogMergePolicy::default();
    policy.set_min_num_segments(12);
    policy.set_min_layer_size(20_000);
    policy.set_del_docs_ratio_before_merge(0.3);
    policy
}

fn read_payload(index: &Index) -> Option<CommitPayload> {
    let payload = index.load_metas().ok()?.payload?;
    serde_json::from_str(&payload).ok()
}

impl Generation {
    /// A new, empty generation at `path`.
    pub fn create(path: &Path, config: &SearchConfig) -> Result<Self, IndexError> {
        std::fs::create_dir_all(path).map_err(io(path))?;
        let index = Index::create_in_dir(path, schema::build())?;
        let generation = Self::from_index(index, BTreeMap::new(), config)?;
        generation.commit(&mut generation.lock_writer())?;
        Ok(generation)
    }

    fn from_index(index: Index, cursors: BTreeMap<String, u64>, config: &SearchConfig) -> Result<Self, IndexError> {
        schema::register_tokenizers(index.tokenizers());
        // Commits reload the reader at once (see `commit`). Merges finish on their own time:
        // until the reader follows them, it keeps the merged-away segments open, with the pages
        // the merge read through their mappings still counted in the process's memory.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        let writer: IndexWriter = index.writer_with_num_threads(config.writer_threads, config.arena_bytes())?;
        writer.set_merge_policy(Box::new(merge_policy()));
        let generation = Self {
            fields: schema::fields(&index.schema()),
            reader,
            writer: Mutex::new(Writing {
                writer,
                applied: cursors.clone(),
                uncommitted: 0,
                since_commit: HashMap::new(),
                loaded: false,
            }),
            suggester: RwLock::new(Suggester::default()),
            committed: Mutex::new(cursors),
        };
        generation.load_suggestions()?;
        Ok(generation)
    }

    fn lock_writer(&self) -> MutexGuard<'_, Writing> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seeds the suggestions from the jobs in the index.
    fn load_suggestions(&self) -> Result<(), IndexError> {
        let searcher = self.reader.searcher();
        let fields = &self.fields;
        let mut suggester = Suggester::default();
        for segment in searcher.segment_readers() {
            let store = segment.get_store_reader(64).map_err(tantivy::TantivyError::from)?;
            for doc in store.iter::<TantivyDocument>(segment.alive_bitset()) {
                if let Some(job) = stored_job(&doc?, fields) {
                    suggester.count(&job_phrases(&job));
                }
            }
        }
        *self.suggester.write().unwrap_or_else(|p| p.into_inner()) = suggester;
        Ok(())
    }

    /// The last sequence numbers applied, by source, committed or not.
    pub fn cursors(&self) -> BTreeMap<String, u64> {
        self.lock_writer().applied.clone()
    }

    /// The last sequence number of `source` applied and committed: what a restart resumes from.
    pub fn cursor(&self, source: &str) -> u64 {
        self.committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(source)
            .copied()
            .unwrap_or(0)
    }

    /// Adds `job` when open, drops it otherwise, and moves its suggestion phrases along. Not
    /// visible before [`Generation::commit`].
    ///
    /// A `new` job (its `job.created`) contributed no phrases before, unless this generation
    /// was loaded from the job directory: a rebuild reads jobs created after the cursors it
    /// resumes from, whose `job.created` then arrives a second time.
    fn put(&self, writing: &mut Writing, suggester: &mut Suggester, job: &Job, new: bool) -> Result<(), IndexError> {
        writing
            .writer
            .delete_term(Term::from_field_text(self.fields.id, &job.id));
        let phrases = if job.status == JobStatus::Open {
            writing.writer.add_document(schema::document(&self.fields, job))?;
            job_phrases(job)
        } else {
            Vec::new()
        };
        let indexed = !new || writing.loaded;
        self.contribute(writing, suggester, &job.id, phrases, indexed)
    }

    /// Drops the job `id`.
    fn drop_job(&self, writing: &mut Writing, suggester: &mut Suggester, id: &str) -> Result<(), IndexError> {
        writing.writer.delete_term(Term::from_field_text(self.fields.id, id));
        self.contribute(writing, suggester, id, Vec::new(), true)
    }

    /// Replaces what the job `id` contributes to the suggestions with `phrases`; what it
    /// contributed before is looked up when it may have been `indexed`.
    fn contribute(
        &self,
        writing: &mut Writing,
        suggester: &mut Suggester,
        id: &str,
        phrases: Vec<String>,
        indexed: bool,
    ) -> Result<(), IndexError> {
        let before = match writing.since_commit.remove(id) {
            Some(before) => before,
            None if indexed => indexed_job(&self.reader.searcher(), &self.fields, id)?
                .map(|job| job_phrases(&job))
                .unwrap_or_default(),
            None => Vec::new(),
        };
        suggester.uncount(&before);
        suggester.count(&phrases);
        writing.since_commit.insert(id.to_owned(), phrases);
        Ok(())
    }

    /// Indexes `jobs` (a rebuild), committing with `cursors`.
    pub fn load(
        &self,
        jobs: impl Iterator<Item = Result<Job, String>>,
        cursors: &BTreeMap<String, u64>,
        progress: impl Fn(u64),
    ) -> Result<(), IndexError> {
        let mut writing = self.lock_writer();
        let mut suggester = Suggester::default();
        let mut done = 0;
        for job in jobs {
            self.put(
                &mut writing,
                &mut suggester,
                &job.map_err(IndexError::Directory)?,
                false,
            )?;
            done += 1;
            if done % 1000 == 0 {
                progress(done);
            }
        }
        writing.applied = cursors.clone();
        writing.loaded = true;
        self.commit(&mut writing)?;
        drop(writing);
        *self.suggester.write().unwrap_or_else(|p| p.into_inner()) = suggester;
        progress(done);
        Ok(())
    }

    /// Applies job events from `source` in order and records `up_to` as its cursor. They are
    /// searchable after the next commit: [`Generation::commit_pending`], or this call when enough
    /// has piled up (or `commit_now`).
    pub fn apply(&self, source: &str, events: &[Envelope], up_to: u64, commit_now: bool) -> Result<(), IndexError> {
        #[derive(Deserialize)]
        struct WithJob {
            job: Job,
        }
        let mut writing = self.lock_writer();
        let mut suggester = self.suggester.write().unwrap_or_else(|p| p.into_inner());
        for event in events {
            let WithJob { job } = event.payload().map_err(|e| IndexError::BadEvent {
                seq: event.seq,
                event_type: event.event_type.clone(),
                reason: e.to_string(),
            })?;
            match event.event_type.as_str() {
                events::JOB_CREATED => self.put(&mut writing, &mut suggester, &job, true)?,
                events::JOB_UPDATED => self.put(&mut writing, &mut suggester, &job, false)?,
                _ => self.drop_job(&mut writing, &mut suggester, &job.id)?,
            }
        }
        drop(suggester);
        writing.applied.insert(source.to_owned(), up_to);
        writing.uncommitted += events.len();
        if commit_now || writing.uncommitted >= COMMIT_EVERY_DOCS {
            self.commit(&mut writing)?;
        }
        Ok(())
    }

    /// How far through `source` the index is durable, given that it was handed everything up to
    /// `handed`: all of it when nothing waits for a commit, else what the last commit recorded.
    pub fn durable(&self, source: &str, handed: u64) -> u64 {
        if self.lock_writer().uncommitted == 0 {
            handed
        } else {
            self.cursor(source)
        }
    }

    /// Commits what was applied since the last commit, if anything was.
    pub fn commit_pending(&self) -> Result<(), IndexError> {
        let mut writing = self.lock_writer();
        let behind = *self.committed.lock().unwrap_or_else(|p| p.into_inner()) != writing.applied;
        if behind || writing.uncommitted > 0 {
            self.commit(&mut writing)?;
        }
        Ok(())
    }

    /// Commits what was added, with the applied cursors in the commit's payload, and makes it
    /// searchable.
    fn commit(&self, writing: &mut Writing) -> Result<(), IndexError> {
        let payload = CommitPayload {
            schema_version: SCHEMA_VERSION,
            cursors: writing.applied.clone(),
        };
        let mut prepared = writing.writer.prepare_commit()?;
        prepared.set_payload(&serde_json::to_string(&payload).expect("the payload serializes"));
        prepared.commit()?;
        writing.uncommitted = 0;
        *self.committed.lock().unwrap_or_else(|p| p.into_inner()) = writing.applied.clone();
        self.reader.reload()?;
        writing.since_commit.clear();
        Ok(())
    }

    pub fn suggest(&self, typed: &str) -> Vec<String> {
        self.suggester.read().unwrap_or_else(|p| p.into_inner()).suggest(typed)
    }

    /// A searcher on what was last committed.
    pub(crate) fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.fields
    }
}

/// The job `id` as the committed index holds it, if it does.
fn indexed_job(searcher: &Searcher, fields: &Fields, id: &str) -> Result<Option<Job>, IndexError> {
    let term = Term::from_field_text(fields.id, id);
    for (ordinal, segment) in searcher.segment_readers().iter().enumerate() {
        let postings = segment
            .inverted_index(fields.id)?
            .read_postings(&term, IndexRecordOption::Basic)
            .map_err(tantivy::TantivyError::from)?;
        let Some(mut postings) = postings else { continue };
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if !segment.is_deleted(doc) {
                let stored: TantivyDocument = searcher.doc(DocAddress::new(ordinal as u32, doc))?;
                return Ok(stored_job(&stored, fields));
            }
            doc = postings.advance();
        }
    }
    Ok(None)
}

/// The job a document stores.
pub(crate) fn stored_job(doc: &TantivyDocument, fields: &Fields) -> Option<Job> {
    let json = doc.get_first(fields.job)?.as_str()?;
    serde_json::from_str(json).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::geo::haversine_km;
    use crate::query::SearchParams;
    use crate::retrieve::Results;
    use crate::synthetic::Generator;

    pub(crate) fn envelope(seq: u64, event_type: &str, job: &Job) -> Envelope {
        Envelope {
            id: onetime_common::events::new_id(),
            event_type: event_type.to_owned(),
            source: "job".to_owned(),
            seq,
            occurred_at: time::OffsetDateTime::now_utc(),
            payload: serde_json::json!({ "job": job, "acceptedWorkerIds": [] }),
        }
    }

    pub(crate) fn jobs(count: usize) -> Vec<Job> {
        let mut generator = Generator::new(7, time::OffsetDateTime::now_utc());
        (0..count)
            .map(|i| {
                generator
                    .posting()
                    .into_job(format!("job-{i:03}"), "e".into(), String::new())
            })
            .collect()
    }

    pub(crate) fn search(generation: &Generation, query: &str) -> Results {
        let params: SearchParams = serde_urlencoded::from_str(query).unwrap();
        generation
            .search(&params.parse(&crate::dictionary::Dictionary::built_in()).unwrap())
            .unwrap()
    }

    #[test]
    fn events_keep_only_open_jobs_and_the_cursor_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let opened = open(dir.path(), &SearchConfig::default()).unwrap();
        assert!(opened.needs_rebuild, "a new index is built from the job service");
        let generation = opened.generation;
        let jobs = jobs(20);
        let created: Vec<_> = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| envelope(i as u64 + 1, events::JOB_CREATED, j))
            .collect();
        generation.apply("jobs", &created, 20, false).unwrap();
        generation
            .apply("jobs", &[envelope(21, events::JOB_FILLED, &jobs[0])], 21, false)
            .unwrap();
        assert_eq!(search(&generation, "limit=100").total, 0, "nothing is committed yet");
        assert_eq!(generation.cursor("jobs"), 0);
        generation.commit_pending().unwrap();
        assert_eq!(search(&generation, "limit=100").total, 19);
        drop(generation);

        let reopened = open(dir.path(), &SearchConfig::default()).unwrap();
        assert!(!reopened.needs_rebuild);
        assert_eq!(reopened.generation.cursor("jobs"), 21);
        assert_eq!(search(&reopened.generation, "limit=100").total, 19);
    }

    /// Suggestions follow a job's title through changes made before and after commits, and
    /// after reopening, although only the index remembers what each job contributed.
    #[test]
    fn suggestions_follow_retitled_and_closed_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let generation = open(dir.path(), &SearchConfig::default()).unwrap().generation;
        let mut two = jobs(2);
        let (mut job, mut other) = (two.remove(0), two.remove(0));
        other.title = "택배 배송".to_owned();
        generation
            .apply("jobs", &[envelope(100, events::JOB_CREATED, &other)], 100, true)
            .unwrap();
        let mut seq = 100;
        let mut put = |generation: &Generation, event_type: &str, title: &str, commit: bool| {
            seq += 1;
            job.title = title.to_owned();
            generation
                .apply("jobs", &[envelope(seq, event_type, &job)], seq, commit)
                .unwrap();
        };
        let offers =
            |generation: &Generation, typed: &str, phrase: &str| generation.suggest(typed).iter().any(|s| s == phrase);
        put(&generation, events::JOB_CREATED, "바리스타 모집", false);
        put(&generation, events::JOB_UPDATED, "주방보조 모집", false);
        assert!(
            !offers(&generation, "바리", "바리스타 모집"),
            "retitled before any commit"
        );
        assert!(offers(&generation, "주방", "주방보조 모집"));
        generation.commit_pending().unwrap();
        put(&generation, events::JOB_UPDATED, "택배 상하차", true);
        assert!(!offers(&generation, "주방", "주방보조 모집"), "retitled after a commit");
        assert!(offers(&generation, "택배 상", "택배 상하차"));
        drop(generation);

        let generation = open(dir.path(), &SearchConfig::default()).unwrap().generation;
        assert!(
            offers(&generation, "택배 상", "택배 상하차"),
            "seeded from the index on opening"
        );
        put(&generation, events::JOB_FILLED, "택배 상하차", false);
        assert!(
            !offers(&generation, "택배 상", "택배 상하차"),
            "a filled job stops counting at once"
        );
        put(&generation, events::JOB_DELETED, "택배 상하차", true);
        assert!(
            offers(&generation, "택배", "택배"),
            "another job's use of a phrase stays counted: the closed job's is not taken back twice"
        );
    }

    /// A rebuild reads jobs created after the cursors it resumes from; their `job.created`
    /// arriving afterwards must not count their phrases twice.
    #[test]
    fn a_job_loaded_by_a_rebuild_and_created_again_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let generation = open(dir.path(), &SearchConfig::default()).unwrap().generation;
        let job = jobs(1).remove(0);
        generation
            .load(std::iter::once(Ok(job.clone())), &BTreeMap::new(), |_| {})
            .unwrap();
        generation
            .apply("jobs", &[envelope(1, events::JOB_CREATED, &job)], 1, true)
            .unwrap();
        assert_eq!(generation.suggest(&job.title).first(), Some(&job.title));
        generation
            .apply("jobs", &[envelope(2, events::JOB_DELETED, &job)], 2, true)
            .unwrap();
        assert!(
            generation.suggest(&job.title).is_empty(),
            "{:?}",
            generation.suggest(&job.title)
        );
    }

    #[test]
    fn an_index_of_another_schema_version_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let generation = open(dir.path(), &SearchConfig::default()).unwrap().generation;
        generation
            .apply("job", &[envelope(1, events::JOB_CREATED, &jobs(1)[0])], 1, true)
            .unwrap();
        let older = BTreeMap::from([("job".to_owned(), 1)]);
        let payload = CommitPayload {
            schema_version: SCHEMA_VERSION - 1,
            cursors: older,
        };
        let mut writing = generation.lock_writer();
        let mut prepared = writing.writer.prepare_commit().unwrap();
        prepared.set_payload(&serde_json::to_string(&payload).unwrap());
        prepared.commit().unwrap();
        drop(writing);
        drop(generation);

        let reopened = open(dir.path(), &SearchConfig::default()).unwrap();
        assert!(reopened.needs_rebuild);
        assert_eq!(
            search(&reopened.generation, "limit=10").total,
            0,
            "a new, empty generation"
        );
    }

    #[test]
    fn geo_filters_sort_and_facets_agree() {
        let dir = tempfile::tempdir().unwrap();
        let generation = open(dir.path(), &SearchConfig::default()).unwrap().generation;
        let jobs = jobs(300);
        let created: Vec<_> = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| envelope(i as u64 + 1, events::JOB_CREATED, j))
            .collect();
        generation.apply("jobs", &created, 300, true).unwrap();

        let (lat, lng) = (37.4979, 127.0276);
        let results = search(
            &generation,
            &format!("lat={lat}&lng={lng}&radiusKm=10&sort=distance&limit=100"),
        );
        let expected = jobs
            .iter()
            .filter(|j| haversine_km((lat, lng), (j.location.lat, j.location.lng)) <= 10.0)
            .count();
        assert_eq!(results.total as usize, expected);
        assert!(expected > 0);
        let distances: Vec<f64> = results.hits.iter().map(|h| h.distance_km.unwrap()).collect();
        assert!(distances.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(results.facets.values().sum::<u64>() as usize, expected);
    }
}
