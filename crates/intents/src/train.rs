//! Training, offline: `concierge assist train` runs it and writes the artefact the binary
//! embeds. One-vs-rest linear SVMs (L2-regularised, squared hinge loss) solved by dual
//! coordinate descent, the method LIBLINEAR uses; a seeded shuffle makes every run give the
//! same model.

use crate::features::features;
use crate::model::{quantise, softmax, vectorise, Model, Vector};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One labelled text.
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub label: String,
}

/// The knobs of a training run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The SVM's cost: higher fits the training data more closely. 0.5 did better than 1
    /// and 2 on the development set.
    pub cost: f32,
    /// Passes over the data at most.
    pub epochs: usize,
    /// A feature seen in fewer texts than this is left out (noise, and size).
    pub min_count: usize,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            cost: 0.5,
            epochs: 40,
            min_count: 2,
            seed: 7,
        }
    }
}

/// Trains on every example. A tenth is first held out to fit the softmax temperature (so a
/// confidence means what it says on text the model has not seen), then the model is trained
/// again on everything.
pub fn train(examples: &[Example], options: &Options) -> Model {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut shuffled = examples.to_vec();
    shuffled.shuffle(&mut rng);
    let cut = shuffled.len() / 10;
    let (held, rest) = shuffled.split_at(cut);
    let first = fit(rest, options);
    let temperature = fit_temperature(&first, held);
    let mut model = fit(examples, options);
    model.set_temperature(temperature);
    model
}

/// The temperature that makes the held-out labels most likely.
fn fit_temperature(model: &Model, held: &[Example]) -> f32 {
    let classes = model.classes();
    let scored: Vec<(Vec<f32>, usize)> = held
        .iter()
        .filter_map(|e| {
            let label = classes.iter().position(|c| *c == e.label)?;
            Some((model.scores(&model.vector(&e.text)), label))
        })
        .collect();
    let loss = |t: f32| -> f32 {
        scored
            .iter()
            .map(|(s, label)| -softmax(s, t)[*label].max(1e-9).ln())
            .sum()
    };
    (1..=120)
        .map(|i| i as f32 * 0.25)
        .min_by(|a, b| loss(*a).total_cmp(&loss(*b)))
        .unwrap_or(1.0)
}

/// One model from the examples, temperature 1.
pub fn fit(examples: &[Example], options: &Options) -> Model {
    let texts: Vec<Vec<String>> = examples.iter().map(|e| features(&e.text)).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &texts {
        for feature in f.iter().map(String::as_str).collect::<BTreeSet<_>>() {
            *counts.entry(feature).or_default() += 1;
        }
    }
    let vocabulary: Vec<String> = counts
        .iter()
        .filter(|(_, &n)| n >= options.min_count)
        .map(|(f, _)| (*f).to_owned())
        .collect();
    let docs = examples.len() as f32;
    let idf: Vec<f32> = vocabulary
        .iter()
        .map(|f| ((1.0 + docs) / (1.0 + counts[f.as_str()] as f32)).ln() + 1.0)
        .collect();
    let index: HashMap<&str, u32> = vocabulary
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), i as u32))
        .collect();
    let rows: Vec<Vector> = texts
        .iter()
        .map(|f| vectorise(f, |f| index.get(f).copied(), &idf))
        .collect();
    let classes: Vec<String> = examples
        .iter()
        .map(|e| e.label.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    // One SVM per class, on as many threads as there are cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut trained: Vec<Option<(Vec<f32>, f32)>> = vec![None; classes.len()];
    std::thread::scope(|scope| {
        for (t, chunk) in trained
            .chunks_mut(classes.len().div_ceil(threads))
            .enumerate()
        {
            let (rows, classes, examples, n) = (&rows, &classes, examples, vocabulary.len());
            let first = t * classes.len().div_ceil(threads);
            scope.spawn(move || {
                for (i, slot) in chunk.iter_mut().enumerate() {
                    let class = &classes[first + i];
                    let y: Vec<f32> = examples
                        .iter()
                        .map(|e| if e.label == *class { 1.0 } else { -1.0 })
                        .collect();
                    let seed = options.seed.wrapping_add((first + i) as u64);
                    *slot = Some(svm(rows, &y, n, options, seed));
                }
            });
        }
    });
    let trained: Vec<(Vec<f32>, f32)> = trained.into_iter().map(Option::unwrap).collect();
    quantise(classes, vocabulary, idf, &trained, 1.0)
}

/// A binary linear SVM with a bias, by dual coordinate descent (Hsieh et al., 2008): the dual
/// variable of one example at a time moves to its optimum, and the weights follow.
fn svm(rows: &[Vector], y: &[f32], n: usize, options: &Options, seed: u64) -> (Vec<f32>, f32) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let diagonal = 0.5 / options.cost;
    let mut w = vec![0f32; n];
    let mut bias = 0f32;
    let mut alpha = vec![0f32; rows.len()];
    // Each row has unit length; the bias is a feature of value 1.
    let q: Vec<f32> = rows
        .iter()
        .map(|x| x.iter().map(|(_, v)| v * v).sum::<f32>() + 1.0 + diagonal)
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    for _ in 0..options.epochs {
        order.shuffle(&mut rng);
        let mut largest = 0f32;
        for &i in &order {
            let x = &rows[i];
            let margin = x.iter().map(|&(j, v)| w[j as usize] * v).sum::<f32>() + bias;
            let g = y[i] * margin - 1.0 + diagonal * alpha[i];
            let projected = if alpha[i] == 0.0 { g.min(0.0) } else { g };
            if projected.abs() < 1e-6 {
                continue;
            }
            largest = largest.max(projected.abs());
            let next = (alpha[i] - g / q[i]).max(0.0);
            let step = (next - alpha[i]) * y[i];
            alpha[i] = next;
            for &(j, v) in x {
                w[j as usize] += step * v;
            }
            bias += step;
        }
        if largest < 0.01 {
            break;
        }
    }
    (w, bias)
}

#[cfg(test)]
mod tests {
    use super::*;
    use concierge_domain::intents::Intent;

    fn example(text: &str, label: &str) -> Example {
        Example {
            text: text.to_owned(),
            label: label.to_owned(),
        }
    }

    #[test]
    fn a_trained_model_tells_its_classes_apart_and_survives_the_round_trip() {
        let mut examples = Vec::new();
        for (text, label) in [
            ("where is my parcel", "track_order"),
            ("track my package please", "track_order"),
            ("wheres my parcel now", "track_order"),
            ("i want my money back", "get_refund"),
            ("refund me please", "get_refund"),
            ("please give my money back", "get_refund"),
            ("hello there", "neutral"),
            ("thanks a lot", "neutral"),
            ("hello and thanks", "neutral"),
        ] {
            for _ in 0..4 {
                examples.push(example(text, label));
            }
        }
        let model = train(&examples, &Options::default());
        let model = Model::from_bytes(&model.to_bytes()).unwrap();
        assert_eq!(
            model.classify("where is my parcel?").intent,
            Intent::TrackOrder
        );
        assert_eq!(
            model.classify("money back please").intent,
            Intent::GetRefund
        );
        assert_eq!(model.classify("hello, thanks").intent, Intent::Unknown);
    }
}
