//! OAuth clients.

use super::*;

pub(super) fn client_from_row(row: &AnyRow) -> Result<Client, StoreError> {
    let redirect_uris: String = row.try_get("redirect_uris").map_err(backend)?;
    let method: String = row.try_get("token_endpoint_auth_method").map_err(backend)?;
    let alg: String = row
        .try_get("id_token_signed_response_alg")
        .map_err(backend)?;
    let metadata: String = row.try_get("metadata").map_err(backend)?;
    Ok(Client {
        id: row.try_get("id").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        secret_hash: row.try_get("secret_hash").map_err(backend)?,
        redirect_uris: serde_json::from_str(&redirect_uris)
            .map_err(|_| corrupt("clients.redirect_uris"))?,
        token_endpoint_auth_method: TokenEndpointAuthMethod::parse(&method)
            .ok_or_else(|| corrupt("clients.token_endpoint_auth_method"))?,
        id_token_signed_response_alg: SigningAlg::parse(&alg)
            .ok_or_else(|| corrupt("clients.id_token_signed_response_alg"))?,
        admin: flag(row, "admin")?,
        created_at: row.try_get("created_at").map_err(backend)?,
        metadata: serde_json::from_str(&metadata).map_err(|_| corrupt("clients.metadata"))?,
    })
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let redirect_uris =
            serde_json::to_string(&client.redirect_uris).map_err(StoreError::backend)?;
        sqlx::query(
            "INSERT INTO clients (id, name, secret_hash, redirect_uris, token_endpoint_auth_method,
                                  id_token_signed_response_alg, admin, created_at, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&client.id)
        .bind(&client.name)
        .bind(&client.secret_hash)
        .bind(redirect_uris)
        .bind(client.token_endpoint_auth_method.as_str())
        .bind(client.id_token_signed_response_alg.as_str())
        .bind(client.admin)
        .bind(client.created_at)
        .bind(serde_json::to_string(&client.metadata).map_err(StoreError::backend)?)
        .run(self)
        .await
        .map(drop)
    }

    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let row = sqlx::query("SELECT * FROM clients WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        // A disabled client is not found: nothing can authenticate as it or sign in to it.
        Ok(row
            .as_ref()
            .map(client_from_row)
            .transpose()?
            .filter(|client| !client.metadata.disabled))
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows = sqlx::query("SELECT * FROM clients ORDER BY created_at, id")
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter().map(client_from_row).collect()
    }

    async fn update_client(&self, client: &Client) -> Result<(), StoreError> {
        let redirect_uris =
            serde_json::to_string(&client.redirect_uris).map_err(StoreError::backend)?;
        sqlx::query(
            "UPDATE clients SET name = $1, secret_hash = $2, redirect_uris = $3,
                        token_endpoint_auth_method = $4, id_token_signed_response_alg = $5,
                        admin = $6, metadata = $7
                 WHERE id = $8",
        )
        .bind(&client.name)
        .bind(&client.secret_hash)
        .bind(redirect_uris)
        .bind(client.token_endpoint_auth_method.as_str())
        .bind(client.id_token_signed_response_alg.as_str())
        .bind(client.admin)
        .bind(serde_json::to_string(&client.metadata).map_err(StoreError::backend)?)
        .bind(&client.id)
        .run_one(self)
        .await
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let affected = sqlx::query("DELETE FROM clients WHERE id = $1")
            .bind(id)
            .run(self)
            .await?;
        Ok(affected > 0)
    }

    async fn create_initial_access_token(
        &self,
        id_hash: &str,
        uses: u32,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO initial_access_tokens (id_hash, uses_left, expires_at, created_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id_hash)
        .bind(i64::from(uses))
        .bind(expires_at)
        .bind(now)
        .run(self)
        .await
        .map(drop)
    }

    async fn initial_access_token_uses(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> Result<u32, StoreError> {
        let left: Option<i64> = sqlx::query_scalar(
            "SELECT uses_left FROM initial_access_tokens WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(backend)?;
        Ok(left.map_or(0, |n| u32::try_from(n.max(0)).unwrap_or(u32::MAX)))
    }

    async fn spend_initial_access_token(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        // One statement with its guard: concurrent spenders are ordered by the row's lock,
        // and the last use goes to exactly one of them.
        let spent = sqlx::query(
            "UPDATE initial_access_tokens SET uses_left = uses_left - 1
             WHERE id_hash = $1 AND uses_left > 0 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .run(self)
        .await?;
        Ok(spent == 1)
    }
}
