//! How a query, once understood ([`crate::understand`]), scores a job.
//!
//! Text: each term in the title weighs [`TITLE_BOOST`], in the category name
//! [`CATEGORY_BOOST`], in the description and the address 1 (times the term's own weight:
//! synonyms, morphemes of split compounds, romanised guesses and generic words weigh less than
//! words as typed). The query's words in the title in order (give or take a word) add
//! [`PHRASE_BOOST`]; near misses (one key off) add [`FUZZY_BOOST`], below any exact match.
//! Initials and regions find jobs like text; intents ([`crate::boosts`]) order what they find.

use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

use crate::boosts::{intents, places};
use crate::jamo;
use crate::schema::Fields;
use crate::understand::Understood;

/// Field weights of free text: title > category > description.
const TITLE_BOOST: f32 = 3.0;
const CATEGORY_BOOST: f32 = 1.5;
/// The query's words as a phrase in the title.
const PHRASE_BOOST: f32 = 2.0;
/// A near miss (and only a near miss: an exact hit scores as a hit) adds this constant, less than
/// a title hit.
const FUZZY_BOOST: f32 = 1.5;

fn term_in(field: Field, text: &str, boost: f32) -> (Occur, Box<dyn Query>) {
    let query = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs);
    (Occur::Should, Box::new(BoostQuery::new(Box::new(query), boost)))
}

/// Jobs with a term one edit from `term` in its field, but not `term` itself.
fn near_miss(term: Term, weight: f32) -> (Occur, Box<dyn Query>) {
    let fuzzy: Box<dyn Query> = Box::new(FuzzyTermQuery::new(term.clone(), 1, true));
    let exact: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
    let only_near = BooleanQuery::new(vec![(Occur::Must, fuzzy), (Occur::MustNot, exact)]);
    (
        Occur::Should,
        Box::new(BoostQuery::new(Box::new(only_near), FUZZY_BOOST * weight)),
    )
}

/// A Hangul word one key off (jamo level): `바리스터` still finds `바리스타`.
fn near_keys(fields: &Fields, word: &str, weight: f32) -> Option<(Occur, Box<dyn Query>)> {
    let keys = jamo::keystrokes(word);
    (jamo::has_hangul(word) && keys.chars().count() >= 4)
        .then(|| near_miss(Term::from_field_text(fields.keys, &keys), weight))
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
                clauses.push(near_miss(Term::from_field_text(field, word), weight));
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

/// The scoring query of `understood`. What the words name (text, initials, regions) finds
/// jobs; the intents (when, wage) add to their scores. Only when the words are all generic
/// (`알바`) or absent do intents find jobs too (`시급 센 알바`: any well-paid job). `None` when
/// the query asked for nothing searchable.
pub fn relevance_query(fields: &Fields, understood: &Understood) -> Option<Box<dyn Query>> {
    let mut named = Vec::new();
    text_clauses(fields, understood, &mut named);
    named.extend(
        places(fields, understood)
            .into_iter()
            .map(|boost| (Occur::Should, boost.query)),
    );
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = intents(fields, understood)
        .into_iter()
        .map(|boost| (Occur::Should, boost.query))
        .collect();
    if !named.is_empty() {
        let occur = if understood.is_specific() {
            Occur::Must
        } else {
            Occur::Should
        };
        clauses.push((occur, Box::new(BooleanQuery::new(named))));
    }
    (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
}
