import unittest

from auditshot import InvalidRequest

from . import support


class SequenceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.client = support.new_tenant()
        cls.app = support.pages().url

    def test_run_sequence_recorded(self):
        with self.client.run("process_refund", subject="cust_42") as run:
            flow = run.sequence([
                {"action": "assert_text", "text": "dashboard"},
                {"action": "screenshot", "name": "dashboard"},
            ], url=self.app + "/dashboard", name="check_dashboard")
        self.assertEqual(flow.outcome, "succeeded")
        self.assertEqual(flow.kind, "sequence")
        self.assertEqual(flow.run_id, run.id)
        self.assertEqual([s["status"] for s in flow.steps], ["ok", "ok"])
        self.assertTrue(self.client.artifact(flow.steps[1]["screenshot_sha256"]).startswith(b"\x89PNG"))

    def test_failing_step_is_recorded(self):
        flow = self.client.sequence([{"action": "assert_text", "text": "not on the page", "timeout": 300}],
                                    url=self.app + "/dashboard")
        self.assertEqual(flow.outcome, "failed")
        self.assertEqual(flow.steps[0]["status"], "failed")
        self.assertTrue(flow.steps[0]["screenshot_sha256"])

    def test_bad_step_names_the_field(self):
        with self.assertRaises(InvalidRequest) as cm:
            self.client.sequence([{"action": "click"}], url=self.app + "/dashboard")
        self.assertIn("selector", cm.exception.message)

    def test_async_sequence(self):
        job = self.client.sequence([{"action": "assert_text", "text": "dashboard"}],
                                   url=self.app + "/dashboard", name="async_flow", async_=True)
        self.assertEqual(job.kind, "sequence")
        done = self.client.wait_job(job, timeout=60)
        self.assertEqual(done.status, "succeeded")
        self.assertEqual(done.result["outcome"], "succeeded")
        self.assertEqual(done.result["kind"], "sequence")
