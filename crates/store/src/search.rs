//! Full-text search on each engine's own index. Shoppers' and agents' queries are free text:
//! quotes, operators and stray punctuation must never turn into a syntax error, so the query
//! is rebuilt from its words rather than passed through.

/// Whether the last word of a query also matches longer words (search as you type).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum LastWord {
    Prefix,
    Whole,
}

/// An FTS5 query matching rows that contain every word of `input`. `None` when the input has
/// no words at all.
///
/// A prefix costs FTS5 a merge of every term that starts with it, on each look-up, so the
/// inbox, which probes conversations one by one, searches whole (stemmed) words.
pub(crate) fn fts5_query(input: &str, last_word: LastWord) -> Option<String> {
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
                if i == last && last_word == LastWord::Prefix {
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
            fts5_query("where's my \"order\" OR NOT refund*", LastWord::Prefix).unwrap(),
            "\"where\" \"s\" \"my\" \"order\" \"OR\" \"NOT\" \"refund\"*"
        );
        assert_eq!(fts5_query("  ()\"*:  ", LastWord::Prefix), None);
        assert_eq!(
            fts5_query("café délai", LastWord::Prefix).unwrap(),
            "\"café\" \"délai\"*"
        );
        assert_eq!(
            fts5_query("café délai", LastWord::Whole).unwrap(),
            "\"café\" \"délai\""
        );
    }
}
