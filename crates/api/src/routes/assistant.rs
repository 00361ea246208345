//! `/api/v1/assistant/replies`: what the chat assistant says to shoppers, in the shop's words
//! (admins only). A template is checked against the variables its reply may use before it is
//! stored, so a shopper never meets a `{{…}}` the assistant cannot fill.

use crate::auth::Admin;
use crate::error::{invalid, ApiError};
use crate::extract::Json;
use crate::wire::{AssistantReplies, AssistantReplyOut, SetAssistantReply};
use crate::AppState;
use axum::extract::{Path, State};
use concierge_assistant::words::{Reply, Wording};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_replies))
        .routes(routes!(set_reply, reset_reply))
}

/// The reply a path's key names; an unknown key is a 404 like any missing resource.
fn reply(key: &str) -> Result<Reply, ApiError> {
    Reply::parse(key).ok_or(ApiError::NotFound("assistant reply"))
}

/// Everything the assistant says to shoppers: our wording, the shop's where it changed it,
/// and the variables each reply may use (admins).
#[utoipa::path(get, path = "/api/v1/assistant/replies", tag = "assistant",
    responses((status = 200, body = AssistantReplies), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn list_replies(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<axum::Json<AssistantReplies>, ApiError> {
    let wording = Wording::load(&state.store).await?;
    let items = Reply::ALL
        .iter()
        .map(|&r| AssistantReplyOut::new(r, wording.changed(r)))
        .collect();
    Ok(axum::Json(AssistantReplies { items }))
}

/// Words one reply the shop's way (admins); the next answer says it. 422 names `template`
/// when it is blank, longer than 4000 characters, or uses a variable the reply does not have.
#[utoipa::path(put, path = "/api/v1/assistant/replies/{key}", tag = "assistant", params(("key" = String, Path, description = "e.g. `handover.asked`")),
    request_body = SetAssistantReply,
    responses((status = 200, body = AssistantReplyOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn set_reply(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(key): Path<String>,
    Json(req): Json<SetAssistantReply>,
) -> Result<axum::Json<AssistantReplyOut>, ApiError> {
    let reply = reply(&key)?;
    reply
        .check(&req.template)
        .map_err(|e| invalid("template", e))?;
    let stored = state
        .store
        .set_assistant_reply(reply.key(), &req.template, &caller.actor)
        .await?;
    Ok(axum::Json(AssistantReplyOut::new(reply, Some(&stored))))
}

/// Goes back to our wording for one reply (admins).
#[utoipa::path(delete, path = "/api/v1/assistant/replies/{key}", tag = "assistant", params(("key" = String, Path, description = "e.g. `handover.asked`")),
    responses((status = 200, body = AssistantReplyOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn reset_reply(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(key): Path<String>,
) -> Result<axum::Json<AssistantReplyOut>, ApiError> {
    let reply = reply(&key)?;
    state
        .store
        .reset_assistant_reply(reply.key(), &caller.actor)
        .await?;
    Ok(axum::Json(AssistantReplyOut::new(reply, None)))
}
