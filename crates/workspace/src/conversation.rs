//! One conversation: the whole thread, the reply box (reply or private note, canned replies
//! by shortcut, a suggested reply to insert), the controls (status, snooze, priority,
//! assignee, team, tags, merge) and the customer 360 sidebar (identities, other
//! conversations, orders with items and shipments).

use crate::layout::{self, Section};
use crate::{Agent, PageResult, SettingsView};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse};
use axum::Extension;
use concierge_api::error::ApiError;
use concierge_api::AppState;
use concierge_domain::commerce::{Arrival, CancelReason, OrderAction};
use concierge_domain::conversation::{
    Channel, ConversationStatus, Delivery, DeliveryStatus, Priority, SenderType,
};
use concierge_domain::ids::ConversationId;
use concierge_store::chat::ChatSession;
use concierge_store::commerce::{Order, OrderFilter};
use concierge_store::conversations::{Conversation, ConversationFilter, Message};
use concierge_store::customers::Customer;
use concierge_store::replies::CannedReply;
use concierge_store::PageRequest;
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Deserialize)]
pub(crate) struct ConversationQuery {
    /// `thread` or `controls`: only that part, for live updates.
    fragment: Option<String>,
}

/// How many orders and other conversations the sidebar lists.
const SIDEBAR_ITEMS: u32 = 20;

pub(crate) async fn conversation_page(
    State(state): State<AppState>,
    Agent(viewer): Agent,
    Path(id): Path<String>,
    Query(q): Query<ConversationQuery>,
    Extension(settings): Extension<Arc<SettingsView>>,
) -> PageResult {
    let id = ConversationId::parse(&id).map_err(|_| ApiError::NotFound("conversation"))?;
    let store = &state.store;
    let c = store.conversation(&id).await?;
    let agents: HashMap<String, String> = store
        .agents()
        .await?
        .into_iter()
        .map(|a| (a.id.into_string(), a.name))
        .collect();
    match q.fragment.as_deref() {
        Some("thread") => {
            let messages = store.messages(&id).await?;
            return Ok(Html(thread(&c, &messages, &agents).into_string()).into_response());
        }
        Some("controls") => {
            let teams = store.teams().await?;
            let others = others(&state, &c).await?;
            let assistant = assistant_of(&state, &c).await?;
            return Ok(
                Html(controls(&c, &agents, &teams, &others, assistant).into_string())
                    .into_response(),
            );
        }
        _ => {}
    }
    let messages = store.messages(&id).await?;
    let customer = store.customer(&c.customer.id).await?;
    let orders = store
        .orders(
            &OrderFilter {
                customer_id: Some(c.customer.id.clone()),
                ..Default::default()
            },
            &PageRequest {
                limit: Some(SIDEBAR_ITEMS),
                cursor: None,
            },
        )
        .await?
        .items;
    let others = others(&state, &c).await?;
    let chat = chat_of(&state, &c).await?;
    let assistant = chat.as_ref().map(|chat| chat.session.assistant);
    let teams = store.teams().await?;
    let replies = store.canned_replies().await?;
    let who = display_name(&c);
    let title = c.subject.clone().unwrap_or_else(|| who.to_owned());
    let main = html! {
        div.conversation-page data-conversation-id=(c.id.as_str()) data-help-url=(settings.public_url) {
            section.thread-column aria-labelledby="conversation-title" {
                header.conversation-head {
                    p.back { a href="/inbox" { "← Inbox" } }
                    h1 #conversation-title { (title) }
                    p.sub { (layout::channel(c.channel)) " " (who) " · started " (layout::time(c.created_at)) }
                    @if let Some(into) = &c.merged_into_id {
                        p.notice { "This conversation was merged. Its messages are now in "
                            a href={"/conversations/" (into.as_str())} { "the other conversation" } "." }
                    }
                    @if let Some(chat) = &chat { (chat_identity(chat)) }
                }
                div #presence .presence role="status" aria-live="polite" hidden {}
                (controls(&c, &agents, &teams, &others, assistant))
                h2.visually-hidden { "Messages" }
                (thread(&c, &messages, &agents))
                (composer(&c, &replies))
            }
            (sidebar(&customer, &orders, &others))
        }
    };
    Ok(
        Html(layout::shell("conversation", &title, Section::Inbox, &viewer, main).into_string())
            .into_response(),
    )
}

