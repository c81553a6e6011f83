//! Grants, and refresh-token rotation: checked, one successor, never past a revocation.

use super::*;

/// A rotation's statements (see `GrantStore::rotate`): the record, live, spent or expired; the
/// grant it belongs to, active, of its user, who is not disabled; spending it. In a transaction
/// that locks the record and the grant, a second rotation of the record waits and finds it
/// spent, and a revocation waits or is seen; on SQLite the writers take turns. PostgreSQL
/// first tries the rotation in two statements and no transaction (see `ROTATE_CHECKED`).
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

/// PostgreSQL: the rest of a rotation in one statement, once the record has been read (not
/// locked) and its payload checked. It spends the record only while it is live, unspent and
/// holds the payload checked ($6), and only while the grant is active and its user not
/// disabled; then stores that payload under the new id ($7, expiring at $8). The grant's and
/// the user's rows are locked to its end: a revocation under way is waited for, and then
/// seen; one that comes meanwhile waits for the rotation. A second rotation of the record
/// waits for the first to end, and then finds the record spent. It inserts the successor (one
/// row) or changes nothing.
pub(super) const ROTATE_CHECKED: &str = concat!(
    "WITH active AS (",
    grant_active!(),
    " FOR SHARE),
     spent AS (
         UPDATE ephemeral SET consumed_at = $3
         WHERE kind = $4 AND id = $5 AND consumed_at IS NULL AND expires_at > $3
           AND payload = $6 AND EXISTS (SELECT 1 FROM active)
         RETURNING payload
     )
     INSERT INTO ephemeral (kind, id, payload, expires_at)
     SELECT $4, $7, payload, $8 FROM spent
     ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at"
);

/// PostgreSQL: a whole rotation in one statement, for a record whose check is known to pass
/// (`RotationCheck::judged`, grant $1): it spends the record only while it is live and unspent
/// and its grant active and the grant's user not disabled, and stores its payload under the
/// new id ($5, expiring at $6), answering that payload. The rows are locked as in
/// `ROTATE_CHECKED`; it inserts the successor or changes nothing.
pub(super) const ROTATE_JUDGED: &str = "WITH active AS (
         SELECT 1 FROM grants g JOIN users u ON u.id = g.user_id
         WHERE g.id = $1 AND g.revoked_at IS NULL AND u.disabled_at IS NULL FOR SHARE),
     spent AS (
         UPDATE ephemeral SET consumed_at = $2
         WHERE kind = $3 AND id = $4 AND consumed_at IS NULL AND expires_at > $2
           AND EXISTS (SELECT 1 FROM active)
         RETURNING payload
     )
     INSERT INTO ephemeral (kind, id, payload, expires_at)
     SELECT $3, $5, payload, $6 FROM spent
     ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at
     RETURNING payload";

/// A rotation under way: what it rotates into, and its check; its steps run on either driver
/// (the calling thread's connection in a batch, or sqlx's in a transaction of its own, which
/// PostgreSQL needs only when its two statements did not settle it).
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
            Some((payload, None, _)) => match (self.check.judge)(&payload) {
                Some(owner) => Ok((owner, payload)),
                None => Err(Found::Settled(Rotated::Refused(payload))),
            },
        }
    }
}

impl HotWrite for Rotation {
    type Output = Found;

    async fn steps<S: Statements>(&self, on: &mut S) -> Result<Found, S::Error> {
        let (kind, locking) = (self.kind.as_str(), on.locking());
        let record = [Arg::Text(kind), Arg::Text(&self.id)];
        let row = on.first(ROTATION_READ[locking], &record).await?;
        let (owner, payload) = match self.judge(row) {
            Ok(go) => go,
            Err(found) => return Ok(found),
        };
        let owner = [Arg::Text(&owner.grant_id), Arg::Text(&owner.user_id)];
        let active = on.first::<(i64,)>(GRANT_ACTIVE[locking], &owner).await?;
        if active.is_none() {
            return Ok(Found::Settled(Rotated::Inactive));
        }
        let spend = [Arg::Int(self.now), Arg::Text(kind), Arg::Text(&self.id)];
        if on.execute(SPEND_LIVE, &spend).await? != 1 {
            return Ok(Found::Replayed(payload));
        }
        let (next, expires_at) = (&self.next.0, self.next.1);
        let successor = put_args(self.kind, next, &payload, expires_at);
        on.execute(PUT_EPHEMERAL, &successor).await?;
        Ok(Found::Settled(Rotated::Done(payload)))
    }

