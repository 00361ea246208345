//! The admin pages: agents, teams, tags, canned replies, help articles, the store platforms'
//! webhook deliveries, shipment notices' wording, the chat assistant's replies in the shop's
//! words, business hours, API tokens, and read-only settings.
//! Only admins reach them ([`AdminAgent`]); the API checks the role again on every write.

use crate::layout::{self, Section};
use crate::Viewer;
use crate::{AdminAgent, PageResult, SettingsView};
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Extension, Router};
use concierge_api::AppState;
use concierge_assistant::words::{Reply, Wording, MAX_TEMPLATE_CHARS};
use concierge_commerce::notices::wordings;
use concierge_commerce::variables::NOTICE_VARIABLES;
use concierge_domain::access::Role;
use concierge_domain::dates::{Calendar, Language};
use concierge_domain::hours::DAYS;
use concierge_domain::replies::VARIABLES;
use concierge_store::platforms::DeliveryState;
use concierge_store::{Cursor, PageRequest};
use maud::{html, Markup};
use std::sync::Arc;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/admin",
            get(|| async { axum::response::Redirect::to("/admin/agents") }),
        )
        .route("/admin/agents", get(agents))
        .route("/admin/teams", get(teams))
        .route("/admin/tags", get(tags))
        .route("/admin/canned-replies", get(canned_replies))
        .route("/admin/deliveries", get(deliveries))
        .route("/admin/notices", get(notices))
        .route("/admin/assistant", get(assistant_replies))
        .route("/admin/hours", get(business_hours))
        .route("/admin/tokens", get(tokens))
        .route("/admin/settings", get(settings_page))
}

const PAGES: &[(&str, &str)] = &[
    ("agents", "Agents"),
    ("teams", "Teams"),
    ("tags", "Tags"),
    ("canned-replies", "Canned replies"),
    ("articles", "Help articles"),
    ("help-center", "Help center"),
    ("deliveries", "Store webhooks"),
    ("notices", "Shipment notices"),
    ("assistant", "Assistant replies"),
    ("hours", "Business hours"),
    ("tokens", "API tokens"),
    ("settings", "Settings"),
];

pub(crate) fn page(viewer: &Viewer, key: &str, body: Markup) -> PageResult {
    let title = PAGES
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("Admin", |(_, t)| t);
    let main = html! {
        div.admin {
            nav.admin-nav aria-label="Admin" {
                @for (k, t) in PAGES {
                    a href={"/admin/" (k)} aria-current=[(*k == key).then_some("page")] { (t) }
                }
            }
            section.admin-body {
                h1 { (title) }
                (body)
            }
        }
    };
    Ok(Html(
        layout::shell(&format!("admin-{key}"), title, Section::Admin, viewer, main).into_string(),
    )
    .into_response())
}

