// Shared by the browser tests: Chromium, people (one browser context each), what a
// person does on the pages, and the checks every page passes (no CSP violation, no
// script error, no serious accessibility violation).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const BASE = process.env.SLUICE_BASE_URL;
if (!BASE) throw new Error('SLUICE_BASE_URL is not set (run tests/web/run.sh)');
const HOST = new URL(BASE).hostname;
if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(HOST)) {
  throw new Error(`SLUICE_BASE_URL must be a loopback address, not ${HOST}`);
}
export const PASSWORD = 'browser-suite-password-1';
/// How long a person waits for what the page should show by itself.
export const LIVE_MS = 10_000;

// axe-core's script: a <script> tag the page adds is refused by the page's CSP
// (script-src 'self'), as it should be; the DevTools protocol evaluates it instead.
const AXE_SOURCE = readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    timeout: 60_000,
  });
}

/// A unique word for this run, so a text is found once.
export function word(prefix) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/// Everything the pages of one person reported that a test must not see.
class Watch {
  constructor(name) {
    this.name = name;
    this.csp = []; // Content-Security-Policy violations (event or console)
    this.errors = []; // uncaught script errors
    this.notes = []; // other console errors and failed requests, for the log only
  }
}

export class Person {
  constructor(name, context, watch, js) {
    this.name = name;
    this.context = context;
    this.watch = watch;
    this.js = js;
    this.page = null;
  }

  /// A page of this person's (the first one made by `person`).
  async newPage() {
    const page = await this.context.newPage();
    return page;
  }

  async goto(path, page = this.page) {
    const r = await page.goto(new URL(path, BASE).href, { waitUntil: 'load' });
    assert.ok(r, `${this.name}: no response for ${path}`);
    return r;
  }

  /// Checks what the pages reported so far: no CSP violation, no script error.
  assertClean(when) {
    assert.deepEqual(this.watch.csp, [], `${this.name}: CSP violations ${when}`);
    assert.deepEqual(this.watch.errors, [], `${this.name}: script errors ${when}`);
  }
}

/// A person: a browser context of their own (cookies), with JavaScript or without,
/// every CSP violation and script error of its pages recorded.
export async function person(browser, name, { js = true } = {}) {
  const context = await browser.newContext({ javaScriptEnabled: js, baseURL: BASE });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  const watch = new Watch(name);
  if (js) {
    // The page's own report of a violation (securitypolicyviolation), as it happens:
    // a binding survives navigations, where a list kept on `window` would not.
    await context.exposeBinding('__sluiceCsp', ({ page }, v) => {
      watch.csp.push({ page: page?.url(), ...v });
    });
    await context.addInitScript(() => {
      document.addEventListener(
        'securitypolicyviolation',
        (e) => {
          const v = {
            directive: e.effectiveDirective || e.violatedDirective,
            blocked: e.blockedURI,
            sample: e.sample,
            source: `${e.sourceFile}:${e.lineNumber}`,
          };
          (window.__cspViolations ||= []).push(v);
          window.__sluiceCsp?.(v);
        },
        true,
      );
    });
  }
  const hook = (page) => {
    // The console reports violations even where no script runs.
    page.on('console', (m) => {
      const text = m.text();
      if (/Content[ -]Security[ -]Policy/i.test(text)) {
        watch.csp.push({ page: page.url(), console: text });
      } else if (m.type() === 'error' && !/favicon/.test(m.location()?.url || '')) {
        watch.notes.push(`console: ${text} (${m.location()?.url || page.url()})`);
      }
    });
    page.on('pageerror', (e) => watch.errors.push(`${page.url()}: ${e.message}`));
    page.on('requestfailed', (r) => {
      // An EventSource closed by the page or a server restart fails by design.
      if (!r.url().includes('/api/v1/streaming/')) {
        watch.notes.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
      }
    });
  };
  context.on('page', hook);
  const p = new Person(name, context, watch, js);
  p.page = await context.newPage();
  return p;
}

