//! Who may do what: roles of agents and API tokens, and who an action is recorded against.

use crate::ids::{AgentId, TokenId};
use crate::vocabulary;

vocabulary! {
    pub enum Role {
        /// Manages agents, tokens and settings, and does everything an agent does.
        Admin = "admin",
        /// Works conversations.
        Agent = "agent",
    }
}

impl Role {
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }

    /// Whether the role changes what shoppers read in the help center: articles (drafts
    /// too, since publishing is one field away), their files, categories and synonyms.
    /// Admins do; agents read and search articles and put them in their replies.
    pub fn edits_help_center(self) -> bool {
        self.is_admin()
    }
}

/// Who did something, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Agent(AgentId),
    Token(TokenId),
    /// The service itself: background jobs, the demo seeder, the CLI.
    System,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Agent(_) => "agent",
            Actor::Token(_) => "token",
            Actor::System => "system",
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            Actor::Agent(id) => Some(id.as_str()),
            Actor::Token(id) => Some(id.as_str()),
            Actor::System => None,
        }
    }
}

/// The smallest password we accept for an agent. Longer is better; composition rules are not
/// (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 10;

pub fn check_password_strength(password: &str) -> Result<(), crate::Invalid> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(crate::Invalid(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > 1024 {
        return Err(crate::Invalid::new("password must be at most 1024 bytes"));
    }
    Ok(())
}