async fn agents(State(state): State<AppState>, AdminAgent(viewer): AdminAgent) -> PageResult {
    let agents = state.store.agents().await?;
    let body = html! {
        table.list {
            thead { tr { th { "Name" } th { "Email" } th { "Role" } th { "Status" } th { span.visually-hidden { "Actions" } } } }
            tbody {
                @for a in &agents {
                    tr data-id=(a.id.as_str()) {
                        td { (a.name) }
                        td { (a.email) }
                        td {
                            label.visually-hidden for={"role-" (a.id.as_str())} { "Role of " (a.name) }
                            select.agent-role id={"role-" (a.id.as_str())} data-id=(a.id.as_str()) disabled[a.id == viewer.session.agent.id] {
                                @for r in Role::ALL {
                                    option value=(r.as_str()) selected[*r == a.role] { (r.as_str()) }
                                }
                            }
                        }
                        td { @if a.active { "active" } @else { "deactivated" } }
                        td {
                            @if a.id != viewer.session.agent.id {
                                button.agent-reset-2fa type="button" data-id=(a.id.as_str()) { "Reset two-factor" }
                                " "
                                button.agent-active type="button" data-id=(a.id.as_str()) data-active=(if a.active { "false" } else { "true" }) {
                                    @if a.active { "Deactivate" } @else { "Reactivate" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add an agent" }
        form #agent-form .stack {
            label { "Name" input name="name" required; }
            label { "Email" input name="email" type="email" required; }
            label { "Role"
                select name="role" { option value="agent" { "agent" } option value="admin" { "admin" } }
            }
            label { "Password (at least 12 characters; they change it later)" input name="password" type="password" autocomplete="new-password" required minlength="12"; }
            p.error role="alert" {}
            button type="submit" { "Add agent" }
        }
    };
    page(&viewer, "agents", body)
}

async fn teams(State(state): State<AppState>, AdminAgent(viewer): AdminAgent) -> PageResult {
    let teams = state.store.teams().await?;
    let body = html! {
        @if teams.is_empty() { p.empty { "No teams yet. Teams group agents, and conversations can be given to one." } }
        ul.plain { @for t in &teams { li { (t.name) } } }
        h2 { "Add a team" }
        form #team-form .stack {
            label { "Name" input name="name" required; }
            p.error role="alert" {}
            button type="submit" { "Add team" }
        }
    };
    page(&viewer, "teams", body)
}

async fn tags(State(state): State<AppState>, AdminAgent(viewer): AdminAgent) -> PageResult {
    let tags = state.store.tags().await?;
    let body = html! {
        @if tags.is_empty() { p.empty { "No tags yet. Tags are created when an agent first puts one on a conversation." } }
        table.list {
            thead { tr { th { "Tag" } th { "Conversations" } } }
            tbody {
                @for (name, n) in &tags {
                    tr { td { a href={"/inbox?view=all&tag=" (layout::encode_component(name))} { (name) } } td { (n) } }
                }
            }
        }
    };
    page(&viewer, "tags", body)
}

async fn canned_replies(
    State(state): State<AppState>,
    AdminAgent(viewer): AdminAgent,
) -> PageResult {
    let replies = state.store.canned_replies().await?;
    let body = html! {
        @if replies.is_empty() { p.empty { "No canned replies yet. Agents insert them by typing / and the shortcut." } }
        @for r in &replies {
            form.canned-form.stack data-id=(r.id.as_str()) aria-label={"Canned reply " (r.shortcut)} {
                label { "Shortcut" input name="shortcut" value=(r.shortcut) required; }
                label { "Title" input name="title" value=(r.title) required; }
                label { "Text" textarea name="body" rows="4" required { (r.body) } }
                p.error role="alert" {}
                div { button type="submit" { "Save" } " " button.delete type="button" { "Delete" } }
            }
        }
        h2 { "Add a canned reply" }
        form.canned-form.stack aria-label="New canned reply" {
            label { "Shortcut" input name="shortcut" required placeholder="where-is-my-order"; }
            label { "Title" input name="title" required; }
            label { "Text" textarea name="body" rows="4" required {} }
            p.error role="alert" {}
            button type="submit" { "Add canned reply" }
        }
        h2 { "Variables" }
        dl.variables {
            @for (v, what) in VARIABLES { dt { code { "{{" (v) "}}" } } dd { (what) } }
        }
    };
    page(&viewer, "canned-replies", body)
}

#[derive(serde::Deserialize)]
pub(crate) struct DeliveriesQuery {
    /// A [`DeliveryState`]; all of them when absent or unknown.
    state: Option<String>,
    cursor: Option<String>,
}

/// How much of a delivery's payload the page shows; the whole is in the API.
const PAYLOAD_SHOWN: usize = 4_000;

/// What Shopify, WooCommerce and AfterShip sent, newest first: failures with why, and a
/// button to apply them again.
async fn deliveries(
    State(state): State<AppState>,
    AdminAgent(viewer): AdminAgent,
    Query(q): Query<DeliveriesQuery>,
) -> PageResult {
    let shown = q
        .state
        .as_deref()
        .and_then(|s| DeliveryState::parse(s).ok());
    let found = state
        .store
        .deliveries(
            shown,
            &PageRequest {
                limit: Some(50),
                cursor: q.cursor.as_deref().and_then(|c| Cursor::decode(c).ok()),
            },
        )
        .await?;
    let filter = |s: Option<DeliveryState>| match s {
        Some(s) => format!("/admin/deliveries?state={s}"),
        None => "/admin/deliveries".to_owned(),
    };
    let body = html! {
        p { "Every signed delivery from a store platform or tracking service is kept, and applied in the background. One that keeps failing waits here for you." }
        nav.filters aria-label="Show" {
            a href=(filter(None)) aria-current=[shown.is_none().then_some("page")] { "All" }
            @for s in DeliveryState::ALL {
                " " a href=(filter(Some(*s))) aria-current=[(shown == Some(*s)).then_some("page")] { (s.as_str()) }
            }
        }
        @if found.items.is_empty() { p.empty { "Nothing here." } }
        table.list.deliveries {
            thead { tr { th { "Received" } th { "From" } th { "Topic" } th { "State" } th { "What happened" } th { span.visually-hidden { "Actions" } } } }
            tbody {
                @for d in &found.items {
                    tr data-id=(d.id.as_str()) data-state=(d.state.as_str()) {
                        td { (layout::time(d.received_at)) }
                        td { (d.platform) @if let Some(shop) = &d.shop { br; small { (shop) } } }
                        td { code { (d.topic) } br; small { (d.delivery_id) } }
                        td.state { (d.state.as_str()) }
                        td {
                            @if let Some(e) = &d.error { p.delivery-error { (e) } }
                            details {
                                summary { "Payload" }
                                pre.payload { (payload_excerpt(&d.body)) }
                            }
                        }
                        td {
                            @if matches!(d.state, DeliveryState::Failed | DeliveryState::Pending) {
                                button.delivery-retry type="button" data-id=(d.id.as_str()) { "Apply again" }
                                p.error role="alert" {}
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = &found.next_cursor {
            a.more href={(filter(shown)) (if shown.is_some() { "&" } else { "?" }) "cursor=" (next.encode())} { "Older deliveries" }
        }
    };
    page(&viewer, "deliveries", body)
}

/// The start of a payload, cut on a character boundary.
fn payload_excerpt(body: &str) -> String {
    match body.char_indices().nth(PAYLOAD_SHOWN) {
        Some((cut, _)) => format!("{}\n… ({} bytes in all)", &body[..cut], body.len()),
        None => body.to_owned(),
    }
}

/// What shoppers are told about their parcels, in the shop's words.
async fn notices(State(state): State<AppState>, AdminAgent(viewer): AdminAgent) -> PageResult {
    let wordings = wordings(&state.store).await?;
    let body = html! {
        p { "Shoppers get these by email when their parcel ships, is out for delivery, is delivered, when a delivery attempt fails or the carrier reports a problem, and when it is late. Each is sent once per parcel; shoppers can unsubscribe from them." }
        @for w in &wordings {
            form.notice-form.stack data-kind=(w.kind.as_str()) aria-label={"Notice: " (notice_title(w.kind))} {
                h2 { (notice_title(w.kind)) @if w.customized { " " small.badge { "your wording" } } }
                label { "Subject" input name="subject" value=(w.subject) required maxlength="200"; }
                label { "Text" textarea name="body" rows="8" required { (w.body) } }
                p.error role="alert" {}
                div {
                    button type="submit" { "Save" }
                    @if w.customized { " " button.reset type="button" { "Back to our wording" } }
                }
            }
        }
        h2 { "Variables" }
        dl.variables {
            @for (v, what) in NOTICE_VARIABLES { dt { code { "{{" (v) "}}" } } dd { (what) } }
        }
    };
    page(&viewer, "notices", body)
}

/// What the chat assistant says to shoppers, in the shop's words.
async fn assistant_replies(
    State(state): State<AppState>,
    AdminAgent(viewer): AdminAgent,
) -> PageResult {
    let wording = Wording::load(&state.store).await?;
    let body = html! {
        p { "The virtual assistant says these to shoppers in the chat widget. Word them your way: each "
            code { "{{variable}}" } " is filled for the chat, and one without a value there is left out. "
            "The lines about each parcel in an order's status (carrier, last scan, expected date) are not worded here." }
        @for &reply in Reply::ALL {
            @let customised = wording.changed(reply).is_some();
            form.assistant-reply-form.stack data-key=(reply.key()) aria-label={"Reply: " (reply.key())} {
                h2 { code { (reply.key()) } @if customised { " " small.badge { "your wording" } } }
                p { (reply.description()) }
                label { "Text" textarea name="template" rows="4" required maxlength=(MAX_TEMPLATE_CHARS) { (wording.template(reply)) } }
                details {
                    summary { "Variables it may use" }
                    dl.variables {
                        @for (v, what) in reply.variables() { dt { code { "{{" (v) "}}" } } dd { (what) } }
                    }
                }
                p.error role="alert" {}
                div {
                    button type="submit" { "Save" }
                    @if customised { " " button.reset type="button" { "Back to default" } }
                }
            }
        }
    };
    page(&viewer, "assistant", body)
}

async fn business_hours(
    State(state): State<AppState>,
    AdminAgent(viewer): AdminAgent,
) -> PageResult {
    let hours = state.store.business_hours().await?;
    let calendar = Calendar::of_shop(hours.as_ref(), Language::English);
    let now = chrono::Utc::now();
    let body = html! {
        p { "When the team answers. Outside these hours the chat widget says when you are back and offers to reply by email, "
            "and the assistant says so when it passes a chat to the team. Within them, the widget goes by whether anyone is online." }
        @match &hours {
            None => p.status { strong { "Always open." } " Set hours below to have the widget and the assistant follow them." },
            Some(h) => p.status {
                @if h.is_open(now) { strong { "Open now." } }
                @else { strong { "Closed now." } @if let Some(o) = h.next_opening(now) { " Back " (calendar.day_time(o.at)) ", as shoppers are told." } }
            },
        }
        form #hours-form .stack {
            label { "Time zone" input name="timezone" required placeholder="Europe/London"
                data-field="timezone" data-label="Time zone"
                value=[hours.as_ref().map(|h| h.timezone())]; }
            fieldset {
                legend { "Opening hours, e.g. " code { "09:00-12:30, 13:30-17:00" } "; leave a day empty when closed" }
                @for (day, name) in DAYS {
                    label { (capitalised(name))
                        input name={"day-" (name)} placeholder="closed"
                            data-field={"week." (name)} data-label=(capitalised(name))
                            value=(hours.as_ref().map(|h| h.day(day).iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")).unwrap_or_default()); }
                }
            }
            label { "Closed on these dates (holidays), e.g. " code { "2026-12-25, 2026-12-26" }
                input name="closed_dates" data-field="closed_dates" data-label="Closed on"
                    value=(hours.as_ref().map(|h| h.closed_dates().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")).unwrap_or_default()); }
            p.error role="alert" {}
            div {
                button type="submit" { "Save hours" }
                @if hours.is_some() { " " button.reset type="button" { "Always open" } }
            }
        }
    };
    page(&viewer, "hours", body)
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn notice_title(kind: concierge_domain::commerce::NoticeKind) -> &'static str {
    use concierge_domain::commerce::NoticeKind::*;
    match kind {
        Shipped => "Shipped",
        OutForDelivery => "Out for delivery",
        Delivered => "Delivered",
        AttemptFailed => "Delivery attempt failed",
        Exception => "Problem with the delivery",
        Late => "Late",
    }
}

async fn tokens(State(state): State<AppState>, AdminAgent(viewer): AdminAgent) -> PageResult {
    let tokens = state
        .store
        .tokens(&PageRequest {
            limit: Some(concierge_store::MAX_LIMIT),
            cursor: None,
        })
        .await?
        .items;
    let body = html! {
        @if tokens.is_empty() { p.empty { "No API tokens. Scripts and integrations use one to call the API." } }
        table.list {
            thead { tr { th { "Name" } th { "Starts with" } th { "Role" } th { "Created" } th { span.visually-hidden { "Actions" } } } }
            tbody {
                @for t in &tokens {
                    tr { td { (t.name) } td { code { (t.prefix) "…" } } td { (t.role.as_str()) } td { (layout::time(t.created_at)) }
                        td { button.revoke type="button" data-id=(t.id.as_str()) { "Revoke" } } }
                }
            }
        }
        h2 { "Create a token" }
        form #token-form .stack {
            label { "Name" input name="name" required; }
            label { "Role" select name="role" { option value="agent" { "agent" } option value="admin" { "admin" } } }
            p.error role="alert" {}
            button type="submit" { "Create token" }
        }
        div #new-token hidden {
            p { "The token — copy it now, it is not shown again:" }
            p { code #new-token-value {} }
        }
    };
    page(&viewer, "tokens", body)
}

async fn settings_page(
    AdminAgent(viewer): AdminAgent,
    Extension(settings): Extension<Arc<SettingsView>>,
) -> PageResult {
    let body = html! {
        p { "Channels and integrations are configured in the service's settings file or environment (see the README); this page shows what is in effect." }
        dl.facts {
            @for (k, v) in &settings.facts { dt { (k) } dd { (v) } }
        }
    };
    page(&viewer, "settings", body)
}
