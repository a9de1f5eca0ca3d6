//! Autocomplete over the titles and categories of open jobs, beyond what Nori offers: a prefix
//! works while its last syllable is still being typed ("바리스", "발" → 바리스타), and initial
//! consonants alone find a word ("ㅂㄹㅅㅌ" → 바리스타). Ranked by how many open jobs use it.
//!
//! Kept in memory, updated with the index: a job's phrases count while it is open.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::analysis::analyze;
use crate::jamo;

/// Most suggestions returned.
pub const MAX_SUGGESTIONS: usize = 10;

/// Every phrase is stored once and shared (`Arc<str>`) by the maps that name it: a store of
/// hundreds of thousands of open jobs keeps this in memory, and copies per map and per job were
/// most of what it cost.
#[derive(Default)]
pub struct Suggester {
    /// Phrase → number of open jobs that use it.
    counts: HashMap<Arc<str>, u32>,
    /// (keystrokes, phrase) and (initials, phrase), for prefix ranges.
    by_keys: BTreeSet<(Box<str>, Arc<str>)>,
    by_initials: BTreeSet<(Box<str>, Arc<str>)>,
    /// The phrases each open job contributed, to take them back when it closes.
    by_job: HashMap<Box<str>, Box<[Arc<str>]>>,
}

/// What a job contributes: its whole title, the nouns of its title, its category name.
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
    /// Counts `job_id`'s phrases (replacing what it contributed before).
    pub fn add(&mut self, job_id: &str, title: &str, category_name: &str) {
        self.remove(job_id);
        let shared: Vec<Arc<str>> = phrases(title, category_name)
            .into_iter()
            .map(|phrase| self.count_in(&phrase))
            .collect();
        self.by_job.insert(job_id.into(), shared.into_boxed_slice());
    }

    /// Counts one more use of `phrase`; answers the shared copy of it.
    fn count_in(&mut self, phrase: &str) -> Arc<str> {
        if let Some((shared, count)) = self.counts.get_key_value(phrase) {
            let shared = shared.clone();
            self.counts.insert(shared.clone(), count + 1);
            return shared;
        }
        let shared: Arc<str> = phrase.into();
        self.counts.insert(shared.clone(), 1);
        self.by_keys.insert((jamo::keystrokes(phrase).into(), shared.clone()));
        self.by_initials.insert((jamo::initials(phrase).into(), shared.clone()));
        shared
    }

    /// Takes back what `job_id` contributed.
    pub fn remove(&mut self, job_id: &str) {
        let Some(phrases) = self.by_job.remove(job_id) else {
            return;
        };
        for phrase in phrases {
            let Some(count) = self.counts.get_mut(&phrase) else {
                continue;
            };
            *count -= 1;
            if *count == 0 {
                self.counts.remove(&phrase);
                self.by_keys.remove(&(jamo::keystrokes(&phrase).into(), phrase.clone()));
                self.by_initials.remove(&(jamo::initials(&phrase).into(), phrase));
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
        s.add("1", "카페 바리스타", "음식점·카페");
        s.add("2", "바리스타 구합니다", "음식점·카페");
        s.add("3", "물류센터 상하차", "물류·배송");
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
        s.remove("1");
        s.remove("2");
        assert!(s.suggest("바").is_empty());
    }
}