/// Clicks `button` (a form's submit button), which sends a form POST that the server
/// answers with a redirect; waits for the page it leads to. Returns the POST's answer.
export async function submitForm(page, button) {
  const main = page.mainFrame();
  const post = page.waitForRequest((r) => r.method() === 'POST' && r.isNavigationRequest() && r.frame() === main);
  const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === main });
  await button.click();
  const req = await post;
  await navigated;
  await page.waitForLoadState('load');
  const res = await req.response();
  assert.ok(res, `no answer to POST ${req.url()}`);
  return res;
}

/// The same, and checks that the POST redirected (303) back to `back` (a path), where
/// the page now is.
export async function submitAndReturn(page, button, back) {
  const res = await submitForm(page, button);
  assert.equal(res.status(), 303, `POST ${res.url()} answered ${res.status()}, not a redirect`);
  const location = new URL(res.headers().location, BASE);
  assert.equal(location.pathname + location.search, back, `POST ${res.url()} redirected elsewhere`);
  assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, back);
  return res;
}

/// Replies the script's way: fills the reply form `form` (a locator on `p.page`),
/// posts it, and waits for the reply to appear on the page, which does not reload;
/// returns the new post's id.
export async function replyInPlace(p, { form, text, page = p.page }) {
  const url = page.url();
  let reloaded = false;
  const onNavigation = (f) => { if (f === page.mainFrame()) reloaded = true; };
  page.on('framenavigated', onNavigation);
  const area = form.locator('textarea[name=status]');
  const prefill = await area.inputValue();
  await area.fill(`${prefill}${text}`);
  await form.getByRole('button', { name: 'Post' }).click();
  const art = article(page, text);
  await art.first().waitFor();
  page.off('framenavigated', onNavigation);
  assert.equal(reloaded, false, 'the page reloaded for a reply');
  assert.equal(page.url(), url);
  assert.equal(await art.count(), 1, `"${text}" is shown once`);
  const id = await art.getAttribute('data-id');
  assert.match(id, /^\d+$/);
  return id;
}

/// Signs up through /auth/sign_up; lands on /home signed in.
export async function signUp(p, username) {
  await p.goto('/auth/sign_up');
  const page = p.page;
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('E-mail address').fill(`${username}@example.com`);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Password again').fill(PASSWORD);
  await page.getByRole('checkbox', { name: /I accept the/ }).check();
  const res = await submitForm(page, page.getByRole('button', { name: 'Sign up' }));
  assert.equal(res.status(), 303, `sign-up of ${username} answered ${res.status()}: ${await page.locator('main').innerText()}`);
  assert.equal(new URL(page.url()).pathname, '/home');
  await assertSignedIn(p, username);
}

