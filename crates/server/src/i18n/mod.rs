//! The languages pages speak: English and Spanish, every word in the message files
//! (`locales/*.ftl`, Fluent), none in code. Code names a message with `Text`; it is put into
//! words when the page is rendered, in the page's language.
//!
//! A page's language is, in order: the one the person chose with the switch on every page
//! (`?lang=`, remembered in a cookie), the relying party's `ui_locales` for a sign-in, the
//! browser's `Accept-Language`, and English (see `negotiation`). Which languages there are, and
//! reading a preference for one, is `idp_core::locale`.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::Serialize;

pub mod device;
mod negotiation;
pub mod when;

pub use idp_core::locale::Locale;
pub use negotiation::{
    COOKIE, PageLanguage, current, of_request, relying_party_asks, scope, switch,
};

/// A language's messages.
fn messages_of(locale: Locale) -> &'static FluentBundle<FluentResource> {
    match locale {
        Locale::En => &EN,
        Locale::Es => &ES,
    }
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
    LazyLock::new(|| bundle(Locale::En, include_str!("../../locales/en.ftl")));
static ES: LazyLock<FluentBundle<FluentResource>> =
    LazyLock::new(|| bundle(Locale::Es, include_str!("../../locales/es.ftl")));

/// An argument of a message.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Number(i64),
}

/// Message `id` in `locale`, with `args`. A missing message is logged and shows its id.
pub fn translate(locale: Locale, id: &str, args: &[(&str, Arg)]) -> String {
    let bundle = messages_of(locale);
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
        .all(|locale| messages_of(locale).has_message(id))
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

/// The field a refused new password is about: the second one when the two differ.
pub fn password_field(rejection: idp_core::password_policy::PasswordRejection) -> &'static str {
    if rejection == idp_core::password_policy::PasswordRejection::Mismatch {
        "password_confirm"
    } else {
        "password"
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let en = ids(include_str!("../../locales/en.ftl"));
        let es = ids(include_str!("../../locales/es.ftl"));
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
