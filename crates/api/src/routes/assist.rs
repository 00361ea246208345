//! `/api/v1/assist`: the virtual assistant's model, for scripts and other systems.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Json;
use crate::wire::{Classification, ClassifyRequest};
use crate::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Longer texts are refused: the model reads messages, not documents.
const MAX_CLASSIFY_CHARS: usize = 10_000;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(classify))
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
    Ok(axum::Json(concierge_assist::classify(text).into()))
}