/// The customer's other conversations, newest activity first.
async fn others(state: &AppState, c: &Conversation) -> Result<Vec<Conversation>, ApiError> {
    let page = state
        .store
        .conversations(
            &ConversationFilter {
                customer_id: Some(c.customer.id.clone()),
                ..Default::default()
            },
            &PageRequest {
                limit: Some(SIDEBAR_ITEMS + 1),
                cursor: None,
            },
        )
        .await?;
    Ok(page.items.into_iter().filter(|o| o.id != c.id).collect())
}

fn display_name(c: &Conversation) -> &str {
    c.customer
        .name
        .as_deref()
        .or(c.customer.email.as_deref())
        .or(c.customer.phone.as_deref())
        .unwrap_or("Unknown customer")
}

fn thread(c: &Conversation, messages: &[Message], agents: &HashMap<String, String>) -> Markup {
    html! {
        ol.thread #thread aria-live="polite" {
            @for m in messages { (message(c, m, agents)) }
        }
    }
}

/// Content types shown as pictures in the thread; other files are links to download.
const PICTURES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

fn message(c: &Conversation, m: &Message, agents: &HashMap<String, String>) -> Markup {
    let kind = if m.private && m.sender_type != SenderType::System {
        "note"
    } else {
        m.sender_type.as_str()
    };
    let author = match m.sender_type {
        SenderType::Customer => "Customer".to_owned(),
        SenderType::Agent => m
            .agent_id
            .as_ref()
            .and_then(|a| agents.get(a.as_str()))
            .cloned()
            .unwrap_or_else(|| "Agent".to_owned()),
        SenderType::Bot => "Assistant".to_owned(),
        SenderType::System => "System".to_owned(),
    };
    // Someone other than the customer on record wrote into the thread (a colleague on CC,
    // a second address): the agent should see who.
    let other_sender = m.sender_address.as_deref().filter(|a| {
        c.customer
            .email
            .as_deref()
            .is_none_or(|e| !e.eq_ignore_ascii_case(a))
    });
    let mail = c.channel == Channel::Email
        && (m.sender_type == SenderType::Customer
            || matches!(
                m.delivery_status,
                Some(DeliveryStatus::Sent | DeliveryStatus::Delivered)
            ));
    html! {
        li class={"message " (kind)} data-id=(m.id.as_str()) {
            p.byline {
                span.author { (author) }
                @if let Some(a) = other_sender { " " span.sender { "<" (a) ">" } }
                @if kind == "note" { " " span.badge.note-badge { "private note" } }
                " · " (layout::time(m.created_at))
                @if let Some(d) = m.delivery_status { " · " span class={"delivery " (d.as_str())} { (d.as_str()) } }
            }
            div.body { (m.body) }
            @if let Some(q) = &m.quoted {
                details.quoted {
                    summary { "Show quoted text" }
                    div.body { (q) }
                }
            }
            @if let Some(h) = &m.body_html {
                details.formatted {
                    summary { "Show formatted message" }
                    div.body.html { (layout::sanitised_html(h, m.attachments.iter().map(|a| &a.id))) }
                }
            }
            @if !m.attachments.is_empty() {
                ul.attachments aria-label="Attachments" {
                    @for a in &m.attachments {
                        @let href = format!("/api/v1/attachments/{}", a.id);
                        @let essence = a.content_type.split(';').next().unwrap_or("").trim();
                        li {
                            @if PICTURES.contains(&essence) {
                                a href=(href) target="_blank" rel="noopener" {
                                    img.picture src=(href) alt=(a.filename) loading="lazy";
                                }
                                " "
                            }
                            a href=(href) download=(a.filename) { (a.filename) }
                            " (" (layout::size(a.size_bytes)) ")"
                        }
                    }
                }
            }
            @if m.delivery_status == Some(DeliveryStatus::Failed) {
                p.delivery-error role="alert" {
                    "Not delivered"
                    @if let Some(e) = &m.delivery_error { ": " (e) }
                    // Only what a transport carries can be sent again.
                    @if c.channel.delivery() == Delivery::Outbox {
                        " "
                        button.retry type="button" data-message-id=(m.id.as_str()) { "Send again" }
                    }
                }
            }
            @if mail {
                p.original { a href={"/api/v1/messages/" (m.id.as_str()) "/original"} download { "Original mail" } }
            }
        }
    }
}

