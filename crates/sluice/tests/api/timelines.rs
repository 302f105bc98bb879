//! Home, public and tag timelines; paging with max_id/since_id/min_id and `Link`
//! headers exactly as Mastodon writes them; blocks and mutes hiding posts.

use crate::common::{Db, TestServer, ids};

db_tests!(
    home_feed_follows_unfollows_and_deletes,
    home_timeline_and_paging,
    public_local_and_tags,
    blocks_and_mutes_hide_posts
);

async fn home_timeline_and_paging(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    srv.post(
        &format!("/api/v1/accounts/{}/follow", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let mut posted = Vec::new();
    for i in 0..5 {
        posted.push(
            srv.status(&bob, &format!("bob {i}"), &[]).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    srv.status(&carol, "carol is not followed", &[]).await;
    let own = srv.status(&alice, "mine", &[]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Reply from bob to carol (not followed): not in alice's home.
    let carols = srv.status(&carol, "carol root", &[]).await;
    srv.status(
        &bob,
        "@carol reply",
        &[("in_reply_to_id", carols["id"].as_str().unwrap())],
    )
    .await;

    let mut newest_first: Vec<String> = posted.iter().rev().cloned().collect();
    newest_first.insert(0, own.clone());

    let page1 = srv
        .get("/api/v1/timelines/home?limit=2", Some(&alice.token))
        .await;
    let link = page1.link();
    let body = page1.ok();
    assert_eq!(ids(&body), newest_first[..2].to_vec());
    assert_eq!(
        link,
        format!(
            "<{u}/api/v1/timelines/home?limit=2&max_id={next}>; rel=\"next\", <{u}/api/v1/timelines/home?limit=2&min_id={prev}>; rel=\"prev\"",
            u = srv.url,
            next = newest_first[1],
            prev = newest_first[0]
        )
    );
    // Follow "next" links to the end: every post exactly once, in order.
    let mut seen = ids(&body);
    let mut next = link;
    for _ in 0..10 {
        let Some(url) = next
            .split(", ")
            .find(|p| p.ends_with("rel=\"next\""))
            .map(|p| p[1..p.find('>').unwrap()].to_string())
        else {
            break;
        };
        let path = url.trim_start_matches(&srv.url).to_string();
        let r = srv.get(&path, Some(&alice.token)).await;
        next = r.link();
        let page = r.ok();
        seen.extend(ids(&page));
    }
    assert_eq!(seen, newest_first);

    // min_id: the page right after, newest first; since_id: the newest above.
    let r = srv
        .get(
            &format!("/api/v1/timelines/home?min_id={}&limit=2", posted[0]),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(ids(&r), vec![posted[2].clone(), posted[1].clone()]);
    let r = srv
        .get(
            &format!("/api/v1/timelines/home?since_id={}&limit=2", posted[0]),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(ids(&r), vec![own.clone(), posted[4].clone()]);
    // An empty page has no Link header.
    let r = srv
        .get(
            &format!("/api/v1/timelines/home?max_id={}", posted[0]),
            Some(&alice.token),
        )
        .await;
    assert!(r.link().is_empty());
    assert!(r.ok().as_array().unwrap().is_empty());
    // limit is capped at 40, and bad values are refused.
    srv.get("/api/v1/timelines/home?limit=abc", Some(&alice.token))
        .await
        .expect(422);
    srv.get("/api/v1/timelines/home?limit=1000", Some(&alice.token))
        .await
        .ok();
    srv.stop().await;
}

async fn public_local_and_tags(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let a = srv.status(&alice, "public #Fediverse", &[]).await;
    srv.status(&alice, "unlisted #fediverse", &[("visibility", "unlisted")])
        .await;
    let b = srv.status(&alice, "another", &[]).await;
    let all = srv.get("/api/v1/timelines/public", None).await.ok();
    let expected = vec![
        b["id"].as_str().unwrap().to_string(),
        a["id"].as_str().unwrap().to_string(),
    ];
    assert_eq!(ids(&all), expected);
    assert!(
        all[0].get("favourited").is_none(),
        "anonymous viewers get no viewer flags"
    );
    assert_eq!(
        ids(&srv
            .get("/api/v1/timelines/public?local=true", None)
            .await
            .ok()),
        expected
    );
    assert!(
        ids(&srv
            .get("/api/v1/timelines/public?remote=true", None)
            .await
            .ok())
        .is_empty()
    );
    assert!(
        ids(&srv
            .get("/api/v1/timelines/public?only_media=true", None)
            .await
            .ok())
        .is_empty()
    );
    let tag = srv
        .get("/api/v1/timelines/tag/FEDIVERSE", Some(&alice.token))
        .await
        .ok();
    assert_eq!(ids(&tag), vec![a["id"].as_str().unwrap().to_string()]);
    assert_eq!(tag[0]["favourited"], false);
    srv.stop().await;
}

async fn blocks_and_mutes_hide_posts(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    srv.post(
        &format!("/api/v1/accounts/{}/follow", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/accounts/{}/follow", carol.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let bob_post = srv.status(&bob, "from bob", &[]).await;
    srv.status(&carol, "from carol", &[]).await;
    // Carol reblogs bob; then alice mutes bob: neither bob's post nor the reblog shows.
    srv.post(
        &format!(
            "/api/v1/statuses/{}/reblog",
            bob_post["id"].as_str().unwrap()
        ),
        Some(&carol.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(
        ids(&srv
            .get("/api/v1/timelines/home", Some(&alice.token))
            .await
            .ok())
        .len(),
        3
    );
    let rel = srv
        .post(
            &format!("/api/v1/accounts/{}/mute", bob.id),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(rel["muting"], true);
    assert_eq!(rel["muting_notifications"], true);
    let home = srv
        .get("/api/v1/timelines/home", Some(&alice.token))
        .await
        .ok();
    assert_eq!(home.as_array().unwrap().len(), 1, "{home}");
    assert_eq!(home[0]["content"], "<p>from carol</p>");
    let mutes = srv.get("/api/v1/mutes", Some(&alice.token)).await.ok();
    assert_eq!(ids(&mutes), vec![bob.id.clone()]);
    srv.post(
        &format!("/api/v1/accounts/{}/unmute", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(
        srv.get("/api/v1/timelines/home", Some(&alice.token))
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Carol blocks alice: alice's follow of carol ends; carol's posts vanish for alice,
    // and alice cannot see or favourite them.
    let rel = srv
        .post(
            &format!("/api/v1/accounts/{}/block", alice.id),
            Some(&carol.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(rel["blocking"], true);
    assert_eq!(rel["followed_by"], false);
    let rel = srv
        .get(
            &format!("/api/v1/accounts/relationships?id[]={}", carol.id),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(rel[0]["following"], false);
    assert_eq!(rel[0]["blocked_by"], true);
    let public = srv
        .get("/api/v1/timelines/public", Some(&alice.token))
        .await
        .ok();
    assert!(
        public
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["account"]["id"] != carol.id.as_str()),
        "{public}"
    );
    let carol_post = srv.status(&carol, "after the block", &[]).await;
    let cid = carol_post["id"].as_str().unwrap();
    srv.get(&format!("/api/v1/statuses/{cid}"), Some(&alice.token))
        .await
        .expect(404);
    srv.post(
        &format!("/api/v1/statuses/{cid}/favourite"),
        Some(&alice.token),
        &[],
    )
    .await
    .expect(404);
    srv.post(
        &format!("/api/v1/accounts/{}/follow", carol.id),
        Some(&alice.token),
        &[],
    )
    .await
    .expect(403);
    let blocks = srv.get("/api/v1/blocks", Some(&carol.token)).await.ok();
    assert_eq!(ids(&blocks), vec![alice.id.clone()]);
    srv.stop().await;
}

async fn home_feed_follows_unfollows_and_deletes(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let old = srv.status(&bob, "posted before the follow", &[]).await;
    let dm = srv
        .status(&alice, "@bob a direct message", &[("visibility", "direct")])
        .await;
    async fn home(srv: &TestServer, token: &str) -> Vec<String> {
        ids(&srv.get("/api/v1/timelines/home", Some(token)).await.ok())
    }
    assert!(
        home(&srv, &alice.token).await.is_empty(),
        "direct messages stay out of home"
    );
    // Following back-fills the account's recent posts.
    srv.post(
        &format!("/api/v1/accounts/{}/follow", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(
        home(&srv, &alice.token).await,
        vec![old["id"].as_str().unwrap().to_string()]
    );
    let new = srv.status(&bob, "after the follow", &[]).await;
    assert_eq!(home(&srv, &alice.token).await.len(), 2);
    // Deleting removes it from every feed.
    srv.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/statuses/{}", new["id"].as_str().unwrap()),
        Some(&bob.token),
        None,
    )
    .await
    .ok();
    assert_eq!(
        home(&srv, &alice.token).await,
        vec![old["id"].as_str().unwrap().to_string()]
    );
    // Unfollowing removes the account's posts.
    srv.post(
        &format!("/api/v1/accounts/{}/unfollow", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert!(home(&srv, &alice.token).await.is_empty());
    assert!(dm["id"].is_string());
    srv.stop().await;
}
