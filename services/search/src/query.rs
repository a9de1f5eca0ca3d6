//! A search request: its parameters checked into [`Search`], and the Tantivy query built from
//! it by hand (no query-syntax parser: quotes, colons or brackets in `q` are just text).

use std::ops::Bound;

use onetime_common::ApiError;
use serde::Deserialize;
use tantivy::Term;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use time::OffsetDateTime;
use time::macros::offset;

use crate::dictionary::Dictionary;
use crate::geo::Circle;
use crate::ranking::relevance_query;
use crate::schema::Fields;
use crate::understand::{Understood, understand};

/// Longest accepted `q`, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// `GET /search/jobs` query parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Free text in Korean or English; without it, filters and sorts browse all open jobs.
    pub q: Option<String>,
    /// A category slug.
    pub category: Option<String>,
    /// Latitude of the centre of a radius search (with `lng`).
    pub lat: Option<f64>,
    /// Longitude of the centre of a radius search (with `lat`).
    pub lng: Option<f64>,
    /// Radius in km around `lat`/`lng`, up to 500.
    pub radius_km: Option<f64>,
    /// Lowest hourly-equivalent wage in won.
    pub min_wage: Option<i64>,
    /// Jobs starting on or after this date (`2026-12-01`, KST) or instant (RFC 3339).
    pub from: Option<String>,
    /// Jobs starting on or before this date (the whole day, KST) or instant (RFC 3339).
    pub to: Option<String>,
    /// `relevance` (default with `q`), `distance` (needs `lat`/`lng`), `wage`, `recent` (default without `q`).
    pub sort: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Relevance,
    Distance,
    Wage,
    Recent,
}

/// A checked search.
#[derive(Debug, Clone)]
pub struct Search {
    pub text: Option<String>,
    /// What `text` asks for.
    pub understood: Option<Understood>,
    pub category: Option<String>,
    /// Where distances are measured from; with a radius, also a filter.
    pub origin: Option<(f64, f64)>,
    pub circle: Option<Circle>,
    pub min_wage: Option<i64>,
    pub starts_from: Option<OffsetDateTime>,
    pub starts_to: Option<OffsetDateTime>,
    pub sort: Sort,
    pub limit: usize,
    pub offset: usize,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::invalid_field(field, message)
}

/// A date (`YYYY-MM-DD`, a day in Korea) or an RFC 3339 instant; `end_of_day` picks the last
/// instant of a date.
fn parse_instant(field: &str, value: &str, end_of_day: bool) -> Result<OffsetDateTime, ApiError> {
    if let Ok(at) = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339) {
        return Ok(at);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(value, format)
        .map_err(|_| invalid(field, "expected a date like 2026-12-01 or an RFC 3339 time"))?;
    let time = if end_of_day {
        time::Time::MAX
    } else {
        time::Time::MIDNIGHT
    };
    Ok(day.with_time(time).assume_offset(offset!(+9)))
}

impl SearchParams {
    /// The checked search, its text read with `dictionary`.
    pub fn parse(&self, dictionary: &Dictionary) -> Result<Search, ApiError> {
        let text = self
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        if text.as_ref().is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
            return Err(invalid("q", &format!("at most {MAX_QUERY_CHARS} characters")));
        }
        let origin = match (self.lat, self.lng) {
            (None, None) => None,
            (Some(lat), Some(lng)) => {
                if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
                    return Err(invalid("lat", "a latitude between -90 and 90"));
                }
                if !(lng.is_finite() && (-180.0..=180.0).contains(&lng)) {
                    return Err(invalid("lng", "a longitude between -180 and 180"));
                }
                Some((lat, lng))
            }
            _ => return Err(invalid("lat", "lat and lng go together")),
        };
        let circle = match (self.radius_km, origin) {
            (None, _) => None,
            (Some(_), None) => return Err(invalid("radiusKm", "needs lat and lng")),
            (Some(radius), Some((lat, lng))) => {
                if !(radius.is_finite() && radius > 0.0 && radius <= 500.0) {
                    return Err(invalid("radiusKm", "a radius greater than 0 and at most 500 km"));
                }
                Some(Circle {
                    lat,
                    lng,
                    radius_km: radius,
                })
            }
        };
        if self.min_wage.is_some_and(|wage| wage < 0) {
            return Err(invalid("minWage", "a wage in won, 0 or more"));
        }
        let starts_from = self
            .from
            .as_deref()
            .map(|v| parse_instant("from", v, false))
            .transpose()?;
        let starts_to = self.to.as_deref().map(|v| parse_instant("to", v, true)).transpose()?;
        if let (Some(from), Some(to)) = (starts_from, starts_to)
            && from > to
        {
            return Err(invalid("to", "not before `from`"));
        }
        let sort = match self.sort.as_deref() {
            None if text.is_some() => Sort::Relevance,
            None => Sort::Recent,
            Some("relevance") => Sort::Relevance,
            Some("distance") if origin.is_some() => Sort::Distance,
            Some("distance") => return Err(invalid("sort", "distance needs lat and lng")),
            Some("wage") => Sort::Wage,
            Some("recent") => Sort::Recent,
            Some(_) => return Err(invalid("sort", "one of relevance, distance, wage, recent")),
        };
        let page = onetime_common::paging::PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
        .parse()?;
        let offset = match page.after {
            None => 0,
            Some(after) => after.parse().map_err(|_| {
                ApiError::bad_request("invalid_query", "query parameter `cursor` is not a cursor of this list")
            })?,
        };
        Ok(Search {
            understood: text.as_deref().map(|text| understand(text, dictionary)),
            text,
            category: self.category.clone(),
            origin,
            circle,
            min_wage: self.min_wage,
            starts_from,
            starts_to,
            sort,
            limit: page.limit,
            offset,
        })
    }
}

