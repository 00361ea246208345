//! `GET /api/v1/conversations/{id}/suggestion`: a reply suggestion, an answer to the
//! shopper's open question for the agent to insert and edit (the rules are in
//! `crate::suggestion`).

use super::conversations::path_id;
use super::replies::fill_for;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::suggestion::{article_reply, canned_reply_for, intent_of, open_question};
use crate::AppState;
use axum::extract::{Path, State};
use concierge_domain::ids::ConversationId;
use concierge_knowledge::Search;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(suggest_reply))
}

/// The answer to `GET /api/v1/conversations/{id}/suggestion`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SuggestionOut {
    /// `null` when the shopper's last message has been answered, or nothing answers it well.
    suggestion: Option<SuggestedReply>,
}

/// A reply the agent may insert, edit and send; nothing is sent by suggesting it.
#[derive(Serialize, ToSchema)]
pub(crate) struct SuggestedReply {
    source: SuggestionSource,
    /// The canned reply's or the article's id.
    id: String,
    /// The canned reply's or the article's title.
    title: String,
    /// The reply's text, variables filled for this conversation.
    body: String,
    /// Variables of the canned reply with no value here (left empty in `body`).
    missing: Vec<String>,
    /// The intent the model read in the question (`track_order`, …).
    #[schema(schema_with = crate::wire::schema::intent)]
    intent: &'static str,
    /// The shopper's message this answers.
    message_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SuggestionSource {
    CannedReply,
    Article,
}

/// A suggested reply to the customer's latest public message: the canned reply that answers
/// its intent, filled for this conversation, or else a reply linking the help center's best
/// published article. `null` once an agent has answered publicly, or when nothing fits.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/suggestion", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = SuggestionOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn suggest_reply(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<SuggestionOut>, ApiError> {
    let id = path_id("conversation", &id, ConversationId::parse)?;
    let conversation = state.store.conversation(&id).await?;
    let messages = state.store.messages(&id).await?;
    let none = || Ok(axum::Json(SuggestionOut { suggestion: None }));
    let Some(question) = open_question(&messages) else {
        return none();
    };
    let Some(intent) = intent_of(question) else {
        return none();
    };
    let replies = state.store.canned_replies().await?;
    if let Some(reply) = canned_reply_for(&question.body, intent, &replies) {
        let filled = fill_for(&state, &caller.actor, &conversation, &messages, &reply.body).await?;
        return Ok(axum::Json(SuggestionOut {
            suggestion: Some(SuggestedReply {
                source: SuggestionSource::CannedReply,
                id: reply.id.as_str().to_owned(),
                title: reply.title.clone(),
                body: filled.text,
                missing: filled.missing,
                intent: intent.as_str(),
                message_id: question.id.as_str().to_owned(),
            }),
        }));
    }
    let Some(library) = &state.config.library else {
        return none();
    };
    let best = library
        .search(&Search {
            text: &question.body,
            locale: None,
            published_only: true,
            limit: 1,
            offset: 0,
        })?
        .into_iter()
        .next();
    let Some(article) = best else {
        return none();
    };
    let link = format!("{}/help/articles/{}", state.config.public_url, article.slug);
    Ok(axum::Json(SuggestionOut {
        suggestion: Some(SuggestedReply {
            source: SuggestionSource::Article,
            id: article.id.as_str().to_owned(),
            body: article_reply(
                conversation.customer.name.as_deref(),
                &article.title,
                &article.summary,
                &link,
            ),
            title: article.title,
            missing: vec![],
            intent: intent.as_str(),
            message_id: question.id.as_str().to_owned(),
        }),
    }))
}
