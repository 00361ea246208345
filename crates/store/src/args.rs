//! Bind arguments for statements assembled at run time (lists with optional filters). Each
//! pushed value gets the next `$n`, which both engines understand.

use crate::At;

pub(crate) enum Arg {
    Text(String),
    Int(i64),
    Time(At),
}

#[derive(Default)]
pub(crate) struct Args(pub(crate) Vec<Arg>);

impl Args {
    /// Adds a value and returns its placeholder.
    pub(crate) fn push(&mut self, arg: Arg) -> String {
        self.0.push(arg);
        format!("${}", self.0.len())
    }

    pub(crate) fn text(&mut self, s: impl Into<String>) -> String {
        self.push(Arg::Text(s.into()))
    }

    pub(crate) fn int(&mut self, n: i64) -> String {
        self.push(Arg::Int(n))
    }

    pub(crate) fn time(&mut self, t: At) -> String {
        self.push(Arg::Time(t))
    }

    /// Placeholders for a list of texts, for `IN (…)`.
    pub(crate) fn texts<'a>(&mut self, items: impl IntoIterator<Item = &'a str>) -> String {
        items
            .into_iter()
            .map(|s| self.text(s))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Binds every argument of an [`Args`] to a query, in order.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for arg in &$args.0 {
            q = match arg {
                $crate::args::Arg::Text(s) => q.bind(s.as_str()),
                $crate::args::Arg::Int(n) => q.bind(*n),
                $crate::args::Arg::Time(t) => q.bind(*t),
            };
        }
        q
    }};
}
pub(crate) use bind_args;
