"""Webhook calls against a real server on 127.0.0.1: signatures, bounded concurrency, retries, timeouts."""

from __future__ import annotations

from docket_core.extensions.webhook import WebhookCall, WebhookSender, sign, verify
from tests.docket_core.extensions.hook_server import hook_server


def call(url: str, body: bytes = b"{}", *, secret: str | None = "s", timeout: float = 5.0, retries: int = 0) -> WebhookCall:
    return WebhookCall(url, body, secret, timeout, retries, "ext")


class TestSignature:
    def test_the_signature_is_sha256_hmac_hex_of_the_body(self) -> None:
        # HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), a published test vector
        assert sign(b"The quick brown fox jumps over the lazy dog", "key") == (
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        )

    def test_verify_refuses_another_body_or_secret_or_no_header(self) -> None:
        header = sign(b"body", "secret")
        assert verify(b"body", "secret", header)
        assert not verify(b"other", "secret", header)
        assert not verify(b"body", "wrong", header)
        assert not verify(b"body", "secret", None)

    def test_a_call_never_shows_its_secret(self) -> None:
        assert "hunter2" not in repr(call("http://x", secret="hunter2"))


class TestSender:
    def test_the_server_verifies_each_request_and_answers_in_order(self) -> None:
        sender = WebhookSender()
        with hook_server({"/hook": lambda p: (200, {"n": p["n"]})}, secrets={"/hook": "s"}) as server:
            answers = sender.send_many([call(server.url + "/hook", b'{"n": %d}' % i) for i in range(20)], concurrency=5)
        sender.close()
        assert [a.status_code for a in answers] == [200] * 20
        assert [a.body for a in answers] == [b'{"n": %d}' % i for i in range(20)]
        assert all(r.signed_ok for r in server.received)

    def test_at_most_the_bound_is_in_flight_and_the_calls_overlap(self) -> None:
        sender = WebhookSender()
        with hook_server({"/slow": lambda p: (200, {})}, delay_s=0.1) as server:
            answers = sender.send_many([call(server.url + "/slow", secret=None) for _ in range(12)], concurrency=4)
        sender.close()
        # Four requests were at the server at once (they overlap), never more (the bound); counted by
        # the server, not by the clock, which a loaded machine stretches.
        assert server.max_in_flight == 4 and [a.status_code for a in answers] == [200] * 12

    def test_a_5xx_is_retried_and_the_last_answer_counts(self) -> None:
        answers = iter([(503, {}), (503, {}), (200, {"messages": []})])
        sender = WebhookSender()
        with hook_server({"/flaky": lambda p: next(answers)}) as server:
            (answer,) = sender.send_many([call(server.url + "/flaky", secret=None, retries=2)], concurrency=1)
        sender.close()
        assert (answer.status_code, answer.attempts) == (200, 3)

    def test_a_4xx_is_not_retried(self) -> None:
        sender = WebhookSender()
        with hook_server({"/bad": lambda p: (400, {})}) as server:
            (answer,) = sender.send_many([call(server.url + "/bad", secret=None, retries=3)], concurrency=1)
        sender.close()
        assert (answer.status_code, answer.attempts, len(server.received)) == (400, 1, 1)

    def test_a_call_over_its_deadline_times_out(self) -> None:
        sender = WebhookSender()
        with hook_server({"/late": lambda p: (200, {})}, delay_s=1.0) as server:
            (answer,) = sender.send_many([call(server.url + "/late", secret=None, timeout=0.2)], concurrency=1)
        sender.close()
        assert answer.timed_out and answer.status_code is None and answer.error == "no answer within 0.2 s"

    def test_an_unreachable_endpoint_is_an_error_not_an_exception(self) -> None:
        sender = WebhookSender()
        (answer,) = sender.send_many([call("http://127.0.0.1:9/nothing", secret=None)], concurrency=1)
        sender.close()
        assert answer.status_code is None and "ConnectError" in (answer.error or "")
