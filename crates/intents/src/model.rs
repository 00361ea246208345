//! The intent model: a linear classifier over TF-IDF weighted features, one weight vector per
//! class, scores turned into confidences by a softmax whose temperature was fitted on held-out
//! data. Weights are stored as one byte each with a scale per class, which keeps the artefact
//! small; inference is a few hundred multiply-adds.

use crate::features::{features, sentences};
use crate::intents::NEUTRAL;
use concierge_domain::intents::{Intent, IntentCategory};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Below this confidence an answer is `unknown`: the assistant asks or hands over rather than
/// answering the wrong question.
pub const CONFIDENT: f32 = 0.5;

/// What a message is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// One of the intents, or `unknown`.
    pub intent: Intent,
    /// How sure the model is of its best intent, 0 to 1 (reported even when that was too
    /// unsure to name).
    pub confidence: f32,
}

impl Verdict {
    /// The intent's category (`ORDER`, `REFUND`, …), or `unknown`.
    pub fn category(&self) -> IntentCategory {
        self.intent.category()
    }

    /// The confidence as the CLI and the API report it: four decimals say all there is, more
    /// would only be float noise.
    pub fn reported_confidence(&self) -> f64 {
        (f64::from(self.confidence) * 10_000.0).round() / 10_000.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model file is not a model: {0}")]
    Corrupt(#[from] postcard::Error),
    #[error("the model file is inconsistent: {0}")]
    Inconsistent(&'static str),
    #[error("the model file has a class that is no intent: {0:?}")]
    UnknownClass(String),
}

/// The model as stored. Weights are feature-major (`features × classes`), so scoring a text
/// reads one short row per feature it has.
#[derive(Serialize, Deserialize)]
pub(crate) struct Artefact {
    pub classes: Vec<String>,
    pub vocabulary: Vec<String>,
    pub idf: Vec<f32>,
    pub weights: Vec<i8>,
    pub scales: Vec<f32>,
    pub bias: Vec<f32>,
    pub temperature: f32,
}

/// A loaded model, ready to classify.
pub struct Model {
    classes: Vec<String>,
    /// Each class as an intent; `neutral`'s is never reported (see [`Model::best`]).
    intents: Vec<Intent>,
    neutral: Option<usize>,
    index: HashMap<String, u32>,
    idf: Vec<f32>,
    weights: Vec<i8>,
    scales: Vec<f32>,
    bias: Vec<f32>,
    temperature: f32,
}

/// A sparse, L2-normalised feature vector.
pub(crate) type Vector = Vec<(u32, f32)>;

impl Model {
    /// Reads a model written by [`Model::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let a: Artefact = postcard::from_bytes(bytes)?;
        let (n, k) = (a.vocabulary.len(), a.classes.len());
        if k == 0 || a.idf.len() != n || a.weights.len() != n * k {
            return Err(ModelError::Inconsistent("sizes do not agree"));
        }
        if a.scales.len() != k || a.bias.len() != k {
            return Err(ModelError::Inconsistent("per-class values do not agree"));
        }
        if let Some(class) = a
            .classes
            .iter()
            .find(|c| *c != NEUTRAL && !Intent::parse(c).is_ok_and(Intent::is_known))
        {
            return Err(ModelError::UnknownClass(class.clone()));
        }
        Ok(Self::from_artefact(a))
    }

    pub(crate) fn from_artefact(a: Artefact) -> Self {
        let index = a
            .vocabulary
            .into_iter()
            .enumerate()
            .map(|(i, f)| (f, i as u32))
            .collect();
        Self {
            neutral: a.classes.iter().position(|c| c == NEUTRAL),
            intents: a
                .classes
                .iter()
                .map(|c| Intent::parse(c).unwrap_or(Intent::Unknown))
                .collect(),
            classes: a.classes,
            index,
            idf: a.idf,
            weights: a.weights,
            scales: a.scales,
            bias: a.bias,
            temperature: a.temperature,
        }
    }

    /// The model as bytes, for the artefact file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut vocabulary = vec![String::new(); self.idf.len()];
        for (feature, &i) in &self.index {
            vocabulary[i as usize] = feature.clone();
        }
        let artefact = Artefact {
            classes: self.classes.clone(),
            vocabulary,
            idf: self.idf.clone(),
            weights: self.weights.clone(),
            scales: self.scales.clone(),
            bias: self.bias.clone(),
            temperature: self.temperature,
        };
        postcard::to_stdvec(&artefact).expect("a model always serialises")
    }

    /// The classes the model knows, `neutral` among them.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    pub(crate) fn set_temperature(&mut self, temperature: f32) {
        self.temperature = temperature;
    }

