//! Orders from any other platform, from a CSV file: `concierge import orders FILE.csv`.
//!
//! The layout: a header row naming the columns (any order; unknown columns are refused so a
//! typo is not silently dropped), then one row per line item. The rows of one order sit
//! together and repeat its order columns.
//!
//! | column | required | meaning |
//! | --- | --- | --- |
//! | `external_id` | yes | the order's id on its platform (upserted by it) |
//! | `number` | yes | the number the shopper sees (`#1001`) |
//! | `email`, `phone` | one of them | the shopper (`phone` in international form) |
//! | `name` | no | the shopper's name |
//! | `status` | no | `open` (default), `closed`, `cancelled` |
//! | `financial_status` | no | `paid` (default), `pending`, `authorized`, `partially_paid`, `partially_refunded`, `refunded`, `voided` |
//! | `fulfillment_status` | no | `unfulfilled` (default), `partial`, `fulfilled`, `restocked` |
//! | `currency` | yes | ISO 4217 (`EUR`) |
//! | `total` | yes | decimal string (`49.90`) |
//! | `placed_at` | yes | RFC 3339 (`2026-11-02T10:00:00Z`) |
//! | `sku`, `title`, `quantity`, `price` | per item | a line item (`title`, `quantity`, `price` together) |
//! | `carrier`, `tracking_number`, `tracking_url` | no | a shipment (on the order's first row) |
//!
//! A row that is wrong rejects its whole order, with the reason; the rest are imported.

use concierge_domain::access::Actor;
use concierge_domain::commerce::{
    Amount, Currency, FinancialStatus, FulfillmentStatus, OrderNumber, OrderStatus, Quantity,
};
use concierge_domain::contact::{EmailAddress, PhoneNumber};
use concierge_domain::text::PersonName;
use concierge_store::commerce::{NewLineItem, OrderUpsert, ShipmentUpsert, Upserted};
use concierge_store::customers::CustomerRef;
use concierge_store::Store;
use futures::StreamExt;
use std::collections::HashMap;

pub const COLUMNS: &[&str] = &[
    "external_id",
    "number",
    "email",
    "name",
    "phone",
    "status",
    "financial_status",
    "fulfillment_status",
    "currency",
    "total",
    "placed_at",
    "sku",
    "title",
    "quantity",
    "price",
    "carrier",
    "tracking_number",
    "tracking_url",
];

/// How many orders are written at once (the store groups their commits).
const IN_FLIGHT: usize = 64;

/// Orders handed to the store at once.
const PER_CALL: usize = 16;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub imported: usize,
    pub updated: usize,
    /// Orders whose stored version was newer (not changed).
    pub unchanged: usize,
    /// Rejected rows: (line number in the file, the row, why).
    pub rejected: Vec<(u64, Vec<String>, String)>,
}

/// One order's rows, parsed.
struct Parsed {
    order: OrderUpsert,
    shipment: Option<ShipmentUpsert>,
    rows: Vec<(u64, Vec<String>)>,
}

/// Reads the header. Errors name the column.
pub fn header(
    reader: &mut csv::Reader<impl std::io::Read>,
) -> Result<HashMap<String, usize>, String> {
    let h = reader
        .headers()
        .map_err(|e| format!("the header row cannot be read: {e}"))?;
    let mut cols = HashMap::new();
    for (i, name) in h.iter().enumerate() {
        let name = name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        if !COLUMNS.contains(&name.as_str()) {
            return Err(format!(
                "unknown column {name:?}; the columns are {}",
                COLUMNS.join(", ")
            ));
        }
        cols.insert(name, i);
    }
    for need in ["external_id", "number", "currency", "total", "placed_at"] {
        if !cols.contains_key(need) {
            return Err(format!("the column {need:?} is missing"));
        }
    }
    if !cols.contains_key("email") && !cols.contains_key("phone") {
        return Err("an \"email\" or \"phone\" column is needed".into());
    }
    Ok(cols)
}

