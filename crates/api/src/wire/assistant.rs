//! Wire types for the chat assistant's replies as the shop words them.

use chrono::{DateTime, Utc};
use concierge_assistant::words::Reply;
use concierge_store::assistant::AssistantReply;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct AssistantReplyOut {
    /// What names the reply, e.g. `handover.asked`.
    pub key: &'static str,
    /// When the assistant says it.
    pub description: &'static str,
    /// Our wording.
    pub default: &'static str,
    /// The wording in effect: the shop's where it changed ours, else ours.
    pub template: String,
    /// Whether the shop changed our wording.
    pub customised: bool,
    /// When the shop last changed it; null for ours.
    pub updated_at: Option<DateTime<Utc>>,
    /// The `{{variables}}` this reply may use.
    pub variables: Vec<VariableOut>,
}

impl AssistantReplyOut {
    /// `changed`: the shop's wording for this reply, if it has one.
    pub fn new(reply: Reply, changed: Option<&AssistantReply>) -> Self {
        AssistantReplyOut {
            key: reply.key(),
            description: reply.description(),
            default: reply.default_template(),
            template: changed.map_or(reply.default_template().to_owned(), |c| c.template.clone()),
            customised: changed.is_some(),
            updated_at: changed.map(|c| c.updated_at),
            variables: reply
                .variables()
                .into_iter()
                .map(|(name, description)| VariableOut { name, description })
                .collect(),
        }
    }
}

/// A variable a reply may use.
#[derive(Serialize, ToSchema)]
pub struct VariableOut {
    /// Written `{{name}}` in a template.
    pub name: &'static str,
    pub description: &'static str,
}

/// Every reply the assistant gives shoppers.
#[derive(Serialize, ToSchema)]
pub struct AssistantReplies {
    pub items: Vec<AssistantReplyOut>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAssistantReply {
    /// The shop's wording, with `{{variables}}` of the reply's list.
    pub template: String,
}
