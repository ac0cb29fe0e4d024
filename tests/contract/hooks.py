"""Schemathesis hooks for Tessera's contract fuzzing (loaded through
SCHEMATHESIS_HOOKS by tests/contract/run.mjs).

The hosted pages and the admin UI take HTML forms protected by a signed
double-submit CSRF pair: a `tessera_csrf` cookie and a `csrf_token` field
that is an HMAC over the tenant, that cookie and the session (see
shared/src/web/csrf.rs). A generated `csrf_token` can never be right, so
without help the fuzzer only ever reaches the forms' 403. run.mjs signs an
administrator in, reads the pair from a real page, and passes it here; this
hook puts it on every form request, so the forms' own validation is what
the fuzzer meets.

Negative cases stay negative: the token replaces a `csrf_token` only where
the generated one is a string. The schema allows any string there, so a
string was never the invalid part; a missing or non-string token (a
negative case about the token itself) is left as generated, and the server
must refuse it.
"""

import json
import os
import re

import schemathesis

_FORMS = json.loads(os.environ["TESSERA_CONTRACT_FORMS"])

# The HTML routes under a tenant: everything but the JSON APIs, OAuth's
# endpoints and SCIM, which authenticate with their own credentials.
_HTML = re.compile(r"^/t/\{tenant\}/(?!api/|oauth/|scim/|\.well-known/)")


def _identity(path):
    # Signing out ends the session every later form request relies on, so
    # the logout form is fuzzed signed out: its pair is bound to no session.
    if path == "/t/{tenant}/logout":
        return _FORMS["anonymous"]
    return _FORMS["signed_in"]


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    path = case.operation.path
    if not _HTML.match(path):
        return
    identity = _identity(path)
    headers = dict(case.headers or {})
    if not any(k.lower() == "cookie" for k in headers):
        headers["Cookie"] = identity["cookie"]
    case.headers = headers
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("csrf_token"), str):
        body["csrf_token"] = identity["token"]