/// For a chat, whether the virtual assistant answers it; `None` for other channels. (The
/// controls are fetched again on every change: this reads the session alone.)
async fn assistant_of(state: &AppState, c: &Conversation) -> Result<Option<bool>, ApiError> {
    if c.channel != Channel::Chat {
        return Ok(None);
    }
    Ok(state
        .store
        .chat_session_of(&c.id)
        .await?
        .map(|s| s.assistant))
}

/// A chat's session, and whether the address its shopper gave (unproved) is an existing
/// customer's.
struct Chat {
    session: ChatSession,
    claims_a_customer: bool,
}

async fn chat_of(state: &AppState, c: &Conversation) -> Result<Option<Chat>, ApiError> {
    if c.channel != Channel::Chat {
        return Ok(None);
    }
    let Some(session) = state.store.chat_session_of(&c.id).await? else {
        return Ok(None);
    };
    let claims_a_customer = match &session.email {
        Some(email) if !session.email_confirmed => !state
            .store
            .customers(
                &concierge_store::customers::CustomerFilter {
                    email: Some(email.clone()),
                    ..Default::default()
                },
                &PageRequest {
                    limit: Some(1),
                    cursor: None,
                },
            )
            .await?
            .items
            .is_empty(),
        _ => false,
    };
    Ok(Some(Chat {
        session,
        claims_a_customer,
    }))
}

/// Who the shopper in a chat is, as far as anyone knows: the shop vouched for them, they
/// proved their address, or they only said it (marked, so nobody takes it for proof).
fn chat_identity(chat: &Chat) -> Markup {
    let s = &chat.session;
    html! {
        @match (&s.email, s.verified, s.email_confirmed) {
            (Some(email), true, _) => p.identity.verified { "Signed in on the shop as " (email.as_str()) "." },
            (Some(email), false, true) => p.identity.verified { "Proved " (email.as_str()) " is theirs (followed the link we mailed)." },
            (Some(email), false, false) => p.identity.unverified role="note" {
                strong { "Not verified: " }
                "says they are " (email.as_str()) ", but has not proved it."
                @if chat.claims_a_customer {
                    " That is an existing customer's address: their orders and conversations are not shown here until this shopper proves it (an order number with its email, or the link we mail them)."
                }
            },
            _ => {}
        }
    }
}

