#!/usr/bin/env python3
"""Recompute the SigV4 signature of one received request with botocore.

For an e2e receiver standing in for S3: given what arrived (method, URL,
headers, body) and the secret key, say whether the `Authorization` header
is what botocore computes. botocore is the reference a moto server checks
against (moto/iam/access_control.py builds an AWSRequest from the headers
named in SignedHeaders and asks S3SigV4Auth / SigV4Auth for the signature);
this does the same, and also checks what moto does not: that
`x-amz-content-sha256` is the SHA-256 of the body actually received
(botocore signs the header's value, not the body).

Usage:
  sigv4_check.py --method PUT --url https://bucket.s3.amazonaws.com/key \\
      --headers headers.json --body body.bin --secret "$SECRET"
  (--headers takes a file, or inline JSON when it starts with `{` or `[`;
   a JSON object, or a list of [name, value] pairs for repeated headers;
   --secret defaults to $AWS_SECRET_ACCESS_KEY)

Prints one JSON object; exit status 0 when the signature and the payload
hash both match, 1 when either does not, 2 when the input is unusable.

Needs botocore (`pip install botocore`, in a venv); nothing else.
"""

import argparse
import hashlib
import json
import os
import re
import sys

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)/aws4_request\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
UNSIGNED_PAYLOADS = {"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}


def load_headers(arg):
    text = arg if arg.lstrip()[:1] in ("{", "[") else open(arg, encoding="utf-8").read()
    data = json.loads(text)
    pairs = list(data.items()) if isinstance(data, dict) else [tuple(p) for p in data]
    if not all(len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], str) for p in pairs):
        raise ValueError("headers must be an object of strings or a list of [name, value] pairs")
    return pairs


def header(pairs, name):
    values = [v for k, v in pairs if k.lower() == name]
    return values[0] if values else None


def check(method, url, pairs, body, secret, session_token=None):
    auth = header(pairs, "authorization")
    if auth is None:
        return {"match": False, "error": "no Authorization header"}
    m = AUTH_RE.match(auth.strip())
    if not m:
        return {"match": False, "error": "Authorization is not AWS4-HMAC-SHA256 header form", "authorization": auth}
    amz_date = header(pairs, "x-amz-date")
    if amz_date is None:
        return {"match": False, "error": "no x-amz-date header"}
    signed = m["signed"].split(";")

    # As moto does: only the headers the client says it signed go in; botocore
    # adds Host from the URL when it is not among them.
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in pairs:
        if name.lower() in signed:
            request.headers[name] = value  # appends: repeated headers are kept
    request.context["timestamp"] = amz_date

    token = session_token if session_token is not None else header(pairs, "x-amz-security-token")
    creds = Credentials(m["key"], secret, token)
    auth_cls = S3SigV4Auth if m["service"] == "s3" else SigV4Auth
    signer = auth_cls(creds, m["service"], m["region"])
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    botocore_signed = signer.signed_headers(signer.headers_to_sign(request))

    claimed_hash = header(pairs, "x-amz-content-sha256")
    body_hash = hashlib.sha256(body).hexdigest()
    if claimed_hash is None:
        payload_ok = m["service"] != "s3"  # S3 requires the header
    else:
        payload_ok = claimed_hash in UNSIGNED_PAYLOADS or claimed_hash == body_hash

    problems = []
    if expected != m["signature"]:
        problems.append("signature differs")
    if botocore_signed != m["signed"]:
        problems.append(f"botocore signs {botocore_signed!r}, request claims {m['signed']!r}")
    if amz_date[:8] != m["date"]:
        problems.append("x-amz-date day differs from the credential scope day")
    if not payload_ok:
        problems.append("x-amz-content-sha256 is not the SHA-256 of the body")
    return {
        "match": not problems,
        "signature_match": expected == m["signature"],
        "payload_hash_match": payload_ok,
        "problems": problems,
        "access_key_id": m["key"],
        "region": m["region"],
        "service": m["service"],
        "signed_headers": m["signed"],
        "provided_signature": m["signature"],
        "expected_signature": expected,
        "body_sha256": body_hash,
        "canonical_request": canonical,
        "string_to_sign": string_to_sign,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--method", required=True)
    p.add_argument("--url", required=True, help="full URL as received, scheme and host included")
    p.add_argument("--headers", required=True, help="JSON file, or inline JSON")
    p.add_argument("--body", help="file with the raw body (omit for an empty body)")
    p.add_argument("--secret", default=os.environ.get("AWS_SECRET_ACCESS_KEY"))
    p.add_argument("--session-token", default=None, help="default: the request's x-amz-security-token")
    args = p.parse_args(argv)
    if not args.secret:
        print(json.dumps({"match": False, "error": "no secret (--secret or AWS_SECRET_ACCESS_KEY)"}))
        return 2
    try:
        pairs = load_headers(args.headers)
        body = open(args.body, "rb").read() if args.body else b""
    except (OSError, ValueError) as e:
        print(json.dumps({"match": False, "error": str(e)}))
        return 2
    result = check(args.method.upper(), args.url, pairs, body, args.secret, args.session_token)
    print(json.dumps(result, indent=2))
    if "error" in result:
        return 2
    return 0 if result["match"] else 1


if __name__ == "__main__":
    sys.exit(main())
