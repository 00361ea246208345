//! Bounded, trimmed text: names, subjects, message bodies. Control characters other than
//! line breaks and tabs are refused, and so is NUL, which some databases cannot store.

use crate::Invalid;

/// Checks a free-text field: trims it, refuses it when empty or longer than `max` characters
/// or when it holds control characters.
pub fn bounded(value: &str, max: usize, what: &str) -> Result<String, Invalid> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Invalid(format!("{what} must not be empty")));
    }
    if trimmed.chars().count() > max {
        return Err(Invalid(format!("{what} must be at most {max} characters")));
    }
    if let Some(c) = trimmed
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Invalid(format!(
            "{what} must not contain control character U+{:04X}",
            c as u32
        )));
    }
    Ok(trimmed.to_owned())
}

/// The longest message body we accept, in characters (about 64 KiB of text).
pub const MAX_BODY_CHARS: usize = 65_536;

macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, $max:expr, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;
            pub fn parse(value: &str) -> Result<Self, Invalid> {
                bounded(value, $max, $what).map($name)
            }
            pub fn as_str(&self) -> &str { &self.0 }
            pub fn into_string(self) -> String { self.0 }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
        }
    };
}

bounded_text!(
    /// A person's display name (customer or agent).
    PersonName, 200, "name"
);
bounded_text!(
    /// A conversation's subject line.
    Subject, 500, "subject"
);
bounded_text!(
    /// A message's plain-text body.
    MessageBody, MAX_BODY_CHARS, "body"
);
bounded_text!(
    /// A short label: a tag, a team name, a token name, a category.
    Label, 100, "value"
);

/// Text made safe to place in HTML or XML, in content or in a quoted attribute: the five
/// characters with meaning there are written as references.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_cannot_open_markup() {
        assert_eq!(super::escape_html("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn trims_and_bounds() {
        assert_eq!(
            Subject::parse("  Where is my order?  ").unwrap().as_str(),
            "Where is my order?"
        );
        assert!(Subject::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(201)).is_err());
        assert!(PersonName::parse(&"é".repeat(200)).is_ok());
    }

    #[test]
    fn refuses_nul_and_control_characters_but_keeps_line_breaks() {
        assert!(MessageBody::parse("hello\0world").is_err());
        assert!(MessageBody::parse("bell\u{7}").is_err());
        assert_eq!(
            MessageBody::parse("line 1\r\nline 2\tend")
                .unwrap()
                .as_str(),
            "line 1\r\nline 2\tend"
        );
    }

    #[test]
    fn sql_looking_text_is_just_text() {
        let body = MessageBody::parse("'; DROP TABLE messages; --").unwrap();
        assert_eq!(body.as_str(), "'; DROP TABLE messages; --");
    }
}
