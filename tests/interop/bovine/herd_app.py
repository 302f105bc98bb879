"""The bovine-herd server used by tests/interop/bovine.sh (run with hypercorn).

    BOVINE_DB_URL=sqlite:///tmp/x/bovine.sqlite3 hypercorn --bind 127.0.0.3:PORT herd_app:app

This is the documented minimal bovine_herd application (a Quart app with BovineHerd
attached), with its database taken from BOVINE_DB_URL, the variable bovine-tool reads,
so the actors registered with bovine-tool are the ones this server serves, and with
JSON-LD contexts served locally (offline_jsonld.py): nothing leaves loopback.
"""

import logging
import os

from quart import Quart

from bovine_herd import BovineHerd

import offline_jsonld  # noqa: F401  (before anything is processed: no context fetches)

logging.basicConfig(
    level=os.environ.get("BOVINE_LOG_LEVEL", "INFO"),
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)

app = Quart(__name__)
BovineHerd(app, db_url=os.environ["BOVINE_DB_URL"])
