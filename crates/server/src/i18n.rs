//! The languages pages speak: English and Spanish, every word in the message files
//! (`locales/*.ftl`, Fluent), none in code. Code names a message with `Text`; it is put into
//! words when the page is rendered, in the page's language.
//!
//! A page's language is, in order: the one the person chose with the switch on every page
//! (`?lang=`, remembered in a cookie), the relying party's `ui_locales` for a sign-in, the
//! browser's `Accept-Language`, and English.

use std::cell::RefCell;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::Serialize;

/// The languages there are message files for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Es,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Es];

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
        }
    }

    /// The language's own name for itself, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Es => "Español",
        }
    }

    /// The language of a tag such as `es`, `es-MX` or `EN-gb`, if there are messages for it.
    pub fn of_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Self::ALL
            .into_iter()
            .find(|locale| locale.code().eq_ignore_ascii_case(primary))
    }

    /// The first language of a space-separated list (`ui_locales`) there are messages for.
    pub fn first_of_list(list: &str) -> Option<Self> {
        list.split_ascii_whitespace().find_map(Self::of_tag)
    }

    /// The language an `Accept-Language` header prefers most among those there are messages
    /// for (RFC 9110 §12.5.4: by quality, then by order; `q=0` means not wanted).
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut ranked: Vec<(u16, usize, Self)> = header
            .split(',')
            .take(32)
            .enumerate()
            .filter_map(|(position, item)| {
                let mut parts = item.split(';');
                let locale = Self::of_tag(parts.next()?)?;
                let quality = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1000), quality)?;
                (quality > 0).then_some((quality, position, locale))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.first().map(|(_, _, locale)| *locale)
    }

    fn bundle(self) -> &'static FluentBundle<FluentResource> {
        match self {
            Self::En => &EN,
            Self::Es => &ES,
        }
    }
}

/// A quality value (`0.8`) in thousandths, or `None` if it is not one.
fn quality(value: &str) -> Option<u16> {
    let value = value.trim();
    let number: f32 = value.parse().ok()?;
    (0.0..=1.0)
        .contains(&number)
        .then(|| (number * 1000.0).round() as u16)
}

fn bundle(locale: Locale, source: &'static str) -> FluentBundle<FluentResource> {
    let tag = locale.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![tag]);
    // Pages are HTML, where Unicode isolation marks around arguments only get in the way.
    bundle.set_use_isolating(false);
    let resource =
        FluentResource::try_new(source.to_owned()).unwrap_or_else(|(resource, errors)| {
            // The files are compiled in; the tests parse them and fail on any error.
            tracing::error!(?errors, language = locale.code(), "message file has errors");
            resource
        });
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(
            ?errors,
            language = locale.code(),
            "message file repeats a message"
        );
    }
    bundle
}

static EN: LazyLock<FluentBundle<FluentResource>> =
    LazyLock::new(|| bundle(Locale::En, include_str!("../locales/en.ftl")));
static ES: LazyLock<FluentBundle<FluentResource>> =
    LazyLock::new(|| bundle(Locale::Es, include_str!("../locales/es.ftl")));

/// An argument of a message.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Number(i64),
}

/// Message `id` in `locale`, with `args`. A missing message is logged and shows its id.
pub fn translate(locale: Locale, id: &str, args: &[(&str, Arg)]) -> String {
    let bundle = locale.bundle();
    let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
        tracing::error!(id, language = locale.code(), "no such message");
        return id.to_owned();
    };
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        match value {
            Arg::Text(text) => fluent_args.set(*name, FluentValue::from(text.as_str())),
            Arg::Number(n) => fluent_args.set(*name, FluentValue::from(*n)),
        }
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    if !errors.is_empty() {
        tracing::error!(
            ?errors,
            id,
            language = locale.code(),
            "message did not format"
        );
    }
    text.into_owned()
}

/// Whether both message files have message `id`.
pub fn exists(id: &str) -> bool {
    Locale::ALL
        .into_iter()
        .all(|locale| locale.bundle().has_message(id))
}

/// A message for people, by its id in the message files, with its arguments: put into words
/// when the page is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    id: &'static str,
    args: Vec<(&'static str, TextArg)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TextArg {
    Text(String),
    Number(i64),
}

impl Text {
    pub const fn new(id: &'static str) -> Self {
        Self {
            id,
            args: Vec::new(),
        }
    }

