import http.server
import json
import socket
import unittest
import uuid

from auditshot import (APIConnectionError, Client, Conflict, InvalidRequest, QuotaExceeded, RateLimited,
                       ServiceUnavailable)

from . import support


class IdempotencyTest(unittest.TestCase):
    def test_same_key_same_capture(self):
        _, client = support.new_tenant()
        url = support.pages().url + "/idem"
        key = "sdk-test-" + uuid.uuid4().hex
        first = client.screenshot(url=url, name="once", idempotency_key=key)
        again = client.request("POST", "/v1/screenshot", body={"url": url, "name": "once"}, idempotency_key=key)
        self.assertEqual(again.id, first.id)
        self.assertEqual(again.ledger, first.ledger)
        self.assertEqual(client.usage().captures, 1)

        # Without a key of their own, two calls are two captures.
        a = client.screenshot(url=url)
        b = client.screenshot(url=url)
        self.assertNotEqual(a.id, b.id)
        self.assertEqual(client.usage().captures, 3)

        with self.assertRaises(Conflict) as cm:
            client.request("POST", "/v1/screenshot", body={"url": url, "name": "other"}, idempotency_key=key)
        self.assertIn("different request", cm.exception.message)

    def test_run_start_is_idempotent(self):
        _, client = support.new_tenant()
        key = "run-" + uuid.uuid4().hex
        a = client.request("POST", "/v1/runs", body={"workflow": "w"}, idempotency_key=key)
        b = client.request("POST", "/v1/runs", body={"workflow": "w"}, idempotency_key=key)
        self.assertEqual(a.id, b.id)
        self.assertEqual(len(list(client.runs())), 1)


class LimitsTest(unittest.TestCase):
    def test_rate_limited(self):
        _, client = support.new_tenant(plan={"captures_per_month": 0, "captures_per_minute": 1}, retries=0)
        url = support.pages().url + "/rate"
        client.screenshot(url=url)
        with self.assertRaises(RateLimited) as cm:
            client.screenshot(url=url)
        err = cm.exception
        self.assertEqual((err.status, err.code), (429, "rate_limited"))
        self.assertIsNotNone(err.retry_after)
        self.assertGreater(err.retry_after, 1)
        self.assertLessEqual(err.retry_after, 60)
        self.assertEqual(float(err.headers["retry-after"]), err.retry_after)

        # With retries, the client waits as Retry-After says, then gives up.
        client.retries, client.max_retry_wait = 2, 120
        waits = []
        client.sleep = waits.append
        with self.assertRaises(RateLimited):
            client.screenshot(url=url)
        self.assertEqual(len(waits), 2)
        for w in waits:
            self.assertGreater(w, 1)
            self.assertLessEqual(w, 60)

        # A Retry-After beyond max_retry_wait is not waited for.
        client.max_retry_wait = 0.5
        waits.clear()
        with self.assertRaises(RateLimited):
            client.screenshot(url=url)
        self.assertEqual(waits, [])
        self.assertEqual(client.usage().captures, 1)

    def test_quota_exceeded(self):
        _, client = support.new_tenant(plan={"captures_per_month": 1, "captures_per_minute": 0})
        url = support.pages().url + "/quota"
        client.screenshot(url=url)
        with self.assertRaises(QuotaExceeded) as cm:
            client.screenshot(url=url)
        self.assertEqual((cm.exception.status, cm.exception.code), (402, "quota_exceeded"))
        self.assertTrue(cm.exception.request_id)
        usage = client.usage()
        self.assertEqual((usage.captures, usage.remaining, usage.plan.captures_per_month), (1, 0, 1))


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next scripted (status, headers, body)."""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.put(self.headers)
        status, headers, body = self.server.script.pop(0)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002
        pass


def _err(status, code, retry_after=None):
    h = {"Content-Type": "application/json", "X-Request-Id": "req_stub"}
    if retry_after is not None:
        h["Retry-After"] = retry_after
    body = json.dumps({"error": {"code": code, "message": code + " now", "request_id": "req_stub"}}).encode()
    return status, h, body


class RetryTest(unittest.TestCase):
    """Retries against a scripted server: what the real one cannot be made
    to do on demand (a 503, then success)."""

    def setUp(self):
        self.stub = support.LocalHTTP(_Scripted)
        self.addCleanup(self.stub.stop)
        self.client = Client(self.stub.url, api_key="ask_test", retries=3)
        self.waits = []
        self.client.sleep = self.waits.append

    def sent(self):
        out = []
        while not self.stub.received.empty():
            out.append(self.stub.received.get_nowait())
        return out

    def test_retry_reuses_idempotency_key(self):
        self.stub.httpd.script = [_err(503, "unavailable", "2"), _err(429, "rate_limited", "1"),
                                  (201, {"Content-Type": "application/json"}, b'{"id":"cap_1","ledger":{"index":7}}')]
        cap = self.client.screenshot(url="http://example.test/")
        self.assertEqual((cap.id, cap.ledger.index), ("cap_1", 7))
        self.assertEqual(self.waits, [2.0, 1.0])
        sent = self.sent()
        self.assertEqual(len(sent), 3)
        keys = {h["Idempotency-Key"] for h in sent}
        self.assertEqual(len(keys), 1)
        uuid.UUID(keys.pop())
        self.assertEqual({h["Authorization"] for h in sent}, {"Bearer ask_test"})

    def test_no_retry_on_400(self):
        self.stub.httpd.script = [_err(400, "invalid")]
        with self.assertRaises(InvalidRequest) as cm:
            self.client.screenshot(url="http://example.test/")
        self.assertEqual((cm.exception.code, cm.exception.request_id), ("invalid", "req_stub"))
        self.assertEqual(len(self.sent()), 1)
        self.assertEqual(self.waits, [])

    def test_gives_up_after_retries(self):
        self.stub.httpd.script = [_err(503, "unavailable", "0")] * 4
        with self.assertRaises(ServiceUnavailable) as cm:
            self.client.screenshot(url="http://example.test/")
        self.assertEqual(cm.exception.status, 503)
        self.assertEqual(cm.exception.retry_after, 0)
        self.assertEqual(len(self.sent()), 4)
        self.assertEqual(self.waits, [0, 0, 0])

    def test_connection_refused(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        client = Client("http://127.0.0.1:%d" % port, api_key="k", retries=2)
        waits = []
        client.sleep = waits.append
        with self.assertRaises(APIConnectionError) as cm:
            client.usage()
        self.assertIsNone(cm.exception.status)
        self.assertEqual(len(waits), 2)


if __name__ == "__main__":
    unittest.main()
