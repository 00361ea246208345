//! Full-text search on each engine's own index. Shoppers' and agents' queries are free text:
//! quotes, operators and stray punctuation must never turn into a syntax error, so the query
//! is rebuilt from its words rather than passed through.

/// An FTS5 query matching rows that contain every word of `input` (word prefixes for the
/// last word, so search-as-you-type works). `None` when the input has no words at all.
pub(crate) fn fts5_query(input: &str) -> Option<String> {
    let words: Vec<&str> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(32)
        .collect();
    if words.is_empty() {
        return None;
    }
    let last = words.len() - 1;
    Some(
        words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == last {
                    format!("\"{w}\"*")
                } else {
                    format!("\"{w}\"")
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The PostgreSQL text-search expression for a user query placeholder. `websearch_to_tsquery`
/// accepts any input without syntax errors.
pub(crate) fn pg_tsquery(placeholder: &str) -> String {
    format!("websearch_to_tsquery('english', {placeholder})")
}

/// Whether `input` holds anything to search for.
pub(crate) fn has_words(input: &str) -> bool {
    input.chars().any(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_quotes_become_plain_words() {
        assert_eq!(
            fts5_query("where's my \"order\" OR NOT refund*").unwrap(),
            "\"where\" \"s\" \"my\" \"order\" \"OR\" \"NOT\" \"refund\"*"
        );
        assert_eq!(fts5_query("  ()\"*:  "), None);
        assert_eq!(fts5_query("café délai").unwrap(), "\"café\" \"délai\"*");
    }
}
