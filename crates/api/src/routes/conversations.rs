//! `/api/v1/conversations`: open, list and search, read, change, and add messages.

use super::{non_blank, page};
use crate::auth::Caller;
use crate::error::{parse, ApiError};
use crate::extract::{Json, Query};
use crate::wire::{
    BulkOutcome, BulkResult, BulkUpdate, ConversationOut, ConversationQuery, CreateConversation,
    CreateMessage, InboxCountsOut, List, MergeConversation, MessageOut, TagOut, UpdateConversation,
};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use concierge_domain::access::Actor;
use concierge_domain::contact::{EmailAddress, PhoneNumber};
use concierge_domain::conversation::{
    Channel, ConversationStatus, DeliveryStatus, Priority, SenderType,
};
use concierge_domain::ids::{AgentId, ConversationId, CustomerId, TeamId};
use concierge_domain::text::{Label, MessageBody, PersonName, Subject};
use concierge_store::conversations::{
    ConversationFilter, ConversationPatch, InboxOrder, NewConversation, NewMessage,
};
use concierge_store::customers::CustomerRef;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

impl crate::wire::CustomerIn {
    /// The shopper a request names; at least an email or a phone number.
    pub(crate) fn to_ref(&self) -> Result<CustomerRef, ApiError> {
        let customer = CustomerRef {
            name: non_blank(&self.name)
                .map(|n| parse("customer.name", n, PersonName::parse))
                .transpose()?,
            email: non_blank(&self.email)
                .map(|e| parse("customer.email", e, EmailAddress::parse))
                .transpose()?,
            phone: non_blank(&self.phone)
                .map(|p| parse("customer.phone", p, PhoneNumber::parse))
                .transpose()?,
            external: None,
        };
        if customer.is_empty() {
            return Err(ApiError::Validation {
                field: "customer".into(),
                message: "customer needs an email or a phone number".into(),
            });
        }
        Ok(customer)
    }
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, create_conversation))
        .routes(routes!(get_conversation, update_conversation))
        .routes(routes!(list_messages, create_message))
        .routes(routes!(bulk_update))
        .routes(routes!(merge_conversation))
        .routes(routes!(inbox_counts))
        .routes(routes!(list_tags))
}

/// Every tag in use or once used, with how many conversations carry it.
#[utoipa::path(get, path = "/api/v1/tags", tag = "conversations",
    responses((status = 200, body = List<TagOut>)), security(("bearer" = [])))]
async fn list_tags(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<axum::Json<List<TagOut>>, ApiError> {
    let tags = state.store.tags().await?;
    Ok(axum::Json(List {
        items: tags
            .into_iter()
            .map(|(name, conversations)| TagOut {
                name,
                conversations,
            })
            .collect(),
        next_cursor: None,
    }))
}

/// Parses an id from the path; a malformed id names no record, so it is a 404.
pub(crate) fn path_id<T>(
    what: &'static str,
    raw: &str,
    parser: impl FnOnce(&str) -> Result<T, concierge_domain::Invalid>,
) -> Result<T, ApiError> {
    parser(raw).map_err(|_| ApiError::NotFound(what))
}

fn sender(field: &str, raw: Option<&str>, default: SenderType) -> Result<SenderType, ApiError> {
    match raw {
        None => Ok(default),
        Some(s) => match parse(field, s, SenderType::parse)? {
            t @ (SenderType::Agent | SenderType::Customer) => Ok(t),
            _ => Err(ApiError::Validation {
                field: field.into(),
                message: "sender_type must be agent or customer".into(),
            }),
        },
    }
}

fn tags(field: &str, raw: &[String]) -> Result<Vec<Label>, ApiError> {
    if raw.len() > 50 {
        return Err(ApiError::Validation {
            field: field.into(),
            message: "at most 50 tags".into(),
        });
    }
    raw.iter()
        .enumerate()
        .map(|(i, t)| parse(&format!("{field}[{i}]"), t, Label::parse))
        .collect()
}

/// Open a conversation with its first message; the customer is found by email or phone, or
/// created.
#[utoipa::path(post, path = "/api/v1/conversations", tag = "conversations", request_body = CreateConversation,
    responses((status = 201, body = ConversationOut), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn create_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateConversation>,
) -> Result<(StatusCode, axum::Json<ConversationOut>), ApiError> {
    let channel = parse("channel", &req.channel, Channel::parse)?;
    let customer = req.customer.to_ref()?;
    let subject = non_blank(&req.subject)
        .map(|s| parse("subject", s, Subject::parse))
        .transpose()?;
    let body = parse("message.body", &req.message.body, MessageBody::parse)?;
    let sender = sender(
        "message.sender_type",
        req.message.sender_type.as_deref(),
        SenderType::Customer,
    )?;
    let priority = req
        .priority
        .as_deref()
        .map(|p| parse("priority", p, Priority::parse))
        .transpose()?
        .unwrap_or(Priority::Normal);
    let new = NewConversation {
        channel,
        customer,
        subject,
        priority,
        tags: tags("tags", &req.tags)?,
        message: NewMessage::text(sender, body).read_with(concierge_intents::read),
    };
    let (conversation, message) = state.store.create_conversation(new, &caller.actor).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ConversationOut::new(conversation, Some(vec![message]))),
    ))
}

