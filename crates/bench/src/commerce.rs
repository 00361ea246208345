//! Store platforms at shop scale: signed Shopify order webhooks acknowledged over loopback
//! (verify + durable store, with the worker applying them meanwhile), the background apply
//! on its own (one worker draining a backlog of stored deliveries), and a CSV import of
//! 100,000 orders.

use crate::Bench;
use anyhow::{bail, Context};
use concierge_commerce::signature::sign;
use concierge_commerce::ApplyDelivery;
use concierge_domain::commerce::Platform;
use concierge_jobs::Worker;
use concierge_store::platforms::{DeliveryState, NewDelivery};
use concierge_store::{PageRequest, PoolOptions, Store};
use serde_json::Value;
use std::time::{Duration, Instant};

pub(crate) const SECRET: &str = "bench-shopify-secret";

/// How many signed deliveries are made ahead for each second of intake: more than the
/// service takes in a second.
const PREPARED_PER_SECOND: usize = 5_000;

fn order_fixture() -> anyhow::Result<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/shopify/order.json"
    );
    Ok(serde_json::from_slice(
        &std::fs::read(path).context("read the order fixture")?,
    )?)
}

/// The published order as order `n` of a shopper `n % 5000`, as bytes.
fn order_body(template: &Value, n: usize) -> Vec<u8> {
    let mut o = template.clone();
    o["id"] = Value::from(1_000_000 + n as u64);
    o["name"] = Value::from(format!("#B{n}"));
    o["email"] = Value::from(format!("shopper{}@example.com", n % 5000));
    o["customer"]["id"] = Value::from(5_000_000 + (n % 5000) as u64);
    o["customer"]["email"] = o["email"].clone();
    let id = o["id"].clone();
    if let Some(f) = o["fulfillments"].get_mut(0) {
        f["id"] = Value::from(9_000_000 + n as u64);
        f["order_id"] = id;
        f["tracking_number"] = Value::from(format!("1Z{n:08}"));
    }
    serde_json::to_vec(&o).unwrap_or_default()
}

/// Signed deliveries from `clients` concurrent senders for `seconds`, to the whole service
/// (its worker applying them meanwhile).
pub(crate) async fn intake(b: &Bench, clients: usize, seconds: u64) -> anyhow::Result<()> {
    let (sent, elapsed) = send_deliveries(&b.client, &b.base, clients, seconds).await?;
    println!(
        "shopify webhook intake, worker applying meanwhile: {sent} deliveries acknowledged in {elapsed:.1} s = {:.0}/s ({clients} clients; each verified and stored with its job before the 200)",
        sent as f64 / elapsed
    );
    Ok(())
}

/// The same, to the HTTP API and the store alone: what acknowledging costs (verify + durable
/// store), with no worker taking the same two cores.
pub(crate) async fn intake_alone(
    dir: &std::path::Path,
    pg: Option<&str>,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let store = fresh_store(&dir.join("intake"), pg).await?;
    let app = concierge_api::router(
        store.clone(),
        concierge_api::ApiConfig {
            rate_limit_per_second: 0,
            platforms: concierge_api::PlatformSecrets {
                shopify: Some(SECRET.into()),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let (sent, elapsed) = send_deliveries(&client, &base, clients, seconds).await?;
    server.abort();
    store.close().await;
    println!(
        "shopify webhook intake, API and store alone: {sent} deliveries acknowledged in {elapsed:.1} s = {:.0}/s ({clients} clients; verified and stored with its job before the 200, nothing applying)",
        sent as f64 / elapsed
    );
    Ok(())
}

/// Posts signed `orders/create` deliveries from `clients` senders for `seconds`; returns how
/// many were acknowledged and the time taken. Any failure fails the run.
async fn send_deliveries(
    client: &reqwest::Client,
    base: &str,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<(usize, f64)> {
    let template = order_fixture()?;
    // The deliveries are made and signed before the clock starts: that is Shopify's work, on
    // its machines, and here it would take the service's cores. Past these, a sender makes
    // its own as it goes.
    let ready: std::sync::Arc<Vec<(Vec<u8>, String)>> = std::sync::Arc::new(
        (0..PREPARED_PER_SECOND * seconds as usize)
            .map(|n| {
                let body = order_body(&template, n);
                let signature = sign(SECRET.as_bytes(), &body);
                (body, signature)
            })
            .collect(),
    );
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base, template) = (client.clone(), base.to_owned(), template.clone());
        let ready = ready.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = 0usize;
            let mut failures = 0usize;
            let mut n = c;
            while Instant::now() < deadline {
                let (body, signature) = match ready.get(n) {
                    Some((body, signature)) => (body.clone(), signature.clone()),
                    None => {
                        let body = order_body(&template, n);
                        let signature = sign(SECRET.as_bytes(), &body);
                        (body, signature)
                    }
                };
                let res = client
                    .post(format!("{base}/webhooks/shopify"))
                    .header("content-type", "application/json")
                    .header("x-shopify-topic", "orders/create")
                    .header("x-shopify-hmac-sha256", signature)
                    .header("x-shopify-webhook-id", format!("bench-{n}"))
                    .header("x-shopify-shop-domain", "bench.myshopify.com")
                    .body(body)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => sent += 1,
                    _ => failures += 1,
                }
                n += clients;
            }
            (sent, failures)
        }));
    }
    let (mut sent, mut failures) = (0, 0);
    for t in tasks {
        let (s, f) = t.await?;
        sent += s;
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if failures > 0 {
        bail!("{failures} of {} deliveries failed", sent + failures);
    }
    Ok((sent, elapsed))
}

