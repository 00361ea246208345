//! The Shopify Admin REST API, for what we ask of the shop: pages of customers and orders
//! (the backfill) and the order actions agents take from the inbox (cancel, refund, resend
//! the shipping confirmation, change the shipping address).
//!
//! The base URL is configurable (`https://{shop}` by default) so tests point it at a local
//! fake. Requests carry `X-Shopify-Access-Token`. Rate limits: a 429 is retried after its
//! `Retry-After`; `X-Shopify-Shop-Api-Call-Limit` (`used/size` of the leaky bucket) makes us
//! pause before the bucket is full, so a long backfill never hits the wall. Every call has a
//! timeout; a failure is an [`AdminError`] whose words an agent can read.

use concierge_domain::commerce::CancelReason;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// The API version we speak.
pub const API_VERSION: &str = "2024-10";

/// How long one call may take before the agent is told it failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// How often a 429 is waited out before giving up.
const MAX_RETRIES: u32 = 6;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// Shopify could not be reached.
    #[error("Shopify could not be reached: {0}")]
    Unreachable(String),
    /// Shopify took the call but did not answer in time: it may or may not have done it.
    #[error("Shopify did not answer within {0} s")]
    NoAnswer(u64),
    /// Shopify refused: its status and its own words.
    #[error("Shopify refused ({status}): {message}")]
    Refused { status: u16, message: String },
    /// Shopify kept answering 429.
    #[error("Shopify's rate limit did not clear in time")]
    RateLimited,
    /// An answer we could not read.
    #[error("Shopify's answer could not be read: {0}")]
    Garbled(String),
}

/// A connection to one shop's Admin API.
#[derive(Clone)]
pub struct ShopifyAdmin {
    client: reqwest::Client,
    base: String,
    timeout: Duration,
    pub shop: String,
}

impl ShopifyAdmin {
    /// For `shop` (`acme.myshopify.com`) with an Admin API access token; `base_url` replaces
    /// `https://{shop}` (a local fake in tests).
    pub fn new(shop: &str, token: &str, base_url: Option<&str>) -> Result<ShopifyAdmin, String> {
        let shop = shop
            .trim()
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_owned();
        if shop.is_empty() || shop.contains(['/', ' ']) {
            return Err(format!(
                "{shop:?} is not a shop domain such as acme.myshopify.com"
            ));
        }
        let mut headers = HeaderMap::new();
        let mut value = HeaderValue::from_str(token.trim())
            .map_err(|_| "the access token holds characters a header cannot".to_owned())?;
        value.set_sensitive(true);
        headers.insert("x-shopify-access-token", value);
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("Concierge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let base = base_url
            .map(str::to_owned)
            .unwrap_or_else(|| format!("https://{shop}"));
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(format!("{base:?} is not an http(s) URL"));
        }
        Ok(ShopifyAdmin {
            client,
            base,
            timeout: CALL_TIMEOUT,
            shop,
        })
    }

