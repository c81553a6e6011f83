//! Single sign-on sessions (the embedded default; Redis holds them where configured).

use super::*;

pub(super) fn session_from_row(row: &AnyRow) -> Result<Session, StoreError> {
    let amr: String = row.try_get("amr").map_err(backend)?;
    Ok(Session {
        id_hash: row.try_get("id_hash").map_err(backend)?,
        sid: row.try_get("sid").map_err(backend)?,
        user_id: row.try_get("user_id").map_err(backend)?,
        auth_time: row.try_get("auth_time").map_err(backend)?,
        acr: row.try_get("acr").map_err(backend)?,
        amr: serde_json::from_str(&amr).map_err(|_| corrupt("sessions.amr"))?,
        created_at: row.try_get("created_at").map_err(backend)?,
        expires_at: row.try_get("expires_at").map_err(backend)?,
        credential_epoch: row.try_get("credential_epoch").map_err(backend)?,
        ip: row.try_get("ip").map_err(backend)?,
        user_agent: row.try_get("user_agent").map_err(backend)?,
    })
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let amr = serde_json::to_string(&session.amr).map_err(StoreError::backend)?;
        self.write_one(
            "INSERT INTO sessions (id_hash, sid, user_id, auth_time, acr, amr, created_at, expires_at,
                                   ip, user_agent, credential_epoch)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                Arg::Text(&session.id_hash),
                Arg::Text(&session.sid),
                Arg::Text(&session.user_id),
                Arg::Int(session.auth_time),
                Arg::Text(&session.acr),
                Arg::Text(&amr),
                Arg::Int(session.created_at),
                Arg::Int(session.expires_at),
                Arg::MaybeText(session.ip.as_deref()),
                Arg::MaybeText(session.user_agent.as_deref()),
                Arg::Int(session.credential_epoch),
            ],
        )
        .await
        .map(drop)
    }

    async fn restamp_session(
        &self,
        id_hash: &str,
        credential_epoch: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET credential_epoch = $1 WHERE id_hash = $2")
            .bind(credential_epoch)
            .bind(id_hash)
            .run(self)
            .await
            .map(drop)
    }

    async fn find_session(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> Result<Option<Session>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT * FROM sessions WHERE id_hash = $1 AND expires_at > $2")
                .bind(id_hash)
                .bind(now)
                .fetch_optional(self.pool())
                .await
                .map_err(backend)?
        else {
            return Ok(None);
        };
        session_from_row(&row).map(Some)
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .run(self)
            .await
            .map(drop)
    }

    async fn list_sessions(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Vec<Session>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, sid",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter().map(session_from_row).collect()
    }

    async fn purge_expired_sessions(&self, before: UnixTime) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(before)
            .run(self)
            .await
    }
}
