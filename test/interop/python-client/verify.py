"""Verifies a keyward token the way a Python service does, with PyJWT and with authlib.

    python verify.py ISSUER TENANT CA_FILE < token

Both discover strictly: GET {ISSUER}/.well-known/openid-configuration, whose issuer must
be ISSUER, then the keys from its jwks_uri. Prints one JSON object:
{"pyjwt": {"ok": true, "sub": ...} | {"ok": false, "error": ...}, "authlib": {...}}.
"""

import json
import ssl
import sys
import urllib.request
import warnings

import jwt
from authlib.jose import JsonWebKey, JsonWebToken

warnings.simplefilter("ignore")

# keyward signs with these (EdDSA by default); never list HS256 or none.
ALGORITHMS = ["EdDSA", "ES256", "RS256"]


def discover(issuer, context):
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", context=context, timeout=10) as r:
        doc = json.load(r)
    if doc.get("issuer") != issuer:
        raise ValueError(f"discovery names issuer {doc.get('issuer')!r}, not {issuer!r}")
    return doc


def with_pyjwt(token, issuer, tenant, doc, context):
    keys = jwt.PyJWKClient(doc["jwks_uri"], ssl_context=context, timeout=10)
    key = keys.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key, algorithms=ALGORITHMS, audience=tenant, issuer=issuer,
                        options={"require": ["exp", "iat", "iss", "aud", "sub"]})
    return claims["sub"]


def with_authlib(token, issuer, tenant, doc, context):
    with urllib.request.urlopen(doc["jwks_uri"], context=context, timeout=10) as r:
        keys = JsonWebKey.import_key_set(json.load(r))
    claims = JsonWebToken(ALGORITHMS).decode(token, keys, claims_options={
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": tenant},
        "exp": {"essential": True},
    })
    claims.validate()
    return claims["sub"]


def attempt(fn, *args):
    try:
        return {"ok": True, "sub": fn(*args)}
    except Exception as e:  # every refusal is an answer here
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def main():
    issuer, tenant, ca = sys.argv[1:4]
    token = sys.stdin.read().strip()
    context = ssl.create_default_context(cafile=ca)
    doc = discover(issuer, context)
    print(json.dumps({
        "pyjwt": attempt(with_pyjwt, token, issuer, tenant, doc, context),
        "authlib": attempt(with_authlib, token, issuer, tenant, doc, context),
    }))


if __name__ == "__main__":
    main()
