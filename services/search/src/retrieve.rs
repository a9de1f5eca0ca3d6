//! Running a [`Search`] on a [`Generation`]: the ranked (or sorted) page of matches, the
//! category facets, and each hit's stored job, highlights and distance.

use std::collections::BTreeMap;
use std::time::Instant;

use onetime_common::events::job::Job;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::Query;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument};

use crate::collect::{AllMatches, CategoryFacets, Match};
use crate::geo::haversine_km;
use crate::index::{Generation, IndexError, stored_job};
use crate::query::{Search, Sort};
use crate::schema::Fields;

/// One result: the job, its highlighted fields, its distance from the origin.
#[derive(Debug, Clone)]
pub struct Hit {
    pub job: Job,
    pub highlights: BTreeMap<String, String>,
    pub distance_km: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Results {
    /// Up to `limit + 1` hits: one more tells that another page follows.
    pub hits: Vec<Hit>,
    pub total: u64,
    pub facets: BTreeMap<String, u64>,
    pub took_ms: f64,
}

/// The matches of a page, each with its distance when the search collected it.
type Page = Vec<(DocAddress, Option<f64>)>;

impl Generation {
    pub fn search(&self, search: &Search) -> Result<Results, IndexError> {
        let started = Instant::now();
        let searcher = self.searcher();
        let fields = self.fields();
        let query = search.query(fields, true);
        let facets_query = search.query(fields, false);
        let facets = searcher.search(&*facets_query, &CategoryFacets { circle: search.circle })?;
        let (total, page) = if search.circle.is_some() || search.sort == Sort::Distance {
            in_memory_page(&searcher, &*query, search)?
        } else {
            collected_page(&searcher, &*query, search)?
        };
        if let Some(understood) = &search.understood
            && search.sort == Sort::Relevance
        {
            let first: Vec<DocAddress> = page.iter().map(|(address, _)| *address).collect();
            crate::explain::explain(&searcher, &*query, fields, understood, &first);
        }
        Ok(Results {
            hits: hits(&searcher, &*query, fields, search, page)?,
            total,
            facets,
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }
}

/// The page of a geo search or a distance sort: every match (inside the circle) is collected
/// and sorted in memory, as Tantivy has no geo type.
fn in_memory_page(searcher: &Searcher, query: &dyn Query, search: &Search) -> Result<(u64, Page), IndexError> {
    let collector = AllMatches {
        circle: search.circle,
        scored: search.sort == Sort::Relevance,
    };
    let mut matches = searcher.search(query, &collector)?;
    let distance = |m: &Match| search.origin.map(|origin| haversine_km(origin, (m.lat, m.lng)));
    match search.sort {
        Sort::Relevance => matches.sort_by(|a, b| b.score.total_cmp(&a.score)),
        Sort::Distance => matches.sort_by(|a, b| distance(a).unwrap_or(0.0).total_cmp(&distance(b).unwrap_or(0.0))),
        Sort::Wage => matches.sort_by_key(|m| std::cmp::Reverse(m.hourly_wage)),
        Sort::Recent => matches.sort_by_key(|m| std::cmp::Reverse(m.created_at)),
    }
    let page = matches
        .iter()
        .skip(search.offset)
        .take(search.limit + 1)
        .map(|m| (m.address, distance(m)))
        .collect();
    Ok((matches.len() as u64, page))
}

/// The page of any other search, collected by Tantivy in score or fast-field order.
fn collected_page(searcher: &Searcher, query: &dyn Query, search: &Search) -> Result<(u64, Page), IndexError> {
    let top = TopDocs::with_limit(search.limit + 1).and_offset(search.offset);
    let addresses: Vec<DocAddress> = match search.sort {
        Sort::Relevance => searcher
            .search(query, &top.order_by_score())?
            .into_iter()
            .map(|(_, a)| a)
            .collect(),
        Sort::Wage => searcher
            .search(query, &top.order_by_fast_field::<i64>("hourly_wage", Order::Desc))?
            .into_iter()
            .map(|(_, a)| a)
            .collect(),
        Sort::Recent | Sort::Distance => searcher
            .search(
                query,
                &top.order_by_fast_field::<tantivy::DateTime>("created_at", Order::Desc),
            )?
            .into_iter()
            .map(|(_, a)| a)
            .collect(),
    };
    let total = searcher.search(query, &Count)? as u64;
    Ok((total, addresses.into_iter().map(|a| (a, None)).collect()))
}

/// The page's jobs as stored, with their highlights (for text searches) and distances.
fn hits(
    searcher: &Searcher,
    query: &dyn Query,
    fields: &Fields,
    search: &Search,
    page: Page,
) -> Result<Vec<Hit>, IndexError> {
    let snippets = match &search.text {
        Some(_) => Some((
            SnippetGenerator::create(searcher, query, fields.title)?,
            SnippetGenerator::create(searcher, query, fields.description)?,
        )),
        None => None,
    };
    let mut hits = Vec::with_capacity(page.len());
    for (address, distance) in page {
        let doc: TantivyDocument = searcher.doc(address)?;
        let Some(job) = stored_job(&doc, fields) else { continue };
        let mut highlights = BTreeMap::new();
        if let Some((title, description)) = &snippets {
            for (name, generator) in [("title", title), ("description", description)] {
                let snippet = generator.snippet_from_doc(&doc);
                if !snippet.highlighted().is_empty() {
                    highlights.insert(name.to_owned(), snippet.to_html());
                }
            }
        }
        let origin = search.origin;
        let distance_km = distance.or_else(|| origin.map(|o| haversine_km(o, (job.location.lat, job.location.lng))));
        hits.push(Hit {
            job,
            highlights,
            distance_km: distance_km.map(|d| (d * 1000.0).round() / 1000.0),
        });
    }
    Ok(hits)
}