/// Imports every order of a CSV file; `progress` hears the bytes read so far.
pub async fn orders(
    store: &Store,
    input: impl std::io::Read,
    source: &str,
    mut progress: impl FnMut(u64),
) -> Result<Summary, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let cols = header(&mut reader)?;
    let mut summary = Summary::default();
    let mut groups: Vec<Vec<(u64, Vec<String>)>> = Vec::new();
    let mut current: Vec<(u64, Vec<String>)> = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut pending = Vec::new();
    loop {
        let more = reader
            .read_record(&mut record)
            .map_err(|e| format!("line {}: {e}", reader.position().line()))?;
        if more {
            let line = record.position().map_or(0, |p| p.line());
            let row: Vec<String> = record.iter().map(str::to_owned).collect();
            let id = cols
                .get("external_id")
                .and_then(|i| row.get(*i))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default();
            let same = current.first().is_some_and(|(_, r)| {
                cols.get("external_id")
                    .and_then(|i| r.get(*i))
                    .map(|s| s.trim())
                    == Some(id.as_str())
            });
            if !current.is_empty() && !same {
                groups.push(std::mem::take(&mut current));
            }
            current.push((line, row));
        } else if !current.is_empty() {
            groups.push(std::mem::take(&mut current));
        }
        if groups.len() >= IN_FLIGHT * 8 || (!more && !groups.is_empty()) {
            for g in groups.drain(..) {
                match parse(&cols, &g, source) {
                    Ok(p) => pending.push(p),
                    Err(why) => {
                        for (line, row) in g {
                            summary.rejected.push((line, row, why.clone()));
                        }
                    }
                }
            }
            write(store, std::mem::take(&mut pending), &mut summary).await;
            progress(reader.position().byte());
        }
        if !more {
            break;
        }
    }
    Ok(summary)
}

async fn write(store: &Store, batch: Vec<Parsed>, summary: &mut Summary) {
    // An order the file holds twice is written again only after the rest: the writes below
    // run in any order, and its later rows must win.
    let mut seen = std::collections::HashSet::new();
    let (batch, again): (Vec<Parsed>, Vec<Parsed>) = batch
        .into_iter()
        .partition(|p| seen.insert(p.order.external_id.clone()));
    write_once(store, batch, summary).await;
    if !again.is_empty() {
        Box::pin(write(store, again, summary)).await;
    }
}

/// Writes orders that are all different.
async fn write_once(store: &Store, batch: Vec<Parsed>, summary: &mut Summary) {
    // Several orders to a transaction (see `Store::apply_orders`), several transactions at
    // once so their commits are grouped.
    let mut chunks: Vec<Vec<Parsed>> = Vec::new();
    let mut rest = batch.into_iter().peekable();
    while rest.peek().is_some() {
        chunks.push(rest.by_ref().take(PER_CALL).collect());
    }
    let results: Vec<(
        Parsed,
        Result<Upserted<concierge_domain::ids::OrderId>, String>,
    )> = futures::stream::iter(chunks)
        .map(|chunk| async move {
            let orders = chunk
                .iter()
                .map(|p| (p.order.clone(), p.shipment.iter().cloned().collect()))
                .collect();
            let answers = store.apply_orders(orders, &Actor::System).await;
            chunk
                .into_iter()
                .zip(answers)
                .map(|(p, r)| (p, r.map_err(|e| e.to_string())))
                .collect::<Vec<_>>()
        })
        .buffer_unordered(IN_FLIGHT / PER_CALL)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    for (p, r) in results {
        match r {
            Ok(Upserted::Created(_)) => summary.imported += 1,
            Ok(Upserted::Updated(_)) => summary.updated += 1,
            Ok(Upserted::Stale(_)) => summary.unchanged += 1,
            Err(why) => {
                for (line, row) in p.rows {
                    summary.rejected.push((line, row, why.clone()));
                }
            }
        }
    }
}