export async function assertSignedIn(p, username) {
  const nav = p.page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('button', { name: 'Sign out' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Profile' }).getAttribute('href'), `/@${username}`);
}

export async function signOut(p) {
  const page = p.page;
  const nav = page.getByRole('navigation', { name: 'Main' });
  const res = await submitForm(page, nav.getByRole('button', { name: 'Sign out' }));
  assert.equal(res.status(), 303);
  await nav.getByRole('link', { name: 'Sign in' }).waitFor();
  assert.equal(await nav.getByRole('button', { name: 'Sign out' }).count(), 0);
  // The session is over: home asks to sign in.
  await p.goto('/home');
  assert.equal(new URL(page.url()).pathname, '/auth/sign_in', 'home after signing out');
}

export async function signIn(p, login) {
  await p.goto('/auth/sign_in');
  const page = p.page;
  await page.getByLabel('E-mail address or username').fill(login);
  await page.getByLabel('Password').fill(PASSWORD);
  const res = await submitForm(page, page.getByRole('button', { name: 'Sign in' }));
  assert.equal(res.status(), 303, `sign-in of ${login} answered ${res.status()}`);
  assert.equal(new URL(page.url()).pathname, '/home');
}

/// The post (article) whose text contains `text`, on `page`.
export function article(page, text) {
  return page.locator('article.status', { hasText: text });
}

/// Posts from the compose form of the page `p.page` is on (home, or a thread's
/// #reply), and returns the new post's id, read from the page the form led back to.
export async function compose(p, { text, cw = '', form = 'form.compose', page = p.page }) {
  const here = new URL(page.url());
  const f = page.locator(form);
  if (cw) await f.getByLabel('Content warning (optional)').fill(cw);
  const area = f.locator('textarea[name=status]');
  const prefill = await area.inputValue();
  await area.fill(`${prefill}${text}`);
  await submitAndReturn(page, f.getByRole('button', { name: 'Post' }), here.pathname + here.search);
  const art = article(page, text);
  await art.first().waitFor();
  assert.equal(await art.count(), 1, `"${text}" is shown once on ${page.url()}`);
  const id = await art.getAttribute('data-id');
  assert.match(id, /^\d+$/);
  return id;
}

/// Runs axe-core on the page (light, then dark): no violation of serious or critical
/// impact.
export async function audit(page, label) {
  const problems = [];
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    if (process.env.WEB_SCREENSHOTS) {
      const name = `${process.env.WEB_LABEL || 'web'}-${label}-${colorScheme}`.replace(/[^\w-]+/g, '_');
      await page.screenshot({ path: `${process.env.WEB_SCREENSHOTS}/${name}.png`, fullPage: true });
    }
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
      await page.evaluate(AXE_SOURCE);
    }
    const result = await page.evaluate(() =>
      window.axe.run(document, { resultTypes: ['violations'] }).then((r) =>
        r.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
        })),
      ),
    );
    for (const v of result) {
      const line = `${label} (${colorScheme}): ${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`;
      if (v.impact === 'serious' || v.impact === 'critical') problems.push(line);
      else console.log(`axe (not failing): ${line}`);
    }
  }
  await page.emulateMedia({ colorScheme: null });
  assert.deepEqual(problems, [], `axe: serious or critical violations on ${label}`);
  return problems;
}

/// Proves the CSP watch works in this person's browser: a refused inline style
/// attribute must be seen (as a violation event when JavaScript runs, and on the
/// console), then forgotten.
export async function cspCanary(p) {
  const page = p.page;
  const before = p.watch.csp.length;
  await page.evaluate(() => {
    const d = document.createElement('div');
    d.setAttribute('style', 'color: red');
    document.body.append(d);
  });
  const seen = () => {
    const got = p.watch.csp.slice(before);
    return got.some((v) => v.console) && (!p.js || got.some((v) => v.directive));
  };
  const deadline = Date.now() + 5_000;
  while (!seen() && Date.now() < deadline) await page.waitForTimeout(100);
  assert.ok(seen(), `${p.name}: a refused inline style went unnoticed: the CSP watch is blind (${JSON.stringify(p.watch.csp)})`);
  p.watch.csp.splice(before);
}

/// Waits for `predicate` (async, returns truthy) up to `ms`. A call that hangs (a
/// page that stopped answering) counts as a no when the time is up.
export async function eventually(what, predicate, ms = LIVE_MS) {
  const deadline = Date.now() + ms;
  const hung = Symbol('hung');
  let last;
  for (;;) {
    let timer;
    const late = new Promise((resolve) => {
      timer = setTimeout(() => resolve(hung), Math.max(1, deadline - Date.now()));
    });
    try {
      const r = await Promise.race([predicate(), late]);
      last = r === hung ? 'no answer' : r;
      if (r && r !== hung) return r;
    } catch (e) {
      last = e;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() >= deadline) assert.fail(`${what}: not within ${ms} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export function report(people) {
  for (const p of people) {
    for (const n of p.watch.notes) console.log(`note (${p.name}): ${n}`);
  }
}

/// Steps of one scenario as node:test subtests, in order; after a failed step the
/// rest are skipped (each builds on the one before).
export function stepper(t) {
  let broken = null;
  return async (name, fn) => {
    await t.test(name, async (st) => {
      if (broken) {
        st.skip(`after the failed step "${broken}"`);
        return;
      }
      try {
        await fn();
      } catch (e) {
        broken = name;
        throw e;
      }
    });
  };
}