fn controls(
    c: &Conversation,
    agents: &HashMap<String, String>,
    teams: &[concierge_store::access::Team],
    others: &[Conversation],
    assistant: Option<bool>,
) -> Markup {
    let status = c.lifecycle.status;
    let mut agents: Vec<(&String, &String)> = agents.iter().collect();
    agents.sort_by(|a, b| a.1.cmp(b.1));
    let assignee = c.assignee_id.as_ref().map(|a| a.as_str());
    let team = c.team_id.as_ref().map(|t| t.as_str());
    let mergeable: Vec<&Conversation> = others
        .iter()
        .filter(|o| o.merged_into_id.is_none() && o.lifecycle.status != ConversationStatus::Closed)
        .collect();
    html! {
        div.controls #controls data-status=(status.as_str()) {
            form #status-form aria-label="Status" {
                label { "Status "
                    select #status name="status" {
                        @for s in ConversationStatus::ALL {
                            @if *s != ConversationStatus::Snoozed || status == ConversationStatus::Snoozed {
                                option value=(s.as_str()) selected[*s == status] { (s.as_str()) }
                            }
                        }
                    }
                }
                @if let Some(until) = c.lifecycle.snooze_until {
                    span.snoozed { "until " (layout::time(until)) }
                }
                button #resolve type="button" disabled[status == ConversationStatus::Resolved] { "Resolve (e)" }
            }
            @if let Some(on) = assistant {
                div #assistant-control .assistant-control data-active=(on) {
                    span { @if on { "The assistant answers this chat." } @else { "The team answers this chat." } }
                    button #assistant-toggle type="button" data-active=(!on) {
                        @if on { "Take over from the assistant" } @else { "Hand back to the assistant" }
                    }
                }
            }
            form #snooze-form aria-label="Snooze" {
                label { "Snooze until " input #snooze-until type="datetime-local" name="snooze_until" required; }
                button type="submit" { "Snooze" }
            }
            form #priority-form aria-label="Priority" {
                label { "Priority "
                    select #priority name="priority" {
                        @for p in Priority::ALL {
                            option value=(p.as_str()) selected[*p == c.priority] { (p.as_str()) }
                        }
                    }
                }
            }
            form #assign-form aria-label="Assignment" {
                label { "Assignee "
                    select #assignee name="assignee_id" {
                        option value="" selected[assignee.is_none()] { "Nobody" }
                        @for (id, name) in &agents {
                            option value=(id) selected[assignee == Some(id.as_str())] { (name) }
                        }
                    }
                }
                button #assign-me type="button" { "Assign to me (a)" }
                label { "Team "
                    select #team name="team_id" {
                        option value="" selected[team.is_none()] { "None" }
                        @for t in teams {
                            option value=(t.id.as_str()) selected[team == Some(t.id.as_str())] { (t.name) }
                        }
                    }
                }
            }
            form #tags-form aria-label="Tags" {
                label { "Tags " input #tags type="text" name="tags" value=(c.tags.join(", ")) placeholder="comma, separated"; }
                button type="submit" { "Save tags" }
            }
            @if !mergeable.is_empty() {
                form #merge-form aria-label="Merge" {
                    label { "Merge into "
                        select #merge-into name="into" {
                            @for o in &mergeable {
                                option value=(o.id.as_str()) { (o.subject.as_deref().or(o.preview.as_deref()).unwrap_or(o.id.as_str())) " (" (o.lifecycle.status.as_str()) ")" }
                            }
                        }
                    }
                    button type="submit" { "Merge" }
                }
            }
            p #controls-error .error role="alert" {}
        }
    }
}

/// The suggested reply: filled by `conversation.js` from
/// `GET /api/v1/conversations/{id}/suggestion`, as text only, and hidden until there is one.
fn suggestion() -> Markup {
    html! {
        section.suggestion #suggestion aria-labelledby="suggestion-title" hidden {
            h2 #suggestion-title { "Suggested reply" }
            p.suggestion-source { span #suggestion-kind {} ": " strong #suggestion-name {} }
            p #suggestion-text .suggestion-text {}
            div.suggestion-actions {
                button #suggestion-insert type="button" { "Insert" }
                button #suggestion-dismiss type="button" { "Dismiss" }
            }
        }
    }
}

/// How a reply reaches the customer on a channel, for the reply box's label.
fn reaches(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => " by email",
        Channel::Chat => " in the chat",
        Channel::Sms | Channel::Phone => " by text message",
        Channel::Whatsapp => " on WhatsApp",
        Channel::Messenger => " on Messenger",
        Channel::Instagram => " on Instagram",
        Channel::Api => "",
    }
}

