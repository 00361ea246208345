//! The inbox: conversations by filter (status, assignee, channel, tag, team, priority,
//! intent, words), newest activity or longest waiting first, a page at a time; its counts per
//! view; the tags in use.

use super::*;

impl Store {
    /// The inbox: conversations matching the filter, newest activity first.
    pub async fn conversations(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        self.conversations_by(filter, page, None).await
    }

    /// [`Store::conversations`], with the SQLite search plan chosen by the caller (`Some(true)`
    /// walks the inbox, `Some(false)` sorts the matches) or by the counts (`None`).
    pub(super) async fn conversations_by(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
        walk: Option<bool>,
    ) -> Result<Page<Conversation>, StoreError> {
        let empty = || Page {
            items: vec![],
            next_cursor: None,
        };
        let limit = page.limit();
        let pg = matches!(self.engine, crate::Engine::Postgres(_));
        let mut args = Args::default();
        let mut filters = String::new();
        if let Some(s) = filter.status {
            filters += &format!(" AND c.status = {}", args.text(s.as_str()));
        }
        match &filter.assignee_id {
            Some(Some(a)) => filters += &format!(" AND c.assignee_id = {}", args.text(a.as_str())),
            Some(None) => filters += " AND c.assignee_id IS NULL",
            None => {}
        }
        if let Some(cid) = &filter.customer_id {
            filters += &format!(" AND c.customer_id = {}", args.text(cid.as_str()));
        }
        if let Some(ch) = filter.channel {
            filters += &format!(" AND c.channel = {}", args.text(ch.as_str()));
        }
        if let Some(t) = &filter.team_id {
            filters += &format!(" AND c.team_id = {}", args.text(t.as_str()));
        }
        if let Some(p) = filter.priority {
            filters += &format!(" AND c.priority = {}", args.text(p.as_str()));
        }
        if let Some(i) = &filter.intent {
            filters += &format!(" AND c.intent = {}", args.text(i.as_str()));
        }
        let waiting = filter.order == InboxOrder::WaitingLongest;
        if waiting {
            filters += " AND c.waiting_since IS NOT NULL";
        }
        if let Some(tag) = &filter.tag {
            filters += &format!(
                " AND EXISTS (SELECT 1 FROM conversation_tags t WHERE t.conversation_id = c.id AND t.tag = {})",
                args.text(tag.to_lowercase())
            );
        }
        if let Some(q) = &filter.q {
            if !search::has_words(q) {
                return Ok(empty());
            }
            if pg {
                let tsq = search::pg_tsquery(&args.text(q.as_str()));
                filters += &format!(" AND c.search @@ {tsq}");
            } else {
                let Some(fts) = search::fts5_query(q, search::LastWord::Whole) else {
                    return Ok(empty());
                };
                // Collecting every match and sorting them costs time in proportion to the
                // matches; walking the inbox newest first and probing each conversation costs
                // time in proportion to how far down the page's last match lies. Which is
                // cheaper depends on how common the words are.
                let common = match walk {
                    Some(walk) => walk,
                    None => self.search_is_common(&fts).await?,
                };
                let p = args.text(fts);
                filters += &if common {
                    format!(" AND EXISTS (SELECT 1 FROM conversation_search WHERE conversation_search MATCH {p} AND rowid = c.seq)")
                } else {
                    format!(" AND c.seq IN (SELECT rowid FROM conversation_search WHERE conversation_search MATCH {p})")
                };
            }
        }
        match &page.cursor {
            Some(Cursor::After { micros, id }) => {
                let t = DateTime::from_timestamp_micros(*micros).unwrap_or_default();
                let pt = args.time(At(t));
                let pi = args.text(id.as_str());
                // A row value, so both engines continue the index walk where the page ended.
                filters += &if waiting {
                    format!(" AND (c.waiting_since, c.id) > ({pt}, {pi})")
                } else {
                    format!(" AND (c.last_activity_at, c.id) < ({pt}, {pi})")
                };
            }
            Some(_) => {
                return Err(StoreError::conflict(
                    "cursor",
                    "this cursor belongs to another list",
                ))
            }
            None => {}
        }
        // The page is chosen first and only its rows are joined to their customer and tags,
        // so a search that sorts many matches sorts bare keys.
        let order = if waiting {
            "c.waiting_since, c.id"
        } else {
            "c.last_activity_at DESC, c.id DESC"
        };
        let sql = format!(
            "SELECT {} FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE c.seq IN \
             (SELECT c.seq FROM conversations c WHERE 1 = 1{filters} ORDER BY {order} LIMIT {}) \
             ORDER BY {order}",
            conversation_columns(pg),
            args.int(i64::from(limit) + 1)
        );
        // On PostgreSQL a search is planned for its own words each time: a cached generic
        // plan cannot tell a rare word from a common one, and would sort every match of the
        // latter (p95 58 ms instead of 8 ms at 1,000,000 messages).
        let searching = filter.q.is_some();
        let rows: Vec<ConversationRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .persistent(!(searching && pg))
                .fetch_all(pool)
                .await?);
        let items = rows
            .into_iter()
            .map(ConversationRow::into_conversation)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, limit, |c: &Conversation| {
            let key = match (waiting, c.lifecycle.waiting_since) {
                (true, Some(since)) => since,
                _ => c.lifecycle.last_activity_at,
            };
            Cursor::After {
                micros: key.timestamp_micros(),
                id: c.id.to_string(),
            }
        }))
    }

    /// How many conversations each inbox view holds for `agent`, from the kept counts.
    pub async fn inbox_counts(&self, agent: &AgentId) -> Result<InboxCounts, StoreError> {
        let rows: Vec<(String, String, i64)> = on_engine!(self, |pool, pg| {
            sqlx::query_as("SELECT status, assignee_id, n FROM inbox_counts WHERE n <> 0")
                .fetch_all(pool)
                .await?
        });
        let mut counts = InboxCounts::default();
        for (status, assignee, n) in rows {
            match ConversationStatus::parse(&status) {
                Ok(ConversationStatus::Open) => {
                    counts.open += n;
                    match assignee.as_str() {
                        "" => counts.unassigned += n,
                        a if a == agent.as_str() => counts.mine += n,
                        _ => {}
                    }
                }
                Ok(ConversationStatus::Pending) => counts.pending += n,
                Ok(ConversationStatus::Snoozed) => counts.snoozed += n,
                Ok(ConversationStatus::Resolved) => counts.resolved += n,
                // Closed conversations are in no view.
                Ok(ConversationStatus::Closed) | Err(_) => {}
            }
        }
        Ok(counts)
    }

    /// Whether an FTS5 query matches so many conversations that walking the inbox newest first
    /// finds a page sooner than sorting the matches. With N conversations, the walk probes
    /// about 51·N/m of them for m matches, the sort handles m keys; a probe costs about a
    /// hundred times a key, so the two meet near m = √(5000·N) (measured on the 100,000
    /// conversation benchmark: both about 7 ms there).
    async fn search_is_common(&self, fts: &str) -> Result<bool, StoreError> {
        let total: i64 = on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT coalesce(max(seq), 0) FROM conversations"
        )
        .fetch_one(pool)
        .await?);
        let threshold = ((5000.0 * total as f64).sqrt() as i64).max(1000);
        let found: i64 = on_engine!(self, |pool, pg| {
            sqlx::query_scalar(
                "SELECT count(*) FROM (SELECT 1 FROM conversation_search WHERE conversation_search MATCH $1 LIMIT $2)",
            )
            .bind(fts)
            .bind(threshold)
            .fetch_one(pool)
            .await?
        });
        Ok(found >= threshold)
    }

    /// Every tag's name, in order.
    pub async fn tag_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT name FROM tags ORDER BY name"
        )
        .fetch_all(pool)
        .await?))
    }

    /// Every tag, with how many conversations carry it, by name.
    pub async fn tags(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_engine!(self, |pool, pg| {
            sqlx::query_as(
            "SELECT t.name, (SELECT count(*) FROM conversation_tags ct WHERE ct.tag = t.name) FROM tags t ORDER BY t.name"
        )
        .fetch_all(pool)
        .await?
        }))
    }
}
