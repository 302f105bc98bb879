// Sluice web app: makes the server-rendered pages live. Every page works without this
// file; with it, actions happen in place, replies open and appear under the post they
// answer, the character count follows the text, "older posts" loads below, and
// timelines take new posts (the notifications page, new notifications) from the
// streaming API, resuming after a network blip or a server restart (Last-Event-ID)
// without missing one.

// What the script says, in the page's language: the server's catalog, carried by the
// page (`{n}` where a value goes).
const strings = JSON.parse(document.getElementById('sluice-strings')?.textContent || '{}');
const say = (id, values = {}) => (strings[id] || id).replace(/\{(\w+)\}/g, (_, k) => values[k] ?? '');

// A page or fragment from the server, parsed.
const fetchDoc = async (url) => {
  const r = await fetch(url, { credentials: 'same-origin' });
  if (!r.ok) return null;
  return new DOMParser().parseFromString(await r.text(), 'text/html');
};

// Favourite, boost, bookmark, pin, delete: the buttons of every post belong to the
// page's one form (#act), each with its own address; the same form, sent with fetch.
document.addEventListener('submit', async (ev) => {
  const form = ev.target;
  const button = ev.submitter;
  if (form.id !== 'act' || !button || button.hasAttribute('data-navigate')) return;
  ev.preventDefault();
  const action = button.getAttribute('formaction');
  button.disabled = true;
  try {
    const r = await fetch(action, {
      method: 'POST',
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (!r.ok) throw new Error(String(r.status));
    const s = await r.json();
    const article = button.closest('article');
    if (s.deleted) { article.remove(); return; }
    await refresh(article, action);
  } catch (e) {
    // Without the script's help: the plain form post, and the page it leads back to.
    form.action = action;
    form.submit();
  } finally {
    button.disabled = false;
  }
});

// The post again as the server renders it (counters, pressed buttons, in the reader's
// language), with the keyboard focus back on the button that was pressed.
async function refresh(article, action) {
  const doc = await fetchDoc(`/statuses/${encodeURIComponent(article.id.slice(2))}/item`);
  const el = doc?.querySelector('article');
  if (!el) return;
  const verb = (a) => a.split('/').pop().replace(/^un/, '');
  const pressed = [...el.querySelectorAll('button[formaction]')]
    .find((b) => verb(b.getAttribute('formaction')) === verb(action));
  el.className = article.className;
  article.replaceWith(document.adoptNode(el));
  pressed?.focus();
}

// The character count against the server's limit.
function counter(text) {
  const count = document.getElementById(text.getAttribute('aria-describedby'));
  const max = Number(text.dataset.max);
  const cw = text.form.querySelector('[name=spoiler_text]');
  const update = () => {
    const left = max - [...text.value].length - [...(cw?.value || '')].length;
    count.textContent = say('characters-left', { n: left });
    count.classList.toggle('over', left < 0);
  };
  text.addEventListener('input', update);
  cw?.addEventListener('input', update);
  update();
}
for (const text of document.querySelectorAll('textarea[data-max]')) counter(text);

// Reply in place: "Reply" opens the server's reply form under the post (on the post's
// own page, it goes to the form there); a second click closes it.
document.addEventListener('click', async (ev) => {
  const a = ev.target.closest('a[data-reply]');
  if (!a) return;
  ev.preventDefault();
  const article = a.closest('article');
  const own = document.querySelector('#reply form.compose [name=in_reply_to_id]');
  if (own && own.value === a.dataset.reply) {
    own.form.querySelector('textarea').focus();
    return;
  }
  const open = article.nextElementSibling;
  if (open?.classList.contains('inline-reply')) {
    open.remove();
    a.setAttribute('aria-expanded', 'false');
    return;
  }
  const doc = await fetchDoc(`/statuses/${encodeURIComponent(a.dataset.reply)}/reply`);
  const section = doc?.querySelector('section.inline-reply');
  if (!section) { location.href = a.href; return; }
  article.after(document.adoptNode(section));
  a.setAttribute('aria-expanded', 'true');
  const text = section.querySelector('textarea');
  counter(text);
  text.focus();
  text.setSelectionRange(text.value.length, text.value.length);
});

// The list of replies under `article`, made when it has none yet: on a thread page
// the focused post's replies are the tree below it; elsewhere a reply list follows
// the post.
function repliesOf(article) {
  const holder = article.parentElement;
  if (holder.classList.contains('focus')) {
    let tree = holder.parentElement.querySelector(':scope > ol.tree');
    if (!tree) {
      tree = document.createElement('ol');
      tree.className = 'tree';
      tree.setAttribute('aria-label', say('replies'));
      holder.parentElement.append(tree);
    }
    return tree;
  }
  const existing = holder.tagName === 'LI'
    ? holder.querySelector(':scope > details > ol.tree, :scope > ol.tree')
    : article.nextElementSibling?.matches('ol.tree') && article.nextElementSibling;
  if (existing) return existing;
  const tree = document.createElement('ol');
  tree.className = 'tree';
  article.after(tree);
  return tree;
}

// A reply form sent with fetch: the new post appears under the one it answers, the
// form closes (or, on the post's page, empties), and an error is said in the form.
document.addEventListener('submit', async (ev) => {
  const form = ev.target;
  if (!form.matches('form.compose[data-inline]')) return;
  ev.preventDefault();
  const button = form.querySelector('button[type=submit]');
  const error = form.querySelector('p.error');
  button.disabled = true;
  try {
    const r = await fetch(form.action, {
      method: 'POST',
      body: new FormData(form),
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (!r.ok) {
      const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
      error.textContent = doc.querySelector('p.error')?.textContent || say('reply-failed', { status: r.status });
      error.hidden = false;
      return;
    }
    const s = await r.json();
    error.hidden = true;
    const inline = form.closest('section.inline-reply');
    const parent = inline ? inline.previousElementSibling : document.querySelector('.thread > .focus > article');
    const doc = await fetchDoc(`/statuses/${encodeURIComponent(s.id)}/item`);
    const el = doc?.querySelector('article');
    if (inline) {
      inline.remove();
      parent.querySelector('a[data-reply]')?.setAttribute('aria-expanded', 'false');
    } else {
      form.reset();
      form.querySelector('textarea').dispatchEvent(new Event('input'));
    }
    if (!el || !parent) return;
    document.getElementById(el.id)?.remove();
    el.classList.add('fresh');
    el.tabIndex = -1;
    const li = document.createElement('li');
    li.append(document.adoptNode(el));
    repliesOf(parent).append(li);
    el.focus();
  } catch (e) {
    form.submit();
  } finally {
    button.disabled = false;
  }
});

// "Older posts": the next page's posts appended in place.
document.addEventListener('click', async (ev) => {
  const a = ev.target.closest('nav.more a[rel=next]');
  if (!a) return;
  ev.preventDefault();
  const r = await fetch(a.href, { credentials: 'same-origin' });
  if (!r.ok) { location.href = a.href; return; }
  const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
  const list = document.querySelector('section.timeline');
  for (const art of doc.querySelectorAll('section.timeline > article, section.timeline > div.notification')) {
    if (!document.getElementById(art.id)) list.append(document.adoptNode(art));
  }
  const next = doc.querySelector('nav.more a[rel=next]');
  if (next) a.href = next.getAttribute('href'); else a.closest('nav').remove();
});

// Live timelines: new posts arrive through the streaming API (SSE). The first
// connection resumes from the event the server had sent when it read the page
// (data-resume), so nothing posted since is missed; after a network blip or a server
// restart the browser resumes with Last-Event-ID, and the server replays what was
// missed. A stream the browser gave up on (an error answer) is opened again here.
const timeline = document.querySelector('section.timeline[data-stream]');
const token = document.querySelector('meta[name=sluice-stream-token]')?.content;
if (timeline && token && !new URL(location.href).searchParams.has('max_id')) {
  const stream = timeline.dataset.stream;
  let base = `/api/v1/streaming/${stream.replace(':', '/')}?access_token=${encodeURIComponent(token)}`;
  if (timeline.dataset.tag) base += `&tag=${encodeURIComponent(timeline.dataset.tag)}`;
  if (timeline.dataset.list) base += `&list=${encodeURIComponent(timeline.dataset.list)}`;
  let lastId = timeline.dataset.resume || '';
  const notice = document.createElement('p');
  notice.className = 'notice';
  notice.setAttribute('role', 'status');
  let lost = false;
  let failures = 0;
  const seen = (ev) => { if (ev.lastEventId) lastId = ev.lastEventId; };
  // Newest first, by the id of the timeline entry (a boost's own id, a notification's
  // id): posts are `article#s-ID`, notifications `div.notification#n-ID`.
  const place = (el) => {
    const id = BigInt(el.id.slice(2));
    const kin = el.id.startsWith('n-') ? ':scope > div.notification[id^="n-"]' : ':scope > article[id^="s-"]';
    for (const other of timeline.querySelectorAll(kin)) {
      if (BigInt(other.id.slice(2)) < id) { other.before(el); return; }
    }
    timeline.append(el);
  };
  // One entry rendered by the server (the template the page uses), added in place.
  const insert = async (url, selector) => {
    const r = await fetch(url, { credentials: 'same-origin' });
    if (!r.ok) return;
    const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
    const el = doc.querySelector(selector);
    if (!el || document.getElementById(el.id)) return;
    el.classList.add('fresh');
    timeline.querySelector('.empty')?.remove();
    place(document.adoptNode(el));
  };
  const connect = () => {
    const source = new EventSource(lastId ? `${base}&last_event_id=${encodeURIComponent(lastId)}` : base);
    source.addEventListener('error', () => {
      if (!lost) {
        lost = true;
        notice.textContent = say('reconnecting');
        timeline.before(notice);
      }
      // Closed for good (an error answer rather than a dropped connection): try again
      // from the last event seen, less and less often; the page says when it gives up.
      if (source.readyState === EventSource.CLOSED) {
        failures += 1;
        if (failures > 8) {
          notice.textContent = say('stopped');
          return;
        }
        setTimeout(connect, Math.min(30000, 1000 * 2 ** (failures - 1)));
      }
    });
    source.addEventListener('open', () => {
      failures = 0;
      if (!lost) return;
      lost = false;
      notice.textContent = say('reconnected');
      setTimeout(() => { if (!lost) notice.remove(); }, 4000);
    });
    source.addEventListener('update', async (ev) => {
      seen(ev);
      const s = JSON.parse(ev.data);
      if (document.getElementById(`s-${s.id}`)) return;
      // The server renders the post, as it renders the page: one template for both.
      await insert(`/statuses/${encodeURIComponent(s.id)}/item`, 'article');
    });
    source.addEventListener('notification', async (ev) => {
      seen(ev);
      // Home's stream (`user`) carries notifications too; only their page shows them.
      if (stream !== 'user:notification') return;
      const n = JSON.parse(ev.data);
      if (document.getElementById(`n-${n.id}`)) return;
      await insert(`/notifications/${encodeURIComponent(n.id)}/item`, 'div.notification');
    });
    source.addEventListener('delete', (ev) => {
      seen(ev);
      // A deleted post goes with its boosts (same data-id); an undone boost by its own id.
      const gone = `article[data-id="${CSS.escape(ev.data)}"], article#s-${CSS.escape(ev.data)}`;
      for (const art of document.querySelectorAll(gone)) art.remove();
    });
  };
  connect();
}
