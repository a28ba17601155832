"""Runs: one execution of an agent workflow, its events and its captures."""

import contextvars
import decimal
import functools
import logging
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, TypeVar, Union

from .client import Record

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

__all__ = ["Run", "audited", "current_run", "EVENT_TYPES", "MAX_SAFE_INTEGER"]

log = logging.getLogger("auditshot")

#: The event types a run records.
EVENT_TYPES = ("action", "decision", "approval", "note", "error")
#: Ledger entries hold integers within +-(2**53 - 1) only.
MAX_SAFE_INTEGER = 2 ** 53 - 1
#: The longest exception message an automatic "error" event keeps.
MAX_ERROR_MESSAGE = 4000

_current: "contextvars.ContextVar[Optional[Run]]" = contextvars.ContextVar("auditshot_run", default=None)

F = TypeVar("F", bound=Callable[..., Any])
ArtifactSpec = Union[Mapping[str, Any], Sequence[Any]]


def current_run() -> "Optional[Run]":
    """The run of the innermost ``with client.run(...)`` block (or
    ``@audited`` call) of this thread or task, or None."""
    return _current.get()


def ledger_json(value: Any, path: str = "data") -> Any:
    """Checks that value can go into a ledger entry and returns it as JSON
    data: dicts with string keys, lists, strings, booleans, None and
    integers within +-(2**53-1). ``decimal.Decimal`` becomes its string.

    Floats are refused with ValueError: entries are canonical JSON without
    fractions, so pass amounts as strings ("12.50") or Decimals.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError("%s: integer %d is out of the ledger's range +-(2**53-1); pass it as a string"
                             % (path, value))
        return int(value)
    if isinstance(value, float):
        raise ValueError("%s: %r is a float; ledger entries hold integers only, so pass decimals as "
                         "strings (e.g. \"12.50\") or decimal.Decimal" % (path, value))
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError("%s: %s is not a finite number" % (path, value))
        return str(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError("%s: key %r is not a string" % (path, k))
            out[k] = ledger_json(v, "%s.%s" % (path, k))
        return out
    if isinstance(value, (list, tuple)):
        return [ledger_json(v, "%s[%d]" % (path, i)) for i, v in enumerate(value)]
    raise TypeError("%s: %s is not JSON data (dict, list, str, int, bool, None, Decimal)"
                    % (path, type(value).__name__))


def _artifact_refs(artifacts: Optional[Sequence[ArtifactSpec]]) -> Optional[List[Dict[str, str]]]:
    """Normalises event artifacts: {"sha256", "role"} dicts, or
    (capture-or-sha256, role) pairs."""
    if artifacts is None:
        return None
    out = []
    for i, a in enumerate(artifacts):
        if isinstance(a, Mapping):
            sha, role = a.get("sha256"), a.get("role")
        elif isinstance(a, (list, tuple)) and len(a) == 2:
            what, role = a
            sha = what.get("sha256") if isinstance(what, Mapping) else what
        else:
            raise TypeError("artifacts[%d]: want {\"sha256\": ..., \"role\": ...} or (capture, role)" % i)
        if not sha or not role:
            raise ValueError("artifacts[%d]: needs a sha256 and a role (before, after, step, ...)" % i)
        out.append({"sha256": str(sha), "role": str(role)})
    return out


class Run:
    """A run of an agent workflow.

    Made by :meth:`Client.run` (a context manager that starts the run on
    entry and finishes it on exit) or :meth:`Client.start_run` (started at
    once; call :meth:`finish` yourself). ``run.id`` is the run's id once
    started, ``run.record`` the server's run, ``run.status`` its status.

    Event data goes into the ledger as canonical JSON, which holds integers
    but no fractions: ``run.action("refund", amount=12.5)`` raises
    ValueError; pass ``amount="12.50"`` (or a ``decimal.Decimal``).
    """

    def __init__(self, client: "Client", workflow: str, subject: Optional[str] = None,
                 principal: Optional[str] = None, agent: Optional[Mapping[str, Any]] = None,
                 labels: Optional[Mapping[str, str]] = None, id: Optional[str] = None) -> None:
        self.client = client
        self.workflow = workflow
        self.subject = subject
        self.principal = principal
        self.agent = dict(agent) if agent else {}
        self.labels = dict(labels) if labels else None
        self.id: Optional[str] = id
        self.record: Optional[Record] = None
        self.status: Optional[str] = None
        self._token: Optional[contextvars.Token] = None

    def __repr__(self) -> str:
        return "Run(id=%r, workflow=%r, status=%r)" % (self.id, self.workflow, self.status)

    @property
    def started(self) -> bool:
        return self.record is not None

    @property
    def finished(self) -> bool:
        return self.status not in (None, "running")

    def start(self) -> "Run":
        """POST /v1/runs: starts the run (its run.started ledger entry)."""
        if self.started:
            raise RuntimeError("run %s is already started" % self.id)
        body: Dict[str, Any] = {"workflow": self.workflow, "agent": self.agent}
        for k, v in (("id", self.id), ("subject", self.subject), ("principal", self.principal),
                     ("labels", self.labels)):
            if v is not None:
                body[k] = v
        self.record = self.client.request("POST", "/v1/runs", body=body)
        self.id = self.record["id"]
        self.status = self.record.get("status")
        return self

    def finish(self, status: str = "succeeded") -> Record:
        """POST /v1/runs/{id}/finish with status succeeded, failed or
        cancelled; returns the finished run."""
        rec = self.client.request("POST", "/v1/runs/%s/finish" % self._id(), body={"status": status})
        self.record = rec
        self.status = rec.get("status", status)
        return rec

    def __enter__(self) -> "Run":
        if not self.started:
            self.start()
        self._token = _current.set(self)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None
        if self.finished:
            return False
        if exc is None:
            self.finish("succeeded")
            return False
        # Record the failure, but never hide the exception behind an error
        # of the recording.
        try:
            self.event("error", type(exc).__name__, {"message": str(exc)[:MAX_ERROR_MESSAGE]})
        except Exception as e:  # noqa: BLE001
            log.warning("auditshot: run %s: recording the error event failed: %s", self.id, e)
        try:
            self.finish("failed")
        except Exception as e:  # noqa: BLE001
            log.warning("auditshot: run %s: finishing the run as failed failed: %s", self.id, e)
        return False

    def _id(self) -> str:
        if not self.started or not self.id:
            raise RuntimeError("the run is not started: use `with client.run(...) as run:` or client.start_run(...)")
        return self.id

    # captures

    def screenshot(self, url: Optional[str] = None, html: Optional[str] = None, name: Optional[str] = None,
                   role: Optional[str] = None, **options: Any) -> Record:
        """A screenshot of the run (Client.screenshot with its run_id); ``role``
        (before, after, step, ...) is optional."""
        return self.client.screenshot(url=url, html=html, name=name, run_id=self._id(), role=role, **options)

    def pdf(self, url: Optional[str] = None, html: Optional[str] = None, name: Optional[str] = None,
            role: Optional[str] = None, **options: Any) -> Record:
        """A PDF of the run (Client.pdf with its run_id)."""
        return self.client.pdf(url=url, html=html, name=name, run_id=self._id(), role=role, **options)

    def sequence(self, steps: Any, url: Optional[str] = None, name: Optional[str] = None,
                 video: bool = False, **options: Any) -> Record:
        """A browser flow of the run (Client.sequence with its run_id)."""
        return self.client.sequence(steps, url=url, name=name, run_id=self._id(), video=video, **options)

    # events

    def event(self, type: str, name: str, data: Optional[Mapping[str, Any]] = None,
              reasoning: Optional[str] = None, artifacts: Optional[Sequence[ArtifactSpec]] = None,
              client_time: Optional[str] = None, id: Optional[str] = None) -> Record:
        """POST /v1/runs/{id}/events: records an event of ``type`` (action,
        decision, approval, note, error). ``artifacts`` are the tenant's
        artifacts it refers to: {"sha256", "role"} dicts or (capture, role)
        pairs. Returns the event, with its ``ledger`` index."""
        body: Dict[str, Any] = {"type": type, "name": name}
        if data is not None:
            body["data"] = ledger_json(data)
        if reasoning is not None:
            body["reasoning"] = reasoning
        refs = _artifact_refs(artifacts)
        if refs:
            body["artifacts"] = refs
        if client_time is not None:
            body["client_time"] = client_time
        if id is not None:
            body["id"] = id
        return self.client.request("POST", "/v1/runs/%s/events" % self._id(), body=body)

    def action(self, name: str, reasoning: Optional[str] = None,
               artifacts: Optional[Sequence[ArtifactSpec]] = None, **data: Any) -> Record:
        """Records what the agent did: ``run.action("refund_approved", amount=500, currency="USD")``."""
        return self.event("action", name, data or None, reasoning=reasoning, artifacts=artifacts)

    def decision(self, name: str, reasoning: Optional[str] = None,
                 artifacts: Optional[Sequence[ArtifactSpec]] = None, **data: Any) -> Record:
        """Records a decision the agent took."""
        return self.event("decision", name, data or None, reasoning=reasoning, artifacts=artifacts)

    def approval(self, name: str, reasoning: Optional[str] = None,
                 artifacts: Optional[Sequence[ArtifactSpec]] = None, **data: Any) -> Record:
        """Records an approval (by a human or a policy)."""
        return self.event("approval", name, data or None, reasoning=reasoning, artifacts=artifacts)

    def note(self, name_or_text: str, **data: Any) -> Record:
        """Records a note."""
        return self.event("note", name_or_text, data or None)

    def error(self, name: str, reasoning: Optional[str] = None,
              artifacts: Optional[Sequence[ArtifactSpec]] = None, **data: Any) -> Record:
        """Records an error (the run goes on; finish it "failed" if it must)."""
        return self.event("error", name, data or None, reasoning=reasoning, artifacts=artifacts)

    # reading

    def get(self) -> Record:
        """GET /v1/runs/{id}: the run as the server has it, with its events."""
        return self.client.get_run(self._id())

    def proof(self) -> Record:
        """GET /v1/runs/{id}/proof: every entry of the run with its inclusion
        proof against a signed checkpoint."""
        return self.client.run_proof(self._id())


def _shot_args(spec: Any, role: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Dict[str, Any]:
    if callable(spec):
        spec = spec(*args, **kwargs)
    if isinstance(spec, str):
        spec = {"url": spec}
    out = {"name": role, "role": role}
    out.update(spec)
    return out


def audited(client: "Client", workflow: str, before: Any = None, after: Any = None,
            name: Optional[str] = None, **run_kwargs: Any) -> Callable[[F], F]:
    """Decorates a function so that every call is a run of ``workflow``.

    ``before`` and ``after`` are screenshot arguments (a dict such as
    ``dict(url=...)``, a URL string, or a callable that gets the function's
    arguments and returns one): a "before" screenshot is taken before the
    call and an "after" one after it returns. Then an "action" event named
    after the function (or ``name``) is recorded, referring to both images,
    with ``data={"result": <return value>}`` when the value is JSON data a
    ledger entry can hold. If the function raises, the run gets an "error"
    event and is finished "failed" (no "after" screenshot), and the
    exception propagates. Inside the function, :func:`current_run` is the
    run. ``run_kwargs`` go to :meth:`Client.run` (subject, agent, ...).
    """

    def decorate(fn: F) -> F:
        action = name or fn.__name__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with client.run(workflow, **run_kwargs) as run:
                refs = []
                if before is not None:
                    shot = run.screenshot(**_shot_args(before, "before", args, kwargs))
                    refs.append({"sha256": shot["sha256"], "role": "before"})
                result = fn(*args, **kwargs)
                if after is not None:
                    shot = run.screenshot(**_shot_args(after, "after", args, kwargs))
                    refs.append({"sha256": shot["sha256"], "role": "after"})
                try:
                    data: Optional[Dict[str, Any]] = {"result": ledger_json(result, "result")}
                except (TypeError, ValueError):
                    data = None
                run.event("action", action, data, artifacts=refs)
            return result

        return wrapper  # type: ignore[return-value]

    return decorate
