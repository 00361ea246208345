//! Customers and their identities: finding the one shopper behind an email, a phone number
//! or a store's customer id, and creating them when new.

use crate::args::{bind_args, Args, Batch};
use crate::{on_engine, on_tx, At, Cursor, Page, PageRequest, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use concierge_domain::contact::{EmailAddress, Identity, IdentityKind, PhoneNumber};
use concierge_domain::ids::CustomerId;
use concierge_domain::text::PersonName;

/// A shopper, across every channel they used.
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: CustomerId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub identities: Vec<Identity>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How an incoming message or order names its shopper. At least one handle is needed.
#[derive(Debug, Clone, Default)]
pub struct CustomerRef {
    pub name: Option<PersonName>,
    pub email: Option<EmailAddress>,
    pub phone: Option<PhoneNumber>,
    pub external: Option<(String, String)>,
}

impl CustomerRef {
    fn identities(&self) -> Vec<Identity> {
        let mut out = Vec::with_capacity(3);
        if let Some((source, id)) = &self.external {
            out.push(Identity::External {
                source: source.clone(),
                id: id.clone(),
            });
        }
        if let Some(e) = &self.email {
            out.push(Identity::Email(e.clone()));
        }
        if let Some(p) = &self.phone {
            out.push(Identity::Phone(p.clone()));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.phone.is_none() && self.external.is_none()
    }
}

/// Filters for the customer list.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub email: Option<EmailAddress>,
    pub phone: Option<PhoneNumber>,
    /// Matches the start of a name or email, case-insensitively.
    pub q: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    id: String,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    created_at: At,
    updated_at: At,
}

#[derive(sqlx::FromRow)]
struct IdentityRow {
    customer_id: String,
    kind: String,
    value: String,
}

impl CustomerRow {
    fn into_customer(self, identities: Vec<Identity>) -> Customer {
        Customer {
            id: CustomerId::from_trusted(self.id),
            name: self.name,
            email: self.email,
            phone: self.phone,
            identities,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        }
    }
}

fn parse_identity(row: &IdentityRow) -> Result<Identity, StoreError> {
    let kind = IdentityKind::parse(&row.kind).map_err(StoreError::corrupt)?;
    Identity::parse(kind, &row.value).map_err(StoreError::corrupt)
}

const CUSTOMER_COLUMNS: &str = "id, name, email, phone, created_at, updated_at";

/// Who a conversation or an order is with, in short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSummary {
    pub id: CustomerId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

pub(crate) type FoundRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Finds the customer behind any of the handles, or creates one, inside `tx`. Handles not yet
/// known are attached to the customer found; a handle that already belongs to a different
/// customer stays with them (merging two customers is an agent's decision, not ours).
///
/// A new customer is written at once; the writes for a known one (details filled in, new
/// handles) are added to `later`, which the caller runs with the rest of its command.
pub(crate) async fn resolve(
    tx: &mut Tx,
    who: &CustomerRef,
    now: DateTime<Utc>,
    later: &mut Batch,
) -> Result<CustomerSummary, StoreError> {
    let keys = handle_keys(who)?;
    let mut args = Args::default();
    let matches = any_handle(&keys, &mut args);
    let sql = format!(
        "SELECT i.kind, i.value, c.id, c.name, c.email, c.phone FROM customer_identities i \
         JOIN customers c ON c.id = i.customer_id WHERE {matches}"
    );
    let rows: Vec<FoundRow> = on_tx!(read tx, |conn, pg| bind_args!(sqlx::query_as(&sql), args)
        .fetch_all(conn)
        .await?);
    resolve_found(tx, who, &keys, rows, now, later).await
}

/// The handles a customer reference names, as `(kind, key)`; at least one.
pub(crate) fn handle_keys(who: &CustomerRef) -> Result<Vec<(&'static str, String)>, StoreError> {
    let identities = who.identities();
    if identities.is_empty() {
        return Err(StoreError::reference(
            "customer",
            "a customer needs an email, a phone number or an external id",
        ));
    }
    Ok(identities
        .iter()
        .map(|i| (i.kind().as_str(), i.key()))
        .collect())
}

/// A join a caller's look-up can end with, so that one round trip also finds the owners of
/// `keys` (for [`resolve_found`]): its columns are `i.kind, i.value, c.id, c.name, c.email,
/// c.phone`, null when nobody owns any.
pub(crate) fn owners_join(keys: &[(&'static str, String)], args: &mut Args) -> String {
    format!(
        "LEFT JOIN (customer_identities i JOIN customers c ON c.id = i.customer_id) ON ({})",
        any_handle(keys, args)
    )
}

/// [`resolve`] once the owners of `keys` are known (`rows`, one per owned handle).
pub(crate) async fn resolve_found(
    tx: &mut Tx,
    who: &CustomerRef,
    keys: &[(&'static str, String)],
    rows: Vec<FoundRow>,
    now: DateTime<Utc>,
    later: &mut Batch,
) -> Result<CustomerSummary, StoreError> {
    let owns = |(kind, key): &(&str, String), r: &FoundRow| r.0 == *kind && r.1 == *key;
    let name = who.name.as_ref().map(|n| n.as_str().to_owned());
    let email = who.email.as_ref().map(|e| e.as_str().to_owned());
    let phone = who.phone.as_ref().map(|p| p.as_str().to_owned());
    // The first handle in the reference's order that someone owns names the customer.
    let found = keys
        .iter()
        .find_map(|k| rows.iter().find(|r| owns(k, r)))
        .cloned();
    let unknown = keys.iter().filter(|k| !rows.iter().any(|r| owns(k, r)));
    let Some((_, _, id, known_name, known_email, known_phone)) = found else {
        let id = CustomerId::generate();
        // On PostgreSQL another transaction may claim one of the handles between our look-up
        // and our insert, so the new customer is written at once and checked. SQLite's single
        // writer rules that out, so there it goes with the rest of the command.
        let pg = tx.is_postgres();
        let mut now_batch = Batch::default();
        let writes = if pg { &mut now_batch } else { later };
        writes
            .add("INSERT INTO customers (id, name, email, phone, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
            .text(id.as_str())
            .opt_text(name.as_deref())
            .opt_text(email.as_deref())
            .opt_text(phone.as_deref())
            .time(now);
        for (kind, key) in keys {
            add_identity(writes, kind, key, id.as_str(), now);
        }
        if pg && now_batch.run(tx).await? < 1 + keys.len() as u64 {
            return lost_race(tx, keys, id).await;
        }
        return Ok(CustomerSummary {
            id,
            name,
            email,
            phone,
        });
    };
    let summary = CustomerSummary {
        id: CustomerId::from_trusted(id),
        name: known_name.clone().or(name),
        email: known_email.clone().or(email),
        phone: known_phone.clone().or(phone),
    };
    // Fill in what we did not know yet; never overwrite what the shop already has.
    if (&summary.name, &summary.email, &summary.phone) != (&known_name, &known_email, &known_phone)
    {
        later
            .add(
                "UPDATE customers SET name = coalesce(name, $2), email = coalesce(email, $3), \
                 phone = coalesce(phone, $4), updated_at = $5 WHERE id = $1",
            )
            .text(summary.id.as_str())
            .opt_text(summary.name.as_deref())
            .opt_text(summary.email.as_deref())
            .opt_text(summary.phone.as_deref())
            .time(now);
    }
    for (kind, key) in unknown {
        add_identity(later, kind, key, summary.id.as_str(), now);
    }
    Ok(summary)
}

/// `i.kind = … AND i.value = …` for each handle, joined with OR (each uses the primary key).
fn any_handle(keys: &[(&'static str, String)], args: &mut Args) -> String {
    keys.iter()
        .map(|(kind, key)| {
            format!(
                "(i.kind = {} AND i.value = {})",
                args.text(*kind),
                args.text(key.as_str())
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn add_identity(batch: &mut Batch, kind: &str, key: &str, customer_id: &str, now: DateTime<Utc>) {
    batch
        .add(
            "INSERT INTO customer_identities (kind, value, customer_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kind, value) DO NOTHING",
        )
        .text(kind)
        .text(key)
        .text(customer_id)
        .time(now);
}

/// Another transaction claimed one of these handles for a customer between our look-up and
/// our insert (two first messages from one new shopper at once, on PostgreSQL). Theirs wins:
/// the customer we just made, which nothing references yet, goes again, with its handles.
async fn lost_race(
    tx: &mut Tx,
    keys: &[(&'static str, String)],
    ours: CustomerId,
) -> Result<CustomerSummary, StoreError> {
    let mut args = Args::default();
    let matches = any_handle(keys, &mut args);
    let sql = format!(
        "SELECT c.id, c.name, c.email, c.phone FROM customer_identities i JOIN customers c ON c.id = i.customer_id \
         WHERE ({matches}) AND c.id <> {} LIMIT 1",
        args.text(ours.as_str())
    );
    let owner: (String, Option<String>, Option<String>, Option<String>) =
        on_tx!(tx, |conn, pg| bind_args!(sqlx::query_as(&sql), args)
            .fetch_one(conn)
            .await?);
    let mut batch = Batch::default();
    batch
        .add("DELETE FROM customers WHERE id = $1")
        .text(ours.as_str());
    batch.run(tx).await?;
    Ok(CustomerSummary {
        id: CustomerId::from_trusted(owner.0),
        name: owner.1,
        email: owner.2,
        phone: owner.3,
    })
}

impl Store {
    /// Finds or creates the customer behind these handles.
    pub async fn resolve_customer(&self, who: &CustomerRef) -> Result<CustomerId, StoreError> {
        let mut tx = self.begin().await?;
        let mut later = Batch::default();
        let customer = resolve(&mut tx, who, At::now(), &mut later).await?;
        tx.commit_with(later).await?;
        Ok(customer.id)
    }

    pub async fn customer(&self, id: &CustomerId) -> Result<Customer, StoreError> {
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1");
        let row: Option<CustomerRow> = on_engine!(self, |pool, pg| {
            sqlx::query_as(&sql)
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        let row = row.ok_or(StoreError::NotFound("customer"))?;
        let mut identities = self.identities_of(std::slice::from_ref(&row.id)).await?;
        Ok(row.into_customer(identities.remove(id.as_str()).unwrap_or_default()))
    }

    /// Merges customer `source` into `target`: one shopper known twice, say by a second
    /// email address. Their identities, conversations and orders move to `target`, which
    /// keeps its own name and contact details and takes the source's where it has none; the
    /// source is deleted. One transaction, recorded in the audit log; open views of the
    /// moved conversations are told.
    pub async fn merge_customers(
        &self,
        source: &CustomerId,
        target: &CustomerId,
        actor: &concierge_domain::access::Actor,
    ) -> Result<Customer, StoreError> {
        if source == target {
            return Err(StoreError::conflict(
                "into",
                "a customer cannot be merged into themselves",
            ));
        }
        let now = At::now();
        let mut tx = self.begin().await?;
        let lock = if tx.is_postgres() { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1{lock}");
        let mut found = Vec::with_capacity(2);
        for id in [source, target] {
            let row: Option<CustomerRow> = on_tx!(read &mut tx, |conn, pg| sqlx::query_as(&sql)
                .bind(id.as_str())
                .fetch_optional(conn)
                .await?);
            found.push(row);
        }
        let (from, into) = (found.remove(0), found.remove(0));
        let from = from.ok_or(StoreError::NotFound("customer"))?;
        if into.is_none() {
            return Err(StoreError::reference(
                "into",
                "into does not name an existing customer",
            ));
        }
        let moved: Vec<(String,)> = on_tx!(read &mut tx, |conn, pg| sqlx::query_as(
            "SELECT id FROM conversations WHERE customer_id = $1"
        )
        .bind(source.as_str())
        .fetch_all(conn)
        .await?);
        let mut batch = Batch::default();
        for table in ["customer_identities", "conversations", "orders"] {
            batch
                .add(format!(
                    "UPDATE {table} SET customer_id = $2 WHERE customer_id = $1"
                ))
                .text(source.as_str())
                .text(target.as_str());
        }
        batch
            .add(
                "UPDATE customers SET name = coalesce(name, $2), email = coalesce(email, $3), \
                 phone = coalesce(phone, $4), updated_at = $5 WHERE id = $1",
            )
            .text(target.as_str())
            .opt_text(from.name.as_deref())
            .opt_text(from.email.as_deref())
            .opt_text(from.phone.as_deref())
            .time(now);
        batch
            .add("DELETE FROM customers WHERE id = $1")
            .text(source.as_str());
        crate::audit::record(
            &mut batch,
            crate::audit::AuditEntry::new(
                actor,
                "customer.merged",
                "customer",
                source.as_str(),
                serde_json::json!({ "into": target.as_str(), "conversations": moved.len() }),
            ),
            now,
        );
        let pg = tx.is_postgres();
        for (id,) in &moved {
            crate::events::record(
                &mut batch,
                pg,
                concierge_domain::conversation::EventKind::ConversationUpdated,
                &concierge_domain::ids::ConversationId::from_trusted(id.clone()),
                serde_json::json!({ "customer_id": target.as_str() }),
                now,
            );
        }
        tx.commit_with(batch).await?;
        self.events_committed();
        self.customer(target).await
    }

    /// Customers, newest first.
    pub async fn customers(
        &self,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> Result<Page<Customer>, StoreError> {
        let limit = page.limit();
        let after = match &page.cursor {
            Some(Cursor::AfterId(id)) => Some(id.clone()),
            _ => None,
        };
        let handle: Option<(&str, String)> = match (&filter.email, &filter.phone) {
            (Some(e), _) => Some(("email", Identity::Email(e.clone()).key())),
            (None, Some(p)) => Some(("phone", p.as_str().to_owned())),
            (None, None) => None,
        };
        let q = filter
            .q
            .as_ref()
            .map(|q| format!("{}%", escape_like(&q.to_lowercase())));
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE ($1 IS NULL OR id < $1) \
             AND ($2 IS NULL OR EXISTS (SELECT 1 FROM customer_identities i WHERE i.customer_id = c.id AND i.kind = $2 AND i.value = $3)) \
             AND ($4 IS NULL OR lower(name) LIKE $4 ESCAPE '\\' OR lower(email) LIKE $4 ESCAPE '\\') \
             ORDER BY id DESC LIMIT $5"
        );
        let rows: Vec<CustomerRow> = on_engine!(self, |pool, pg| {
            sqlx::query_as(&sql)
                .bind(after.as_deref())
                .bind(handle.as_ref().map(|h| h.0))
                .bind(handle.as_ref().map(|h| h.1.as_str()))
                .bind(q.as_deref())
                .bind(i64::from(limit) + 1)
                .fetch_all(pool)
                .await?
        });
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut identities = self.identities_of(&ids).await?;
        let customers = rows
            .into_iter()
            .map(|r| {
                let ids = identities.remove(&r.id).unwrap_or_default();
                r.into_customer(ids)
            })
            .collect();
        Ok(Page::from_rows(customers, limit, |c: &Customer| {
            Cursor::AfterId(c.id.to_string())
        }))
    }

    async fn identities_of(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<Identity>>, StoreError> {
        let mut map: std::collections::HashMap<String, Vec<Identity>> =
            std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(map);
        }
        let placeholders = (1..=ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT customer_id, kind, value FROM customer_identities WHERE customer_id IN ({placeholders}) ORDER BY created_at, kind"
        );
        let rows: Vec<IdentityRow> = on_engine!(self, |pool, pg| {
            let mut q = sqlx::query_as(&sql);
            for id in ids {
                q = q.bind(id);
            }
            q.fetch_all(pool).await?
        });
        for row in rows {
            let identity = parse_identity(&row)?;
            map.entry(row.customer_id).or_default().push(identity);
        }
        Ok(map)
    }
}

/// Escapes `%`, `_` and `\` so user text matches literally in a LIKE pattern.
pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