async fn fresh_store(dir: &std::path::Path, pg: Option<&str>) -> anyhow::Result<Store> {
    std::fs::create_dir_all(dir)?;
    let url = match pg {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}", dir.join("commerce.db").display()),
    };
    let store = Store::connect(&url, &PoolOptions::default()).await?;
    store.migrate().await?;
    Ok(store)
}

/// One worker applying a backlog of `deliveries` stored orders (each with a fulfillment).
pub(crate) async fn apply(
    dir: &std::path::Path,
    pg: Option<&str>,
    deliveries: usize,
) -> anyhow::Result<()> {
    let store = fresh_store(&dir.join("apply"), pg).await?;
    let template = order_fixture()?;
    for n in 0..deliveries {
        store
            .record_webhook(NewDelivery {
                platform: Platform::Shopify,
                delivery_id: format!("apply-{n}"),
                topic: "orders/create".into(),
                shop: Some("bench.myshopify.com".into()),
                body: String::from_utf8(order_body(&template, n))?,
                state: DeliveryState::Pending,
                error: None,
            })
            .await?;
    }
    let worker = Worker::new(store.clone()).with(ApplyDelivery::new(store.clone()));
    let started = Instant::now();
    let ran = worker.run_due(chrono::Utc::now()).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let failed = store
        .deliveries(Some(DeliveryState::Pending), &PageRequest::default())
        .await?
        .items
        .len();
    println!(
        "shopify background apply (one worker): {ran} orders with their fulfillments in {elapsed:.2} s = {:.0} orders/s ({failed} left pending)",
        ran as f64 / elapsed
    );
    store.close().await;
    if ran != deliveries || failed > 0 {
        bail!("only {ran} of {deliveries} applied");
    }
    Ok(())
}

/// `concierge import orders` on `orders` generated orders (one to three items each).
pub(crate) async fn csv_import(
    dir: &std::path::Path,
    pg: Option<&str>,
    orders: usize,
) -> anyhow::Result<()> {
    let store = fresh_store(&dir.join("import"), pg).await?;
    let path = dir.join("orders.csv");
    {
        let mut w = csv::Writer::from_path(&path)?;
        w.write_record([
            "external_id",
            "number",
            "email",
            "name",
            "currency",
            "total",
            "placed_at",
            "sku",
            "title",
            "quantity",
            "price",
            "carrier",
            "tracking_number",
        ])?;
        let mut rows = 0;
        for n in 0..orders {
            let items = 1 + n % 3;
            for i in 0..items {
                let tracking = if i == 0 {
                    format!("TRK{n:09}")
                } else {
                    String::new()
                };
                let carrier = if i == 0 { "DHL" } else { "" };
                w.write_record([
                    format!("csv-{n}"),
                    format!("#C{n}"),
                    format!("buyer{}@example.com", n % 20_000),
                    format!("Buyer {}", n % 20_000),
                    "EUR".into(),
                    format!("{}.90", 10 * items),
                    format!("2026-{:02}-{:02}T10:00:00Z", 1 + n % 12, 1 + n % 28),
                    format!("SKU-{i}"),
                    format!("Item {i}"),
                    "1".into(),
                    "10.00".into(),
                    carrier.into(),
                    tracking,
                ])?;
                rows += 1;
            }
        }
        w.flush()?;
        println!(
            "csv import: {orders} orders in {rows} rows ({} MB)",
            std::fs::metadata(&path)?.len() / 1_000_000
        );
    }
    let started = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(&path)?);
    let summary = concierge_commerce::import::orders(&store, file, "csv", |_| {})
        .await
        .map_err(anyhow::Error::msg)?;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "csv import: {} orders imported in {elapsed:.1} s = {:.0} orders/s ({} rejected)",
        summary.imported,
        summary.imported as f64 / elapsed,
        summary.rejected.len()
    );
    store.close().await;
    if summary.imported != orders {
        bail!("only {} of {orders} imported", summary.imported);
    }
    Ok(())
}
