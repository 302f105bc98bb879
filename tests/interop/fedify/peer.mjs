// A small ActivityPub peer built on Fedify (an independent implementation), used by
// ../fedify.sh to check that Sluice federates with it over plain HTTP on loopback.
//
//   PEER_LISTEN=127.0.0.3:PORT [PEER_HTTP_HOSTS=127.0.0.2:PORT] node peer.mjs
//
// Two actors, http://PEER_LISTEN/users/{reader,writer} (two, so that Sluice meets each
// one fresh: `reader` first through its signed Follow, `writer` first through
// WebFinger), each with an RSA key (HTTP signatures) and an Ed25519 key (object
// integrity proofs); everything in memory (MemoryKvStore, InProcessMessageQueue).
// Federation routes are Fedify's own; the test drives the peer through a small JSON
// control API under /_peer/ on the same listener:
//
//   GET  /_peer/state                          what the peer has seen (`state` below)
//   POST /_peer/follow {"actor", "handle"}     lookupObject(handle), then Follow
//   POST /_peer/post   {"actor", "content"}    Create(Note), public, to the followers
//
// A Move is handled as Mastodon handles one (Fedify leaves that to the app): the
// object must be the actor itself; the target's actor document is fetched again
// (signed, not from the cache) and must name the actor among its aliases
// (`alsoKnownAs`); then each of our actors that followed the old account sends a
// Follow to the target and an Undo of its old Follow (`state.moves` tells what was
// decided and why).
//
// Fedify resolves `user@host` handles through WebFinger over https only; for the hosts
// in PEER_HTTP_HOSTS (the Sluice server under test, on loopback) the global fetch is
// wrapped to use plain http instead, and it refuses any address off loopback.
// Nothing else differs from a stock Fedify app.
import { AsyncLocalStorage } from "node:async_hooks";
import { createServer } from "node:http";
import { Temporal } from "@js-temporal/polyfill";
import { configure, getConsoleSink } from "@logtape/logtape";
import {
  Accept,
  Create,
  createFederation,
  Endpoints,
  exportJwk,
  Follow,
  generateCryptoKeyPair,
  importJwk,
  InProcessMessageQueue,
  isActor,
  MemoryKvStore,
  Move,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Undo,
  Update,
} from "@fedify/fedify";

const LISTEN = process.env.PEER_LISTEN ?? "127.0.0.3:8090";
const [HOST, PORT_TEXT] = LISTEN.split(":");
const PORT = Number(PORT_TEXT);
const ORIGIN = `http://${LISTEN}`;
const ACTORS = ["reader", "writer"];
const HTTP_HOSTS = new Set(
  (process.env.PEER_HTTP_HOSTS ?? "").split(",").map((h) => h.trim()).filter(Boolean),
);
const LOOPBACK = /^127\.\d+\.\d+\.\d+$/;
if (!LOOPBACK.test(HOST) || !(PORT > 0)) {
  console.error(`PEER_LISTEN must be a loopback IPv4 HOST:PORT, not ${LISTEN}`);
  process.exit(2);
}