    pub fn id(&self) -> &'static str {
        self.id
    }

    /// With a text argument.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, TextArg::Text(value.into())));
        self
    }

    /// With a number argument (plurals choose their form by it).
    pub fn count(mut self, name: &'static str, value: i64) -> Self {
        self.args.push((name, TextArg::Number(value)));
        self
    }

    /// The words, in `locale`.
    pub fn in_locale(&self, locale: Locale) -> String {
        let args: Vec<(&str, Arg)> = self
            .args
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    TextArg::Text(text) => Arg::Text(text.clone()),
                    TextArg::Number(n) => Arg::Number(*n),
                };
                (*name, value)
            })
            .collect();
        translate(locale, self.id, &args)
    }

    /// The words, in the language of the page being answered.
    pub fn words(&self) -> String {
        self.in_locale(current())
    }
}

/// In a page's context a `Text` is its words, in the page's language.
impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.words())
    }
}

/// An error on a form: the field it is about (its element id, `None` for the form as a whole)
/// and what to tell the person. Pages show it in the summary at the top and next to the field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldError {
    pub field: Option<&'static str>,
    pub text: Text,
}

impl FieldError {
    pub fn on(field: &'static str, text: Text) -> Self {
        Self {
            field: Some(field),
            text,
        }
    }

    pub fn general(text: Text) -> Self {
        Self { field: None, text }
    }
}

impl From<idp_core::validate::FieldRejection> for Text {
    fn from(rejection: idp_core::validate::FieldRejection) -> Self {
        use idp_core::validate::FieldRejection as R;
        Text::new(match rejection {
            R::UsernameLength => "field-username-length",
            R::UsernameCharacters => "field-username-characters",
            R::Email => "field-email",
            R::Phone => "field-phone",
        })
    }
}

impl From<idp_core::password_policy::PasswordRejection> for Text {
    fn from(rejection: idp_core::password_policy::PasswordRejection) -> Self {
        use idp_core::password_policy::PasswordRejection as R;
        match rejection {
            R::TooShort { min } => Text::new("password-too-short").count("min", min as i64),
            R::TooLong { max } => Text::new("password-too-long").count("max", max as i64),
            R::Mismatch => Text::new("password-mismatch"),
            R::Common => Text::new("password-common"),
            R::ContainsUsername => Text::new("password-contains-username"),
        }
    }
}

impl From<idp_pin_verifier::PinRejection> for Text {
    fn from(rejection: idp_pin_verifier::PinRejection) -> Self {
        use idp_pin_verifier::PinRejection as R;
        match rejection {
            R::NotDigits => Text::new("pin-rule-not-digits"),
            R::Length { min, max } => Text::new("pin-rule-length")
                .count("min", min as i64)
                .count("max", max as i64),
            R::Mismatch => Text::new("pin-rule-mismatch"),
            R::Run => Text::new("pin-rule-run"),
            R::Repeat => Text::new("pin-rule-repeat"),
            R::DateLike => Text::new("pin-rule-date"),
            R::PartOfPhone => Text::new("pin-rule-phone"),
            R::Common => Text::new("pin-rule-common"),
        }
    }
}

impl From<idp_core::security_questions::QuestionRejection> for Text {
    fn from(rejection: idp_core::security_questions::QuestionRejection) -> Self {
        use idp_core::security_questions::QuestionRejection as R;
        Text::new(match rejection {
            R::UnknownQuestion => "question-unknown",
            R::SameQuestionTwice => "question-twice",
            R::AnswerTooShort => "question-answer-short",
        })
    }
}

/// A security question, in the page's language.
pub fn question_text(id: &str) -> Text {
    match idp_core::security_questions::QUESTIONS
        .iter()
        .find(|(known, _)| *known == id)
    {
        Some((known, _)) => Text::new(match *known {
            "first_school" => "question-first_school",
            "childhood_street" => "question-childhood_street",
            "first_employer" => "question-first_employer",
            "parents_met" => "question-parents_met",
            "first_pet" => "question-first_pet",
            _ => "question-answer",
        }),
        None => Text::new("question-answer"),
    }
}

/// The field a refused PIN is about: the second one when the two differ.
pub fn pin_field(rejection: idp_pin_verifier::PinRejection) -> &'static str {
    if rejection == idp_pin_verifier::PinRejection::Mismatch {
        "pin_confirm"
    } else {
        "pin"
    }
}

