"""AWS SNS: messages AWS signed (v1 and v2) with AWS's certificate, the documented string to sign per
Type through a local test CA, topic ARNs, the certificate URL rule (no request to a foreign host), the
cache, and the opt-in subscription confirmation."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import (
    CertificateRefused,
    Delivery,
    Handshake,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    SigningNotSupported,
    TimestampOutOfTolerance,
    VerificationError,
)
from signatures.providers.aws_sns import string_to_sign
from tests.signatures.assertions import assert_accepts
from tests.signatures.pki import HOSTILE_URL_TRICKS, NOW, Authority, FakeFetch, pem

# Real SNS messages and the certificate that signed them, from AWS's own validator's functional tests:
# https://github.com/aws/aws-php-sns-message-validator/blob/master/tests/FunctionalValidationsTest.php
# (SignatureVersion 1 and 2, with and without Subject). The certificate expired in August 2022, so the
# clock is set to the messages' day.
AWS_CERTIFICATE = (
    b"-----BEGIN CERTIFICATE-----\n"
    b"MIIF1zCCBL+gAwIBAgIQB9pYWG3Mi7xej22g9pobJTANBgkqhkiG9w0BAQsFADBG\n"
    b"MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRUwEwYDVQQLEwxTZXJ2ZXIg\n"
    b"Q0EgMUIxDzANBgNVBAMTBkFtYXpvbjAeFw0yMTA5MDcwMDAwMDBaFw0yMjA4MTcy\n"
    b"MzU5NTlaMBwxGjAYBgNVBAMTEXNucy5hbWF6b25hd3MuY29tMIIBIjANBgkqhkiG\n"
    b"9w0BAQEFAAOCAQ8AMIIBCgKCAQEAutFqueT3XgP13udzxE6UpbdjOtVO5DwoMpSM\n"
    b"iDNMnGzF1TYH5/R2LPUOBeTB0SkKnR4kpNcUZhicpGD4aKciz/GEZ6wu65xncfT9\n"
    b"H/KBOQwoXYTuClHwp6fYpGzcGFaFoEYMnijL/o4qmTSd+ukglQUgKpsDw4ofw6rU\n"
    b"m2CttJo+GQSNQ9NfGR1h/0J+zsApkeSYrXRx5wNlu87z8os1C/6PBrUHwt3xXeaf\n"
    b"Xzfwut8aRRYsS8BySOA9DAgLfNHlfdQCjKPXKrG/ussgReyWD6n/HH+j7Uha3xos\n"
    b"TzQqJifcxlTq6MxWdPR6fDaJNvqw6DOE7UjUNxHguXHlVfxhlQIDAQABo4IC6TCC\n"
    b"AuUwHwYDVR0jBBgwFoAUWaRmBlKge5WSPKOUByeWdFv5PdAwHQYDVR0OBBYEFAqz\n"
    b"C+vyouneE7mWWLbi9i0UsWUbMBwGA1UdEQQVMBOCEXNucy5hbWF6b25hd3MuY29t\n"
    b"MA4GA1UdDwEB/wQEAwIFoDAdBgNVHSUEFjAUBggrBgEFBQcDAQYIKwYBBQUHAwIw\n"
    b"OwYDVR0fBDQwMjAwoC6gLIYqaHR0cDovL2NybC5zY2ExYi5hbWF6b250cnVzdC5j\n"
    b"b20vc2NhMWIuY3JsMBMGA1UdIAQMMAowCAYGZ4EMAQIBMHUGCCsGAQUFBwEBBGkw\n"
    b"ZzAtBggrBgEFBQcwAYYhaHR0cDovL29jc3Auc2NhMWIuYW1hem9udHJ1c3QuY29t\n"
    b"MDYGCCsGAQUFBzAChipodHRwOi8vY3J0LnNjYTFiLmFtYXpvbnRydXN0LmNvbS9z\n"
    b"Y2ExYi5jcnQwDAYDVR0TAQH/BAIwADCCAX0GCisGAQQB1nkCBAIEggFtBIIBaQFn\n"
    b"AHYAKXm+8J45OSHwVnOfY6V35b5XfZxgCvj5TV0mXCVdx4QAAAF7vfDVkQAABAMA\n"
    b"RzBFAiEA2XfHuy36aqRFiaL8c3md2mH451go8707+fRE0pEdSRACIE/g5FXTUXUZ\n"
    b"PFcmOhm9TZ+uMY1i4CIQ/CKVWln6C3t+AHYAUaOw9f0BeZxWbbg3eI8MpHrMGyfL\n"
    b"956IQpoN/tSLBeUAAAF7vfDVjAAABAMARzBFAiBF1MhhFP0+FQt3daDFfMYoWwnr\n"
    b"muTInrjNpwfzlvQBugIhAPYadFzr+LaxSJoiZEbEHBvTts7bT0M3eCQONA2O7w6n\n"
    b"AHUAQcjKsd8iRkoQxqE6CUKHXk4xixsD6+tLx2jwkGKWBvYAAAF7vfDVdAAABAMA\n"
    b"RjBEAiAtPapmFAuA71ih4NoSd5hJelzAltNQpxDMcDfDyHyU8gIgWxmaa6+2KbBu\n"
    b"9xdv379zvnJACFR7jc+4asl08Dn4aagwDQYJKoZIhvcNAQELBQADggEBAA54QX0u\n"
    b"oFWXfMmv02CGZv4NWo5TapyeeixQ2kKpZHRdVZjxZrw+hoF6HD7P3kGjH8ztyJll\n"
    b"tDxB0qgMltbPhQdScwhA6iTgoaBYqEUC/VHKd4PmmPT6yIsM36NBZVmkGlzl5uNo\n"
    b"/dBgBaG0SsVJnhr5zro3c2quC7n6fVGEZhf/UgQwRnnvThnvbNKguglDMq4uEqv8\n"
    b"njKyleht+glkcmXO0m9qLKt6BOS0amy6U2GlAwRn0Wx02ndJtnRCSC6kPuRWK/SQ\n"
    b"FEjB7gCK4hdKaAOuWdZpI55vF6ifOeM8toC3g7ofO8qLTnJupAG+ZitY5J3cvHWr\n"
    b"HqOUdKigPDHYLRo=\n"
    b"-----END CERTIFICATE-----\n"
)

AWS_MESSAGES = [
    {
        "Type": "Notification",
        "MessageId": "792cda85-518f-5dd3-9163-81d851212f3a",
        "TopicArn": (
            "arn:aws:sns:us-east-2:295079676684:publish-and-verify-892f85fe-4836-424d-8188-ab85bef0f362"
        ),
        "Message": "Hello world",
        "Timestamp": "2022-07-28T21:23:58.317Z",
        "SignatureVersion": "1",
        "Signature": (
            "ghtf+deOBAzHJJZ6s6CdRLfTQAlcGzq9naoFM1wi0CJiq//uVRuZnamrkWNF0fhouMFvuLVRwcz8PZLUMSfn"
            "md5VpdTKpTyiKmy1qJAZXma0w+yi7G+I33hD1Jyk1Nbym2n0kqp3fVu2aoooiN2ZeLAT2bH0/BtjLSfN1yAO"
            "KNoprco4qV9gGUZinXJdj9a1YdNhDR2jKi33ldlsVtEXAtiaDklGEk7DgRKX38GerBPiLg3FdtgY6KC7cdeG"
            "pU/dGK+4hjc83Ive1HoFkAwqhpgInM2sMytBosoiXfCmOKmU4xeGD0gHDNZTlJUJQDlzw8Eag0H9f/5zXF9d"
            "3uy0YQ=="
        ),
        "SigningCertURL": (
            "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa"
            "2a969abfda.pem"
        ),
        "UnsubscribeURL": (
            "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:"
            "us-east-2:295079676684:publish-and-verify-892f85fe-4836-424d-8188-ab85bef0f362:2296b"
            "c94-7992-4be1-b15f-b97229b5c1d8"
        ),
    },
    {
        "Type": "Notification",
        "MessageId": "17dea24b-55c2-540b-8362-f916557af765",
        "TopicArn": (
            "arn:aws:sns:us-east-2:295079676684:publish-and-verify-62674b1d-4295-426b-88e7-5fb75652a04e"
        ),
        "Message": "Hello world",
        "Timestamp": "2022-07-28T21:24:08.324Z",
        "SignatureVersion": "2",
        "Signature": (
            "CXVqp9PfZAL+4JHS3Zxo1PFbQsvnOjvmYhtIf17TWpwc+iIVas8kZ8GopuzVzVMdatE7rCl/O4P91Zp05Dwz"
            "8lk8dLhfp8gSu3Njlzxlyrmzo9x3va3Jb7zFnedgS2GKnZWHGBdwTXho+TosNUE+3e10OMSlwN5XGDwX7+R3"
            "WL+rn+AXmFAqp3alg27sYa55h1dLE9cGszGPjScPdtF3BmZsUDMx9wSdNKsCk+vSvE8yBjnCmUl7laSFj3Lz"
            "PVrlSwgNYCF3kYnNAkah7NplK4SFhJYLwS0HCVCQJKa8rVbQLf9cBTu60U402mrgy0bN8xWoyimzbYbrOMJj"
            "alqkUg=="
        ),
        "SigningCertURL": (
            "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa"
            "2a969abfda.pem"
        ),
        "UnsubscribeURL": (
            "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:"
            "us-east-2:295079676684:publish-and-verify-62674b1d-4295-426b-88e7-5fb75652a04e:ad7d1"
            "6e3-0a7c-46aa-b23e-ffaf02250cbe"
        ),
    },
    {
        "Type": "Notification",
        "MessageId": "11405cc3-9ac7-56d5-b45d-079e8f7a8edf",
        "TopicArn": (
            "arn:aws:sns:us-east-2:295079676684:publish-and-verify-6e11fed2-fcdf-4c52-9dc4-36ef43f37f84"
        ),
        "Subject": "Hello world",
        "Message": "Hello world",
        "Timestamp": "2022-07-28T22:53:49.654Z",
        "SignatureVersion": "1",
        "Signature": (
            "AItkS26d8yvnIKJevdirIPW7eM/yKbZy3/CF2EreCHmXWB3etWaV5Fb7SYpGABMpugpDZzNyGY1wCVWaopDo"
            "Q+7Q/kI2TpDu8bw1eExbi8U3kduvc/2m2fIrI4gDEY8/v3nzoLcr8pPodqMzrX6SzQou4klfaqbNK+rFmH0L"
            "Vf2Q1VyOROODoSXmo4jg2Yu12jfxccBl96Drr/ihq4MJ4OcrWh6UzXXlVYjJHx2Ui4anNwNEb+Z4C2CAF1Dj"
            "QUbhDtaoajDBPY+4d9C1OwbqwQpXsd6tyVcI9nFyEsVK8lfnAV+/3GZQcdXHbIUYBRGcBa4X5TlWJku5nDH2"
            "ERtHHw=="
        ),
        "SigningCertURL": (
            "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa"
            "2a969abfda.pem"
        ),
        "UnsubscribeURL": (
            "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:"
            "us-east-2:295079676684:publish-and-verify-6e11fed2-fcdf-4c52-9dc4-36ef43f37f84:adb31"
            "8c3-2234-4c56-905d-c324cf0df874"
        ),
    },
    {
        "Type": "Notification",
        "MessageId": "4504e649-d933-5aa9-8199-bd14ccf05f0b",
        "TopicArn": (
            "arn:aws:sns:us-east-2:295079676684:publish-and-verify-530b26da-0687-4fe4-9f71-780bad3181e2"
        ),
        "Subject": "Hello world",
        "Message": "Hello world",
        "Timestamp": "2022-07-28T22:53:55.086Z",
        "SignatureVersion": "2",
        "Signature": (
            "cETcSvmmkt+My05qCLKexyl0+RyG83mSryKPqTfS+tYcxDJWVcjPJAr+qdpElzVaBl1aTGYVWMY64i9JqZ/J"
            "ES8pylNj8LGvdhuNQKO59/WCoIimZAsNhn0xEgOeeDU+W/0BU4sdpCGMNjo0S/FuIiWaRe4E0YWRVrxeQeva"
            "Q70euDdfWgd5v1eCKQz8b367b9XBmMztL/CWUFI6YaKK/MV21eyvJe3Y7CtVYiOKEYiAZnAEkynK7gUGO5Ts"
            "gDjGNYhj6U3xYsWgI03bmioSl7kdFSUj+AZ7ugas5fghqxgoDsdfqsjMYKRm5KKHQWsgzI619yIzpNKUiSMH"
            "xdZXpQ=="
        ),
        "SigningCertURL": (
            "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa"
            "2a969abfda.pem"
        ),
        "UnsubscribeURL": (
            "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:"
            "us-east-2:295079676684:publish-and-verify-530b26da-0687-4fe4-9f71-780bad3181e2:db0ad"
            "2ad-03d1-48ca-a5da-51f317800a57"
        ),
    },
]
AWS_DAY = datetime(2022, 7, 29, tzinfo=UTC).timestamp()
AWS_CERT_URL = (
    "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"
)

TOPIC = "arn:aws:sns:us-west-2:123456789012:MyTopic"
CERT_URL = (
    "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
)
SUBSCRIBE_URL = (
    "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
    + TOPIC
    + "&Token=2336412f37fb687f5d51e6e2425c464de12884"
)
CA = Authority.root()
LEAF = CA.leaf("sns.amazonaws.com")
OTHER_LEAF = CA.leaf("sns.amazonaws.com")


def message(
    kind: str = "Notification", leaf: Any = LEAF, version: str = "1", **fields: str
) -> dict[str, str]:
    """A message shaped as in https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html,
    signed over the documented string to sign."""
    document = {
        "Type": kind,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": "Hello world!"
        if kind == "Notification"
        else f"You have chosen to subscribe to the topic {TOPIC}.",
        "Timestamp": "2026-01-15T11:59:58.655Z",
        "SignatureVersion": version,
        "SigningCertURL": CERT_URL,
    }
    if kind == "Notification":
        document |= {
            "Subject": "My First Message",
            "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe",
        }
    else:
        document |= {"Token": "2336412f37fb687f5d51e6e2425c464de12884", "SubscribeURL": SUBSCRIBE_URL}
    document |= fields
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    document["Signature"] = leaf.sign(string_to_sign(document), algorithm)
    return document


def body(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def fetcher(document: bytes = pem(LEAF.certificate), url: str = CERT_URL) -> FakeFetch:
    return FakeFetch({url: document, SUBSCRIBE_URL: b"<ConfirmSubscriptionResponse/>"})


def verifier(
    fetch: FakeFetch | None = None, topics: list[str] | None = None, **config: Any
) -> signatures.Verifier:
    config.setdefault("clock", lambda: NOW.timestamp())
    return signatures.build(
        "aws-sns", topics or [TOPIC], fetch=fetch if fetch is not None else fetcher(), **config
    )


def aws_verifier(fetch: FakeFetch, **config: Any) -> signatures.Verifier:
    topics = sorted({m["TopicArn"] for m in AWS_MESSAGES})
    return verifier(fetch, topics, clock=lambda: AWS_DAY, **config)


def test_messages_signed_by_aws() -> None:
    fetch = FakeFetch({AWS_CERT_URL: AWS_CERTIFICATE})
    sns = aws_verifier(fetch)
    for document in AWS_MESSAGES:
        assert_accepts(sns, Delivery(body(document), {"x-amz-sns-message-type": "Notification"}))
    assert fetch.calls == [AWS_CERT_URL]  # one download, then cache hits


@pytest.mark.parametrize("field", ["Message", "MessageId", "Timestamp", "Type", "Subject"])
def test_tampered_aws_message(field: str) -> None:
    document = dict(AWS_MESSAGES[3])
    document[field] = {"Type": "SubscriptionConfirmation"}.get(field, document[field] + "!")
    with pytest.raises(VerificationError):
        aws_verifier(FakeFetch({AWS_CERT_URL: AWS_CERTIFICATE})).verify(Delivery(body(document), {}))


def test_aws_certificate_once_expired() -> None:
    fetch = FakeFetch({AWS_CERT_URL: AWS_CERTIFICATE})
    sns = verifier(
        fetch, [AWS_MESSAGES[0]["TopicArn"]], clock=lambda: datetime(2022, 9, 1, tzinfo=UTC).timestamp()
    )
    with pytest.raises(CertificateRefused, match="expired"):
        sns.verify(Delivery(body(AWS_MESSAGES[0]), {}))


@pytest.mark.parametrize("kind", ["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"])
@pytest.mark.parametrize("version", ["1", "2"])
def test_every_type_and_version(kind: str, version: str) -> None:
    assert_accepts(verifier(), Delivery(body(message(kind, version=version)), {}))


def test_string_to_sign_follows_the_documented_order() -> None:
    document = message("SubscriptionConfirmation")
    expected = "".join(
        f"{name}\n{document[name]}\n"
        for name in ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    )
    assert string_to_sign(document) == expected.encode()
    notification = message()
    del notification["Subject"]
    assert b"Subject" not in string_to_sign(notification)


def test_a_notification_without_subject() -> None:
    document = message()
    del document["Subject"]
    document["Signature"] = LEAF.sign(string_to_sign(document), hashes.SHA1())
    assert_accepts(verifier(), Delivery(body(document), {}))


def test_tampered_message() -> None:
    document = message()
    document["Message"] = "Hello world?"
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(body(document), {}))


def test_signature_by_another_certificate() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(body(message(leaf=OTHER_LEAF)), {}))


def test_version_mismatch_is_a_refusal() -> None:
    document = message(version="2")
    document["SignatureVersion"] = "1"
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(body(document), {}))


def test_a_topic_not_configured_is_refused_without_a_download() -> None:
    fetch = fetcher()
    with pytest.raises(SignatureMismatch, match="TopicArn"):
        verifier(fetch, ["arn:aws:sns:us-west-2:123456789012:OtherTopic"]).verify(
            Delivery(body(message()), {})
        )
    assert fetch.calls == []


def test_several_topics_any_may_match() -> None:
    assert_accepts(
        verifier(topics=["arn:aws:sns:eu-west-1:123456789012:Old", TOPIC]), Delivery(body(message()), {})
    )


@pytest.mark.parametrize(
    "missing", ["Message", "MessageId", "Timestamp", "TopicArn", "Type", "Signature", "SignatureVersion"]
)
def test_missing_field(missing: str) -> None:
    fetch = fetcher()
    document = message()
    del document[missing]
    with pytest.raises((MissingHeader, MalformedHeader)):
        verifier(fetch).verify(Delivery(body(document), {}))
    assert fetch.calls == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("SignatureVersion", "3"),
        ("Type", "Ping"),
        ("Signature", "not base64!"),
        ("Timestamp", "yesterday"),
        ("Token", None),
        ("Message", 5),
    ],
)
def test_malformed_field(field: str, value: object) -> None:
    document: dict[str, Any] = message("SubscriptionConfirmation")
    document[field] = value
    with pytest.raises(MalformedHeader):
        verifier().verify(Delivery(body(document), {}))


@pytest.mark.parametrize("raw", [b"", b"Type=Notification", b"[1, 2]", b'"x"', b"\xff"])
def test_a_body_that_is_not_a_message(raw: bytes) -> None:
    with pytest.raises(MissingHeader):
        verifier().verify(Delivery(raw, {}))


def test_stale_messages_refused_only_with_a_tolerance() -> None:
    old = message(Timestamp=(NOW - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    assert_accepts(verifier(), Delivery(body(old), {}))
    fetch = fetcher()
    with pytest.raises(TimestampOutOfTolerance):
        verifier(fetch, tolerance=3600).verify(Delivery(body(old), {}))
    assert fetch.calls == []


@pytest.mark.parametrize("trick", HOSTILE_URL_TRICKS)
def test_certificate_url_on_a_foreign_host_is_refused_without_a_request(trick: str) -> None:
    url = trick.format(host="sns.us-west-2.amazonaws.com", path="/SimpleNotificationService-f3ecfb72.pem")
    fetch = FakeFetch({url: pem(LEAF.certificate)})
    with pytest.raises(CertificateRefused):
        verifier(fetch).verify(Delivery(body(message(SigningCertURL=url)), {}))
    assert fetch.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb72.crt",
        "https://sns.us-west-2.amazonaws.com/",
        "https://s3.amazonaws.com/my-bucket/SimpleNotificationService.pem",
        "https://my-bucket.s3.us-west-2.amazonaws.com/SimpleNotificationService.pem",
        "https://sns.us-west-2.amazonaws.com.evil.example/x.pem",
        "https://sns.evil.example/x.pem",
        "https://sns.x.amazonaws.com/x.pem",
    ],
)
def test_other_aws_looking_urls_are_refused_without_a_request(url: str) -> None:
    fetch = FakeFetch({url: pem(LEAF.certificate)})
    with pytest.raises(CertificateRefused):
        verifier(fetch).verify(Delivery(body(message(SigningCertURL=url)), {}))
    assert fetch.calls == []


def test_china_regions_are_sns_hosts() -> None:
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-3242f6a5.pem"
    leaf = CA.leaf("sns-cn-north-1.amazonaws.com.cn")
    assert_accepts(
        verifier(fetcher(pem(leaf.certificate), url)),
        Delivery(body(message(leaf=leaf, SigningCertURL=url)), {}),
    )


def test_a_cache_hit_does_not_fetch_again() -> None:
    fetch = fetcher()
    sns = verifier(fetch)
    for kind in ("Notification", "SubscriptionConfirmation", "Notification"):
        assert_accepts(sns, Delivery(body(message(kind)), {}))
    assert fetch.calls == [CERT_URL]


@pytest.mark.parametrize("name", ["sns.amazonaws.com.evil.example", "example.com", "s3.amazonaws.com"])
def test_a_certificate_not_issued_to_sns_is_refused(name: str) -> None:
    leaf = CA.leaf(name)
    with pytest.raises(CertificateRefused, match="name"):
        verifier(fetcher(pem(leaf.certificate))).verify(Delivery(body(message(leaf=leaf)), {}))


def test_subscriptions_are_left_to_the_operator_by_default() -> None:
    fetch = fetcher()
    confirmation = Delivery(body(message("SubscriptionConfirmation")), {})
    sns = verifier(fetch)
    assert_accepts(sns, confirmation)
    assert sns.handshake(confirmation) is None
    assert SUBSCRIBE_URL not in fetch.calls


def test_confirm_subscriptions_gets_the_subscribe_url() -> None:
    fetch = fetcher()
    sns = verifier(fetch, confirm_subscriptions=True)
    confirmation = Delivery(body(message("SubscriptionConfirmation")), {})
    assert_accepts(sns, confirmation)
    assert sns.handshake(confirmation) == Handshake(200, b"", "text/plain", store=False)
    assert fetch.calls == [CERT_URL, SUBSCRIBE_URL]
    assert sns.handshake(Delivery(body(message()), {})) is None
    assert sns.handshake(Delivery(body(message("UnsubscribeConfirmation")), {})) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/?Action=ConfirmSubscription&Token=1",
        "http://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=1",
        "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&Token=1",
        "https://sns.us-west-2.amazonaws.com@evil.example/?Action=ConfirmSubscription",
    ],
)
def test_a_subscribe_url_off_sns_is_never_requested(url: str) -> None:
    fetch = fetcher()
    sns = verifier(fetch, confirm_subscriptions=True)
    confirmation = Delivery(body(message("SubscriptionConfirmation", SubscribeURL=url)), {})
    assert_accepts(sns, confirmation)
    assert sns.handshake(confirmation) is None
    assert fetch.calls == [CERT_URL]


def test_a_failed_confirmation_leaves_it_to_the_operator() -> None:
    fetch = FakeFetch({CERT_URL: pem(LEAF.certificate)})
    sns = verifier(fetch, confirm_subscriptions=True)
    assert sns.handshake(Delivery(body(message("SubscriptionConfirmation")), {})) is None


def test_confirm_subscriptions_must_be_a_boolean() -> None:
    with pytest.raises(signatures.ConfigurationError, match="confirm_subscriptions"):
        verifier(confirm_subscriptions="yes")


def test_sign_is_not_supported() -> None:
    with pytest.raises(SigningNotSupported):
        verifier().sign(b"{}")


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(body(message("SubscriptionConfirmation")), {})
    assert verifier().delivery_id(delivery) == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
    assert verifier().event_type(delivery) == "SubscriptionConfirmation"


field_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["Notification", "SubscriptionConfirmation", "1", "2", TOPIC, CERT_URL, "2026-01-15T11:59:58Z"]
    ),
    st.just(base64.b64encode(b"x" * 256).decode()),
    st.integers(),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(
    document=st.dictionaries(
        st.sampled_from(
            [
                "Type",
                "MessageId",
                "TopicArn",
                "Message",
                "Subject",
                "Timestamp",
                "SignatureVersion",
                "Signature",
                "SigningCertURL",
                "Token",
                "SubscribeURL",
            ]
        ),
        field_values,
    ),
    raw=st.binary(max_size=40),
)
def test_random_messages_are_refused_cleanly(document: dict[str, Any], raw: bytes) -> None:
    fetch = fetcher()
    sns = verifier(fetch, confirm_subscriptions=True)
    for delivery in (Delivery(body(document), {}), Delivery(raw, {})):
        with pytest.raises(VerificationError):
            sns.verify(delivery)
        sns.handshake(delivery)
    assert set(fetch.calls) <= {CERT_URL, SUBSCRIBE_URL}