await configure({
  sinks: { console: getConsoleSink() },
  contextLocalStorage: new AsyncLocalStorage(),
  loggers: [
    { category: "fedify", lowestLevel: process.env.PEER_LOG_LEVEL ?? "info", sinks: ["console"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
  ],
});

// --- outbound HTTP: loopback only; plain http for the server under test ---------------
const blockedFetches = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (!LOOPBACK.test(url.hostname) && url.hostname !== "localhost") {
    // Fedify ships the JSON-LD contexts it needs; anything else would leave the machine.
    console.error(`peer: refusing to fetch ${url.href}: not a loopback address`);
    blockedFetches.push(url.href);
    return Promise.reject(new TypeError(`refusing to fetch ${url.href}: not a loopback address`));
  }
  const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
  if (url.protocol === "https:" && HTTP_HOSTS.has(url.host) && (method === "GET" || method === "HEAD")) {
    url.protocol = "http:";
    return realFetch(input instanceof Request ? new Request(url, input) : url, init);
  }
  return realFetch(input, init);
};

// --- what the peer has seen ----------------------------------------------------------
const state = {
  actors: Object.fromEntries(ACTORS.map((a) => [a, `${ORIGIN}/users/${a}`])),
  followers: Object.fromEntries(ACTORS.map((a) => [a, {}])), // ours -> follower id -> inboxes
  following: Object.fromEntries(ACTORS.map((a) => [a, {}])), // ours -> followed id -> { follow, accepted }
  received: [], // activities our inbox listeners handled
  notes: [], // Notes that arrived in a Create
  inboxPosts: [], // every POST to one of our inboxes: { path, status, keyId }
  webfinger: [], // resources asked for at /.well-known/webfinger
  outboxErrors: [],
  inboxErrors: [],
  posted: [], // Notes we published
  moves: [], // Moves received: { id, actor, object, target, verified, refused, moved }
  movedTo: {}, // old actor id -> new actor id, for the Moves we followed
  blockedFetches, // non-loopback URLs something tried to fetch (must stay empty)
};
const notes = new Map(); // our Notes, by id (dereferenceable)
let seq = 0;

function retry({ attempts }) {
  return attempts >= 4 ? null : Temporal.Duration.from({ milliseconds: 500 * 2 ** attempts });
}

const federation = createFederation({
  kv: new MemoryKvStore(),
  queue: new InProcessMessageQueue({ pollInterval: { milliseconds: 200 } }),
  origin: ORIGIN,
  allowPrivateAddress: true,
  // Bounded, quick retries: the test waits for half a minute or so.
  outboxRetryPolicy: retry,
  inboxRetryPolicy: retry,
  onOutboxError: (error, activity) => {
    console.error(`peer: outbox error for ${activity?.id?.href}: ${error}`);
    state.outboxErrors.push({ activity: activity?.id?.href ?? null, error: String(error) });
  },
});

// Keys: made once at start, kept as JWKs (as an app would store them).
const keys = {};
for (const actor of ACTORS) {
  keys[actor] = [];
  for (const algorithm of ["RSASSA-PKCS1-v1_5", "Ed25519"]) {
    const pair = await generateCryptoKeyPair(algorithm);
    keys[actor].push({ privateKey: await exportJwk(pair.privateKey), publicKey: await exportJwk(pair.publicKey) });
  }
}

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (!ACTORS.includes(identifier)) return null;
    const pairs = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: `Fedify ${identifier}`,
      summary: "A test actor run by Sluice's interop suite.",
      url: new URL(`/@${identifier}`, ctx.origin),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      followers: ctx.getFollowersUri(identifier),
      manuallyApprovesFollowers: false,
      publicKey: pairs[0].cryptographicKey,
      assertionMethods: pairs.map((p) => p.multikey),
    });
  })
  .mapHandle((_ctx, username) => (ACTORS.includes(username) ? username : null))
  .setKeyPairsDispatcher(async (_ctx, identifier) => {
    if (!ACTORS.includes(identifier)) return [];
    return Promise.all(
      keys[identifier].map(async (k) => ({
        privateKey: await importJwk(k.privateKey, "private"),
        publicKey: await importJwk(k.publicKey, "public"),
      })),
    );
  });

federation.setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
  if (!ACTORS.includes(identifier)) return null;
  const items = Object.entries(state.followers[identifier]).map(([id, inboxes]) => ({
    id: new URL(id),
    inboxId: new URL(inboxes.inbox),
    endpoints: inboxes.sharedInbox ? { sharedInbox: new URL(inboxes.sharedInbox) } : null,
  }));
  return { items };
});

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (ctx, values) => {
  return notes.get(ctx.getObjectUri(Note, values).href) ?? null;
});

