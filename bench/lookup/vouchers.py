#!/usr/bin/env python3
"""Signs COUNT pairs (PDND voucher, Agid-JWT-TrackingEvidence) for
bench/lookup's AUTH=voucher run, one pair a line (voucher TAB evidence)
into OUT, with the keys and ids setup.py left in WORK.

Every pair is fresh, as a real client's would be: its own jti in both
tokens (visura refuses a jti it has seen), the evidence signed with the
body's client key, the voucher signed with the key standing in for PDND's
and bound to the evidence by its digest claim (SHA-256 of the evidence),
valid for VALID seconds from now.  A GET carries no body, so no
Agid-JWT-Signature (INTEGRITY_REST_02 is for requests with a body).

usage: vouchers.py WORK COUNT OUT [VALID]   (VALID default 1800 s)
"""
import hashlib
import json
import multiprocessing
import os
import sys
import time
import uuid

from cryptography.hazmat.primitives import serialization

# The JOSE helpers of the e2e tests (RSA keys, JWKs, RS256 compact tokens).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "e2e"))
from test_pdnd import compact, jwk, new_key, rs256  # noqa: E402

ISSUER = "bench-pdnd-issuer"
AUDIENCE = "visura-bench/e-service/lookup"


_state = {}


def _init(work, valid):
    def load(name):
        with open(os.path.join(work, name), "rb") as f:
            return serialization.load_pem_private_key(f.read(), password=None)
    with open(os.path.join(work, "pdnd.json")) as f:
        ids = json.load(f)
    _state.update(pdnd=load("pdnd-key.pem"), consumer=load("consumer-key.pem"), ids=ids,
                  now=int(time.time()), valid=valid)


def _pair(_):
    s, ids = _state, _state["ids"]
    now, exp = s["now"], s["now"] + s["valid"]
    evidence = {"aud": AUDIENCE, "purposeId": ids["purpose_id"], "jti": str(uuid.uuid4()),
                "iat": now, "exp": exp, "userID": "operatore.bench@ente.example",
                "userLocation": "postazione-1", "LoA": "substantial"}
    ev = compact({"alg": "RS256", "kid": ids["consumer_kid"], "typ": "JWT"}, evidence,
                 rs256(s["consumer"]))
    voucher = {"iss": ISSUER, "aud": AUDIENCE, "sub": ids["client_id"],
               "client_id": ids["client_id"], "purposeId": ids["purpose_id"],
               "jti": str(uuid.uuid4()), "iat": now, "nbf": now, "exp": exp,
               "digest": {"alg": "SHA256", "value": hashlib.sha256(ev.encode()).hexdigest()}}
    v = compact({"alg": "RS256", "kid": ids["pdnd_kid"], "typ": "at+jwt"}, voucher,
                rs256(s["pdnd"]))
    return f"{v}\t{ev}\n"


def main():
    work, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    valid = int(sys.argv[4]) if len(sys.argv) > 4 else 1800
    with multiprocessing.Pool(os.cpu_count(), _init, (work, valid)) as pool, \
            open(out, "w") as f:
        for line in pool.imap_unordered(_pair, range(count), chunksize=256):
            f.write(line)


if __name__ == "__main__":
    main()
