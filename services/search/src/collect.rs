//! Collectors beyond Tantivy's: every match with what sorting by distance needs, and category
//! facet counts. Both can keep only the matches inside a circle.

use std::collections::BTreeMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::geo::Circle;

/// A match with its sort keys.
#[derive(Debug, Clone, Copy)]
pub struct Match {
    pub address: DocAddress,
    pub score: Score,
    pub lat: f64,
    pub lng: f64,
    pub created_at: i64,
    pub hourly_wage: i64,
}

/// Every match (inside `circle`, when given).
pub struct AllMatches {
    pub circle: Option<Circle>,
    pub scored: bool,
}

pub struct SegmentMatches {
    segment: SegmentOrdinal,
    circle: Option<Circle>,
    lat: Column<f64>,
    lng: Column<f64>,
    created_at: Column<tantivy::DateTime>,
    hourly_wage: Column<i64>,
    matches: Vec<Match>,
}

fn location(lat: &Column<f64>, lng: &Column<f64>, doc: DocId) -> (f64, f64) {
    (lat.first(doc).unwrap_or(f64::NAN), lng.first(doc).unwrap_or(f64::NAN))
}

impl Collector for AllMatches {
    type Fruit = Vec<Match>;
    type Child = SegmentMatches;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentMatches> {
        let fast = reader.fast_fields();
        Ok(SegmentMatches {
            segment,
            circle: self.circle,
            lat: fast.f64("lat")?,
            lng: fast.f64("lng")?,
            created_at: fast.date("created_at")?,
            hourly_wage: fast.i64("hourly_wage")?,
            matches: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scored
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Match>>) -> tantivy::Result<Vec<Match>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentMatches {
    type Fruit = Vec<Match>;

    fn collect(&mut self, doc: DocId, score: Score) {
        let (lat, lng) = location(&self.lat, &self.lng, doc);
        if self.circle.is_some_and(|circle| !circle.contains((lat, lng))) {
            return;
        }
        self.matches.push(Match {
            address: DocAddress::new(self.segment, doc),
            score,
            lat,
            lng,
            created_at: self.created_at.first(doc).map_or(0, |at| at.into_timestamp_micros()),
            hourly_wage: self.hourly_wage.first(doc).unwrap_or(0),
        });
    }

    fn harvest(self) -> Vec<Match> {
        self.matches
    }
}

/// Matches per category slug (inside `circle`, when given).
pub struct CategoryFacets {
    pub circle: Option<Circle>,
}

pub struct SegmentFacets {
    circle: Option<Circle>,
    categories: Option<StrColumn>,
    lat: Column<f64>,
    lng: Column<f64>,
    counts: Vec<u64>,
}

impl Collector for CategoryFacets {
    type Fruit = BTreeMap<String, u64>;
    type Child = SegmentFacets;

    fn for_segment(&self, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let fast = reader.fast_fields();
        let categories = fast.str("category")?;
        let terms = categories.as_ref().map_or(0, |c| c.num_terms());
        Ok(SegmentFacets {
            circle: self.circle,
            categories,
            lat: fast.f64("lat")?,
            lng: fast.f64("lng")?,
            counts: vec![0; terms],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<BTreeMap<String, u64>>) -> tantivy::Result<BTreeMap<String, u64>> {
        let mut merged = BTreeMap::new();
        for fruit in fruits {
            for (slug, count) in fruit {
                *merged.entry(slug).or_insert(0) += count;
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = BTreeMap<String, u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if self
            .circle
            .is_some_and(|circle| !circle.contains(location(&self.lat, &self.lng, doc)))
        {
            return;
        }
        if let Some(ord) = self.categories.as_ref().and_then(|c| c.ords().first(doc)) {
            self.counts[ord as usize] += 1;
        }
    }

    fn harvest(self) -> BTreeMap<String, u64> {
        let mut facets = BTreeMap::new();
        let Some(categories) = self.categories else {
            return facets;
        };
        for (ord, &count) in self.counts.iter().enumerate() {
            let mut slug = String::new();
            if count > 0 && categories.ord_to_str(ord as u64, &mut slug).unwrap_or(false) {
                facets.insert(slug, count);
            }
        }
        facets
    }
}