    /// What the message is about. The whole message is read at once: the model was trained
    /// on shoppers' messages as they write them, greetings and context included, and learned
    /// to look past those (reading sentence by sentence did worse on the development set).
    /// Only when the whole reads as asking nothing, or nothing clearly, are its sentences read
    /// one by one: a short ask among pleasantries ("hi! where's my order? it's been a while")
    /// can drown in them, and one clear sentence is enough.
    pub fn classify(&self, text: &str) -> Verdict {
        let whole = self.best(&self.probabilities(text));
        if whole.is_some() {
            return self.verdict(whole);
        }
        let parts = sentences(text);
        let by_sentence = if parts.len() > 1 {
            parts
                .iter()
                .filter_map(|s| self.best(&self.probabilities(s)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
        } else {
            None
        };
        match by_sentence {
            Some(found) => self.verdict(Some(found)),
            None => Verdict {
                intent: Intent::Unknown,
                confidence: self.top(&self.probabilities(text)),
            },
        }
    }

    /// The most likely intent and its probability, when it is an intent (not `neutral`) and
    /// confident enough.
    fn best(&self, p: &[f32]) -> Option<(usize, f32)> {
        let (i, &confidence) = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("a model has classes");
        (Some(i) != self.neutral && confidence >= CONFIDENT).then_some((i, confidence))
    }

    fn top(&self, p: &[f32]) -> f32 {
        p.iter().copied().fold(0.0, f32::max)
    }

    fn verdict(&self, best: Option<(usize, f32)>) -> Verdict {
        let (i, confidence) = best.expect("called with a verdict");
        Verdict {
            intent: self.intents[i],
            confidence,
        }
    }

    /// The probability of every class for one piece of text.
    pub(crate) fn probabilities(&self, text: &str) -> Vec<f32> {
        let scores = self.scores(&self.vector(text));
        softmax(&scores, self.temperature)
    }

    pub(crate) fn scores(&self, x: &Vector) -> Vec<f32> {
        let k = self.classes.len();
        let mut sums = vec![0f32; k];
        for &(j, v) in x {
            let row = &self.weights[j as usize * k..(j as usize + 1) * k];
            for (sum, &w) in sums.iter_mut().zip(row) {
                *sum += v * f32::from(w);
            }
        }
        sums.iter()
            .zip(&self.scales)
            .zip(&self.bias)
            .map(|((s, scale), b)| s * scale + b)
            .collect()
    }

    /// The text's TF-IDF vector over the known features: sublinear term frequency, unit
    /// length. Features the model never saw are ignored.
    pub(crate) fn vector(&self, text: &str) -> Vector {
        vectorise(&features(text), |f| self.index.get(f).copied(), &self.idf)
    }
}

/// Counts the known features, weights them and scales the vector to unit length.
pub(crate) fn vectorise(
    features: &[String],
    id: impl Fn(&str) -> Option<u32>,
    idf: &[f32],
) -> Vector {
    let mut counts: HashMap<u32, u32> = HashMap::with_capacity(features.len());
    for f in features {
        if let Some(j) = id(f) {
            *counts.entry(j).or_default() += 1;
        }
    }
    let mut x: Vector = counts
        .into_iter()
        .map(|(j, n)| (j, (1.0 + (n as f32).ln()) * idf[j as usize]))
        .collect();
    x.sort_unstable_by_key(|&(j, _)| j);
    let norm = x.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, v) in &mut x {
            *v /= norm;
        }
    }
    x
}

pub(crate) fn softmax(scores: &[f32], temperature: f32) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = scores
        .iter()
        .map(|s| ((s - max) * temperature).exp())
        .collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Builds a model from trained weights (`classes × features`, row per class), quantising each
/// class's weights to one byte against its largest.
pub(crate) fn quantise(
    classes: Vec<String>,
    vocabulary: Vec<String>,
    idf: Vec<f32>,
    trained: &[(Vec<f32>, f32)],
    temperature: f32,
) -> Model {
    let (n, k) = (vocabulary.len(), classes.len());
    let scales: Vec<f32> = trained
        .iter()
        .map(|(w, _)| {
            w.iter()
                .fold(0f32, |m, v| m.max(v.abs()))
                .max(f32::MIN_POSITIVE)
                / 127.0
        })
        .collect();
    let mut weights = vec![0i8; n * k];
    for (c, (w, _)) in trained.iter().enumerate() {
        for (j, v) in w.iter().enumerate() {
            weights[j * k + c] = (v / scales[c]).round().clamp(-127.0, 127.0) as i8;
        }
    }
    Model::from_artefact(Artefact {
        classes,
        vocabulary,
        idf,
        weights,
        scales,
        bias: trained.iter().map(|(_, b)| *b).collect(),
        temperature,
    })
}
