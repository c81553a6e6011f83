//! Second factors and saved recovery codes.

use super::*;

fn factor_from_row(row: &AnyRow) -> Result<Factor, StoreError> {
    let kind: String = row.try_get("kind").map_err(backend)?;
    Ok(Factor {
        id: row.try_get("id").map_err(backend)?,
        user_id: row.try_get("user_id").map_err(backend)?,
        kind: FactorKind::parse(&kind).ok_or_else(|| corrupt("factors.kind"))?,
        name: row.try_get("name").map_err(backend)?,
        secret: row.try_get("secret").map_err(backend)?,
        credential_id: row.try_get("credential_id").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        last_used_at: row.try_get("last_used_at").map_err(backend)?,
        last_step: row.try_get("last_step").map_err(backend)?,
    })
}

impl SqlStore {
    /// `FactorStore::replace_recovery_codes`, in one transaction.
    async fn replace_recovery_codes_now(
        &self,
        user_id: &str,
        hashes: &[String],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin_writing().await?;
        // Two replacements at once must not leave both sets: on PostgreSQL the second waits
        // here for the first to commit, then deletes what it inserted. (SQLite's writes take
        // turns already.)
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE")
                .bind(user_id)
                .execute(&mut *transaction)
                .await
                .map_err(backend)?;
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *transaction)
            .await
            .map_err(backend)?;
        for hash in hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
            )
            .bind(user_id)
            .bind(hash)
            .bind(now)
            .execute(&mut *transaction)
            .await
            .map_err(backend)?;
        }
        transaction.commit().await.map_err(backend)
    }
}

#[async_trait]
impl FactorStore for SqlStore {
    async fn add_factor(&self, factor: &Factor) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO factors (id, user_id, kind, name, secret, credential_id, created_at,
                                  last_used_at, last_step)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&factor.id)
        .bind(&factor.user_id)
        .bind(factor.kind.as_str())
        .bind(&factor.name)
        .bind(&factor.secret)
        .bind(&factor.credential_id)
        .bind(factor.created_at)
        .bind(factor.last_used_at)
        .bind(factor.last_step)
        .run(self)
        .await
        .map(drop)
    }

    async fn list_factors(&self, user_id: &str) -> Result<Vec<Factor>, StoreError> {
        let rows = sqlx::query("SELECT * FROM factors WHERE user_id = $1 ORDER BY created_at, id")
            .bind(user_id)
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter().map(factor_from_row).collect()
    }

    async fn find_passkey(&self, credential_id: &str) -> Result<Option<Factor>, StoreError> {
        let row = sqlx::query("SELECT * FROM factors WHERE credential_id = $1 AND kind = $2")
            .bind(credential_id)
            .bind(FactorKind::Passkey.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        row.as_ref().map(factor_from_row).transpose()
    }

    async fn rename_factor(&self, user_id: &str, id: &str, name: &str) -> Result<bool, StoreError> {
        let renamed = sqlx::query("UPDATE factors SET name = $1 WHERE user_id = $2 AND id = $3")
            .bind(name)
            .bind(user_id)
            .bind(id)
            .run(self)
            .await?;
        Ok(renamed == 1)
    }

    async fn remove_factor(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let removed = sqlx::query("DELETE FROM factors WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(id)
            .run(self)
            .await?;
        Ok(removed == 1)
    }

    async fn record_factor_use(
        &self,
        user_id: &str,
        id: &str,
        now: UnixTime,
        step: Option<i64>,
        secret: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        // One statement, the step compared and stored together: of two requests with the same
        // code, one changes the row and the other finds the step taken.
        let used = sqlx::query(
            "UPDATE factors SET last_used_at = $1, last_step = COALESCE($2, last_step),
                 secret = COALESCE($3, secret)
             WHERE user_id = $4 AND id = $5 AND ($2 IS NULL OR last_step < $2)",
        )
        .bind(now)
        .bind(step)
        .bind(secret)
        .bind(user_id)
        .bind(id)
        .run(self)
        .await?;
        Ok(used == 1)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.write(self.replace_recovery_codes_now(user_id, hashes, now))
            .await
    }

    async fn use_recovery_code(
        &self,
        user_id: &str,
        hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        // One statement: a code is used by the one request that changes its row.
        let used = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(hash)
        .run(self)
        .await?;
        Ok(used == 1)
    }

    async fn recovery_codes_left(
        &self,
        user_id: &str,
    ) -> Result<(usize, Option<UnixTime>), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(CASE WHEN used_at IS NULL THEN 1 END) AS unused,
                    MAX(created_at) AS made_at
             FROM recovery_codes WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await
        .map_err(backend)?;
        let unused: i64 = row.try_get("unused").map_err(backend)?;
        let made_at: Option<i64> = row.try_get("made_at").map_err(backend)?;
        let unused = usize::try_from(unused).map_err(|_| corrupt("recovery_codes"))?;
        Ok((unused, made_at))
    }
}
