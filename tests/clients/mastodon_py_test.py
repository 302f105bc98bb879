#!/usr/bin/env python3
"""Mastodon.py against a running Sluice server.

Environment (set by run.sh):
  SLUICE_BASE_URL   e.g. http://127.0.0.1:40123 (loopback only)
  CLIENT_USERNAME   a user created with `sluice admin create-user`
  CLIENT_EMAIL      its e-mail
  CLIENT_PASSWORD   its password
  CLIENT_MODERATOR  a user with the moderator role (same password), for the admin
                    report calls
  CLIENT_ADMIN_EMAIL  an admin's e-mail (same password), for the admin API checks

Every check asserts something that can fail. A failing check is reported and
the remaining checks still run (later ones may fail as a consequence); the
exit status is non-zero when any check failed.
"""

import io
import os
import struct
import sys
import time
import traceback
import urllib.request
import warnings
import zlib
from urllib.parse import urlparse

from mastodon import Mastodon, MastodonAPIError, MastodonNotFoundError

BASE = os.environ["SLUICE_BASE_URL"].rstrip("/")
USERNAME = os.environ["CLIENT_USERNAME"]
EMAIL = os.environ["CLIENT_EMAIL"]
PASSWORD = os.environ["CLIENT_PASSWORD"]
MODERATOR = os.environ.get("CLIENT_MODERATOR", "")
SCOPES = ["read", "write", "follow", "push"]
TAG = f"mpy{int(time.time() * 1000) % 10**8}"

host = urlparse(BASE).hostname
if host not in ("127.0.0.1", "::1", "localhost"):
    sys.exit(f"refusing to run against non-loopback host {host!r}")

# Asserted once in check_version_detection; elsewhere it is only noise.
warnings.filterwarnings("ignore", message=".*no API version found.*")

FAILED = []
PASSED = []
state = {}


class CheckFailed(AssertionError):
    pass


def expect(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def check(fn):
    name = fn.__name__.removeprefix("check_")
    try:
        fn()
    except Exception as e:  # report and go on
        FAILED.append(name)
        if isinstance(e, CheckFailed):
            detail = str(e)
        else:
            here = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == __file__]
            where = f" (at line {here[-1].lineno}: {here[-1].line})" if here else ""
            detail = f"{type(e).__name__}: {e}{where}"
            if e.__cause__ is not None:
                detail += f"; caused by {type(e.__cause__).__name__}: {e.__cause__}"
        print(f"not ok - mastodon.py: {name}: {detail}", flush=True)
    else:
        PASSED.append(name)
        print(f"ok - mastodon.py: {name}", flush=True)
    return fn


def ids(page):
    return [str(s.id) for s in (page or [])]


# --- setup: app + client (needed by everything) -------------------------------

try:
    CLIENT_ID, CLIENT_SECRET = Mastodon.create_app(
        "sluice-client-suite (Mastodon.py)", api_base_url=BASE, scopes=SCOPES
    )
    with warnings.catch_warnings():
        # The instance/v2 problem is asserted in its own check below.
        warnings.simplefilter("ignore")
        m = Mastodon(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            api_base_url=BASE,
            version_check_mode="created",
        )
except Exception:
    traceback.print_exc()
    print("not ok - mastodon.py: setup (create_app / client construction) failed")
    sys.exit(1)


@check
def check_version_detection():
    """Mastodon.py reads the version from /api/v1/instance/ and the API version
    from /api/v2/instance/ (with a trailing slash); a missing API version on a
    >= 4.3.0 server makes it warn "no API version found"."""
    probe = Mastodon(api_base_url=BASE, version_check_mode="created")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        version = probe.retrieve_mastodon_version(fail_hard=True)
    expect(version.startswith("4."), f"unexpected version {version!r}")
    msgs = [str(w.message) for w in caught]
    expect(not msgs, f"Mastodon.py warned while detecting the version: {msgs}")
    expect(
        getattr(probe, "mastodon_api_version", None) == 2,
        f"api_versions.mastodon not detected (got {getattr(probe, 'mastodon_api_version', None)!r})",
    )


@check
def check_instance_v2():
    inst = m.instance_v2()
    expect(inst.domain == urlparse(BASE).netloc, f"instance_v2 domain {inst.domain!r}")
    expect(inst.registrations.enabled is True, "registrations should be open for the suite")


