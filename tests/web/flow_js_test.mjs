// Two people, JavaScript on: sign up, sign out and in, follow, a post with a content
// warning that the follower's open home page shows without a reload, replies two levels
// deep shown as a tree, a favourite counted in place and shown live on the author's
// notifications page, the character count, "Older posts" in place, sign out.
// Accessibility audits of about, sign-up, sign-in, home, a thread, a profile (also
// muted for a while, from its mute form), notifications and every settings page; no
// CSP violation anywhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LIVE_MS,
  assertSignedIn,
  audit,
  compose,
  cspCanary,
  eventually,
  launch,
  person,
  replyInPlace,
  report,
  signIn,
  signOut,
  signUp,
  stepper,
  submitAndReturn,
  word,
} from './lib.mjs';

test('two people in two browsers, JavaScript on', { timeout: 200_000 }, async (t) => {
  const browser = await launch();
  t.after(() => browser.close());
  const step = stepper(t);
  const alice = await person(browser, 'alice');
  const bob = await person(browser, 'bob');
  const people = [alice, bob];
  t.after(() => report(people));
  const ids = {};
  const cw = word('spoiler');
  const text = word('hello');

  await step('the CSP watch sees a violation (canary)', async () => {
    await alice.goto('/about');
    await cspCanary(alice);
  });

  await step('about page, signed out: no serious accessibility violation', async () => {
    await alice.goto('/about');
    await alice.page.getByRole('heading', { level: 1 }).waitFor();
    await audit(alice.page, 'about');
  });

  await step('sign-up and sign-in pages: no serious accessibility violation', async () => {
    await alice.goto('/auth/sign_up');
    await audit(alice.page, 'sign up');
    await alice.goto('/auth/sign_in');
    await audit(alice.page, 'sign in');
  });

  await step('both sign up through the form', async () => {
    await signUp(alice, 'alice');
    await signUp(bob, 'bob');
  });

  await step('sign out, then sign in again', async () => {
    await signOut(alice);
    await signIn(alice, 'alice');
    await assertSignedIn(alice, 'alice');
    await signOut(bob);
    await signIn(bob, 'bob@example.com');
    await assertSignedIn(bob, 'bob');
  });

  await step("bob follows alice from her profile page", async () => {
    const page = bob.page;
    await bob.goto('/@alice');
    const profile = page.locator('header.profile');
    await submitAndReturn(page, profile.getByRole('button', { name: 'Follow', exact: true }), '/@alice');
    const unfollow = profile.getByRole('button', { name: 'Unfollow' });
    await unfollow.waitFor();
    assert.equal(await unfollow.getAttribute('aria-pressed'), 'true');
    assert.match(await profile.locator('.counts').innerText(), /\b1 follower\b/);
  });

  await step("alice posts with a content warning; bob's open home page shows it without a reload", async () => {
    const page = bob.page;
    // Bob's home is open (and its live stream connected) before alice posts.
    const streaming = page.waitForResponse((r) => r.url().includes('/api/v1/streaming/user'));
    await bob.goto('/home');
    assert.equal((await streaming).status(), 200);
    await page.evaluate(() => {
      window.__sameDocument = true;
    });

    await alice.goto('/home');
    ids.post = await compose(alice, { text, cw });

    const live = page.locator(`#s-${ids.post}`);
    await live.waitFor({ timeout: LIVE_MS });
    assert.ok(await page.evaluate(() => window.__sameDocument === true), 'bob\'s page was reloaded');
    assert.match(await live.getAttribute('class'), /\bfresh\b/);
    // The content warning hides the text until opened.
    const details = live.locator('details');
    assert.equal(await details.locator('summary').innerText(), cw);
    assert.equal(await details.evaluate((d) => d.open), false);
    assert.equal(await live.getByText(text).isVisible(), false);
    await details.locator('summary').click();
    assert.equal(await live.getByText(text).isVisible(), true);
  });

  await step('home page with posts: no serious accessibility violation', async () => {
    await audit(bob.page, 'home');
  });

  await step('home page on a phone: one column, nothing wider than the screen', async () => {
    const page = bob.page;
    const size = page.viewportSize();
    await page.setViewportSize({ width: 360, height: 740 });
    try {
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        screen: window.innerWidth,
      }));
      assert.ok(widths.page <= widths.screen, `the page scrolls sideways: ${JSON.stringify(widths)}`);
      await audit(page, 'home (phone)');
    } finally {
      await page.setViewportSize(size);
    }
  });

  await step('bob replies from the thread page, without a reload', async () => {
    await bob.goto(`/@alice/${ids.post}`);
    const page = bob.page;
    ids.reply1 = await replyInPlace(bob, { text: word('bobreply'), form: page.locator('#reply form.compose') });
    // It is under the post it answers, and the form is ready for another.
    assert.equal(await page.locator(`.thread > ol.tree > li > article#s-${ids.reply1}`).count(), 1);
    assert.equal(await page.locator('#reply textarea').inputValue(), '@alice ');
  });

  await step("alice replies in place to bob's reply, one level down", async () => {
    await alice.goto(`/@bob/${ids.reply1}`);
    // The thread page of the reply shows alice's post above it.
    await alice.page.locator(`ol.ancestors #s-${ids.post}`).waitFor();
    // From her own post's page, at the reply's depth in the tree.
    await alice.goto(`/@alice/${ids.post}`);
    const page = alice.page;
    const replyLink = page.locator(`#s-${ids.reply1}`).getByRole('link', { name: 'Reply' });
    await replyLink.click();
    const form = page.locator(`#s-${ids.reply1} + section.inline-reply form.compose`);
    await form.waitFor();
    assert.equal(await replyLink.getAttribute('aria-expanded'), 'true');
    // The cursor is in the reply, after the mention of the person answered.
    assert.equal(await page.evaluate(() => document.activeElement.name), 'status');
    assert.equal(await form.locator('textarea').inputValue(), '@bob ');
    ids.reply2 = await replyInPlace(alice, { text: word('alicereply'), form });
    assert.equal(await page.locator('section.inline-reply').count(), 0, 'the form closed');
    const nested = page.locator(`.thread > ol.tree > li:has(> article#s-${ids.reply1}) ol.tree > li > article#s-${ids.reply2}`);
    assert.equal(await nested.count(), 1, "alice's reply is under bob's");
  });

  await step('the thread page shows the replies as a tree, two levels deep', async () => {
    const page = alice.page;
    await alice.goto(`/@alice/${ids.post}`);
    await page.locator(`.thread > .focus #s-${ids.post}`).waitFor();
    const level1 = page.locator(`.thread > ol.tree > li > article#s-${ids.reply1}`);
    const level2 = page.locator(`.thread > ol.tree > li > details > ol.tree > li > article#s-${ids.reply2}`);
    assert.equal(await level1.count(), 1, "bob's reply is a direct reply");
    assert.equal(await level2.count(), 1, "alice's reply is nested under bob's");
    assert.equal(await page.locator('.thread > ol.tree > li > details > summary').innerText(), '1 reply to this');
    assert.match(await page.locator(`#s-${ids.post} .counts`).innerText(), /^1 reply\b/);
    // Bob's reply mentions alice; alice's mentions bob.
    assert.match(await level1.locator('.e-content').innerText(), /@alice/);
    assert.match(await level2.locator('.e-content').innerText(), /@bob/);
  });

  await step('thread page: no serious accessibility violation', async () => {
    await audit(alice.page, 'thread');
  });

  await step("bob favourites the post in place; the count follows, and alice's open notifications page shows it, without a reload", async () => {
    const page = bob.page;
    // Alice's notifications page is open (its live stream connected) before bob acts.
    const streaming = alice.page.waitForResponse((r) => r.url().includes('/api/v1/streaming/user/notification'));
    await alice.goto('/notifications');
    assert.equal((await streaming).status(), 200);
    await alice.page.evaluate(() => {
      window.__sameDocument = true;
    });
    const before = await alice.page.locator('section.notifications > div.notification').count();
    await bob.goto(`/@alice/${ids.post}`);
    await page.evaluate(() => {
      window.__sameDocument = true;
    });
    const focus = page.locator(`.focus #s-${ids.post}`);
    const sent = page.waitForResponse((r) => r.url().endsWith(`/statuses/${ids.post}/favourite`));
    await focus.getByRole('button', { name: 'Favourite', exact: true }).click();
    const res = await sent;
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /application\/json/);
    const un = focus.getByRole('button', { name: 'Unfavourite' });
    await un.waitFor();
    assert.equal(await un.getAttribute('aria-pressed'), 'true');
    // The post is rendered again; the keyboard focus stays on the button.
    await eventually('the focus on the pressed button', async () =>
      (await page.evaluate(() => document.activeElement?.textContent)) === 'Unfavourite',
    );
    await eventually('the count shows the favourite', async () =>
      /\b1 favourite\b/.test(await focus.locator('.counts').innerText()),
    );
    assert.ok(await page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
    // Alice's page: the favourite, rendered by the server as the page renders it, on top.
    const first = alice.page.locator('section.notifications > div.notification').first();
    await eventually('the favourite shows on alice\'s notifications page', async () =>
      (await first.locator('p.meta').first().innerText()).includes('favourited your post'),
    );
    assert.match(await first.getAttribute('class'), /\bfresh\b/);
    assert.match(await first.locator('p.meta a').first().innerText(), /bob/);
    assert.equal(await first.locator(`#s-${ids.post}`).count(), 1);
    assert.equal(await alice.page.locator('section.notifications > div.notification').count(), before + 1);
    assert.ok(await alice.page.evaluate(() => window.__sameDocument === true), 'alice\'s page was reloaded');
    // Undo and redo, in place too.
    await un.click();
    await focus.getByRole('button', { name: 'Favourite', exact: true }).waitFor();
    await eventually('the count drops', async () => /\b0 favourites\b/.test(await focus.locator('.counts').innerText()));
    await focus.getByRole('button', { name: 'Favourite', exact: true }).click();
    await un.waitFor();
    await eventually('the count is back', async () => /\b1 favourite\b/.test(await focus.locator('.counts').innerText()));
    assert.ok(await page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
    // What the server kept: alice sees it, worded as the script worded it.
    const inPlace = await focus.locator('.counts').innerText();
    await alice.goto(`/@alice/${ids.post}`);
    assert.equal(await alice.page.locator(`.focus #s-${ids.post} .counts`).innerText(), inPlace);
    assert.equal(inPlace, '1 reply · 0 boosts · 1 favourite');
  });

  await step('profile page: no serious accessibility violation', async () => {
    await bob.goto('/@alice');
    await bob.page.locator(`#s-${ids.post}`).waitFor();
    await audit(bob.page, 'profile');
  });

  await step('about and notifications, signed in: no serious accessibility violation', async () => {
    await alice.goto('/about');
    await audit(alice.page, 'about (signed in)');
    // Bob's follow, reply and favourite are there.
    await alice.goto('/notifications');
    await alice.page.locator(`#s-${ids.reply1}`).first().waitFor();
    await audit(alice.page, 'notifications');
  });

  await step('the character count follows the text and the content warning', async () => {
    const page = alice.page;
    await alice.goto('/home');
    const form = page.locator('form.compose');
    const max = Number(await form.locator('textarea').getAttribute('data-max'));
    assert.ok(max > 0);
    await form.locator('textarea').fill('ten chars!');
    await form.getByLabel('Content warning (optional)').fill('five!');
    await eventually('the count', async () => (await page.locator('#compose-count').innerText()) === `${max - 15} characters left`);
    await form.locator('textarea').fill('x'.repeat(max + 1));
    await eventually('the count goes negative', async () =>
      (await page.locator('#compose-count').getAttribute('class')).split(' ').includes('over'),
    );
  });

  await step('"Older posts" loads the next page in place', async () => {
    // More than a page of posts on this server's timeline.
    await alice.goto('/home');
    for (let i = 0; i < 20; i++) await compose(alice, { text: word(`filler${i}-`) });
    const page = bob.page;
    await bob.goto('/public/local');
    const posts = page.locator('section.timeline > article');
    const first = await posts.count();
    assert.equal(first, 20, 'a page holds 20 posts');
    await page.evaluate(() => {
      window.__sameDocument = true;
    });
    const more = page.getByRole('link', { name: 'Older posts' });
    // What the next page holds, as the server renders it.
    const next = await (await bob.context.request.get(await more.getAttribute('href'))).text();
    const older = [...next.matchAll(/<article class="status h-entry" id="(s-\d+)"/g)].map((m) => m[1]);
    assert.ok(older.length > 0, 'the next page has posts');
    await more.click();
    await eventually('older posts appended', async () => (await posts.count()) > first);
    const shown = await posts.evaluateAll((as) => as.map((a) => a.id));
    assert.equal(new Set(shown).size, shown.length, 'no post twice');
    assert.deepEqual(shown.slice(first), older, 'the next page, appended in order');
    assert.ok(await page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
    await eventually('no more "Older posts"', async () => (await page.getByRole('link', { name: 'Older posts' }).count()) === 0);
  });

  await step('settings pages, and a profile muted for a while: no serious accessibility violation', async () => {
    const page = bob.page;
    // Something on every list: a filter, a timed mute from alice's profile (its
    // form, JavaScript or not, is a plain POST back to the profile), a blocked domain.
    await bob.goto('/settings/filters/new');
    await page.getByLabel('Title').fill('Spoilers');
    await page.getByLabel('Keyword 1').fill('spoiler');
    await submitAndReturn(page, page.getByRole('button', { name: 'Add filter' }), '/settings/filters?saved=1');
    const edit = page.getByRole('link', { name: 'Edit Spoilers' });
    const filterPath = await edit.getAttribute('href');
    await bob.goto('/@alice');
    const profile = page.locator('header.profile');
    await profile.getByLabel('Mute for').selectOption({ label: '1 hour' });
    assert.equal(await profile.getByLabel('Hide notifications from them too').isChecked(), true);
    await submitAndReturn(page, profile.getByRole('button', { name: 'Mute', exact: true }), '/@alice');
    assert.match(await profile.locator('.muted-until').innerText(), /^Muted until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    await audit(page, 'profile (muted)');
    await bob.goto('/settings/domain_blocks');
    await page.getByLabel('Block a domain').fill('spam.example');
    await submitAndReturn(page, page.getByRole('button', { name: 'Block domain' }), '/settings/domain_blocks?saved=1');
    await audit(page, 'settings: blocked domains');
    for (const [path, label] of [
      ['/settings', 'settings'],
      ['/settings/profile', 'settings: profile'],
      ['/settings/preferences', 'settings: preferences'],
      ['/settings/password', 'settings: password'],
      ['/settings/filters', 'settings: filters'],
      [filterPath, "settings: a filter's edit page"],
      ['/settings/blocks', 'settings: blocked accounts'],
      ['/settings/mutes', 'settings: muted accounts'],
      ['/settings/applications', 'settings: authorized apps'],
      ['/settings/sessions', 'settings: sessions'],
      ['/settings/two_factor', 'settings: two-factor (off)'],
    ]) {
      const r = await bob.goto(path);
      assert.equal(r.status(), 200, `${path} answered ${r.status()}`);
      await audit(page, label);
    }
    // The set-up step of two-factor sign-in: the QR code, the key, the code field.
    await submitAndReturn(page, page.getByRole('button', { name: 'Set up two-factor sign-in' }), '/settings/two_factor');
    await page.getByRole('img', { name: /QR code/ }).waitFor();
    await audit(page, 'settings: two-factor (set-up step)');
    // Unmute, so that nothing of this stays for what follows.
    await bob.goto('/@alice');
    await submitAndReturn(page, profile.getByRole('button', { name: 'Unmute' }), '/@alice');
  });

  await step('both sign out', async () => {
    await signOut(alice);
    await signOut(bob);
  });

  await step('no CSP violation and no script error on any page', async () => {
    for (const p of people) p.assertClean('during the run');
  });
});
