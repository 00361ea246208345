//! Whether anyone can answer a chat now, for the widget to say so.

use crate::wire::ChatTeamOut;
use crate::ChatState;
use axum::extract::State;
use concierge_api::error::ApiError;
use concierge_domain::dates::Language;

/// `GET /api/widget/v1/team`: whether anyone on the team can answer now (within business
/// hours, with an agent online), when it is next in while closed — the instant, and `opens`,
/// the words the widget shows: the shop's time, written as the assistant writes it in our
/// (English) wording, so the panel and the chat never give two times — and the usual wait
/// for a first answer, so the widget can say so (and offer email when nobody can).
#[utoipa::path(get, path = "/api/widget/v1/team", tag = "chat widget",
    responses((status = 200, body = ChatTeamOut)))]
pub(crate) async fn team(
    State(state): State<ChatState>,
) -> Result<axum::Json<ChatTeamOut>, ApiError> {
    let staffing = state.service.store.chat_staffing().await?;
    let opens = match &staffing.opening {
        Some(o) => Some(
            state
                .service
                .store
                .calendar(Language::English)
                .await?
                .day_time(o.at),
        ),
        None => None,
    };
    Ok(axum::Json(ChatTeamOut {
        online: staffing.answering(),
        open: staffing.open,
        opens_at: staffing.opening.as_ref().map(|o| o.at),
        opens,
        typical_wait_minutes: staffing.typical_wait.map(|w| w.num_minutes().max(1)),
    }))
}
