//! The audit log (a hash chain, one writer at a time) and the outbox of messages to send.

use super::*;

pub(super) fn audit_from_row(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    let kind: String = row.try_get("kind").map_err(backend)?;
    Ok(AuditEvent {
        id: row.try_get("event_id").map_err(backend)?,
        at: row.try_get("at").map_err(backend)?,
        kind: AuditKind::parse(&kind).ok_or_else(|| corrupt("audit_log.kind"))?,
        user_id: row.try_get("user_id").map_err(backend)?,
        client_id: row.try_get("client_id").map_err(backend)?,
        actor: row.try_get("actor").map_err(backend)?,
        ip: row.try_get("ip").map_err(backend)?,
        user_agent: row.try_get("user_agent").map_err(backend)?,
        detail: row.try_get("detail").map_err(backend)?,
    })
}

pub(super) const NEWEST_AUDIT_ROW: &str =
    "SELECT id, chain FROM audit_log ORDER BY id DESC LIMIT 1";

/// An event already in the log (by its id) is not appended again.
pub(super) const APPEND_AUDIT_ROW: &str = "INSERT INTO audit_log
     (event_id, at, kind, user_id, client_id, actor, ip, user_agent, detail, chain)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (event_id) DO NOTHING";

/// The chain value a new audit row links to: the newest row's (id, chain), if any. Rows
/// from before the chain began link to where it starts after them.
pub(super) fn chain_before(newest: Option<(i64, Option<String>)>) -> String {
    match newest {
        Some((id, chain)) => chain.unwrap_or_else(|| idp_core::model::chain_start(Some(id))),
        None => idp_core::model::chain_start(None),
    }
}

/// PostgreSQL: takes the audit log's turn across nodes (a lock held to the end of the
/// transaction), waiting for it at most a second; should this node stall while it holds the
/// turn, the server ends the transaction after a few idle seconds (`POSTGRES_SETTINGS`), so
/// that no other node waits on it longer. An append that cannot take the turn in time is
/// refused (an outage: the event waits in the spool). The timeout is set in the same
/// statement, before the lock is taken (`OFFSET 0` keeps the subquery apart).
pub(super) const AUDIT_TURN: &str = "SELECT pg_advisory_xact_lock(7402221) FROM (
         SELECT set_config('lock_timeout', '1s', true) OFFSET 0) AS settings";

/// An audit row appended, linked to the newest one.
struct AuditAppend {
    row: Vec<Owned>,
    link: AuditLink,
}

impl HotWrite for AuditAppend {
    type Output = ();

    /// Cancelling a request must not keep its events out of the log.
    const IF_ABANDONED: IfAbandoned = IfAbandoned::Write;

    async fn steps<S: Statements>(&self, on: &mut S) -> Result<(), S::Error> {
        let newest = on.first(NEWEST_AUDIT_ROW, &[]).await?;
        let chain = (self.link)(&chain_before(newest));
        let mut args = Vec::with_capacity(self.row.len() + 1);
        args.extend(self.row.iter().map(Owned::arg));
        args.push(Arg::Text(&chain));
        on.execute(APPEND_AUDIT_ROW, &args).await.map(drop)
    }

    /// In a transaction of its own: one appender at a time across nodes, each seeing the
    /// newest row.
    async fn pooled(&self, store: &SqlStore) -> Result<(), StoreError> {
        let mut transaction = store.begin_writing().await?;
        if store.backend == Backend::Postgres {
            sqlx::query(AUDIT_TURN)
                .execute(&mut *transaction)
                .await
                .map_err(backend)?;
        }
        let mut on = OnPool::new(&mut transaction);
        self.steps(&mut on).await?;
        transaction.commit().await.map_err(backend)
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn record(&self, event: &AuditEvent, link: AuditLink) -> Result<(), StoreError> {
        // One appender at a time on this node (so that appends waiting for the lock below
        // hold one pooled connection, not all of them); SQLite's writes already take turns.
        let _turn = match self.backend {
            Backend::Postgres => Some(self.audit_turn.lock().await),
            Backend::Sqlite => None,
        };
        let row = [
            Arg::MaybeText(event.id.as_deref()),
            Arg::Int(event.at),
            Arg::Text(event.kind.as_str()),
            Arg::MaybeText(event.user_id.as_deref()),
            Arg::MaybeText(event.client_id.as_deref()),
            Arg::MaybeText(event.actor.as_deref()),
            Arg::MaybeText(event.ip.as_deref()),
            Arg::MaybeText(event.user_agent.as_deref()),
            Arg::Text(&event.detail),
        ];
        let append = AuditAppend {
            row: Owned::all(&row),
            link,
        };
        self.write_hot(append).await
    }

    async fn chain_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, AuditEvent, Option<String>)>, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("id").map_err(backend)?,
                    audit_from_row(row)?,
                    row.try_get("chain").map_err(backend)?,
                ))
            })
            .collect()
    }

    async fn query(&self, filter: &AuditFilter, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        let kind = filter.kind.map(AuditKind::as_str);
        let rows = sqlx::query(
            "SELECT * FROM audit_log
             WHERE ($1 IS NULL OR user_id = $2) AND ($3 IS NULL OR client_id = $4)
               AND ($5 IS NULL OR kind = $6) AND ($7 IS NULL OR at >= $8)
               AND ($9 IS NULL OR at <= $10)
             ORDER BY at DESC, id DESC LIMIT $11",
        )
        .bind(filter.user_id.as_deref())
        .bind(filter.user_id.as_deref())
        .bind(filter.client_id.as_deref())
        .bind(filter.client_id.as_deref())
        .bind(kind)
        .bind(kind)
        .bind(filter.from)
        .bind(filter.from)
        .bind(filter.until)
        .bind(filter.until)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn recent_for_user(
        &self,
        user_id: &str,
        kinds: &[AuditKind],
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        // `kind IN ($2, $3, ...)`, one parameter per kind; the SQL holds no input.
        let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 2)).collect();
        let kind_filter = if kinds.is_empty() {
            String::new()
        } else {
            format!("AND kind IN ({})", placeholders.join(", "))
        };
        let sql = format!(
            "SELECT * FROM audit_log WHERE user_id = $1 {kind_filter}
             ORDER BY at DESC, id DESC LIMIT ${}",
            kinds.len() + 2
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id);
        for kind in kinds {
            query = query.bind(kind.as_str());
        }
        let rows = query
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter().map(audit_from_row).collect()
    }
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn push(&self, message: &Message, at: UnixTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO outbox (at, channel, recipient, subject, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(at)
        .bind(message.channel.as_str())
        .bind(&message.recipient)
        .bind(&message.subject)
        .bind(&message.body)
        .run(self)
        .await
        .map(drop)
    }

    async fn list(&self) -> Result<Vec<(UnixTime, Message)>, StoreError> {
        let rows = sqlx::query("SELECT * FROM outbox ORDER BY id")
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let channel: String = row.try_get("channel").map_err(backend)?;
                Ok((
                    row.try_get("at").map_err(backend)?,
                    Message {
                        channel: Channel::parse(&channel)
                            .ok_or_else(|| corrupt("outbox.channel"))?,
                        recipient: row.try_get("recipient").map_err(backend)?,
                        subject: row.try_get("subject").map_err(backend)?,
                        body: row.try_get("body").map_err(backend)?,
                    },
                ))
            })
            .collect()
    }
}
