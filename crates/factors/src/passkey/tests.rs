use super::*;
use serde_json::json;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::SoftToken;

const HANDLE: [u8; 16] = [7; 16];

fn origin() -> Url {
    Url::parse("http://localhost:8080").unwrap()
}

fn relying_party() -> RelyingParty {
    RelyingParty::new("localhost", &origin(), "Test provider").unwrap()
}

/// A software passkey that reports user verification (webauthn-authenticator-rs's
/// `falsify_uv`): it sets the UV flag whenever verification is required.
fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

fn create(
    authenticator: &mut impl WebauthnAuthenticator,
    options: serde_json::Value,
) -> serde_json::Value {
    let options = serde_json::from_value(options).unwrap();
    serde_json::to_value(authenticator.do_registration(origin(), options).unwrap()).unwrap()
}

fn get(
    authenticator: &mut impl WebauthnAuthenticator,
    options: serde_json::Value,
) -> serde_json::Value {
    let options = serde_json::from_value(options).unwrap();
    serde_json::to_value(authenticator.do_authentication(origin(), options).unwrap()).unwrap()
}

fn register(rp: &RelyingParty, authenticator: &mut impl WebauthnAuthenticator) -> NewPasskey {
    let (options, state) = rp.start_registration(HANDLE, "ana", "Ana", &[]).unwrap();
    let answer = create(authenticator, options);
    rp.finish_registration(&answer, &state).unwrap()
}

