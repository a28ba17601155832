"""Verifying the webhooks auditshot sends when an asynchronous job is done.

A webhook is a POST with a JSON body ``{"type": "job.succeeded" |
"job.failed", "job": {...}}`` and the header::

    Auditshot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

where the secret is the tenant's ``webhook_secret`` (``whsec_...``, in the
answer of POST /v1/tenants and GET /v1/tenants/{id}).
"""

import hashlib
import hmac
import json
import time
from typing import Optional, Union

from .client import Record
from .errors import WebhookVerificationError

__all__ = ["verify_webhook", "sign_webhook", "SIGNATURE_HEADER", "EVENT_HEADER", "DELIVERY_HEADER",
           "DEFAULT_TOLERANCE"]

SIGNATURE_HEADER = "Auditshot-Signature"
EVENT_HEADER = "Auditshot-Event"
DELIVERY_HEADER = "Auditshot-Delivery"
#: How far (seconds) a signature's time may be from now, either way.
DEFAULT_TOLERANCE = 300


def _bytes(v: Union[str, bytes, bytearray, memoryview]) -> bytes:
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


def sign_webhook(secret: Union[str, bytes], body: Union[str, bytes], timestamp: Optional[int] = None) -> str:
    """Returns the Auditshot-Signature value for body at timestamp (now by
    default): what the server sends. Useful to test a receiver."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(_bytes(secret), str(t).encode("ascii") + b"." + _bytes(body), hashlib.sha256)
    return "t=%d,v1=%s" % (t, mac.hexdigest())


def verify_webhook(secret: Union[str, bytes], signature_header: Optional[str], body_bytes: Union[str, bytes],
                   tolerance: float = DEFAULT_TOLERANCE, now: Optional[float] = None) -> Record:
    """Checks a webhook and returns its decoded JSON body (a Record).

    ``body_bytes`` must be the raw request body, exactly as received.
    The signature's time must be within ``tolerance`` seconds of ``now``
    (Unix seconds; default the current time), which refuses replays of old
    deliveries. Any v1 signature may match (a header may carry several while
    secrets rotate); the comparison is constant-time.

    Raises WebhookVerificationError if the header is missing or malformed,
    the time is out of tolerance, no signature matches, or the body is not
    JSON.
    """
    if not signature_header:
        raise WebhookVerificationError("missing %s header" % SIGNATURE_HEADER)
    ts: Optional[int] = None
    sigs = []
    for part in signature_header.split(","):
        k, _, v = part.strip().partition("=")
        if k == "t":
            try:
                ts = int(v)
            except ValueError:
                raise WebhookVerificationError("%s: bad timestamp %r" % (SIGNATURE_HEADER, v)) from None
        elif k == "v1" and v:
            sigs.append(v.strip())
    if not ts or not sigs:
        raise WebhookVerificationError("%s: want t=...,v1=..., got %r" % (SIGNATURE_HEADER, signature_header))
    now = time.time() if now is None else now
    if abs(now - ts) > tolerance:
        raise WebhookVerificationError("%s: timestamp %d is %ds away from now, more than the tolerance of %ss"
                                       % (SIGNATURE_HEADER, ts, int(now - ts), tolerance))
    body = _bytes(body_bytes)
    want = sign_webhook(secret, body, ts).partition(",v1=")[2].encode("ascii")
    ok = False
    for sig in sigs:
        # Compare every one, so the time taken does not say which matched.
        ok = hmac.compare_digest(sig.encode("utf-8", "replace"), want) or ok
    if not ok:
        raise WebhookVerificationError("%s: no v1 signature matches the body" % SIGNATURE_HEADER)
    try:
        return json.loads(body.decode("utf-8"), object_hook=Record)
    except ValueError as e:
        raise WebhookVerificationError("webhook body is not JSON: %s" % e) from None
