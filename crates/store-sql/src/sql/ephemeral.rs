//! Short-lived and single-use records.

use super::*;

#[async_trait]
impl EphemeralStore for SqlStore {
    async fn put(
        &self,
        kind: EphemeralKind,
        id: &str,
        payload: &serde_json::Value,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let payload = payload.to_string();
        let row = put_args(kind, id, &payload, expires_at);
        self.write_one(PUT_EPHEMERAL, &row).await.map(drop)
    }

    async fn get(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let args = [Arg::Text(kind.as_str()), Arg::Text(id), Arg::Int(now)];
        let payload: Option<String> = self.hot_value(GET_EPHEMERAL, &args).await?;
        payload.map(parse_ephemeral).transpose()
    }

    async fn consume(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Consumed, StoreError> {
        let spend = spend_args(kind, id, now);
        let fresh = self.write_returning(SPEND_EPHEMERAL, &spend).await?;
        self.spent(kind, id, fresh.map(|(payload,)| payload)).await
    }

    /// One insert that only the first caller's lands (the primary key decides); the record is
    /// born used, and stays until it is purged.
    async fn first_use(
        &self,
        kind: EphemeralKind,
        id: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let args = [
            Arg::Text(kind.as_str()),
            Arg::Text(id),
            Arg::Int(expires_at),
            Arg::Int(now),
        ];
        Ok(self.write_one(FIRST_USE, &args).await? == 1)
    }

    async fn delete(&self, kind: EphemeralKind, id: &str) -> Result<(), StoreError> {
        self.write_one(
            "DELETE FROM ephemeral WHERE kind = $1 AND id = $2",
            &[Arg::Text(kind.as_str()), Arg::Text(id)],
        )
        .await
        .map(drop)
    }

    async fn live_ids(
        &self,
        kind: EphemeralKind,
        now: UnixTime,
        limit: usize,
    ) -> Result<Option<Vec<(String, UnixTime)>>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT id, expires_at FROM ephemeral
             WHERE kind = $1 AND expires_at > $2 AND consumed_at IS NULL LIMIT $3",
        )
        .bind(kind.as_str())
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        Ok((rows.len() <= limit).then_some(rows))
    }

    async fn purge_expired(&self, before: UnixTime) -> Result<u64, StoreError> {
        let records = sqlx::query("DELETE FROM ephemeral WHERE expires_at < $1")
            .bind(before)
            .run(self)
            .await?;
        // Initial access tokens live with the clients, and expire alike.
        let tokens = sqlx::query("DELETE FROM initial_access_tokens WHERE expires_at < $1")
            .bind(before)
            .run(self)
            .await?;
        Ok(records + tokens)
    }
}
