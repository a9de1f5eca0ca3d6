//! Autocomplete over the titles and categories of open jobs, beyond what Nori offers: a prefix
//! works while its last syllable is still being typed ("바리스", "발" → 바리스타), and initial
//! consonants alone find a word ("ㅂㄹㅅㅌ" → 바리스타). Ranked by how many open jobs use it.
//!
//! Kept in memory, updated with the index: a job's phrases count while it is open. Which phrases
//! a job contributed is not kept here: the index reads them back from the job's document when
//! the job changes (see `Generation::put`), so memory grows with the distinct phrases, not with
//! the jobs.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use onetime_common::events::job::Job;

use crate::analysis::analyze;
use crate::jamo;

/// Most suggestions returned.
pub const MAX_SUGGESTIONS: usize = 10;

/// Every phrase is stored once and shared (`Arc<str>`) by the three maps that name it.
#[derive(Default)]
pub struct Suggester {
    /// Phrase → number of open jobs that use it.
    counts: HashMap<Arc<str>, u32>,
    /// (keystrokes, phrase) and (initials, phrase), for prefix ranges.
    by_keys: BTreeSet<(Box<str>, Arc<str>)>,
    by_initials: BTreeSet<(Box<str>, Arc<str>)>,
}

/// What `job` contributes: its whole title, the nouns of its title, its category name.
pub fn job_phrases(job: &Job) -> Vec<String> {
    phrases(&job.title, job.category_name.as_deref().unwrap_or(&job.category))
}

fn phrases(title: &str, category_name: &str) -> Vec<String> {
    let mut phrases = vec![title.trim().to_owned(), category_name.trim().to_owned()];
    for term in analyze(title) {
        if term.is_word() && term.text.chars().count() >= 2 {
            phrases.push(term.text);
        }
    }
    phrases.retain(|p| !p.is_empty());
    phrases.sort();
    phrases.dedup();
    phrases
}

impl Suggester {
    /// Counts one more use of each of `phrases`.
    pub fn count(&mut self, phrases: &[String]) {
        for phrase in phrases {
            if let Some(count) = self.counts.get_mut(phrase.as_str()) {
                *count += 1;
                continue;
            }
            let shared: Arc<str> = phrase.as_str().into();
            self.by_keys.insert((jamo::keystrokes(phrase).into(), shared.clone()));
            self.by_initials.insert((jamo::initials(phrase).into(), shared.clone()));
            self.counts.insert(shared, 1);
        }
    }

    /// Counts one use less of each of `phrases`, forgetting those no job uses any more.
    pub fn uncount(&mut self, phrases: &[String]) {
        for phrase in phrases {
            let Some(count) = self.counts.get_mut(phrase.as_str()) else {
                continue;
            };
            *count -= 1;
            if *count == 0 {
                let (shared, _) = self.counts.remove_entry(phrase.as_str()).expect("found above");
                self.by_keys.remove(&(jamo::keystrokes(phrase).into(), shared.clone()));
                self.by_initials.remove(&(jamo::initials(phrase).into(), shared));
            }
        }
    }

    /// The most used phrases that `typed` is the beginning of.
    pub fn suggest(&self, typed: &str) -> Vec<String> {
        let typed = typed.trim();
        if typed.is_empty() {
            return Vec::new();
        }
        let (index, prefix): (_, String) = if jamo::is_initials(typed) {
            (
                &self.by_initials,
                typed.chars().filter(|c| !c.is_whitespace()).collect(),
            )
        } else {
            (&self.by_keys, jamo::keystrokes(typed))
        };
        let mut found: Vec<(&Arc<str>, u32)> = index
            .range((Box::from(prefix.as_str()), Arc::from(""))..)
            .take_while(|(keys, _)| keys.starts_with(prefix.as_str()))
            .map(|(_, phrase)| (phrase, self.counts.get(phrase).copied().unwrap_or(0)))
            .collect();
        found.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(a.0.chars().count().cmp(&b.0.chars().count()))
                .then(a.0.cmp(b.0))
        });
        found
            .into_iter()
            .take(MAX_SUGGESTIONS)
            .map(|(phrase, _)| phrase.to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggester() -> Suggester {
        let mut s = Suggester::default();
        s.count(&phrases("카페 바리스타", "음식점·카페"));
        s.count(&phrases("바리스타 구합니다", "음식점·카페"));
        s.count(&phrases("물류센터 상하차", "물류·배송"));
        s
    }

    #[test]
    fn prefixes_partial_syllables_and_initials_find_words() {
        let s = suggester();
        for typed in ["바리", "바리스", "발", "ㅂㄹㅅㅌ", "ㅂㄹ"] {
            assert!(
                s.suggest(typed).contains(&"바리스타".to_owned()),
                "{typed}: {:?}",
                s.suggest(typed)
            );
        }
        assert_eq!(s.suggest("물류")[0], "물류", "{:?}", s.suggest("물류"));
        assert!(s.suggest("없는말").is_empty());
    }

    #[test]
    fn more_used_phrases_rank_first_and_closed_jobs_stop_counting() {
        let mut s = suggester();
        assert_eq!(s.suggest("바")[0], "바리스타");
        s.uncount(&phrases("카페 바리스타", "음식점·카페"));
        s.uncount(&phrases("바리스타 구합니다", "음식점·카페"));
        assert!(s.suggest("바").is_empty());
    }
}
