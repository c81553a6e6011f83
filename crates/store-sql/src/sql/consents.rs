//! What each person agreed each client may have.

use super::*;

#[async_trait]
impl ConsentStore for SqlStore {
    async fn consented_scopes(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let scopes: Option<String> =
            sqlx::query_scalar("SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2")
                .bind(user_id)
                .bind(client_id)
                .fetch_optional(self.pool())
                .await
                .map_err(backend)?;
        scopes
            .map(|s| serde_json::from_str(&s).map_err(|_| corrupt("consents.scopes")))
            .transpose()
    }

    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut all = self
            .consented_scopes(user_id, client_id)
            .await?
            .unwrap_or_default();
        for scope in scopes {
            if !all.contains(scope) {
                all.push(scope.clone());
            }
        }
        sqlx::query(
            "INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes,
                 granted_at = excluded.granted_at",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(serde_json::to_string(&all).map_err(StoreError::backend)?)
        .bind(now)
        .run(self)
        .await
        .map(drop)
    }

    async fn list_consents(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, Vec<String>, UnixTime)>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM consents WHERE user_id = $1 ORDER BY granted_at DESC, client_id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let scopes: String = row.try_get("scopes").map_err(backend)?;
                Ok((
                    row.try_get("client_id").map_err(backend)?,
                    serde_json::from_str(&scopes).map_err(|_| corrupt("consents.scopes"))?,
                    row.try_get("granted_at").map_err(backend)?,
                ))
            })
            .collect()
    }

    async fn withdraw_consent(&self, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
        let affected = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .run(self)
            .await?;
        Ok(affected > 0)
    }
}
