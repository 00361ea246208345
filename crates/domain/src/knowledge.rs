//! The knowledge base: article slugs and locales.

use crate::Invalid;
use std::fmt;

/// The URL name of an article: lower-case ASCII letters, digits and single dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    /// Derives a slug from a title: accents folded where simple, everything else a dash.
    pub fn from_title(title: &str) -> Slug {
        let mut out = String::with_capacity(title.len());
        for c in title.chars() {
            let folded = match c {
                'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
                    'a'
                }
                'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
                'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
                'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => {
                    'o'
                }
                'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
                'ç' | 'Ç' => 'c',
                'ñ' | 'Ñ' => 'n',
                'ß' => 's',
                c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
                _ => '-',
            };
            if folded == '-' && (out.is_empty() || out.ends_with('-')) {
                continue;
            }
            out.push(folded);
        }
        while out.ends_with('-') {
            out.pop();
        }
        out.truncate(80);
        while out.ends_with('-') {
            out.pop();
        }
        if out.is_empty() {
            out.push_str("article");
        }
        Slug(out)
    }

    pub fn parse(s: &str) -> Result<Slug, Invalid> {
        let ok = !s.is_empty()
            && s.len() <= 80
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(Slug(s.to_owned()))
        } else {
            Err(Invalid::new(
                "slug must be lower-case letters, digits and single dashes",
            ))
        }
    }

    /// The same slug with a numeric suffix, for when the plain one is taken.
    pub fn with_suffix(&self, n: u32) -> Slug {
        Slug(format!("{}-{n}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A language tag: a 2–3 letter language, optionally a region (`en`, `pt-BR`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Locale(String);

impl Locale {
    pub fn parse(s: &str) -> Result<Locale, Invalid> {
        let s = s.trim().replace('_', "-");
        let mut parts = s.split('-');
        let lang = parts.next().unwrap_or("");
        let region = parts.next();
        let valid = (2..=3).contains(&lang.len())
            && lang.chars().all(|c| c.is_ascii_alphabetic())
            && region.is_none_or(|r| {
                (r.len() == 2 && r.chars().all(|c| c.is_ascii_alphabetic()))
                    || (r.len() == 3 && r.chars().all(|c| c.is_ascii_digit()))
            })
            && parts.next().is_none();
        if !valid {
            return Err(Invalid::new(
                "locale must be a language tag such as en or pt-BR",
            ));
        }
        Ok(Locale(match region {
            Some(r) => format!("{}-{}", lang.to_ascii_lowercase(), r.to_ascii_uppercase()),
            None => lang.to_ascii_lowercase(),
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Locale {
    fn default() -> Self {
        Locale("en".to_owned())
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Locale {
    /// The language part alone (`pt` of `pt-BR`).
    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

/// The locale to answer in: of the `available` ones, the best by an `Accept-Language`
/// header's preferences (an exact tag first, then the same language); `None` when nothing
/// matches, for the caller's own default.
pub fn negotiate<'a>(accept_language: &str, available: &'a [Locale]) -> Option<&'a Locale> {
    let mut wanted: Vec<(f32, usize, Locale)> = accept_language
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then(|| Locale::parse(tag).ok().map(|l| (q, i, l)))?
        })
        .collect();
    // Highest q first; among equals, the order the header gave.
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, w) in &wanted {
        if let Some(l) = available.iter().find(|l| *l == w) {
            return Some(l);
        }
        if let Some(l) = available.iter().find(|l| l.language() == w.language()) {
            return Some(l);
        }
    }
    None
}

/// Words a shop says mean the same (`parcel, package, order`): two to twenty terms, each a
/// word or a short phrase, compared in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synonyms(Vec<String>);

impl Synonyms {
    pub fn parse(terms: &[String]) -> Result<Synonyms, Invalid> {
        let mut out: Vec<String> = Vec::with_capacity(terms.len());
        for t in terms {
            let t = t
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            if t.is_empty() {
                continue;
            }
            if t.chars().count() > 40 || t.split(' ').count() > 4 {
                return Err(Invalid::new(
                    "a synonym is a word or a phrase of up to four words",
                ));
            }
            if !t
                .chars()
                .all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '\'')
            {
                return Err(Invalid::new(
                    "a synonym holds letters, digits, spaces, dashes and apostrophes",
                ));
            }
            if !out.contains(&t) {
                out.push(t);
            }
        }
        if !(2..=20).contains(&out.len()) {
            return Err(Invalid::new(
                "a synonym group has two to twenty different terms",
            ));
        }
        Ok(Synonyms(out))
    }

    pub fn terms(&self) -> &[String] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_from_titles() {
        assert_eq!(
            Slug::from_title("How do I return an item?").as_str(),
            "how-do-i-return-an-item"
        );
        assert_eq!(
            Slug::from_title("  Délai de livraison — été  ").as_str(),
            "delai-de-livraison-ete"
        );
        assert_eq!(Slug::from_title("???").as_str(), "article");
        assert_eq!(
            Slug::from_title("Sizing").with_suffix(2).as_str(),
            "sizing-2"
        );
    }

    #[test]
    fn slug_parse_refuses_odd_shapes() {
        assert!(Slug::parse("returns-policy").is_ok());
        for bad in ["", "Returns", "a--b", "-a", "a-", "a/b", "../etc"] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_help_center_answers_in_the_best_language_it_has() {
        let have = [
            Locale::parse("en").unwrap(),
            Locale::parse("de").unwrap(),
            Locale::parse("pt-BR").unwrap(),
        ];
        let pick = |h: &str| {
            negotiate(h, &have)
                .map_or("none", |l| l.as_str())
                .to_owned()
        };
        assert_eq!(pick("de-CH, de;q=0.9, en;q=0.8"), "de");
        assert_eq!(pick("fr, pt;q=0.5, en;q=0.1"), "pt-BR");
        assert_eq!(pick("en;q=0.2, de;q=0.9"), "de");
        assert_eq!(pick("ja"), "none", "nothing matches");
        assert_eq!(pick(""), "none");
        assert_eq!(pick("*;q=1, de;q=0"), "none", "q=0 means not this one");
        assert!(negotiate("en", &[]).is_none());
    }

    #[test]
    fn synonym_groups_are_clean_lower_case_terms() {
        let s = |t: &[&str]| Synonyms::parse(&t.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(
            s(&["Parcel", " package ", "PARCEL", "send  back"])
                .unwrap()
                .terms(),
            ["parcel", "package", "send back"]
        );
        assert!(s(&["parcel"]).is_err());
        assert!(s(&["a", "<script>"]).is_err());
        assert!(s(&["a", "one two three four five"]).is_err());
    }

    #[test]
    fn locales() {
        assert_eq!(Locale::parse("pt_br").unwrap().as_str(), "pt-BR");
        assert_eq!(Locale::parse("EN").unwrap().as_str(), "en");
        assert_eq!(Locale::parse("es-419").unwrap().as_str(), "es-419");
        for bad in ["", "english", "e", "en-US-x", "12"] {
            assert!(Locale::parse(bad).is_err(), "{bad:?}");
        }
    }
}
