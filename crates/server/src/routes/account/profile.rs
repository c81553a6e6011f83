//! The person's names and postal address, as relying parties read them in the standard
//! claims (`idp_oauth::claims`). Not a credential: a signed-in person changes them with the
//! form alone (CSRF-checked like every form).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::model::{Address, AuditKind, Profile, ProfileError};
use serde::Deserialize;

use super::{done, refused};
use crate::audit;
use crate::error::{Expired, PageError};
use crate::i18n::{FieldError, Text};
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::extract::SignedInForm;

/// The form: its field names are the claims' names.
#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    street_address: String,
    #[serde(default)]
    locality: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    country: String,
}

impl ProfileForm {
    pub(crate) fn profile(self, now: i64) -> Profile {
        Profile {
            name: Some(self.name),
            given_name: Some(self.given_name),
            family_name: Some(self.family_name),
            address: Address {
                street_address: Some(self.street_address),
                locality: Some(self.locality),
                region: Some(self.region),
                postal_code: Some(self.postal_code),
                country: Some(self.country),
            },
            updated_at: Some(now),
        }
    }
}

/// The form's values: every field by its claim name, empty when unset.
pub fn fields(profile: &Profile) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (name, value) in profile.names().into_iter().chain(profile.address.parts()) {
        out.insert(name.into(), value.unwrap_or_default().into());
    }
    serde_json::Value::Object(out)
}

/// The page's text for a refused field.
pub fn refusal(error: ProfileError) -> FieldError {
    let text = if error.too_long {
        Text::new("account-profile-too-long")
    } else {
        Text::new("account-profile-bad-characters")
    };
    FieldError::on(error.field, text)
}

pub async fn set_profile(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<ProfileForm>,
) -> Result<Response, PageError> {
    let profile = match form.profile(state.now()).cleaned() {
        Ok(profile) => profile,
        Err(error) => {
            return refused(
                &state,
                jar,
                &session,
                &user,
                StatusCode::BAD_REQUEST,
                refusal(error),
            )
            .await;
        }
    };
    if profile.same_as(&user.profile) {
        // Nothing changed: `updated_at` stays as it was.
        return done(&state, jar, &session, &user, "account-profile-saved").await;
    }
    state.stores.users.set_profile(&user.id, &profile).await?;
    let event = audit::event(&state, AuditKind::ProfileChanged, &from).user(&user.id);
    audit::record(&state, event).await;
    let user = state
        .stores
        .users
        .find_user(&user.id)
        .await?
        .ok_or(PageError::expired(Expired::AccountGone))?;
    done(&state, jar, &session, &user, "account-profile-saved").await
}
