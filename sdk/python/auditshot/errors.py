"""Exceptions raised by the auditshot client.

Every error the SDK raises derives from :class:`AuditshotError`. Errors that
come from the API carry the HTTP ``status`` and the ``code``, ``message`` and
``request_id`` of the JSON error body ``{"error": {"code", "message",
"request_id"}}``; quote the request id when asking the operator about a
failure, it is in the server's log.
"""

from typing import Any, Dict, Mapping, Optional, Type

__all__ = [
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


class AuditshotError(Exception):
    """Base class of every error of the SDK.

    Attributes:
        status: the HTTP status, or None when there was no HTTP answer.
        code: the API error code ("invalid", "not_found", ...), or None.
        message: the human-readable message.
        request_id: the server's request id (X-Request-Id), or None.
        headers: the response headers (a plain dict, lower-case names).
    """

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        code: Optional[str] = None,
        request_id: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.headers: Dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(str(self.status))
        if self.code:
            parts.append(self.code)
        head = " ".join(parts)
        s = "%s: %s" % (head, self.message) if head else self.message
        if self.request_id:
            s += " (request_id %s)" % self.request_id
        return s


class APIConnectionError(AuditshotError):
    """The server could not be reached, or the connection broke."""


class InvalidRequest(AuditshotError):
    """400: the request is malformed; the message names the field."""


class AuthenticationError(AuditshotError):
    """401: no API key, or the key is unknown or revoked."""


class QuotaExceeded(AuditshotError):
    """402: the tenant's monthly capture quota is spent."""


class PermissionDenied(AuditshotError):
    """403: the key lacks the scope, or the tenant's policy forbids it."""


class NotFound(AuditshotError):
    """404: no such resource for this tenant."""


class Conflict(AuditshotError):
    """409: the state does not allow it (a finished run, a reused Idempotency-Key, ...)."""


class PayloadTooLarge(AuditshotError):
    """413: the request body is larger than the server accepts."""


class RateLimited(AuditshotError):
    """429: too many requests; ``retry_after`` is the server's delay in seconds (or None)."""

    def __init__(self, *args: Any, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class ServerError(AuditshotError):
    """5xx: the server failed; the detail is in its log under ``request_id``."""


class ServiceUnavailable(ServerError):
    """503: the server is overloaded or shutting down; ``retry_after`` says when to retry."""

    def __init__(self, *args: Any, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class GatewayTimeout(ServerError):
    """504: the capture did not finish in time."""


class JobTimeout(AuditshotError, TimeoutError):
    """wait_job gave up before the job finished; ``job`` is its last known state."""

    def __init__(self, message: str, job: Any = None) -> None:
        super().__init__(message)
        self.job = job


class WebhookVerificationError(AuditshotError, ValueError):
    """A webhook's Auditshot-Signature header does not verify."""


_BY_STATUS: Dict[int, Type[AuditshotError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    402: QuotaExceeded,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: RateLimited,
    503: ServiceUnavailable,
    504: GatewayTimeout,
}


def error_for(
    status: int,
    code: Optional[str],
    message: str,
    request_id: Optional[str],
    headers: Mapping[str, str],
    retry_after: Optional[float],
) -> AuditshotError:
    """Returns the exception for an HTTP error answer."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else AuditshotError
    kw: Dict[str, Any] = dict(status=status, code=code, request_id=request_id, headers=headers)
    if cls in (RateLimited, ServiceUnavailable):
        kw["retry_after"] = retry_after
    return cls(message, **kw)