/// The inbox: conversations newest activity first, filtered and searched.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", params(ConversationQuery),
    responses((status = 200, body = List<ConversationOut>)), security(("bearer" = [])))]
async fn list_conversations(
    State(state): State<AppState>,
    _caller: Caller,
    Query(q): Query<ConversationQuery>,
) -> Result<axum::Json<List<ConversationOut>>, ApiError> {
    let page = state
        .store
        .conversations(&q.filter()?, &page(q.limit, q.cursor.as_deref())?)
        .await?;
    Ok(axum::Json(List::from_page(page, |c| {
        ConversationOut::new(c, None)
    })))
}

impl ConversationQuery {
    /// The inbox filter these query parameters describe.
    pub fn filter(&self) -> Result<ConversationFilter, ApiError> {
        let q = self;
        Ok(ConversationFilter {
            status: non_blank(&q.status)
                .map(|s| parse("status", s, ConversationStatus::parse))
                .transpose()?,
            assignee_id: match non_blank(&q.assignee_id) {
                None => None,
                Some("none") => Some(None),
                Some(a) => Some(Some(parse("assignee_id", a, AgentId::parse)?)),
            },
            customer_id: non_blank(&q.customer_id)
                .map(|c| parse("customer_id", c, CustomerId::parse))
                .transpose()?,
            channel: non_blank(&q.channel)
                .map(|c| parse("channel", c, Channel::parse))
                .transpose()?,
            tag: non_blank(&q.tag).map(str::to_owned),
            team_id: non_blank(&q.team_id)
                .map(|t| parse("team_id", t, TeamId::parse))
                .transpose()?,
            priority: non_blank(&q.priority)
                .map(|p| parse("priority", p, Priority::parse))
                .transpose()?,
            intent: non_blank(&q.intent).map(|s| s.chars().take(100).collect()),
            q: non_blank(&q.q).map(|s| s.chars().take(500).collect()),
            order: match non_blank(&q.sort) {
                None | Some("newest") => InboxOrder::Newest,
                Some("waiting") => InboxOrder::WaitingLongest,
                Some(_) => {
                    return Err(ApiError::Validation {
                        field: "sort".into(),
                        message: "sort must be newest or waiting".into(),
                    })
                }
            },
        })
    }
}

/// One conversation with its messages.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = ConversationOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn get_conversation(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<ConversationOut>, ApiError> {
    let id = path_id("conversation", &id, ConversationId::parse)?;
    let conversation = state.store.conversation(&id).await?;
    let messages = state.store.messages(&id).await?;
    Ok(axum::Json(ConversationOut::new(
        conversation,
        Some(messages),
    )))
}

/// Change status (with `snooze_until` for snoozing), priority, assignee, team or tags.
#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = String, Path)), request_body = UpdateConversation,
    responses((status = 200, body = ConversationOut), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn update_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<UpdateConversation>,
) -> Result<axum::Json<ConversationOut>, ApiError> {
    let id = path_id("conversation", &id, ConversationId::parse)?;
    let conversation = state
        .store
        .update_conversation(&id, req.to_patch()?, &caller.actor)
        .await?;
    let messages = state.store.messages(&id).await?;
    Ok(axum::Json(ConversationOut::new(
        conversation,
        Some(messages),
    )))
}

impl UpdateConversation {
    fn to_patch(&self) -> Result<ConversationPatch, ApiError> {
        let req = self;
        let patch = ConversationPatch {
            status: req
                .status
                .as_deref()
                .map(|s| parse("status", s, ConversationStatus::parse))
                .transpose()?,
            snooze_until: req.snooze_until,
            priority: req
                .priority
                .as_deref()
                .map(|p| parse("priority", p, Priority::parse))
                .transpose()?,
            assignee_id: req
                .assignee_id
                .as_ref()
                .map(|a| {
                    a.as_deref()
                        .map(|a| parse("assignee_id", a, AgentId::parse))
                        .transpose()
                })
                .transpose()?,
            team_id: req
                .team_id
                .as_ref()
                .map(|t| {
                    t.as_deref()
                        .map(|t| parse("team_id", t, TeamId::parse))
                        .transpose()
                })
                .transpose()?,
            tags: req.tags.as_deref().map(|t| tags("tags", t)).transpose()?,
            add_tags: tags("add_tags", &req.add_tags)?,
        };
        let mut patch = patch;
        if patch.snooze_until.is_some() && patch.status.is_none() {
            // `snooze_until` alone means "snooze until then".
            patch.status = Some(ConversationStatus::Snoozed);
        }
        Ok(patch)
    }
}

