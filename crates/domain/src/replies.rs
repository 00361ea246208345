//! Canned replies: text an agent inserts by its shortcut, with `{{variables}}` filled from the
//! conversation (the customer's name, their latest order, its tracking link).

use crate::Invalid;
use std::collections::BTreeSet;

/// What an agent types after `/` to insert a reply: 1–40 lower-case letters, digits, `-` or
/// `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortcut(String);

impl Shortcut {
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let v = value.trim().trim_start_matches('/').to_lowercase();
        if v.is_empty() || v.chars().count() > 40 {
            return Err(Invalid::new("a shortcut is 1 to 40 characters"));
        }
        if !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Invalid::new(
                "a shortcut holds only letters, digits, '-' and '_'",
            ));
        }
        Ok(Shortcut(v))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The variables a template may use, for the admin page's help and for checking templates.
pub const VARIABLES: &[(&str, &str)] = &[
    ("customer.name", "the customer's full name"),
    ("customer.first_name", "the customer's first name"),
    ("customer.email", "the customer's email address"),
    ("agent.name", "the replying agent's name"),
    ("agent.first_name", "the replying agent's first name"),
    ("order.number", "the number of the order the conversation is about (attached, named by the shopper, or their latest)"),
    ("order.total", "its total with currency"),
    ("order.status", "its fulfilment status"),
    ("shipment.carrier", "that order's latest shipment's carrier"),
    ("shipment.tracking_number", "its tracking number"),
    ("shipment.tracking_url", "the carrier's tracking link"),
    ("shipment.tracking_page", "our tracking page for the shipment"),
    ("shipment.status", "its tracking status"),
    (
        "shipment.estimated_delivery",
        "its expected delivery date, or \"delivered on …\" once it came",
    ),
];

/// Checks a canned reply: every `{{…}}` must name one of [`VARIABLES`], and braces must close.
pub fn check(template: &str) -> Result<(), Invalid> {
    check_variables(template, VARIABLES)
}

/// Checks a template against the variables `known` offers (name, meaning): every `{{…}}`
/// must name one of them, and braces must close.
pub fn check_variables(template: &str, known: &[(&str, &str)]) -> Result<(), Invalid> {
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| Invalid::new("a {{ is never closed with }}"))?;
        let name = after[..end].trim();
        if !known.iter().any(|(v, _)| *v == name) {
            return Err(Invalid::new(format!(
                "unknown variable {{{{{name}}}}}; known: {}",
                known.iter().map(|(v, _)| *v).collect::<Vec<_>>().join(", ")
            )));
        }
        rest = &after[end + 2..];
    }
    Ok(())
}

/// A template with its variables filled, and the names of those that had no value here (left
/// empty, so the agent sees what to complete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    pub text: String,
    pub missing: Vec<String>,
}

/// Fills `{{name}}` placeholders with `value(name)`; unknown names and missing values become
/// empty text and are listed in [`Filled::missing`].
pub fn fill(template: &str, value: impl Fn(&str) -> Option<String>) -> Filled {
    let mut text = String::with_capacity(template.len());
    let mut missing = BTreeSet::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        text.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            rest = &rest[start..];
            break;
        };
        let name = after[..end].trim();
        match value(name).filter(|v| !v.is_empty()) {
            Some(v) => text.push_str(&v),
            None => {
                missing.insert(name.to_owned());
            }
        }
        rest = &after[end + 2..];
    }
    text.push_str(rest);
    Filled {
        text,
        missing: missing.into_iter().collect(),
    }
}

/// The first word of a name, for greetings.
pub fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_known_values_and_lists_missing_ones() {
        let filled = fill(
            "Hi {{customer.first_name}}, order {{ order.number }} ships via {{shipment.carrier}}.",
            |name| match name {
                "customer.first_name" => Some("Ada".into()),
                "order.number" => Some("#1001".into()),
                _ => None,
            },
        );
        assert_eq!(filled.text, "Hi Ada, order #1001 ships via .");
        assert_eq!(filled.missing, vec!["shipment.carrier".to_string()]);
    }

    #[test]
    fn values_are_not_filled_again() {
        let filled = fill("{{customer.name}}", |_| Some("{{agent.name}}".into()));
        assert_eq!(filled.text, "{{agent.name}}");
    }

    #[test]
    fn an_unclosed_brace_stays_as_written() {
        assert_eq!(fill("a {{b", |_| Some("x".into())).text, "a {{b");
        assert!(check("a {{customer.name").is_err());
    }

    #[test]
    fn check_refuses_unknown_variables() {
        assert!(check("Hello {{customer.first_name}}").is_ok());
        let e = check("Hello {{customer.shoe_size}}").unwrap_err();
        assert!(e.0.contains("customer.shoe_size"), "{e}");
    }

    #[test]
    fn shortcuts_are_normalised_and_bounded() {
        assert_eq!(Shortcut::parse("/Where-Is").unwrap().as_str(), "where-is");
        assert!(Shortcut::parse("has space").is_err());
        assert!(Shortcut::parse("").is_err());
        assert!(Shortcut::parse(&"a".repeat(41)).is_err());
    }

    #[test]
    fn first_names() {
        assert_eq!(first_name("Ada Lovelace"), "Ada");
        assert_eq!(first_name("Cher"), "Cher");
    }
}