/// The reply box. Reply or private note is a mode the agent always sees — the tab, the
/// label above the box (which turns yellow for a note) and the button — and sending reads
/// that same mode (`data-mode`, kept by `conversation.js`), so what goes out is what the page
/// said. Shortcuts never type here: the box is left after each send and with Esc.
fn composer(c: &Conversation, replies: &[CannedReply]) -> Markup {
    let reply_label = match c.channel.delivery() {
        // Said before sending, not only after: nothing can carry it.
        Delivery::Unavailable => format!(
            "Reply — Concierge cannot send {} messages yet: it would be kept here, not sent to {}",
            c.channel.name(),
            display_name(c)
        ),
        Delivery::Read | Delivery::Outbox => format!(
            "Reply — {} gets this{}",
            display_name(c),
            reaches(c.channel)
        ),
    };
    html! {
        (suggestion())
        form.composer #composer aria-label="Reply or private note" data-mode="reply" autocomplete="off"
            data-reply-label=(reply_label) data-note-label="Private note — only your team sees this" {
            div.composer-head {
                fieldset.mode {
                    legend.visually-hidden { "Write a" }
                    label { input #mode-reply type="radio" name="mode" value="reply" checked; " Reply " kbd { "r" } }
                    label { input #mode-note type="radio" name="mode" value="note"; " Private note " kbd { "n" } }
                }
                span.keys-hint { kbd { "Ctrl+Enter" } " sends · " kbd { "Esc" } " leaves the box" }
            }
            p #mode-label .mode-label aria-live="polite" { (reply_label) }
            label for="body" .visually-hidden { "Message" }
            textarea #body name="body" rows="4" required aria-describedby="mode-label"
                placeholder="Write a reply… Type / for canned replies." {}
            ul #canned-list .canned role="listbox" aria-label="Canned replies" hidden {
                @for r in replies {
                    li role="option" data-id=(r.id.as_str()) data-shortcut=(r.shortcut) {
                        kbd { "/" (r.shortcut) } " " (r.title)
                    }
                }
            }
            div.composer-actions {
                @if !replies.is_empty() {
                    label { "Canned reply "
                        select #canned {
                            option value="" { "—" }
                            @for r in replies { option value=(r.id.as_str()) { "/" (r.shortcut) " — " (r.title) } }
                        }
                    }
                }
                span #composer-status .error role="alert" {}
                span #composer-sent .composer-sent role="status" {}
                button #send type="submit" { "Send reply" }
            }
        }
        details.kb #kb {
            summary { "Help articles" }
            div.kb-search {
                label for="kb-q" { "Search help articles" }
                input #kb-q type="search" autocomplete="off" placeholder="returns, delivery times…";
            }
            p #kb-status .muted role="status" {}
            ul #kb-results .kb-results {}
        }
    }
}

/// Cancel, refund, resend and change the address, from the conversation (see
/// `POST /api/v1/orders/{id}/actions`): done on Shopify, or recorded as a request.
fn order_actions(o: &Order) -> Markup {
    let id = o.id.as_str();
    html! {
        details.order-actions {
            summary { "Actions" }
            form.order-action data-order-id=(id) data-action=(OrderAction::Cancel.as_str()) data-confirm={"Cancel order " (o.number) "?"} {
                label { "Reason "
                    select name="reason" {
                        @for r in CancelReason::ALL { option value=(r.as_str()) { (r.as_str()) } }
                    }
                }
                button type="submit" { "Cancel order" }
            }
            form.order-action data-order-id=(id) data-action=(OrderAction::Refund.as_str()) data-confirm={"Refund from order " (o.number) "?"} {
                fieldset {
                    legend { "Refund (leave all at 0 for the whole order)" }
                    @for li in &o.line_items {
                        label.refund-line { input type="number" name="qty" data-line-item=(li.id.as_str()) min="0" max=(li.quantity) value="0"; " × " (li.title) }
                    }
                    label { input type="checkbox" name="refund_shipping"; " and shipping" }
                }
                button type="submit" { "Refund" }
            }
            form.order-action data-order-id=(id) data-action=(OrderAction::Resend.as_str()) {
                button type="submit" { "Resend shipping confirmation" }
            }
            form.order-action data-order-id=(id) data-action=(OrderAction::ChangeAddress.as_str()) {
                fieldset {
                    legend { "New shipping address" }
                    @for (name, label) in [("name", "Name"), ("address1", "Street"), ("zip", "Postcode"), ("city", "City"), ("country", "Country")] {
                        label { (label) " " input type="text" name=(name) maxlength="200" required[name != "name" && name != "zip"]; }
                    }
                }
                button type="submit" { "Change address" }
            }
            p.order-action-status role="status" {}
        }
    }
}

