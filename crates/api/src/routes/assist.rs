//! `/api/v1/assist`: the virtual assistant's model, for scripts and other systems.

use super::conversations::path_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Json;
use crate::wire::{Classification, ClassifyRequest};
use crate::AppState;
use axum::extract::{Path, State};
use concierge_domain::ids::ConversationId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Longer texts are refused: the model reads messages, not documents.
pub(crate) const MAX_CLASSIFY_CHARS: usize = 10_000;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(classify))
        .routes(routes!(set_assistant))
}

/// `PUT /api/v1/conversations/{id}/assistant`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssistantSwitch {
    /// `true` hands the chat back to the virtual assistant; `false` takes it from it.
    active: bool,
}

/// Hands a chat back to the virtual assistant, or takes it from it. (An agent's public reply
/// takes it too.) 404 when the conversation is not a chat.
#[utoipa::path(put, path = "/api/v1/conversations/{id}/assistant", tag = "assistant", params(("id" = String, Path)),
    request_body = AssistantSwitch,
    responses((status = 200, body = AssistantSwitchOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn set_assistant(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<AssistantSwitch>,
) -> Result<axum::Json<AssistantSwitchOut>, ApiError> {
    let id = path_id("conversation", &id, ConversationId::parse)?;
    state
        .store
        .set_conversation_assistant(&id, req.active)
        .await?;
    Ok(axum::Json(AssistantSwitchOut { active: req.active }))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AssistantSwitchOut {
    active: bool,
}

/// The intent of a text, by the same model as `concierge assist classify`.
#[utoipa::path(post, path = "/api/v1/assist/classify", tag = "assistant", request_body = ClassifyRequest,
    responses((status = 200, body = Classification), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn classify(
    _caller: Caller,
    Json(req): Json<ClassifyRequest>,
) -> Result<axum::Json<Classification>, ApiError> {
    let text = req.text.trim();
    if text.is_empty() {
        return Err(ApiError::Validation {
            field: "text".into(),
            message: "text must not be empty".into(),
        });
    }
    if text.chars().count() > MAX_CLASSIFY_CHARS {
        return Err(ApiError::Validation {
            field: "text".into(),
            message: format!("text must be at most {MAX_CLASSIFY_CHARS} characters"),
        });
    }
    Ok(axum::Json(concierge_intents::classify(text).into()))
}
