//! The inbox: views with their counts (mine, unassigned, all open, pending, snoozed,
//! resolved, everything), filters, search, two sort orders, bulk actions, and one row per
//! conversation.

use crate::layout::{self, Section};
use crate::{Agent, PageResult};
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use chrono::Utc;
use concierge_api::error::ApiError;
use concierge_api::{AppState, ConversationQuery};
use concierge_domain::conversation::{Channel, Priority};
use concierge_store::conversations::{Conversation, InboxCounts};
use concierge_store::{Cursor, PageRequest};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

/// The views, in the order the page lists them: (key, label).
const VIEWS: &[(&str, &str)] = &[
    ("mine", "Mine"),
    ("unassigned", "Unassigned"),
    ("open", "All open"),
    ("pending", "Pending"),
    ("snoozed", "Snoozed"),
    ("resolved", "Resolved"),
    ("all", "Everything"),
];

#[derive(Deserialize, Default, Clone)]
pub(crate) struct InboxQuery {
    view: Option<String>,
    channel: Option<String>,
    tag: Option<String>,
    team_id: Option<String>,
    priority: Option<String>,
    intent: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    /// `live`: only the part that live updates replace.
    fragment: Option<String>,
}

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl InboxQuery {
    /// The view shown: as asked, else everything when searching, else all open.
    fn view(&self) -> &str {
        match blank(&self.view) {
            Some(v) if VIEWS.iter().any(|(k, _)| *k == v) => v,
            _ if blank(&self.q).is_some() => "all",
            _ => "open",
        }
    }

    /// This query's URL with `view` (and no cursor) replaced.
    fn url_with_view(&self, view: &str) -> String {
        let mut q = self.clone();
        q.view = Some(view.to_owned());
        q.cursor = None;
        q.url()
    }

    /// Whether a filter beside the view and the words narrows the list.
    fn filtered(&self) -> bool {
        [
            &self.channel,
            &self.tag,
            &self.team_id,
            &self.priority,
            &self.intent,
        ]
        .into_iter()
        .any(|f| blank(f).is_some())
    }

    /// This query's URL with only its view, words and sort.
    fn without_filters(&self) -> String {
        InboxQuery {
            view: self.view.clone(),
            q: self.q.clone(),
            sort: self.sort.clone(),
            ..InboxQuery::default()
        }
        .url()
    }

    fn url(&self) -> String {
        let pairs = [
            ("view", &self.view),
            ("channel", &self.channel),
            ("tag", &self.tag),
            ("team_id", &self.team_id),
            ("priority", &self.priority),
            ("intent", &self.intent),
            ("q", &self.q),
            ("sort", &self.sort),
            ("cursor", &self.cursor),
        ];
        let query: Vec<String> = pairs
            .iter()
            .filter_map(|(k, v)| blank(v).map(|v| format!("{k}={}", layout::encode_component(v))))
            .collect();
        format!("/inbox?{}", query.join("&"))
    }
}

pub(crate) async fn inbox_page(
    State(state): State<AppState>,
    Agent(viewer): Agent,
    Query(q): Query<InboxQuery>,
) -> PageResult {
    let me = &viewer.session.agent.id;
    let view = q.view();
    let (status, assignee) = match view {
        "mine" => (Some("open"), Some(me.as_str())),
        "unassigned" => (Some("open"), Some("none")),
        "all" => (None, None),
        other => (Some(other), None),
    };
    let api_query = ConversationQuery {
        status: status.map(str::to_owned),
        assignee_id: assignee.map(str::to_owned),
        customer_id: None,
        channel: q.channel.clone(),
        tag: q.tag.clone(),
        team_id: q.team_id.clone(),
        priority: q.priority.clone(),
        intent: q.intent.clone(),
        q: q.q.clone(),
        sort: q.sort.clone(),
        limit: None,
        cursor: None,
    };
    let filter = api_query.filter()?;
    let cursor = blank(&q.cursor)
        .map(Cursor::decode)
        .transpose()
        .map_err(|_| ApiError::NotFound("page"))?;
    let store = &state.store;
    let page = store
        .conversations(
            &filter,
            &PageRequest {
                limit: None,
                cursor,
            },
        )
        .await?;
    let counts = store.inbox_counts(me).await?;
    let agents: HashMap<String, String> = store
        .agents()
        .await?
        .into_iter()
        .map(|a| (a.id.into_string(), a.name))
        .collect();
    let next = page.next_cursor.map(|c| {
        let mut q = q.clone();
        q.cursor = Some(c.encode());
        q.url()
    });
    let (views, list) = live_parts(&q, view, &counts, &page.items, &agents, next);
    if q.fragment.as_deref() == Some("live") {
        return Ok(Html(html! { (views) (list) }.into_string()).into_response());
    }
    let teams = store.teams().await?;
    let tags = store.tag_names().await?;
    let mut assignable: Vec<(&String, &String)> = agents.iter().collect();
    assignable.sort_by(|a, b| a.1.cmp(b.1));
    let label = VIEWS
        .iter()
        .find(|(k, _)| *k == view)
        .map_or("Inbox", |(_, l)| l);
    let main = html! {
        div.inbox {
            h1.visually-hidden { "Inbox: " (label) }
            (views)
            form.filters #filters method="get" action="/inbox" aria-label="Filters" {
                input type="hidden" name="view" value=(view);
                label { "Search " input type="search" name="q" value=[blank(&q.q)]; }
                label { "Channel "
                    select name="channel" {
                        option value="" { "Any" }
                        @for c in Channel::ALL {
                            option value=(c.as_str()) selected[blank(&q.channel) == Some(c.as_str())] { (c.as_str()) }
                        }
                    }
                }
                label { "Tag "
                    select name="tag" {
                        option value="" { "Any" }
                        @for t in &tags {
                            option value=(t) selected[blank(&q.tag) == Some(t.as_str())] { (t) }
                        }
                    }
                }
                label { "Team "
                    select name="team_id" {
                        option value="" { "Any" }
                        @for t in &teams {
                            option value=(t.id.as_str()) selected[blank(&q.team_id) == Some(t.id.as_str())] { (t.name) }
                        }
                    }
                }
                label { "Priority "
                    select name="priority" {
                        option value="" { "Any" }
                        @for p in Priority::ALL {
                            option value=(p.as_str()) selected[blank(&q.priority) == Some(p.as_str())] { (p.as_str()) }
                        }
                    }
                }
                label { "Intent " input type="text" name="intent" size="12" value=[blank(&q.intent)] placeholder="e.g. track_order"; }
                label { "Sort "
                    select name="sort" {
                        option value="newest" { "Newest activity" }
                        option value="waiting" selected[blank(&q.sort) == Some("waiting")] { "Waiting longest" }
                    }
                }
                button type="submit" { "Apply" }
            }
            form.bulk #bulk aria-label="Bulk actions" {
                label { input #select-all type="checkbox"; " Select all" }
                span #bulk-count aria-live="polite" { "0 selected" }
                label { "Assign to "
                    select #bulk-assignee name="assignee_id" {
                        option value="" { "—" }
                        option value="none" { "Nobody" }
                        @for (id, name) in &assignable {
                            option value=(id) { (name) }
                        }
                    }
                }
                button type="button" data-bulk="assign" { "Assign" }
                label { "Tag " input #bulk-tag type="text" name="tag" size="10"; }
                button type="button" data-bulk="tag" { "Add tag" }
                button type="button" data-bulk="resolve" { "Resolve" }
                span #bulk-error .error role="alert" {}
            }
            (list)
        }
    };
    Ok(Html(
        layout::shell(
            "inbox",
            &format!("Inbox: {label}"),
            Section::Inbox,
            &viewer,
            main,
        )
        .into_string(),
    )
    .into_response())
}

