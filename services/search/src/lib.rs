//! The search service: Korean job search over a Tantivy index that job events keep current.
//!
//! It publishes nothing. It consumes `job.created/updated/deleted/filled/completed` from the
//! job store's outbox (only open jobs are searchable), keeping its bus cursor in the Tantivy
//! commit payload, so a crash never loses or double-applies an event. A rebuild
//! (`POST /search/reindex`, or at start-up when the index is of another schema version) reads
//! the open jobs through [`JobDirectory`] into a new index generation while the old one keeps
//! answering, then swaps.

mod analysis;
mod api;
mod backup;
mod boosts;
mod collect;
mod config;
mod dictionary;
mod explain;
mod geo;
mod index;
mod jamo;
mod normalize;
mod query;
mod ranking;
mod retrieve;
mod romanize;
mod routes;
mod schema;
mod suggest;
#[cfg(any(test, feature = "synthetic"))]
pub mod synthetic;
mod understand;

pub use backup::backup;
pub use config::SearchConfig;
pub use dictionary::Dictionary;
pub use query::SearchParams;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use onetime_common::bus::{HandlerError, Subscriber};
use onetime_common::directory::{Clients, JobDirectory};
use onetime_common::events::Envelope;
use onetime_common::events::job::{self as job_events, Job};
use onetime_common::service::{Background, Context, Sections, Service, ServiceDef, ServiceStatus, StartError};

use onetime_common::ApiError;
use onetime_common::paging::PageRequest;

use crate::api::{Facets, ReindexTask, SearchHit, SearchResponse, Suggestions, TaskState};
use crate::index::{Generation, IndexError};

/// The service's name: its bus subscriber name and `/health` key.
pub const NAME: &str = "search";

/// The search service as the platform wires it. It keeps no redb store: its index lives in
/// `<data_dir>/search`.
pub const SERVICE: ServiceDef = ServiceDef {
    name: NAME,
    store: None,
    config_sections: &[NAME],
    check_config,
    start,
};

fn config(sections: &Sections) -> Result<SearchConfig, StartError> {
    let config: SearchConfig = sections.get(NAME)?;
    config.check().map_err(StartError::Config)?;
    Ok(config)
}

/// The dictionaries, with those of `search.dictionary_dir` merged over the built-in ones.
fn dictionary(config: &SearchConfig) -> Result<Dictionary, StartError> {
    Dictionary::load(config.dictionary_dir.as_deref())
        .map_err(|error| StartError::Config(format!("`search.dictionary_dir`: {error}")))
}

pub fn check_config(sections: &Sections) -> Result<(), StartError> {
    dictionary(&config(sections)?).map(drop)
}

/// Opens (or rebuilds) the index and subscribes it to the job source.
pub fn start(ctx: Context<'_>) -> Result<Service, StartError> {
    let config = config(ctx.config)?;
    let dictionary = Arc::new(dictionary(&config)?);
    let service = SearchService::open(
        ctx.data_dir.join("search"),
        &config,
        dictionary,
        ctx.clients.clone(),
        ctx.background,
    )
    .map_err(|e| StartError::Other(format!("search index: {e}")))?;
    Ok(Service::new(routes::router(service.clone()), routes::openapi())
        .subscribe(job_events::SOURCE, service.clone())
        .with_status(service))
}

/// Jobs read from the job service per call during a rebuild.
const REBUILD_PAGE: usize = 1000;

pub struct SearchService {
    dir: PathBuf,
    live: RwLock<Arc<Generation>>,
    /// Held while events are applied and for a whole rebuild: a rebuild sees no event half-way.
    indexing: Mutex<()>,
    /// The job service's reads, for rebuilds.
    clients: Arc<Clients>,
    tasks: Mutex<HashMap<String, ReindexTask>>,
    /// Rebuilds run here, so that shutdown waits for them (and they stop early).
    background: Background,
    /// False while the index that was missing or outdated at start-up is being rebuilt.
    complete: AtomicBool,
    config: SearchConfig,
    /// What queries are read with.
    dictionary: Arc<Dictionary>,
}

