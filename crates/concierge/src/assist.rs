//! `concierge assist …`: the intent model from the command line.

use crate::cli::TrainArgs;
use anyhow::Context;
use concierge_intents::{corpus, eval, train, Model};
use std::path::Path;

pub fn classify(text: &str) -> anyhow::Result<()> {
    /// The line the README's "Commands" describes, its keys in that order.
    #[derive(serde::Serialize)]
    struct Line<'a> {
        intent: &'a str,
        category: &'a str,
        confidence: f64,
    }
    let verdict = concierge_intents::classify(text);
    let line = Line {
        intent: verdict.intent.as_str(),
        category: verdict.category().as_str(),
        confidence: verdict.reported_confidence(),
    };
    println!("{}", serde_json::to_string(&line)?);
    Ok(())
}

pub fn eval(file: &Path, model: Option<&Path>) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let loaded = match model {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some(Model::from_bytes(&bytes).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    let model = loaded
        .as_ref()
        .unwrap_or_else(|| concierge_intents::model());
    let report = eval::evaluate(model, &file.display().to_string(), &bytes)?;
    anyhow::ensure!(
        report.total() > 0,
        "{} has no labelled rows",
        file.display()
    );
    println!(
        "{:<28} {:>6} {:>8} {:>9}  taken for",
        "intent", "total", "correct", "accuracy"
    );
    for (intent, tally) in &report.intents {
        let misses: Vec<String> = tally
            .taken_for
            .iter()
            .map(|(other, n)| format!("{other} ×{n}"))
            .collect();
        println!(
            "{intent:<28} {:>6} {:>8} {:>9.4}  {}",
            tally.total,
            tally.correct,
            tally.correct as f64 / tally.total as f64,
            misses.join(", ")
        );
    }
    println!(
        "classification time: median {} µs, p99 {} µs, over {} messages",
        report.percentile(0.5).as_micros(),
        report.percentile(0.99).as_micros(),
        report.total()
    );
    println!("messages: {}", report.total());
    println!("accuracy: {:.4}", report.accuracy());
    Ok(())
}

pub fn train(args: &TrainArgs) -> anyhow::Result<()> {
    let options = train::Options::default();
    let examples = corpus::corpus(&args.bitext, options.seed)
        .with_context(|| format!("the Bitext data in {}", args.bitext.display()))?;
    eprintln!("training on {} examples…", examples.len());
    let model = train::train(&examples, &options);
    let bytes = model.to_bytes();
    std::fs::write(&args.out, &bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote {} ({} bytes, {} classes)",
        args.out.display(),
        bytes.len(),
        model.classes().len()
    );
    Ok(())
}