@check
def check_password_login_with_email():
    token = m.log_in(EMAIL, PASSWORD, scopes=SCOPES, allow_http=True)
    expect(isinstance(token, str) and len(token) > 10, f"bad token {token!r}")
    state["token"] = token


@check
def check_password_login_with_username():
    other = Mastodon(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_base_url=BASE,
                     version_check_mode="none")
    token = other.log_in(USERNAME, PASSWORD, scopes=SCOPES, allow_http=True)
    expect(token, "no token")
    expect(other.account_verify_credentials().username == USERNAME, "wrong account")


@check
def check_wrong_password_rejected():
    other = Mastodon(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_base_url=BASE,
                     version_check_mode="none")
    try:
        other.log_in(EMAIL, PASSWORD + "-wrong", scopes=SCOPES, allow_http=True)
    except Exception:
        return
    raise CheckFailed("log_in with a wrong password succeeded")


@check
def check_verify_credentials():
    me = m.account_verify_credentials()
    expect(me.username == USERNAME, f"username {me.username!r} != {USERNAME!r}")
    expect(me.acct == USERNAME, f"acct {me.acct!r}")
    expect(me.source is not None and "privacy" in me.source, "verify_credentials lacks source")
    state["me"] = me
    # The account's URLs must live on this server (the user was created by
    # `sluice admin create-user` with the same configuration as the server).
    expect(me.url == f"{BASE}/@{USERNAME}", f"account url {me.url!r}, expected {BASE}/@{USERNAME}")
    expect(me.uri == f"{BASE}/users/{USERNAME}", f"account uri {me.uri!r}, expected {BASE}/users/{USERNAME}")


@check
def check_home_timeline_paging():
    posted = [m.status_post(f"{TAG} paging post {i}") for i in range(5)]
    want = [str(s.id) for s in reversed(posted)]  # newest first
    expect(all(s.content and f"paging post {i}" in s.content for i, s in enumerate(posted)),
           "status content does not contain the posted text")

    page1 = m.timeline_home(limit=2)
    expect(ids(page1) == want[0:2], f"page 1 {ids(page1)} != {want[0:2]}")
    page2 = m.fetch_next(page1)
    expect(page2 is not None, "no next page after page 1 (Link rel=next missing?)")
    expect(ids(page2) == want[2:4], f"page 2 {ids(page2)} != {want[2:4]}")
    page3 = m.fetch_next(page2)
    expect(page3 is not None, "no next page after page 2")
    expect(ids(page3) == want[4:5], f"page 3 {ids(page3)} != {want[4:5]}")
    page4 = m.fetch_next(page3)
    expect(not page4, f"expected the end of the timeline, got {ids(page4)}")
    seen = ids(page1) + ids(page2) + ids(page3)
    expect(len(seen) == len(set(seen)), f"duplicates across pages: {seen}")

    # Nothing newer yet; then a new post shows up as the previous page.
    prev = m.fetch_previous(page1)
    expect(not prev, f"fetch_previous returned {ids(prev)} before anything newer existed")
    newest = m.status_post(f"{TAG} newest")
    prev = m.fetch_previous(page1)
    expect(prev is not None and ids(prev) == [str(newest.id)],
           f"fetch_previous {ids(prev)} != [{newest.id}]")
    state["posts"] = posted


@check
def check_account_statuses():
    me = state["me"]
    page = m.account_statuses(me.id, limit=3)
    expect(len(page) == 3, f"account_statuses limit=3 returned {len(page)}")
    expect(all(str(s.account.id) == str(me.id) for s in page), "foreign status in account_statuses")
    nxt = m.fetch_next(page)
    expect(nxt and not set(ids(nxt)) & set(ids(page)), "account_statuses next page overlaps")