fn sidebar(customer: &Customer, orders: &[Order], others: &[Conversation]) -> Markup {
    html! {
        aside.sidebar aria-labelledby="customer-title" {
            h2 #customer-title { (customer.name.as_deref().unwrap_or("Customer")) }
            section aria-labelledby="identities-title" {
                h3 #identities-title { "Identities" }
                ul.identities {
                    @for i in &customer.identities {
                        li { span.kind { (i.kind().as_str()) } " " (i.key()) }
                    }
                }
                p.since { "Customer since " (layout::time(customer.created_at)) }
                form #customer-merge-form data-customer-id=(customer.id.as_str()) aria-label="Merge with another customer" {
                    label { "Same person as the customer with email "
                        input #customer-merge-email type="email" name="email" required placeholder="other@address"; }
                    button type="submit" { "Merge" }
                    p #customer-merge-error .error role="alert" {}
                }
            }
            section aria-labelledby="orders-title" {
                h3 #orders-title { "Orders" }
                @if orders.is_empty() {
                    p.empty { "No orders yet." }
                }
                @for o in orders {
                    article.order data-id=(o.id.as_str()) {
                        h4 { "Order " (o.number) }
                        p { (layout::time(o.placed_at)) " · " strong { (o.total) " " (o.currency) } }
                        p {
                            span class={"badge pay-" (o.financial_status.as_str())} { (layout::words(o.financial_status.as_str())) }
                            " "
                            span class={"badge ful-" (o.fulfillment_status.as_str())} { (layout::words(o.fulfillment_status.as_str())) }
                            @if o.status.as_str() != "open" { " " span.badge { (o.status.as_str()) } }
                        }
                        ul.items {
                            @for li in &o.line_items {
                                li { (li.quantity) " × " (li.title) span.price { " " (li.price) } }
                            }
                        }
                        @for s in &o.shipments {
                            div.shipment {
                                p { strong { (s.carrier) } " "
                                    @match &s.tracking_url {
                                        Some(u) if u.starts_with("https://") || u.starts_with("http://") => a href=(u) rel="noopener noreferrer" target="_blank" { (s.tracking_number) },
                                        _ => span { (s.tracking_number) },
                                    }
                                }
                                p { span class={"badge track-" (s.status.as_str())} { (layout::words(s.status.as_str())) }
                                    @if let Some(e) = s.events.last() {
                                        " · " (e.message.as_deref().unwrap_or(layout::words(e.status.as_str()).as_str()))
                                        @if let Some(l) = &e.location { " (" (l) ")" }
                                        " · " (layout::time(e.occurred_at))
                                    }
                                }
                                @match s.arrival() {
                                    Some(Arrival::Expected(at)) => p { "Expected " (layout::time(at)) },
                                    Some(Arrival::Delivered(at)) => p { "Delivered " (layout::time(at)) },
                                    None => {},
                                }
                                p { a href={"/track/" (s.tracking_token)} target="_blank" rel="noopener" { "Shopper's tracking page" } }
                            }
                        }
                        (order_actions(o))
                    }
                }
            }
            section aria-labelledby="others-title" {
                h3 #others-title { "Other conversations" }
                @if others.is_empty() { p.empty { "None." } }
                ul.others {
                    @for o in others {
                        li { a href={"/conversations/" (o.id.as_str())} {
                            (layout::channel(o.channel)) " " (o.subject.as_deref().or(o.preview.as_deref()).unwrap_or("(no text)"))
                        } " · " (o.lifecycle.status.as_str()) }
                    }
                }
            }
        }
    }
}