function record(activity, extra = {}) {
  state.received.push({
    type: activity.constructor.name,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object: activity.objectId?.href ?? null,
    ...extra,
  });
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    record(follow);
    if (follow.id == null || follow.objectId == null) return;
    const target = ctx.parseUri(follow.objectId);
    if (target?.type !== "actor" || !ACTORS.includes(target.identifier)) return;
    const follower = await follow.getActor(ctx);
    if (!isActor(follower) || follower.id == null || follower.inboxId == null) return;
    state.followers[target.identifier][follower.id.href] = {
      inbox: follower.inboxId.href,
      sharedInbox: follower.endpoints?.sharedInbox?.href ?? null,
    };
    const me = ctx.getActorUri(target.identifier);
    await ctx.sendActivity(
      { identifier: target.identifier },
      follower,
      new Accept({ id: new URL(`${me.href}#accepts/${++seq}`), actor: me, object: follow }),
    );
  })
  .on(Accept, async (_ctx, accept) => {
    record(accept);
    for (const followed of Object.values(state.following)) {
      for (const entry of Object.values(followed)) {
        if (accept.objectId?.href === entry.follow) entry.accepted = true;
      }
    }
  })
  .on(Undo, async (_ctx, undo) => {
    record(undo);
  })
  .on(Update, async (_ctx, update) => {
    // A profile change (the mover's `movedTo` among them): recorded, nothing kept.
    record(update);
  })
  .on(Move, async (ctx, move) => {
    const origin = move.actorId?.href ?? null;
    const entry = {
      id: move.id?.href ?? null,
      actor: origin,
      object: move.objectId?.href ?? null,
      target: move.targetId?.href ?? null,
      verified: false,
      refused: null,
      moved: [],
    };
    state.moves.push(entry);
    record(move, { target: entry.target });
    if (origin == null || entry.object !== origin || entry.target == null || entry.target === origin) {
      entry.refused = "the object of a Move must be its actor, and its target another account";
      return;
    }
    const movers = ACTORS.filter((a) => state.following[a][origin] != null);
    if (movers.length === 0) {
      entry.refused = "none of our actors follows the actor";
      return;
    }
    // The target as it is now: fetched again, signed as one of ours, not from a cache.
    const documentLoader = await ctx.getDocumentLoader({ identifier: movers[0] });
    const target = await move.getTarget({ documentLoader });
    if (!isActor(target) || target.id?.href !== entry.target || target.inboxId == null) {
      entry.refused = "the target is not an actor";
      return;
    }
    if (!target.aliasIds.some((u) => u.href === origin)) {
      entry.refused = "the target does not name the actor among its aliases (alsoKnownAs)";
      return;
    }
    const old = await move.getActor({ documentLoader });
    if (!isActor(old) || old.id?.href !== origin) {
      entry.refused = "the actor cannot be fetched";
      return;
    }
    entry.verified = true;
    state.movedTo[origin] = entry.target;
    for (const me of movers) {
      const meUri = ctx.getActorUri(me);
      const followId = new URL(`${meUri.href}#follows/${++seq}`);
      state.following[me][entry.target] = { follow: followId.href, accepted: false, movedFrom: origin };
      await ctx.sendActivity({ identifier: me }, target, new Follow({ id: followId, actor: meUri, object: target.id }));
      const before = state.following[me][origin];
      delete state.following[me][origin];
      await ctx.sendActivity(
        { identifier: me },
        old,
        new Undo({
          id: new URL(`${meUri.href}#undo/${++seq}`),
          actor: meUri,
          object: new Follow({ id: new URL(before.follow), actor: meUri, object: old.id }),
        }),
      );
      entry.moved.push(me);
    }
  })
  .on(Create, async (ctx, create) => {
    const object = await create.getObject(ctx);
    const extra = {};
    if (object instanceof Note) {
      extra.note = object.id?.href ?? null;
      state.notes.push({
        id: object.id?.href ?? null,
        attributedTo: object.attributionId?.href ?? null,
        content: object.content?.toString() ?? null,
        to: object.toIds.map((u) => u.href),
        cc: object.ccIds.map((u) => u.href),
        url: object.url?.href ?? null,
      });
    }
    record(create, extra);
  })
  .onError((_ctx, error) => {
    console.error(`peer: inbox listener error: ${error?.stack ?? error}`);
    state.inboxErrors.push(String(error));
  });

// --- control API -----------------------------------------------------------------------
function json(value, status = 200) {
  return new Response(JSON.stringify(value, null, 2), {
    status,
    headers: { "content-type": "application/json" },
  });
}