impl SearchService {
    /// Opens the index under `dir` (`<data_dir>/search`); rebuilds it in the background when it
    /// is new or of another schema version. Queries are read with `dictionary`.
    pub fn open(
        dir: PathBuf,
        config: &SearchConfig,
        dictionary: Arc<Dictionary>,
        clients: Arc<Clients>,
        background: &Background,
    ) -> Result<Arc<Self>, IndexError> {
        analysis::warm_up();
        let opened = index::open(&dir, config)?;
        let service = Arc::new(Self {
            dir,
            live: RwLock::new(Arc::new(opened.generation)),
            indexing: Mutex::new(()),
            clients,
            tasks: Mutex::new(HashMap::new()),
            background: background.clone(),
            complete: AtomicBool::new(!opened.needs_rebuild),
            config: config.clone(),
            dictionary,
        });
        if opened.needs_rebuild {
            service.clone().reindex();
        }
        service.clone().commit_on_interval();
        Ok(service)
    }

    fn live(&self) -> Arc<Generation> {
        self.live.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs a search. Blocking: call it off the reactor.
    pub fn search(&self, params: &SearchParams) -> Result<SearchResponse, ApiError> {
        let search = params.parse(&self.dictionary)?;
        let results = self.live().search(&search).map_err(ApiError::internal)?;
        // Each hit is keyed by its offset: the cursor of a page is where the next one starts.
        let rows = results
            .hits
            .into_iter()
            .enumerate()
            .map(|(i, hit)| ((search.offset + i + 1).to_string(), hit))
            .collect();
        let page = PageRequest {
            limit: search.limit,
            after: None,
        }
        .page(rows, |row: &(String, _)| &row.0);
        let page = page.map(|(_, hit)| SearchHit {
            job: hit.job,
            highlights: hit.highlights,
            distance_km: hit.distance_km,
        });
        Ok(SearchResponse {
            items: page.items,
            next_cursor: page.next_cursor,
            total: results.total,
            facets: Facets {
                category: results.facets,
            },
            took_ms: results.took_ms,
        })
    }

    /// Completions of what has been typed.
    pub fn suggest(&self, typed: &str) -> Result<Suggestions, ApiError> {
        if typed.chars().count() > query::MAX_QUERY_CHARS {
            return Err(ApiError::invalid_field("q", "too long for a suggestion"));
        }
        Ok(Suggestions {
            suggestions: self.live().suggest(typed),
        })
    }

    /// Whether the index holds every open job: false only while the index found missing or
    /// outdated at start-up is rebuilt (a later reindex builds beside the live index).
    pub fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    /// Commits what the bus delivered every `search.commit_interval_ms`, until shutdown begins; from then
    /// on every delivery commits at once (see [`Subscriber::apply`] below).
    fn commit_on_interval(self: Arc<Self>) {
        let mut stopping = Box::pin(self.background.stopping());
        let background = self.background.clone();
        background.spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(self.config.commit_interval()) => {}
                    () = &mut stopping => break,
                }
                let service = self.clone();
                let committed = tokio::task::spawn_blocking(move || service.live().commit_pending()).await;
                match committed {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::warn!(%error, "committing the search index failed; retrying"),
                    Err(error) => tracing::warn!(%error, "committing the search index stopped unexpectedly"),
                }
            }
            let _ = tokio::task::spawn_blocking(move || self.live().commit_pending()).await;
        });
    }

    /// Starts a rebuild unless one runs; the task id either way.
    fn reindex(self: Arc<Self>) -> (String, bool) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(running) = tasks.values().find(|t| t.state == TaskState::Running) {
            return (running.task_id.clone(), false);
        }
        let task_id = onetime_common::events::new_id().to_string();
        tasks.insert(
            task_id.clone(),
            ReindexTask {
                task_id: task_id.clone(),
                state: TaskState::Running,
                indexed: 0,
                started_at: time::OffsetDateTime::now_utc(),
                finished_at: None,
                error: None,
            },
        );
        drop(tasks);
        let id = task_id.clone();
        let background = self.background.clone();
        let rebuild = tokio::task::spawn_blocking(move || {
            let result = self.rebuild(&id);
            self.update_task(&id, |task| {
                task.finished_at = Some(time::OffsetDateTime::now_utc());
                match &result {
                    Ok(()) => task.state = TaskState::Done,
                    Err(error) => {
                        task.state = TaskState::Failed;
                        task.error = Some(error.clone());
                    }
                }
            });
            match result {
                Ok(()) => tracing::info!(task = %id, "search index rebuilt"),
                Err(error) => tracing::error!(task = %id, %error, "search index rebuild failed"),
            }
            // A failed rebuild does not hold the platform back: it is logged, and its task says so.
            self.complete.store(true, Ordering::Release);
        });
        background.spawn(async move {
            let _ = rebuild.await;
        });
        (task_id, true)
    }

    fn update_task(&self, task_id: &str, change: impl FnOnce(&mut ReindexTask)) {
        if let Some(task) = self.tasks.lock().unwrap_or_else(|p| p.into_inner()).get_mut(task_id) {
            change(task);
        }
    }

    fn task(&self, task_id: &str) -> Option<ReindexTask> {
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(task_id)
            .cloned()
    }

    /// Builds a new generation from the job service's open jobs and swaps it in.
    ///
    /// Events wait meanwhile. The new generation takes over the live cursors, so the events
    /// after them are applied to it once more; as each carries the whole job, replaying them
    /// in order over a newer snapshot ends in the same state.
    fn rebuild(&self, task_id: &str) -> Result<(), String> {
        let _indexing = self.indexing.lock().unwrap_or_else(|p| p.into_inner());
        let cursors = self.live().cursors();
        let name = index::new_generation_name();
        let path = self.dir.join(&name);
        let generation = Generation::create(&path, &self.config).map_err(|e| e.to_string())?;
        let directory = self.clients.jobs().map_err(|e| e.to_string())?;
        let jobs = OpenJobs {
            directory: &*directory,
            background: &self.background,
            after: None,
            page: Vec::new(),
            finished: false,
        };
        generation
            .load(jobs, &cursors, |indexed| {
                self.update_task(task_id, |t| t.indexed = indexed)
            })
            .map_err(|e| e.to_string())?;
        let previous = index::current_name(&self.dir);
        index::set_current(&self.dir, &name).map_err(|e| e.to_string())?;
        *self.live.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(generation);
        if let Some(previous) = previous.filter(|p| *p != name) {
            let _ = std::fs::remove_dir_all(self.dir.join(previous));
        }
        Ok(())
    }
}

