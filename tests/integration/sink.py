"""A local HTTP target for forward consumers: records every request, answers as each test plans."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tests.helpers import TargetServer


@dataclass(frozen=True)
class Received:
    at: float
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class Sink:
    """``plan(path, 500, 500, 200)`` answers the next requests to ``path`` in that order, then 200;
    ``"hold"`` keeps a request open until ``release()``; ``(503, {"Retry-After": "2"})`` adds headers."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._plans: dict[str, list[int | str | tuple[int, dict[str, str]]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._released = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with sink._lock:
                    sink.received.append(Received(time.time(), self.path, list(self.headers.items()), body))
                    plan = sink._plans[self.path]
                    answer = plan.pop(0) if plan else 200
                if answer == "hold":
                    sink._released.wait(60)
                    answer = 200
                status, headers = answer if isinstance(answer, tuple) else (int(answer), {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = TargetServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def plan(self, path: str, *answers: int | str | tuple[int, dict[str, str]]) -> None:
        with self._lock:
            self._plans[path].extend(answers)

    def to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