async function control(request, path) {
  const ctx = federation.createContext(new URL(ORIGIN), undefined);
  if (request.method === "GET" && path === "/_peer/state") return json(state);
  const body = request.method === "POST" ? await request.json().catch(() => ({})) : {};
  const me = String(body.actor ?? "");
  if (request.method === "POST" && !ACTORS.includes(me)) {
    return json({ error: `"actor" must be one of ${ACTORS.join(", ")}` }, 400);
  }
  if (request.method === "POST" && path === "/_peer/follow") {
    const actor = await ctx.lookupObject(String(body.handle ?? ""));
    if (!isActor(actor) || actor.id == null) {
      return json({ error: `lookupObject(${body.handle}) found no actor`, found: actor?.constructor?.name ?? null }, 404);
    }
    const followId = new URL(`${ctx.getActorUri(me).href}#follows/${++seq}`);
    state.following[me][actor.id.href] = { follow: followId.href, accepted: false };
    await ctx.sendActivity(
      { identifier: me },
      actor,
      new Follow({ id: followId, actor: ctx.getActorUri(me), object: actor.id }),
    );
    return json({
      actor: {
        id: actor.id.href,
        type: actor.constructor.name,
        preferredUsername: actor.preferredUsername?.toString() ?? null,
        inbox: actor.inboxId?.href ?? null,
        sharedInbox: actor.endpoints?.sharedInbox?.href ?? null,
        publicKey: (await actor.getPublicKey())?.id?.href ?? null,
      },
      follow: followId.href,
    });
  }
  if (request.method === "POST" && path === "/_peer/post") {
    const noteId = ctx.getObjectUri(Note, { identifier: me, id: String(++seq) });
    const followers = ctx.getFollowersUri(me);
    const note = new Note({
      id: noteId,
      attribution: ctx.getActorUri(me),
      content: `<p>${String(body.content ?? "hello")}</p>`,
      to: PUBLIC_COLLECTION,
      cc: followers,
      published: Temporal.Now.instant(),
      url: noteId,
    });
    notes.set(noteId.href, note);
    const create = new Create({
      id: new URL(`${noteId.href}#create`),
      actor: ctx.getActorUri(me),
      object: note,
      to: PUBLIC_COLLECTION,
      cc: followers,
      published: note.published,
    });
    await ctx.sendActivity({ identifier: me }, "followers", create);
    state.posted.push(noteId.href);
    return json({ note: noteId.href, followers: Object.keys(state.followers[me]) });
  }
  return json({ error: "no such control endpoint" }, 404);
}

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname.startsWith("/_peer/")) {
    try {
      return await control(request, url.pathname);
    } catch (e) {
      console.error(`peer: control ${url.pathname} failed: ${e?.stack ?? e}`);
      return json({ error: String(e?.stack ?? e) }, 500);
    }
  }
  if (url.pathname === "/.well-known/webfinger") {
    state.webfinger.push(url.searchParams.get("resource"));
  }
  const response = await federation.fetch(request, { contextData: undefined });
  if (request.method === "POST" && /(^|\/)inbox$/.test(url.pathname)) {
    const sig = request.headers.get("signature") ?? request.headers.get("signature-input") ?? "";
    const entry = { path: url.pathname, status: response.status, keyId: /keyId="([^"]*)"/.exec(sig)?.[1] ?? sig };
    if (!response.ok) entry.body = await response.clone().text();
    state.inboxPosts.push(entry);
  }
  return response;
}

// --- node:http <-> fetch Request/Response --------------------------------------------
async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const server = createServer(async (req, res) => {
  try {
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const url = new URL(req.url, `http://${req.headers.host ?? LISTEN}`);
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(url, {
      method: req.method,
      headers,
      body: hasBody ? await readBody(req) : undefined,
    });
    const response = await handle(request);
    const out = {};
    response.headers.forEach((value, name) => {
      out[name] = name in out ? `${out[name]}, ${value}` : value;
    });
    const body = req.method === "HEAD" ? null : Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, out);
    res.end(body);
    console.log(`peer: ${req.method} ${req.url} -> ${response.status}`);
  } catch (e) {
    console.error(`peer: ${req.method} ${req.url} failed: ${e?.stack ?? e}`);
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end("internal error");
  }
});

server.listen(PORT, HOST, () => console.log(`peer: listening on ${ORIGIN}, actors ${ACTORS.join(", ")}`));
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