@check
def check_favourite():
    target = state["posts"][0]
    s = m.status_favourite(target.id)
    expect(s.favourited is True, f"favourited={s.favourited!r}")
    expect(s.favourites_count == 1, f"favourites_count={s.favourites_count!r}")
    again = m.status(target.id)
    expect(again.favourited is True and again.favourites_count == 1,
           f"re-fetched: favourited={again.favourited!r} count={again.favourites_count!r}")
    favs = m.favourites()
    expect(str(target.id) in ids(favs), "favourited status missing from favourites()")
    who = m.status_favourited_by(target.id)
    expect([a.username for a in who] == [USERNAME], f"favourited_by {[a.username for a in who]}")
    s = m.status_favourite(target.id)
    expect(s.favourites_count == 1, f"favouriting twice gives favourites_count={s.favourites_count!r}")
    s = m.status_unfavourite(target.id)
    expect(s.favourited is False and s.favourites_count == 0,
           f"after unfavourite: favourited={s.favourited!r} count={s.favourites_count!r}")


@check
def check_reply_and_context():
    root = state["posts"][1]
    reply = m.status_post(f"{TAG} a reply", in_reply_to_id=root.id)
    expect(str(reply.in_reply_to_id) == str(root.id), f"in_reply_to_id {reply.in_reply_to_id!r}")
    reply2 = m.status_post(f"{TAG} a reply to the reply", in_reply_to_id=reply.id)
    ctx = m.status_context(reply.id)
    expect(ids(ctx.ancestors) == [str(root.id)], f"ancestors {ids(ctx.ancestors)}")
    expect(ids(ctx.descendants) == [str(reply2.id)], f"descendants {ids(ctx.descendants)}")
    ctx = m.status_context(root.id)
    expect(ids(ctx.ancestors) == [], f"root ancestors {ids(ctx.ancestors)}")
    expect(ids(ctx.descendants) == [str(reply.id), str(reply2.id)], f"root descendants {ids(ctx.descendants)}")
    expect(m.status(root.id).replies_count == 1, "replies_count of root != 1")


@check
def check_bookmark():
    target = state["posts"][2]
    s = m.status_bookmark(target.id)
    expect(s.bookmarked is True, f"bookmarked={s.bookmarked!r}")
    expect(str(target.id) in ids(m.bookmarks()), "status missing from bookmarks()")
    s = m.status_unbookmark(target.id)
    expect(s.bookmarked is False, "still bookmarked after unbookmark")
    expect(str(target.id) not in ids(m.bookmarks()), "status still in bookmarks() after unbookmark")


@check
def check_edit_and_history():
    s = m.status_post(f"{TAG} before edit")
    e = m.status_update(s.id, f"{TAG} after edit")
    expect("after edit" in e.content, f"edited content {e.content!r}")
    expect(e.edited_at is not None, "edited_at not set")
    hist = m.status_history(s.id)
    expect(len(hist) == 2, f"history has {len(hist)} versions")
    expect("before edit" in hist[0].content and "after edit" in hist[-1].content, "history order/content")
    src = m.status_source(s.id)
    expect(src.text == f"{TAG} after edit", f"source text {src.text!r}")


@check
def check_delete():
    s = m.status_post(f"{TAG} to be deleted")
    deleted = m.status_delete(s.id)
    expect("to be deleted" in (deleted.get("text") or ""), f"delete did not return source text: {deleted.get('text')!r}")
    try:
        m.status(s.id)
    except MastodonNotFoundError:
        return
    raise CheckFailed("deleted status is still retrievable")


