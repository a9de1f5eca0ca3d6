//! Why a job ranks where it does, in the debug log (`RUST_LOG=onetime_search=debug`): what the
//! query was understood as, then for the first jobs of a ranked page the boosts they got by name
//! ([`crate::boosts`]: `says 야간`, `starts 야간`, `pays about 120000 a day`, ...) and, in
//! release builds, their score and Tantivy's breakdown of it by clause.

use tantivy::query::Query;
use tantivy::schema::Value;
use tantivy::{DocAddress, Searcher, TantivyDocument};

use crate::boosts::{Boost, boosts};
use crate::schema::Fields;
use crate::understand::Understood;

/// Ranked jobs whose score is explained.
const EXPLAINED: usize = 5;

/// The boosts of `boosts` the job at `address` got, as `label +score` (`says 야간 +4.00`). A
/// clause that does not match a job has no explanation.
fn got(searcher: &Searcher, boosts: &[Boost], address: DocAddress) -> Vec<String> {
    boosts
        .iter()
        .filter_map(|boost| {
            let why = boost.query.explain(searcher, address).ok()?;
            Some(format!("{} +{:.2}", boost.label, why.value()))
        })
        .collect()
}

/// Logs (at debug level) why the jobs at `first` of a ranked page rank where they do under
/// `query`, the query of `understood`.
pub fn explain(searcher: &Searcher, query: &dyn Query, fields: &Fields, understood: &Understood, first: &[DocAddress]) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    tracing::debug!(?understood, "search query understood");
    let boosts = boosts(fields, understood);
    for (rank, address) in first.iter().take(EXPLAINED).enumerate() {
        let title = searcher
            .doc::<TantivyDocument>(*address)
            .ok()
            .and_then(|doc| doc.get_first(fields.title).and_then(|v| v.as_str().map(str::to_owned)))
            .unwrap_or_default();
        let boosts = got(searcher, &boosts, *address).join(", ");
        // Tantivy's phrase scorer trips a debug assertion when it explains a job that comes
        // before the phrase's first match: debug builds log the boosts without the breakdown.
        if cfg!(debug_assertions) {
            tracing::debug!(rank = rank + 1, %title, %boosts, "search ranking");
            continue;
        }
        match query.explain(searcher, *address) {
            Ok(why) => tracing::debug!(
                rank = rank + 1,
                %title,
                score = why.value(),
                %boosts,
                why = %why.to_pretty_json(),
                "search ranking"
            ),
            Err(error) => tracing::debug!(rank = rank + 1, %title, %boosts, %error, "search ranking not explained"),
        }
    }
}

#[cfg(test)]
mod tests {
    use onetime_common::events::job::{self as events, Wage, WageKind};
    use tantivy::collector::TopDocs;
    use tantivy::query::AllQuery;

    use super::*;
    use crate::config::SearchConfig;
    use crate::dictionary::Dictionary;
    use crate::index::open;
    use crate::index::tests::{envelope, jobs};
    use crate::understand::understand;

    #[test]
    fn the_boosts_a_job_got_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let generation = open(dir.path(), &SearchConfig::default()).unwrap().generation;
        let mut job = jobs(1).remove(0);
        job.title = "편의점 야간 근무".into();
        job.description = "계산과 진열".into();
        // 22:00 on a Monday in Korea.
        job.starts_at = time::macros::datetime!(2026-12-07 13:00 UTC);
        job.wage = Wage {
            kind: WageKind::Daily,
            amount: 120_000,
        };
        job.pay_per_worker = 120_000;
        generation
            .apply("job", &[envelope(1, events::JOB_CREATED, &job)], 1, true)
            .unwrap();
        let searcher = generation.searcher();
        let (_, address) = searcher
            .search(&AllQuery, &TopDocs::with_limit(1).order_by_score())
            .unwrap()[0];

        let understood = understand("밤 일당 12만원", &Dictionary::built_in());
        let named = got(&searcher, &boosts(generation.fields(), &understood), address);
        assert_eq!(
            named,
            [
                "says 야간 +6.00",
                "starts 야간 +4.00",
                "paid daily +5.00",
                "pays 120000+ a day +3.00",
                "pays about 120000 a day +4.00"
            ]
        );
        let understood = understand("주말 시급 센", &Dictionary::built_in());
        assert!(got(&searcher, &boosts(generation.fields(), &understood), address).is_empty());
    }
}
