// The moderation pages (/admin) and the leaving-and-arriving settings, as an admin, a
// moderator and two people use them, on a server whose sign-ups wait for approval
// (run.sh restarts it so for this script). The admin (gina) has JavaScript on; the
// moderator (hugo) has it off and does the core actions again as plain form POSTs:
// approve a sign-up, resolve a report, lift a suspension. Every page visited has a title
// and a working navigation, and no page logs a CSP violation, a script error or a
// console error (bar the refusals the test asks for).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import {
  BASE,
  PASSWORD,
  audit,
  compose,
  cspCanary,
  eventually,
  launch,
  person,
  report,
  signIn,
  stepper,
  submitAndReturn,
  submitForm,
} from './lib.mjs';

const ADMIN = process.env.WEB_ADMIN;
if (!ADMIN) throw new Error('WEB_ADMIN is not set (run tests/web/run.sh)');

/// `sluice admin ARGS...` with the server's settings, as an operator runs it.
function cli(...args) {
  return new Promise((resolve, reject) => {
    execFile(ADMIN, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`sluice admin ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/// The Mastodon API as an app would call it (reports have no button in the web app).
async function api(method, path, { token, form } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let body;
  if (form) {
    body = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) {
      for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    }
  }
  const r = await fetch(new URL(path, BASE), { method, headers, body });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path} answered ${r.status}: ${text}`);
  return JSON.parse(text);
}

async function tokenOf(login) {
  const app = await api('POST', '/api/v1/apps', {
    form: { client_name: 'browser suite', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob', scopes: 'read write' },
  });
  const t = await api('POST', '/oauth/token', {
    form: {
      grant_type: 'password',
      client_id: app.client_id,
      client_secret: app.client_secret,
      username: login,
      password: PASSWORD,
      scope: 'read write',
    },
  });
  return t.access_token;
}

/// Asks to join through /auth/sign_up, giving a reason: the page says it waits.
async function askToJoin(p, username, reason) {
  await p.goto('/auth/sign_up');
  const page = p.page;
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('E-mail address').fill(`${username}@example.com`);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Password again').fill(PASSWORD);
  await page.getByLabel('Why do you want to join?').fill(reason);
  await page.getByRole('checkbox', { name: /I accept the/ }).check();
  const res = await submitForm(page, page.getByRole('button', { name: 'Ask to join' }));
  assert.equal(res.status(), 200, `sign-up of ${username} answered ${res.status()}`);
  assert.match(await page.locator('main').innerText(), /waiting for an administrator's approval/);
}

/// The console errors of `p`'s pages so far (console messages, not failed requests).
function consoleErrors(p) {
  return p.watch.notes.filter((n) => n.startsWith('console:'));
}

/// Runs `fn`, whose page is answered with one of `statuses` (a refusal the test asks
/// for): the browser's own console line for that document is expected, and dropped.
async function expecting(p, statuses, fn) {
  const before = p.watch.notes.length;
  const r = await fn();
  const extra = p.watch.notes.splice(before);
  p.watch.notes.push(...extra.filter((n) => ![statuses].flat().some((s) => n.includes(`status of ${s}`))));
  return r;
}

/// Opens `path`, which must be refused with one of `statuses`. The error page has a
/// title and a way back.
async function refused(p, path, statuses) {
  const r = await expecting(p, statuses, () => p.goto(path));
  assert.ok([statuses].flat().includes(r.status()), `${p.name}: ${path} answered ${r.status()}`);
  assert.match(await p.page.title(), /\S/, `${path}: the error page has a title`);
  assert.equal(await p.page.locator('main h1').innerText(), String(r.status()));
  await p.page.getByRole('navigation', { name: 'Main' }).getByRole('link').first().waitFor();
  return r;
}

/// An admin page: its title names it, the moderation navigation marks it, and the
/// main navigation leads home.
async function adminPage(p, heading, tab) {
  const page = p.page;
  assert.equal(await page.locator('main h1').innerText(), heading);
  assert.match(await page.title(), new RegExp(`^${heading.replace(/[#.*+?^${}()|[\]\\]/g, '\\$&')} — Moderation — `));
  const nav = page.getByRole('navigation', { name: 'Moderation' });
  if (tab) {
    assert.equal(await nav.getByRole('link', { name: tab, exact: true }).getAttribute('aria-current'), 'page');
  }
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).getAttribute('href'), '/home');
}

/// The tabs of the moderation navigation, as shown.
async function adminTabs(p) {
  return p.page.getByRole('navigation', { name: 'Moderation' }).getByRole('link').allInnerTexts();
}

test('moderation and portability pages', { timeout: 200_000 }, async (t) => {
  const browser = await launch();
  t.after(() => browser.close());
  const step = stepper(t);
  const gina = await person(browser, 'gina'); // the admin, JavaScript on
  const hugo = await person(browser, 'hugo', { js: false }); // a moderator, JavaScript off
  const ivy = await person(browser, 'ivy'); // a user, JavaScript on
  const jon = await person(browser, 'jon', { js: false }); // a user, JavaScript off
  const people = [gina, hugo, ivy, jon];
  t.after(() => report(people));
  // Without JavaScript nothing but the pages' own requests is made.
  const scripted = [];
  for (const p of [hugo, jon]) {
    p.context.on('request', (r) => {
      if (r.url().includes('/api/v1/streaming') || r.resourceType() === 'fetch') scripted.push(r.url());
    });
  }
  const ids = {};
  const reason = { ivy: 'I knit and want to talk about yarn.', jon: 'Friends of mine are here.' };

  await step('the CSP watch sees a violation, with JavaScript and without (canary)', async () => {
    await gina.goto('/about');
    await cspCanary(gina);
    await hugo.goto('/about');
    await cspCanary(hugo);
  });

  await step('four people ask to join, with their reasons; the operator approves the staff on the command line', async () => {
    // Four browsers at once.
    await Promise.all([
      askToJoin(gina, 'gina', 'I run this server.'),
      askToJoin(hugo, 'hugo', 'I moderate.'),
      askToJoin(ivy, 'ivy', reason.ivy),
      askToJoin(jon, 'jon', reason.jon),
    ]);
    await Promise.all(
      [['gina', 'admin'], ['hugo', 'moderator']].map(async ([name, role]) => {
        await cli('approve-user', name);
        await cli('accounts', 'role', name, role);
      }),
    );
    // Still waiting: the sign-in page says so.
    await ivy.goto('/auth/sign_in');
    await ivy.page.getByLabel('E-mail address or username').fill('ivy');
    await ivy.page.getByLabel('Password').fill(PASSWORD);
    const res = await expecting(ivy, 403, () => submitForm(ivy.page, ivy.page.getByRole('button', { name: 'Sign in' })));
    assert.equal(res.status(), 403);
    assert.equal(new URL(ivy.page.url()).pathname, '/auth/sign_in');
  });

  await step('the admin signs in: /admin is the report queue; every tab has its page, titled', async () => {
    await signIn(gina, 'gina');
    // The way in: the settings page links the moderation pages for staff.
    await gina.goto('/settings');
    await gina.page.getByRole('link', { name: 'Moderation', exact: true }).click();
    await gina.page.waitForURL(new URL('/admin/reports', BASE).href);
    await adminPage(gina, 'Reports', 'Reports');
    assert.deepEqual(await adminTabs(gina), ['Reports', 'Accounts', 'Sign-ups', 'Domains', 'Rules', 'Audit log']);
    for (const [tab, heading] of [
      ['Accounts', 'Accounts'],
      ['Sign-ups', 'Sign-ups'],
      ['Domains', 'Blocked domains'],
      ['Rules', 'Rules'],
      ['Audit log', 'Audit log'],
      ['Reports', 'Reports'],
    ]) {
      await gina.page.getByRole('navigation', { name: 'Moderation' }).getByRole('link', { name: tab, exact: true }).click();
      await gina.page.waitForLoadState('load');
      await adminPage(gina, heading, tab);
    }
    // And back to the rest of the web app.
    await gina.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
    await gina.page.waitForURL(new URL('/home', BASE).href);
  });

  await step('sign-ups: the admin sees who waits and why, and approves ivy', async () => {
    const page = gina.page;
    await gina.goto('/admin/sign-ups');
    await adminPage(gina, 'Sign-ups', 'Sign-ups');
    const waiting = page.locator('ul.accounts > li');
    assert.deepEqual((await waiting.locator('strong').allInnerTexts()).sort(), ['@ivy', '@jon']);
    assert.equal(await waiting.filter({ hasText: '@ivy' }).locator('blockquote').innerText(), reason.ivy);
    assert.equal(await waiting.filter({ hasText: '@jon' }).locator('blockquote').innerText(), reason.jon);
    await audit(page, 'admin: sign-ups');
    await submitAndReturn(page, page.getByRole('button', { name: 'Approve @ivy' }), '/admin/sign-ups?saved=1');
    assert.equal(await page.getByRole('status').innerText(), 'Done.');
    assert.deepEqual(await waiting.locator('strong').allInnerTexts(), ['@jon']);
    await signIn(ivy, 'ivy');
  });

  await step('the moderator, without JavaScript, approves jon; sees no domain or rule pages', async () => {
    await signIn(hugo, 'hugo');
    const page = hugo.page;
    await hugo.goto('/admin/sign-ups');
    await adminPage(hugo, 'Sign-ups', 'Sign-ups');
    assert.deepEqual(await adminTabs(hugo), ['Reports', 'Accounts', 'Sign-ups', 'Audit log']);
    await submitAndReturn(page, page.getByRole('button', { name: 'Approve @jon' }), '/admin/sign-ups?saved=1');
    assert.equal(await page.locator('ul.accounts > li').count(), 0);
    assert.equal(await page.locator('p.empty').innerText(), 'Nobody is waiting for approval.');
    await refused(hugo, '/admin/domains', 403);
    await refused(hugo, '/admin/rules', 403);
    await signIn(jon, 'jon');
  });

  await step('a plain user is refused at every admin page, and not shown the way there', async () => {
    await ivy.goto('/settings');
    assert.equal(await ivy.page.getByRole('link', { name: 'Moderation', exact: true }).count(), 0);
    for (const path of ['/admin', '/admin/reports', '/admin/accounts', '/admin/sign-ups', '/admin/domains', '/admin/rules', '/admin/audit']) {
      await refused(ivy, path, 403);
    }
    assert.match(await ivy.page.locator('main').innerText(), /for the server's moderators/);
  });

  await step('the admin adds a rule; the about page lists it', async () => {
    const page = gina.page;
    await gina.goto('/admin/rules');
    await page.getByLabel('Rule', { exact: true }).fill('No advertising');
    await page.getByLabel('Explanation').fill('Not even for yarn.');
    await submitAndReturn(page, page.getByRole('button', { name: 'Add rule' }), '/admin/rules?saved=1');
    await adminPage(gina, 'Rules', 'Rules');
    assert.match(await page.locator('ol.rules > li').first().innerText(), /^No advertising Not even for yarn\./);
    await audit(page, 'admin: rules');
    await gina.goto('/about');
    assert.match(await page.locator('main').innerText(), /No advertising/);
  });

  await step('ivy posts, jon replies without JavaScript; ivy reports the reply through the API', async () => {
    await ivy.goto('/home');
    ids.post = await compose(ivy, { text: 'Who wants to swap yarn?' });
    await jon.goto(`/@ivy/${ids.post}`);
    ids.reply = await compose(jon, { text: 'Buy cheap yarn at my shop!', form: '#reply form.compose' });
    ids.token = await tokenOf('ivy@example.com');
    const rules = await api('GET', '/api/v1/instance/rules');
    const rule = rules.find((r) => r.text === 'No advertising');
    assert.ok(rule, 'the rule is served');
    const jonAccount = await api('GET', '/api/v1/accounts/lookup?acct=jon', { token: ids.token });
    ids.jon = jonAccount.id;
    const r = await api('POST', '/api/v1/reports', {
      token: ids.token,
      form: { account_id: ids.jon, 'status_ids[]': [ids.reply], comment: 'An advert in my thread', category: 'violation', 'rule_ids[]': [rule.id] },
    });
    ids.report = r.id;
    const r2 = await api('POST', '/api/v1/reports', {
      token: ids.token,
      form: { account_id: ids.jon, comment: 'He keeps doing it', category: 'spam' },
    });
    ids.report2 = r2.id;
  });

  await step('the admin sees the report in the queue, the reported post in its thread, and resolves it', async () => {
    const page = gina.page;
    await gina.goto('/admin/reports');
    const row = page.locator('tr.report', { has: page.getByRole('link', { name: ids.report, exact: true }) });
    assert.deepEqual((await row.locator('td').allInnerTexts()).slice(1, 4), ['@jon', '@ivy', 'violation']);
    await audit(page, 'admin: reports');
    await row.getByRole('link', { name: ids.report, exact: true }).click();
    await page.waitForURL(new URL(`/admin/reports/${ids.report}`, BASE).href);
    await adminPage(gina, `Report #${ids.report}`, 'Reports');
    const facts = page.locator('dl.report-facts');
    assert.match(await facts.innerText(), /Reported account\s+@jon\b/);
    assert.match(await facts.innerText(), /Reported by\s+@ivy\b/);
    assert.match(await facts.innerText(), /Rules broken\s+No advertising/);
    assert.equal(await page.locator('.report-comment').innerText(), 'An advert in my thread');
    // The reported post, with the post it answers above it.
    const thread = page.locator('.thread.reported');
    assert.match(await thread.locator(`.focus #s-${ids.reply}`).innerText(), /Buy cheap yarn at my shop!/);
    assert.match(await thread.locator(`ol.ancestors #s-${ids.post}`).innerText(), /Who wants to swap yarn\?/);
    await audit(page, 'admin: a report');
    const here = `/admin/reports/${ids.report}?saved=1`;
    await submitAndReturn(page, page.getByRole('button', { name: 'Assign to me' }), here);
    assert.match(await facts.innerText(), /Assigned to\s+@gina\b/);
    await page.getByLabel('Note (why, how it was handled)').fill('Warned him.');
    await submitAndReturn(page, page.getByRole('button', { name: 'Resolve' }), here);
    assert.equal(await page.locator('.report-state').innerText(), 'Resolved by gina');
    assert.equal(await page.getByRole('button', { name: 'Reopen' }).count(), 1);
    assert.match(await page.locator('ul.audit').innerText(), /@gina: Resolved the report — “Warned him\.”/);
    // Off the open queue, on the resolved one.
    await page.getByRole('navigation', { name: 'Moderation' }).getByRole('link', { name: 'Reports' }).click();
    await page.waitForURL(new URL('/admin/reports', BASE).href);
    assert.equal(await page.getByRole('link', { name: ids.report, exact: true }).count(), 0);
    await page.getByRole('link', { name: 'Resolved', exact: true }).click();
    await page.waitForURL(new URL('/admin/reports?resolved=1', BASE).href);
    await page.getByRole('link', { name: ids.report, exact: true }).waitFor();
  });

  await step('the moderator resolves the other report without JavaScript', async () => {
    const page = hugo.page;
    await hugo.goto('/admin/reports');
    await page.getByRole('link', { name: ids.report2, exact: true }).click();
    await page.waitForURL(new URL(`/admin/reports/${ids.report2}`, BASE).href);
    assert.equal(await page.locator('p.empty').first().innerText(), 'The report names no posts.');
    await page.getByLabel('Note (why, how it was handled)').fill('Same as before.');
    await submitAndReturn(page, page.getByRole('button', { name: 'Resolve' }), `/admin/reports/${ids.report2}?saved=1`);
    assert.equal(await page.locator('.report-state').innerText(), 'Resolved by hugo');
  });

  await step('the admin finds jon, suspends him from his page; his profile is gone', async () => {
    const page = gina.page;
    await gina.goto('/admin/accounts');
    await page.getByLabel('Username starts with').fill('jo');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/\/admin\/accounts\?username=jo&/);
    assert.deepEqual(await page.locator('table.admin-accounts tbody td:first-child a').allInnerTexts(), ['@jon']);
    await audit(page, 'admin: accounts');
    await page.getByRole('link', { name: '@jon' }).click();
    await page.waitForURL(new URL(`/admin/accounts/${ids.jon}`, BASE).href);
    await adminPage(gina, '@jon', 'Accounts');
    const facts = page.locator('dl.admin-facts');
    assert.match(await facts.innerText(), new RegExp(`Why they signed up\\s+${reason.jon}`));
    assert.match(await facts.innerText(), /State\s+Active/);
    await audit(page, 'admin: an account');
    await page.getByRole('radio', { name: 'Suspend' }).check();
    await page.getByLabel('Warning shown to the user (optional)').fill('Adverts, twice.');
    await submitAndReturn(page, page.getByRole('button', { name: 'Apply' }), `/admin/accounts/${ids.jon}?saved=1`);
    assert.match(await facts.innerText(), /State\s+Suspended/);
    assert.match(await page.locator('#history-h + ul').innerText(), /@gina: Suspended — “Adverts, twice\.”/);
    assert.equal(await page.getByRole('radio', { name: 'Suspend' }).count(), 0);
    // His profile is gone (403 while the suspension can be lifted, as Mastodon
    // answers; 410 once his data is deleted), and he is signed out.
    await refused(ivy, '/@jon', 403);
    await jon.goto('/home');
    assert.equal(new URL(jon.page.url()).pathname, '/auth/sign_in');
  });

  await step('the moderator lifts the suspension without JavaScript; jon signs in again', async () => {
    const page = hugo.page;
    await hugo.goto(`/admin/accounts/${ids.jon}`);
    await submitAndReturn(page, page.getByRole('button', { name: 'Lift the suspension' }), `/admin/accounts/${ids.jon}?saved=1`);
    assert.match(await page.locator('dl.admin-facts').innerText(), /State\s+Active/);
    assert.match(await page.locator('#history-h + ul').innerText(), /@hugo: Lifted the suspension/);
    await signIn(jon, 'jon');
    const r = await ivy.goto('/@jon');
    assert.equal(r.status(), 200);
  });

  await step('the audit log shows who did what, to whom and why', async () => {
    const page = gina.page;
    await gina.goto('/admin/audit');
    await adminPage(gina, 'Audit log', 'Audit log');
    // Each row: what (its name in the log), who, what in words, on what, why.
    const rows = await page.locator('tr.audit-entry').evaluateAll((trs) =>
      trs.map((tr) => [tr.dataset.action, ...[...tr.querySelectorAll('td')].slice(1).map((td) => td.innerText.trim())]),
    );
    const has = (row) => rows.some((r) => JSON.stringify(r) === JSON.stringify(row));
    for (const row of [
      ['unsuspend', '@hugo', 'Lifted the suspension', 'account jon', ''],
      ['suspend', '@gina', 'Suspended', 'account jon', 'Adverts, twice.'],
      ['resolve_report', '@hugo', 'Resolved the report', `report #${ids.report2} about jon`, 'Same as before.'],
      ['resolve_report', '@gina', 'Resolved the report', `report #${ids.report} about jon`, 'Warned him.'],
      ['assign_report', '@gina', 'Took the report', `report #${ids.report} about jon`, ''],
      ['create_rule', '@gina', 'Added a rule', 'rule No advertising', ''],
      ['approve', '@hugo', 'Approved the sign-up', 'account jon', ''],
      ['approve', '@gina', 'Approved the sign-up', 'account ivy', ''],
      ['set_role', '(command line)', 'Changed the role', 'account hugo', 'moderator'],
    ]) {
      assert.ok(has(row), `the audit log has ${JSON.stringify(row)}: ${JSON.stringify(rows)}`);
    }
    // Newest first.
    assert.deepEqual(rows[0], ['unsuspend', '@hugo', 'Lifted the suspension', 'account jon', '']);
    // A report's entry leads to the report, an account's to the account.
    assert.equal(
      await page.locator('tr.audit-entry[data-action=resolve_report]').first().getByRole('link').getAttribute('href'),
      `/admin/reports/${ids.report2}`,
    );
    await audit(page, 'admin: audit log');
    await page.locator('tr.audit-entry[data-action=suspend]').getByRole('link', { name: 'account jon' }).click();
    await page.waitForURL(new URL(`/admin/accounts/${ids.jon}`, BASE).href);
    await adminPage(gina, '@jon', 'Accounts');
    // The moderator sees it too.
    await hugo.goto('/admin/audit');
    await adminPage(hugo, 'Audit log', 'Audit log');
  });

  await step('the admin blocks a domain, changes the block, and lifts it', async () => {
    const page = gina.page;
    await gina.goto('/admin/domains');
    assert.equal(await page.locator('p.empty').innerText(), 'No domain is blocked.');
    await page.getByLabel('Domain', { exact: true }).fill('spam.example');
    await page.getByLabel('Severity').selectOption('suspend');
    await page.getByLabel('Public comment').fill('Spam, only spam.');
    await submitAndReturn(page, page.getByRole('button', { name: 'Block', exact: true }), '/admin/domains?saved=1');
    const row = page.locator('table.admin tbody tr', { hasText: 'spam.example' });
    assert.match(await row.innerText(), /spam\.example\s+suspend\s+Spam, only spam\./);
    await audit(page, 'admin: domains');
    await row.getByRole('link', { name: 'spam.example' }).click();
    await page.waitForURL(/\/admin\/domains\/\d+$/);
    await adminPage(gina, 'spam.example', 'Domains');
    assert.equal(await page.getByLabel('Public comment').inputValue(), 'Spam, only spam.');
    await page.getByLabel('Severity').selectOption('silence');
    await page.getByLabel('Reject its media').check();
    await submitAndReturn(page, page.getByRole('button', { name: 'Save' }), '/admin/domains?saved=1');
    assert.match(await row.innerText(), /spam\.example\s+silence, no media\s+Spam, only spam\./);
    await submitAndReturn(page, row.getByRole('button', { name: 'Remove block on spam.example' }), '/admin/domains?saved=1');
    assert.equal(await page.locator('p.empty').innerText(), 'No domain is blocked.');
  });

  await step('ivy names jon as an alias, and removes it', async () => {
    const page = ivy.page;
    await ivy.goto('/settings');
    await page.getByRole('link', { name: 'Aliases' }).first().click();
    await page.waitForURL(new URL('/settings/aliases', BASE).href);
    assert.match(await page.title(), /^Aliases — Settings — /);
    assert.equal(await page.locator('p.empty').innerText(), 'This account has no aliases.');
    const domain = new URL(BASE).host;
    await page.getByLabel("The old account's address").fill(`jon@${domain}`);
    await submitAndReturn(page, page.getByRole('button', { name: 'Add alias' }), '/settings/aliases?saved=1');
    assert.equal(await page.getByRole('status').innerText(), 'Your aliases were saved.');
    const item = page.locator('ul.aliases > li');
    assert.equal(await item.count(), 1);
    assert.match(await item.innerText(), /^jon@/);
    // Other servers see it: the actor's alsoKnownAs names jon.
    const actor = await (await fetch(new URL('/users/ivy', BASE), { headers: { accept: 'application/activity+json' } })).json();
    assert.deepEqual(actor.alsoKnownAs, [new URL('/users/jon', BASE).href]);
    await audit(page, 'settings: aliases');
    await submitAndReturn(page, item.getByRole('button', { name: /Remove/ }), '/settings/aliases?saved=1');
    assert.equal(await page.locator('p.empty').innerText(), 'This account has no aliases.');
  });

  await step('jon, without JavaScript, exports whom he follows and imports it back', async () => {
    const page = jon.page;
    await jon.goto('/@ivy');
    const profile = page.locator('header.profile');
    await submitAndReturn(page, profile.getByRole('button', { name: 'Follow', exact: true }), '/@ivy');
    await jon.goto('/settings/export');
    assert.match(await page.title(), /^Export — Settings — /);
    const downloading = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Accounts you follow' }).click();
    const download = await downloading;
    assert.equal(download.suggestedFilename(), 'follows.csv');
    const file = await download.path();
    const csv = await readFile(file, 'utf8');
    const lines = csv.trim().split('\n');
    assert.equal(lines[0], 'Account address,Show boosts,Notify on new posts,Languages');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), [`ivy@${new URL(BASE).host}`]);
    // Unfollow, then import the file: he follows her again.
    await jon.goto('/@ivy');
    await submitAndReturn(page, profile.getByRole('button', { name: 'Unfollow' }), '/@ivy');
    await jon.goto('/settings/import');
    assert.match(await page.title(), /^Import — Settings — /);
    await page.getByLabel('What the file holds').selectOption({ label: 'Accounts you follow' });
    await page.getByRole('radio', { name: 'Merge' }).check();
    await page.getByLabel('File', { exact: true }).setInputFiles(file);
    await submitAndReturn(page, page.getByRole('button', { name: 'Import', exact: true }), '/settings/import?saved=1');
    assert.equal(await page.getByRole('status').innerText(), 'Your file was received; it is being imported.');
    await eventually('the import is done', async () => {
      await jon.goto('/settings/import');
      return /follows \(merge\), .*1\/1 · done$/.test(await page.locator('ul.imports > li').first().innerText());
    });
    await jon.goto('/@ivy');
    await profile.getByRole('button', { name: 'Unfollow' }).waitFor();
  });

  await step('the other leaving-and-arriving pages are there, titled', async () => {
    for (const [path, title] of [
      ['/settings/migration', 'Move account'],
      ['/settings/export', 'Export'],
      ['/settings/import', 'Import'],
      ['/settings/delete', 'Delete account'],
    ]) {
      const r = await ivy.goto(path);
      assert.equal(r.status(), 200);
      assert.match(await ivy.page.title(), new RegExp(`^${title} — Settings — `));
      assert.equal(await ivy.page.locator('main h1').innerText(), title);
      if (path === '/settings/export' || path === '/settings/import') await audit(ivy.page, `settings: ${title}`);
    }
  });

  await step('no CSP violation, no script error, no console error on any page; no script ran without JavaScript', async () => {
    for (const p of people) {
      p.assertClean('during the run');
      assert.deepEqual(consoleErrors(p), [], `${p.name}: console errors`);
    }
    assert.deepEqual(scripted, [], 'requests only a script makes');
  });
});
