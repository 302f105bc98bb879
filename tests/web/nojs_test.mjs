// The same core flow with JavaScript off: every action is a plain form POST that the
// server answers with a redirect (303) back to the page it came from.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertSignedIn,
  compose,
  cspCanary,
  launch,
  person,
  report,
  signIn,
  signOut,
  signUp,
  stepper,
  submitAndReturn,
  word,
} from './lib.mjs';

test('two people in two browsers, JavaScript off', { timeout: 200_000 }, async (t) => {
  const browser = await launch();
  t.after(() => browser.close());
  const step = stepper(t);
  const carol = await person(browser, 'carol', { js: false });
  const dave = await person(browser, 'dave', { js: false });
  const people = [carol, dave];
  t.after(() => report(people));
  // Proof that no script runs: the page's script would fetch its live stream.
  const scripted = [];
  for (const p of people) {
    p.context.on('request', (r) => {
      if (r.url().includes('/api/v1/streaming') || r.resourceType() === 'fetch') scripted.push(r.url());
    });
  }
  const ids = {};
  const text = word('nojs');
  const cw = word('cw');

  await step('the CSP watch sees a violation without JavaScript (canary)', async () => {
    await carol.goto('/about');
    await cspCanary(carol);
  });

  await step('both sign up through the form', async () => {
    await signUp(carol, 'carol');
    await signUp(dave, 'dave');
  });

  await step('sign out, then sign in again', async () => {
    await signOut(carol);
    await signIn(carol, 'carol');
    await assertSignedIn(carol, 'carol');
  });

  await step('dave follows carol: a POST that redirects back to her profile', async () => {
    await dave.goto('/@carol');
    const profile = dave.page.locator('header.profile');
    await submitAndReturn(dave.page, profile.getByRole('button', { name: 'Follow', exact: true }), '/@carol');
    assert.equal(await profile.getByRole('button', { name: 'Unfollow' }).getAttribute('aria-pressed'), 'true');
    assert.match(await profile.locator('.counts').innerText(), /\b1 follower\b/);
  });

  await step('carol posts with a content warning: a POST that redirects back home', async () => {
    await carol.goto('/home');
    ids.post = await compose(carol, { text, cw });
    const art = carol.page.locator(`#s-${ids.post}`);
    assert.equal(await art.locator('details > summary').innerText(), cw);
  });

  await step("the post is on dave's home page", async () => {
    await dave.goto('/home');
    const art = dave.page.locator(`#s-${ids.post}`);
    await art.waitFor();
    await art.locator('details > summary').click();
    assert.equal(await art.getByText(text).isVisible(), true);
  });

  await step('dave replies from the thread page; carol replies to him', async () => {
    await dave.goto(`/@carol/${ids.post}`);
    ids.reply1 = await compose(dave, { text: word('davereply'), form: '#reply form.compose' });
    await carol.goto(`/@dave/${ids.reply1}`);
    ids.reply2 = await compose(carol, { text: word('carolreply'), form: '#reply form.compose' });
  });

  await step('the thread page shows the tree, two levels deep, all of it visible', async () => {
    const page = carol.page;
    await carol.goto(`/@carol/${ids.post}`);
    const level1 = page.locator(`.thread > ol.tree > li > article#s-${ids.reply1}`);
    const level2 = page.locator(`.thread > ol.tree > li > details > ol.tree > li > article#s-${ids.reply2}`);
    assert.equal(await level1.count(), 1);
    assert.equal(await level2.count(), 1);
    assert.equal(await level2.isVisible(), true, 'the nested reply is shown (its branch is open)');
  });

  await step('dave favourites the post: a POST that redirects back to the thread', async () => {
    const page = dave.page;
    const here = `/@carol/${ids.post}`;
    await dave.goto(here);
    const focus = page.locator(`.focus #s-${ids.post}`);
    await submitAndReturn(page, focus.getByRole('button', { name: 'Favourite', exact: true }), here);
    assert.equal(await focus.getByRole('button', { name: 'Unfavourite' }).getAttribute('aria-pressed'), 'true');
    assert.match(await focus.locator('.counts').innerText(), /^1 reply · 0 boosts · 1 favourite$/);
    // Boost and bookmark from the home page come back to the home page.
    await dave.goto('/home');
    const art = page.locator(`#s-${ids.post}`);
    await submitAndReturn(page, art.getByRole('button', { name: 'Boost', exact: true }), '/home');
    await submitAndReturn(page, page.locator(`#s-${ids.post}`).first().getByRole('button', { name: 'Bookmark', exact: true }), '/home');
    const mine = page.locator(`article[data-id="${ids.post}"]`).first();
    assert.equal(await mine.getByRole('button', { name: 'Unboost' }).getAttribute('aria-pressed'), 'true');
    assert.equal(await mine.getByRole('button', { name: 'Remove bookmark' }).getAttribute('aria-pressed'), 'true');
  });

  await step('dave unfollows carol', async () => {
    await dave.goto('/@carol');
    const profile = dave.page.locator('header.profile');
    await submitAndReturn(dave.page, profile.getByRole('button', { name: 'Unfollow' }), '/@carol');
    await profile.getByRole('button', { name: 'Follow', exact: true }).waitFor();
  });

  await step('dave mutes carol for 5 minutes and unmutes her: POSTs that redirect back to her profile', async () => {
    const page = dave.page;
    const profile = page.locator('header.profile');
    await profile.getByLabel('Mute for').selectOption({ label: '5 minutes' });
    await submitAndReturn(page, profile.getByRole('button', { name: 'Mute', exact: true }), '/@carol');
    assert.match(await profile.locator('.muted-until').innerText(), /^Muted until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    await submitAndReturn(page, profile.getByRole('button', { name: 'Unmute' }), '/@carol');
    await profile.getByRole('button', { name: 'Mute', exact: true }).waitFor();
    assert.equal(await profile.locator('.muted-until').count(), 0);
  });

  await step('both sign out', async () => {
    await signOut(carol);
    await signOut(dave);
  });

  await step('no CSP violation on any page, and no script ran', async () => {
    for (const p of people) p.assertClean('during the run');
    assert.deepEqual(scripted, [], 'requests only a script makes');
  });
});
