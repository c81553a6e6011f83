//! Grants, and refresh-token rotation: checked, one successor, never past a revocation.

use super::*;

/// A rotation's statements (see `GrantStore::rotate`): the record, live, spent or expired; the
/// grant it belongs to, active, of its user, who is not disabled; spending it. PostgreSQL locks
/// the record and the grant for the transaction, so that a second rotation of the record waits
/// and finds it spent, and a revocation waits or is seen; on SQLite the writers take turns.
macro_rules! rotation_read {
    () => {
        "SELECT payload, consumed_at, expires_at FROM ephemeral WHERE kind = $1 AND id = $2"
    };
}

macro_rules! grant_active {
    () => {
        "SELECT 1 FROM grants g JOIN users u ON u.id = g.user_id
         WHERE g.id = $1 AND g.user_id = $2 AND g.revoked_at IS NULL AND u.disabled_at IS NULL"
    };
}

pub(super) const ROTATION_READ: [&str; 2] =
    [rotation_read!(), concat!(rotation_read!(), " FOR UPDATE")];

pub(super) const GRANT_ACTIVE: [&str; 2] =
    [grant_active!(), concat!(grant_active!(), " FOR SHARE")];

pub(super) const SPEND_LIVE: &str =
    "UPDATE ephemeral SET consumed_at = $1 WHERE kind = $2 AND id = $3 AND consumed_at IS NULL";

/// A rotation under way: what it rotates into, and its check, run by whichever driver runs it
/// (the calling thread's connection, or sqlx's when another process holds the database).
pub(super) struct Rotation {
    kind: EphemeralKind,
    id: String,
    now: UnixTime,
    next: (String, UnixTime),
    check: RotationCheck,
}

/// What a rotation found: its outcome, or a replayed record's payload as stored (parsed
/// once the transaction is over).
pub(super) enum Found {
    Settled(Rotated),
    Replayed(String),
}

/// The row a rotation read: payload, when it was spent, when it expires.
pub(super) type RotationRow = (String, Option<i64>, i64);

impl Rotation {
    /// What the row read comes to: an outcome already, or the grant to check and the payload
    /// to store again.
    pub(super) fn judge(&self, row: Option<RotationRow>) -> Result<(GrantOwner, String), Found> {
        match row {
            None => Err(Found::Settled(Rotated::Missing)),
            Some((payload, Some(_), _)) => Err(Found::Replayed(payload)),
            Some((_, None, expires_at)) if expires_at <= self.now => {
                Err(Found::Settled(Rotated::Missing))
            }
            Some((payload, None, _)) => match (self.check)(&payload) {
                Some(owner) => Ok((owner, payload)),
                None => Err(Found::Settled(Rotated::Refused(payload))),
            },
        }
    }

