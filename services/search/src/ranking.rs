//! How a query, once understood ([`crate::understand`]), scores a job.
//!
//! Text: each term in the title weighs [`TITLE_BOOST`], in the category name
//! [`CATEGORY_BOOST`], in the description and the address 1 (times the term's own weight:
//! synonyms, morphemes of split compounds, romanised guesses and generic words weigh less than
//! words as typed). The query's words in the title in order (give or take a word) add
//! [`PHRASE_BOOST`]; near misses (one key off) add [`FUZZY_BOOST`], below any exact match.
//! Intents add constant boosts: they rank, they never filter.

use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::Value;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

use crate::analysis::analyze;
use crate::jamo;
use crate::schema::Fields;
use crate::understand::{PART_WEIGHT, Understood};

/// Ranked jobs whose score is explained in the debug log.
const EXPLAINED: usize = 5;

/// Field weights of free text: title > category > description.
const TITLE_BOOST: f32 = 3.0;
const CATEGORY_BOOST: f32 = 1.5;
/// The query's words as a phrase in the title.
const PHRASE_BOOST: f32 = 2.0;
/// A near miss counts less than a hit.
const FUZZY_BOOST: f32 = 0.4;
/// Initial consonants matching a title or category word.
const INITIALS_BOOST: f32 = 3.0;
/// A region's address words in the address.
const REGION_BOOST: f32 = 2.0;
/// A job starting in the asked slot of day or week: below its own words (a title hit scores
/// several points), enough to decide between jobs the text ties.
const WHEN_BOOST: f32 = 1.5;
/// A job paid the asked way (hourly or daily).
const WAGE_KIND_BOOST: f32 = 1.0;
/// A job paying at least the asked amount, and more again when close to it.
const AMOUNT_BOOST: f32 = 1.5;
const CLOSE_AMOUNT_BOOST: f32 = 1.0;
/// A job paying well (for 센, 높은, 고시급).
const HIGH_WAGE_BOOST: f32 = 2.0;
/// What a "high" hourly wage is: about 1.3 times the 2026 minimum wage (10,320 won).
const HIGH_HOURLY_WAGE: i64 = 13_500;

fn term_in(field: Field, text: &str, boost: f32) -> (Occur, Box<dyn Query>) {
    let query = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs);
    (Occur::Should, Box::new(BoostQuery::new(Box::new(query), boost)))
}

fn constant(query: impl Query, boost: f32) -> (Occur, Box<dyn Query>) {
    (Occur::Should, Box::new(ConstScoreQuery::new(Box::new(query), boost)))
}

fn between(field: Field, from: i64, to: i64) -> RangeQuery {
    RangeQuery::new(
        std::ops::Bound::Included(Term::from_field_i64(field, from)),
        std::ops::Bound::Included(Term::from_field_i64(field, to)),
    )
}

/// A Hangul word one key off (jamo level): `바리스터` still finds `바리스타`.
fn near_keys(fields: &Fields, word: &str, weight: f32) -> Option<(Occur, Box<dyn Query>)> {
    let keys = jamo::keystrokes(word);
    (jamo::has_hangul(word) && keys.chars().count() >= 4).then(|| {
        let fuzzy = FuzzyTermQuery::new(Term::from_field_text(fields.keys, &keys), 1, true);
        (
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(fuzzy), FUZZY_BOOST * weight)) as Box<dyn Query>,
        )
    })
}

