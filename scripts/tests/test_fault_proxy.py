"""Tests of scripts/fault-proxy against a stub upstream on loopback (no emulator needed).

    .venv/bin/python -m unittest discover -s scripts/tests -v      # from the project root

Each test starts the real script as a subprocess in front of a tiny http.server that records what
reaches it, then checks the proxy's answers, its LOG and its summary.
"""

import http.client
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "fault-proxy"

# The oracle: what the AWS SDK for Rust retries. Error codes from aws-runtime's
# retries/classifiers.rs (THROTTLING_ERRORS); statuses from aws-smithy-runtime's
# retries/classifiers.rs (TRANSIENT_ERROR_STATUS_CODES).
SDK_THROTTLING_ERRORS = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
}
SDK_TRANSIENT_STATUS = {500, 502, 503, 504}


class StubUpstream:
    """A loopback HTTP server that records each request and answers 200 "ok" (or the status a
    request asks for in X-Stub-Status)."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with stub.lock:
                    stub.requests.append((self.command, self.path, dict(self.headers), body))
                status = int(self.headers.get("X-Stub-Status") or 200)
                payload = b"" if self.command == "HEAD" else b"ok " + body
                self.send_response(status)
                self.send_header("X-Stub", "yes")
                self.send_header("Content-Length", "12345" if self.command == "HEAD" else str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Proxy:
    """The script under test, running as a subprocess."""

    def __init__(self, upstream, *options):
        self.dir = tempfile.TemporaryDirectory()
        self.log = Path(self.dir.name) / "faults.log"
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), *options, upstream, str(self.log)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline()
        match = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)\n", line)
        if not match:
            self.process.kill()
            raise AssertionError(f"proxy did not start: {line!r} {self.process.stderr.read()}")
        self.port = int(match.group(1))

    def request(self, method="POST", path="/", headers=None, body=b""):
        """Returns (status, headers as a lower-cased dict, body), on a fresh connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def log_lines(self):
        return self.log.read_text().splitlines()

    def summary(self):
        status, _, body = self.request("GET", "/__faults")
        assert status == 200
        return json.loads(body)

    def stop(self):
        """SIGTERM; returns the summary printed at exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=10)
        self.dir.cleanup()
        assert "Traceback" not in err, err  # a handler that crashed
        return json.loads(out.strip().splitlines()[-1])


def signed(service, extra=None):
    """Headers of a SigV4-signed request to `service` (the signature itself is never checked)."""
    headers = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/{service}/aws4_request, "
                         "SignedHeaders=host;x-amz-date, Signature=0000",
        "X-Amz-Date": "20240101T000000Z",
    }
    headers.update(extra or {})
    return headers


def query_call(proxy, service, action, extra=None, body_extra=""):
    headers = signed(service, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **(extra or {})})
    return proxy.request("POST", "/", headers, f"Action={action}&Version=2016-11-15{body_extra}".encode())


def json_call(proxy, service, target, extra=None):
    headers = signed(service, {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target, **(extra or {})})
    return proxy.request("POST", "/", headers, b"{}")


class FaultProxyTest(unittest.TestCase):
    def setUp(self):
        self.upstream = StubUpstream()
        self.proxies = []

    def tearDown(self):
        for proxy in self.proxies:
            if proxy.process.poll() is None:
                proxy.stop()
        self.upstream.close()

    def start(self, *options):
        proxy = Proxy(self.upstream.url, *options)
        self.proxies.append(proxy)
        return proxy

    def outcomes(self, proxy, service=None, action=None):
        lines = [line.split(" ") for line in proxy.log_lines()]
        return [o for s, a, o in lines if (service is None or s == service) and (action is None or a == action)]

    # --- forwarding ---------------------------------------------------------------------------

    def test_forwards_requests_unchanged_and_logs_them(self):
        proxy = self.start("--rate", "0")
        self.assertTrue(os.access(SCRIPT, os.X_OK), "scripts/fault-proxy must be executable")
        status, headers, body = query_call(proxy, "ec2", "DescribeVpcs", {"X-Stub-Status": "404"})
        self.assertEqual((status, headers["x-stub"], body), (404, "yes", b"ok Action=DescribeVpcs&Version=2016-11-15"))
        method, path, forwarded, received = self.upstream.requests[-1]
        self.assertEqual((method, path, received), ("POST", "/", b"Action=DescribeVpcs&Version=2016-11-15"))
        self.assertEqual(forwarded["Authorization"], signed("ec2")["Authorization"])
        self.assertEqual(forwarded["Host"], f"127.0.0.1:{proxy.port}")  # Host is not rewritten

        json_call(proxy, "kms", "TrentService.ListKeys")
        proxy.request("GET", "/clusters/demo?maxResults=5", signed("eks"))
        status, headers, body = proxy.request("HEAD", "/bucket/key", signed("s3"))
        self.assertEqual((status, headers["content-length"], body), (200, "12345", b""))
        self.assertEqual(self.upstream.requests[-2][1], "/clusters/demo?maxResults=5")
        self.assertEqual(proxy.log_lines(), [
            "ec2 DescribeVpcs forwarded",
            "kms ListKeys forwarded",
            "eks GET:/clusters/demo forwarded",
            "s3 HEAD:/bucket/key forwarded",
        ])

    def test_digests_tell_identical_requests_from_other_requests_of_the_action(self):
        proxy = self.start("--rate", "0", "--log-digests")
        query_call(proxy, "ec2", "DescribeVpcs")
        query_call(proxy, "ec2", "DescribeVpcs")
        query_call(proxy, "ec2", "DescribeVpcs", body_extra="&VpcId.1=vpc-1")
        lines = [line.split(" ") for line in proxy.log_lines()]
        self.assertEqual([line[:3] for line in lines], [["ec2", "DescribeVpcs", "forwarded"]] * 3)
        digests = [line[3] for line in lines]
        self.assertTrue(all(re.fullmatch(r"[0-9a-f]{16}", digest) for digest in digests), digests)
        self.assertEqual(digests[0], digests[1], "the same request, signed again, has the same digest")
        self.assertNotEqual(digests[0], digests[2], "other parameters, another digest")

    def test_timings_say_when_each_forwarded_request_was_in_flight(self):
        work = tempfile.TemporaryDirectory()
        self.addCleanup(work.cleanup)
        timings = Path(work.name) / "timings.log"
        proxy = self.start("--rate", "1", "--max-consecutive", "1", "--timings", str(timings))
        before = time.time()
        query_call(proxy, "ec2", "DescribeVpcs")  # faulted: never reaches the emulator
        query_call(proxy, "ec2", "DescribeVpcs")  # forwarded
        after = time.time()
        proxy.stop()
        lines = [line.split(" ") for line in timings.read_text().splitlines()]
        self.assertEqual([line[:2] for line in lines], [["ec2", "DescribeVpcs"]], "forwarded requests only")
        start, end = float(lines[0][2]), float(lines[0][3])
        self.assertTrue(before <= start <= end <= after, (before, start, end, after))

    # --- determinism ----------------------------------------------------------------------------

    def run_sequence(self, seed, calls):
        proxy = self.start("--seed", str(seed), "--rate", "0.4")
        for service, action in calls:
            query_call(proxy, service, action)
        lines = proxy.log_lines()
        proxy.stop()
        return lines

    def test_same_seed_gives_same_faults(self):
        calls = [("ec2", "DescribeVpcs"), ("iam", "ListRoles"), ("rds", "DescribeDBInstances")] * 60
        first, second = self.run_sequence(11, calls), self.run_sequence(11, calls)
        self.assertEqual(first, second)
        self.assertTrue(any(line.endswith(" throttled") for line in first))
        self.assertTrue(any(line.endswith(" 5xx") for line in first))
        self.assertNotEqual(first, self.run_sequence(12, calls))

    def test_other_actions_do_not_change_which_request_of_an_action_fails(self):
        alone = self.run_sequence(5, [("ec2", "DescribeVpcs")] * 80)
        mixed_calls = []
        for i in range(80):
            mixed_calls += [("iam", "ListRoles")] * (i % 3) + [("ec2", "DescribeVpcs")]
        mixed = [line for line in self.run_sequence(5, mixed_calls) if line.startswith("ec2 ")]
        self.assertEqual(alone, mixed)

    # --- rate and limits -----------------------------------------------------------------------

    def test_rate_is_honoured(self):
        proxy = self.start("--seed", "3", "--rate", "0.25", "--max-consecutive", "100000")
        for _ in range(2000):
            query_call(proxy, "ec2", "DescribeSubnets")
        faults = sum(outcome != "forwarded" for outcome in self.outcomes(proxy))
        self.assertAlmostEqual(faults / 2000, 0.25, delta=0.03)  # 3 sigma is 0.029
        self.assertEqual(self.upstream.count(), 2000 - faults)  # faults are not forwarded
        summary = proxy.summary()
        self.assertEqual((summary["requests"], summary["faulted"]), (2000, faults))
        self.assertEqual(summary["services"]["ec2"]["DescribeSubnets"]["faults"], faults)

    def test_max_consecutive_holds(self):
        proxy = self.start("--seed", "1", "--rate", "0.9", "--max-consecutive", "2")
        for _ in range(300):
            query_call(proxy, "iam", "ListRoles")
        runs = "".join("F" if o != "forwarded" else "." for o in self.outcomes(proxy))
        self.assertIn("FF", runs)
        self.assertNotIn("FFF", runs)

        never = self.start("--rate", "1", "--max-consecutive", "0")
        for _ in range(20):
            query_call(never, "iam", "ListRoles")
        self.assertEqual(set(self.outcomes(never)), {"forwarded"})

    def test_max_consecutive_holds_per_operation_when_operations_interleave(self):
        # rate 1: every request is faulted unless a streak limit forbids it. Operation X's attempts
        # are interleaved with other operations of the same action, which reset the action's streak.
        proxy = self.start("--rate", "1", "--max-consecutive", "2")
        order = ["X", "Y", "Z", "X", "W", "V", "X"]
        for operation in order:
            query_call(proxy, "ec2", "DescribeSubnets", {"amz-sdk-invocation-id": operation})
        # Z and V are forwarded by the action's streak limit; X's third attempt only by its own.
        runs = "".join("F" if o != "forwarded" else "." for o in self.outcomes(proxy))
        self.assertEqual(runs, "FF.FF..")

    def test_only_actions_and_default_service_exclusions(self):
        proxy = self.start("--rate", "1", "--max-consecutive", "1000", "--only-actions", "ListRoles")
        for _ in range(30):
            query_call(proxy, "iam", "ListRoles")
            query_call(proxy, "iam", "ListUsers")
            query_call(proxy, "sts", "GetCallerIdentity")
            proxy.request("PUT", "/state-bucket/terraform.tfstate", signed("s3"), b"{}")
        self.assertNotIn("forwarded", self.outcomes(proxy, "iam", "ListRoles"))
        self.assertEqual(set(self.outcomes(proxy, "iam", "ListUsers")), {"forwarded"})
        self.assertEqual(set(self.outcomes(proxy, "sts")), {"forwarded"})
        self.assertEqual(set(self.outcomes(proxy, "s3")), {"forwarded"})

        everything = self.start("--rate", "1", "--max-consecutive", "1000")
        for _ in range(50):
            everything.request("PUT", "/state-bucket/terraform.tfstate", signed("s3"), b"{}")
            query_call(everything, "sts", "GetCallerIdentity")
        self.assertEqual(set(self.outcomes(everything)), {"forwarded"})

    # --- fault shapes ---------------------------------------------------------------------------

    def fault(self, kind, services, call):
        proxy = self.start("--rate", "1", "--faults", kind, "--services", services)
        before = self.upstream.count()
        answer = call(proxy)
        self.assertEqual(self.upstream.count(), before, "a throttle or 5xx must not reach upstream")
        return answer

    def assert_retryable(self, status, code, throttle):
        if throttle:
            self.assertIn(code, SDK_THROTTLING_ERRORS)
        else:
            self.assertIn(status, SDK_TRANSIENT_STATUS)

    def test_ec2_query_shape(self):
        for kind, status, code in (("throttle", 503, "RequestLimitExceeded"), ("5xx", 500, "InternalError")):
            got, headers, body = self.fault(kind, "ec2", lambda p: query_call(p, "ec2", "DescribeVpcs"))
            self.assertTrue(body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'))
            root = ET.fromstring(body)  # smithy-rs ec2_query_errors: Response/Errors/Error/Code
            self.assertEqual(root.tag, "Response")
            self.assertEqual((got, root.findtext("Errors/Error/Code")), (status, code))
            self.assertTrue(root.findtext("Errors/Error/Message"))
            self.assertTrue(root.findtext("RequestID"))
            self.assertIn("xml", headers["content-type"])
            self.assert_retryable(got, code, kind == "throttle")

    def test_aws_query_shape(self):
        for service, action in (("iam", "ListRoles"), ("rds", "DescribeDBInstances"),
                                ("elasticache", "DescribeCacheClusters"), ("sts", "GetCallerIdentity")):
            for kind, status, fault, code in (("throttle", 400, "Sender", "Throttling"),
                                              ("5xx", 500, "Receiver", "InternalFailure")):
                got, headers, body = self.fault(kind, service, lambda p: query_call(p, service, action))
                root = ET.fromstring(body)  # smithy-rs rest_xml_wrapped_errors: ErrorResponse/Error/Code
                self.assertEqual(root.tag, "ErrorResponse")
                self.assertEqual((got, root.findtext("Error/Type"), root.findtext("Error/Code")), (status, fault, code))
                self.assertTrue(root.findtext("Error/Message"))
                self.assertTrue(root.findtext("RequestId"))
                self.assertEqual(headers["content-type"], "text/xml")
                self.assert_retryable(got, code, kind == "throttle")

    def test_aws_json_shape(self):
        cases = (("kms", "TrentService.ListKeys", "KMSInternalException"),
                 ("secretsmanager", "secretsmanager.ListSecrets", "InternalServiceError"),
                 ("logs", "Logs_20140328.DescribeLogGroups", "InternalFailure"))
        for service, target, internal in cases:
            for kind, status, code in (("throttle", 400, "ThrottlingException"), ("5xx", 500, internal)):
                got, headers, body = self.fault(kind, service, lambda p: json_call(p, service, target))
                parsed = json.loads(body)
                self.assertEqual((got, parsed["__type"]), (status, code))
                self.assertTrue(parsed["message"])
                self.assertEqual(headers["content-type"], "application/x-amz-json-1.1")
                self.assertNotIn("x-amzn-errortype", headers)
                self.assert_retryable(got, code, kind == "throttle")
        # An awsJson1_0 client is answered in 1.0.
        _, headers, _ = self.fault("throttle", "dynamodb", lambda p: p.request(
            "POST", "/", signed("dynamodb", {"Content-Type": "application/x-amz-json-1.0",
                                             "X-Amz-Target": "DynamoDB_20120810.ListTables"}), b"{}"))
        self.assertEqual(headers["content-type"], "application/x-amz-json-1.0")
        self.assertEqual(self.proxies[-1].log_lines(), ["dynamodb ListTables throttled"])

    def test_rest_json_shape(self):
        for kind, status, code in (("throttle", 429, "ThrottlingException"), ("5xx", 500, "ServerException")):
            got, headers, body = self.fault(kind, "eks", lambda p: p.request("GET", "/clusters/demo", signed("eks")))
            self.assertEqual((got, headers["x-amzn-errortype"]), (status, code))
            self.assertEqual(headers["content-type"], "application/json")
            self.assertTrue(json.loads(body)["message"])
            self.assert_retryable(got, code, kind == "throttle")
        self.assertEqual(self.proxies[-1].log_lines(), ["eks GET:/clusters/demo 5xx"])

    def test_s3_shape_when_asked_for(self):
        for kind, status, code in (("throttle", 503, "SlowDown"), ("5xx", 500, "InternalError")):
            got, _, body = self.fault(kind, "s3", lambda p: p.request("GET", "/bucket/key", signed("s3")))
            root = ET.fromstring(body)
            self.assertEqual((got, root.tag, root.findtext("Code")), (status, "Error", code))
            self.assert_retryable(got, code, kind == "throttle")

    # --- lost and reset -------------------------------------------------------------------------

    def test_refuse_is_a_client_error_the_sdk_does_not_retry(self):
        calls = {
            "ec2": lambda p: query_call(p, "ec2", "DescribeVpcs"),
            "elasticache": lambda p: query_call(p, "elasticache", "CreateReplicationGroup"),
            "kms": lambda p: json_call(p, "kms", "TrentService.CreateKey"),
            "eks": lambda p: p.request("GET", "/clusters/demo", signed("eks")),
        }
        for service, call in calls.items():
            got, headers, body = self.fault("refuse", service, call)
            self.assertEqual(got, 400, service)
            self.assertNotIn(got, SDK_TRANSIENT_STATUS)
            text = body.decode()
            code = headers.get("x-amzn-errortype") or next(
                c for c in ("InvalidParameterValue", "ValidationException") if c in text)
            self.assertNotIn(code, SDK_THROTTLING_ERRORS, service)

    def test_lost_forwards_but_never_answers(self):
        proxy = self.start("--rate", "1", "--faults", "lost", "--max-consecutive", "1")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            query_call(proxy, "ec2", "CreateVpc")
        self.assertEqual(self.upstream.count(), 1)
        self.assertEqual(self.upstream.requests[0][3], b"Action=CreateVpc&Version=2016-11-15")
        # The SDK's retry of the same operation gets through (max-consecutive 1).
        status, _, _ = query_call(proxy, "ec2", "CreateVpc")
        self.assertEqual((status, self.upstream.count()), (200, 2))
        self.assertEqual(proxy.log_lines(), ["ec2 CreateVpc lost", "ec2 CreateVpc forwarded"])

    def test_reset_closes_before_forwarding(self):
        proxy = self.start("--rate", "1", "--faults", "reset", "--max-consecutive", "1")
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as raw:
            body = b"Action=CreateVpc"
            raw.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                        + signed_header_lines("ec2") + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            try:
                received = raw.recv(1024)
            except ConnectionResetError:
                received = b""
            self.assertEqual(received, b"")
        self.assertEqual(self.upstream.count(), 0)
        self.assertEqual(proxy.log_lines(), ["ec2 CreateVpc reset"])

    # --- CLI ------------------------------------------------------------------------------------

    def test_non_loopback_upstream_is_refused(self):
        for url in ("http://10.0.0.1:5000", "http://example.com", "https://127.0.0.1:5000", "http://128.0.0.1"):
            with tempfile.TemporaryDirectory() as work:
                result = subprocess.run([sys.executable, str(SCRIPT), url, f"{work}/log"],
                                        capture_output=True, text=True, timeout=10)
            self.assertEqual(result.returncode, 2, url)
            self.assertEqual(result.stdout, "", url)
            self.assertRegex(result.stderr, "upstream", url)
        port = self.upstream.url.rsplit(":", 1)[1]
        Proxy(f"http://localhost:{port}", "--rate", "0").stop()  # localhost is fine

    def test_bad_options_are_refused(self):
        for options in (["--rate", "1.5"], ["--faults", "throttle,explode"], ["--max-consecutive", "-1"]):
            result = subprocess.run([sys.executable, str(SCRIPT), *options, self.upstream.url, os.devnull],
                                    capture_output=True, text=True, timeout=10)
            self.assertEqual(result.returncode, 2, options)

    def test_summary_on_request_and_at_exit(self):
        proxy = self.start("--seed", "9", "--rate", "0.5")
        for _ in range(40):
            query_call(proxy, "ec2", "DescribeVpcs")
            json_call(proxy, "kms", "TrentService.ListKeys")
        live = proxy.summary()
        final = proxy.stop()
        self.assertEqual(live, final)
        self.assertEqual(final["requests"], 80)
        for service, action in (("ec2", "DescribeVpcs"), ("kms", "ListKeys")):
            counts = final["services"][service][action]
            outcomes = self.outcomes_from_counts(counts)
            self.assertEqual(counts["requests"], 40)
            self.assertEqual(counts["faults"], 40 - counts.get("forwarded", 0))
            self.assertEqual(sum(outcomes.values()), 40)
        self.assertEqual(final["faulted"], sum(c["faults"] for s in final["services"].values() for c in s.values()))

    @staticmethod
    def outcomes_from_counts(counts):
        return {k: v for k, v in counts.items() if k not in ("requests", "faults")}


def signed_header_lines(service):
    return "".join(f"{name}: {value}\r\n" for name, value in signed(service).items()).encode()


if __name__ == "__main__":
    unittest.main()