def tiny_png(width, height):
    """A real PNG (red pixels), with a text chunk that the server must strip."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00private-note")
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@check
def check_media_upload_and_post():
    """media_post (POST /api/v2/media), media_update, a post with it, and the file."""
    media = m.media_post(
        io.BytesIO(tiny_png(4, 3)),
        mime_type="image/png",
        file_name="dot.png",
        description="a red dot",
        focus=(0.5, -0.5),
    )
    expect(media.type == "image", f"media type {media.type!r}")
    expect(media.meta.original.width == 4 and media.meta.original.height == 3, f"meta {media.meta!r}")
    media = m.media_update(media.id, description="a small red dot")
    expect(media.description == "a small red dot", f"description {media.description!r}")
    s = m.status_post(f"{TAG} with a picture", media_ids=[media.id])
    got = [(str(a.id), a.description) for a in s.media_attachments]
    expect(got == [(str(media.id), "a small red dot")], f"attachments {got}")
    with urllib.request.urlopen(media.url, timeout=10) as r:
        body = r.read()
        expect(r.headers["Content-Type"] == "image/png", f"content type {r.headers['Content-Type']!r}")
    expect(body.startswith(b"\x89PNG") and b"private-note" not in body, "file not served stripped")


@check
def check_avatar_upload():
    """account_update_credentials with an avatar file (multipart PATCH)."""
    me = m.account_update_credentials(avatar=io.BytesIO(tiny_png(16, 16)), avatar_mime_type="image/png")
    expect("/media/" in me.avatar, f"avatar {me.avatar!r}")
    with urllib.request.urlopen(me.avatar, timeout=10) as r:
        expect(r.read().startswith(b"\x89PNG"), "avatar file not served")


@check
def check_register_second_user_and_mention():
    reg = Mastodon(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_base_url=BASE,
                   version_check_mode="none")
    name = f"bob{TAG[3:]}"
    token = reg.create_account(name, "correct horse battery staple", f"{name}@example.com",
                               agreement=True, locale="en", scopes=SCOPES)
    expect(token, "create_account returned no token")
    bob = Mastodon(access_token=token, api_base_url=BASE, version_check_mode="none")
    expect(bob.account_verify_credentials().username == name, "registered account has wrong username")

    # Registering the same username again must fail with ERR_TAKEN.
    reg2 = Mastodon(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_base_url=BASE,
                    version_check_mode="none")
    tok, err = reg2.create_account(name, "another long password", f"other-{name}@example.com",
                                   agreement=True, return_detailed_error=True)
    expect(tok is None, "duplicate username was accepted")
    expect(err and "username" in (err.get("details") or {}), f"duplicate-username error lacks details: {err!r}")
    expect(err["details"]["username"][0]["error"] == "ERR_TAKEN", f"detail {err['details']['username']!r}")

    me = state["me"]
    bob.account_follow(me.id)
    rel = bob.account_relationships([me.id])[0]
    expect(rel.following is True, "bob does not follow after account_follow")
    mention = bob.status_post(f"@{USERNAME} hello from bob {TAG}")
    expect([a.username for a in mention.mentions] == [USERNAME], f"mentions {mention.mentions!r}")

    notes = m.notifications()
    kinds = {(n.type, n.account.username) for n in notes}
    expect(("mention", name) in kinds, f"no mention notification from {name}: {sorted(kinds)}")
    expect(("follow", name) in kinds, f"no follow notification from {name}: {sorted(kinds)}")
    mn = [n for n in notes if n.type == "mention"][0]
    expect(str(mn.status.id) == str(mention.id), "mention notification points at the wrong status")
    only = m.notifications(types=["mention"])
    expect({n.type for n in only} == {"mention"}, f"types filter returned {[n.type for n in only]}")

    followers = m.account_followers(me.id)
    expect(name in [a.username for a in followers], "bob missing from followers")
    # bob follows alice, so alice's next post reaches bob's home timeline.
    p = m.status_post(f"{TAG} for my followers")
    expect(str(p.id) in ids(bob.timeline_home(limit=5)), "followed user's post not in follower's home")

    m.notifications_dismiss(mn.id)
    expect(str(mn.id) not in [str(n.id) for n in m.notifications()], "dismissed notification still listed")
    state["bob"], state["bob_name"] = bob, name


def register(prefix):
    reg = Mastodon(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_base_url=BASE,
                   version_check_mode="none")
    name = f"{prefix}{TAG[3:]}"
    token = reg.create_account(name, "correct horse battery staple", f"{name}@example.com",
                               agreement=True, locale="en", scopes=SCOPES)
    return Mastodon(access_token=token, api_base_url=BASE, version_check_mode="none"), name


@check
def check_visibility():
    bob, bob_name = state["bob"], state["bob_name"]  # bob follows alice
    dave, dave_name = register("dave")  # dave does not
    private = m.status_post(f"{TAG} followers only", visibility="private")
    expect(private.visibility == "private", f"visibility {private.visibility!r}")
    expect(str(bob.status(private.id).id) == str(private.id), "follower cannot see a private status")
    try:
        dave.status(private.id)
        raise CheckFailed("a non-follower can read a followers-only status")
    except MastodonNotFoundError:
        pass
    expect(str(private.id) in ids(bob.timeline_home(limit=5)), "private status missing from follower's home")
    expect(str(private.id) not in ids(dave.timeline_public(limit=40)), "private status on the public timeline")
    expect(str(private.id) not in ids(dave.account_statuses(state["me"].id, limit=40)),
           "private status listed to a non-follower in account_statuses")

    direct = m.status_post(f"@{dave_name} just for you {TAG}", visibility="direct")
    expect(direct.visibility == "direct", f"visibility {direct.visibility!r}")
    expect(str(dave.status(direct.id).id) == str(direct.id), "mentioned user cannot see a direct status")
    try:
        bob.status(direct.id)
        raise CheckFailed("an unmentioned follower can read a direct status")
    except MastodonNotFoundError:
        pass
    expect(("mention", str(direct.id)) in [(n.type, str(n.status.id)) for n in dave.notifications() if n.status],
           "no mention notification for the direct status")

    cw = m.status_post(f"{TAG} behind a warning", spoiler_text="cw here", sensitive=True)
    expect(cw.spoiler_text == "cw here" and cw.sensitive is True, f"spoiler_text/sensitive {cw.spoiler_text!r}/{cw.sensitive!r}")


@check
def check_reblog():
    bob, name = state["bob"], state["bob_name"]
    target = state["posts"][3]
    r = bob.status_reblog(target.id)
    expect(r.reblog is not None and str(r.reblog.id) == str(target.id), "reblog does not wrap the original")
    expect(r.reblog.reblogged is True, "reblog.reblogged is not true for the booster")
    s = m.status(target.id)
    expect(s.reblogs_count == 1, f"reblogs_count={s.reblogs_count!r}")
    expect([a.username for a in m.status_reblogged_by(target.id)] == [name], "reblogged_by mismatch")
    notes = m.notifications(types=["reblog"])
    expect([(n.account.username, str(n.status.id)) for n in notes] == [(name, str(target.id))],
           f"reblog notifications {[(n.account.username, str(n.status.id)) for n in notes]}")
    u = bob.status_unreblog(target.id)
    expect(u.reblogged is False, "still reblogged after unreblog")
    expect(m.status(target.id).reblogs_count == 0, "reblogs_count not back to 0")


@check
def check_mute_and_block():
    bob = state["bob"]
    bob_id = bob.account_verify_credentials().id
    rel = m.account_mute(bob_id)
    expect(rel.muting is True, "muting not true after account_mute")
    expect(str(bob_id) in [str(a.id) for a in m.mutes()], "bob missing from mutes()")
    expect(m.account_unmute(bob_id).muting is False, "still muting after unmute")
    rel = m.account_block(bob_id)
    expect(rel.blocking is True, "blocking not true after account_block")
    expect(str(bob_id) in [str(a.id) for a in m.blocks()], "bob missing from blocks()")
    # Blocking removes the follow relationship in both directions.
    expect(bob.account_relationships([state["me"].id])[0].following is False, "bob still follows after being blocked")
    expect(m.account_unblock(bob_id).blocking is False, "still blocking after unblock")


@check
def check_update_credentials():
    me = m.account_update_credentials(display_name=f"Alice {TAG}", note="hello, I am alice", locked=False)
    expect(me.display_name == f"Alice {TAG}", f"display_name {me.display_name!r}")
    expect("hello, I am alice" in me.note, f"note {me.note!r}")
    again = m.account_verify_credentials()
    expect(again.display_name == f"Alice {TAG}" and again.source.note == "hello, I am alice",
           "update not visible in verify_credentials")


@check
def check_lookup_and_search():
    acc = m.account_lookup(USERNAME)
    expect(str(acc.id) == str(state["me"].id), "account_lookup returned another account")
    found = m.account_search(USERNAME[:3])
    expect(str(state["me"].id) in [str(a.id) for a in found], "account_search does not find the user")


@check
def check_hashtag_timeline():
    s = m.status_post(f"{TAG} tagged #{TAG}")
    expect([t.name.lower() for t in s.tags] == [TAG.lower()], f"tags {s.tags!r}")
    tl = m.timeline_hashtag(TAG)
    expect(ids(tl) == [str(s.id)], f"hashtag timeline {ids(tl)}")


@check
def check_markers_and_preferences():
    newest = state["posts"][-1]
    m.markers_set(["home"], [newest.id])
    mk = m.markers_get(["home"])
    expect("home" in mk and str(mk["home"].last_read_id) == str(newest.id), f"markers {mk!r}")
    prefs = m.preferences()
    expect(prefs.get("posting:default:visibility") in ("public", "unlisted", "private", "direct"),
           f"preferences {prefs!r}")


@check
def check_stream_user():
    """stream_user with a StreamListener: our own post arrives as `update`, bob's
    favourite of it as `notification` (Mastodon.py finds the streaming URL in the
    instance's urls.streaming_api)."""
    import threading

    from mastodon import StreamListener

    got = {"update": [], "notification": []}
    ready = threading.Event()

    class Listener(StreamListener):
        def on_update(self, status):
            got["update"].append(status)
            ready.set()

        def on_notification(self, notification):
            got["notification"].append(notification)
            ready.set()

    handle = m.stream_user(Listener(), run_async=True, reconnect_async=False)
    try:
        # The stream carries only what is posted once it is open, and opening it can
        # take a while on a busy machine: post every two seconds until one arrives.
        posted = {}
        deadline = time.time() + 25
        next_post = 0.0
        seen = []
        while time.time() < deadline and not seen:
            if time.time() >= next_post and len(posted) < 10:
                p = m.status_post(f"{TAG} streamed to myself {len(posted)}")
                posted[str(p.id)] = p
                next_post = time.time() + 2
            time.sleep(0.1)
            seen = [s for s in got["update"] if str(s.id) in posted]
        expect(seen, f"own post not streamed as update: {[str(s.id) for s in got['update']]}")
        post = seen[0]
        bob = state.get("bob")
        if bob is not None:
            bob.status_favourite(post.id)
            deadline = time.time() + 20
            while time.time() < deadline and not got["notification"]:
                time.sleep(0.1)
            kinds = [(n.type, str(n.status.id) if n.status else None) for n in got["notification"]]
            expect(("favourite", str(post.id)) in kinds, f"no favourite notification streamed: {kinds}")
    finally:
        handle.close()


@check
def check_polls():
    """A poll made with make_poll, voted on by bob with poll_vote: counts and own
    votes as Mastodon.py reads them; a second vote is refused."""
    poll = m.make_poll(["tea", "coffee", "water"], expires_in=600, multiple=True)
    s = m.status_post(f"{TAG} which ones?", poll=poll)
    expect(s.poll is not None and [o.title for o in s.poll.options] == ["tea", "coffee", "water"],
           f"poll not in the status: {s.poll!r}")
    bob = state.get("bob")
    expect(bob is not None, "bob (made by an earlier check) is missing")
    voted = bob.poll_vote(s.poll.id, [0, 2])
    expect(voted.voted is True and sorted(voted.own_votes) == [0, 2], f"own votes {voted!r}")
    expect([o.votes_count for o in voted.options] == [1, 0, 1], f"counts {voted.options!r}")
    again = m.poll(s.poll.id)
    expect(again.votes_count == 2 and again.voters_count == 1, f"totals {again!r}")
    try:
        bob.poll_vote(s.poll.id, [1])
        raise CheckFailed("a second vote was accepted")
    except MastodonAPIError:
        pass


@check
def check_scheduled_statuses():
    """status_post(scheduled_at=…) answers a ScheduledStatus; it is listed, moved and
    cancelled through Mastodon.py's scheduled_status_* calls."""
    import datetime

    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)
    sched = m.status_post(f"{TAG} later", scheduled_at=at, visibility="unlisted")
    expect(sched.params.text == f"{TAG} later", f"params {sched.params!r}")
    expect(str(sched.id) in [str(x.id) for x in m.scheduled_statuses()], "not listed")
    later = at + datetime.timedelta(hours=1)
    moved = m.scheduled_status_update(sched.id, later)
    expect(abs((moved.scheduled_at - later).total_seconds()) < 1, f"not moved: {moved.scheduled_at!r}")
    m.scheduled_status_delete(sched.id)
    expect(str(sched.id) not in [str(x.id) for x in m.scheduled_statuses()], "not cancelled")


