//! `concierge sync shopify` and `concierge import orders`: a shop's history brought in, with
//! progress on standard error and the summary on standard output.

use crate::cli::{ImportOrdersArgs, SyncShopifyArgs};
use anyhow::Context;
use concierge::Settings;
use concierge_commerce::admin::ShopifyAdmin;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

fn bar(len: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match len {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner(),
    }
}

pub async fn sync_shopify(settings: &Settings, args: SyncShopifyArgs) -> anyhow::Result<()> {
    let admin = ShopifyAdmin::new(&args.shop, &args.token, args.api_url.as_deref())
        .map_err(|e| anyhow::anyhow!("--shop: {e}"))?;
    let (store, _) = concierge::open_store(settings).await?;
    let progress = bar(None);
    let result = concierge_commerce::sync::shopify(&store, &admin, |what, n| {
        progress.set_message(format!("{n} {what}"));
        progress.tick();
    })
    .await;
    progress.finish_and_clear();
    store.close().await;
    let synced = result.map_err(|e| anyhow::anyhow!("the sync stopped: {e}"))?;
    for s in &synced.skipped {
        println!("skipped: {s}");
    }
    println!(
        "synced {} customers and {} orders from {} ({} skipped)",
        synced.customers,
        synced.orders,
        admin.shop,
        synced.skipped.len()
    );
    Ok(())
}

pub async fn import_orders(settings: &Settings, args: ImportOrdersArgs) -> anyhow::Result<()> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let len = file.metadata().map(|m| m.len()).ok();
    let header: Vec<String> = csv::Reader::from_path(&args.file)
        .and_then(|mut r| r.headers().map(|h| h.iter().map(str::to_owned).collect()))
        .with_context(|| format!("cannot read the header of {}", args.file.display()))?;
    let source = concierge_domain::text::bounded(&args.source, 50, "source")
        .map_err(|e| anyhow::anyhow!("--source: {e}"))?;
    let (store, _) = concierge::open_store(settings).await?;
    let progress = bar(len);
    let result = concierge_commerce::import::orders(
        &store,
        std::io::BufReader::new(file),
        &source,
        |bytes| progress.set_position(bytes),
    )
    .await;
    progress.finish_and_clear();
    store.close().await;
    let summary = result.map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    if !summary.rejected.is_empty() {
        let path = args.rejects.clone().unwrap_or_else(|| {
            let mut p = args.file.clone().into_os_string();
            p.push(".rejected.csv");
            p.into()
        });
        let out = std::fs::File::create(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        concierge_commerce::import::write_rejects(out, &header, &summary.rejected)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        for (line, _, why) in summary.rejected.iter().take(10) {
            println!("rejected line {line}: {why}");
        }
        println!("rejected rows written to {}", path.display());
    }
    println!(
        "imported {} orders, updated {}, unchanged {}, rejected {} rows",
        summary.imported,
        summary.updated,
        summary.unchanged,
        summary.rejected.len()
    );
    Ok(())
}
