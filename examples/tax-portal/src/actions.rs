//! The portal's protected actions: filing a return (a second factor, `urn:idp:acr:aal2`) and
//! changing bank details (a passkey, `urn:idp:acr:aal2-phishing-resistant`), each refused with
//! an explanation when the sign-in did not reach its level.

use super::*;

/// The signed-in person, if their sign-in allows `purpose`; otherwise where to go: a
/// step-up for it.
pub(super) fn allowed(
    portal: &Portal,
    jar: &CookieJar,
    purpose: Purpose,
) -> Result<Signed, Redirect> {
    match signed_in(portal, jar) {
        Some(user) if portal.allows(&user, purpose) => Ok(user),
        _ => Err(Redirect::to(purpose.login())),
    }
}

/// The return, ready to file, once the sign-in had a second factor (`urn:idp:acr:aal2`).
pub(super) async fn filing_form(State(portal): State<Arc<Portal>>, jar: CookieJar) -> Response {
    let user = match allowed(&portal, &jar, Purpose::File) {
        Ok(user) => user,
        Err(step_up) => return step_up.into_response(),
    };
    if let Some(filing) = portal.filing(&user.subject) {
        return filed_page(&user, &filing);
    }
    page(
        "File a return",
        &format!(
            "<h1>File your 2025 return</h1><p>Return for <strong>{name}</strong>: income 52,400.00, \
tax withheld 9,870.00, refund due 312.50.</p><p>You confirmed it is you with {level}, {when}.</p>\
<form method=\"post\" action=\"/file\"><input type=\"hidden\" name=\"form_token\" value=\"{token}\">\
<button class=\"button\" type=\"submit\">File the return</button></form>{raw}",
            name = escape(&user.username),
            level = escape(&acr_in_words(&user.acr)),
            when = escape(&ago(user.auth_time, now())),
            token = escape(&user.form_token),
            raw = for_developers(&user),
        ),
    )
}

#[derive(Deserialize)]
pub(super) struct Confirmed {
    #[serde(default)]
    form_token: String,
}

/// Files the return: only for a sign-in with a second factor, recent enough.
pub(super) async fn file(
    State(portal): State<Arc<Portal>>,
    jar: CookieJar,
    Form(form): Form<Confirmed>,
) -> Response {
    let user = match allowed(&portal, &jar, Purpose::File) {
        Ok(user) => user,
        Err(step_up) => return step_up.into_response(),
    };
    if form.form_token != user.form_token {
        return Redirect::to("/file").into_response();
    }
    let filing = {
        let Ok(mut filings) = portal.filings.lock() else {
            return failed("The return could not be filed. Please try again.");
        };
        filings
            .entry(user.subject.clone())
            .or_insert_with(|| Filing {
                at: now(),
                acr: user.acr.clone(),
                amr: user.amr.clone(),
            })
            .clone()
    };
    filed_page(&user, &filing)
}

pub(super) fn filed_page(user: &Signed, filing: &Filing) -> Response {
    page(
        "Return filed",
        &format!(
            "<h1>Your 2025 return is filed</h1><p>Filed for <strong>{name}</strong> {at} ({utc}).</p>\
<dl><dt>Confirmed with</dt><dd id=\"filed-level\">{level}</dd><dt>Signed in with</dt><dd>{methods}</dd></dl>\
<p><a href=\"/\">Back to your account</a></p>{raw}",
            name = escape(&user.username),
            at = escape(&ago(filing.at, now())),
            utc = escape(&utc(filing.at)),
            level = escape(&acr_in_words(&filing.acr)),
            methods = escape(&amr_in_words(&filing.amr)),
            raw = for_developers(user),
        ),
    )
}

/// The sign-in for filing came back without a second factor: nothing was filed.
pub(super) async fn not_filed(State(portal): State<Arc<Portal>>, jar: CookieJar) -> Response {
    if allowed(&portal, &jar, Purpose::File).is_ok() {
        // Reached since: nothing to explain.
        return Redirect::to("/file").into_response();
    }
    let raw = signed_in(&portal, &jar)
        .map(|user| {
            format!(
                "<p>You signed in with {}.</p>{}",
                escape(&acr_in_words(&user.acr)),
                for_developers(&user)
            )
        })
        .unwrap_or_default();
    page(
        "Return not filed",
        &format!(
            "<h1>Your return was not filed</h1><p>Filing a return needs a second factor: besides your \
password and PIN, a code from your authenticator app or one of your saved recovery codes. \
The sign-in went ahead without one, so nothing was filed.</p>{raw}\
<p><a class=\"button\" href=\"{again}\">Try again</a> <a href=\"/\">Back to your account</a></p>",
            again = Purpose::File.login(),
        ),
    )
}

/// The bank details, changeable once the sign-in had a passkey.
pub(super) async fn bank_form(State(portal): State<Arc<Portal>>, jar: CookieJar) -> Response {
    let user = match allowed(&portal, &jar, Purpose::Bank) {
        Ok(user) => user,
        Err(step_up) => return step_up.into_response(),
    };
    let current = portal
        .bank_accounts
        .lock()
        .ok()
        .and_then(|accounts| accounts.get(&user.subject).cloned())
        .unwrap_or_else(|| "none on file".into());
    page(
        "Change bank details",
        &format!(
            "<h1>Change bank details</h1><p>Refunds are paid to: <strong>{current}</strong>.</p>\
<form method=\"post\" action=\"/bank\"><input type=\"hidden\" name=\"form_token\" value=\"{token}\">\
<p><label>New account (IBAN) <input name=\"account\" required></label></p>\
<button class=\"button\" type=\"submit\">Save</button></form>{raw}",
            current = escape(&current),
            token = escape(&user.form_token),
            raw = for_developers(&user),
        ),
    )
}

#[derive(Deserialize)]
pub(super) struct NewAccount {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    account: String,
}

/// Changes the bank details: only for a sign-in with a passkey, recent enough.
pub(super) async fn change_bank(
    State(portal): State<Arc<Portal>>,
    jar: CookieJar,
    Form(form): Form<NewAccount>,
) -> Response {
    let user = match allowed(&portal, &jar, Purpose::Bank) {
        Ok(user) => user,
        Err(step_up) => return step_up.into_response(),
    };
    let account = form.account.trim();
    if form.form_token != user.form_token || account.is_empty() {
        return Redirect::to("/bank").into_response();
    }
    if let Ok(mut accounts) = portal.bank_accounts.lock() {
        accounts.insert(user.subject.clone(), account.to_owned());
    }
    page(
        "Bank details changed",
        &format!(
            "<h1>Bank details changed</h1><p>Refunds will be paid to <strong>{}</strong>.</p>\
<p><a href=\"/\">Back to your account</a></p>",
            escape(account)
        ),
    )
}

/// The sign-in for the bank details could not reach a passkey: nothing was changed.
pub(super) async fn bank_not_changed(State(portal): State<Arc<Portal>>) -> Response {
    let account = format!("{}/account", portal.config.issuer.trim_end_matches('/'));
    page(
        "Bank details not changed",
        &format!(
            "<h1>Your bank details were not changed</h1><p>Changing where refunds are paid needs a \
passkey: besides your password and PIN, you confirm it is you with your phone, computer or \
security key. This sign-in could not use one, so nothing was changed.</p>\
<p>Add a passkey on <a href=\"{account}\">your account page at the sign-in service</a>, then \
try again.</p><p><a class=\"button\" href=\"{again}\">Try again</a> <a href=\"/\">Back to your account</a></p>",
            account = escape(&account),
            again = Purpose::Bank.login(),
        ),
    )
}
