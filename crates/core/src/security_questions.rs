//! Optional security questions: a second proof, next to the one-time code, in PIN recovery.
//! Answers are normalised (case, spacing and punctuation do not matter) and stored hashed.

use serde::{Deserialize, Serialize};

/// The questions a user can choose from, by stable id.
pub const QUESTIONS: [(&str, &str); 5] = [
    ("first_school", "What was the name of your first school?"),
    (
        "childhood_street",
        "What street did you live on as a child?",
    ),
    (
        "first_employer",
        "What was the name of your first employer?",
    ),
    ("parents_met", "In what city did your parents meet?"),
    ("first_pet", "What was the name of your first pet?"),
];

/// How many questions a user sets.
pub const REQUIRED: usize = 2;

/// One question and the hash of its normalised answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityAnswer {
    pub question: String,
    pub answer_hash: String,
}

pub fn question_text(id: &str) -> Option<&'static str> {
    QUESTIONS
        .iter()
        .find(|(q, _)| *q == id)
        .map(|(_, text)| *text)
}

/// Lower case, letters and digits only, single spaces: "  St. Mary's " → "st marys".
pub fn normalise(answer: &str) -> String {
    answer
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionRejection {
    UnknownQuestion,
    SameQuestionTwice,
    AnswerTooShort,
}

impl std::fmt::Display for QuestionRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::UnknownQuestion => "Choose each question from the list.",
            Self::SameQuestionTwice => "Choose two different questions.",
            Self::AnswerTooShort => "Give answers of at least 3 letters or digits.",
        })
    }
}

/// Checks a choice of questions and answers; returns the normalised answers.
pub fn check(choices: &[(&str, &str)]) -> Result<Vec<(String, String)>, QuestionRejection> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (question, answer) in choices {
        if question_text(question).is_none() {
            return Err(QuestionRejection::UnknownQuestion);
        }
        if out.iter().any(|(q, _)| q == question) {
            return Err(QuestionRejection::SameQuestionTwice);
        }
        let answer = normalise(answer);
        if answer.chars().filter(|c| c.is_alphanumeric()).count() < 3 {
            return Err(QuestionRejection::AnswerTooShort);
        }
        out.push(((*question).to_owned(), answer));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_normalised() {
        assert_eq!(normalise("  St. Mary's  School "), "st marys school");
        assert_eq!(normalise("ZÜRICH"), "zürich");
    }

    #[test]
    fn choices_are_checked() {
        assert_eq!(
            check(&[("first_pet", "Rex!"), ("first_school", "Hill Road")]),
            Ok(vec![
                ("first_pet".into(), "rex".into()),
                ("first_school".into(), "hill road".into())
            ])
        );
        assert_eq!(
            check(&[("nope", "answer")]),
            Err(QuestionRejection::UnknownQuestion)
        );
        assert_eq!(
            check(&[("first_pet", "rex"), ("first_pet", "max")]),
            Err(QuestionRejection::SameQuestionTwice)
        );
        assert_eq!(
            check(&[("first_pet", " a. ")]),
            Err(QuestionRejection::AnswerTooShort)
        );
    }
}
