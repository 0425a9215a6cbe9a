"""Request heads are bounded in size, header count and time on a real gateway (uvicorn + httptools)."""

from __future__ import annotations

import socket
import time

import httpx

from tests.helpers import github_headers

LIMITS = {
    "HOOKGATE_GATEWAY__MAX_HEAD_BYTES": "8192",
    "HOOKGATE_GATEWAY__MAX_HEADERS": "20",
    "HOOKGATE_GATEWAY__HEAD_TIMEOUT_SECONDS": "1.5",
}


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _answer(sock: socket.socket, timeout: float = 5) -> bytes:
    sock.settimeout(timeout)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (TimeoutError, ConnectionResetError):
        pass
    return b"".join(chunks)


def test_a_huge_header_is_refused_before_it_is_read(tmp_path, redis_url, start_gateway):
    gateway = start_gateway(redis_url, env=LIMITS)
    with socket.create_connection(("127.0.0.1", _port(gateway.url))) as sock:
        sock.sendall(b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        try:
            for _ in range(2000):  # up to 32 MB, a chunk at a time
                sock.sendall(b"a" * 16384)
                sent += 16384
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"application/problem+json" in answer
    # What was "sent" includes what the kernel's loopback buffers took (they grow to a few MB under
    # load): the cut shows as far less than the 32 MB offered, not as a fixed figure.
    assert sent < 8_000_000, "the connection was cut long before 32 MB"
    assert httpx.get(f"{gateway.url}/healthz").status_code == 200


def test_too_many_headers_are_refused(tmp_path, redis_url, start_gateway):
    gateway = start_gateway(redis_url, env=LIMITS)
    body = b"{}"
    headers = {**github_headers(body), **{f"X-Extra-{n}": "1" for n in range(30)}}
    answer = httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=headers)
    assert answer.status_code == 431
    assert (
        httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body)).status_code
        == 202
    )


def test_a_head_sent_a_byte_at_a_time_is_dropped_and_silence_too(tmp_path, redis_url, start_gateway):
    gateway = start_gateway(redis_url, env=LIMITS)
    port = _port(gateway.url)
    slow = socket.create_connection(("127.0.0.1", port))
    silent = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    head = b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    try:
        for byte in head:
            slow.sendall(bytes([byte]))
            time.sleep(0.05)
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = _answer(slow)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < 5
    assert _answer(silent) == b"", "closed without an answer"
    slow.close()
    silent.close()
    # Keep-alive connections that send whole requests are untouched.
    with httpx.Client() as client:
        for _ in range(3):
            body = b"{}"
            assert (
                client.post(
                    f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body)
                ).status_code
                == 202
            )
            time.sleep(0.8)
