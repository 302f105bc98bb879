//! Muting from a profile page with a duration, as a browser without JavaScript does
//! (a form POST redirected back): the expiry shows on the profile, in the settings'
//! list and in the Mastodon API (`mute_expires_at`); a timed mute ends by itself; a
//! duration that is not one is refused and writes nothing.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Db, TestServer, User};
use crate::web::{Browser, Page};

db_tests!(
    mute_with_a_duration_from_the_profile,
    a_short_mute_ends_by_itself,
    an_indefinite_mute_has_no_end,
    a_bad_duration_is_refused_and_writes_nothing,
);

/// Alice, signed in in a browser, on bob's profile page.
struct Scene {
    srv: TestServer,
    alice: User,
    bob: User,
    b: Browser,
    page: Page,
}

async fn alice_on_bobs_profile(db: Db) -> Option<Scene> {
    let srv = TestServer::start(db, |_| {}).await?;
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let mut b = Browser::new(&srv);
    let r = b.sign_in("alice", "password123").await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = b.get("/@bob").await;
    Some(Scene {
        srv,
        alice,
        bob,
        b,
        page,
    })
}

/// Sends the profile's mute form for `target` (its id), as the page has it.
async fn mute(b: &mut Browser, page: &Page, target: &str, fields: &[(&str, &str)]) -> Page {
    let mut form = vec![
        ("authenticity_token", page.token()),
        ("return_to", "/@bob".to_string()),
    ];
    form.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(&format!("/accounts/{target}/mute"), &form).await
}

async fn relationship(srv: &TestServer, me: &User, target: &str) -> Value {
    let r = srv
        .get(
            &format!("/api/v1/accounts/relationships?id[]={target}"),
            Some(&me.token),
        )
        .await
        .ok();
    r[0].clone()
}

