//! Staff roles and the audit log (issue 17): the role apps read in the credential
//! account, who may change roles, and the audit entry every change leaves.

use sluice_engine::moderation::{Role, permission};

use crate::common::{Db, TestServer};

db_tests!(roles_show_in_the_credential_account_and_are_audited);

async fn roles_show_in_the_credential_account_and_are_audited(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert_eq!(me["role"]["name"], "", "{me}");
    assert_eq!(me["role"]["highlighted"], false);

    let mo = srv.staff("mo", "moderator").await;
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&mo.token))
        .await
        .ok();
    assert_eq!(me["role"]["name"], "Moderator", "{me}");
    let bits: u64 = me["role"]["permissions"].as_str().unwrap().parse().unwrap();
    assert_ne!(bits & permission::MANAGE_REPORTS, 0);
    assert_ne!(bits & permission::MANAGE_USERS, 0);
    assert_eq!(bits & permission::MANAGE_ROLES, 0);
    assert_eq!(bits & permission::ADMINISTRATOR, 0);

    let engine = srv.engine();
    let alice_id: i64 = alice.id.parse().unwrap();
    let mo_id: i64 = mo.id.parse().unwrap();
    // A moderator cannot change roles; nothing is written.
    let refused = engine
        .set_role(Some(mo_id), alice_id, Role::Moderator)
        .await;
    assert!(
        matches!(refused, Err(sluice_engine::EngineError::Forbidden(_))),
        "{refused:?}"
    );
    assert_eq!(engine.role_of(alice_id).await.unwrap(), Role::User);

    let root = srv.staff("root", "admin").await;
    let root_id: i64 = root.id.parse().unwrap();
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&root.token))
        .await
        .ok();
    assert_eq!(me["role"]["name"], "Admin", "{me}");
    assert_eq!(me["role"]["permissions"], "1");
    // An admin can, but not their own.
    let own = engine.set_role(Some(root_id), root_id, Role::User).await;
    assert!(matches!(own, Err(sluice_engine::EngineError::Forbidden(_))));
    engine
        .set_role(Some(root_id), alice_id, Role::Moderator)
        .await
        .unwrap();
    assert_eq!(engine.role_of(alice_id).await.unwrap(), Role::Moderator);

    // Three changes by the command line (the test's `staff`), one by root; newest first.
    let log = engine.audit_log(None, None, 10).await.unwrap();
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0].account_id, Some(root_id));
    assert_eq!(log[0].action, "set_role");
    assert_eq!(log[0].target_id, alice.id);
    assert_eq!(log[0].target_label, "alice");
    assert_eq!(log[0].text, "moderator");
    assert!(log[1..].iter().all(|e| e.account_id.is_none()));
    let about_alice = engine
        .audit_log(None, Some(("account", alice.id.as_str())), 10)
        .await
        .unwrap();
    assert_eq!(about_alice.len(), 1);
    let older = engine.audit_log(Some(log[0].id), None, 10).await.unwrap();
    assert_eq!(older.len(), 2);
}
