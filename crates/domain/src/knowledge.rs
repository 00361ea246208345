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
    fn locales() {
        assert_eq!(Locale::parse("pt_br").unwrap().as_str(), "pt-BR");
        assert_eq!(Locale::parse("EN").unwrap().as_str(), "en");
        assert_eq!(Locale::parse("es-419").unwrap().as_str(), "es-419");
        for bad in ["", "english", "e", "en-US-x", "12"] {
            assert!(Locale::parse(bad).is_err(), "{bad:?}");
        }
    }
}