    /// On a calling thread's connection, in a batch's transaction (see `SqlStore::write_hot`).
    pub(super) fn run_direct(&self, c: &rusqlite::Connection) -> rusqlite::Result<Found> {
        use rusqlite::OptionalExtension as _;
        let kind = self.kind.as_str();
        let row = c
            .prepare_cached(ROTATION_READ[0])?
            .query_row((kind, &self.id), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let (owner, payload) = match self.judge(row) {
            Ok(go) => go,
            Err(found) => return Ok(found),
        };
        let owner = [&owner.grant_id, &owner.user_id];
        if row_direct::<i64>(c, GRANT_ACTIVE[0], &owner)?.is_none() {
            return Ok(Found::Settled(Rotated::Inactive));
        }
        let spent = c
            .prepare_cached(SPEND_LIVE)?
            .execute((self.now, kind, &self.id))?;
        if spent != 1 {
            return Ok(Found::Replayed(payload));
        }
        let (next, expires_at) = (&self.next.0, self.next.1);
        let successor = put_args(self.kind, next, &payload, expires_at);
        execute_direct(c, PUT_EPHEMERAL, &successor)?;
        Ok(Found::Settled(Rotated::Done(payload)))
    }

    /// Through sqlx, in a transaction of its own.
    pub(super) async fn run_pooled(&self, store: &SqlStore) -> Result<Found, StoreError> {
        let postgres = store.backend == Backend::Postgres;
        let locking = usize::from(postgres);
        let mut transaction = store.begin_writing().await?;
        if postgres {
            // The locks above decide between rotations and revocations at this level (a
            // stricter one, set as the server's default, would fail the loser instead).
            sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                .execute(&mut *transaction)
                .await
                .map_err(backend)?;
        }
        let found = self.steps_pooled(&mut transaction, locking).await?;
        transaction.commit().await.map_err(backend)?;
        Ok(found)
    }

    /// `run_direct`'s steps through sqlx, in `transaction`; `locking` picks the statements
    /// that lock the rows they read (PostgreSQL).
    pub(super) async fn steps_pooled(
        &self,
        transaction: &mut sqlx::Transaction<'static, sqlx::Any>,
        locking: usize,
    ) -> Result<Found, StoreError> {
        let kind = self.kind.as_str();
        let row = pooled(
            ROTATION_READ[locking],
            &[Arg::Text(kind), Arg::Text(&self.id)],
        )
        .fetch_optional(&mut **transaction)
        .await
        .map_err(backend)?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()
        .map_err(backend)?;
        let (owner, payload) = match self.judge(row) {
            Ok(go) => go,
            Err(found) => return Ok(found),
        };
        let owner = [Arg::Text(&owner.grant_id), Arg::Text(&owner.user_id)];
        let active = GRANT_ACTIVE[locking];
        if row_pooled::<i64>(&mut **transaction, active, &owner)
            .await?
            .is_none()
        {
            return Ok(Found::Settled(Rotated::Inactive));
        }
        let spend = [Arg::Int(self.now), Arg::Text(kind), Arg::Text(&self.id)];
        let spent = pooled(SPEND_LIVE, &spend)
            .execute(&mut **transaction)
            .await
            .map_err(backend)?;
        if spent.rows_affected() != 1 {
            return Ok(Found::Replayed(payload));
        }
        let (next, expires_at) = (&self.next.0, self.next.1);
        let successor = put_args(self.kind, next, &payload, expires_at);
        execute_pooled(&mut **transaction, PUT_EPHEMERAL, &successor).await?;
        Ok(Found::Settled(Rotated::Done(payload)))
    }
}

#[async_trait]
impl GrantStore for SqlStore {
    async fn create_grant(&self, grant: &Grant) -> Result<(), StoreError> {
        self.write_one(
            "INSERT INTO grants (id, user_id, client_id, created_at, revoked_at, sid)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Arg::Text(&grant.id),
                Arg::Text(&grant.user_id),
                Arg::Text(&grant.client_id),
                Arg::Int(grant.created_at),
                Arg::MaybeInt(grant.revoked_at),
                Arg::MaybeText(grant.sid.as_deref()),
            ],
        )
        .await
        .map(drop)
    }

    async fn revoke_grant(&self, id: &str, now: UnixTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .run(self)
            .await
            .map(drop)
    }

    async fn revoke_grants_of(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .bind(client_id)
            .run(self)
            .await
            .map(drop)
    }

    async fn move_session_grants(&self, from_sid: &str, to_sid: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET sid = $1 WHERE sid = $2")
            .bind(to_sid)
            .bind(from_sid)
            .run(self)
            .await
            .map(drop)
    }

    async fn revoke_grants_of_client(
        &self,
        client_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(client_id)
            .run(self)
            .await
            .map(drop)
    }

    async fn revoke_all_grants_of_user(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .run(self)
            .await
            .map(drop)
    }

    async fn clients_of_session(&self, sid: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT DISTINCT client_id FROM grants WHERE sid = $1 ORDER BY client_id",
        )
        .bind(sid)
        .fetch_all(self.pool())
        .await
        .map_err(backend)
    }

    async fn grant_is_active(&self, id: &str) -> Result<bool, StoreError> {
        const ACTIVE: &str = "SELECT 1 FROM grants WHERE id = $1 AND revoked_at IS NULL";
        Ok(self
            .hot_row::<i64>(ACTIVE, &[Arg::Text(id)])
            .await?
            .is_some())
    }

    async fn rotate(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
        next: (&str, UnixTime),
        check: RotationCheck,
    ) -> Result<Rotated, StoreError> {
        let (rotated, durable) = self.rotate_early(kind, id, now, next, check).await?;
        durable.await?;
        Ok(rotated)
    }
}

#[async_trait]
impl EarlyRotation for SqlStore {
    async fn rotate_early(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
        next: (&str, UnixTime),
        check: RotationCheck,
    ) -> Result<(Rotated, Durable), StoreError> {
        let rotation = Arc::new(Rotation {
            kind,
            id: id.to_owned(),
            now,
            next: (next.0.to_owned(), next.1),
            check,
        });
        let fast = rotation.clone();
        let (found, durable) = self
            .write_hot_early(
                IfAbandoned::Skip,
                move |c| fast.run_direct(c),
                rotation.run_pooled(self),
            )
            .await?;
        let rotated = match found {
            Found::Settled(rotated) => rotated,
            Found::Replayed(payload) => match parse_ephemeral(payload) {
                Ok(payload) => Rotated::Replayed(payload),
                Err(error) => {
                    durable.await?;
                    return Err(error);
                }
            },
        };
        Ok((rotated, durable))
    }
}
