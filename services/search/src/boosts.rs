//! What a query asks beyond its words as scoring clauses: initial consonants and regions
//! ([`places`], which find jobs as text does), a time of day or week and a wage ([`intents`],
//! which order the jobs the words find). They add to a job's score; they never filter. Each
//! carries a label for the explain log ([`crate::explain`]).
//!
//! Time: what a posting says about itself (야간, 새벽, 주말 in its title or description) decides
//! first ([`SAYS_WHEN_BOOST`]); when its shift starts in Korea time comes next
//! ([`STARTS_WHEN_BOOST`]). Wage: the structured wage, never the words. A daily amount asked
//! (`일당 12만원`) is compared with what a shift pays a worker (the daily wage, or the hourly wage
//! times the paid time: API.md's `payPerWorker`), an hourly one with the wage per paid hour.

use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

use crate::analysis::analyze;
use crate::schema::Fields;
use crate::understand::{PART_WEIGHT, Understood};

/// Initial consonants matching a title or category word.
const INITIALS_BOOST: f32 = 3.0;
/// A region's address words in the address.
const REGION_BOOST: f32 = 2.0;
/// A posting naming the asked time in its title or description: about a title word's worth, so
/// that it outweighs the start time and a weaker text match.
const SAYS_WHEN_BOOST: f32 = 6.0;
/// A job whose shift starts in the asked slot: below the posting's own words, enough to decide
/// between jobs the text ties.
const STARTS_WHEN_BOOST: f32 = 4.0;
/// A job paid the asked way (hourly or daily): asking for a daily wage rules an hourly one
/// nearly out, so this is close to a title word's worth.
const WAGE_KIND_BOOST: f32 = 5.0;
/// A job paying at least the asked amount, and more again when close to it (±5 %).
const AMOUNT_BOOST: f32 = 3.0;
const CLOSE_AMOUNT_BOOST: f32 = 4.0;
/// For 센, 높은, 고시급: each step of pay a job reaches adds this, so the better paid ranks higher.
const HIGH_WAGE_STEP_BOOST: f32 = 3.0;
/// Steps of a good hourly wage: about 1.2, 1.4, 1.6 and 1.9 times the 2026 minimum wage
/// (10,320 won).
const HOURLY_STEPS: [i64; 4] = [12_400, 14_400, 16_500, 19_600];
/// Steps of a good day's pay.
const DAILY_STEPS: [i64; 4] = [100_000, 120_000, 140_000, 170_000];

/// A scoring clause and what the explain log calls it.
pub struct Boost {
    pub label: String,
    pub query: Box<dyn Query>,
}

impl Boost {
    fn constant(label: String, query: impl Query, boost: f32) -> Self {
        Self {
            label,
            query: Box::new(ConstScoreQuery::new(Box::new(query), boost)),
        }
    }

    fn scored(label: String, query: impl Query, boost: f32) -> Self {
        Self {
            label,
            query: Box::new(BoostQuery::new(Box::new(query), boost)),
        }
    }
}

fn term(field: Field, text: &str) -> TermQuery {
    TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs)
}

/// A term of an untokenized field (`shift`, `wage_kind`), which keeps no frequencies.
fn keyword(field: Field, text: &str) -> TermQuery {
    TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic)
}

fn between(field: Field, from: i64, to: i64) -> RangeQuery {
    RangeQuery::new(
        std::ops::Bound::Included(Term::from_field_i64(field, from)),
        std::ops::Bound::Included(Term::from_field_i64(field, to)),
    )
}

/// Every boost of `understood`: [`places`], then [`intents`].
pub fn boosts(fields: &Fields, understood: &Understood) -> Vec<Boost> {
    let mut boosts = places(fields, understood);
    boosts.extend(intents(fields, understood));
    boosts
}

/// What the query names beyond its text: initial consonants of title words, regions' address
/// words. Like text, they find jobs.
pub fn places(fields: &Fields, understood: &Understood) -> Vec<Boost> {
    let mut boosts = Vec::new();
    for initials in &understood.initials {
        let query = term(fields.initials, initials);
        boosts.push(Boost::scored(format!("initials {initials}"), query, INITIALS_BOOST));
    }
    for region in &understood.regions {
        for word in analyze(region) {
            let weight = if word.part { PART_WEIGHT } else { 1.0 };
            let query = term(fields.address, &word.text);
            boosts.push(Boost::scored(
                format!("region {}", word.text),
                query,
                REGION_BOOST * weight,
            ));
        }
    }
    boosts
}

/// When and for how much: these order the jobs the words find.
pub fn intents(fields: &Fields, understood: &Understood) -> Vec<Boost> {
    let mut boosts = Vec::new();
    when_boosts(fields, understood, &mut boosts);
    wage_boosts(fields, understood, &mut boosts);
    boosts
}

fn when_boosts(fields: &Fields, understood: &Understood, boosts: &mut Vec<Boost>) {
    for when in &understood.when {
        let says: Vec<(Occur, Box<dyn Query>)> = when
            .words
            .iter()
            .flat_map(|word| analyze(word))
            .filter(|word| !word.part)
            .flat_map(|word| {
                [fields.title, fields.description]
                    .map(|field| (Occur::Should, Box::new(term(field, &word.text)) as Box<dyn Query>))
            })
            .collect();
        let slot = &when.slot;
        if !says.is_empty() {
            boosts.push(Boost::constant(
                format!("says {slot}"),
                BooleanQuery::new(says),
                SAYS_WHEN_BOOST,
            ));
        }
        let starts = keyword(fields.shift, slot);
        boosts.push(Boost::constant(format!("starts {slot}"), starts, STARTS_WHEN_BOOST));
    }
}

fn wage_boosts(fields: &Fields, understood: &Understood, boosts: &mut Vec<Boost>) {
    let wage = &understood.wage;
    let daily = wage.kind.as_deref() == Some("daily");
    if let Some(kind) = &wage.kind {
        boosts.push(Boost::constant(
            format!("paid {kind}"),
            keyword(fields.wage_kind, kind),
            WAGE_KIND_BOOST,
        ));
    }
    // A day's amount is met by what a shift pays, an hour's by the wage per paid hour.
    let (field, per, steps) = if daily {
        (fields.pay, "a day", DAILY_STEPS)
    } else {
        (fields.hourly_wage, "an hour", HOURLY_STEPS)
    };
    if let Some(amount) = wage.amount {
        let (low, high) = (amount * 95 / 100, amount * 105 / 100);
        let at_least = between(field, low, i64::MAX);
        boosts.push(Boost::constant(format!("pays {amount}+ {per}"), at_least, AMOUNT_BOOST));
        let close = between(field, low, high);
        boosts.push(Boost::constant(
            format!("pays about {amount} {per}"),
            close,
            CLOSE_AMOUNT_BOOST,
        ));
    }
    if wage.high {
        for step in steps {
            // Well paid among the jobs paid the asked way: a daily wage is not a high hourly one.
            let reached: Box<dyn Query> = Box::new(between(field, step, i64::MAX));
            let mut must = vec![(Occur::Must, reached)];
            if let Some(kind) = &wage.kind {
                must.push((Occur::Must, Box::new(keyword(fields.wage_kind, kind))));
            }
            boosts.push(Boost::constant(
                format!("pays {step}+ {per}"),
                BooleanQuery::new(must),
                HIGH_WAGE_STEP_BOOST,
            ));
        }
    }
}
