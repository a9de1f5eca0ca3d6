//! Search at scale, in-process: 100,000 synthetic postings through the real search service.
//!
//! Measures the bulk (re)index rate (a new index rebuilds from the job directory), search latency
//! over a mixed query set (text, filters, geo, sorts) and over the phone-typed relevance set
//! (`services/search/relevance/phone.tsv`: query understanding at work), suggestion latency, and
//! the process RSS with the index loaded. HTTP is left out on purpose: the gateway's own cost is measured by `run.sh`.
//!
//! `cargo run --release -p onetime-benches --bin search-bench -- [postings]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use onetime_common::directory::{DirectoryError, JobDirectory};
use onetime_common::events::job::{Application, Job};
use onetime_job::DEFAULT_CATEGORIES;
use onetime_search::synthetic::Generator;
use onetime_search::{Dictionary, SearchConfig, SearchParams, SearchService};

/// The job service, as far as a rebuild sees it: open jobs in id order. Jobs are generated on
/// demand (job `i` from seed `i`), so they take no memory of the benchmark's own.
struct Directory {
    postings: usize,
    now: time::OffsetDateTime,
}

impl Directory {
    fn nth(&self, i: usize) -> Job {
        let posting = Generator::new(i as u64, self.now).posting();
        let name = DEFAULT_CATEGORIES
            .iter()
            .find(|(slug, _)| *slug == posting.category)
            .map_or("기타", |(_, n)| n);
        posting.into_job(format!("job-{i:08}"), "employer".into(), name.to_owned())
    }
}

impl JobDirectory for Directory {
    fn open_jobs(&self, after: Option<&str>, limit: usize) -> Result<Vec<Job>, DirectoryError> {
        let start = match after {
            None => 0,
            Some(id) => {
                id.trim_start_matches("job-")
                    .parse::<usize>()
                    .map_err(|e| DirectoryError::Unavailable {
                        service: "job",
                        reason: e.to_string(),
                    })?
                    + 1
            }
        };
        Ok((start..self.postings.min(start + limit)).map(|i| self.nth(i)).collect())
    }

    fn job(&self, id: &str) -> Result<Option<Job>, DirectoryError> {
        let index = id.trim_start_matches("job-").parse::<usize>().ok();
        Ok(index.filter(|&i| i < self.postings).map(|i| self.nth(i)))
    }

    fn application(&self, _job_id: &str, _worker_id: &str) -> Result<Option<Application>, DirectoryError> {
        Ok(None)
    }
}

const QUERIES: &[&str] = &[
    "q=카페",
    "q=바리스타",
    "q=카페에서 일할 사람",
    "q=물류센터",
    "q=물류 센터 상하차",
    "q=편의점 야간",
    "q=강남 카페",
    "q=cafe",
    "q=바리스터",
    "q=행사 스태프&sort=wage",
    "q=청소&category=cleaning",
    "q=사무보조&minWage=11000",
    "q=카페&lat=37.4979&lng=127.0276&radiusKm=5",
    "lat=37.4979&lng=127.0276&radiusKm=3&sort=distance",
    "lat=35.1631&lng=129.1636&radiusKm=5&sort=distance",
    "category=logistics&sort=recent",
    "sort=wage&minWage=14000",
    "q=주말 알바&sort=recent",
    "q=택배 분류",
    "q=스타벅스",
];

/// The phone-typed relevance set: `kind<TAB>query<TAB>best job` lines.
const PHONE_SET: &str = include_str!("../../../services/search/relevance/phone.tsv");

/// The queries of the phone-typed set, as the relevance test sends them (20 results).
fn phone_queries() -> anyhow::Result<Vec<SearchParams>> {
    PHONE_SET
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let query = line
                .split('\t')
                .nth(1)
                .ok_or_else(|| anyhow::anyhow!("a relevance line without a query: {line:?}"))?;
            let encoded = serde_urlencoded::to_string([("q", query), ("limit", "20")])?;
            Ok(serde_urlencoded::from_str(&encoded)?)
        })
        .collect()
}

/// Latencies of `rounds` runs of every search in `params`.
fn time_searches(service: &SearchService, params: &[SearchParams], rounds: usize) -> anyhow::Result<Histogram<u64>> {
    let mut searches = Histogram::<u64>::new(3)?;
    for round in 0..rounds {
        for p in params {
            let at = Instant::now();
            let found = service.search(p).map_err(|e| anyhow::anyhow!("{e}"))?;
            if round == 0 {
                assert!(found.total > 0 || p.q.is_some(), "no results for a browse");
            }
            searches.record(at.elapsed().as_micros() as u64)?;
        }
    }
    Ok(searches)
}

const TYPED: &[&str] = &[
    "바",
    "바리",
    "발",
    "바리스",
    "ㅂㄹㅅㅌ",
    "물",
    "물류",
    "ㅁㄹ",
    "편의",
    "ㅍㅇㅈ",
    "카",
    "행사",
    "사무",
    "청",
];

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn report(name: &str, histogram: &Histogram<u64>) {
    let ms = |v: u64| v as f64 / 1000.0;
    println!(
        "{name}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        histogram.len(),
        ms(histogram.value_at_quantile(0.5)),
        ms(histogram.value_at_quantile(0.99)),
        ms(histogram.max())
    );
}

fn main() -> anyhow::Result<()> {
    let postings: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let directory = Arc::new(Directory {
        postings,
        now: time::OffsetDateTime::now_utc(),
    });
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let _guard = runtime.enter();

    println!("rss before the index: {:.0} MB", rss_mb());
    let started = Instant::now();
    let background = onetime_common::service::Background::default();
    let clients = Arc::new(onetime_common::directory::Clients::default());
    clients.provide_jobs(directory);
    let service = SearchService::open(
        dir.path().join("search"),
        &SearchConfig::default(),
        Arc::new(Dictionary::built_in()),
        clients,
        &background,
    )?;
    while !service.is_complete() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    println!(
        "bulk index: {postings} postings in {:.1} s = {:.0} docs/s",
        took.as_secs_f64(),
        postings as f64 / took.as_secs_f64()
    );

    let params: Vec<SearchParams> = QUERIES
        .iter()
        .map(|q| serde_urlencoded::from_str(q))
        .collect::<Result<_, _>>()?;
    let searches = time_searches(&service, &params, 100)?;
    report("search (mixed set)", &searches);
    let phone = phone_queries()?;
    report("search (phone-typed set)", &time_searches(&service, &phone, 20)?);

    let mut suggestions = Histogram::<u64>::new(3)?;
    for _ in 0..500 {
        for typed in TYPED {
            let at = Instant::now();
            service.suggest(typed).map_err(|e| anyhow::anyhow!("{e}"))?;
            suggestions.record(at.elapsed().as_micros() as u64)?;
        }
    }
    report("suggestions", &suggestions);
    println!("rss with the index loaded: {:.0} MB", rss_mb());
    Ok(())
}
