//! Devices a person trusts.

use super::*;

#[async_trait]
impl DeviceStore for SqlStore {
    async fn trust_device(&self, device: &Device) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO devices (id_hash, user_id, id, created_at, last_seen_at, ip, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id_hash, user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at,
                 ip = excluded.ip, user_agent = excluded.user_agent",
        )
        .bind(&device.id_hash)
        .bind(&device.user_id)
        .bind(&device.id)
        .bind(device.created_at)
        .bind(device.last_seen_at)
        .bind(&device.ip)
        .bind(&device.user_agent)
        .run(self)
        .await
        .map(drop)
    }

    async fn device_is_trusted(
        &self,
        id_hash: &str,
        user_id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let seen = sqlx::query(
            "UPDATE devices SET last_seen_at = $1
                 WHERE id_hash = $2 AND user_id = $3 AND last_seen_at >= $4",
        )
        .bind(now)
        .bind(id_hash)
        .bind(user_id)
        .bind(now - idp_core::model::DEVICE_TRUST_SECS)
        .run(self)
        .await?;
        Ok(seen > 0)
    }

    async fn list_devices(&self, user_id: &str) -> Result<Vec<Device>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM devices WHERE user_id = $1 ORDER BY last_seen_at DESC, id")
                .bind(user_id)
                .fetch_all(self.pool())
                .await
                .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(Device {
                    id: row.try_get("id").map_err(backend)?,
                    id_hash: row.try_get("id_hash").map_err(backend)?,
                    user_id: row.try_get("user_id").map_err(backend)?,
                    created_at: row.try_get("created_at").map_err(backend)?,
                    last_seen_at: row.try_get("last_seen_at").map_err(backend)?,
                    ip: row.try_get("ip").map_err(backend)?,
                    user_agent: row.try_get("user_agent").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn forget_devices_of_user(
        &self,
        user_id: &str,
        keep_id_hash: Option<&str>,
    ) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM devices WHERE user_id = $1 AND id_hash <> $2")
            .bind(user_id)
            .bind(keep_id_hash.unwrap_or_default())
            .run(self)
            .await
    }

    async fn forget_device(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let affected = sqlx::query("DELETE FROM devices WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(id)
            .run(self)
            .await?;
        Ok(affected > 0)
    }
}
