import base64
import json
import unittest

from auditshot import Client, audited, current_run

from . import support


def entries_of(proof):
    """The decoded ledger entries of a run proof, by type."""
    out = {}
    for e in proof.entries:
        doc = json.loads(base64.b64decode(e.entry))
        out.setdefault(doc["type"], []).append(doc)
    return out


class SeedFlowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.client = support.new_tenant()
        cls.app = support.pages().url

    def test_seed_flow(self):
        # The README's flow, verbatim but for the URLs and the key.
        client = Client(support.server().url, api_key=self.client.api_key)
        shot = client.screenshot(url=self.app + "/dashboard", name="refund_start")
        self.assertEqual(shot.name, "refund_start")
        self.assertEqual(shot.media_type, "image/png")
        self.assertEqual(len(shot.sha256), 64)
        self.assertIsInstance(shot.ledger.index, int)
        self.assertEqual(shot.title, "dashboard")

        agent = {"name": "refund-bot", "model": "test-model", "version": "1.4.2", "code_ref": "0123abc"}
        with client.run("process_refund", subject="cust_42", agent=agent) as run:
            before = run.screenshot(url=self.app + "/dashboard", name="before", role="before")
            act = run.action("refund_approved", amount=500, currency="USD", reasoning="policy allows it")
            after = run.screenshot(url=self.app + "/transactions/981", name="refund_complete", role="after")
            self.assertIs(current_run(), run)
        self.assertIsNone(current_run())
        self.assertEqual(run.status, "succeeded")

        got = client.get_run(run.id)
        self.assertEqual(got.status, "succeeded")
        self.assertEqual(got.workflow, "process_refund")
        self.assertEqual(got.subject, "cust_42")
        self.assertEqual(got.agent, agent)
        self.assertIsNotNone(got.get("finished"))
        self.assertEqual([(e.type, e.name) for e in got.events], [("action", "refund_approved")])
        self.assertEqual(got.events[0].data, {"amount": 500, "currency": "USD"})
        self.assertEqual(got.events[0].reasoning, "policy allows it")
        for cap, role in ((before, "before"), (after, "after")):
            self.assertEqual(client.get_capture(cap.id).run_id, run.id)
            self.assertEqual(cap.role, role)

        proof = run.proof()
        self.assertEqual(proof.run_id, run.id)
        indexes = [e.index for e in proof.entries]
        self.assertEqual(indexes, sorted(indexes))
        self.assertEqual(len(indexes), 5)
        self.assertTrue(all(i < proof.checkpoint.size for i in indexes))
        self.assertIn(act.ledger.index, indexes)
        self.assertIn(before.ledger.index, indexes)
        self.assertNotIn(shot.ledger.index, indexes)  # not part of the run
        by_type = entries_of(proof)
        self.assertEqual(len(by_type["run.started"]), 1)
        self.assertEqual(len(by_type["run.event"]), 1)
        self.assertEqual(len(by_type["capture.completed"]), 2)
        self.assertEqual(by_type["run.finished"][0]["data"]["status"], "succeeded")
        self.assertEqual(by_type["run.started"][0]["agent"]["code_ref"], "0123abc")
        images = {a["sha256"] for c in by_type["capture.completed"] for a in c["artifacts"]}
        self.assertIn(after.sha256, images)
        # The image bytes are the ones the ledger names.
        png = client.artifact(after.sha256)
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"))
        self.assertEqual(len(png), after.size)

        listed = list(client.runs(workflow="process_refund", status="succeeded"))
        self.assertIn(run.id, [r.id for r in listed])

    def test_block_raises(self):
        class RefundRefused(Exception):
            pass

        with self.assertRaises(RefundRefused):
            with self.client.run("process_refund", subject="cust_43") as run:
                run.screenshot(url=self.app + "/dashboard", role="before")
                raise RefundRefused("limit exceeded for cust_43")
        self.assertEqual(run.status, "failed")
        got = self.client.get_run(run.id)
        self.assertEqual(got.status, "failed")
        self.assertEqual([(e.type, e.name) for e in got.events], [("error", "RefundRefused")])
        self.assertEqual(got.events[0].data, {"message": "limit exceeded for cust_43"})
        self.assertEqual(entries_of(self.client.run_proof(run.id))["run.finished"][0]["data"]["status"], "failed")

    def test_start_run_without_with(self):
        run = self.client.start_run("manual", principal="ops@example.com", labels={"env": "test"})
        self.assertEqual(run.status, "running")
        run.decision("route_to_human", reasoning="amount above limit", threshold=1000)
        run.note("waiting for approval")
        run.approval("approved_by_ops", approver="ops@example.com")
        done = run.finish("cancelled")
        self.assertEqual(done.status, "cancelled")
        got = run.get()
        self.assertEqual(got.labels, {"env": "test"})
        self.assertEqual(got.principal, "ops@example.com")
        self.assertEqual([e.type for e in got.events], ["decision", "note", "approval"])
        self.assertEqual(got.events[0].data, {"threshold": 1000})
        self.assertNotIn("data", got.events[1])

    def test_event_artifacts_and_floats(self):
        with self.client.run("artifacts") as run:
            shot = run.screenshot(url=self.app + "/step")
            ev = run.action("clicked", artifacts=[(shot, "step")], target="#pay")
            self.assertEqual([(a.sha256, a.role) for a in ev.artifacts], [(shot.sha256, "step")])
            with self.assertRaisesRegex(ValueError, r"amount.*strings.*12\.50"):
                run.action("refund", amount=12.5)
            ev = run.action("refund", amount="12.50", nested={"rates": [1, 2]})
            self.assertEqual(ev.data, {"amount": "12.50", "nested": {"rates": [1, 2]}})
        self.assertEqual(len(self.client.get_run(run.id).events), 2)

    def test_methods_need_a_started_run(self):
        run = self.client.run("never_started")
        with self.assertRaisesRegex(RuntimeError, "not started"):
            run.action("x")


class AuditedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.client = support.new_tenant()
        cls.app = support.pages().url

    def test_audited_success(self):
        app = self.app

        @audited(self.client, "refund_flow", before=dict(url=app + "/dashboard"),
                 after=lambda order: dict(url=app + "/orders/" + order), subject="cust_7")
        def refund(order):
            current_run().note("inside", order=order)
            return {"refunded": order, "amount": "5.00"}

        self.assertEqual(refund.__name__, "refund")
        self.assertEqual(refund("981"), {"refunded": "981", "amount": "5.00"})
        runs = list(self.client.runs(workflow="refund_flow", subject="cust_7"))
        self.assertEqual(len(runs), 1)
        got = self.client.get_run(runs[0].id)
        self.assertEqual(got.status, "succeeded")
        self.assertEqual([(e.type, e.name) for e in got.events], [("note", "inside"), ("action", "refund")])
        action = got.events[1]
        self.assertEqual(action.data, {"result": {"refunded": "981", "amount": "5.00"}})
        self.assertEqual([a.role for a in action.artifacts], ["before", "after"])
        caps = entries_of(self.client.run_proof(got.id))["capture.completed"]
        self.assertEqual(len(caps), 2)

    def test_audited_failure(self):
        @audited(self.client, "failing_flow", before=self.app + "/dashboard", after=self.app + "/never")
        def explode():
            raise KeyError("no such order")

        with self.assertRaises(KeyError):
            explode()
        runs = list(self.client.runs(workflow="failing_flow"))
        self.assertEqual(len(runs), 1)
        got = self.client.get_run(runs[0].id)
        self.assertEqual(got.status, "failed")
        self.assertEqual([(e.type, e.name) for e in got.events], [("error", "KeyError")])
        caps = entries_of(self.client.run_proof(got.id))["capture.completed"]
        self.assertEqual(len(caps), 1)  # before only

    def test_audited_result_not_json(self):
        @audited(self.client, "opaque_flow")
        def opaque():
            return object()

        opaque()
        got = self.client.get_run(next(self.client.runs(workflow="opaque_flow")).id)
        self.assertEqual([(e.type, e.name) for e in got.events], [("action", "opaque")])
        self.assertNotIn("data", got.events[0])


if __name__ == "__main__":
    unittest.main()
