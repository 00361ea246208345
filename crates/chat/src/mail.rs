//! Mail from a chat: the team's answers by email too, and the chat's transcript. Either is
//! sent only to an address proved the shopper's, and only when this service sends mail.

use crate::session::Shopper;
use crate::wire::{RepliesByEmail, RepliesByEmailOut, TranscriptMailOut, TranscriptMailStatus};
use crate::ChatState;
use axum::extract::State;
use axum::http::StatusCode;
use concierge_api::error::ApiError;
use concierge_api::extract::Json;
use concierge_api::rate::ClientAddress;
use concierge_domain::chat::ChatMail;
use concierge_domain::contact::EmailAddress;
use concierge_store::chat::{ChatMailOutcome, ChatSession};
use std::net::IpAddr;

/// `POST /api/widget/v1/email`: "reply to me by email too, at this address". The team's
/// answers in the chat are then mailed there as well, and a reply to that mail comes back
/// to the chat's conversation. An address the shop did not vouch for is first sent a link
/// to prove it is the shopper's (202); the replies follow the click.
#[utoipa::path(post, path = "/api/widget/v1/email", tag = "chat widget", request_body = RepliesByEmail,
    responses((status = 200, body = RepliesByEmailOut, description = "answers are mailed from now on"),
        (status = 202, body = RepliesByEmailOut, description = "a link was mailed to prove the address first"),
        (status = 429, body = concierge_api::error::ErrorBody, description = "`mail_limit`: the address, or this client, had its share of mail from chats today (or `rate_limited`)"),
        (status = 503, body = concierge_api::error::ErrorBody, description = "`mail_unavailable`: this shop sends no email (or `service_unavailable`)")),
    security(("widget_session" = [])))]
pub(crate) async fn replies_by_email(
    State(state): State<ChatState>,
    Shopper(session): Shopper,
    ClientAddress(source): ClientAddress,
    Json(req): Json<RepliesByEmail>,
) -> Result<(StatusCode, axum::Json<RepliesByEmailOut>), ApiError> {
    let email = if session.verified {
        // A vouched-for shopper's address is the shop's word; it is not replaced.
        session.email.clone().ok_or(ApiError::Unauthenticated)?
    } else {
        concierge_api::error::parse("email", req.email.trim(), EmailAddress::parse)?
    };
    let outcome = ask_for_mail(&state, &session, &email, ChatMail::Replies, source).await?;
    let confirming = outcome == ChatMailOutcome::ConfirmationSent;
    Ok((
        if confirming {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        },
        axum::Json(RepliesByEmailOut {
            email: email.as_str().to_owned(),
            replies_by_email: !confirming,
            confirmation_sent: confirming,
        }),
    ))
}

/// `POST /api/widget/v1/transcript`: mails the shopper the chat so far, at the session's
/// address (given at the start, or with `/email`). `status` says what happened: `queued`,
/// or `confirmation_sent` when the address must first be proved the shopper's by the link
/// mailed to it (the chat follows the click).
#[utoipa::path(post, path = "/api/widget/v1/transcript", tag = "chat widget",
    responses((status = 202, body = TranscriptMailOut),
        (status = 422, body = concierge_api::error::ErrorBody, description = "`validation_failed`: no address yet (`email`), or nothing said yet (`messages`)"),
        (status = 429, body = concierge_api::error::ErrorBody, description = "`mail_limit`: the address, or this client, had its share of mail from chats today (or `rate_limited`)"),
        (status = 503, body = concierge_api::error::ErrorBody, description = "`mail_unavailable`: this shop sends no email (or `service_unavailable`)")),
    security(("widget_session" = [])))]
pub(crate) async fn send_transcript(
    State(state): State<ChatState>,
    Shopper(session): Shopper,
    ClientAddress(source): ClientAddress,
) -> Result<(StatusCode, axum::Json<TranscriptMailOut>), ApiError> {
    let Some(email) = session.email.clone() else {
        return Err(ApiError::Validation {
            field: "email".into(),
            message: "leave an email address first (POST /api/widget/v1/email)".into(),
        });
    };
    let status = match ask_for_mail(&state, &session, &email, ChatMail::Transcript, source).await {
        Ok(ChatMailOutcome::ConfirmationSent) => TranscriptMailStatus::ConfirmationSent,
        Ok(_) => TranscriptMailStatus::Queued,
        Err(ApiError::NotFound(_)) => {
            return Err(ApiError::Validation {
                field: "messages".into(),
                message: "nothing has been said in this chat yet".into(),
            })
        }
        Err(e) => return Err(e),
    };
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(TranscriptMailOut {
            email: email.as_str().to_owned(),
            status,
        }),
    ))
}

/// Asks the store for mail from a chat, when this service can send mail at all.
async fn ask_for_mail(
    state: &ChatState,
    session: &ChatSession,
    email: &EmailAddress,
    what: ChatMail,
    source: IpAddr,
) -> Result<ChatMailOutcome, ApiError> {
    if !state.config.outbound_mail {
        return Err(ApiError::NoOutboundMail);
    }
    let outcome = state
        .service
        .store
        .ask_for_chat_mail(session, email, what, &source.to_string())
        .await?;
    if outcome == ChatMailOutcome::TooMuchMail {
        return Err(ApiError::MailLimit);
    }
    state.poke_worker();
    Ok(outcome)
}
