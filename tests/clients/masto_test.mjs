// masto.js 7.x against a running Sluice server.
//
// Environment (set by run.sh): SLUICE_BASE_URL, e.g. http://127.0.0.1:40123.
// The account is registered through the API (registrations are open), so no
// user has to exist beforehand.
//
// Every check asserts something that can fail. A failing check is reported and
// the remaining checks still run; the exit status is non-zero when any failed.

import assert from "node:assert/strict";
import { createECDH, randomBytes } from "node:crypto";
import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient } from "masto";

const BASE = (process.env.SLUICE_BASE_URL || "").replace(/\/+$/, "");
const host = BASE ? new URL(BASE).hostname : "";
if (!["127.0.0.1", "[::1]", "localhost"].includes(host)) {
  console.error(`refusing to run against non-loopback host ${JSON.stringify(host)}`);
  process.exit(2);
}

const TAG = `mjs${Date.now() % 1e8}`;
const USERNAME = `carol${Date.now() % 1e6}`;
const PASSWORD = "correct horse battery staple";
const SCOPES = "read write follow push";
const MAX_PAGES = 20; // bound for every paginator loop

let passed = 0;
let failed = 0;
const state = {};

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - masto: ${name}`);
  } catch (e) {
    failed += 1;
    const extra = e?.statusCode ? ` (HTTP ${e.statusCode}${e.description ? `: ${e.description}` : ""})` : "";
    console.log(`not ok - masto: ${name}: ${e?.message ?? e}${extra}`);
    if (!(e instanceof assert.AssertionError)) console.log(e?.stack ?? e);
  }
}

const ids = (statuses) => statuses.map((s) => s.id);

// Collect pages from a masto paginator, following Link headers, bounded.
async function collectPages(paginator) {
  const pages = [];
  for await (const page of paginator) {
    if (page.length > 0) pages.push(page);
    if (pages.length > MAX_PAGES) throw new Error(`paginator did not stop after ${MAX_PAGES} pages`);
  }
  return pages;
}

const anon = createRestAPIClient({ url: BASE, timeout: 30_000 });
const oauth = createOAuthAPIClient({ url: BASE, timeout: 30_000 });

await check("create app", async () => {
  const app = await anon.v1.apps.create({
    clientName: "sluice-client-suite (masto.js)",
    redirectUris: "urn:ietf:wg:oauth:2.0:oob",
    scopes: SCOPES,
    website: "https://example.com",
  });
  assert.ok(app.clientId, "no client_id");
  assert.ok(app.clientSecret, "no client_secret");
  assert.equal(app.name, "sluice-client-suite (masto.js)");
  state.app = app;
});

await check("client_credentials token (masto oauth client, multipart)", async () => {
  const token = await oauth.token.create({
    grantType: "client_credentials",
    clientId: state.app.clientId,
    clientSecret: state.app.clientSecret,
    redirectUri: "urn:ietf:wg:oauth:2.0:oob",
    scope: SCOPES,
  });
  assert.ok(token.accessToken, "no access_token");
  assert.equal(token.tokenType.toLowerCase(), "bearer");
  state.appToken = token.accessToken;
  // An app token is not a user: verify_credentials must be refused.
  const appClient = createRestAPIClient({ url: BASE, accessToken: token.accessToken, timeout: 30_000 });
  await assert.rejects(appClient.v1.accounts.verifyCredentials(), (e) => e.statusCode === 401 || e.statusCode === 403 || e.statusCode === 422);
  const verified = await appClient.v1.apps.verifyCredentials();
  assert.equal(verified.name, "sluice-client-suite (masto.js)");
});

await check("register an account (multipart POST /api/v1/accounts)", async () => {
  const appClient = createRestAPIClient({ url: BASE, accessToken: state.appToken, timeout: 30_000 });
  const token = await appClient.v1.accounts.create({
    username: USERNAME,
    email: `${USERNAME}@example.com`,
    password: PASSWORD,
    agreement: true,
    locale: "en",
  });
  assert.ok(token.accessToken, "registration returned no access_token");
  state.userToken = token.accessToken;
});

await check("registration without agreement is rejected with details", async () => {
  const appClient = createRestAPIClient({ url: BASE, accessToken: state.appToken, timeout: 30_000 });
  await assert.rejects(
    appClient.v1.accounts.create({
      username: `${USERNAME}x`,
      email: `${USERNAME}x@example.com`,
      password: PASSWORD,
      agreement: false,
      locale: "en",
    }),
    (e) => {
      assert.equal(e.statusCode, 422, `status ${e.statusCode}`);
      assert.equal(e.details?.agreement?.[0]?.error, "ERR_ACCEPTED", `details ${JSON.stringify(e.details)}`);
      return true;
    },
  );
});

const masto = createRestAPIClient({ url: BASE, accessToken: state.userToken, timeout: 30_000 });

await check("verify credentials", async () => {
  const me = await masto.v1.accounts.verifyCredentials();
  assert.equal(me.username, USERNAME);
  assert.equal(me.acct, USERNAME);
  assert.equal(me.url, `${BASE}/@${USERNAME}`);
  assert.equal(typeof me.source?.privacy, "string", "no source.privacy");
  state.me = me;
});

await check("post statuses", async () => {
  const posted = [];
  for (let i = 0; i < 5; i++) {
    posted.push(await masto.v1.statuses.create({ status: `${TAG} masto post ${i} #${TAG}`, visibility: "public" }));
  }
  posted.forEach((s, i) => {
    assert.ok(s.content.includes(`masto post ${i}`), `content ${s.content}`);
    assert.equal(s.account.id, state.me.id);
    assert.equal(s.visibility, "public");
  });
  assert.deepEqual(posted.map((s) => s.tags.map((t) => t.name.toLowerCase())), posted.map(() => [TAG.toLowerCase()]));
  state.posted = posted;
  state.newestFirst = ids(posted).reverse();
});

