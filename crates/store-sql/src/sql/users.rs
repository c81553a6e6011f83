//! People, their secrets and contacts, and their PIN tries.

use super::*;

/// A `users` row as stored, read by either driver.
pub(super) struct UserRow {
    id: String,
    username: String,
    email: String,
    email_verified: bool,
    phone: Option<String>,
    phone_verified: bool,
    password_hash: String,
    pin_hash: Option<String>,
    pin_failures: i64,
    security_questions: Option<String>,
    created_at: i64,
    disabled_at: Option<i64>,
    credential_epoch: i64,
    profile: Option<String>,
    roles: Option<String>,
}

impl FromRow for UserRow {
    /// The row of `SELECT * FROM users`.
    fn from_row<C: Columns>(row: &C) -> Result<Self, C::Error> {
        Ok(Self {
            id: row.get("id")?,
            username: row.get("username")?,
            email: row.get("email")?,
            email_verified: row.flag("email_verified")?,
            phone: row.get("phone")?,
            phone_verified: row.flag("phone_verified")?,
            password_hash: row.get("password_hash")?,
            pin_hash: row.get("pin_hash")?,
            pin_failures: row.get("pin_failures")?,
            security_questions: row.get("security_questions")?,
            created_at: row.get("created_at")?,
            disabled_at: row.get("disabled_at")?,
            credential_epoch: row.get("credential_epoch")?,
            profile: row.get("profile")?,
            roles: row.get("roles")?,
        })
    }
}

impl UserRow {
    pub(super) fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: self.id,
            username: self.username,
            email: self.email,
            email_verified: self.email_verified,
            phone: self.phone,
            phone_verified: self.phone_verified,
            password_hash: self.password_hash,
            pin_hash: self.pin_hash,
            pin_failures: u32::try_from(self.pin_failures)
                .map_err(|_| corrupt("users.pin_failures"))?,
            security_questions: match self.security_questions {
                Some(json) => {
                    serde_json::from_str(&json).map_err(|_| corrupt("users.security_questions"))?
                }
                None => Vec::new(),
            },
            created_at: self.created_at,
            disabled_at: self.disabled_at,
            credential_epoch: self.credential_epoch,
            profile: match self.profile {
                Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("users.profile"))?,
                None => idp_core::model::Profile::default(),
            },
            roles: match self.roles {
                Some(stored) => {
                    Roles::from_stored(&stored).ok_or_else(|| corrupt("users.roles"))?
                }
                None => Roles::default(),
            },
        })
    }
}

