//! The backfill: `concierge sync shopify` pages through a shop's customers and orders with
//! the Admin API and applies them as the webhooks would, without telling shoppers about
//! parcels that are history. Safe to run again: everything is upserted, and an order the
//! webhooks updated since is not moved back (the platform's `updated_at` decides).

use crate::admin::ShopifyAdmin;
use crate::apply::apply;
use crate::shopify;
use crate::Change;
use concierge_domain::access::Actor;
use concierge_store::Store;

/// What a backfill did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Synced {
    pub customers: usize,
    pub orders: usize,
    /// Items that could not be applied, with why.
    pub skipped: Vec<String>,
}

/// Backfills customers, then orders (with their fulfillments and refunds). `progress`
/// hears each page: (what, how many so far).
pub async fn shopify(
    store: &Store,
    admin: &ShopifyAdmin,
    mut progress: impl FnMut(&str, usize),
) -> Result<Synced, String> {
    let mut synced = Synced::default();
    let actor = Actor::System;
    let mut customers = 0;
    let mut skipped = Vec::new();
    admin
        .each_page("customers.json?limit=250", "customers", async |items| {
            for c in items {
                let body = serde_json::to_vec(&c).unwrap_or_default();
                match shopify::parse("customers/create", &body, Some(&admin.shop)) {
                    Ok(crate::Parsed::Changes(changes)) => {
                        for ch in changes {
                            apply(store, ch, &actor)
                                .await
                                .map_err(|e| format!("cannot store a customer: {e}"))?;
                        }
                        customers += 1;
                    }
                    Ok(crate::Parsed::Ignored) => {}
                    Err(e) => skipped.push(format!(
                        "customer {}: {e}",
                        c.get("id").map(|v| v.to_string()).unwrap_or_default()
                    )),
                }
            }
            progress("customers", customers);
            Ok(())
        })
        .await?;
    let mut orders = 0;
    admin
        .each_page(
            "orders.json?status=any&limit=250",
            "orders",
            async |items| {
                for o in items {
                    match shopify::order_changes(&o, Some(&admin.shop), false) {
                        Ok(changes) => {
                            for ch in changes {
                                if let Err(e) = apply(store, ch.clone(), &actor).await {
                                    let what = match ch {
                                        Change::Refund(_) => "a refund of",
                                        Change::Shipment(_) => "a shipment of",
                                        _ => "",
                                    };
                                    skipped.push(format!(
                                        "{what} order {}: {e}",
                                        o.get("name").and_then(|v| v.as_str()).unwrap_or("?")
                                    ));
                                }
                            }
                            orders += 1;
                        }
                        Err(e) => skipped.push(format!(
                            "order {}: {e}",
                            o.get("id").map(|v| v.to_string()).unwrap_or_default()
                        )),
                    }
                }
                progress("orders", orders);
                Ok(())
            },
        )
        .await?;
    synced.customers = customers;
    synced.orders = orders;
    synced.skipped = skipped;
    Ok(synced)
}