await check("home timeline paginator follows Link rel=next", async () => {
  const want = state.newestFirst;
  const pages = await collectPages(masto.v1.timelines.home.list({ limit: 2 }));
  assert.deepEqual(pages.map(ids), [want.slice(0, 2), want.slice(2, 4), want.slice(4, 5)]);
});

await check("home timeline paginator .next() one page at a time", async () => {
  const want = state.newestFirst;
  const it = masto.v1.timelines.home.list({ limit: 2 })[Symbol.asyncIterator]();
  const first = await it.next();
  assert.deepEqual(ids(first.value), want.slice(0, 2));
  const second = await it.next();
  assert.deepEqual(ids(second.value), want.slice(2, 4));
  await it.return?.();
});

await check("paginator direction prev follows Link rel=prev (min_id)", async () => {
  const want = state.newestFirst; // [s4, s3, s2, s1, s0]
  const pages = await collectPages(
    masto.v1.timelines.home.list({ limit: 2, minId: want[4] }).setDirection("prev"),
  );
  // min_id gives the statuses immediately newer than s0 (s2, s1), then prev pages go newer.
  assert.deepEqual(pages.map(ids), [want.slice(2, 4), want.slice(0, 2)]);
});

await check("account statuses paginate", async () => {
  const pages = await collectPages(masto.v1.accounts.$select(state.me.id).statuses.list({ limit: 3 }));
  assert.deepEqual(pages.map(ids), [state.newestFirst.slice(0, 3), state.newestFirst.slice(3, 5)]);
});

await check("tag and public timelines", async () => {
  const tagged = await masto.v1.timelines.tag.$select(TAG).list({ limit: 10 });
  assert.deepEqual(ids(tagged), state.newestFirst);
  const pub = await masto.v1.timelines.public.list({ limit: 40, local: true });
  for (const id of state.newestFirst) assert.ok(ids(pub).includes(id), `public timeline lacks ${id}`);
});

await check("lookup and relationships", async () => {
  const acc = await masto.v1.accounts.lookup({ acct: USERNAME });
  assert.equal(acc.id, state.me.id);
  const rels = await masto.v1.accounts.relationships.fetch({ id: [state.me.id] });
  assert.equal(rels.length, 1);
  assert.equal(rels[0].id, state.me.id);
});

await check("favourite, bookmark, context", async () => {
  const target = state.posted[0];
  const fav = await masto.v1.statuses.$select(target.id).favourite();
  assert.equal(fav.favourited, true);
  assert.equal(fav.favouritesCount, 1);
  const bm = await masto.v1.statuses.$select(target.id).bookmark();
  assert.equal(bm.bookmarked, true);
  const bookmarks = await masto.v1.bookmarks.list({ limit: 5 });
  assert.deepEqual(ids(bookmarks), [target.id]);
  const reply = await masto.v1.statuses.create({ status: `${TAG} reply`, inReplyToId: target.id });
  assert.equal(reply.inReplyToId, target.id);
  const ctx = await masto.v1.statuses.$select(reply.id).context.fetch();
  assert.deepEqual(ids(ctx.ancestors), [target.id]);
  assert.deepEqual(ids(ctx.descendants), []);
  const fetched = await masto.v1.statuses.$select(target.id).fetch();
  assert.equal(fetched.repliesCount, 1);
  assert.equal(fetched.favourited, true);
  assert.equal(fetched.bookmarked, true);
});

