//! `/api/v1/canned-replies`: saved answers with `{{variables}}`, managed by admins and filled
//! in for a conversation when an agent inserts one.

use super::conversations::path_id;
use crate::auth::{Admin, Caller};
use crate::error::{invalid, parse, ApiError};
use crate::extract::Json;
use crate::wire::{CannedReplyOut, FilledReply, List, SaveCannedReply};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use concierge_commerce::variables::{order_in_question, Context};
use concierge_domain::access::Actor;
use concierge_domain::conversation::SenderType;
use concierge_domain::ids::{CannedReplyId, ConversationId};
use concierge_domain::replies::{self, first_name, Filled, Shortcut};
use concierge_domain::text::{Label, MessageBody};
use concierge_store::commerce::OrderFilter;
use concierge_store::conversations::{Conversation, Message};
use concierge_store::replies::NewCannedReply;
use concierge_store::PageRequest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_replies, create_reply))
        .routes(routes!(replace_reply, delete_reply))
        .routes(routes!(fill_reply))
}

impl SaveCannedReply {
    fn parse(&self) -> Result<NewCannedReply, ApiError> {
        let body = parse("body", &self.body, MessageBody::parse)?;
        replies::check(body.as_str()).map_err(|e| invalid("body", e))?;
        Ok(NewCannedReply {
            shortcut: parse("shortcut", &self.shortcut, Shortcut::parse)?,
            title: parse("title", &self.title, Label::parse)?,
            body,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/canned-replies", tag = "canned replies",
    responses((status = 200, body = List<CannedReplyOut>)), security(("bearer" = [])))]
async fn list_replies(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<axum::Json<List<CannedReplyOut>>, ApiError> {
    let items = state.store.canned_replies().await?;
    Ok(axum::Json(List {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/canned-replies", tag = "canned replies", request_body = SaveCannedReply,
    responses((status = 201, body = CannedReplyOut), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn create_reply(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Json(req): Json<SaveCannedReply>,
) -> Result<(StatusCode, axum::Json<CannedReplyOut>), ApiError> {
    let reply = state
        .store
        .save_canned_reply(None, req.parse()?, &caller.actor)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(reply.into())))
}

#[utoipa::path(put, path = "/api/v1/canned-replies/{id}", tag = "canned replies", params(("id" = String, Path)), request_body = SaveCannedReply,
    responses((status = 200, body = CannedReplyOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn replace_reply(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    Json(req): Json<SaveCannedReply>,
) -> Result<axum::Json<CannedReplyOut>, ApiError> {
    let id = path_id("canned reply", &id, CannedReplyId::parse)?;
    let reply = state
        .store
        .save_canned_reply(Some(&id), req.parse()?, &caller.actor)
        .await?;
    Ok(axum::Json(reply.into()))
}

#[utoipa::path(delete, path = "/api/v1/canned-replies/{id}", tag = "canned replies", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn delete_reply(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id("canned reply", &id, CannedReplyId::parse)?;
    state.store.delete_canned_reply(&id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A canned reply with its variables filled from this conversation: its customer, their
/// latest order and that order's latest shipment, and the calling agent.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/canned-replies/{reply_id}", tag = "canned replies",
    params(("id" = String, Path), ("reply_id" = String, Path)),
    responses((status = 200, body = FilledReply), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn fill_reply(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, reply_id)): Path<(String, String)>,
) -> Result<axum::Json<FilledReply>, ApiError> {
    let id = path_id("conversation", &id, ConversationId::parse)?;
    let reply_id = path_id("canned reply", &reply_id, CannedReplyId::parse)?;
    let reply = state.store.canned_reply(&reply_id).await?;
    let conversation = state.store.conversation(&id).await?;
    let messages = state.store.messages(&id).await?;
    let filled = fill_for(&state, &caller.actor, &conversation, &messages, &reply.body).await?;
    Ok(axum::Json(FilledReply {
        body: filled.text,
        missing: filled.missing,
    }))
}

/// Fills a canned reply's variables for a conversation (with its `messages`, which name the
/// order in question) and the agent `actor` is. The one place canned replies are filled, so
/// an inserted reply and a suggested one read the same.
pub(super) async fn fill_for(
    state: &AppState,
    actor: &Actor,
    conversation: &Conversation,
    messages: &[Message],
    template: &str,
) -> Result<Filled, ApiError> {
    let customer = &conversation.customer;
    let agent = match actor {
        Actor::Agent(a) => Some(state.store.agent(a).await?),
        _ => None,
    };
    let recent = PageRequest {
        limit: Some(20),
        cursor: None,
    };
    let orders = state
        .store
        .orders(
            &OrderFilter {
                customer_id: Some(customer.id.clone()),
                ..Default::default()
            },
            &recent,
        )
        .await?
        .items;
    let attached = state.store.conversation_orders(&conversation.id).await?;
    let texts: Vec<&str> = messages
        .iter()
        .filter(|m| m.sender_type == SenderType::Customer)
        .map(|m| m.body.as_str())
        .collect();
    let order = order_in_question(&orders, &attached, &texts);
    let calendar = state.store.shop_calendar().await?;
    let ctx = Context {
        customer: Some(customer),
        order,
        shipment: order.and_then(|o| o.shipments.last()),
        public_url: &state.config.public_url,
        shop_name: "",
        calendar: &calendar,
    };
    Ok(replies::fill(template, |name| match name {
        "agent.name" => agent.as_ref().map(|a| a.name.clone()),
        "agent.first_name" => agent.as_ref().map(|a| first_name(&a.name).to_owned()),
        other => ctx.value(other),
    }))
}