/// Apply one change to many conversations (the inbox's bulk actions). Each conversation is
/// changed in its own transaction; the answer tells, per id, whether it was.
#[utoipa::path(post, path = "/api/v1/conversations/bulk", tag = "conversations", request_body = BulkUpdate,
    responses((status = 200, body = BulkResult), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn bulk_update(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<BulkUpdate>,
) -> Result<axum::Json<BulkResult>, ApiError> {
    if req.ids.is_empty() || req.ids.len() > 200 {
        return Err(ApiError::Validation {
            field: "ids".into(),
            message: "ids must hold 1 to 200 conversation ids".into(),
        });
    }
    let patch = req.patch.to_patch()?;
    let mut items = Vec::with_capacity(req.ids.len());
    for raw in req.ids {
        let outcome = match path_id("conversation", &raw, ConversationId::parse) {
            Ok(id) => state
                .store
                .update_conversation(&id, patch.clone(), &caller.actor)
                .await
                .map(drop)
                .map_err(ApiError::from),
            Err(e) => Err(e),
        };
        items.push(BulkOutcome {
            id: raw,
            ok: outcome.is_ok(),
            error: outcome.err().map(|e| e.detail()),
        });
    }
    Ok(axum::Json(BulkResult { items }))
}

/// Merge this conversation into another of the same customer: its messages move there and
/// it is closed, pointing at the other. Answers with the conversation merged into.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/merge", tag = "conversations", params(("id" = String, Path)), request_body = MergeConversation,
    responses((status = 200, body = ConversationOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn merge_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<MergeConversation>,
) -> Result<axum::Json<ConversationOut>, ApiError> {
    let id = path_id("conversation", &id, ConversationId::parse)?;
    let into = parse("into", &req.into, ConversationId::parse)?;
    let target = state
        .store
        .merge_conversations(&id, &into, &caller.actor)
        .await?;
    let messages = state.store.messages(&into).await?;
    Ok(axum::Json(ConversationOut::new(target, Some(messages))))
}

/// How many conversations each inbox view holds: `mine` counts the calling agent's (0 for
/// API tokens).
#[utoipa::path(get, path = "/api/v1/conversations/counts", tag = "conversations",
    responses((status = 200, body = InboxCountsOut)), security(("bearer" = [])))]
async fn inbox_counts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<InboxCountsOut>, ApiError> {
    let me = match &caller.actor {
        Actor::Agent(id) => id.clone(),
        // No agent has this id, so `mine` counts nothing.
        _ => AgentId::from_trusted(String::new()),
    };
    let c = state.store.inbox_counts(&me).await?;
    Ok(axum::Json(InboxCountsOut {
        mine: c.mine,
        unassigned: c.unassigned,
        open: c.open,
        pending: c.pending,
        snoozed: c.snoozed,
        resolved: c.resolved,
    }))
}

/// A conversation's messages, oldest first.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = List<MessageOut>)), security(("bearer" = [])))]
async fn list_messages(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<List<MessageOut>>, ApiError> {
    let id = path_id("conversation", &id, ConversationId::parse)?;
    state.store.conversation(&id).await?;
    let messages = state.store.messages(&id).await?;
    Ok(axum::Json(List {
        items: messages.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// Add a message. An agent's public message is delivered on the conversation's channel; a
/// private one is a note for the team.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations", params(("id" = String, Path)), request_body = CreateMessage,
    responses((status = 201, body = MessageOut), (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn create_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<CreateMessage>,
) -> Result<(StatusCode, axum::Json<MessageOut>), ApiError> {
    let id = path_id("conversation", &id, ConversationId::parse)?;
    let body = parse("body", &req.body, MessageBody::parse)?;
    let sender = sender("sender_type", req.sender_type.as_deref(), SenderType::Agent)?;
    if req.private && sender == SenderType::Customer {
        return Err(ApiError::Validation {
            field: "private".into(),
            message: "private notes are written by agents".into(),
        });
    }
    let agent_id = match (&caller.actor, sender) {
        (Actor::Agent(id), SenderType::Agent) => Some(id.clone()),
        _ => None,
    };
    let new = NewMessage {
        private: req.private,
        agent_id,
        ..NewMessage::text(sender, body)
    }
    .read_with(concierge_intents::read);
    let (_, message) = state.store.append_message(&id, new).await?;
    if message.delivery_status == Some(DeliveryStatus::Pending) {
        if let Some(worker) = &state.config.worker {
            worker.notify_one();
        }
    }
    Ok((StatusCode::CREATED, axum::Json(message.into())))
}