/// What a request's pages need to know about language.
#[derive(Debug, Clone)]
pub struct PageLanguage {
    pub locale: Locale,
    /// The person chose it with the switch (it outranks `ui_locales`).
    pub chosen: bool,
    /// This page's address for the switch, without `lang` (`?` or `&` follows it).
    pub here: String,
}

tokio::task_local! {
    static CURRENT: RefCell<PageLanguage>;
}

/// Runs `work` (a request's handling) with `language` as its pages' language.
pub async fn scope<F: Future>(language: PageLanguage, work: F) -> F::Output {
    CURRENT.scope(RefCell::new(language), work).await
}

/// The language of the page being answered (English outside a request).
pub fn current() -> Locale {
    CURRENT
        .try_with(|language| language.borrow().locale)
        .unwrap_or(Locale::En)
}

/// The relying party asked for these languages (`ui_locales`): they win over the browser's,
/// not over the person's own choice.
pub fn prefer(ui_locales: Option<&str>) {
    let Some(locale) = ui_locales.and_then(Locale::first_of_list) else {
        return;
    };
    let _ = CURRENT.try_with(|language| {
        let mut language = language.borrow_mut();
        if !language.chosen {
            language.locale = locale;
        }
    });
}

/// The language switch for the page being answered: each language's name, code, link, and
/// whether it is the page's.
pub fn switch() -> serde_json::Value {
    let (locale, here) = CURRENT
        .try_with(|language| {
            let language = language.borrow();
            (language.locale, language.here.clone())
        })
        .unwrap_or((Locale::En, "/".to_owned()));
    let joiner = if here.contains('?') { '&' } else { '?' };
    serde_json::Value::Array(
        Locale::ALL
            .into_iter()
            .map(|other| {
                serde_json::json!({
                    "code": other.code(),
                    "name": other.name(),
                    "href": format!("{here}{joiner}lang={}", other.code()),
                    "current": other == locale,
                })
            })
            .collect(),
    )
}

/// The cookie that remembers the language chosen with the switch.
pub const COOKIE: &str = "idp_lang";

/// The language of a request's pages, and the cookie to set when the person just chose one
/// (`?lang=` on any page).
pub fn of_request(
    state: &crate::AppState,
    request: &axum::extract::Request,
) -> (
    PageLanguage,
    Option<axum_extra::extract::cookie::Cookie<'static>>,
) {
    use axum::http::{Method, header};
    let uri = request.uri();
    let mut asked = None;
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    let mut kept_any = false;
    for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if name == "lang" {
            asked = asked.or_else(|| Locale::of_tag(&value));
        } else {
            kept.append_pair(&name, &value);
            kept_any = true;
        }
    }
    // The link stays on this site: `//host/...` would be another site's address.
    let path = format!("/{}", uri.path().trim_start_matches(['/', '\\']));
    let path = path.as_str();
    // A form's answer is a POST; its language link goes to the page the form is on.
    let here = if request.method() == Method::GET {
        let kept = kept.finish();
        if kept_any {
            format!("{path}?{kept}")
        } else {
            path.to_owned()
        }
    } else {
        form_page(path).to_owned()
    };
    let cookie_name = crate::web::cookies::name(state, COOKIE, true);
    let remembered = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie_name)
        .and_then(|(_, value)| Locale::of_tag(value));
    let browser = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_accept_language);
    let chosen = asked.or(remembered);
    let language = PageLanguage {
        locale: chosen.or(browser).unwrap_or(Locale::En),
        chosen: chosen.is_some(),
        here,
    };
    let cookie = asked.map(|locale| {
        crate::web::cookies::build(state, COOKIE, locale.code().to_owned(), Some(365 * 86_400))
    });
    (language, cookie)
}