@check
def check_reports():
    """bob reports a post of ours with `report`; the moderator finds it with
    `admin_reports` (Admin::Report) and resolves it with `admin_report_resolve`."""
    bob = state.get("bob")
    expect(bob is not None, "bob (made by an earlier check) is missing")
    expect(MODERATOR, "CLIENT_MODERATOR is not set")
    me = state["me"]
    post = m.status_post(f"{TAG} reported post")
    r = bob.report(me.id, status_ids=[post.id], comment="spam, surely", category="spam")
    expect(r.category == "spam" and r.comment == "spam, surely", f"report {r!r}")
    expect([str(i) for i in r.status_ids] == [str(post.id)], f"status_ids {r.status_ids!r}")
    expect(r.action_taken is False, f"action_taken {r.action_taken!r}")
    scopes = ["read", "write", "admin:read", "admin:write"]
    cid, secret = Mastodon.create_app("sluice-client-suite moderation", api_base_url=BASE,
                                      scopes=scopes)
    mod = Mastodon(client_id=cid, client_secret=secret, api_base_url=BASE,
                   version_check_mode="none")
    mod.log_in(MODERATOR, PASSWORD, scopes=scopes, allow_http=True)
    listed = mod.admin_reports()
    expect(str(r.id) in [str(x.id) for x in listed], f"not in admin_reports: {listed!r}")
    one = [x for x in listed if str(x.id) == str(r.id)][0]
    expect(one.target_account.username == USERNAME, f"target {one.target_account!r}")
    expect(one.account.account.acct == state["bob_name"], f"reporter {one.account!r}")
    expect([str(s.id) for s in one.statuses] == [str(post.id)], f"statuses {one.statuses!r}")
    done = mod.admin_report_resolve(r.id)
    expect(done.action_taken is True, f"not resolved: {done!r}")
    expect(str(r.id) not in [str(x.id) for x in mod.admin_reports()], "still open")
    expect(str(r.id) in [str(x.id) for x in mod.admin_reports(resolved=True)], "not resolved")
    # Not a moderator: refused.
    try:
        m.admin_reports()
        raise CheckFailed("a user without the admin scope listed reports")
    except MastodonAPIError:
        pass


