"""The HTTP client of the auditshot REST API."""

import base64
import datetime
import email.utils
import http.client
import json
import os
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import errors
from ._version import __version__

__all__ = ["Client", "Record", "CaptureBytes", "DEFAULT_URL", "DEFAULT_TIMEOUT", "DEFAULT_RETRIES",
           "DEFAULT_MAX_RETRY_WAIT"]

#: The base URL when neither the argument nor AUDITSHOT_URL gives one
#: (the default address of ``auditshot serve``).
DEFAULT_URL = "http://127.0.0.1:8080"
#: Seconds one HTTP request may take. Captures wait for pages to load (the
#: server allows a capture up to 120 s), so it is generous.
DEFAULT_TIMEOUT = 150.0
#: Retries after the first attempt, for connection errors, 429 and 503.
DEFAULT_RETRIES = 3
#: The longest the client sleeps before one retry. A Retry-After longer
#: than this is not waited for: the error is raised at once.
DEFAULT_MAX_RETRY_WAIT = 60.0

_JOB_DONE = ("succeeded", "failed")


class Record(dict):
    """A JSON object of the API: a ``dict`` whose keys are also attributes.

    ``capture.sha256`` is ``capture["sha256"]``; nested objects are Records
    too (``capture.ledger.index``). A missing key raises AttributeError. Keys
    that are also dict methods (``items``, ``keys``, ``values``, ``get``...)
    are only reachable with ``[...]``.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError("%s has no field %r" % (type(self).__name__, name)) from None

    def __dir__(self) -> List[str]:
        return sorted(set(dir(dict)) | {k for k in self if isinstance(k, str)})


class CaptureBytes(bytes):
    """The bytes of an image or PDF, with the facts of its capture.

    Attributes (None when the server did not send them): ``capture_id``,
    ``sha256``, ``media_type``, ``ledger_index``, ``leaf_hash``.
    """

    capture_id: Optional[str]
    sha256: Optional[str]
    media_type: Optional[str]
    ledger_index: Optional[int]
    leaf_hash: Optional[str]


class _Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"), object_hook=Record)


def _retry_after(value: Optional[str]) -> Optional[float]:
    """Parses a Retry-After header: seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def _time_param(v: Any) -> Any:
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            raise ValueError("naive datetime %r: give a timezone (e.g. datetime.timezone.utc)" % (v,))
        return v.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    return v


