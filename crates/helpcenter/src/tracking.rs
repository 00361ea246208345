//! The shopper's side of a parcel: the tracking page `/track/{token}` (where it is, the
//! carrier's scans, when it should arrive or did, the carrier's own link — in the reader's
//! language, times in the shop's time zone) with "get help with this
//! order", which opens a conversation already attached to the order. (The link in every
//! notice that stops them is in `mail_links`.)
//!
//! The token in the link is the only key: 122 random bits, never an id. Pages are not
//! indexed by search engines.

use crate::pages::{frame, respond, Head};
use crate::visits::Reader;
use crate::words::words;
use crate::{HelpCenter, HelpResult, Languages};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use concierge_api::error::ApiError;
use concierge_api::AppState;
use concierge_domain::commerce::{Arrival, TrackingStatus};
use concierge_domain::contact::EmailAddress;
use concierge_domain::dates::{Calendar, Language};
use concierge_domain::text::{MessageBody, Subject};
use concierge_store::commerce::{Order, Shipment};
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

/// A token as we make them: 32 lower-case hex digits. Anything else is not looked up.
fn valid_token(t: &str) -> bool {
    t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Deserialize)]
pub(crate) struct TrackQuery {
    sent: Option<String>,
    /// The language the reader picked with the switcher.
    lang: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct HelpForm {
    #[serde(default)]
    message: String,
    #[serde(default)]
    email: String,
    /// Hidden from people; robots fill it in.
    #[serde(default)]
    website: String,
}

/// `GET /track/{token}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Path(token): Path<String>,
    Query(q): Query<TrackQuery>,
) -> HelpResult {
    if !valid_token(&token) {
        return Err(ApiError::NotFound("shipment"));
    }
    let (shipment, order) = state.store.shipment_by_token(&token).await?;
    let needs_email = state
        .store
        .customer(&order.customer_id)
        .await?
        .email
        .is_none();
    let page = PageLanguage::of(&state, &reader, q.lang.as_deref()).await?;
    Ok(show(
        &help,
        &reader,
        &page,
        &token,
        &shipment,
        &order,
        needs_email,
        q.sent.is_some(),
        None,
        StatusCode::OK,
    ))
}

/// What a tracking page is written with: the reader's language (as the help center picks
/// it), and dates in the shop's time zone in that language.
struct PageLanguage {
    langs: Languages,
    calendar: Calendar,
}

impl PageLanguage {
    async fn of(
        state: &AppState,
        reader: &Reader,
        asked: Option<&str>,
    ) -> Result<PageLanguage, ApiError> {
        let langs = Languages::pick(state, asked, reader).await?;
        let calendar = state
            .store
            .calendar(Language::of(langs.chosen.as_str()))
            .await?;
        Ok(PageLanguage { langs, calendar })
    }
}