@check
def check_admin_accounts_and_moderation():
    """admin_accounts lists accounts for an admin; admin_account_moderate silences
    one (with a warning the user is shown), admin_account_unsilence lifts it; a plain
    user's token is refused."""
    admin_email = os.environ.get("CLIENT_ADMIN_EMAIL")
    expect(admin_email, "CLIENT_ADMIN_EMAIL is not set")
    scopes = SCOPES + ["admin:read", "admin:write"]
    cid, secret = Mastodon.create_app("sluice-client-suite admin", api_base_url=BASE, scopes=scopes)
    admin = Mastodon(client_id=cid, client_secret=secret, api_base_url=BASE,
                     version_check_mode="none")
    admin.log_in(admin_email, PASSWORD, scopes=scopes, allow_http=True)
    target, name = register("modtarget")
    me = target.me()
    # admin_accounts (v1): Mastodon.py annotates it as returning one AdminAccount, so
    # it leaves the list's items as plain dicts whatever the server; read them so.
    listed = admin.admin_accounts()
    expect(str(me.id) in [str(a["id"]) for a in listed], f"{name} not listed (v1)")
    listed = admin.admin_accounts_v2()
    expect(str(me.id) in [str(a.id) for a in listed], f"{name} not listed (v2)")
    admin.admin_account_moderate(me.id, action="silence", text=f"{TAG} be calm")
    shown = admin.admin_account(me.id)
    expect(shown.silenced is True, f"not silenced: {shown!r}")
    expect(shown.account.username == name, f"account {shown.account!r}")
    notes = target.notifications()
    expect(any(n.type == "moderation_warning" for n in notes), f"no warning: {notes!r}")
    admin.admin_account_unsilence(me.id)
    expect(admin.admin_account(me.id).silenced is False, "still silenced")
    try:
        target.admin_accounts()
        raise CheckFailed("a plain user listed accounts")
    except MastodonAPIError:
        pass


print(f"mastodon.py: {len(PASSED)} checks passed, {len(FAILED)} failed", flush=True)
sys.exit(1 if FAILED else 0)