fn text_clauses(fields: &Fields, understood: &Understood, clauses: &mut Vec<(Occur, Box<dyn Query>)>) {
    let mut seen = std::collections::BTreeSet::new();
    for term in &understood.terms {
        seen.insert(term.text.clone());
        let (word, weight) = (term.text.as_str(), term.weight);
        clauses.push(term_in(fields.title, word, TITLE_BOOST * weight));
        clauses.push(term_in(fields.category_name, word, CATEGORY_BOOST * weight));
        clauses.push(term_in(fields.description, word, weight));
        clauses.push(term_in(fields.address, word, weight));
        if !term.typed {
            // Dictionary words are spelt right: no near misses (and no cost for them).
            continue;
        }
        if jamo::has_hangul(word) {
            clauses.extend(near_keys(fields, word, weight));
        } else if word.chars().count() >= 4 {
            for field in [fields.title, fields.description] {
                let fuzzy = FuzzyTermQuery::new(Term::from_field_text(field, word), 1, true);
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(fuzzy), FUZZY_BOOST * weight)),
                ));
            }
        }
    }
    // The analyser may cut a misspelt word where the right one stays whole (바리스터 → 바리스 +
    // 터): the word as typed gets its own near miss.
    for word in &understood.words {
        if seen.insert(word.clone()) {
            clauses.extend(near_keys(fields, word, 1.0));
        }
    }
    let phrase: Vec<Term> = understood
        .phrase
        .iter()
        .map(|word| Term::from_field_text(fields.title, word))
        .collect();
    if phrase.len() >= 2 {
        let mut query = PhraseQuery::new(phrase);
        query.set_slop(2);
        clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(query), PHRASE_BOOST))));
    }
}

fn intent_clauses(fields: &Fields, understood: &Understood, clauses: &mut Vec<(Occur, Box<dyn Query>)>) {
    for initials in &understood.initials {
        clauses.push(term_in(fields.initials, initials, INITIALS_BOOST));
    }
    for region in &understood.regions {
        for term in analyze(region) {
            let weight = if term.part { PART_WEIGHT } else { 1.0 };
            clauses.push(term_in(fields.address, &term.text, REGION_BOOST * weight));
        }
    }
    for slot in &understood.when {
        let shift = TermQuery::new(Term::from_field_text(fields.shift, slot), IndexRecordOption::Basic);
        clauses.push(constant(shift, WHEN_BOOST));
    }
    let wage = &understood.wage;
    if let Some(kind) = &wage.kind {
        let kind = TermQuery::new(Term::from_field_text(fields.wage_kind, kind), IndexRecordOption::Basic);
        clauses.push(constant(kind, WAGE_KIND_BOOST));
    }
    if let Some(amount) = wage.amount {
        // Daily amounts are compared with daily wages, hourly ones with hourly equivalents.
        let field = match wage.kind.as_deref() {
            Some("daily") => fields.wage_amount,
            _ => fields.hourly_wage,
        };
        clauses.push(constant(between(field, amount * 95 / 100, i64::MAX), AMOUNT_BOOST));
        clauses.push(constant(
            between(field, amount * 95 / 100, amount * 105 / 100),
            CLOSE_AMOUNT_BOOST,
        ));
    }
    if wage.high {
        clauses.push(constant(
            between(fields.hourly_wage, HIGH_HOURLY_WAGE, i64::MAX),
            HIGH_WAGE_BOOST,
        ));
    }
}

/// The scoring query of `understood`: a job matches when any part of it does. `None` when the
/// query asked for nothing searchable.
pub fn relevance_query(fields: &Fields, understood: &Understood) -> Option<Box<dyn Query>> {
    let mut clauses = Vec::new();
    text_clauses(fields, understood, &mut clauses);
    intent_clauses(fields, understood, &mut clauses);
    (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
}

/// Logs (at debug level) why the first jobs of a ranked page rank where they do: what the query
/// was understood as, and each job's score broken down by clause.
pub fn explain(searcher: &Searcher, query: &dyn Query, fields: &Fields, understood: &Understood, first: &[DocAddress]) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    tracing::debug!(?understood, "search query understood");
    for (rank, address) in first.iter().take(EXPLAINED).enumerate() {
        let title = searcher
            .doc::<TantivyDocument>(*address)
            .ok()
            .and_then(|doc| doc.get_first(fields.title).and_then(|v| v.as_str().map(str::to_owned)))
            .unwrap_or_default();
        match query.explain(searcher, *address) {
            Ok(why) => {
                tracing::debug!(rank = rank + 1, %title, score = why.value(), why = %why.to_pretty_json(), "search ranking")
            }
            Err(error) => tracing::debug!(rank = rank + 1, %title, %error, "search ranking not explained"),
        }
    }
}
