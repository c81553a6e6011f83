//! Signing keys and the fingerprints of the secrets that seal them.

use super::*;

#[async_trait]
impl KeyStore for SqlStore {
    async fn update_signing_key(
        &self,
        kid: &str,
        state: KeyState,
        activate_at: Option<UnixTime>,
        remove_after: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE signing_keys SET state = $1, activate_at = $2, remove_after = $3 WHERE kid = $4")
                .bind(state.as_str())
                .bind(activate_at)
                .bind(remove_after)
                .bind(kid)
        .run_one(self)
        .await
    }

    async fn replace_sealed_keys(
        &self,
        sealed: &[(String, Vec<u8>)],
        master_fingerprint: &str,
    ) -> Result<(), StoreError> {
        self.write(self.replace_sealed_keys_now(sealed, master_fingerprint))
            .await
    }

    async fn recorded_fingerprint(&self, name: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT fingerprint FROM key_fingerprints WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)
    }

    async fn record_fingerprint(
        &self,
        name: &str,
        fingerprint: &str,
    ) -> Result<String, StoreError> {
        // The first node to start records its keys; every later one compares with them.
        sqlx::query(
            "INSERT INTO key_fingerprints (name, fingerprint) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fingerprint)
        .run(self)
        .await?;
        sqlx::query_scalar("SELECT fingerprint FROM key_fingerprints WHERE name = $1")
            .bind(name)
            .fetch_one(self.pool())
            .await
            .map_err(backend)
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        let affected = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .run(self)
            .await?;
        Ok(affected > 0)
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, kid")
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let alg: String = row.try_get("alg").map_err(backend)?;
                let state: String = row.try_get("state").map_err(backend)?;
                Ok(SigningKeyRecord {
                    kid: row.try_get("kid").map_err(backend)?,
                    alg: SigningAlg::parse(&alg).ok_or_else(|| corrupt("signing_keys.alg"))?,
                    sealed_private_key: row.try_get("sealed_private_key").map_err(backend)?,
                    state: KeyState::parse(&state).ok_or_else(|| corrupt("signing_keys.state"))?,
                    created_at: row.try_get("created_at").map_err(backend)?,
                    activate_at: row.try_get("activate_at").map_err(backend)?,
                    remove_after: row.try_get("remove_after").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_private_key, state, created_at, activate_at, remove_after)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.kid)
        .bind(key.alg.as_str())
        .bind(&key.sealed_private_key)
        .bind(key.state.as_str())
        .bind(key.created_at)
        .bind(key.activate_at)
        .bind(key.remove_after)
        .run(self)
        .await
        .map(drop)
    }
}
