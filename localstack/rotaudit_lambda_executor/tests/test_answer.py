"""Unit tests of how aws-lambda-rie's answers become Lambda's; no LocalStack needed."""

import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rotaudit_lambda_executor.answer import classify  # noqa: E402


class Classify(unittest.TestCase):
    def test_cases(self):
        err = b'{"errorMessage":"createSecret: boom","errorType":"wrapError"}'
        cases = [
            # name, status, body, is_error, restart, errorType or the exact payload
            ("result", 200, b'{"changed":true}', False, False, b'{"changed":true}'),
            ("null result", 200, b"null", False, False, b"null"),
            ("function error", 200, err, True, False, err),
            ("result that mentions errorMessage", 200, b'{"errorMessage":"x","errorType":"y","more":1}', False, False, None),
            ("timeout", 200, b"Task timed out after 3.00 seconds", True, True, "Sandbox.Timedout"),
            ("init error", 502, b'{"errorMessage":"MASTER_SECRET_ARNS: missing","errorType":"Runtime.ExitError"}', True, True, "Runtime.ExitError"),
            ("runtime gone", 502, b"", True, True, "Runtime.ExitError"),
        ]
        for name, status, body, is_error, restart, want in cases:
            with self.subTest(name):
                a = classify("req-1", status, body, 3)
                self.assertEqual((a.is_error, a.restart), (is_error, restart))
                if isinstance(want, bytes):
                    self.assertEqual(a.payload, want)
                elif isinstance(want, str):
                    doc = json.loads(a.payload)
                    self.assertEqual(doc["errorType"], want)
                    self.assertIn("RequestId: req-1" if status == 200 or not body else "", doc["errorMessage"])

    def test_timeout_message_is_lambdas(self):
        doc = json.loads(classify("abc", 200, b"Task timed out after 5.00 seconds", 5).payload)
        self.assertEqual(doc["errorMessage"], "RequestId: abc Error: Task timed out after 5.00 seconds")


if __name__ == "__main__":
    unittest.main()
