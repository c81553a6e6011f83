//! One-time codes and their tries.

use super::*;

pub(super) fn code_from_row(row: &AnyRow) -> Result<OneTimeCode, StoreError> {
    let data: String = row.try_get("data").map_err(backend)?;
    Ok(OneTimeCode {
        hash: row.try_get("hash").map_err(backend)?,
        expires_at: row.try_get("expires_at").map_err(backend)?,
        tries_left: count(row, "tries_left")?,
        data: serde_json::from_str(&data).map_err(|_| corrupt("one_time_codes.data"))?,
    })
}

#[async_trait]
impl CodeStore for SqlStore {
    async fn put_code(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        code: &OneTimeCode,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO one_time_codes (purpose, user_id, hash, expires_at, tries_left, data)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (purpose, user_id) DO UPDATE SET hash = excluded.hash,
                 expires_at = excluded.expires_at, tries_left = excluded.tries_left,
                 data = excluded.data",
        )
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(&code.hash)
        .bind(code.expires_at)
        .bind(i64::from(code.tries_left))
        .bind(code.data.to_string())
        .run(self)
        .await
        .map(drop)
    }

    async fn peek_code(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Option<OneTimeCode>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM one_time_codes WHERE purpose = $1 AND user_id = $2 AND expires_at > $3",
        )
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(backend)?;
        row.as_ref().map(code_from_row).transpose()
    }

    async fn take_code_try(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Option<OneTimeCode>, StoreError> {
        // One statement: no two requests take the same try.
        let row = self
            .write(async {
                sqlx::query(
                    "UPDATE one_time_codes SET tries_left = tries_left - 1
                     WHERE purpose = $1 AND user_id = $2 AND expires_at > $3 AND tries_left > 0
                     RETURNING *",
                )
                .bind(purpose.as_str())
                .bind(user_id)
                .bind(now)
                .fetch_optional(self.pool())
                .await
                .map_err(backend)
            })
            .await?;
        row.as_ref().map(code_from_row).transpose()
    }

    async fn consume_code(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let affected = sqlx::query(
            "DELETE FROM one_time_codes WHERE purpose = $1 AND user_id = $2 AND hash = $3",
        )
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(hash)
        .run(self)
        .await?;
        Ok(affected == 1)
    }

    async fn take_code_failure(&self, user_id: &str, max: u32) -> Result<Option<u32>, StoreError> {
        // One statement, as for PIN tries: no two requests take the same count.
        let taken: Option<i64> = self
            .write(async {
                sqlx::query_scalar(
                    "UPDATE users SET code_failures = code_failures + 1
                     WHERE id = $1 AND code_failures < $2 RETURNING code_failures",
                )
                .bind(user_id)
                .bind(i64::from(max))
                .fetch_optional(self.pool())
                .await
                .map_err(backend)
            })
            .await?;
        taken
            .map(|n| u32::try_from(n).map_err(|_| corrupt("users.code_failures")))
            .transpose()
    }

    async fn reset_code_failures(&self, user_id: &str) -> Result<(), StoreError> {
        self.write_one(
            "UPDATE users SET code_failures = 0 WHERE id = $1",
            &[Arg::Text(user_id)],
        )
        .await
        .map(drop)
    }
}