class Client:
    """A client of one auditshot server, as one API key.

    ``Client(base_url, api_key)``; both default to the environment variables
    AUDITSHOT_URL and AUDITSHOT_API_KEY (then DEFAULT_URL). The client is
    safe to share between threads: it keeps no state per request.

    Every POST carries an ``Idempotency-Key`` (a new uuid4 per call, or the
    one given), reused by the retries of that call, so a retried capture or
    event is recorded once. Connection errors, 429 and 503 are retried up to
    ``retries`` times, waiting as the server's Retry-After says (at most
    ``max_retry_wait`` seconds; a longer Retry-After is raised at once);
    other errors are raised at once as :class:`~auditshot.AuditshotError`
    subclasses. A request that times out is not retried.
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        user_agent: Optional[str] = None,
    ) -> None:
        base_url = base_url or os.environ.get("AUDITSHOT_URL") or DEFAULT_URL
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("AUDITSHOT_API_KEY")
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.max_retry_wait = max_retry_wait
        self.user_agent = user_agent or "auditshot-python/" + __version__
        #: The function the client waits with between retries and polls;
        #: replace it to observe or skip the waits (tests).
        self.sleep: Callable[[float], None] = time.sleep
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __repr__(self) -> str:
        return "Client(%r)" % self.base_url

    # ------------------------------------------------------------------
    # transport

    def request(
        self,
        method: str,
        path: str,
        params: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        idempotency_key: Optional[str] = None,
        accept: str = "application/json",
        headers: Optional[Mapping[str, str]] = None,
    ) -> Any:
        """Sends one API request and returns its decoded JSON answer (a Record).

        The low-level door to any route. ``body`` is JSON-encoded; a POST
        gets ``idempotency_key`` (or a new uuid4) as its Idempotency-Key.
        Raises an AuditshotError subclass for an error answer.
        """
        return self._do(method, path, params, body, idempotency_key, accept, headers).json()

    def _do(
        self,
        method: str,
        path: str,
        params: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        idempotency_key: Optional[str] = None,
        accept: str = "application/json",
        headers: Optional[Mapping[str, str]] = None,
    ) -> _Response:
        url = self.base_url + path
        if params:
            q = {k: _time_param(v) for k, v in params.items() if v is not None}
            if q:
                url += "?" + urllib.parse.urlencode(q)
        data = None
        hdrs = {"Accept": accept, "User-Agent": self.user_agent}
        if self.api_key:
            hdrs["Authorization"] = "Bearer " + self.api_key
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if method.upper() == "POST":
            hdrs["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        if headers:
            hdrs.update(headers)
        attempt = 0
        while True:
            try:
                resp = self._send(method, url, data, hdrs)
            except _Retryable as e:
                if attempt < self.retries:
                    self.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise errors.APIConnectionError("%s %s: %s" % (method, path, e.cause)) from e.cause
            if resp.status < 300:
                return resp
            err = self._error(resp)
            if resp.status in (429, 503) and attempt < self.retries:
                wait = getattr(err, "retry_after", None)
                if wait is None:
                    wait = self._backoff(attempt)
                if wait <= self.max_retry_wait:
                    self.sleep(wait)
                    attempt += 1
                    continue
            raise err

    def _send(self, method: str, url: str, data: Optional[bytes], headers: Mapping[str, str]) -> _Response:
        req = urllib.request.Request(url, data=data, headers=dict(headers), method=method.upper())
        try:
            with self._opener.open(req, timeout=self.timeout) as r:
                return _Response(r.status, dict(r.headers.items()), r.read())
        except urllib.error.HTTPError as e:
            try:
                body = e.read()
            except (OSError, http.client.HTTPException):
                body = b""
            finally:
                e.close()
            return _Response(e.code, dict(e.headers.items()) if e.headers else {}, body)
        except socket.timeout as e:
            raise errors.APIConnectionError("%s %s: timed out after %ss" % (method, url, self.timeout)) from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, socket.timeout):
                raise errors.APIConnectionError("%s %s: timed out after %ss" % (method, url, self.timeout)) from e
            raise _Retryable(e) from e
        except (OSError, http.client.HTTPException) as e:
            raise _Retryable(e) from e

    def _backoff(self, attempt: int) -> float:
        return min(self.max_retry_wait, 0.5 * (2 ** attempt)) * random.uniform(0.5, 1.0)

    @staticmethod
    def _error(resp: _Response) -> errors.AuditshotError:
        code = message = rid = None
        try:
            detail = json.loads(resp.body.decode("utf-8"))["error"]
            code, message, rid = detail.get("code"), detail.get("message"), detail.get("request_id")
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        if not message:
            text = resp.body[:200].decode("utf-8", "replace").strip()
            message = text or http.client.responses.get(resp.status, "HTTP error")
        rid = rid or resp.headers.get("x-request-id")
        return errors.error_for(resp.status, code, message, rid, resp.headers,
                                _retry_after(resp.headers.get("retry-after")))

    # ------------------------------------------------------------------
    # captures

    def screenshot(
        self,
        url: Optional[str] = None,
        html: Optional[str] = None,
        name: Optional[str] = None,
        run_id: Optional[str] = None,
        role: Optional[str] = None,
        async_: bool = False,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        **options: Any,
    ) -> Record:
        """Captures a screenshot: POST /v1/screenshot.

        Give ``url`` or ``html``; every other capture option is a keyword
        named as in the API (``full_page``, ``width``, ``height``, ``device``,
        ``format``, ``quality``, ``mask_selectors``, ``hide_selectors``,
        ``wait_for``, ``wait_until``, ``timeout`` and ``delay`` in ms,
        ``headers``, ``cookies``, ...). Options that are None are left out.

        Returns the recorded capture (a Record): ``id``, ``sha256`` and
        ``media_type`` of the image, ``size``, ``width``, ``height``,
        ``artifacts``, ``ledger`` (``index``, ``leaf_hash``), ``timings``...
        With ``async_=True`` or a ``webhook_url`` the capture is a job: the
        answer is the queued job (``id``, ``status``); see :meth:`wait_job`.
        """
        body = self._capture_body(url, html, name, run_id, role, async_, webhook_url, options)
        return self.request("POST", "/v1/screenshot", body=body, idempotency_key=idempotency_key)

    def pdf(
        self,
        url: Optional[str] = None,
        html: Optional[str] = None,
        name: Optional[str] = None,
        run_id: Optional[str] = None,
        role: Optional[str] = None,
        async_: bool = False,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        **options: Any,
    ) -> Record:
        """Prints a page to PDF: POST /v1/pdf. Arguments as :meth:`screenshot`;
        paper options go in ``pdf={"paper": "letter", "landscape": True, ...}``."""
        body = self._capture_body(url, html, name, run_id, role, async_, webhook_url, options)
        return self.request("POST", "/v1/pdf", body=body, idempotency_key=idempotency_key)

    def screenshot_bytes(
        self,
        url: Optional[str] = None,
        html: Optional[str] = None,
        name: Optional[str] = None,
        run_id: Optional[str] = None,
        role: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        **options: Any,
    ) -> CaptureBytes:
        """Captures a screenshot as :meth:`screenshot` does (it is recorded
        all the same) and returns the image itself, asked for with
        ``Accept: image/*``, as CaptureBytes (bytes with ``capture_id``,
        ``sha256``, ``media_type``, ``ledger_index``)."""
        return self._capture_bytes("/v1/screenshot", "image/*", url, html, name, run_id, role,
                                   idempotency_key, options)

    def pdf_bytes(
        self,
        url: Optional[str] = None,
        html: Optional[str] = None,
        name: Optional[str] = None,
        run_id: Optional[str] = None,
        role: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        **options: Any,
    ) -> CaptureBytes:
        """As :meth:`pdf`, returning the PDF's bytes (``Accept: application/pdf``)."""
        return self._capture_bytes("/v1/pdf", "application/pdf", url, html, name, run_id, role,
                                   idempotency_key, options)

    def _capture_bytes(self, path: str, accept: str, url: Optional[str], html: Optional[str],
                       name: Optional[str], run_id: Optional[str], role: Optional[str],
                       idempotency_key: Optional[str], options: Dict[str, Any]) -> CaptureBytes:
        body = self._capture_body(url, html, name, run_id, role, False, None, options)
        resp = self._do("POST", path, body=body, idempotency_key=idempotency_key, accept=accept)
        h = resp.headers
        ctype = h.get("content-type", "").split(";")[0].strip()
        data = resp.body
        if ctype == "application/json":
            # The server answered JSON (the media type did not match Accept):
            # fetch the artifact the capture recorded.
            rec = resp.json()
            data = self.artifact(rec["sha256"])
            ctype = rec.get("media_type", "")
        out = CaptureBytes(data)
        out.capture_id = h.get("x-capture-id")
        out.sha256 = h.get("x-artifact-sha256")
        out.media_type = ctype or None
        idx = h.get("x-ledger-index")
        out.ledger_index = int(idx) if idx and idx.isdigit() else None
        out.leaf_hash = h.get("x-ledger-leaf-hash")
        return out

    @staticmethod
    def _capture_body(url: Optional[str], html: Optional[str], name: Optional[str], run_id: Optional[str],
                      role: Optional[str], async_: bool, webhook_url: Optional[str],
                      options: Mapping[str, Any]) -> Dict[str, Any]:
        body: Dict[str, Any] = {}
        for k, v in (("url", url), ("html", html), ("name", name), ("run_id", run_id), ("role", role)):
            if v is not None:
                body[k] = v
        for k, v in options.items():
            if v is not None:
                body[k] = v
        if async_ or webhook_url:
            body["async"] = True
        if webhook_url:
            body["webhook_url"] = webhook_url
        return body

    def sequence(
        self,
        steps: Sequence[Mapping[str, Any]],
        url: Optional[str] = None,
        name: Optional[str] = None,
        run_id: Optional[str] = None,
        video: bool = False,
        idempotency_key: Optional[str] = None,
        async_: bool = False,
        webhook_url: Optional[str] = None,
        **options: Any,
    ) -> Record:
        """Runs and records a browser flow: POST /v1/sequences.

        ``steps`` are dicts such as ``{"action": "fill", "selector": "#amount",
        "value": "500"}`` (navigate, click, dblclick, fill, select, check, hover,
        press, scroll, wait, wait_for, assert_text, assert_url, assert_visible,
        screenshot, pdf, evaluate); ``"secret": True`` on a fill types the value
        but never stores or shows it. ``video=True`` records the flow (MP4).
        Other options by their API names (``width``, ``height``, ``video_fps``,
        ``mask_selectors``, ``timeout``, ``headers``, ...).

        Returns the recorded flow: ``outcome`` ("succeeded" or "failed": a
        failing step is recorded, not raised), ``steps`` (each with ``status``,
        ``error``, ``screenshot_sha256``), ``video`` and ``chapters``.

        With ``async_=True`` or a ``webhook_url`` the flow is a job: the answer
        is the job (``wait_job(job).result`` is the recorded flow). Secret fills
        are kept in the server's memory only until the flow runs.
        """
        body: Dict[str, Any] = {"steps": [dict(s) for s in steps]}
        for k, v in (("url", url), ("name", name), ("run_id", run_id), ("webhook_url", webhook_url)):
            if v is not None:
                body[k] = v
        if video:
            body["video"] = True
        if async_ or webhook_url:
            body["async"] = True
        for k, v in options.items():
            if v is not None:
                body[k] = v
        return self.request("POST", "/v1/sequences", body=body, idempotency_key=idempotency_key)

    def get_capture(self, capture_id: str) -> Record:
        """GET /v1/captures/{id}: a recorded capture."""
        return self.request("GET", "/v1/captures/" + _seg(capture_id))

    def artifact(self, sha256: str) -> bytes:
        """GET /v1/artifacts/{sha256}: the bytes of an artifact of the tenant."""
        return self._do("GET", "/v1/artifacts/" + _seg(sha256), accept="*/*").body

    # ------------------------------------------------------------------
    # jobs

    def job(self, job_id: str) -> Record:
        """GET /v1/jobs/{id}: an asynchronous job (``status`` queued, running,
        succeeded or failed; ``result`` or ``error``; ``webhook``)."""
        return self.request("GET", "/v1/jobs/" + _seg(job_id))

    def wait_job(self, job: Union[str, Mapping[str, Any]], timeout: float = 120.0,
                 poll_interval: float = 0.2) -> Record:
        """Polls a job until it succeeded or failed and returns it; check
        ``job.status`` (a failed job has ``job.error.code``/``message``).
        The interval grows from ``poll_interval`` to 2 s. Raises JobTimeout
        after ``timeout`` seconds."""
        job_id = job if isinstance(job, str) else job["id"]
        deadline = time.monotonic() + timeout
        interval = poll_interval
        while True:
            j = self.job(job_id)
            if j.get("status") in _JOB_DONE:
                return j
            left = deadline - time.monotonic()
            if left <= 0:
                raise errors.JobTimeout("job %s still %s after %ss" % (job_id, j.get("status"), timeout), job=j)
            self.sleep(min(interval, left))
            interval = min(interval * 1.5, 2.0)

    # ------------------------------------------------------------------
    # runs

    def run(self, workflow: str, subject: Optional[str] = None, principal: Optional[str] = None,
            agent: Optional[Mapping[str, Any]] = None, labels: Optional[Mapping[str, str]] = None,
            id: Optional[str] = None) -> "Run":
        """A run of ``workflow``, to use as a context manager: ``with
        client.run(...) as run:`` starts it (POST /v1/runs) and finishes it
        "succeeded", or, when the block raises, records an "error" event and
        finishes it "failed". See :class:`~auditshot.Run`."""
        from .runs import Run

        return Run(self, workflow, subject=subject, principal=principal, agent=agent, labels=labels, id=id)

    def start_run(self, workflow: str, subject: Optional[str] = None, principal: Optional[str] = None,
                  agent: Optional[Mapping[str, Any]] = None, labels: Optional[Mapping[str, str]] = None,
                  id: Optional[str] = None) -> "Run":
        """Starts a run now (POST /v1/runs) and returns it; finish it with
        ``run.finish(status)``."""
        return self.run(workflow, subject=subject, principal=principal, agent=agent, labels=labels, id=id).start()

    def get_run(self, run_id: str) -> Record:
        """GET /v1/runs/{id}: the run with its ``events``."""
        return self.request("GET", "/v1/runs/" + _seg(run_id))

    def run_proof(self, run_id: str) -> Record:
        """GET /v1/runs/{id}/proof: the run's entries (``index``,
        ``leaf_hash``, base64 ``entry``, inclusion ``proof``) and the signed
        ``checkpoint`` they are proven against."""
        return self.request("GET", "/v1/runs/" + _seg(run_id) + "/proof")

    def runs(self, workflow: Optional[str] = None, agent: Optional[str] = None, status: Optional[str] = None,
             subject: Optional[str] = None, from_: Any = None, to: Any = None,
             limit: Optional[int] = None) -> Iterator[Record]:
        """Iterates over the tenant's runs (GET /v1/runs), following
        ``next_cursor`` page after page. ``from_``/``to`` are RFC 3339
        strings or aware datetimes; ``limit`` is the page size (1-1000)."""
        params: Dict[str, Any] = {"workflow": workflow, "agent": agent, "status": status, "subject": subject,
                                  "from": from_, "to": to, "limit": limit}
        while True:
            page = self.request("GET", "/v1/runs", params=params)
            for r in page.get("runs") or []:
                yield r
            cursor = page.get("next_cursor")
            if not cursor:
                return
            params["cursor"] = cursor

    # ------------------------------------------------------------------
    # ledger, exports, usage

    def checkpoint(self) -> Record:
        """GET /v1/ledger/checkpoint: the latest signed checkpoint (``size``,
        ``root_hash``, the note in ``checkpoint``, ``public_keys``)."""
        return self.request("GET", "/v1/ledger/checkpoint")

    def checkpoints(self, before: int = 0, limit: int = 0) -> Record:
        """GET /v1/ledger/checkpoints: a page of the checkpoints the log
        signed, largest first (``checkpoints``), and ``next_before``, the
        ``before`` of the next page (0 on the last)."""
        params = {}
        if before:
            params["before"] = before
        if limit:
            params["limit"] = limit
        return self.request("GET", "/v1/ledger/checkpoints", params=params or None)

    def access(self, key: str = "", run: str = "", before: int = 0, limit: int = 0) -> Record:
        """GET /v1/ledger/access (audit key): who viewed evidence and who
        exported it, newest first (``entries``), and ``next_before``, the
        ``before`` of the next page (0 on the last)."""
        params = {k: v for k, v in (("key", key), ("run", run), ("before", before), ("limit", limit)) if v}
        return self.request("GET", "/v1/ledger/access", params=params or None)

    def inclusion_proof(self, index: int, size: int) -> Record:
        """GET /v1/ledger/proof/inclusion."""
        return self.request("GET", "/v1/ledger/proof/inclusion", params={"index": index, "size": size})

    def consistency_proof(self, old: int, new: int) -> Record:
        """GET /v1/ledger/proof/consistency."""
        return self.request("GET", "/v1/ledger/proof/consistency", params={"old": old, "new": new})

    def entries(self, start: int, end: int) -> List[bytes]:
        """GET /v1/ledger/entries: the raw entries start..end-1."""
        out = self.request("GET", "/v1/ledger/entries", params={"start": start, "end": end})
        return [base64.b64decode(e) for e in out.get("entries") or []]

    def export(self, runs: Optional[Sequence[str]] = None, range: Optional[Tuple[int, int]] = None,
               async_: bool = False, webhook_url: Optional[str] = None,
               idempotency_key: Optional[str] = None) -> Record:
        """POST /v1/exports: an evidence bundle of some runs or of a ledger
        index range ``(start, end)``. Returns the export (``download`` is the
        artifact path of the zip; fetch it with :meth:`artifact`), or the
        job when asynchronous (large exports always are)."""
        body: Dict[str, Any] = {}
        if runs is not None:
            body["runs"] = list(runs)
        if range is not None:
            start, end = range
            body["range"] = {"start": start, "end": end}
        if async_ or webhook_url:
            body["async"] = True
        if webhook_url:
            body["webhook_url"] = webhook_url
        return self.request("POST", "/v1/exports", body=body, idempotency_key=idempotency_key)

    def usage(self, period: Optional[str] = None) -> Record:
        """GET /v1/usage: captures used this month (or ``period`` "YYYY-MM"),
        the ``plan`` and what ``remaining`` (None when unlimited)."""
        return self.request("GET", "/v1/usage", params={"period": period})

    def health(self) -> Record:
        """GET /healthz."""
        return self.request("GET", "/healthz")

    # ------------------------------------------------------------------
    # administration (admin keys)

    def create_tenant(self, id: str, name: Optional[str] = None, plan: Any = None,
                      egress: Optional[Mapping[str, Any]] = None, retention_days: Optional[int] = None,
                      allow_scripts: Optional[bool] = None, admin_key: bool = False) -> Record:
        """POST /v1/tenants (operator admin key). ``plan`` is "free",
        "unlimited" or {"captures_per_month", "captures_per_minute"}. The
        answer has the tenant's ``webhook_secret`` and, with ``admin_key``,
        ``admin_key.secret``."""
        body: Dict[str, Any] = {"id": id, "name": name or id}
        for k, v in (("plan", plan), ("egress", egress), ("retention_days", retention_days),
                     ("allow_scripts", allow_scripts)):
            if v is not None:
                body[k] = v
        if admin_key:
            body["admin_key"] = True
        return self.request("POST", "/v1/tenants", body=body)

    def get_tenant(self, tenant_id: str) -> Record:
        """GET /v1/tenants/{id} (with its ``webhook_secret``)."""
        return self.request("GET", "/v1/tenants/" + _seg(tenant_id))

    def tenants(self) -> List[Record]:
        """GET /v1/tenants (operator admin key)."""
        return self.request("GET", "/v1/tenants").get("tenants") or []

    def update_tenant(self, tenant_id: str, **fields: Any) -> Record:
        """PATCH /v1/tenants/{id}: name, plan, retention_days, egress, allow_scripts."""
        return self.request("PATCH", "/v1/tenants/" + _seg(tenant_id), body=fields)

    def create_key(self, name: str, scopes: Sequence[str], tenant_id: Optional[str] = None) -> Record:
        """POST /v1/keys: a new API key; its ``secret`` is shown this once.
        Scopes: capture, write, read, audit, admin."""
        body: Dict[str, Any] = {"name": name, "scopes": list(scopes)}
        if tenant_id is not None:
            body["tenant_id"] = tenant_id
        return self.request("POST", "/v1/keys", body=body)

    def keys(self, tenant_id: Optional[str] = None) -> List[Record]:
        """GET /v1/keys."""
        return self.request("GET", "/v1/keys", params={"tenant_id": tenant_id}).get("keys") or []

    def revoke_key(self, key_id: str, tenant_id: Optional[str] = None) -> None:
        """DELETE /v1/keys/{id}."""
        self._do("DELETE", "/v1/keys/" + _seg(key_id), params={"tenant_id": tenant_id})


def _seg(s: str) -> str:
    if not s:
        raise ValueError("empty id")
    return urllib.parse.quote(str(s), safe="")


class _Retryable(Exception):
    """A failure to talk to the server that a retry may cure."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Does not follow redirects: the API does not send them, and following
    one would resend the API key to wherever it points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


if TYPE_CHECKING:  # pragma: no cover
    from .runs import Run  # noqa: F401
