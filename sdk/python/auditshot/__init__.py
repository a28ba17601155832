"""auditshot: the Python client of auditshot, screenshots as tamper-evident
audit evidence for AI agents.

    from auditshot import Client
    client = Client("http://127.0.0.1:8080", api_key="ask_...")
    with client.run("process_refund", subject="cust_42", agent={"name": "refund-bot"}) as run:
        run.screenshot(url="https://app.example/dashboard", name="before", role="before")
        run.action("refund_approved", amount=500, currency="USD", reasoning="...")

Standard library only; Python 3.9 or later.
"""

from ._version import __version__
from .client import DEFAULT_URL, CaptureBytes, Client, Record
from .errors import (
    APIConnectionError,
    AuditshotError,
    AuthenticationError,
    Conflict,
    GatewayTimeout,
    InvalidRequest,
    JobTimeout,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    WebhookVerificationError,
)
from .runs import Run, audited, current_run, ledger_json
from .webhooks import SIGNATURE_HEADER, sign_webhook, verify_webhook

__all__ = [
    "__version__",
    "Client",
    "Record",
    "CaptureBytes",
    "DEFAULT_URL",
    "Run",
    "audited",
    "current_run",
    "ledger_json",
    "verify_webhook",
    "sign_webhook",
    "SIGNATURE_HEADER",
    "AuditshotError",
    "APIConnectionError",
    "InvalidRequest",
    "AuthenticationError",
    "QuotaExceeded",
    "PermissionDenied",
    "NotFound",
    "Conflict",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "GatewayTimeout",
    "JobTimeout",
    "WebhookVerificationError",
]