fn parse(
    cols: &HashMap<String, usize>,
    rows: &[(u64, Vec<String>)],
    source: &str,
) -> Result<Parsed, String> {
    let first = &rows[0].1;
    let get = |row: &'_ Vec<String>, name: &str| -> Option<String> {
        cols.get(name)
            .and_then(|i| row.get(*i))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let need = |name: &str| get(first, name).ok_or_else(|| format!("{name} is empty"));
    let bad = |name: &str, e: concierge_domain::Invalid| format!("{name}: {}", e.0);
    let external_id = need("external_id")?;
    if external_id.chars().count() > 200 {
        return Err("external_id: at most 200 characters".into());
    }
    let email = get(first, "email")
        .map(|e| EmailAddress::parse(&e).map_err(|x| bad("email", x)))
        .transpose()?;
    let phone = get(first, "phone")
        .map(|p| PhoneNumber::parse(&p).map_err(|x| bad("phone", x)))
        .transpose()?;
    if email.is_none() && phone.is_none() {
        return Err("email or phone is needed".into());
    }
    let name = get(first, "name")
        .map(|n| PersonName::parse(&n).map_err(|x| bad("name", x)))
        .transpose()?;
    let placed = need("placed_at")?;
    let placed_at = chrono::DateTime::parse_from_rfc3339(&placed)
        .map_err(|_| {
            format!("placed_at: {placed:?} is not an RFC 3339 time such as 2026-11-02T10:00:00Z")
        })?
        .with_timezone(&chrono::Utc);
    let mut line_items = Vec::new();
    for (line, row) in rows {
        if get(row, "title").is_none()
            && get(row, "quantity").is_none()
            && get(row, "price").is_none()
        {
            continue;
        }
        let title = get(row, "title").ok_or_else(|| format!("line {line}: title is empty"))?;
        let quantity: i64 = get(row, "quantity")
            .ok_or_else(|| format!("line {line}: quantity is empty"))?
            .parse()
            .map_err(|_| format!("line {line}: quantity is not a whole number"))?;
        line_items.push(NewLineItem {
            sku: get(row, "sku").map(|s| s.chars().take(100).collect()),
            title: title.chars().take(500).collect(),
            quantity: Quantity::new(quantity)
                .map_err(|e| format!("line {line}: {}", bad("quantity", e)))?,
            price: Amount::parse(
                &get(row, "price").ok_or_else(|| format!("line {line}: price is empty"))?,
            )
            .map_err(|e| format!("line {line}: {}", bad("price", e)))?,
        });
    }
    let order = OrderUpsert {
        source: source.to_owned(),
        external_id: external_id.clone(),
        number: OrderNumber::parse(&need("number")?).map_err(|e| bad("number", e))?,
        customer: CustomerRef {
            name,
            email,
            phone,
            external: None,
        },
        status: get(first, "status")
            .map_or(Ok(OrderStatus::Open), |s| OrderStatus::parse(&s))
            .map_err(|e| bad("status", e))?,
        financial_status: get(first, "financial_status")
            .map_or(Ok(FinancialStatus::Paid), |s| FinancialStatus::parse(&s))
            .map_err(|e| bad("financial_status", e))?,
        fulfillment_status: get(first, "fulfillment_status")
            .map_or(Ok(FulfillmentStatus::Unfulfilled), |s| {
                FulfillmentStatus::parse(&s)
            })
            .map_err(|e| bad("fulfillment_status", e))?,
        currency: Currency::parse(&need("currency")?).map_err(|e| bad("currency", e))?,
        total: Amount::parse(&need("total")?).map_err(|e| bad("total", e))?,
        placed_at,
        line_items,
        shipping_address: None,
        source_updated_at: None,
        shop: None,
    };
    let shipment = get(first, "tracking_number").map(|number| ShipmentUpsert {
        source: source.to_owned(),
        order_external_id: external_id,
        external_id: number.clone(),
        carrier: get(first, "carrier")
            .unwrap_or_default()
            .chars()
            .take(100)
            .collect(),
        tracking_number: number.chars().take(100).collect(),
        tracking_url: get(first, "tracking_url")
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
        estimated_delivery: None,
        scan: None,
        source_updated_at: None,
        announce: false,
    });
    Ok(Parsed {
        order,
        shipment,
        rows: rows.to_vec(),
    })
}

/// Writes rejected rows with their reason (a CSV with the file's header and `reason`).
pub fn write_rejects(
    out: impl std::io::Write,
    header: &[String],
    rejected: &[(u64, Vec<String>, String)],
) -> Result<(), String> {
    let mut w = csv::Writer::from_writer(out);
    let mut h: Vec<String> = vec!["line".into()];
    h.extend(header.iter().cloned());
    h.push("reason".into());
    w.write_record(&h).map_err(|e| e.to_string())?;
    for (line, row, why) in rejected {
        let mut r = vec![line.to_string()];
        r.extend(row.iter().cloned());
        r.push(why.clone());
        w.write_record(&r).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}
