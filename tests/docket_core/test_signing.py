"""Standard Webhooks signing, checked against the `standardwebhooks` library as the independent verifier."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from docket_core.signing import SignatureError, generate_secret, secret_key, sign_headers, verify

BODY = b'{"type":"docket-batch-job-notification-v1","job_id":"j1","delivery_attempt":1}'


class TestSigning:
    def test_headers_we_sign_verify_with_the_standardwebhooks_library(self) -> None:
        secret = generate_secret()
        headers = sign_headers(secret_key(secret), "evt-1", BODY)
        assert Webhook(secret).verify(BODY, headers)["job_id"] == "j1"

    def test_a_changed_body_fails_the_library_check(self) -> None:
        secret = generate_secret()
        headers = sign_headers(secret_key(secret), "evt-1", BODY)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(BODY.replace(b"j1", b"j2"), headers)

    def test_generated_secrets_are_whsec_and_differ(self) -> None:
        a, b = generate_secret(), generate_secret()
        assert a.startswith("whsec_") and a != b and len(secret_key(a)) == 32

    def test_a_secret_without_the_prefix_is_refused_without_quoting_it(self) -> None:
        with pytest.raises(ValueError, match="starting with whsec_") as info:
            secret_key("c2VjcmV0c2VjcmV0c2VjcmV0")
        assert "c2Vj" not in str(info.value)


class TestVerify:
    def test_what_the_library_signs_verifies_here_and_gives_the_id(self) -> None:
        secret = generate_secret()
        msg_id, now = "msg_2b", int(time.time())
        from datetime import datetime, timezone

        signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(now, tz=timezone.utc), BODY.decode())
        headers = {"webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": signature}
        assert verify(secret_key(secret), headers, BODY) == msg_id

    def test_one_good_signature_among_several_is_enough(self) -> None:
        key = secret_key(generate_secret())
        headers = sign_headers(key, "m", BODY)
        headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"]
        assert verify(key, headers, BODY) == "m"

    @pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
    def test_a_missing_header_is_named(self, missing: str) -> None:
        key = secret_key(generate_secret())
        headers = sign_headers(key, "m", BODY)
        del headers[missing]
        with pytest.raises(SignatureError, match=f"expected a {missing} header") as info:
            verify(key, headers, BODY)
        assert info.value.kind == "missing"

    def test_another_secret_is_refused(self) -> None:
        headers = sign_headers(secret_key(generate_secret()), "m", BODY)
        with pytest.raises(SignatureError, match="matching the body and the shared secret") as info:
            verify(secret_key(generate_secret()), headers, BODY)
        assert info.value.kind == "invalid"

    @pytest.mark.parametrize("offset", [-301, 301])
    def test_a_timestamp_more_than_five_minutes_off_is_stale(self, offset: int) -> None:
        key = secret_key(generate_secret())
        headers = sign_headers(key, "m", BODY, timestamp=int(time.time()) + offset)
        with pytest.raises(SignatureError, match="within 300 s of now") as info:
            verify(key, headers, BODY)
        assert info.value.kind == "stale"

    def test_a_timestamp_that_is_not_a_number_is_invalid(self) -> None:
        key = secret_key(generate_secret())
        headers = sign_headers(key, "m", BODY) | {"webhook-timestamp": "yesterday"}
        with pytest.raises(SignatureError, match="Unix seconds"):
            verify(key, headers, BODY)
