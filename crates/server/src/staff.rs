//! What staff do to a person's account, written once for every way they do it: the command
//! line, the admin API and the consoles. Each action is audited with who did it and why, and
//! the person is told by e-mail.

use std::time::Duration;

use idp_core::StoreError;
use idp_core::model::{AuditEvent, AuditKind, Channel, Message, Profile, Role, User};
use idp_core::random::{random_token, sha256_b64};

use crate::codes::Sent;
use crate::state::AppState;
use crate::web::client_info::ClientInfo;

/// How long an action waits for its notice to be handed to the mail server: a server that
/// accepts and then says nothing must not hold a page or a command forever.
const NOTICE_WAIT: Duration = Duration::from_secs(30);

/// Who acted, as the audit log names them.
#[derive(Debug, Clone)]
pub enum Actor {
    /// The command line on a machine of the deployment.
    Cli,
    /// An admin client, through the admin API.
    Client(String),
    /// A person with a role, through a console.
    Staff(String),
}

impl Actor {
    /// The audit log's `actor`: `cli`, the client's id, or `user:` and the person's id.
    pub fn name(&self) -> String {
        match self {
            Self::Cli => "cli".to_owned(),
            Self::Client(id) => id.clone(),
            Self::Staff(user_id) => format!("user:{user_id}"),
        }
    }
}

/// One action: who did it, why, and from where.
pub struct Acting<'a> {
    pub by: &'a Actor,
    /// Why, in the actor's words; required in the consoles, optional elsewhere.
    pub reason: Option<&'a str>,
    pub from: &'a ClientInfo,
}

impl Acting<'_> {
    /// An audit event of `kind` about `user`, its detail `what` and the reason.
    pub(crate) fn event(
        &self,
        state: &AppState,
        kind: AuditKind,
        user: &User,
        what: &str,
    ) -> AuditEvent {
        self.about_nobody(state, kind, what).user(&user.id)
    }

    /// An audit event of `kind` about no person (signing keys, clients).
    fn about_nobody(&self, state: &AppState, kind: AuditKind, what: &str) -> AuditEvent {
        let detail = match self.reason {
            Some(reason) => format!("{what}; reason: {reason}"),
            None => what.to_owned(),
        };
        crate::audit::event(state, kind, self.from)
            .actor(&self.by.name())
            .detail(detail)
    }
}

/// Sends `notice`; whether it was handed over.
pub async fn tell(state: &AppState, notice: &Message) -> bool {
    match tokio::time::timeout(NOTICE_WAIT, state.notifier.send(notice)).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(%error, "notice to a person not delivered");
            false
        }
        Err(_) => {
            tracing::warn!("notice to a person not delivered: no answer in time");
            false
        }
    }
}

/// Opens a locked (or forgotten) PIN after staff confirmed who the person is: the PIN is
/// cleared, so the next sign-in gives the password and then chooses a new PIN; every grant is
/// revoked, every session ends and every trusted browser is forgotten. Whether the person was
/// told.
pub async fn unlock_pin(
    state: &AppState,
    user: &User,
    acting: &Acting<'_>,
) -> Result<bool, StoreError> {
    state.stores.users.set_pin(&user.id, None).await?;
    // Recorded as soon as the PIN is cleared: a failure below leaves no change unrecorded.
    let what = "support-assisted unlock; a new PIN is required at the next sign-in";
    let event = acting.event(state, AuditKind::PinUnlocked, user, what);
    crate::audit::record(state, event).await;
    crate::session::account_reset(state, &user.id, acting.from).await?;
    state.stores.codes.reset_code_failures(&user.id).await?;
    Ok(tell(state, &crate::messages::pin_unlocked(user)).await)
}

/// Ends every session of the person (their relying parties are told) and revokes their
/// grants; trusted browsers stay trusted. Whether the person was told.
pub async fn end_sessions(
    state: &AppState,
    user: &User,
    acting: &Acting<'_>,
) -> Result<bool, StoreError> {
    let sessions = state
        .stores
        .sessions
        .list_sessions(&user.id, state.now())
        .await?;
    // Recorded before the first change: a failure part-way leaves none unrecorded.
    let what = format!("every session ended ({})", sessions.len());
    let event = acting.event(state, AuditKind::AdminAction, user, &what);
    crate::audit::record(state, event).await;
    state
        .stores
        .grants
        .revoke_all_grants_of_user(&user.id, state.now())
        .await?;
    for session in &sessions {
        crate::session::end(state, session, acting.from).await?;
    }
    Ok(tell(state, &crate::messages::sessions_ended(user)).await)
}

