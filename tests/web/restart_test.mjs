// A page kept open across a server upgrade misses nothing: frank's home page (which
// has seen live posts) and his local timeline (opened just before, having seen none)
// stay open while the server is upgraded with `sluice admin upgrade`; erin posts
// before, while the pages reconnect, and after. Both pages end up showing every post
// without a reload, and home says it reconnected. Also: a page whose stream connects
// only after a post was made still gets that post.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import {
  LIVE_MS,
  compose,
  cspCanary,
  eventually,
  launch,
  person,
  report,
  signUp,
  stepper,
  submitAndReturn,
  word,
} from './lib.mjs';

const UPGRADE = process.env.WEB_UPGRADE;

/// Runs `sluice admin upgrade` (a script run.sh wrote, with the server's settings).
function upgrade() {
  return new Promise((resolve) => {
    execFile('bash', [UPGRADE], { timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 'killed') : 0, out: `${stdout}${stderr}` });
    });
  });
}

/// Opens `path` on a new page of `p` and waits for its live stream to connect;
/// records every status notice the page shows.
async function livePage(p, path, stream) {
  const page = await p.newPage();
  // What happened to the page's streams, printed at the end (timing matters here).
  const at = () => new Date().toISOString().slice(11, 23);
  const short = (u) => `${path} ${new URL(u).pathname}`;
  page.on('request', (r) => r.url().includes('/streaming/') && trace.push(`${at()} ${short(r.url())}: request`));
  page.on('response', (r) => r.url().includes('/streaming/') && trace.push(`${at()} ${short(r.url())}: ${r.status()}`));
  page.on('requestfinished', (r) => r.url().includes('/streaming/') && trace.push(`${at()} ${short(r.url())}: ended`));
  page.on('requestfailed', (r) => r.url().includes('/streaming/') && trace.push(`${at()} ${short(r.url())}: ${r.failure()?.errorText}`));
  const connected = page.waitForResponse((r) => r.url().includes(`/api/v1/streaming/${stream}`));
  await p.goto(path, page);
  assert.equal((await connected).status(), 200, `the live stream of ${path}`);
  await page.evaluate(() => {
    window.__sameDocument = true;
    window.__notices = [];
    const seen = () => {
      for (const n of document.querySelectorAll('p.notice[role=status]')) {
        const text = n.textContent.trim();
        if (text && window.__notices.at(-1) !== text) window.__notices.push(text);
      }
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return page;
}

const notices = (page) => page.evaluate(() => window.__notices);
const trace = [];

test('a page kept open across a server upgrade misses nothing', { timeout: 200_000 }, async (t) => {
  assert.ok(UPGRADE, 'WEB_UPGRADE is not set (run tests/web/run.sh)');
  const browser = await launch();
  t.after(() => browser.close());
  const step = stepper(t);
  const erin = await person(browser, 'erin');
  const frank = await person(browser, 'frank');
  const people = [erin, frank];
  t.after(() => report(people));
  const posts = {};
  const gap = {};
  gap.closed = new Promise((r) => {
    gap.close = r;
  });
  t.after(() => gap.close());
  t.after(() => console.log(`streams:\n  ${trace.join('\n  ')}`));
  let home;
  let local;

  await step('erin and frank sign up; frank follows erin', async () => {
    await erin.goto('/about');
    await cspCanary(erin);
    await signUp(erin, 'erin');
    await signUp(frank, 'frank');
    await frank.goto('/@erin');
    const profile = frank.page.locator('header.profile');
    await submitAndReturn(frank.page, profile.getByRole('button', { name: 'Follow', exact: true }), '/@erin');
    await erin.goto('/home');
  });

  await step("frank's open home page shows erin's post live", async () => {
    home = await livePage(frank, '/home', 'user');
    posts.before = await compose(erin, { text: word('before') });
    await home.locator(`#s-${posts.before}`).waitFor({ timeout: LIVE_MS });
  });

  await step('a page whose stream connects late misses nothing posted meanwhile', async () => {
    // The stream's request is held until erin has posted: the post is neither in the
    // page (read before) nor sent live to it; the page resumes from where it was read.
    const page = await frank.newPage();
    let release;
    const held = new Promise((r) => {
      release = r;
    });
    await page.route('**/api/v1/streaming/**', async (route) => {
      await held;
      await route.continue();
    });
    await frank.goto('/public/local', page);
    posts.early = await compose(erin, { text: word('early') });
    assert.equal(await page.locator(`#s-${posts.early}`).count(), 0);
    release();
    await page.locator(`#s-${posts.early}`).waitFor({ timeout: LIVE_MS });
    await page.close();
    // A page opened now has seen no event yet when the server goes away.
    local = await livePage(frank, '/public/local', 'public/local');
    assert.equal(await local.locator(`#s-${posts.before}`).count(), 1);
  });

  await step('the server is upgraded (sluice admin upgrade)', async () => {
    // From now on the pages' new stream requests wait until erin has posted, so the
    // post surely falls in the gap, however quickly a page reconnects.
    for (const page of [home, local]) {
      await page.route('**/api/v1/streaming/**', async (route) => {
        await gap.closed;
        await route.continue();
      });
    }
    trace.push(`${new Date().toISOString().slice(11, 23)} sluice admin upgrade`);
    const up = await upgrade();
    trace.push(`${new Date().toISOString().slice(11, 23)} upgraded`);
    assert.equal(up.code, 0, `sluice admin upgrade failed: ${up.out}`);
    assert.match(up.out, /upgraded/);
  });

  await step('the pages lose their stream; erin posts while they reconnect', async () => {
    // The old process ends its streams once the new one serves; the pages say so,
    // and wait a moment before connecting again (EventSource's retry delay).
    await eventually('the home page reports reconnecting', async () =>
      (await notices(home)).some((x) => /^Reconnecting/.test(x)),
    );
    posts.gap = await compose(erin, { text: word('gap') });
    const n = await notices(home);
    assert.ok(
      !n.some((x) => /^Connected again/.test(x)),
      `home had reconnected before the post was made: the test did not make a gap (${n})`,
    );
    gap.close();
  });

  await step('home says it got the connection back', async () => {
    await eventually(
      'the home page reports being connected again',
      async () => {
        const n = await notices(home);
        const lost = n.findIndex((x) => /^Reconnecting/.test(x));
        return lost >= 0 && n.slice(lost + 1).some((x) => /^Connected again/.test(x));
      },
      20_000,
    );
  });

  await step('erin posts again after the upgrade', async () => {
    posts.after = await compose(erin, { text: word('after') });
  });

  await step('both pages show every post, without a reload', async () => {
    for (const [label, page] of [['home', home], ['local timeline', local]]) {
      for (const [name, id] of Object.entries(posts)) {
        await page
          .locator(`#s-${id}`)
          .waitFor({ timeout: LIVE_MS })
          .catch(() => assert.fail(`${label}: erin's "${name}" post never appeared`));
        assert.equal(await page.locator(`#s-${id}`).count(), 1, `${label}: "${name}" is shown once`);
      }
      assert.ok(await page.evaluate(() => window.__sameDocument === true), `${label} was reloaded`);
    }
    // Newest first, as the timeline is.
    const order = await home.locator('section.timeline > article').evaluateAll((as) => as.map((a) => a.dataset.id));
    const ours = order.filter((id) => Object.values(posts).includes(id));
    assert.deepEqual(ours, [posts.after, posts.gap, posts.early, posts.before], 'home lists the posts newest first');
  });

  await step('no CSP violation and no script error on any page', async () => {
    for (const p of people) p.assertClean('during the run');
  });
});
