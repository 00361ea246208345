//! Prometheus metrics: requests by route and status, and their latency.
//!
//! Every label comes from a closed set, so no request can add series: the method is one of
//! HTTP's own or `other`, the route is the router's template (`/api/v1/conversations/{id}`)
//! or `unmatched`, never the path as sent, and the status is a number below 600. Requests
//! the rate limit refused are one counter of their own, whatever they asked for.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

/// The methods the API answers, by name; anything else is `other`.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

fn method_label(method: &axum::http::Method) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("other")
}

/// Marks a response as the rate limit's refusal, so it is counted apart.
#[derive(Clone, Copy)]
pub(crate) struct RateLimited;

pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    rate_limited: Counter,
    latency: Histogram,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("concierge");
        let requests = Family::<RequestLabels, Counter>::default();
        let rate_limited = Counter::default();
        let latency = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_requests_rate_limited",
            "HTTP requests refused by the per-address rate limit",
            rate_limited.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests",
            latency.clone(),
        );
        Metrics {
            registry,
            requests,
            rate_limited,
            latency,
        }
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    // The route template, not the raw path, so ids do not explode the label set.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    if response.extensions().get::<RateLimited>().is_some() {
        state.metrics.rate_limited.inc();
        return response;
    }
    state
        .metrics
        .latency
        .observe(started.elapsed().as_secs_f64());
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_http_are_one_label() {
        let made_up = axum::http::Method::from_bytes(&[b'X'; 8192]).unwrap();
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&axum::http::Method::PATCH), "PATCH");
    }
}