    /// How long one call may take before it counts as failed (15 s unless changed).
    pub fn with_timeout(mut self, timeout: Duration) -> ShopifyAdmin {
        self.timeout = timeout;
        self
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/admin/api/{API_VERSION}/{}",
            self.base,
            path.trim_start_matches('/')
        )
    }

    /// A transport error in a few words.
    fn failed(&self, e: &reqwest::Error) -> AdminError {
        if e.is_timeout() {
            AdminError::NoAnswer(self.timeout.as_secs_f64().ceil() as u64)
        } else if e.is_connect() {
            AdminError::Unreachable("the connection failed".to_owned())
        } else {
            AdminError::Unreachable(e.to_string())
        }
    }

    /// One call, with 429s waited out and the call-limit bucket respected. Returns the body
    /// and the `Link` header (for paging).
    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(Value, Option<String>), AdminError> {
        let mut attempt = 0;
        loop {
            let mut req = self
                .client
                .request(method.clone(), url)
                .timeout(self.timeout);
            if let Some(b) = body {
                req = req.json(b);
            }
            let res = req.send().await.map_err(|e| self.failed(&e))?;
            let status = res.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                attempt += 1;
                if attempt > MAX_RETRIES {
                    return Err(AdminError::RateLimited);
                }
                let wait = res
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map_or(Duration::from_secs(2), |s| {
                        Duration::from_secs_f64(s.min(60.0))
                    });
                tokio::time::sleep(wait).await;
                continue;
            }
            let pause = bucket_pause(res.headers());
            let link = res
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let text = res.text().await.map_err(|e| self.failed(&e))?;
            if !status.is_success() {
                return Err(AdminError::Refused {
                    status: status.as_u16(),
                    message: shopify_message(&text),
                });
            }
            if let Some(p) = pause {
                tokio::time::sleep(p).await;
            }
            let value = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).map_err(|e| AdminError::Garbled(e.to_string()))?
            };
            return Ok((value, link));
        }
    }

    /// Every item of a list endpoint (`customers.json`, `orders.json?status=any`), page by
    /// page (`Link: <…page_info=…>; rel="next"`), handed to `each` as they come.
    pub async fn each_page(
        &self,
        path: &str,
        key: &str,
        mut each: impl AsyncFnMut(Vec<Value>) -> Result<(), String>,
    ) -> Result<usize, String> {
        let mut url = self.url(path);
        let mut seen = 0;
        loop {
            let (body, link) = self
                .call(Method::GET, &url, None)
                .await
                .map_err(|e| e.to_string())?;
            let items = body
                .get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            seen += items.len();
            each(items).await?;
            match link.as_deref().and_then(next_link) {
                Some(next) => url = self.absolute(&next),
                None => return Ok(seen),
            }
        }
    }

    /// A `Link` URL pointed at our base (a fake in tests answers with its own host).
    fn absolute(&self, link: &str) -> String {
        match url::Url::parse(link) {
            Ok(u) => {
                let q = u.query().map(|q| format!("?{q}")).unwrap_or_default();
                format!("{}{}{q}", self.base, u.path())
            }
            Err(_) => link.to_owned(),
        }
    }

    /// `GET orders/{id}.json`.
    pub async fn order(&self, id: &str) -> Result<Value, AdminError> {
        let (v, _) = self
            .call(Method::GET, &self.url(&format!("orders/{id}.json")), None)
            .await?;
        order_of(v)
    }

    /// Cancels an order (`POST orders/{id}/cancel.json`); returns the order as it now is.
    pub async fn cancel(
        &self,
        id: &str,
        reason: CancelReason,
        notify: bool,
    ) -> Result<Value, AdminError> {
        let body = serde_json::json!({ "reason": reason.as_str(), "email": notify });
        let (v, _) = self
            .call(
                Method::POST,
                &self.url(&format!("orders/{id}/cancel.json")),
                Some(&body),
            )
            .await?;
        order_of(v)
    }

    /// Refunds line items (`(line_item_id, quantity)`; empty means everything) with their
    /// share of shipping when `shipping` is set: Shopify calculates the refund first, and only
    /// that calculation is sent back as the refund, so nothing is refunded that Shopify did
    /// not agree to. Returns the refund.
    pub async fn refund(
        &self,
        id: &str,
        lines: &[(String, i64)],
        shipping: bool,
        note: &str,
        notify: bool,
    ) -> Result<Value, AdminError> {
        let refund_line_items: Vec<Value> = lines
            .iter()
            .map(|(li, q)| serde_json::json!({ "line_item_id": li.parse::<u64>().map(Value::from).unwrap_or(Value::from(li.clone())), "quantity": q, "restock_type": "no_restock" }))
            .collect();
        let mut calc = serde_json::json!({ "refund": { "refund_line_items": refund_line_items } });
        if shipping {
            calc["refund"]["shipping"] = serde_json::json!({ "full_refund": true });
        }
        let (calculated, _) = self
            .call(
                Method::POST,
                &self.url(&format!("orders/{id}/refunds/calculate.json")),
                Some(&calc),
            )
            .await?;
        let calculated = calculated
            .get("refund")
            .cloned()
            .ok_or_else(|| AdminError::Garbled("no refund in the calculation".into()))?;
        let transactions: Vec<Value> = calculated
            .get("transactions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|t| {
                serde_json::json!({
                    "parent_id": t.get("parent_id").cloned().unwrap_or(Value::Null),
                    "amount": t.get("amount").cloned().unwrap_or(Value::Null),
                    "kind": "refund",
                    "gateway": t.get("gateway").cloned().unwrap_or(Value::Null),
                })
            })
            .collect();
        let mut create = serde_json::json!({ "refund": {
            "notify": notify,
            "note": note,
            "refund_line_items": calculated.get("refund_line_items").cloned().unwrap_or(Value::Array(vec![])),
            "transactions": transactions,
        }});
        if let Some(s) = calculated.get("shipping") {
            create["refund"]["shipping"] =
                serde_json::json!({ "amount": s.get("amount").cloned().unwrap_or(Value::Null) });
        }
        let (v, _) = self
            .call(
                Method::POST,
                &self.url(&format!("orders/{id}/refunds.json")),
                Some(&create),
            )
            .await?;
        v.get("refund")
            .cloned()
            .ok_or_else(|| AdminError::Garbled("no refund in the answer".into()))
    }

    /// Sends the shipping confirmation again for a fulfillment
    /// (`POST fulfillments/{id}/update_tracking.json` with `notify_customer`).
    pub async fn resend_shipping(
        &self,
        fulfillment: &str,
        number: &str,
        company: &str,
        url: Option<&str>,
    ) -> Result<Value, AdminError> {
        let body = serde_json::json!({ "fulfillment": {
            "notify_customer": true,
            "tracking_info": { "number": number, "company": company, "url": url },
        }});
        let (v, _) = self
            .call(
                Method::POST,
                &self.url(&format!("fulfillments/{fulfillment}/update_tracking.json")),
                Some(&body),
            )
            .await?;
        Ok(v)
    }

    /// Replaces an order's shipping address (`PUT orders/{id}.json`); returns the order.
    pub async fn change_address(&self, id: &str, address: &Value) -> Result<Value, AdminError> {
        let body = serde_json::json!({ "order": { "id": id.parse::<u64>().map(Value::from).unwrap_or(Value::from(id)), "shipping_address": address } });
        let (v, _) = self
            .call(
                Method::PUT,
                &self.url(&format!("orders/{id}.json")),
                Some(&body),
            )
            .await?;
        order_of(v)
    }
}

