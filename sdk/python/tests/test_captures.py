import hashlib
import json
import unittest

from auditshot import (NotFound, WebhookVerificationError, sign_webhook, verify_webhook)

from . import support

SECRET = "whsec_test"


class CaptureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.client = support.new_tenant()
        cls.app = support.pages().url

    def test_screenshot_bytes_png(self):
        data = self.client.screenshot_bytes(url=self.app + "/bytes", width=640, height=480)
        self.assertTrue(data.startswith(b"\x89PNG\r\n\x1a\n"), data[:16])
        self.assertEqual(data.media_type, "image/png")
        self.assertEqual(data.sha256, hashlib.sha256(data).hexdigest())
        self.assertIsInstance(data.ledger_index, int)
        cap = self.client.get_capture(data.capture_id)
        self.assertEqual(cap.ledger.index, data.ledger_index)
        # IHDR width and height.
        self.assertEqual((int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")), (640, 480))

    def test_jpeg_and_options(self):
        data = self.client.screenshot_bytes(html="<h1>hello</h1>", format="jpeg", quality=50,
                                            mask_selectors=["h1"], full_page=True)
        self.assertTrue(data.startswith(b"\xff\xd8\xff"), data[:4])
        self.assertEqual(data.media_type, "image/jpeg")

    def test_pdf(self):
        rec = self.client.pdf(url=self.app + "/invoice", name="invoice", pdf={"paper": "letter"})
        self.assertEqual(rec.media_type, "application/pdf")
        self.assertTrue(self.client.artifact(rec.sha256).startswith(b"%PDF-"))
        raw = self.client.pdf_bytes(html="<p>receipt</p>")
        self.assertTrue(raw.startswith(b"%PDF-"))

    def test_ledger_export_usage(self):
        with self.client.run("exported") as run:
            run.screenshot(url=self.app + "/exported", role="step")
        cp = self.client.checkpoint()
        self.assertGreaterEqual(cp.size, 3)
        self.assertEqual(len(cp.root_hash), 64)
        self.assertIn(cp.origin, cp.checkpoint)
        page = self.client.checkpoints(limit=1)
        self.assertEqual(len(page.checkpoints), 1)
        self.assertEqual(page.checkpoints[0].size, cp.size)
        if page.next_before:
            older = self.client.checkpoints(before=page.next_before)
            self.assertTrue(all(c.size < cp.size for c in older.checkpoints))
        auditor = support.key_client(self.tenant.id, ["audit"])
        exp = auditor.export(runs=[run.id])
        self.assertEqual(exp.selection.runs, [run.id])
        self.assertTrue(exp.download.startswith("/v1/artifacts/"))
        zipped = auditor.artifact(exp.download.rsplit("/", 1)[1])
        self.assertEqual(hashlib.sha256(zipped).hexdigest(), exp.sha256)
        self.assertTrue(zipped.startswith(b"PK\x03\x04"))
        log = auditor.access(run=run.id)
        self.assertEqual([e.type for e in log.entries], ["export.created"])
        self.assertEqual(log.entries[0].what, "export")
        self.assertEqual(log.next_before, 0)
        entries = self.client.entries(0, 2)
        self.assertEqual(len(entries), 2)
        self.assertEqual(json.loads(entries[0])["tenant"], self.tenant.id)
        self.assertGreaterEqual(self.client.usage().captures, 1)
        with self.assertRaises(NotFound):
            self.client.artifact("0" * 64)

    def test_async_with_webhook(self):
        receiver = support.webhook_receiver()
        self.addCleanup(receiver.stop)
        job = self.client.screenshot(url=self.app + "/async", name="later", webhook_url=receiver.url + "/hook")
        self.assertIn(job.status, ("queued", "running", "succeeded"))
        self.assertEqual(job.kind, "screenshot")
        done = self.client.wait_job(job, timeout=60)
        self.assertEqual(done.status, "succeeded", done)
        self.assertEqual(done.result.name, "later")
        self.assertTrue(self.client.artifact(done.result.sha256).startswith(b"\x89PNG"))

        headers, body = receiver.received.get(timeout=60)
        secret = support.admin().get_tenant(self.tenant.id).webhook_secret
        self.assertEqual(secret, self.tenant.webhook_secret)
        event = verify_webhook(secret, headers.get("Auditshot-Signature"), body)
        self.assertEqual(event.type, "job.succeeded")
        self.assertEqual(headers.get("Auditshot-Event"), "job.succeeded")
        self.assertEqual(event.job.id, job.id)
        self.assertEqual(event.job.result.sha256, done.result.sha256)
        with self.assertRaises(WebhookVerificationError):
            verify_webhook(secret, headers.get("Auditshot-Signature"), body.replace(b"succeeded", b"failed"))
        with self.assertRaises(WebhookVerificationError):
            verify_webhook("whsec_wrong", headers.get("Auditshot-Signature"), body)

    def test_async_failed_job(self):
        # Port 1 is refused by Chromium: the job fails, with the reason.
        job = self.client.screenshot(url="http://127.0.0.1:1/", async_=True)
        done = self.client.wait_job(job.id, timeout=60)
        self.assertEqual(done.status, "failed")
        self.assertTrue(done.error.code)
        self.assertIn("127.0.0.1:1", done.error.message)


class VerifyWebhookTest(unittest.TestCase):
    body = b'{"type":"job.succeeded","job":{"id":"j1"}}'

    def test_valid(self):
        header = sign_webhook(SECRET, self.body, timestamp=1_700_000_000)
        event = verify_webhook(SECRET, header, self.body, now=1_700_000_100)
        self.assertEqual(event.job.id, "j1")
        # Any of several v1 signatures may match (secret rotation).
        rotated = header.replace("v1=", "v1=" + "0" * 64 + ",v1=")
        verify_webhook(SECRET, rotated, self.body, now=1_700_000_000)

    def test_tampered_body(self):
        header = sign_webhook(SECRET, self.body, timestamp=1_700_000_000)
        with self.assertRaisesRegex(WebhookVerificationError, "no v1 signature"):
            verify_webhook(SECRET, header, self.body.replace(b"j1", b"j2"), now=1_700_000_000)

    def test_old_and_future_timestamp(self):
        header = sign_webhook(SECRET, self.body, timestamp=1_700_000_000)
        with self.assertRaisesRegex(WebhookVerificationError, "tolerance"):
            verify_webhook(SECRET, header, self.body, now=1_700_000_301)
        with self.assertRaisesRegex(WebhookVerificationError, "tolerance"):
            verify_webhook(SECRET, header, self.body, now=1_699_999_000)
        verify_webhook(SECRET, header, self.body, tolerance=3600, now=1_700_000_301)

    def test_malformed(self):
        for header in (None, "", "v1=abc", "t=1700000000", "t=soon,v1=abc"):
            with self.assertRaises(WebhookVerificationError, msg=repr(header)):
                verify_webhook(SECRET, header, self.body, now=1_700_000_000)


if __name__ == "__main__":
    unittest.main()
