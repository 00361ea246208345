//! The help center at knowledge-base scale: the demo articles plus generated ones (10,000 by
//! default), then article pages, search and suggest-as-you-type timed one request at a time
//! over loopback, as a shopper's browser would make them.

use crate::{sentence, Bench, Figures, WORDS};
use anyhow::{bail, Context};
use concierge_domain::access::Actor;
use concierge_domain::knowledge::Locale;
use concierge_knowledge::markdown;
use concierge_store::articles::{Filing, NewArticle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

const TOPICS: &[&str] = &[
    "Orders", "Shipping", "Returns", "Payments", "Products", "Account",
];
const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148";

/// Seeds `articles` generated articles beside the demo ones; returns the generated slugs.
async fn seed(b: &Bench, articles: usize) -> anyhow::Result<Vec<String>> {
    let running = b.running.as_ref().context("running")?;
    let store = &running.store;
    concierge_demo::seed_knowledge(store).await?;
    let mut rng = StdRng::seed_from_u64(5);
    let started = Instant::now();
    let mut slugs = Vec::with_capacity(articles);
    for n in 0..articles {
        let title = format!(
            "{} {} {} ({n})",
            WORDS[rng.gen_range(0..WORDS.len())],
            WORDS[rng.gen_range(0..WORDS.len())],
            WORDS[rng.gen_range(0..WORDS.len())]
        );
        let paragraphs: Vec<String> = (0..rng.gen_range(3..8))
            .map(|_| {
                (0..rng.gen_range(2..5))
                    .map(|_| format!("{}.", sentence(&mut rng)))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let body = format!(
            "{}\n\n- {}\n- {}\n",
            paragraphs.join("\n\n"),
            sentence(&mut rng),
            sentence(&mut rng)
        );
        let article = store
            .create_article(
                NewArticle {
                    title,
                    body_html: markdown::render(&body),
                    body_markdown: body,
                    category: Some(Filing::named(TOPICS[n % TOPICS.len()])),
                    locale: Locale::default(),
                    published: true,
                    slug: None,
                    summary: None,
                    position: n as i64,
                    translation_of: None,
                },
                &Actor::System,
            )
            .await?;
        slugs.push(article.slug);
    }
    let wrote = started.elapsed();
    let t = Instant::now();
    running.refresh_knowledge().await?;
    println!(
        "help center: {articles} generated articles (+ the demo's) written in {:.1} s, indexed in {:.2} s",
        wrote.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    Ok(slugs)
}

/// GETs each path in turn as a phone would (with a visit cookie, so views and searches are
/// recorded as in real use); the time to the last byte of each.
async fn timed(b: &Bench, paths: &[String]) -> anyhow::Result<Figures> {
    let mut lat = Vec::with_capacity(paths.len());
    let mut cookie = String::new();
    for p in paths {
        let t = Instant::now();
        let r = b
            .client
            .get(format!("{}{p}", b.base))
            .header("user-agent", PHONE)
            .header("cookie", &cookie)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("{p}: {}", r.status());
        }
        if let Some(set) = r.headers().get("set-cookie") {
            cookie = set
                .to_str()?
                .split(';')
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        r.bytes().await?;
        lat.push(t.elapsed());
    }
    Ok(Figures(lat))
}

/// One to `most` words, `+`-joined for a URL.
fn query(rng: &mut StdRng, most: usize) -> String {
    let words = rng.gen_range(1..=most);
    (0..words)
        .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join("+")
}

pub(crate) async fn run(b: &Bench, articles: usize, queries: usize) -> anyhow::Result<()> {
    let slugs = seed(b, articles).await?;
    let mut rng = StdRng::seed_from_u64(7);
    let warm: Vec<String> = (0..50)
        .map(|i| format!("/help/articles/{}", slugs[i % slugs.len()]))
        .collect();
    timed(b, &warm).await?;

    let pages: Vec<String> = (0..queries)
        .map(|_| format!("/help/articles/{}", slugs[rng.gen_range(0..slugs.len())]))
        .collect();
    println!(
        "help article page ({} articles): {}",
        slugs.len(),
        timed(b, &pages).await?.summary()
    );

    let searches: Vec<String> = (0..queries)
        .map(|_| format!("/help?q={}", query(&mut rng, 3)))
        .collect();
    println!(
        "help search results page: {}",
        timed(b, &searches).await?.summary()
    );

    let api: Vec<String> = (0..queries)
        .map(|_| format!("/api/v1/articles?q={}", query(&mut rng, 3)))
        .collect();
    println!(
        "article search API (?q=): {}",
        crate::timed_gets(b, api).await?.summary()
    );

    // Suggest as you type: every prefix of a few-word question, as keystrokes arrive.
    let mut suggests = Vec::new();
    while suggests.len() < queries {
        let q = (0..3)
            .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ");
        for end in (3..=q.len()).step_by(2) {
            let prefix: String = q[..end].replace(' ', "+");
            suggests.push(format!("/help/suggest?q={prefix}"));
        }
    }
    suggests.truncate(queries);
    println!(
        "help suggest-as-you-type: {}",
        timed(b, &suggests).await?.summary()
    );
    Ok(())
}
