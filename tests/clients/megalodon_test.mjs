// megalodon 10.x against a running Sluice server: its `detector()` must take the
// server for Mastodon (from NodeInfo), then its Mastodon client signs two
// new users up through megalodon's own app and registration calls, then listens
// with `userStreaming()` (a WebSocket to the streaming URL the instance names) and
// must receive an `update` for a followed account's post and a `notification` for
// a mention.
//
// Environment (set by run.sh): SLUICE_BASE_URL, e.g. http://127.0.0.1:40123.
// Every check asserts something that can fail; the exit status is non-zero when
// any failed.

import assert from "node:assert/strict";
import generator, { detector } from "megalodon";

const BASE = (process.env.SLUICE_BASE_URL || "").replace(/\/+$/, "");
const host = BASE ? new URL(BASE).hostname : "";
if (!["127.0.0.1", "[::1]", "localhost"].includes(host)) {
  console.error(`refusing to run against non-loopback host ${JSON.stringify(host)}`);
  process.exit(2);
}

const STAMP = Date.now() % 1e6;
const PASSWORD = "correct horse battery staple";
let passed = 0;
let failed = 0;
const state = {};

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - megalodon: ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`not ok - megalodon: ${name}: ${e?.message ?? e}`);
    if (!(e instanceof assert.AssertionError)) console.log(e?.stack ?? e);
  }
}

const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);

// An app and an app token through megalodon, then a registered user with a token.
async function signUp(name) {
  const anon = generator("mastodon", BASE);
  const app = await anon.registerApp("sluice-client-suite (megalodon)", {
    scopes: ["read", "write", "follow"],
    redirect_uris: "urn:ietf:wg:oauth:2.0:oob",
  });
  assert.ok(app.client_id && app.client_secret, "registerApp gave no credentials");
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: app.client_id,
    client_secret: app.client_secret,
    scope: "read write follow",
  });
  const res = await fetch(`${BASE}/oauth/token`, { method: "POST", body: form });
  assert.equal(res.status, 200, "client_credentials token");
  const appToken = (await res.json()).access_token;
  const asApp = generator("mastodon", BASE, appToken);
  const registered = await asApp.registerAccount(name, `${name}@example.com`, PASSWORD, true, "en");
  assert.ok(registered.data.access_token, "registerAccount gave no token");
  const client = generator("mastodon", BASE, registered.data.access_token);
  const me = await client.verifyAccountCredentials();
  assert.equal(me.data.username, name);
  return { client, id: me.data.id, token: registered.data.access_token };
}

// megalodon picks its client by the server's NodeInfo: Sluice names itself, and says
// in `metadata.upstream` that it speaks Mastodon's API.
await check("detector() finds a Mastodon-compatible server", async () => {
  assert.equal(await detector(BASE), "mastodon");
});

await check("sign up two users (registerApp, registerAccount)", async () => {
  state.reader = await signUp(`meg${STAMP}`);
  state.writer = await signUp(`megw${STAMP}`);
  await state.reader.client.followAccount(state.writer.id);
  const rel = await state.reader.client.getRelationship(state.writer.id);
  assert.equal(rel.data.following, true);
});

await check("userStreaming() receives update and notification", async () => {
  assert.ok(state.reader, "no users");
  const stream = await state.reader.client.userStreaming();
  const updates = [];
  const notifications = [];
  const errors = [];
  stream.on("update", (s) => updates.push(s));
  stream.on("notification", (n) => notifications.push(n));
  stream.on("error", (e) => errors.push(e));
  try {
    await withTimeout(new Promise((resolve) => stream.on("connect", resolve)), 20_000, "connect");
    // A stream carries what is posted after it opened: post until both arrived.
    const posted = new Set();
    const mention = `@meg${STAMP}`;
    for (let i = 0; i < 10; i++) {
      const s = await state.writer.client.postStatus(`${mention} megalodon streaming ${i}`);
      posted.add(s.data.id);
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && !(updates.length && notifications.length)) {
        await new Promise((r) => setTimeout(r, 100));
      }
      if (updates.length && notifications.length) break;
    }
    assert.ok(updates.length > 0, `no update (errors: ${errors.map(String).join("; ")})`);
    assert.ok(posted.has(updates[0].id), `unexpected update ${updates[0].id}`);
    assert.equal(updates[0].account.id, state.writer.id);
    assert.ok(notifications.length > 0, "no notification");
    assert.equal(notifications[0].type, "mention");
    assert.ok(posted.has(notifications[0].status.id), "the notification names another status");
  } finally {
    stream.stop();
  }
});

console.log(`megalodon: ${passed} checks passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