/// What a live update replaces: the views with their counts, and the list.
fn live_parts(
    q: &InboxQuery,
    view: &str,
    counts: &InboxCounts,
    rows: &[Conversation],
    agents: &HashMap<String, String>,
    next: Option<String>,
) -> (Markup, Markup) {
    let count = |k: &str| match k {
        "mine" => Some(counts.mine),
        "unassigned" => Some(counts.unassigned),
        "open" => Some(counts.open),
        "pending" => Some(counts.pending),
        "snoozed" => Some(counts.snoozed),
        "resolved" => Some(counts.resolved),
        _ => None,
    };
    let now = Utc::now();
    let views = html! {
        nav.views #inbox-views aria-label="Views" {
                @for (key, label) in VIEWS {
                    a href=(q.url_with_view(key)) aria-current=[(*key == view).then_some("page")] data-view=(key) {
                        (label)
                        @if let Some(n) = count(key) { " " span.count { (n) } }
                    }
                }
        }
    };
    let list = html! {
        div #inbox-list {
            @if rows.is_empty() {
                div.empty {
                    @if let Some(words) = blank(&q.q) {
                        p { "Nothing matches “" (words) "”." }
                        // Only what would widen this search: a view already over every
                        // status is not offered again.
                        @if view != "all" {
                            p { "Try fewer words, or " a href=(q.url_with_view("all")) { "search every status" } "." }
                        } @else if q.filtered() {
                            p { "Try fewer words, or " a href=(q.without_filters()) { "search without the filters" } "." }
                        } @else {
                            p { "Try fewer or other words: search looks at subjects and every message." }
                        }
                    } @else {
                        p { "No conversations here. When a customer writes, it appears at once." }
                    }
                }
            } @else {
                ol.conversations #conversation-list {
                    @for c in rows { (row(c, agents, now)) }
                }
            }
            @if let Some(next) = next {
                p.more { a href=(next) rel="next" { "Older conversations →" } }
            }
        }
    };
    (views, list)
}

fn row(c: &Conversation, agents: &HashMap<String, String>, now: chrono::DateTime<Utc>) -> Markup {
    let who = c
        .customer
        .name
        .as_deref()
        .or(c.customer.email.as_deref())
        .or(c.customer.phone.as_deref())
        .unwrap_or("Unknown customer");
    let title = c
        .subject
        .as_deref()
        .or(c.preview.as_deref())
        .unwrap_or("(no text)");
    let assignee = c
        .assignee_id
        .as_ref()
        .and_then(|a| agents.get(a.as_str()))
        .map(String::as_str);
    html! {
        li.row data-id=(c.id.as_str()) data-status=(c.lifecycle.status.as_str()) {
            input type="checkbox" class="select" value=(c.id.as_str()) aria-label={"Select the conversation with " (who)};
            a.open href={"/conversations/" (c.id.as_str())} {
                span.who { (layout::channel(c.channel)) " " (who) }
                span.title { (title) }
                @if c.subject.is_some() {
                    @if let Some(p) = &c.preview { span.preview { (p) } }
                }
                span.meta {
                    @if let Some(i) = c.intent { span.badge.intent { (layout::words(i.as_str())) } }
                    @if c.priority != Priority::Normal { (layout::priority(c.priority)) }
                    @for t in &c.tags { span.badge.tag { (t) } }
                    span.status { (c.lifecycle.status.as_str()) }
                    @if let Some(since) = c.lifecycle.waiting_since {
                        span.waiting title="Waiting for an answer" { "waiting " (layout::ago(since, now)) }
                    }
                    span.assignee { (assignee.unwrap_or("unassigned")) }
                    span.when { (layout::time(c.lifecycle.last_activity_at)) }
                }
            }
        }
    }
}
