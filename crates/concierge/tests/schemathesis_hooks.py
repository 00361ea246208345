"""Schemathesis hooks for tests/openapi.rs.

An Idempotency-Key is the client's word that a request repeats an earlier one; the fuzzer
would otherwise pick the same few keys for different requests and be told 422 (documented,
and checked in tests/contract.rs). The header is still sent where the fuzzer sends it, and
its value is still checked against its pattern, but each is new.
"""

import uuid

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.headers and "Idempotency-Key" in case.headers:
        key = case.headers["Idempotency-Key"]
        # A key outside the pattern stays as it is: the service must refuse it (422).
        if 1 <= len(key) <= 255 and all(0x21 <= ord(c) <= 0x7E for c in key):
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
