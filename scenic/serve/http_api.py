"""`POST /v1/command` for clients that do not speak Wyoming, and `GET /v1/health` for container health checks.

Request: `{"text": "turn off the kitchen lights", "area": "Kitchen"}` (`area`, the requesting device's area, is
optional). Response: `{"text", "command", "calls", "valid", "requester_area", "latency_ms": {"model", "total"}}`.
Errors are JSON too: `{"error": "..."}` with 400 (bad request), 404, 405, 413 or 500.

The standard library's threading HTTP server is enough here (one small JSON route, requests answered one at a time by
the engine anyway) and keeps the runtime install free of a web framework.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scenic import ScenicError, __version__
from scenic.serve.engine import Engine

log = logging.getLogger("scenic.serve")

MAX_BODY = 16 << 10  # bytes; a request is one sentence


def resolve_area(value: Any, engine: Engine) -> str | None:
    """The body's optional `area` as the home's area name; an area the home lacks is a bad request."""
    from scenic.serve.wyoming_service import requester_area

    if value is None:
        return None
    area = requester_area({"area": value}, engine, {})
    if area is None:
        raise ScenicError(f"unknown area {value!r} (the home has: {', '.join(a.name for a in engine.home.areas)})")
    return area


class _Handler(BaseHTTPRequestHandler):
    server_version = f"scenic/{__version__}"
    protocol_version = "HTTP/1.1"  # keep-alive: a client can send many requests on one connection

    @property
    def engine(self) -> Engine:
        return self.server.engine  # type: ignore[attr-defined]

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (the standard library's naming)
        if self.path == "/v1/health":
            home = self.engine.home
            self._send(200, {"status": "ok", "model": self.engine.model_name, "home": home.name,
                             "entities": len(home.entities), "version": __version__})
        elif self.path == "/v1/command":
            self._send(405, {"error": "use POST with a JSON body {\"text\": ...}"})
        else:
            self._send(404, {"error": f"no route {self.path} (POST /v1/command, GET /v1/health)"})

    def do_POST(self) -> None:  # noqa: N802
        start = time.perf_counter()
        if self.path != "/v1/command":
            self._send(404, {"error": f"no route {self.path} (POST /v1/command)"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(411, {"error": "a Content-Length header is needed"})
            return
        if length > MAX_BODY:
            self.close_connection = True
            self._send(413, {"error": f"body of {length} bytes (at most {MAX_BODY})"})
            return
        try:
            body = json.loads(self.rfile.read(length).decode("utf-8"))
            if not isinstance(body, dict) or not isinstance(body.get("text"), str):
                raise ScenicError('the body must be a JSON object with a string "text"')
            unknown = sorted(set(body) - {"text", "area"})
            if unknown:
                raise ScenicError(f"unknown key(s) {', '.join(unknown)} (known: text, area)")
            area = resolve_area(body.get("area"), self.engine)
            answer = self.engine.answer(body["text"], area)
        except (ScenicError, UnicodeDecodeError, json.JSONDecodeError) as err:
            self._send(400, {"error": str(err)})
            return
        except Exception as err:  # answered, logged, and the server keeps serving
            log.exception("http: internal error")
            self._send(500, {"error": f"{type(err).__name__}: {err}"})
            return
        total_ms = (time.perf_counter() - start) * 1e3
        self._send(200, {"text": answer.text, "command": answer.command, "calls": answer.calls, "valid": answer.valid,
                         "requester_area": area, "latency_ms": {"model": round(answer.model_ms, 3),
                                                                "total": round(total_ms, 3)}})
        log.info("http command=%r valid=%s requester_area=%s%s model_ms=%.1f total_ms=%.1f", answer.command,
                 answer.valid, area, "" if answer.area_used or area is None else " (not used by the runtime yet: "
                 "issue 14)", answer.model_ms, total_ms)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the standard library's signature)
        log.debug("http %s %s", self.address_string(), format % args)


def start_http(engine: Engine, host: str, port: int) -> ThreadingHTTPServer:
    """Serve in a daemon thread; the caller shuts it down with `.shutdown()`."""
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    server.engine = engine  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, name="scenic-http", daemon=True).start()
    return server
