"""Test fixtures: the real auditshot server (started once per test run),
local web pages to capture, and a webhook receiver.

The server binary is $AUDITSHOT_BIN, else <repo>/.bin/auditshot, built with
`go build` when it is missing (or always, with AUDITSHOT_BUILD=1).
"""

import atexit
import http.server
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from typing import Any, Dict, List, Optional, Tuple

from auditshot import Client, Record

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
START_TIMEOUT = 60.0
BUILD_TIMEOUT = 600.0
LISTEN_PREFIX = "auditshot "
KEY_PREFIX = "bootstrap admin key (shown once, store it now): "


def server_binary() -> str:
    path = os.environ.get("AUDITSHOT_BIN") or os.path.join(REPO, ".bin", "auditshot")
    if os.environ.get("AUDITSHOT_BUILD") == "1" or not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run(["go", "build", "-o", path, "./cmd/auditshot"], cwd=REPO, check=True,
                       timeout=BUILD_TIMEOUT)
    return path


class AuditshotServer:
    """`auditshot serve` on a free loopback port with a fresh data directory."""

    def __init__(self) -> None:
        self.data = tempfile.mkdtemp(prefix="auditshot-sdk-test-")
        self.log_path = os.path.join(self.data, "server.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [server_binary(), "serve", "--addr", "127.0.0.1:0", "--data", os.path.join(self.data, "data"),
             "--allow", "127.0.0.1", "--log-format", "text", "--checkpoint-interval", "1s",
             "--webhook-backoff", "100ms"],
            stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL, text=True,
        )
        self.url = ""
        self.admin_key = ""
        lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()
        try:
            self._wait_ready(lines)
        except BaseException:
            self.stop()
            raise

    def _read(self, lines: "queue.Queue[Optional[str]]") -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    def _wait_ready(self, lines: "queue.Queue[Optional[str]]") -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not (self.url and self.admin_key):
            left = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(0.0, left))
            except queue.Empty:
                raise RuntimeError("auditshot serve did not start in %ss; log:\n%s" % (START_TIMEOUT, self.log()))
            if line is None:
                raise RuntimeError("auditshot serve exited (%s); log:\n%s" % (self.proc.wait(), self.log()))
            if line.startswith(LISTEN_PREFIX) and " listening on " in line:
                self.url = line.split(" listening on ", 1)[1].split(" ", 1)[0]
            elif line.startswith(KEY_PREFIX):
                self.admin_key = line[len(KEY_PREFIX):].strip()

    def log(self) -> str:
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read()[-8000:].decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()
        shutil.rmtree(self.data, ignore_errors=True)


class _PageHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with a small HTML page titled after its path."""

    def do_GET(self) -> None:  # noqa: N802
        title = self.path.strip("/") or "home"
        body = ("<!doctype html><html><head><title>%s</title></head><body style='font:24px sans-serif'>"
                "<h1>%s</h1><p class='secret'>account 4242</p></body></html>" % (title, title)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _WebhookHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        self.server.received.put((self.headers, body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class LocalHTTP:
    """A ThreadingHTTPServer on 127.0.0.1:0 in a thread."""

    def __init__(self, handler: Any) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.received = queue.Queue()  # type: ignore[attr-defined]
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def received(self) -> "queue.Queue[Tuple[Dict[str, str], bytes]]":
        return self.httpd.received  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


_lock = threading.Lock()
_server: Optional[AuditshotServer] = None
_pages: Optional[LocalHTTP] = None


def server() -> AuditshotServer:
    """The server of this test run, started on first use."""
    global _server
    with _lock:
        if _server is None:
            _server = AuditshotServer()
            atexit.register(_server.stop)
        return _server


def pages() -> LocalHTTP:
    """The local web pages of this test run: <url>/<anything> is a page."""
    global _pages
    with _lock:
        if _pages is None:
            _pages = LocalHTTP(_PageHandler)
            atexit.register(_pages.stop)
        return _pages


def webhook_receiver() -> LocalHTTP:
    """A new webhook receiver; every POST lands in .received as (headers, body)."""
    return LocalHTTP(_WebhookHandler)


def admin() -> Client:
    """A client with the bootstrap (operator) admin key."""
    s = server()
    return Client(s.url, api_key=s.admin_key, retries=0)


def new_tenant(plan: Any = "unlimited", scopes: Optional[List[str]] = None,
               **client_kwargs: Any) -> Tuple[Record, Client]:
    """A new tenant allowed to capture 127.0.0.1, and a client with a new
    key of ``scopes`` (default capture, write, read) for it."""
    tid = "t" + uuid.uuid4().hex[:12]
    tenant = admin().create_tenant(tid, name="SDK test " + tid, plan=plan, egress={"allow": ["127.0.0.1"]},
                                   admin_key=True)
    return tenant, key_client(tid, scopes or ["capture", "write", "read"], **client_kwargs)


def key_client(tenant_id: str, scopes: List[str], **client_kwargs: Any) -> Client:
    """A client with a new key of ``scopes`` for the tenant."""
    key = admin().create_key("sdk-test", scopes, tenant_id=tenant_id)
    return Client(server().url, api_key=key["secret"], **client_kwargs)