fn filter(query: impl Query) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(Box::new(query), 0.0)))
}

fn range(lower: Term, upper: Term) -> RangeQuery {
    RangeQuery::new(Bound::Included(lower), Bound::Included(upper))
}

impl Search {
    /// The whole query: text (when given) and every filter; `with_category` false leaves the
    /// category out, for the facet counts.
    pub fn query(&self, fields: &Fields, with_category: bool) -> Box<dyn Query> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        match self
            .understood
            .as_ref()
            .map(|understood| relevance_query(fields, understood))
        {
            Some(Some(text)) => clauses.push((Occur::Must, text)),
            // Text made only of particles or punctuation matches nothing, not everything.
            Some(None) => return Box::new(tantivy::query::EmptyQuery),
            None => clauses.push((Occur::Must, Box::new(tantivy::query::AllQuery))),
        }
        if with_category && let Some(category) = &self.category {
            clauses.push(filter(TermQuery::new(
                Term::from_field_text(fields.category, category),
                IndexRecordOption::Basic,
            )));
        }
        if let Some(min) = self.min_wage {
            clauses.push(filter(range(
                Term::from_field_i64(fields.hourly_wage, min),
                Term::from_field_i64(fields.hourly_wage, i64::MAX),
            )));
        }
        if self.starts_from.is_some() || self.starts_to.is_some() {
            let from = self
                .starts_from
                .map(crate::schema::date)
                .unwrap_or(tantivy::DateTime::MIN);
            let to = self
                .starts_to
                .map(crate::schema::date)
                .unwrap_or(tantivy::DateTime::MAX);
            clauses.push(filter(range(
                Term::from_field_date_for_search(fields.starts_at, from),
                Term::from_field_date_for_search(fields.starts_at, to),
            )));
        }
        if let Some(circle) = &self.circle {
            // Tantivy has no geo type: the bounding box narrows, the haversine check decides.
            let ((south, west), (north, east)) = circle.bounding_box();
            clauses.push(filter(range(
                Term::from_field_f64(fields.lat, south),
                Term::from_field_f64(fields.lat, north),
            )));
            clauses.push(filter(range(
                Term::from_field_f64(fields.lng, west),
                Term::from_field_f64(fields.lng, east),
            )));
        }
        Box::new(BooleanQuery::new(clauses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Result<Search, ApiError> {
        let query: String = pairs.iter().map(|(k, v)| format!("{k}={v}&")).collect();
        let params: SearchParams = serde_urlencoded::from_str(&query).unwrap();
        params.parse(&Dictionary::built_in())
    }

    #[test]
    fn defaults_browse_newest_first() {
        let search = params(&[]).unwrap();
        assert_eq!((search.sort, search.limit, search.offset), (Sort::Recent, 20, 0));
        assert_eq!(params(&[("q", "카페")]).unwrap().sort, Sort::Relevance);
        assert_eq!(params(&[("q", "   ")]).unwrap().text, None);
    }

    #[test]
    fn nonsense_is_refused_with_the_field_named() {
        for (pairs, field) in [
            (vec![("lat", "NaN"), ("lng", "127")], "lat"),
            (vec![("lat", "37.5")], "lat"),
            (vec![("lat", "37.5"), ("lng", "127"), ("radiusKm", "-1")], "radiusKm"),
            (vec![("radiusKm", "3")], "radiusKm"),
            (vec![("sort", "distance")], "sort"),
            (vec![("sort", "price")], "sort"),
            (vec![("from", "tomorrow")], "from"),
            (vec![("from", "2026-12-02"), ("to", "2026-12-01")], "to"),
            (vec![("minWage", "-5")], "minWage"),
        ] {
            let error = params(&pairs).unwrap_err();
            assert_eq!(error.status, 422, "{pairs:?}");
            assert!(error.errors.as_ref().unwrap().contains_key(field), "{pairs:?}: {error}");
        }
        let long = "가".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(params(&[("q", &long)]).unwrap_err().status, 422);
    }

    #[test]
    fn dates_are_korean_days() {
        let search = params(&[("from", "2026-12-01"), ("to", "2026-12-01")]).unwrap();
        assert_eq!(
            search.starts_from.unwrap().to_string(),
            "2026-12-01 0:00:00.0 +09:00:00"
        );
        assert!(search.starts_to.unwrap() > search.starts_from.unwrap());
    }
}
