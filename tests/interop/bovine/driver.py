"""Drives one bovine-herd actor through bovine's own client-to-server interface.

Used by tests/interop/bovine.sh. The actor was registered with bovine-tool, which also
made the Ed25519 secret this client signs with (Moo-Auth-1): every action goes through
the herd's HTTP endpoints (outbox, proxyUrl, collections) exactly as a bovine client
would use them, so the herd itself does the federation (WebFinger, signed GETs, signed
deliveries, signature checks on its inbox).

    python driver.py --domain http://127.0.0.3:PORT --secret z... COMMAND [ARGS]

Commands (each prints one line of JSON on success; waits are bounded by --timeout and
exit with status 1 and a message on stderr when the condition never holds):

    whoami                        the actor's id, inbox, followers
    resolve ACCT                  look ACCT (user@host) up through the herd's proxyUrl:
                                  the herd does WebFinger and a signed GET of the actor
    follow ACTOR_ID               send Follow(ACTOR_ID) through the outbox
    wait-following ACTOR_ID       until ACTOR_ID is in the following collection
                                  (the herd adds it when the Accept arrives)
    wait-note ACTOR_ID TEXT       until the inbox holds a Create(Note) by ACTOR_ID whose
                                  content contains TEXT
    accept-follow ACTOR_ID        wait for a Follow by ACTOR_ID in the inbox, Accept it
    wait-follower ACTOR_ID        until ACTOR_ID is in the followers collection
    post TEXT                     publish a public Note (to Public, cc followers)
"""

import argparse
import asyncio
import json
import sys
import time

import aiohttp
from bovine import BovineClient

import offline_jsonld  # noqa: F401  (no JSON-LD context is fetched from the network)


def out(value):
    print(json.dumps(value, sort_keys=True))


def id_of(value):
    if isinstance(value, dict):
        return value.get("id")
    return value


async def get_collection(client, url):
    """The collection through a GET (owner's view); bovine lists small collections
    inline and pages bigger ones behind `first`."""
    data = await client.get(url)
    items = list(data.get("orderedItems", data.get("items", [])))
    page = data.get("first")
    seen = 0
    while page and seen < 20:
        seen += 1
        page_data = await client.get(page if isinstance(page, str) else page["id"])
        items.extend(page_data.get("orderedItems", page_data.get("items", [])))
        page = page_data.get("next")
    return items


async def inbox_activities(client):
    """The activities in the actor's inbox, resolved through the proxyUrl."""
    result = []
    for item in await get_collection(client, client.information["inbox"]):
        if isinstance(item, str):
            try:
                item = await client.proxy(item)
            except Exception as e:  # noqa: BLE001 - report and go on
                print(f"driver: could not resolve inbox item {item}: {e}", file=sys.stderr)
                continue
        result.append(item)
    return result


async def wait_until(what, timeout, check, interval=0.5):
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            found = await check()
            if found:
                return found
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            print(f"driver: timed out after {timeout}s waiting for {what}{detail}", file=sys.stderr)
            sys.exit(1)
        await asyncio.sleep(interval)


async def run(args):
    async with BovineClient(domain=args.domain, secret=args.secret) as client:
        info = client.information
        me = info["id"]

        if args.command == "whoami":
            out({"id": me, "inbox": info["inbox"], "followers": info["followers"],
                 "preferredUsername": info.get("preferredUsername")})

        elif args.command == "resolve":
            acct = args.args[0]
            actor = await client.proxy("acct:" + acct.removeprefix("acct:").lstrip("@"))
            if not isinstance(actor, dict) or "inbox" not in actor:
                print(f"driver: resolving {acct} gave {actor!r}", file=sys.stderr)
                sys.exit(1)
            out({"id": actor["id"], "inbox": actor["inbox"], "type": actor.get("type"),
                 "preferredUsername": actor.get("preferredUsername")})

        elif args.command == "follow":
            target = args.args[0]
            follow = client.activity_factory.follow(target).build()
            response = await client.send_to_outbox(follow)
            if response.status >= 300:
                print(f"driver: outbox answered {response.status}: {await response.text()}",
                      file=sys.stderr)
                sys.exit(1)
            out({"follow": response.headers.get("location")})

        elif args.command == "wait-following":
            target = args.args[0]

            async def check():
                items = await get_collection(client, info["following"])
                return target in [id_of(i) for i in items]

            await wait_until(f"{target} in {me}'s following collection (Accept received)",
                             args.timeout, check)
            out({"following": target})

        elif args.command == "wait-follower":
            target = args.args[0]

            async def check():
                items = await get_collection(client, info["followers"])
                return target in [id_of(i) for i in items]

            await wait_until(f"{target} in {me}'s followers collection", args.timeout, check)
            out({"follower": target})

        elif args.command == "wait-note":
            author, text = args.args[0], args.args[1]

            async def check():
                for activity in await inbox_activities(client):
                    if activity.get("type") != "Create" or id_of(activity.get("actor")) != author:
                        continue
                    note = activity.get("object")
                    if isinstance(note, str):
                        note = await client.proxy(note)
                    if not isinstance(note, dict):
                        continue
                    if note.get("type") == "Note" and text in (note.get("content") or ""):
                        return {"activity": activity.get("id"), "note": note.get("id"),
                                "attributedTo": id_of(note.get("attributedTo")),
                                "content": note.get("content")}
                return None

            found = await wait_until(f"a Create(Note) by {author} containing {text!r} in "
                                     f"{me}'s inbox", args.timeout, check)
            out(found)

        elif args.command == "accept-follow":
            follower = args.args[0]

            async def check():
                for activity in await inbox_activities(client):
                    if (activity.get("type") == "Follow"
                            and id_of(activity.get("actor")) == follower
                            and id_of(activity.get("object")) == me):
                        return activity
                return None

            follow = await wait_until(f"a Follow by {follower} in {me}'s inbox",
                                      args.timeout, check)
            follow = {k: v for k, v in follow.items() if k != "@context"}
            accept = client.activity_factory.accept(follow, include_activity=True).build()
            response = await client.send_to_outbox(accept)
            if response.status >= 300:
                print(f"driver: outbox answered {response.status}: {await response.text()}",
                      file=sys.stderr)
                sys.exit(1)
            out({"accepted": follow.get("id"), "accept": response.headers.get("location")})

        elif args.command == "post":
            text = args.args[0]
            note = client.object_factory.note(content=text).as_public().build()
            create = client.activity_factory.create(note).build()
            response = await client.send_to_outbox(create)
            if response.status >= 300:
                print(f"driver: outbox answered {response.status}: {await response.text()}",
                      file=sys.stderr)
                sys.exit(1)
            location = response.headers.get("location")
            created = await client.proxy(location) if location else {}
            out({"create": location, "note": id_of(created.get("object"))})

        else:
            print(f"driver: unknown command {args.command}", file=sys.stderr)
            sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domain", required=True, help="http://host:port of the herd")
    parser.add_argument("--secret", required=True, help="the actor's Ed25519 secret (z...)")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("command")
    parser.add_argument("args", nargs="*")
    args = parser.parse_args()
    try:
        asyncio.run(run(args))
    except aiohttp.ClientResponseError as e:
        print(f"driver: {args.command}: {e.request_info.method} {e.request_info.url} "
              f"answered {e.status} {e.message}".rstrip(), file=sys.stderr)
        sys.exit(1)
    except (aiohttp.ClientError, OSError) as e:
        print(f"driver: {args.command}: {e!r}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