/// Gives the person `role` (`grant`) or takes it away. `None` when they already had it (or
/// did not): nothing changed and nothing is recorded; else whether the person was told.
pub async fn set_role(
    state: &AppState,
    user: &User,
    role: Role,
    grant: bool,
    acting: &Acting<'_>,
) -> Result<Option<bool>, StoreError> {
    if user.roles.has(role) == grant {
        return Ok(None);
    }
    let roles = if grant {
        user.roles.with(role)
    } else {
        user.roles.without(role)
    };
    state.stores.users.set_roles(&user.id, roles).await?;
    let kind = if grant {
        AuditKind::RoleGranted
    } else {
        AuditKind::RoleRevoked
    };
    let event = acting.event(state, kind, user, role.as_str());
    crate::audit::record(state, event).await;
    let notice = crate::messages::role_changed(user, role, grant);
    Ok(Some(tell(state, &notice).await))
}

/// A change to the signing keys (see `crate::keys`).
#[derive(Debug, Clone, Copy)]
pub enum KeyChange<'a> {
    /// A `next` key per algorithm, signing after the pre-publication window.
    Rotate,
    /// An active key retired now, its `next` key taking over.
    Retire(&'a str),
    /// A key removed at once (it leaked).
    Revoke(&'a str),
}

/// Makes `change` to the signing keys, audited.
pub async fn change_keys(
    state: &AppState,
    change: KeyChange<'_>,
    acting: &Acting<'_>,
) -> Result<(), crate::keys::KeyLoadError> {
    let (kind, what) = match change {
        KeyChange::Rotate => {
            crate::keys::rotate(state).await?;
            (AuditKind::AdminAction, "keys rotate".to_owned())
        }
        KeyChange::Retire(kid) => {
            crate::keys::retire(state, kid).await?;
            (AuditKind::AdminAction, format!("keys retire {kid}"))
        }
        KeyChange::Revoke(kid) => {
            crate::keys::revoke(state, kid).await?;
            (AuditKind::KeyRevoked, format!("kid {kid}"))
        }
    };
    let event = acting.about_nobody(state, kind, &what);
    crate::audit::record(state, event).await;
    Ok(())
}

/// Replaces the person's names and postal address with `profile` (checked already), audited,
/// and the person told: whether they were told, or `None` when nothing changed.
pub async fn set_profile(
    state: &AppState,
    user: &User,
    profile: &Profile,
    acting: &Acting<'_>,
) -> Result<Option<bool>, StoreError> {
    if profile.same_as(&user.profile) {
        return Ok(None);
    }
    state.stores.users.set_profile(&user.id, profile).await?;
    let what = "names and address changed";
    let event = acting.event(state, AuditKind::ProfileChanged, user, what);
    crate::audit::record(state, event).await;
    Ok(Some(
        tell(state, &crate::messages::profile_changed(user)).await,
    ))
}

/// Sends the person a new code that confirms their e-mail address or phone number (`channel`),
/// one not confirmed yet, which they enter on their account page; audited. What became of the
/// code, or `None` when that contact is confirmed already or missing.
pub async fn resend_confirmation(
    state: &AppState,
    user: &User,
    channel: Channel,
    acting: &Acting<'_>,
) -> Result<Option<Sent>, StoreError> {
    let value = match channel {
        Channel::Email => (!user.email_verified).then(|| user.email.clone()),
        Channel::Sms => user.phone.clone().filter(|_| !user.phone_verified),
    };
    let Some(value) = value else {
        return Ok(None);
    };
    let sent = crate::codes::send_contact_confirmation(state, &user.id, channel, value).await?;
    // Recorded with what became of it: a code made is one more to guess, delivered or not.
    let outcome = match sent {
        Sent::Delivered => "sent",
        Sent::NotDelivered => "made, not delivered",
        Sent::TooMany => "not made: as many codes this hour as allowed",
    };
    let what = format!("contact confirmation code {outcome} ({})", channel.as_str());
    let event = acting.event(state, AuditKind::AdminAction, user, &what);
    crate::audit::record(state, event).await;
    Ok(Some(sent))
}

/// Makes an initial access token for dynamic registration (RFC 7591 §3), good for `uses`
/// registrations until `expires_at`, audited (never the token itself): the token, to be shown
/// once.
pub async fn create_registration_token(
    state: &AppState,
    uses: u32,
    expires_at: i64,
    acting: &Acting<'_>,
) -> Result<String, StoreError> {
    let token = random_token(32);
    let now = state.now();
    state
        .stores
        .clients
        .create_initial_access_token(&sha256_b64(&token), uses, expires_at, now)
        .await?;
    let until = crate::timestamps::rfc3339(expires_at).unwrap_or_else(|| expires_at.to_string());
    let what = format!("registration token made for {uses} registrations until {until}");
    let event = acting.about_nobody(state, AuditKind::AdminAction, &what);
    crate::audit::record(state, event).await;
    Ok(token)
}

/// Why a change to a client was refused, in words for the operator; or the store failed.
#[derive(Debug)]
pub enum ClientRefusal {
    /// No such client.
    Missing,
    /// A URI that is not one a client may register (the reason in English, as registration
    /// gives it).
    Uri(String),
    /// The client has no secret to rotate (a public client, or one that signs with its keys).
    NoSecret,
    Store(StoreError),
}

impl From<StoreError> for ClientRefusal {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// The client `id` as stored now, disabled or not.
async fn client(state: &AppState, id: &str) -> Result<idp_core::model::Client, ClientRefusal> {
    // Listed rather than found: a disabled client is still the operator's to see and change.
    let clients = state.stores.clients.list_clients().await?;
    clients
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(ClientRefusal::Missing)
}

/// Records `what` was done to the client `id`.
async fn record_client(state: &AppState, id: &str, what: &str, acting: &Acting<'_>) {
    let event = acting.about_nobody(
        state,
        AuditKind::AdminAction,
        &format!("client {what} {id}"),
    );
    crate::audit::record(state, event.client(id)).await;
}

/// Disables the client: it can no longer authenticate or sign anyone in, and every grant it
/// holds is revoked (its refresh tokens die with them).
pub async fn disable_client(
    state: &AppState,
    id: &str,
    acting: &Acting<'_>,
) -> Result<idp_core::model::Client, ClientRefusal> {
    let mut client = client(state, id).await?;
    client.metadata.disabled = true;
    state.stores.clients.update_client(&client).await?;
    record_client(state, id, "disabled", acting).await;
    state
        .stores
        .grants
        .revoke_grants_of_client(&client.id, state.now())
        .await?;
    Ok(client)
}

/// A new secret for the client (shown once); the old one stops working at once.
pub async fn rotate_client_secret(
    state: &AppState,
    id: &str,
    acting: &Acting<'_>,
) -> Result<String, ClientRefusal> {
    use idp_core::model::TokenEndpointAuthMethod as Method;
    let mut client = client(state, id).await?;
    if !matches!(
        client.token_endpoint_auth_method,
        Method::ClientSecretBasic | Method::ClientSecretPost
    ) {
        return Err(ClientRefusal::NoSecret);
    }
    let secret = idp_core::random::random_token(32);
    client.secret_hash = Some(idp_core::random::sha256_b64(&secret));
    state.stores.clients.update_client(&client).await?;
    record_client(state, id, "secret rotated", acting).await;
    Ok(secret)
}

/// Replaces the client's redirect URIs, and where people go after logging out (checked as
/// registration checks them).
pub async fn set_client_uris(
    state: &AppState,
    id: &str,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    acting: &Acting<'_>,
) -> Result<(), ClientRefusal> {
    let mut client = client(state, id).await?;
    if client.metadata.sector_identifier_uri.is_some() {
        // The sector's document lists the redirect URIs: it is fetched at registration.
        return Err(ClientRefusal::Uri(
            "a client with a sector_identifier_uri changes its redirect URIs through registration management".to_owned(),
        ));
    }
    if redirect_uris.is_empty() && !client.admin {
        return Err(ClientRefusal::Uri(
            "at least one redirect URI is needed".to_owned(),
        ));
    }
    for uri in redirect_uris.iter().chain(&post_logout_redirect_uris) {
        idp_oauth::client_metadata::check_redirect_uri(uri).map_err(ClientRefusal::Uri)?;
    }
    idp_oauth::fapi::Rules::new(client.metadata.fapi2_security_profile)
        .check_client(
            &redirect_uris,
            client.token_endpoint_auth_method,
            (
                client.id_token_signed_response_alg,
                client.metadata.userinfo_signed_response_alg,
            ),
        )
        .map_err(ClientRefusal::Uri)?;
    client.redirect_uris = redirect_uris;
    client.metadata.post_logout_redirect_uris = post_logout_redirect_uris;
    state.stores.clients.update_client(&client).await?;
    record_client(state, id, "URIs changed", acting).await;
    Ok(())
}

/// Records a client made through a console.
pub async fn client_created(state: &AppState, id: &str, acting: &Acting<'_>) {
    record_client(state, id, "created", acting).await;
}

/// Deletes the client (its developer's choice): every grant it holds is revoked first, so
/// that nothing it was given outlives it.
pub async fn delete_client(
    state: &AppState,
    id: &str,
    acting: &Acting<'_>,
) -> Result<(), ClientRefusal> {
    let client = client(state, id).await?;
    record_client(state, id, "deleted", acting).await;
    state
        .stores
        .grants
        .revoke_grants_of_client(&client.id, state.now())
        .await?;
    if !state.stores.clients.delete_client(&client.id).await? {
        return Err(ClientRefusal::Missing);
    }
    Ok(())
}

/// Disables the account (`disable`): its grants are revoked, its sessions end, its trusted
/// browsers are forgotten and it cannot sign in; or enables it again.
pub async fn set_disabled(
    state: &AppState,
    user: &User,
    disable: bool,
    acting: &Acting<'_>,
) -> Result<(), StoreError> {
    let at = disable.then(|| state.now());
    state.stores.users.set_disabled(&user.id, at).await?;
    let what = if disable {
        "user disabled"
    } else {
        "user enabled"
    };
    let event = acting.event(state, AuditKind::AdminAction, user, what);
    crate::audit::record(state, event).await;
    if disable {
        crate::session::account_reset(state, &user.id, acting.from).await?;
    }
    Ok(())
}
