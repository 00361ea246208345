//! Customers and their identities: finding the one shopper behind an email, a phone number
//! or a store's customer id, and creating them when new.

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

/// Finds the customer behind any of the handles, or creates one, inside `tx`. Handles not yet
/// known are attached to the customer found; a handle that already belongs to a different
/// customer stays with them (merging two customers is an agent's decision, not ours).
pub(crate) async fn resolve(
    tx: &mut Tx,
    who: &CustomerRef,
    now: DateTime<Utc>,
) -> Result<CustomerId, StoreError> {
    let identities = who.identities();
    if identities.is_empty() {
        return Err(StoreError::reference(
            "customer",
            "a customer needs an email, a phone number or an external id",
        ));
    }
    let mut found: Option<String> = None;
    let mut unknown = Vec::new();
    for identity in &identities {
        let kind = identity.kind().as_str();
        let key = identity.key();
        let owner: Option<String> = on_tx!(tx, |conn, pg| {
            sqlx::query_scalar(
                "SELECT customer_id FROM customer_identities WHERE kind = $1 AND value = $2",
            )
            .bind(kind)
            .bind(&key)
            .fetch_optional(conn)
            .await?
        });
        match owner {
            Some(id) => {
                found.get_or_insert(id);
            }
            None => unknown.push((kind, key)),
        }
    }
    let at = At(now);
    let name = who.name.as_ref().map(|n| n.as_str());
    let email = who.email.as_ref().map(|e| e.as_str());
    let phone = who.phone.as_ref().map(|p| p.as_str());
    let created = found.is_none();
    let id = match found {
        Some(id) => {
            // Fill in what we did not know yet; never overwrite what the shop already has.
            on_tx!(tx, |conn, pg| {
                sqlx::query(
                    "UPDATE customers SET name = coalesce(name, $2), email = coalesce(email, $3), \
                     phone = coalesce(phone, $4), updated_at = $5 \
                     WHERE id = $1 AND (name IS NULL AND $2 IS NOT NULL OR email IS NULL AND $3 IS NOT NULL OR phone IS NULL AND $4 IS NOT NULL)",
                )
                .bind(&id)
                .bind(name)
                .bind(email)
                .bind(phone)
                .bind(at)
                .execute(conn)
                .await?
                .rows_affected()
            });
            id
        }
        None => {
            let id = CustomerId::generate().into_string();
            on_tx!(tx, |conn, pg| {
                sqlx::query(
                    "INSERT INTO customers (id, name, email, phone, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(&id)
                .bind(name)
                .bind(email)
                .bind(phone)
                .bind(at)
                .execute(conn)
                .await?
                .rows_affected()
            });
            id
        }
    };
    for (kind, key) in unknown {
        let inserted = on_tx!(tx, |conn, pg| {
            sqlx::query(
                "INSERT INTO customer_identities (kind, value, customer_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (kind, value) DO NOTHING",
            )
            .bind(kind)
            .bind(&key)
            .bind(&id)
            .bind(at)
            .execute(conn)
            .await?
            .rows_affected()
        });
        if inserted == 0 && created {
            // Another transaction claimed this handle for a customer between our lookup and
            // our insert (two first messages from one new shopper at once, on PostgreSQL).
            // Theirs wins: drop the customer we just made, which nothing references yet.
            let owner: String = on_tx!(tx, |conn, pg| {
                sqlx::query_scalar(
                    "SELECT customer_id FROM customer_identities WHERE kind = $1 AND value = $2",
                )
                .bind(kind)
                .bind(&key)
                .fetch_one(conn)
                .await?
            });
            on_tx!(tx, |conn, pg| {
                sqlx::query("DELETE FROM customers WHERE id = $1")
                    .bind(&id)
                    .execute(conn)
                    .await?
                    .rows_affected()
            });
            return Ok(CustomerId::from_trusted(owner));
        }
    }
    Ok(CustomerId::from_trusted(id))
}

impl Store {
    /// Finds or creates the customer behind these handles.
    pub async fn resolve_customer(&self, who: &CustomerRef) -> Result<CustomerId, StoreError> {
        let mut tx = self.begin().await?;
        let id = resolve(&mut tx, who, At::now()).await?;
        tx.commit().await?;
        Ok(id)
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
        let mut identities = self.identities_of(&[row.id.clone()]).await?;
        Ok(row.into_customer(identities.remove(id.as_str()).unwrap_or_default()))
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