impl SqlStore {
    /// The user `sql` finds by `key` (see `hot`).
    pub(super) async fn hot_user(
        &self,
        sql: &'static str,
        key: &str,
    ) -> Result<Option<User>, StoreError> {
        let row = self.hot_read::<UserRow>(sql, &[Arg::Text(key)]).await?;
        row.map(UserRow::into_user).transpose()
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, user: &NewUser) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, username, email, email_verified, phone, phone_verified,
                                password_hash, pin_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.email)
        .bind(user.email_verified)
        .bind(&user.phone)
        .bind(user.phone_verified && user.phone.is_some())
        .bind(&user.password_hash)
        .bind(&user.pin_hash)
        .bind(user.created_at)
        .run(self)
        .await
        .map(drop)
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.hot_user("SELECT * FROM users WHERE id = $1", id).await
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.hot_user("SELECT * FROM users WHERE username = $1", username)
            .await
    }

    async fn set_pin(&self, user_id: &str, pin_hash: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET pin_hash = $1, pin_failures = 0,
                 credential_epoch = credential_epoch + 1 WHERE id = $2",
        )
        .bind(pin_hash)
        .bind(user_id)
        .run_one(self)
        .await
    }

    async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET password_hash = $1, credential_epoch = credential_epoch + 1
                 WHERE id = $2",
        )
        .bind(password_hash)
        .bind(user_id)
        .run_one(self)
        .await
    }

    async fn upgrade_password_hash(
        &self,
        user_id: &str,
        current: &str,
        upgraded: &str,
    ) -> Result<bool, StoreError> {
        let changed =
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
                .bind(upgraded)
                .bind(user_id)
                .bind(current)
                .run(self)
                .await?;
        Ok(changed == 1)
    }

    async fn upgrade_pin_hash(
        &self,
        user_id: &str,
        current: &str,
        upgraded: &str,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query("UPDATE users SET pin_hash = $1 WHERE id = $2 AND pin_hash = $3")
            .bind(upgraded)
            .bind(user_id)
            .bind(current)
            .run(self)
            .await?;
        Ok(changed == 1)
    }

    async fn set_disabled(
        &self,
        user_id: &str,
        disabled_at: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET disabled_at = $1, credential_epoch = credential_epoch + 1
                 WHERE id = $2",
        )
        .bind(disabled_at)
        .bind(user_id)
        .run_one(self)
        .await
    }

    async fn set_security_questions(
        &self,
        user_id: &str,
        answers: &[idp_core::security_questions::SecurityAnswer],
    ) -> Result<(), StoreError> {
        let json = if answers.is_empty() {
            None
        } else {
            Some(serde_json::to_string(answers).map_err(StoreError::backend)?)
        };
        sqlx::query("UPDATE users SET security_questions = $1 WHERE id = $2")
            .bind(json)
            .bind(user_id)
            .run_one(self)
            .await
    }

    async fn set_email(
        &self,
        user_id: &str,
        email: &str,
        verified: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET email = $1, email_verified = $2 WHERE id = $3")
            .bind(email)
            .bind(verified)
            .bind(user_id)
            .run_one(self)
            .await
    }

    async fn set_phone(
        &self,
        user_id: &str,
        phone: Option<&str>,
        verified: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET phone = $1, phone_verified = $2 WHERE id = $3")
            .bind(phone)
            .bind(verified && phone.is_some())
            .bind(user_id)
            .run_one(self)
            .await
    }

    async fn set_profile(
        &self,
        user_id: &str,
        profile: &idp_core::model::Profile,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(profile).map_err(StoreError::backend)?;
        sqlx::query("UPDATE users SET profile = $1 WHERE id = $2")
            .bind(json)
            .bind(user_id)
            .run_one(self)
            .await
    }

    async fn set_roles(&self, user_id: &str, roles: Roles) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET roles = $1 WHERE id = $2")
            .bind(roles.stored())
            .bind(user_id)
            .run_one(self)
            .await
    }

    async fn search_users(
        &self,
        text: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        // Part of a username, with `LIKE`'s wildcards escaped: what is typed matches as it is.
        // Contacts match only whole, so that a search never tells more of one than its masked
        // form shows.
        let escaped: String = text
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '\\' | '%' | '_' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let phone = idp_core::validate::phone(text).ok();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT * FROM users
             WHERE (username LIKE $1 ESCAPE '\\' OR lower(email) = $2 OR phone = $3)
               AND username > $4
             ORDER BY username LIMIT $5",
        )
        .bind(format!("%{escaped}%"))
        .bind(text.trim().to_lowercase())
        .bind(phone)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| UserRow::from_row(row)?.into_user())
            .collect()
    }
}

#[async_trait]
impl PinAttemptStore for SqlStore {
    async fn take_pin_attempt(&self, user_id: &str, max: u32) -> Result<Option<u32>, StoreError> {
        // One statement: SQLite runs it atomically, so no two requests take the same try.
        const TAKE: &str = "UPDATE users SET pin_failures = pin_failures + 1
             WHERE id = $1 AND pin_failures < $2 RETURNING pin_failures";
        let args = [Arg::Text(user_id), Arg::Int(i64::from(max))];
        let taken = self.write_returning::<(i64,)>(TAKE, &args).await?;
        taken
            .map(|(n,)| u32::try_from(n).map_err(|_| corrupt("users.pin_failures")))
            .transpose()
    }

    async fn give_back_pin_attempt(&self, user_id: &str) -> Result<(), StoreError> {
        self.write_one(
            "UPDATE users SET pin_failures = pin_failures - 1 WHERE id = $1 AND pin_failures > 0",
            &[Arg::Text(user_id)],
        )
        .await
        .map(drop)
    }

    async fn reset_pin_attempts(&self, user_id: &str) -> Result<(), StoreError> {
        self.write_one(
            "UPDATE users SET pin_failures = 0 WHERE id = $1",
            &[Arg::Text(user_id)],
        )
        .await
        .map(drop)
    }
}
