//! Cursor pagination. A cursor is an opaque string to clients; inside it is the sort key of
//! the last row served, so the next page starts right after it even while rows are added.

use concierge_domain::Invalid;

/// The most rows one page may hold, and how many a page holds unless asked.
pub const MAX_LIMIT: u32 = 200;
pub const DEFAULT_LIMIT: u32 = 50;

#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: Option<u32>,
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }
}

/// Where the previous page ended: a timestamp (microseconds) and/or an id, or an offset
/// for lists ordered by relevance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    After { micros: i64, id: String },
    AfterId(String),
    Offset(u32),
}

impl Cursor {
    /// The form clients carry around: short, URL-safe, and not meant to be taken apart.
    pub fn encode(&self) -> String {
        let raw = match self {
            Cursor::After { micros, id } => format!("t{micros}.{id}"),
            Cursor::AfterId(id) => format!("i{id}"),
            Cursor::Offset(n) => format!("o{n}"),
        };
        raw.bytes().map(|b| format!("{b:02x}")).collect()
    }

    pub fn decode(s: &str) -> Result<Cursor, Invalid> {
        let bad = || Invalid::new("not a cursor this API handed out");
        if !s.len().is_multiple_of(2) || s.len() > 256 {
            return Err(bad());
        }
        let bytes: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        let raw = String::from_utf8(bytes).map_err(|_| bad())?;
        let valid_id =
            |id: &str| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match raw.split_at_checked(1) {
            Some(("t", rest)) => {
                let (micros, id) = rest.split_once('.').ok_or_else(bad)?;
                let micros = micros.parse().map_err(|_| bad())?;
                if !valid_id(id) {
                    return Err(bad());
                }
                Ok(Cursor::After {
                    micros,
                    id: id.to_owned(),
                })
            }
            Some(("i", id)) if valid_id(id) => Ok(Cursor::AfterId(id.to_owned())),
            Some(("o", n)) => n.parse().map(Cursor::Offset).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only tells that more exist.
    pub(crate) fn from_rows(
        mut rows: Vec<T>,
        limit: u32,
        cursor_of: impl Fn(&T) -> Cursor,
    ) -> Page<T> {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(cursor_of)
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for c in [
            Cursor::After {
                micros: 1_700_000_000_000_000,
                id: "cnv_0190abc".into(),
            },
            Cursor::AfterId("ord_01".into()),
            Cursor::Offset(150),
        ] {
            assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        }
    }

    #[test]
    fn forged_cursors_are_refused() {
        for bad in [
            "",
            "zz",
            "abc",
            &Cursor::AfterId("x' OR 1=1".into()).encode(),
            "74",
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn limit_is_clamped() {
        assert_eq!(
            PageRequest {
                limit: Some(0),
                cursor: None
            }
            .limit(),
            1
        );
        assert_eq!(
            PageRequest {
                limit: Some(10_000),
                cursor: None
            }
            .limit(),
            200
        );
        assert_eq!(PageRequest::default().limit(), 50);
    }
}
