import unittest

from auditshot import (AuditshotError, AuthenticationError, Client, Conflict, InvalidRequest, NotFound,
                       PermissionDenied)

from . import support


class ErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.client = support.new_tenant(retries=0)
        cls.app = support.pages().url

    def assertAPIError(self, err, status, code):
        self.assertIsInstance(err, AuditshotError)
        self.assertEqual(err.status, status)
        self.assertEqual(err.code, code)
        self.assertTrue(err.request_id and err.request_id.startswith("req_"), err.request_id)
        self.assertEqual(err.headers.get("x-request-id"), err.request_id)
        self.assertIn(err.request_id, str(err))

    def test_unknown_option(self):
        with self.assertRaises(InvalidRequest) as cm:
            self.client.screenshot(url=self.app + "/x", widht=300)
        self.assertAPIError(cm.exception, 400, "invalid")
        self.assertIn('"widht"', cm.exception.message)

    def test_bad_option_value(self):
        with self.assertRaises(InvalidRequest) as cm:
            self.client.screenshot(url=self.app + "/x", width=100000)
        self.assertAPIError(cm.exception, 400, "invalid")
        self.assertTrue(cm.exception.message.startswith("width:"), cm.exception.message)

        with self.assertRaises(InvalidRequest) as cm:
            self.client.screenshot(url=self.app + "/x", full_page="yes")
        self.assertIn("full_page", cm.exception.message)

    def test_bad_key(self):
        bad = Client(support.server().url, api_key="ask_000000000000000000000000_" + "0" * 64, retries=0)
        with self.assertRaises(AuthenticationError) as cm:
            bad.usage()
        self.assertAPIError(cm.exception, 401, "unauthorized")

        with self.assertRaises(AuthenticationError):
            Client(support.server().url, api_key="", retries=0).usage()

    def test_other_tenants_run(self):
        run = self.client.start_run("private")
        _, other = support.new_tenant(retries=0)
        with self.assertRaises(NotFound) as cm:
            other.get_run(run.id)
        self.assertAPIError(cm.exception, 404, "not_found")
        with self.assertRaises(NotFound):
            other.run_proof(run.id)
        with self.assertRaises(NotFound):
            other.screenshot(url=self.app + "/x", run_id=run.id)
        run.finish()

    def test_missing_scope(self):
        _, reader = support.new_tenant(scopes=["read"], retries=0)
        with self.assertRaises(PermissionDenied) as cm:
            reader.screenshot(url=self.app + "/x")
        self.assertAPIError(cm.exception, 403, "forbidden")

    def test_finished_run(self):
        run = self.client.start_run("short")
        run.finish()
        with self.assertRaises(Conflict) as cm:
            run.action("too_late")
        self.assertAPIError(cm.exception, 409, "conflict")
        with self.assertRaises(Conflict):
            run.finish()
        with self.assertRaises(Conflict):
            run.screenshot(url=self.app + "/x")

    def test_unknown_route(self):
        with self.assertRaises(NotFound) as cm:
            self.client.request("GET", "/v1/nothing-here")
        self.assertIn("/openapi.json", cm.exception.message)


if __name__ == "__main__":
    unittest.main()