#[test]
fn registers_and_authenticates() {
    let rp = relying_party();
    let mut authenticator = authenticator();
    let (options, state) = rp.start_registration(HANDLE, "ana", "Ana", &[]).unwrap();
    let public_key = &options["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(public_key["attestation"], "none");
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(public_key["user"]["id"], URL_SAFE_NO_PAD.encode(HANDLE));
    let new = rp
        .finish_registration(&create(&mut authenticator, options), &state)
        .unwrap();
    assert!(!new.backup_eligible && !new.backup_state);

    let stored = vec![new.stored.clone()];
    let (options, state) = rp.start_authentication(&stored).unwrap();
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert_eq!(
        options["publicKey"]["allowCredentials"][0]["id"],
        new.credential_id
    );
    let answer = get(&mut authenticator, options);
    let used = rp.finish_authentication(&answer, &state, &stored).unwrap();
    assert_eq!(used.credential_id, new.credential_id);
    assert_eq!(used.counter, 1);
    assert!(!used.backup_eligible && !used.backup_state);
    // The counter went from 0 to 1: the stored passkey changes, and says so.
    let updated = used.updated.unwrap();
    assert_eq!(facts(&updated).unwrap().counter, 1);
    assert_eq!(facts(&new.stored).unwrap().counter, 0);
}

#[test]
fn excludes_the_persons_passkeys() {
    let rp = relying_party();
    let new = register(&rp, &mut authenticator());
    let id = URL_SAFE_NO_PAD.decode(&new.credential_id).unwrap();
    let (options, _) = rp.start_registration(HANDLE, "ana", "Ana", &[id]).unwrap();
    assert_eq!(
        options["publicKey"]["excludeCredentials"][0]["id"],
        new.credential_id
    );
}

#[test]
fn refuses_a_replayed_assertion() {
    let rp = relying_party();
    let mut authenticator = authenticator();
    let new = register(&rp, &mut authenticator);
    let stored = vec![new.stored];
    let (options, state) = rp.start_authentication(&stored).unwrap();
    let answer = get(&mut authenticator, options);
    let used = rp.finish_authentication(&answer, &state, &stored).unwrap();
    let stored = vec![used.updated.unwrap()];
    assert!(matches!(
        rp.finish_authentication(&answer, &state, &stored),
        Err(PasskeyError::CounterWentBack)
    ));
}

#[test]
fn refuses_an_assertion_for_another_challenge() {
    let rp = relying_party();
    let mut authenticator = authenticator();
    let stored = vec![register(&rp, &mut authenticator).stored];
    let (first, _) = rp.start_authentication(&stored).unwrap();
    let (_, second_state) = rp.start_authentication(&stored).unwrap();
    let answer = get(&mut authenticator, first);
    assert!(matches!(
        rp.finish_authentication(&answer, &second_state, &stored),
        Err(PasskeyError::Refused(WebauthnError::MismatchedChallenge))
    ));
}

#[test]
fn refuses_a_credential_not_stored() {
    let rp = relying_party();
    let (mut first, mut second) = (authenticator(), authenticator());
    let one = register(&rp, &mut first).stored;
    let other = register(&rp, &mut second).stored;
    let both = vec![one.clone(), other];
    let (options, state) = rp.start_authentication(&both).unwrap();
    let answer = get(&mut second, options);
    // Removed between the start and the end of the ceremony.
    assert!(matches!(
        rp.finish_authentication(&answer, &state, &[one]),
        Err(PasskeyError::UnknownCredential)
    ));
    // Never offered by this ceremony.
    let (options, _) = rp.start_authentication(&both).unwrap();
    let answer = get(&mut second, options);
    let (_, only_first) = rp.start_authentication(&both[..1]).unwrap();
    assert!(matches!(
        rp.finish_authentication(&answer, &only_first, &both),
        Err(PasskeyError::UnknownCredential)
    ));
}

#[test]
fn refuses_an_assertion_without_user_verification() {
    let rp = relying_party();
    let mut authenticator = authenticator();
    let stored = vec![register(&rp, &mut authenticator).stored];
    let (mut options, state) = rp.start_authentication(&stored).unwrap();
    // A client that asks the authenticator for presence only: the answer is well signed,
    // but its UV flag is clear.
    options["publicKey"]["userVerification"] = json!("discouraged");
    let answer = get(&mut authenticator, options);
    assert!(matches!(
        rp.finish_authentication(&answer, &state, &stored),
        Err(PasskeyError::UserNotVerified)
    ));
}

#[test]
fn refuses_a_registration_without_user_verification() {
    let rp = relying_party();
    let (mut options, state) = rp.start_registration(HANDLE, "ana", "Ana", &[]).unwrap();
    options["publicKey"]["authenticatorSelection"]["userVerification"] = json!("discouraged");
    let answer = create(&mut authenticator(), options);
    assert!(matches!(
        rp.finish_registration(&answer, &state),
        Err(PasskeyError::UserNotVerified)
    ));
}

#[test]
fn refuses_a_counter_that_went_back() {
    let rp = relying_party();
    let mut authenticator = authenticator();
    let stored = vec![register(&rp, &mut authenticator).stored];
    // Two ceremonies side by side; the later answer (counter 2) finishes first.
    let (first, first_state) = rp.start_authentication(&stored).unwrap();
    let (second, second_state) = rp.start_authentication(&stored).unwrap();
    let first = get(&mut authenticator, first);
    let second = get(&mut authenticator, second);
    let used = rp
        .finish_authentication(&second, &second_state, &stored)
        .unwrap();
    assert_eq!(used.counter, 2);
    let stored = vec![used.updated.unwrap()];
    // webauthn-rs alone accepts 1 (its state holds the counter 0 of the start).
    assert!(matches!(
        rp.finish_authentication(&first, &first_state, &stored),
        Err(PasskeyError::CounterWentBack)
    ));
}

#[test]
fn counter_must_increase_once_counting() {
    assert!(counter_acceptable(0, 0));
    assert!(counter_acceptable(1, 0));
    assert!(counter_acceptable(8, 7));
    assert!(!counter_acceptable(7, 7));
    assert!(!counter_acceptable(3, 7));
    assert!(!counter_acceptable(0, 7));
}

#[test]
fn tells_corrupt_state_from_a_bad_answer() {
    let rp = relying_party();
    let mut authenticator = authenticator();
    let stored = vec![register(&rp, &mut authenticator).stored];
    let (options, state) = rp.start_authentication(&stored).unwrap();
    let answer = get(&mut authenticator, options);
    assert!(matches!(
        rp.finish_authentication(&answer, b"{}", &stored),
        Err(PasskeyError::CorruptState)
    ));
    assert!(matches!(
        rp.finish_authentication(&json!({"id": 1}), &state, &stored),
        Err(PasskeyError::Malformed)
    ));
    assert!(matches!(
        rp.finish_authentication(&answer, &state, &[b"not json".to_vec()]),
        Err(PasskeyError::CorruptStored)
    ));
    assert!(matches!(
        rp.finish_registration(&answer, b"[]"),
        Err(PasskeyError::CorruptState)
    ));
    assert!(matches!(
        rp.start_authentication(&[]),
        Err(PasskeyError::NoPasskey)
    ));
}

#[test]
fn refuses_a_relying_party_that_webauthn_cannot_use() {
    let ip = Url::parse("https://127.0.0.1").unwrap();
    assert!(RelyingParty::new("127.0.0.1", &ip, "x").is_err());
    let other = Url::parse("https://id.example.org").unwrap();
    assert!(RelyingParty::new("example.com", &other, "x").is_err());
    let issuer = Url::parse("https://id.example.com").unwrap();
    assert!(RelyingParty::new("id.example.com", &issuer, "x").is_ok());
    assert!(RelyingParty::new("example.com", &issuer, "x").is_ok());
}

/// A software security key with an attestation chain of its own (a root CA, an
/// intermediate that signs its `packed` attestation), and that root as PEM. The root is
/// read from the token's serialised form (its DER in unpadded base64url), which keeps
/// x509 types out of these tests' dependencies.
fn attested_token() -> (SoftToken, String) {
    let (token, _) = SoftToken::new(true).unwrap();
    let saved = serde_json::to_value(&token).unwrap();
    let der = URL_SAFE_NO_PAD
        .decode(saved["ca_cert"].as_str().unwrap())
        .unwrap();
    (token, pem(&der))
}

fn pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

fn requiring(pem: &str) -> RelyingParty {
    relying_party().with_attestation(AttestationCas::from_pem(pem.as_bytes()).unwrap())
}

#[test]
fn an_authenticator_attested_by_a_listed_ca_registers_and_authenticates() {
    let (mut token, ca) = attested_token();
    let rp = requiring(&ca);
    assert!(rp.requires_attestation());
    let (options, state) = rp.start_registration(HANDLE, "ana", "Ana", &[]).unwrap();
    assert_eq!(options["publicKey"]["attestation"], "direct");
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    let new = rp
        .finish_registration(&create(&mut token, options), &state)
        .unwrap();
    assert!(!new.backup_eligible);
    assert!(marker(&new.stored).unwrap());

    let stored = vec![new.stored.clone()];
    let (options, state) = rp.start_authentication(&stored).unwrap();
    assert_eq!(options["publicKey"]["userVerification"], "required");
    let answer = get(&mut token, options);
    let used = rp.finish_authentication(&answer, &state, &stored).unwrap();
    assert_eq!(used.credential_id, new.credential_id);
    assert_eq!(used.counter, 1);
    // The stored passkey with its new counter is still marked attested.
    let updated = used.updated.unwrap();
    assert!(marker(&updated).unwrap());
    assert_eq!(facts(&updated).unwrap().counter, 1);

    // Without a list it signs in as any passkey, and stays marked.
    let plain = relying_party();
    let stored = vec![updated];
    let (options, state) = plain.start_authentication(&stored).unwrap();
    let answer = get(&mut token, options);
    let used = plain
        .finish_authentication(&answer, &state, &stored)
        .unwrap();
    assert!(marker(&used.updated.unwrap()).unwrap());
}

#[test]
fn an_authenticator_without_a_listed_attestation_is_refused_at_registration() {
    let (_, ca) = attested_token();
    let rp = requiring(&ca);
    // Self attestation (`packed`, signed by the credential's own key), no chain.
    let (options, state) = rp.start_registration(HANDLE, "ana", "Ana", &[]).unwrap();
    let answer = create(&mut authenticator(), options);
    assert!(matches!(
        rp.finish_registration(&answer, &state),
        Err(PasskeyError::Refused(
            WebauthnError::AttestationNotVerifiable
        ))
    ));
    // A chain to another CA.
    let (mut other, _) = attested_token();
    let (options, state) = rp.start_registration(HANDLE, "ana", "Ana", &[]).unwrap();
    let answer = create(&mut other, options);
    assert!(matches!(
        rp.finish_registration(&answer, &state),
        Err(PasskeyError::Refused(
            WebauthnError::AttestationChainNotTrusted(_)
        ))
    ));
    // The state of a registration without attestation is not one with it.
    let (options, state) = relying_party()
        .start_registration(HANDLE, "ana", "Ana", &[])
        .unwrap();
    let answer = create(&mut authenticator(), options);
    assert!(matches!(
        rp.finish_registration(&answer, &state),
        Err(PasskeyError::CorruptState)
    ));
}

#[test]
fn passkeys_registered_without_attestation_are_refused_while_it_is_required() {
    let mut unattested = authenticator();
    let old = register(&relying_party(), &mut unattested);
    assert!(!marker(&old.stored).unwrap());
    let (mut token, ca) = attested_token();
    let rp = requiring(&ca);
    assert!(matches!(
        rp.start_authentication(std::slice::from_ref(&old.stored)),
        Err(PasskeyError::NotAttested)
    ));
    let new = register(&rp, &mut token);
    let both = vec![old.stored.clone(), new.stored.clone()];
    let (options, state) = rp.start_authentication(&both).unwrap();
    let offered = options["publicKey"]["allowCredentials"].as_array().unwrap();
    assert_eq!(offered.len(), 1);
    assert_eq!(offered[0]["id"], new.credential_id);
    // An answer from the unattested passkey (a client offering it anyway).
    let mut forged = options.clone();
    forged["publicKey"]["allowCredentials"][0]["id"] = json!(old.credential_id);
    let answer = get(&mut unattested, forged);
    assert!(matches!(
        rp.finish_authentication(&answer, &state, &both),
        Err(PasskeyError::NotAttested)
    ));
    // Taking the CA out of the list refuses the passkeys it vouched for.
    let (_, another) = attested_token();
    assert!(matches!(
        requiring(&another).start_authentication(&both),
        Err(PasskeyError::NotAttested)
    ));
}

#[test]
fn reads_a_file_of_attestation_cas() {
    let (_, one) = attested_token();
    let (_, two) = attested_token();
    let file = format!("# Vendor one\n{one}\nVendor two:\n{two}");
    assert_eq!(AttestationCas::from_pem(file.as_bytes()).unwrap().len(), 2);
    // Wrapped at another width, with CRLF line ends.
    let body: String = one.lines().filter(|l| !l.starts_with("-----")).collect();
    let wrapped: Vec<&str> = body
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let rewrapped = format!(
        "-----BEGIN CERTIFICATE-----\r\n{}\r\n-----END CERTIFICATE-----\r\n",
        wrapped.join("\r\n")
    );
    assert_eq!(
        AttestationCas::from_pem(rewrapped.as_bytes())
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        AttestationCas::from_pem(b""),
        Err(AttestationCasError::Empty)
    ));
    assert!(matches!(
        AttestationCas::from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        Err(AttestationCasError::Empty)
    ));
    let broken = format!("{one}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    assert!(matches!(
        AttestationCas::from_pem(broken.as_bytes()),
        Err(AttestationCasError::Certificate(2))
    ));
    let unterminated = one.replace("-----END CERTIFICATE-----", "");
    assert!(matches!(
        AttestationCas::from_pem(unterminated.as_bytes()),
        Err(AttestationCasError::Certificate(1))
    ));
}
