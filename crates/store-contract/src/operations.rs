use idp_core::store::Stores;
use std::sync::Arc;

pub async fn audit_events_are_kept_newest_first(stores: &Stores) {
    use idp_core::model::{AuditEvent, AuditKind};
    let audit = &stores.audit;
    for (at, kind) in [
        (1, AuditKind::PasswordWrong),
        (2, AuditKind::SignInSucceeded),
        (3, AuditKind::PinWrong),
    ] {
        audit
            .record(
                &AuditEvent::new(kind, at)
                    .user("u-audit")
                    .client("c1")
                    .origin(Some("10.0.0.1"), Some("ua")),
                Arc::new(move |previous: &str| format!("{previous}+{at}")),
            )
            .await
            .unwrap();
    }
    audit
        .record(
            &AuditEvent::new(AuditKind::SignUp, 4).user("someone-else"),
            Arc::new(|previous: &str| format!("{previous}+4")),
        )
        .await
        .unwrap();
    // Each row's link was made from the one before it; the first from where the chain starts.
    let chained = audit.chain_after(i64::MIN, 10).await.unwrap();
    let links: Vec<_> = chained.iter().map(|(_, _, c)| c.clone().unwrap()).collect();
    assert_eq!(
        links,
        ["start+1", "start+1+2", "start+1+2+3", "start+1+2+3+4"]
    );
    assert_eq!(chained[3].1.kind, AuditKind::SignUp);
    let rest = audit.chain_after(chained[1].0, 10).await.unwrap();
    assert_eq!(rest.len(), 2);
    let all = audit.recent_for_user("u-audit", &[], 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [
            AuditKind::PinWrong,
            AuditKind::SignInSucceeded,
            AuditKind::PasswordWrong
        ]
    );
    assert_eq!(all[0].ip.as_deref(), Some("10.0.0.1"));
    let some = audit
        .recent_for_user(
            "u-audit",
            &[AuditKind::PasswordWrong, AuditKind::SignInSucceeded],
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        some.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [AuditKind::SignInSucceeded]
    );
}

pub async fn an_event_appended_twice_is_stored_once(stores: &Stores) {
    use idp_core::model::{AuditEvent, AuditKind};
    let audit = &stores.audit;
    let event = |id: &str| AuditEvent {
        id: Some(id.to_owned()),
        ..AuditEvent::new(AuditKind::PinLocked, 1).user("u-twice")
    };
    let twice = event("first");
    let link = |n: i64| -> idp_core::store::AuditLink {
        Arc::new(move |previous: &str| format!("{previous}+{n}"))
    };
    audit.record(&twice, link(1)).await.unwrap();
    // Appended again, as by the spool after an append whose answer was lost: taken, not stored.
    audit.record(&twice, link(2)).await.unwrap();
    // Another event like it but of its own (another id) is a row of its own.
    let other = event("second");
    audit.record(&other, link(3)).await.unwrap();
    let chained = audit.chain_after(i64::MIN, 10).await.unwrap();
    let rows: Vec<_> = chained
        .iter()
        .map(|(_, event, link)| (event.id.clone(), link.clone().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            (twice.id.clone(), "start+1".to_owned()),
            (other.id.clone(), "start+1+3".to_owned())
        ]
    );
    assert_ne!(twice.id, other.id);
}

pub async fn the_outbox_keeps_messages_in_order(stores: &Stores) {
    use idp_core::model::{Channel, Message};
    for (channel, to) in [
        (Channel::Email, "a@example.com"),
        (Channel::Sms, "+15550100"),
    ] {
        let message = Message {
            channel,
            recipient: to.into(),
            subject: "s".into(),
            body: "b".into(),
        };
        stores.outbox.push(&message, 7).await.unwrap();
    }
    let kept = stores.outbox.list().await.unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!((kept[0].0, kept[0].1.channel), (7, Channel::Email));
    assert_eq!(kept[1].1.recipient, "+15550100");
}

pub async fn leases_have_one_holder_at_a_time(stores: &Stores) {
    let leases = &stores.leases;
    assert!(
        leases
            .try_lease("chore", "node-a", 1000, 1090)
            .await
            .unwrap()
    );
    assert!(
        !leases
            .try_lease("chore", "node-b", 1050, 1140)
            .await
            .unwrap(),
        "held by another node"
    );
    assert!(
        leases
            .try_lease("chore", "node-a", 1060, 1150)
            .await
            .unwrap(),
        "renewed by its holder"
    );
    assert!(
        !leases
            .try_lease("chore", "node-b", 1149, 1240)
            .await
            .unwrap()
    );
    assert!(
        leases
            .try_lease("chore", "node-b", 1150, 1240)
            .await
            .unwrap(),
        "taken over once expired"
    );
    assert!(
        leases
            .try_lease("other", "node-a", 1150, 1240)
            .await
            .unwrap()
    );
    // Many nodes at once: exactly one wins.
    let racers = (0..16).map(|i| {
        let leases = leases.clone();
        tokio::spawn(async move {
            leases
                .try_lease("race", &format!("node-{i}"), 2000, 2090)
                .await
                .unwrap()
        })
    });
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.unwrap());
    }
    assert_eq!(winners, 1);
}