/// The profile offers the form (every duration, the checkbox ticked); muting for an
/// hour without the checkbox redirects back, and the profile, the settings' list and
/// the API all say when it ends.
async fn mute_with_a_duration_from_the_profile(db: Db) {
    let Some(Scene {
        srv,
        alice,
        bob,
        mut b,
        page,
    }) = alice_on_bobs_profile(db).await
    else {
        return;
    };
    assert_eq!(page.status, 200);
    let form_start = page
        .text
        .find(&format!("action=\"/accounts/{}/mute\"", bob.id))
        .unwrap_or_else(|| panic!("no mute form: {}", page.text));
    let form = &page.text[form_start..];
    let form = &form[..form.find("</form>").unwrap()];
    for (value, label) in [
        ("0", "Indefinitely"),
        ("300", "5 minutes"),
        ("1800", "30 minutes"),
        ("3600", "1 hour"),
        ("21600", "6 hours"),
        ("86400", "1 day"),
        ("259200", "3 days"),
        ("604800", "7 days"),
    ] {
        assert!(
            form.contains(&format!("<option value=\"{value}\">{label}</option>")),
            "{form}"
        );
    }
    assert!(
        form.contains(
            "name=\"notifications\" value=\"1\" checked> Hide notifications from them too"
        ),
        "{form}"
    );
    assert!(!page.text.contains("Muted until"));

    let before = sluice_model::id::now_millis();
    let r = mute(&mut b, &page, &bob.id, &[("duration", "3600")]).await;
    assert_eq!((r.status.as_u16(), r.location.as_str()), (303, "/@bob"));

    let rel = relationship(&srv, &alice, &bob.id).await;
    assert_eq!(rel["muting"], true, "{rel}");
    // The checkbox was not sent: their notifications are not hidden.
    assert_eq!(rel["muting_notifications"], false, "{rel}");
    let ends = rel["mute_expires_at"].as_str().expect("an end").to_string();
    let ends_ms = sluice_model::Timestamp::parse_rfc3339(&ends)
        .unwrap_or_else(|| panic!("not a date: {ends}"))
        .0;
    assert!(
        (before + 3_600_000..=sluice_model::id::now_millis() + 3_600_000).contains(&ends_ms),
        "{ends}"
    );
    let mutes = srv.get("/api/v1/mutes", Some(&alice.token)).await.ok();
    assert_eq!(mutes[0]["id"], Value::from(bob.id.clone()), "{mutes}");
    assert_eq!(mutes[0]["acct"], "bob");
    assert_eq!(mutes[0]["mute_expires_at"], Value::from(ends.clone()));

    // The profile says until when, and offers Unmute instead of the form.
    let shown = format!("{} UTC", ends[..16].replace('T', " "));
    let page = b.get("/@bob").await;
    assert!(
        page.text.contains(&format!(
            "Muted until <time datetime=\"{ends}\">{shown}</time>"
        )),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(&format!("action=\"/accounts/{}/unmute\"", bob.id))
    );
    assert!(
        !page
            .text
            .contains(&format!("action=\"/accounts/{}/mute\"", bob.id))
    );
    // So does the settings' list.
    let list = b.get("/settings/mutes").await;
    assert!(list.text.contains("@bob"), "{}", list.text);
    assert!(
        list.text
            .contains(&format!("until <time datetime=\"{ends}\">{shown}</time>")),
        "{}",
        list.text
    );

    // Unmute from the profile; then mute again, notifications hidden (the checkbox).
    let r = b
        .post(
            &format!("/accounts/{}/unmute", bob.id),
            &[
                ("authenticity_token", &page.token()),
                ("return_to", "/@bob"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(relationship(&srv, &alice, &bob.id).await["muting"], false);
    let page = b.get("/@bob").await;
    let r = mute(
        &mut b,
        &page,
        &bob.id,
        &[("duration", "86400"), ("notifications", "1")],
    )
    .await;
    assert_eq!(r.status, 303);
    let rel = relationship(&srv, &alice, &bob.id).await;
    assert_eq!(rel["muting_notifications"], true, "{rel}");
    assert!(rel["mute_expires_at"].is_string(), "{rel}");
    srv.stop().await;
}

/// A one-second mute is gone soon after: the relationship, the API's list and the
/// profile no longer show it, and nobody had to unmute.
async fn a_short_mute_ends_by_itself(db: Db) {
    let Some(Scene {
        srv,
        alice,
        bob,
        mut b,
        page,
    }) = alice_on_bobs_profile(db).await
    else {
        return;
    };
    let r = mute(
        &mut b,
        &page,
        &bob.id,
        &[("duration", "1"), ("notifications", "1")],
    )
    .await;
    assert_eq!(r.status, 303);
    let started = Instant::now();
    loop {
        let rel = relationship(&srv, &alice, &bob.id).await;
        if rel["muting"] == false {
            assert_eq!(rel["mute_expires_at"], Value::Null, "{rel}");
            break;
        }
        assert!(rel["mute_expires_at"].is_string(), "{rel}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the one-second mute has not ended: {rel}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mutes = srv.get("/api/v1/mutes", Some(&alice.token)).await.ok();
    assert_eq!(mutes, serde_json::json!([]));
    assert_eq!(srv.count("mutes").await, 0);
    let page = b.get("/@bob").await;
    assert!(!page.text.contains("muted-until"), "{}", page.text);
    assert!(
        page.text
            .contains(&format!("action=\"/accounts/{}/mute\"", bob.id))
    );
    srv.stop().await;
}

/// "Indefinitely" (0) mutes with no end; it is still there after a moment.
async fn an_indefinite_mute_has_no_end(db: Db) {
    let Some(Scene {
        srv,
        alice,
        bob,
        mut b,
        page,
    }) = alice_on_bobs_profile(db).await
    else {
        return;
    };
    let r = mute(
        &mut b,
        &page,
        &bob.id,
        &[("duration", "0"), ("notifications", "1")],
    )
    .await;
    assert_eq!(r.status, 303);
    let rel = relationship(&srv, &alice, &bob.id).await;
    assert_eq!(rel["muting"], true, "{rel}");
    assert_eq!(rel["muting_notifications"], true, "{rel}");
    assert_eq!(rel["mute_expires_at"], Value::Null, "{rel}");
    let mutes = srv.get("/api/v1/mutes", Some(&alice.token)).await.ok();
    assert_eq!(mutes[0]["id"], Value::from(bob.id.clone()), "{mutes}");
    assert_eq!(mutes[0]["mute_expires_at"], Value::Null, "{mutes}");
    let page = b.get("/@bob").await;
    assert!(
        page.text
            .contains("<span class=\"meta muted-until\">Muted</span>"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("Muted until"));
    let list = b.get("/settings/mutes").await;
    assert!(
        list.text.contains("@bob") && !list.text.contains("until <time"),
        "{}",
        list.text
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(relationship(&srv, &alice, &bob.id).await["muting"], true);
    srv.stop().await;
}

/// Durations that are not a number of seconds the form could send: 400, an error page,
/// and no mute.
async fn a_bad_duration_is_refused_and_writes_nothing(db: Db) {
    let Some(Scene {
        srv,
        alice,
        bob,
        mut b,
        page,
    }) = alice_on_bobs_profile(db).await
    else {
        return;
    };
    for bad in [
        "soon",
        "",
        "-5",
        "1.5",
        "99999999999999999999",
        "9223372036854775807",
        "31536001",
    ] {
        let r = mute(&mut b, &page, &bob.id, &[("duration", bad)]).await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text);
        assert!(r.text.contains("number of seconds"), "{bad:?}: {}", r.text);
        assert_eq!(srv.count("mutes").await, 0, "{bad:?}");
    }
    assert_eq!(relationship(&srv, &alice, &bob.id).await["muting"], false);
    let mutes = srv.get("/api/v1/mutes", Some(&alice.token)).await.ok();
    assert_eq!(mutes, serde_json::json!([]));
    srv.stop().await;
}