fn order_of(v: Value) -> Result<Value, AdminError> {
    v.get("order")
        .cloned()
        .filter(Value::is_object)
        .ok_or_else(|| AdminError::Garbled("no order in the answer".into()))
}

/// How long to pause after an answer whose call-limit bucket (`used/size`) is nearly full:
/// the bucket leaks two calls a second on standard plans.
fn bucket_pause(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get("x-shopify-shop-api-call-limit")?
        .to_str()
        .ok()?;
    let (used, size) = v.split_once('/')?;
    let (used, size): (u32, u32) = (used.trim().parse().ok()?, size.trim().parse().ok()?);
    (size > 0 && used + 2 >= size).then_some(Duration::from_millis(1000))
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, rest) = part.split_once(';')?;
        rest.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

/// Shopify's own words from an error body (`{"errors": …}`), short.
fn shopify_message(text: &str) -> String {
    let words = match serde_json::from_str::<Value>(text) {
        Ok(v) => match v.get("errors").or_else(|| v.get("error")) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => text.to_owned(),
        },
        Err(_) => text.to_owned(),
    };
    words.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_read_from_the_link_header() {
        let link = r#"<https://acme.myshopify.com/admin/api/2024-10/orders.json?limit=250&page_info=abc>; rel="previous", <https://acme.myshopify.com/admin/api/2024-10/orders.json?limit=250&page_info=def>; rel="next""#;
        assert_eq!(
            next_link(link).unwrap(),
            "https://acme.myshopify.com/admin/api/2024-10/orders.json?limit=250&page_info=def"
        );
        assert_eq!(next_link(r#"<https://x/a>; rel="previous""#), None);
    }

    #[test]
    fn a_nearly_full_bucket_pauses() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-shopify-shop-api-call-limit",
            HeaderValue::from_static("39/40"),
        );
        assert!(bucket_pause(&h).is_some());
        h.insert(
            "x-shopify-shop-api-call-limit",
            HeaderValue::from_static("3/40"),
        );
        assert!(bucket_pause(&h).is_none());
    }

    #[test]
    fn shopify_errors_read_as_words() {
        assert_eq!(shopify_message(r#"{"errors":"Not Found"}"#), "Not Found");
        assert_eq!(
            shopify_message(r#"{"errors":{"base":["Cannot cancel"]}}"#),
            r#"{"base":["Cannot cancel"]}"#
        );
    }
}