#[allow(clippy::too_many_arguments)]
fn show(
    help: &HelpCenter,
    reader: &Reader,
    page: &PageLanguage,
    token: &str,
    s: &Shipment,
    order: &Order,
    needs_email: bool,
    sent: bool,
    problem: Option<&str>,
    status: StatusCode,
) -> axum::response::Response {
    let (langs, calendar) = (&page.langs, &page.calendar);
    let w = words(langs.chosen.as_str());
    let mut head = Head::titled(format!(
        "{} {}: {}",
        w.order,
        order.number,
        w.tracking_status(s.status)
    ));
    head.noindex = true;
    // The language switcher stays on this page.
    let here = format!("/track/{token}");
    head.alternates = langs
        .available
        .iter()
        .map(|l| (l.as_str().to_owned(), langs.url(&here, l.as_str())))
        .collect();
    let mut events = s.events.clone();
    events.sort_by_key(|e| std::cmp::Reverse(e.occurred_at));
    let step = |st: TrackingStatus| match (s.status, st) {
        (now, want) if now == want => "current",
        (TrackingStatus::Delivered, _) => "done",
        (
            TrackingStatus::OutForDelivery,
            TrackingStatus::InfoReceived | TrackingStatus::InTransit,
        ) => "done",
        (TrackingStatus::InTransit, TrackingStatus::InfoReceived) => "done",
        _ => "todo",
    };
    let main: Markup = html! {
        section.tracking aria-labelledby="track-title" {
            p.lead { (w.order) " " (order.number) }
            h1 #track-title { (w.tracking_status(s.status)) }
            @match s.arrival() {
                Some(Arrival::Expected(at)) => p.eta { (w.expected_by) " " time datetime=(at.to_rfc3339()) { (calendar.day(at)) } },
                Some(Arrival::Delivered(at)) => p.eta { (w.delivered_on) " " time datetime=(at.to_rfc3339()) { (calendar.day(at)) } },
                None => {},
            }
            ol.progress {
                @for st in [TrackingStatus::InfoReceived, TrackingStatus::InTransit, TrackingStatus::OutForDelivery, TrackingStatus::Delivered] {
                    li class=(step(st)) { (w.tracking_status(st)) }
                }
            }
            dl.parcel {
                @if !s.carrier.is_empty() { dt { (w.carrier) } dd { (s.carrier) } }
                @if !s.tracking_number.is_empty() {
                    dt { (w.tracking_number) }
                    dd {
                        @match s.tracking_url.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
                            Some(url) => a href=(url) rel="noopener noreferrer nofollow" { (s.tracking_number) " " (w.on_carriers_site) },
                            None => (s.tracking_number),
                        }
                    }
                }
            }
            h2 { (w.journey) }
            @if events.is_empty() {
                p.empty { (w.no_scans) }
            } @else {
                ol.timeline {
                    @for e in &events {
                        li {
                            time datetime=(e.occurred_at.to_rfc3339()) { (calendar.date_time(e.occurred_at)) }
                            strong { (w.tracking_status(e.status)) }
                            @if let Some(m) = &e.message { span.message { (m) } }
                            @if let Some(l) = &e.location { span.location { (l) } }
                        }
                    }
                }
            }
        }
        section.order-help aria-labelledby="order-help-title" {
            h2 #order-help-title { (w.order_help) }
            @if sent {
                p role="status" { (w.order_help_thanks) " " (order.number) ". " (w.order_help_reply) }
            } @else {
                @if let Some(p) = problem { div.problems role="alert" { p { (p) } } }
                form.contact method="post" action={ "/track/" (token) "/help" } {
                    @if needs_email {
                        div.field {
                            label for="help-email" { (w.your_email) }
                            input #help-email type="email" name="email" maxlength="254" autocomplete="email" required;
                        }
                    }
                    div.field {
                        label for="help-message" { (w.whats_wrong) }
                        textarea #help-message name="message" rows="5" maxlength="10000" required {}
                    }
                    div.trap aria-hidden="true" {
                        label for="help-website" { (w.leave_empty) }
                        input #help-website type="text" name="website" tabindex="-1" autocomplete="off";
                    }
                    button type="submit" { (w.send) }
                }
            }
        }
    };
    respond(
        help,
        reader,
        langs,
        status,
        frame(help, langs, &head, "", main),
    )
}

/// `POST /track/{token}/help`: opens a conversation about the order (rate-limited like the
/// contact form), then shows the page again with thanks (303).
pub(crate) async fn ask(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Path(token): Path<String>,
    Form(form): Form<HelpForm>,
) -> HelpResult {
    if !valid_token(&token) {
        return Err(ApiError::NotFound("shipment"));
    }
    if let Some(address) = reader.address {
        if let Err(secs) = help.contact_limit.check(address) {
            return Err(ApiError::RateLimited(secs.max(1)));
        }
    }
    let (shipment, order) = state.store.shipment_by_token(&token).await?;
    let thanks = format!("/track/{token}?sent=1");
    if !form.website.trim().is_empty() {
        return Ok(Redirect::to(&thanks).into_response());
    }
    let needs_email = state
        .store
        .customer(&order.customer_id)
        .await?
        .email
        .is_none();
    let email = if needs_email {
        match EmailAddress::parse(&form.email) {
            Ok(e) => Some(e),
            Err(_) => {
                let page = PageLanguage::of(&state, &reader, None).await?;
                let w = words(page.langs.chosen.as_str());
                return Ok(show(
                    &help,
                    &reader,
                    &page,
                    &token,
                    &shipment,
                    &order,
                    true,
                    false,
                    Some(w.need_reply_address),
                    StatusCode::UNPROCESSABLE_ENTITY,
                ));
            }
        }
    } else {
        None
    };
    let body = match MessageBody::parse(&form.message) {
        Ok(b) => b,
        Err(e) => {
            let page = PageLanguage::of(&state, &reader, None).await?;
            let w = words(page.langs.chosen.as_str());
            let why = if form.message.trim().is_empty() {
                w.tell_whats_wrong.to_owned()
            } else {
                format!("{} {e}.", w.bad_message)
            };
            return Ok(show(
                &help,
                &reader,
                &page,
                &token,
                &shipment,
                &order,
                needs_email,
                false,
                Some(&why),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let subject = Subject::parse(&format!("Help with order {}", order.number))
        .map_err(|_| ApiError::Internal)?;
    let id = state
        .store
        .open_order_conversation(
            &order.id,
            subject,
            body.clone(),
            concierge_intents::read(body.as_str()),
            email,
        )
        .await?;
    tracing::info!(conversation = %id, order = %order.id, "a tracking page opened a conversation");
    Ok(Redirect::to(&thanks).into_response())
}
