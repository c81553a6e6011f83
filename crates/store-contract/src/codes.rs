use idp_core::store::Stores;

use crate::{given_users, user};

pub async fn codes_take_tries_atomically_and_are_consumed_once(stores: &Stores) {
    given_users(stores, &[("u1", "alice")]).await;
    use idp_core::model::{CodePurpose, OneTimeCode};
    let codes = &stores.codes;
    let code = OneTimeCode {
        hash: "h1".into(),
        expires_at: 2000,
        tries_left: 5,
        data: serde_json::json!({"to": "x"}),
    };
    codes
        .put_code(CodePurpose::Recovery, "u1", &code)
        .await
        .unwrap();
    assert_eq!(
        codes
            .peek_code(CodePurpose::Recovery, "u1", 1000)
            .await
            .unwrap()
            .unwrap()
            .data["to"],
        "x"
    );
    assert!(
        codes
            .peek_code(CodePurpose::Contact, "u1", 1000)
            .await
            .unwrap()
            .is_none()
    );
    let tries = (0..30).map(|_| {
        let codes = codes.clone();
        tokio::spawn(async move {
            codes
                .take_code_try(CodePurpose::Recovery, "u1", 1000)
                .await
                .unwrap()
        })
    });
    let mut left = Vec::new();
    for attempt in tries {
        if let Some(code) = attempt.await.unwrap() {
            left.push(code.tries_left);
        }
    }
    left.sort_unstable();
    assert_eq!(left, [0, 1, 2, 3, 4], "exactly five tries, each once");
    codes
        .put_code(CodePurpose::Recovery, "u1", &code)
        .await
        .unwrap();
    assert!(
        codes
            .take_code_try(CodePurpose::Recovery, "u1", 2000)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        !codes
            .consume_code(CodePurpose::Recovery, "u1", "other hash")
            .await
            .unwrap()
    );
    assert!(
        codes
            .consume_code(CodePurpose::Recovery, "u1", "h1")
            .await
            .unwrap()
    );
    assert!(
        !codes
            .consume_code(CodePurpose::Recovery, "u1", "h1")
            .await
            .unwrap(),
        "once"
    );
}

pub async fn code_failures_are_counted_atomically_per_user(stores: &Stores) {
    stores
        .users
        .create_user(&user("u-codes", "codes"))
        .await
        .unwrap();
    let racers: Vec<_> = (0..12)
        .map(|_| {
            let codes = stores.codes.clone();
            tokio::spawn(async move { codes.take_code_failure("u-codes", 5).await.unwrap() })
        })
        .collect();
    let mut taken = Vec::new();
    for racer in racers {
        taken.extend(racer.await.unwrap());
    }
    taken.sort_unstable();
    assert_eq!(
        taken,
        vec![1, 2, 3, 4, 5],
        "each count is taken once, up to the cap"
    );
    let codes = &stores.codes;
    assert_eq!(codes.take_code_failure("u-codes", 5).await.unwrap(), None);
    assert_eq!(
        codes.take_code_failure("u-codes", 6).await.unwrap(),
        Some(6),
        "kept with the user, whatever code comes next"
    );
    codes.reset_code_failures("u-codes").await.unwrap();
    assert_eq!(
        codes.take_code_failure("u-codes", 5).await.unwrap(),
        Some(1)
    );
}