await check("update credentials (display name)", async () => {
  const me = await masto.v1.accounts.updateCredentials({ displayName: `Carol ${TAG}` });
  assert.equal(me.displayName, `Carol ${TAG}`);
  const again = await masto.v1.accounts.verifyCredentials();
  assert.equal(again.displayName, `Carol ${TAG}`);
});

await check("streaming: user and public:local over one WebSocket", async () => {
  const instance = await masto.v2.instance.fetch();
  const streaming = createStreamingAPIClient({
    streamingApiUrl: instance.configuration.urls.streaming,
    accessToken: state.userToken,
    retry: false,
  });
  const withTimeout = (p, what) =>
    Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), 25_000))]);
  // The first update event of a subscription (the iteration starts at once).
  const firstUpdate = (sub) =>
    (async () => {
      for await (const e of sub) if (e.event === "update") return e;
    })();
  const user = streaming.user.subscribe();
  const local = streaming.public.local.subscribe();
  const onUser = firstUpdate(user);
  const onLocal = firstUpdate(local);
  try {
    // masto sends its subscribe messages once the socket is open, which can take a
    // while on a busy machine, and a stream carries only what is posted after that:
    // post every two seconds until both subscriptions have seen one of the posts.
    const posted = new Set();
    let done = false;
    const both = Promise.all([onUser, onLocal]).finally(() => {
      done = true;
    });
    const poster = (async () => {
      for (let i = 0; i < 10 && !done; i++) {
        const post = await masto.v1.statuses.create({ status: `${TAG} streamed over a WebSocket ${i}` });
        posted.add(post.id);
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
    const [u, l] = await withTimeout(both, "updates on user and public:local");
    done = true;
    await poster;
    assert.ok(posted.has(u.payload.id), `unexpected update ${u.payload.id}`);
    assert.ok(posted.has(l.payload.id), `unexpected update ${l.payload.id}`);
    assert.deepEqual(l.stream, ["public:local"]);
  } finally {
    user.unsubscribe();
    local.unsubscribe();
    streaming.close();
  }
});

// A second account, for what needs two people (polls cannot be voted on by their
// author; notifications come from someone else).
await check("register a second account", async () => {
  const appClient = createRestAPIClient({ url: BASE, accessToken: state.appToken, timeout: 30_000 });
  const token = await appClient.v1.accounts.create({
    username: `${USERNAME}b`,
    email: `${USERNAME}b@example.com`,
    password: PASSWORD,
    agreement: true,
    locale: "en",
  });
  state.other = createRestAPIClient({ url: BASE, accessToken: token.accessToken, timeout: 30_000 });
});

await check("polls: create, vote, read back", async () => {
  const post = await masto.v1.statuses.create({
    status: `${TAG} pick one`,
    poll: { options: ["red", "green"], expiresIn: 600 },
  });
  assert.deepEqual(post.poll.options.map((o) => o.title), ["red", "green"]);
  assert.equal(post.poll.multiple, false);
  const voted = await state.other.v1.polls.$select(post.poll.id).votes.create({ choices: [1] });
  assert.equal(voted.voted, true);
  assert.deepEqual(voted.ownVotes, [1]);
  assert.deepEqual(voted.options.map((o) => o.votesCount), [0, 1]);
  await assert.rejects(
    masto.v1.polls.$select(post.poll.id).votes.create({ choices: [0] }),
    (e) => e.statusCode === 422,
    "the author voted in their own poll",
  );
  state.pollPost = post;
});

await check("grouped notifications (v2): favourites of one post in one group", async () => {
  const post = state.pollPost ?? (await masto.v1.statuses.create({ status: `${TAG} grouped` }));
  await state.other.v1.statuses.$select(post.id).favourite();
  await state.other.v1.statuses.$select(post.id).reblog();
  const grouped = await masto.v2.notifications.list({ groupedTypes: ["favourite", "reblog"] });
  const fav = grouped.notificationGroups.find((g) => g.type === "favourite" && g.statusId === post.id);
  assert.ok(fav, `no favourite group for the post: ${JSON.stringify(grouped.notificationGroups)}`);
  assert.equal(fav.notificationsCount, 1);
  assert.ok(grouped.accounts.some((a) => fav.sampleAccountIds.includes(a.id)), "sample account not in accounts");
  assert.ok(grouped.statuses.some((s) => s.id === post.id), "the post is not in statuses");
  const unread = await masto.v2.notifications.unreadCount.fetch();
  assert.ok(unread.count >= 2, `unread count ${JSON.stringify(unread)}`);
});

await check("push subscription: create, fetch, update, remove", async () => {
  // Keys as a browser makes them: a P-256 key pair and a 16-byte secret.
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const keys = { p256dh: ecdh.getPublicKey("base64url"), auth: randomBytes(16).toString("base64url") };
  const instance = await anon.v2.instance.fetch();
  const serverKey = instance.configuration.vapid.publicKey;
  assert.equal(Buffer.from(serverKey, "base64url").length, 65, `vapid key ${serverKey}`);
  const created = await masto.v1.push.subscription.create({
    subscription: { endpoint: `https://push.example.invalid/${TAG}`, keys },
    data: { alerts: { mention: true, favourite: true }, policy: "followed" },
  });
  assert.equal(created.endpoint, `https://push.example.invalid/${TAG}`);
  assert.equal(created.serverKey, serverKey);
  assert.equal(created.policy, "followed");
  assert.equal(created.alerts.mention, true);
  assert.equal(created.alerts.follow, false);
  const fetched = await masto.v1.push.subscription.fetch();
  assert.equal(fetched.id, created.id);
  const updated = await masto.v1.push.subscription.update({ data: { alerts: { follow: true }, policy: "all" } });
  assert.equal(updated.alerts.follow, true);
  assert.equal(updated.alerts.mention, true);
  assert.equal(updated.policy, "all");
  await masto.v1.push.subscription.remove();
  await assert.rejects(masto.v1.push.subscription.fetch(), (e) => e.statusCode === 404);
  // A key that is not a point on P-256 is refused.
  await assert.rejects(
    masto.v1.push.subscription.create({
      subscription: { endpoint: `https://push.example.invalid/${TAG}`, keys: { ...keys, p256dh: Buffer.alloc(65, 4).toString("base64url") } },
    }),
    (e) => e.statusCode === 422,
  );
});

await check("hashtags: follow, followed list, feature, tag page", async () => {
  const name = `${TAG}f`;
  const followed = await masto.v1.tags.$select(name).follow();
  assert.equal(followed.name, name.toLowerCase());
  assert.equal(followed.following, true);
  const list = await masto.v1.followedTags.list();
  assert.ok(list.some((t) => t.name === name.toLowerCase()), JSON.stringify(list));
  // The other account's public post with the tag is in this one's home.
  const post = await state.other.v1.statuses.create({ status: `#${name} from the other one` });
  const home = await masto.v1.timelines.home.list({ limit: 40 });
  assert.ok(home.some((s) => s.id === post.id), "the followed tag's post is not in home");
  const featured = await masto.v1.featuredTags.create({ name });
  assert.equal(featured.name, name.toLowerCase());
  assert.ok((await masto.v1.featuredTags.list()).some((t) => t.id === featured.id));
  await masto.v1.featuredTags.$select(featured.id).remove();
  const tag = await masto.v1.tags.$select(name).unfollow();
  assert.equal(tag.following, false);
  assert.equal(tag.history.length, 7);
  // Trends and suggestions answer in their shapes (what is in them depends on the
  // server's recent activity).
  assert.ok(Array.isArray(await masto.v1.trends.tags.list()));
  assert.ok(Array.isArray(await masto.v1.trends.statuses.list()));
  const suggestions = await masto.v2.suggestions.list();
  assert.ok(Array.isArray(suggestions));
});

await check("search v2: a post's URL finds the post", async () => {
  const post = await masto.v1.statuses.create({ status: `${TAG} find me by my address` });
  const found = await masto.v2.search.list({ q: post.url, resolve: true });
  assert.deepEqual(found.statuses.map((s) => s.id), [post.id]);
  const byWord = await masto.v2.search.list({ q: "#" + TAG, type: "hashtags" });
  assert.ok(byWord.hashtags.some((t) => t.name === TAG.toLowerCase()), JSON.stringify(byWord.hashtags));
});

await check("revoke token", async () => {
  const token = await oauth.token.create({
    grantType: "password",
    clientId: state.app.clientId,
    clientSecret: state.app.clientSecret,
    redirectUri: "urn:ietf:wg:oauth:2.0:oob",
    username: `${USERNAME}@example.com`,
    password: PASSWORD,
    scope: "read",
  });
  const c = createRestAPIClient({ url: BASE, accessToken: token.accessToken, timeout: 30_000 });
  assert.equal((await c.v1.accounts.verifyCredentials()).username, USERNAME);
  await oauth.revoke({ clientId: state.app.clientId, clientSecret: state.app.clientSecret, token: token.accessToken });
  await assert.rejects(c.v1.accounts.verifyCredentials(), (e) => e.statusCode === 401);
});

console.log(`masto: ${passed} checks passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
