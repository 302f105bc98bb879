// Sluice web app: makes the server-rendered pages live. Every page works without this
// file; with it, actions happen in place, the character count follows the text,
// "older posts" loads below, and timelines take new posts (the notifications page, new
// notifications) from the streaming API, resuming after a network blip or a server restart
// (Last-Event-ID) without missing one.

const csrf = () => document.querySelector('input[name=authenticity_token]')?.value;

// Favourite, boost, bookmark, delete: the same form, sent with fetch.
document.addEventListener('submit', async (ev) => {
  const form = ev.target;
  if (!form.classList.contains('act')) return;
  ev.preventDefault();
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const r = await fetch(form.action, {
      method: 'POST',
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (!r.ok) throw new Error(String(r.status));
    const s = await r.json();
    const article = form.closest('article');
    if (s.deleted) { article.remove(); return; }
    updateActions(article, s);
  } catch (e) {
    form.submit();
  } finally {
    button.disabled = false;
  }
});

function updateActions(article, s) {
  const body = s.reblog || s;
  const counts = article.querySelector('.counts');
  const n = (k, one, many) => `${k} ${k === 1 ? one : many}`;
  if (counts) {
    counts.textContent = [
      n(body.replies_count, 'reply', 'replies'),
      n(body.reblogs_count, 'boost', 'boosts'),
      n(body.favourites_count, 'favourite', 'favourites'),
    ].join(' · ');
  }
  const toggles = [
    ['favourite', 'unfavourite', 'Favourite', 'Unfavourite', body.favourited],
    ['reblog', 'unreblog', 'Boost', 'Unboost', body.reblogged],
    ['bookmark', 'unbookmark', 'Bookmark', 'Remove bookmark', body.bookmarked],
  ];
  for (const f of article.querySelectorAll('form.act')) {
    const verb = f.action.split('/').pop();
    for (const [on, off, onLabel, offLabel, state] of toggles) {
      if (verb !== on && verb !== off) continue;
      f.action = f.action.replace(/[a-z]+$/, state ? off : on);
      const b = f.querySelector('button');
      b.textContent = state ? offLabel : onLabel;
      b.setAttribute('aria-pressed', state ? 'true' : 'false');
    }
  }
}

// The character count against the server's limit.
for (const text of document.querySelectorAll('textarea[data-max]')) {
  const count = document.getElementById(text.getAttribute('aria-describedby'));
  const max = Number(text.dataset.max);
  const cw = text.form.querySelector('[name=spoiler_text]');
  const update = () => {
    const left = max - [...text.value].length - [...(cw?.value || '')].length;
    count.textContent = `${left} characters left`;
    count.classList.toggle('over', left < 0);
  };
  text.addEventListener('input', update);
  cw?.addEventListener('input', update);
  update();
}

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
    // Its forms come back to this page, not to the fragment's address.
    for (const back of el.querySelectorAll('input[name=return_to]')) back.value = location.pathname + location.search;
    timeline.querySelector('.empty')?.remove();
    place(document.adoptNode(el));
  };
  const connect = () => {
    const source = new EventSource(lastId ? `${base}&last_event_id=${encodeURIComponent(lastId)}` : base);
    source.addEventListener('error', () => {
      if (!lost) {
        lost = true;
        notice.textContent = 'Reconnecting… posts made meanwhile will appear when it is back.';
        timeline.before(notice);
      }
      // Closed for good (an error answer rather than a dropped connection): try again
      // from the last event seen, less and less often; the page says when it gives up.
      if (source.readyState === EventSource.CLOSED) {
        failures += 1;
        if (failures > 8) {
          notice.textContent = 'Live updates stopped. Reload the page to see new posts.';
          return;
        }
        setTimeout(connect, Math.min(30000, 1000 * 2 ** (failures - 1)));
      }
    });
    source.addEventListener('open', () => {
      failures = 0;
      if (!lost) return;
      lost = false;
      notice.textContent = 'Connected again: nothing was missed.';
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
