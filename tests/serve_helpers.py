"""A real `scenic serve` process on 127.0.0.1 and a Wyoming client (the `wyoming` package's own) for the tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from wyoming.asr import Transcript
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.intent import IntentsStop

ANSWERS = ("intent", "not-recognized", "error", "info", "pong")  # events that end an answer (intents-start doesn't)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc: subprocess.Popen, ports: list[int], log, timeout: float = 120) -> None:
    """Until every port accepts a connection; `log()` gives the process's output for the failure message."""
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited {proc.returncode}: {log()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"nothing listens on {port}: {log()}") from None
                time.sleep(0.1)


class ServeProcess:
    """`python -m scenic serve ARGS` (or `python LAUNCHER serve ARGS`) with its log in a file; waits until the ports
    accept connections."""

    def __init__(self, args: list[str], log: Path, ports: list[int], cwd: Path | None = None,
                 launcher: list[str] | None = None):
        self.log = log
        self._log_file = open(log, "w", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, *(launcher or ["-m", "scenic"]), "serve", *args],
                                     stdout=self._log_file, stderr=subprocess.STDOUT, cwd=cwd,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        wait_listening(self.proc, ports, self.text)

    def text(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text(encoding="utf-8")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        self._log_file.close()
        return code


async def exchange(port: int, events: list[Event], client: AsyncTcpClient | None = None) -> list[list[Event]]:
    """Send each event and collect its answer (up to the event that ends it) on one connection."""
    answers = []
    own = client is None
    client = client or AsyncTcpClient("127.0.0.1", port, connect_timeout=10, read_timeout=60)
    if own:
        await client.connect()
    try:
        for event in events:
            await client.write_event(event)
            got = []
            while True:
                reply = await client.read_event()
                assert reply is not None, "the server closed the connection"
                got.append(reply)
                if reply.type in ANSWERS and not (reply.type == "intent" and got[0].type == "intents-start"):
                    break
                if IntentsStop.is_type(reply.type):
                    break
            answers.append(got)
    finally:
        if own:
            await client.disconnect()
    return answers


def ask(port: int, *texts: str, context: dict | None = None) -> list[list[Event]]:
    return asyncio.run(exchange(port, [Transcript(t, context=context, language="en").event() for t in texts]))