    /// Through sqlx: on PostgreSQL in two statements when nothing stands in the way (see
    /// `checked_then_written`), else in a transaction of its own.
    async fn pooled(&self, store: &SqlStore) -> Result<Found, StoreError> {
        if store.backend == Backend::Postgres
            && let Some(found) = self.checked_then_written(store).await?
        {
            return Ok(found);
        }
        let mut transaction = store.begin_writing().await?;
        let found = match store.backend {
            Backend::Postgres => {
                let mut on = OnPool::locking_reads(&mut transaction);
                self.steps(&mut on).await?
            }
            Backend::Sqlite => {
                let mut on = OnPool::new(&mut transaction);
                self.steps(&mut on).await?
            }
        };
        transaction.commit().await.map_err(backend)?;
        Ok(found)
    }
}

impl Rotation {
    /// PostgreSQL: a record whose check is known to pass is rotated in one statement
    /// (`ROTATE_JUDGED`). Any other, or one that statement did not rotate, is read, unlocked,
    /// and judged; a live record its check accepts is rotated in one more statement
    /// (`ROTATE_CHECKED`); each commits by itself. `None`
    /// when that statement changed nothing: the record was spent, changed or dropped meanwhile,
    /// or its grant is not active. Which of these it was is then learnt in a transaction (a
    /// rare path), where the rotation starts over. Each outcome is durable when returned: the
    /// read sees only what was committed, and the statement commits before it answers.
    async fn checked_then_written(&self, store: &SqlStore) -> Result<Option<Found>, StoreError> {
        let mut connection = store.pool().acquire().await.map_err(backend)?;
        let mut on = OnPool::new(&mut connection);
        let kind = self.kind.as_str();
        let (next, expires_at) = (&self.next.0, self.next.1);
        if let Some(grant_id) = &self.check.judged {
            let rotate = [
                Arg::Text(grant_id),
                Arg::Int(self.now),
                Arg::Text(kind),
                Arg::Text(&self.id),
                Arg::Text(next),
                Arg::Int(expires_at),
            ];
            if let Some((payload,)) = on.first::<(String,)>(ROTATE_JUDGED, &rotate).await? {
                return Ok(Some(Found::Settled(Rotated::Done(payload))));
            }
            // Nothing changed: the record is not live (unknown, expired, spent), or its grant
            // not active, or a rotation of it is under way. The read below settles the first
            // without a transaction, as for any record.
        }
        let record = [Arg::Text(kind), Arg::Text(&self.id)];
        let row = on.first(ROTATION_READ[0], &record).await?;
        let (owner, payload) = match self.judge(row) {
            Ok(go) => go,
            Err(found) => return Ok(Some(found)),
        };
        let rotate = [
            Arg::Text(&owner.grant_id),
            Arg::Text(&owner.user_id),
            Arg::Int(self.now),
            Arg::Text(kind),
            Arg::Text(&self.id),
            Arg::Text(&payload),
            Arg::Text(next),
            Arg::Int(expires_at),
        ];
        if on.execute(ROTATE_CHECKED, &rotate).await? == 1 {
            return Ok(Some(Found::Settled(Rotated::Done(payload))));
        }
        Ok(None)
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
            .hot_value::<i64>(ACTIVE, &[Arg::Text(id)])
            .await?
            .is_some())
    }

    async fn active_grant_user(&self, id: &str) -> Result<Option<String>, StoreError> {
        const USER: &str = "SELECT user_id FROM grants WHERE id = $1 AND revoked_at IS NULL";
        self.hot_value::<String>(USER, &[Arg::Text(id)]).await
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
        let rotation = Rotation {
            kind,
            id: id.to_owned(),
            now,
            next: (next.0.to_owned(), next.1),
            check,
        };
        let (found, durable) = self.write_hot_early(rotation).await?;
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