/// Every open job of the job service, a page at a time.
struct OpenJobs<'a> {
    directory: &'a dyn JobDirectory,
    /// A rebuild gives up when shutdown begins; the next start rebuilds again.
    background: &'a Background,
    after: Option<String>,
    /// The rest of the current page, reversed.
    page: Vec<Job>,
    finished: bool,
}

impl Iterator for OpenJobs<'_> {
    type Item = Result<Job, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty() && !self.finished {
            if self.background.is_stopping() {
                self.finished = true;
                return Some(Err("shutting down".to_owned()));
            }
            match self.directory.open_jobs(self.after.as_deref(), REBUILD_PAGE) {
                Ok(page) => {
                    self.finished = page.len() < REBUILD_PAGE;
                    self.after = page.last().map(|job| job.id.clone());
                    self.page = page.into_iter().rev().collect();
                }
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error.to_string()));
                }
            }
        }
        self.page.pop().map(Ok)
    }
}

impl ServiceStatus for SearchService {
    fn is_ready(&self) -> bool {
        self.is_complete()
    }
}

impl Subscriber for SearchService {
    fn name(&self) -> &'static str {
        NAME
    }

    fn wants(&self, event_type: &str) -> bool {
        matches!(
            event_type,
            job_events::JOB_CREATED
                | job_events::JOB_UPDATED
                | job_events::JOB_DELETED
                | job_events::JOB_FILLED
                | job_events::JOB_COMPLETED
        )
    }

    fn cursor(&self, source: &str) -> Result<u64, HandlerError> {
        Ok(self.live().cursor(source))
    }

    fn apply(&self, source: &str, events: &[Envelope], up_to: u64) -> Result<(), HandlerError> {
        let _indexing = self.indexing.lock().unwrap_or_else(|p| p.into_inner());
        // Once shutdown begins the interval commits have stopped: what the last deliveries
        // bring is committed as it comes.
        let commit_now = self.background.is_stopping();
        self.live().apply(source, events, up_to, commit_now)?;
        Ok(())
    }

    /// Applied events become durable with the next commit: until then the outbox keeps them.
    fn durable(&self, source: &str, handed: u64) -> Result<u64, HandlerError> {
        Ok(self.live().durable(source, handed))
    }
}
