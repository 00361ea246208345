//! The request rate limit: each client address gets a steady rate with bursts of twice that
//! (GCRA, by `governor`); past it a request is answered 429 with `Retry-After` before any
//! handler, token check or database work runs.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many checks pass between sweeps of addresses that have been quiet long enough to
/// have their full burst back, so the table stays as small as the set of recent clients.
const SWEEP_EVERY: u64 = 10_000;

/// A rate limit per client address. Also used by pages that take public forms (the help
/// center's contact form) for their own, tighter limits.
pub struct PerClient {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl PerClient {
    /// `per_second` with bursts of twice that; `None` when the limit is off (`0`).
    pub(crate) fn per_second(per_second: u32) -> Option<PerClient> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = rate.saturating_mul(NonZeroU32::new(2).expect("2 is not zero"));
        Some(PerClient::new(Quota::per_second(rate).allow_burst(burst)))
    }

    /// `burst` at once, then one more every `60 / per_minute` seconds.
    pub fn per_minute(per_minute: NonZeroU32, burst: NonZeroU32) -> PerClient {
        PerClient::new(Quota::per_minute(per_minute).allow_burst(burst))
    }

    fn new(quota: Quota) -> PerClient {
        PerClient {
            limiter: RateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        }
    }

    /// Whether `client` may make a request now; if not, in how many whole seconds it may.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// The middleware. Requests without a peer address (only in-process tests) are not limited.
pub(crate) async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let (Some(rate), Some(ConnectInfo(peer))) = (
        &state.rate,
        request.extensions().get::<ConnectInfo<SocketAddr>>(),
    ) {
        if let Err(secs) = rate.check(concierge_domain::access::counted_address(peer.ip())) {
            let mut refused = ApiError::RateLimited(secs.max(1)).into_response();
            refused.extensions_mut().insert(crate::metrics::RateLimited);
            // The chat widget (`concierge-chat`) calls from the shop's origin: its refusal
            // must be readable there (its routes' CORS layer sits inside this one).
            if request.uri().path().starts_with("/api/widget/") {
                refused.headers_mut().insert(
                    axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    axum::http::HeaderValue::from_static("*"),
                );
            }
            return refused;
        }
    }
    next.run(request).await
}

/// The address a request came from, as limits count it: the peer of its connection (an IPv6
/// peer by its /64 network, see `counted_address`). Requests without one (only in-process
/// tests) count as coming from the unspecified address.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| {
                    concierge_domain::access::counted_address(c.0.ip())
                }),
        ))
    }
}
