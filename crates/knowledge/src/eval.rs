//! Measuring search quality: questions shoppers ask, each labelled with the article that
//! answers it, run through the search; the share answered first (top-1) and within the first
//! three results (top-3). `concierge knowledge eval` prints it; the set for the demo shop is
//! `crates/knowledge/eval/questions.csv`.

use crate::{Library, Search};
use concierge_domain::knowledge::Locale;
use concierge_store::StoreError;

/// The evaluation set for the demo shop's help center: shopper questions, each labelled
/// with the slug of the demo article that answers it.
pub const DEMO_QUESTIONS: &str = include_str!("../eval/questions.csv");

/// A question and the slug of the article that answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub text: String,
    pub article: String,
}

/// What the search made of one question.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub question: Question,
    /// Where the answering article came (1 is first); `None` when not in the first ten.
    pub rank: Option<usize>,
    /// The slugs of the first three results.
    pub first: Vec<String>,
}

/// The outcomes of a set of questions.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

impl Report {
    fn share(&self, within: usize) -> f64 {
        if self.outcomes.is_empty() {
            return 0.0;
        }
        let hits = self
            .outcomes
            .iter()
            .filter(|o| o.rank.is_some_and(|r| r <= within))
            .count();
        hits as f64 / self.outcomes.len() as f64
    }

    /// The share of questions whose article came first.
    pub fn top1(&self) -> f64 {
        self.share(1)
    }

    /// The share of questions whose article was among the first three.
    pub fn top3(&self) -> f64 {
        self.share(3)
    }

    /// The questions whose article was not among the first three.
    pub fn misses(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes
            .iter()
            .filter(|o| o.rank.is_none_or(|r| r > 3))
    }
}

/// Reads questions from CSV with the columns `question` and `article` (a slug), in any
/// order, after a header row.
pub fn read_questions(csv_text: &str) -> Result<Vec<Question>, String> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("the CSV header: {e}"))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| format!("the CSV has no `{name}` column"))
    };
    let (q, a) = (column("question")?, column("article")?);
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("row {}: {e}", i + 2))?;
        let text = record.get(q).unwrap_or("").trim().to_owned();
        let article = record.get(a).unwrap_or("").trim().to_owned();
        if text.is_empty() || article.is_empty() {
            return Err(format!(
                "row {}: a question and an article are needed",
                i + 2
            ));
        }
        out.push(Question { text, article });
    }
    Ok(out)
}

/// Runs each question through the search of `locale`'s published articles.
pub fn evaluate(
    library: &Library,
    questions: &[Question],
    locale: &Locale,
) -> Result<Report, StoreError> {
    let mut outcomes = Vec::with_capacity(questions.len());
    for question in questions {
        let hits = library.search(&Search {
            text: &question.text,
            locale: Some(locale),
            published_only: true,
            limit: 10,
            offset: 0,
        })?;
        let rank = hits
            .iter()
            .position(|h| h.slug == question.article)
            .map(|i| i + 1);
        outcomes.push(Outcome {
            question: question.clone(),
            rank,
            first: hits.iter().take(3).map(|h| h.slug.clone()).collect(),
        });
    }
    Ok(Report { outcomes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_come_from_csv_with_named_columns() {
        let qs = read_questions("article,question\nreturns-policy,\"can I return, say, shoes?\"\n")
            .unwrap();
        assert_eq!(
            qs,
            [Question {
                text: "can I return, say, shoes?".into(),
                article: "returns-policy".into()
            }]
        );
        assert!(read_questions("q,a\nx,y\n")
            .unwrap_err()
            .contains("question"));
        assert!(read_questions("question,article\n,returns\n").is_err());
    }
}
