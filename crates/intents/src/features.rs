//! Text to features: the words, word pairs and letter groups a message is made of. The same
//! function serves training and inference, so the two cannot drift apart.

/// The feature names of one piece of text, with repeats (their counts are the term
/// frequencies). Names carry a prefix per kind, so a word and a letter group never collide.
pub fn features(text: &str) -> Vec<String> {
    let tokens = tokens(text);
    let mut out = Vec::with_capacity(tokens.len() * 12);
    for (i, token) in tokens.iter().enumerate() {
        out.push(format!("w {token}"));
        if let Some(next) = tokens.get(i + 1) {
            out.push(format!("b {token} {next}"));
        }
        // Letter groups make a typo cost one or two features instead of the whole word.
        if token != NUMBER {
            let padded: Vec<char> = format!("<{token}>").chars().collect();
            for n in 3..=5 {
                for gram in padded.windows(n) {
                    out.push(format!("c {}", gram.iter().collect::<String>()));
                }
            }
        }
    }
    out
}

/// What any run of digits (an order number, an amount, a date) becomes: the model should
/// learn that a number was there, never which one.
const NUMBER: &str = "0";

/// Lower-cased words of letters and digits; apostrophes vanish ("don't" is "dont", as
/// shoppers often type it), other punctuation separates words, and a word with a digit in it
/// is a number.
pub fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<String>| {
        if !word.is_empty() {
            if word.chars().any(|c| c.is_ascii_digit()) {
                tokens.push(NUMBER.to_owned());
            } else {
                tokens.push(std::mem::take(word));
            }
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if c == '\'' || c == '\u{2019}' {
            continue;
        } else {
            flush(&mut word, &mut tokens);
        }
    }
    flush(&mut word, &mut tokens);
    tokens
}

/// The sentences of a message: split at `.`, `!`, `?` and line ends; a piece without a
/// letter is dropped.
pub fn sentences(text: &str) -> Vec<&str> {
    text.split(['.', '!', '?', '\n', '\r'])
        .map(str::trim)
        .filter(|s| s.chars().any(char::is_alphabetic))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_numbers_masked_and_apostrophes_dropped() {
        assert_eq!(
            tokens("Where's order #1043?? It's LATE, ORD-22x"),
            ["wheres", "order", "0", "its", "late", "ord", "0"]
        );
    }

    #[test]
    fn features_hold_words_pairs_and_letter_groups() {
        let f = features("my parcel");
        assert!(f.contains(&"w parcel".to_owned()));
        assert!(f.contains(&"b my parcel".to_owned()));
        assert!(f.contains(&"c <pa".to_owned()));
        assert!(f.contains(&"c cel>".to_owned()));
        assert!(!features("1043").iter().any(|f| f.starts_with("c ")));
    }

    #[test]
    fn sentences_split_at_stops_and_lines() {
        assert_eq!(
            sentences("Hi there!\nWhere is my order #12? Thanks... Anna"),
            ["Hi there", "Where is my order #12", "Thanks", "Anna"]
        );
    }
}
