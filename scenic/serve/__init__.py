"""`scenic serve`: one loaded model behind a Wyoming intent service and/or a small HTTP JSON endpoint.

`run_server(engine, wyoming=URI, http=(host, port))` blocks until SIGTERM or Ctrl-C, then stops cleanly (exit 0: a
server stopped by its operator has not failed). Torch-free, like the runtime it wraps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from functools import partial
from typing import Callable
from urllib.parse import urlsplit

from scenic import ScenicError
from scenic.serve.engine import Answer, Engine, loaded

__all__ = ["Answer", "Engine", "loaded", "run_server", "parse_http_address", "check_wyoming_uri"]

log = logging.getLogger("scenic.serve")


def check_wyoming_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme == "tcp":
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise ScenicError(f"--wyoming {uri!r}: give a host and port, e.g. tcp://0.0.0.0:10300")
    elif parts.scheme != "unix" or not parts.path:
        raise ScenicError(f"--wyoming {uri!r}: use tcp://HOST:PORT (or unix:///path/to.sock)")
    return uri


def parse_http_address(address: str) -> tuple[str, int]:
    """`HOST:PORT` or `:PORT` (all interfaces) -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ScenicError(f"--http {address!r}: give HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]") or "0.0.0.0", int(port)


async def _serve(engine: Engine, wyoming: str | None, http: tuple[str, int] | None, satellites: dict[str, str],
                 ready: Callable[[], None] | None) -> None:
    from wyoming.server import AsyncServer

    from scenic.serve.http_api import start_http
    from scenic.serve.wyoming_service import IntentHandler

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
            loop.add_signal_handler(sig, stop.set)
    server = http_server = None
    try:
        if wyoming is not None:
            server = AsyncServer.from_uri(wyoming)
            await server.start(partial(IntentHandler, engine=engine, satellites=satellites))
            log.info("wyoming intent service on %s", wyoming)
        if http is not None:
            http_server = await loop.run_in_executor(None, start_http, engine, *http)
            log.info("http on http://%s:%d/v1/command", *http_server.server_address[:2])
        if ready is not None:
            ready()
        await stop.wait()
        log.info("stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        if server is not None:
            await server.stop()
        if http_server is not None:
            http_server.shutdown()
            http_server.server_close()


def run_server(engine: Engine, *, wyoming: str | None = None, http: tuple[str, int] | None = None,
               satellites: dict[str, str] | None = None, ready: Callable[[], None] | None = None) -> None:
    if wyoming is None and http is None:
        raise ScenicError("nothing to serve: give --wyoming tcp://HOST:PORT and/or --http HOST:PORT")
    try:
        asyncio.run(_serve(engine, wyoming, http, satellites or {}, ready))
    except OSError as err:  # e.g. the port is taken
        raise ScenicError(f"cannot listen ({err.strerror or err}); choose another port or stop what uses it") from None
