//! `concierge knowledge eval`: how often help-center search puts the answering article first,
//! and among the first three, for a set of labelled shopper questions.

use crate::cli::EvalArgs;
use anyhow::Context;
use concierge::Settings;
use concierge_knowledge::eval::{evaluate, read_questions, Report, DEMO_QUESTIONS};
use concierge_knowledge::Library;

pub async fn eval(settings: &Settings, args: EvalArgs) -> anyhow::Result<()> {
    let text = match &args.questions {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => DEMO_QUESTIONS.to_owned(),
    };
    let questions = read_questions(&text).map_err(|e| anyhow::anyhow!("the questions: {e}"))?;
    let report = if args.demo {
        let demo = concierge::DemoKnowledge::open().await?;
        let report = evaluate(&demo.library, &questions, &args.locale);
        demo.close().await;
        report?
    } else {
        let (store, _) = concierge::open_store(settings).await?;
        let library = Library::open(store.clone()).await;
        let report = library.and_then(|l| evaluate(&l, &questions, &args.locale));
        store.close().await;
        report.context("cannot search the knowledge base")?
    };
    print(&report);
    Ok(())
}

fn print(report: &Report) {
    for miss in report.misses() {
        println!(
            "miss: {:?} wants {}, got {} ({})",
            miss.question.text,
            miss.question.article,
            miss.first.join(", "),
            miss.rank.map_or_else(
                || "not in the first ten".to_owned(),
                |r| format!("it came {r}th")
            )
        );
    }
    println!("questions: {}", report.outcomes.len());
    println!("top-1: {:.4}", report.top1());
    println!("top-3: {:.4}", report.top3());
}