/// The page a form posted to `path` is on.
fn form_page(path: &str) -> &str {
    if path.starts_with("/account/") && path != "/account/contact/code" {
        "/account"
    } else if path == "/logout/confirm" {
        "/logout"
    } else if let Some(device) = path.strip_suffix("/resend") {
        device
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_is_ranked_by_quality_then_order() {
        assert_eq!(
            Locale::from_accept_language("es-MX,es;q=0.9,en;q=0.8"),
            Some(Locale::Es)
        );
        assert_eq!(
            Locale::from_accept_language("fr-FR, en;q=0.5, es;q=0.7"),
            Some(Locale::Es)
        );
        assert_eq!(Locale::from_accept_language("de, en-GB"), Some(Locale::En));
        assert_eq!(
            Locale::from_accept_language("es;q=0, en;q=0.1"),
            Some(Locale::En)
        );
        assert_eq!(Locale::from_accept_language("fr, de"), None);
        assert_eq!(Locale::from_accept_language("es;q=2, en;q=abc"), None);
        assert_eq!(Locale::from_accept_language(""), None);
    }

    #[test]
    fn ui_locales_take_the_first_language_there_are_messages_for() {
        assert_eq!(Locale::first_of_list("fr-CA es-419 en"), Some(Locale::Es));
        assert_eq!(Locale::first_of_list("de"), None);
    }

    #[test]
    fn both_message_files_parse_and_have_the_same_messages() {
        let ids = |source: &str| -> std::collections::BTreeSet<String> {
            let resource = FluentResource::try_new(source.to_owned())
                .unwrap_or_else(|(_, errors)| panic!("message file does not parse: {errors:?}"));
            resource
                .entries()
                .filter_map(|entry| match entry {
                    fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                    _ => None,
                })
                .collect()
        };
        let en = ids(include_str!("../locales/en.ftl"));
        let es = ids(include_str!("../locales/es.ftl"));
        assert!(!en.is_empty());
        let only_en: Vec<_> = en.difference(&es).collect();
        let only_es: Vec<_> = es.difference(&en).collect();
        assert!(only_en.is_empty(), "missing in es.ftl: {only_en:?}");
        assert!(only_es.is_empty(), "missing in en.ftl: {only_es:?}");
    }

    /// Every message id the code and the templates name exists in both files: in templates
    /// each `t("...")`, in code each string that starts like a message family.
    #[test]
    fn every_message_named_in_code_or_templates_exists() {
        const FAMILIES: [&str; 25] = [
            "login-",
            "pin-",
            "locked-",
            "signup-",
            "signed-",
            "field-",
            "password-",
            "recover-",
            "code-",
            "question-",
            "device-",
            "consent-",
            "scope-",
            "logout-",
            "account-",
            "outcome-",
            "help-",
            "error-",
            "authorize-",
            "continue",
            "site-",
            "language-",
            "mail-",
            "sms-",
            "purpose-",
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut missing = Vec::new();
        let mut named = 0;
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    // The stores hold no words for people (their tests' keys look like ids).
                    if !path.ends_with("store") {
                        stack.push(path);
                    }
                    continue;
                }
                let source = std::fs::read_to_string(&path).unwrap_or_default();
                let template = path.extension().is_some_and(|e| e == "html");
                let quoted = source.split('"').skip(1).step_by(2);
                for literal in quoted {
                    let id_like = !literal.is_empty()
                        && literal.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || "-_".contains(c)
                        })
                        && literal.contains('-')
                        && !literal.ends_with('-');
                    let ours = FAMILIES.iter().any(|family| literal.starts_with(family));
                    let named_here = if template {
                        source.contains(&format!("t(\"{literal}\""))
                    } else {
                        id_like && ours
                    };
                    if !named_here || !id_like {
                        continue;
                    }
                    named += 1;
                    if !exists(literal) {
                        missing.push(format!("{}: {literal}", path.display()));
                    }
                }
            }
        }
        assert!(named > 150, "only {named} messages found");
        assert!(missing.is_empty(), "messages missing: {missing:#?}");
    }

    #[test]
    fn plurals_follow_the_language() {
        let one = Text::new("pin-wrong").count("tries", 1);
        let three = Text::new("pin-wrong").count("tries", 3);
        assert_eq!(
            one.in_locale(Locale::En),
            "That PIN is not correct. 1 try left."
        );
        assert_eq!(
            three.in_locale(Locale::En),
            "That PIN is not correct. 3 tries left."
        );
        assert_eq!(
            three.in_locale(Locale::Es),
            "Ese PIN no es correcto. Quedan 3 intentos."
        );
        assert_eq!(
            one.in_locale(Locale::Es),
            "Ese PIN no es correcto. Queda 1 intento."
        );
    }
}
