"""Keeps bovine's JSON-LD processing on this machine.

bovine expands and compacts every stored object with pyld. Its document loader knows
the ActivityStreams context and its own `about:bovine` context, and fetches any other
context URL from the internet (and caches it in `bovine_jsonld_cache.sqlite` in the
working directory). Its own internal context names three of them (security v1, DID v1,
Multikey v1), so a stock bovine-herd reaches out to w3id.org and w3.org on its first
request. The interop test may only contact loopback addresses, so this module installs
a loader that never goes to the network:

- the two contexts bovine ships are served by bovine's own code, as before;
- the three contexts above are served from the small definitions below, which cover
  the terms the Fediverse uses from them (our own minimal versions, enough for the
  keys and addressing exchanged here);
- anything else gets an empty context (and a log line), as bovine itself does when a
  fetch fails.

Import it before the herd (or a client) handles anything; it replaces the document
loader bovine installed when `bovine.jsonld` was imported.
"""

import logging

from pyld import jsonld

import bovine.jsonld as bovine_jsonld

logger = logging.getLogger("offline_jsonld")

SEC = "https://w3id.org/security#"

SECURITY_V1 = {
    "id": "@id",
    "type": "@type",
    "sec": SEC,
    "publicKey": {"@id": SEC + "publicKey", "@type": "@id"},
    "publicKeyPem": SEC + "publicKeyPem",
    "owner": {"@id": SEC + "owner", "@type": "@id"},
    "signature": {"@id": SEC + "signature", "@type": "@id"},
    "signatureValue": SEC + "signatureValue",
    "created": {"@id": "http://purl.org/dc/terms/created",
                "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
    "creator": {"@id": "http://purl.org/dc/terms/creator", "@type": "@id"},
    "nonce": SEC + "nonce",
}

DID_V1 = {
    "id": "@id",
    "type": "@type",
    "alsoKnownAs": {"@id": "https://www.w3.org/ns/activitystreams#alsoKnownAs",
                    "@type": "@id"},
    "assertionMethod": {"@id": SEC + "assertionMethod", "@type": "@id",
                        "@container": "@set"},
    "authentication": {"@id": SEC + "authenticationMethod", "@type": "@id",
                       "@container": "@set"},
    "controller": {"@id": SEC + "controller", "@type": "@id"},
    "service": {"@id": "https://www.w3.org/ns/did#service", "@type": "@id"},
    "verificationMethod": {"@id": SEC + "verificationMethod", "@type": "@id"},
}

MULTIKEY_V1 = {
    "id": "@id",
    "type": "@type",
    "Multikey": {
        "@id": SEC + "Multikey",
        "@context": {
            "id": "@id",
            "type": "@type",
            "controller": {"@id": SEC + "controller", "@type": "@id"},
            "publicKeyMultibase": {"@id": SEC + "publicKeyMultibase",
                                   "@type": SEC + "multibase"},
        },
    },
}

CONTEXTS = {
    "https://w3id.org/security/v1": SECURITY_V1,
    "https://www.w3.org/ns/did/v1": DID_V1,
    "https://w3id.org/security/multikey/v1": MULTIKEY_V1,
}

BUILT_IN = {bovine_jsonld.bovine_context_name, "https://www.w3.org/ns/activitystreams"}


def _document(url, context):
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": {"@context": context},
    }


def offline_loader(url, options=None, **kwargs):
    key = url.rstrip("/") if url.rstrip("/") in CONTEXTS else url
    if key in CONTEXTS:
        return _document(url, CONTEXTS[key])
    if url in BUILT_IN or url.startswith("http://joinmastodon.org/ns"):
        return bovine_jsonld.wrapper(url, options or {}, **kwargs)
    logger.warning("not fetching JSON-LD context %s (offline test): using an empty one", url)
    return _document(url, [])


jsonld.set_document_loader(offline_loader)
