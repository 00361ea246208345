//! Bind arguments for statements assembled at run time, and [`Batch`]: writes that need no
//! answer, sent to the database together.
//!
//! Each pushed value gets the next `$n`, which both engines understand.

use crate::{At, StoreError, Tx};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// One bound value. Nulls keep their type, which PostgreSQL needs to plan the statement.
pub(crate) enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Time(Option<At>),
    Json(Option<serde_json::Value>),
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
        self.push(Arg::Text(Some(s.into())))
    }

    pub(crate) fn int(&mut self, n: i64) -> String {
        self.push(Arg::Int(Some(n)))
    }

    pub(crate) fn time(&mut self, t: At) -> String {
        self.push(Arg::Time(Some(t)))
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
                $crate::args::Arg::Text(s) => q.bind(s.as_deref()),
                $crate::args::Arg::Int(n) => q.bind(*n),
                $crate::args::Arg::Float(f) => q.bind(*f),
                $crate::args::Arg::Bool(b) => q.bind(*b),
                $crate::args::Arg::Time(t) => q.bind(*t),
                $crate::args::Arg::Json(v) => q.bind(v.as_ref().map(sqlx::types::Json)),
            };
        }
        q
    }};
}
pub(crate) use bind_args;

/// Writes whose results nobody reads — the inserts and updates at the end of a command — so
/// they can travel together. On SQLite they go as one multi-statement script: the driver runs
/// each statement on its own thread, and the trip there and back costs far more than the
/// statement, so one trip for the whole batch instead of one per statement is what lets the
/// single writer keep up (see `SqliteWrite`). PostgreSQL runs them one after another (its
/// extended protocol takes one statement at a time). Either way they run inside the caller's
/// transaction.
#[derive(Default)]
pub(crate) struct Batch {
    statements: Vec<(Cow<'static, str>, Args)>,
}

/// Binds the values of the statement just added to a [`Batch`], in `$1…$n` order.
pub(crate) struct Bind<'a>(&'a mut Args);

impl Bind<'_> {
    pub(crate) fn text(self, s: impl Into<String>) -> Self {
        self.0 .0.push(Arg::Text(Some(s.into())));
        self
    }
    pub(crate) fn opt_text(self, s: Option<&str>) -> Self {
        self.0 .0.push(Arg::Text(s.map(str::to_owned)));
        self
    }
    pub(crate) fn int(self, n: i64) -> Self {
        self.0 .0.push(Arg::Int(Some(n)));
        self
    }
    pub(crate) fn opt_float(self, f: Option<f64>) -> Self {
        self.0 .0.push(Arg::Float(f));
        self
    }
    pub(crate) fn bool(self, b: bool) -> Self {
        self.0 .0.push(Arg::Bool(Some(b)));
        self
    }
    pub(crate) fn opt_bool(self, b: Option<bool>) -> Self {
        self.0 .0.push(Arg::Bool(b));
        self
    }
    pub(crate) fn time(self, t: DateTime<Utc>) -> Self {
        self.0 .0.push(Arg::Time(Some(At(t))));
        self
    }
    pub(crate) fn opt_time(self, t: Option<DateTime<Utc>>) -> Self {
        self.0 .0.push(Arg::Time(t.map(At)));
        self
    }
    pub(crate) fn json(self, v: serde_json::Value) -> Self {
        self.0 .0.push(Arg::Json(Some(v)));
        self
    }
    pub(crate) fn json_opt(self, v: Option<serde_json::Value>) -> Self {
        self.0 .0.push(Arg::Json(v));
        self
    }
}

impl Batch {
    /// Adds a statement written with its own `$1…$n` placeholders; bind its values on the
    /// returned [`Bind`].
    pub(crate) fn add(&mut self, sql: impl Into<Cow<'static, str>>) -> Bind<'_> {
        self.statements.push((sql.into(), Args::default()));
        let (_, args) = self.statements.last_mut().expect("just pushed");
        Bind(args)
    }

    /// Appends another batch's statements after these.
    pub(crate) fn extend(&mut self, other: Batch) {
        self.statements.extend(other.statements);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Runs the statements in order inside `tx`; returns the rows they affected, in all.
    pub(crate) async fn run(self, tx: &mut Tx) -> Result<u64, StoreError> {
        match tx {
            Tx::Sqlite(t) => t.script(self).await,
            Tx::Postgres(t) => self.run_each(t).await,
        }
    }

    /// Runs the statements one after another (PostgreSQL).
    pub(crate) async fn run_each(self, conn: &mut sqlx::PgConnection) -> Result<u64, StoreError> {
        let mut affected = 0;
        for (sql, args) in &self.statements {
            affected += bind_args!(sqlx::query(sql), args)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        }
        Ok(affected)
    }

    /// The statements as one script between `prefix` and `suffix`, their placeholders
    /// renumbered to index one list of arguments (the SQLite driver numbers `$n` across the
    /// whole script).
    pub(crate) fn script(self, prefix: &str, suffix: &str) -> (String, Args) {
        let mut sql = String::from(prefix);
        let mut all = Args::default();
        for (statement, args) in self.statements {
            renumber(&statement, all.0.len(), &mut sql);
            sql.push_str(";\n");
            all.0.extend(args.0);
        }
        sql.push_str(suffix);
        (sql, all)
    }
}

/// Copies `sql` to `out` with every `$n` placeholder shifted by `offset`. Our statements are
/// fixed text with every value bound, so a `$` followed by digits is always a placeholder.
fn renumber(sql: &str, offset: usize, out: &mut String) {
    let mut rest = sql;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            let n: usize = rest[..digits].parse().expect("digits");
            out.push_str(&(n + offset).to_string());
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_across_the_script() {
        let mut b = Batch::default();
        b.add("INSERT INTO t (a, b) VALUES ($1, $2)").int(1).int(2);
        b.add("UPDATE t SET b = $2 WHERE a = $1 AND b <> $2")
            .int(1)
            .int(3);
        b.add("DELETE FROM u WHERE x = $1 AND y = '$'").int(9);
        let (sql, args) = b.script("", "");
        assert_eq!(
            sql,
            "INSERT INTO t (a, b) VALUES ($1, $2);\n\
             UPDATE t SET b = $4 WHERE a = $3 AND b <> $4;\n\
             DELETE FROM u WHERE x = $5 AND y = '$';\n"
        );
        assert_eq!(args.0.len(), 5);
    }
}
