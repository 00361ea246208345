//! `concierge assist eval`: accuracy on a labelled CSV (the Bitext layout, `utterance` and
//! `intent`), per intent, and how long each classification took.

use crate::corpus::{read_labelled, CorpusError};
use crate::model::Model;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One intent's line in the report.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub total: usize,
    pub correct: usize,
    /// What the misses were taken for, and how often.
    pub taken_for: BTreeMap<String, usize>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub intents: BTreeMap<String, Tally>,
    /// Every classification's duration, sorted.
    pub durations: Vec<Duration>,
}

impl Report {
    pub fn total(&self) -> usize {
        self.intents.values().map(|t| t.total).sum()
    }

    pub fn accuracy(&self) -> f64 {
        let correct: usize = self.intents.values().map(|t| t.correct).sum();
        correct as f64 / self.total().max(1) as f64
    }

    /// The duration below which the given share (0–1) of classifications finished.
    pub fn percentile(&self, share: f64) -> Duration {
        if self.durations.is_empty() {
            return Duration::ZERO;
        }
        let i =
            ((self.durations.len() as f64 * share).ceil() as usize).clamp(1, self.durations.len());
        self.durations[i - 1]
    }
}

/// Classifies every row of the CSV and tallies the answers.
pub fn evaluate(model: &Model, name: &str, csv: &[u8]) -> Result<Report, CorpusError> {
    let rows = read_labelled(name, csv, "utterance")?;
    let mut report = Report::default();
    for (text, intent) in rows {
        let started = Instant::now();
        let verdict = model.classify(&text);
        report.durations.push(started.elapsed());
        let tally = report.intents.entry(intent.clone()).or_default();
        tally.total += 1;
        if verdict.intent.as_str() == intent {
            tally.correct += 1;
        } else {
            *tally
                .taken_for
                .entry(verdict.intent.to_string())
                .or_default() += 1;
        }
    }
    report.durations.sort_unstable();
    Ok(report)
}
