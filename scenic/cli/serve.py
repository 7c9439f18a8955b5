"""`scenic serve --wyoming tcp://0.0.0.0:10300`: the model as a Wyoming intent service (and/or HTTP JSON)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import typer

from scenic import ScenicError

LOG_LEVELS = ("debug", "info", "warning", "error")


def _satellites(path: Optional[Path]) -> dict[str, str]:
    if path is None:
        return {}
    from scenic.config.base import read_yaml

    data = read_yaml(path) or {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ScenicError(f"{path}: a satellites file maps device ids to area names (write one with "
                          "`scenic home import --satellites PATH`)")
    return data


def register(app: typer.Typer) -> None:
    from scenic.cli.run import PROVIDERS

    @app.command("serve")
    def serve(
        wyoming: Optional[str] = typer.Option(None, "--wyoming", help="Wyoming intent service address, e.g. "
                                                                      "tcp://0.0.0.0:10300 (what Home Assistant's "
                                                                      "Wyoming integration connects to)."),
        http: Optional[str] = typer.Option(None, "--http", help="Also (or only) serve POST /v1/command on HOST:PORT."),
        model: Optional[Path] = typer.Option(None, "--model", "-m", help="Export folder, variant folder or bundle "
                                                                         "(default: as `scenic run`)."),
        home: Optional[Path] = typer.Option(None, "--home", help="Home YAML (default: the export's); e.g. from "
                                                                 "`scenic home import`."),
        satellites: Optional[Path] = typer.Option(None, "--satellites", help="Device -> area file from `scenic home "
                                                                             "import --satellites`."),
        variant: Optional[str] = typer.Option(None, "--variant", help="fp32, fp16, int8-dynamic or int8-qdq."),
        provider: str = typer.Option("cpu", "--provider", help="onnxruntime provider: cpu, cuda or tensorrt."),
        threads: Optional[int] = typer.Option(None, "--threads", min=1, help="onnxruntime intra-op threads."),
        language: Optional[list[str]] = typer.Option(None, "--language", help="Language the model answers "
                                                                              "(repeatable; default en)."),
        log_level: str = typer.Option("info", "--log-level", help="debug (also logs request texts), info (one "
                                                                  "line a request), warning or error."),
    ) -> None:
        """Load the model once and answer requests until stopped (SIGTERM or Ctrl-C)."""
        from scenic.serve import check_wyoming_uri, loaded, parse_http_address, run_server

        if wyoming is None and http is None:
            raise ScenicError("nothing to serve: give --wyoming tcp://HOST:PORT and/or --http HOST:PORT")
        if provider not in PROVIDERS:
            raise ScenicError(f"unknown provider '{provider}' (known: {', '.join(PROVIDERS)})")
        if log_level not in LOG_LEVELS:
            raise ScenicError(f"unknown --log-level '{log_level}' (known: {', '.join(LOG_LEVELS)})")
        wyoming_uri = check_wyoming_uri(wyoming) if wyoming is not None else None
        http_address = parse_http_address(http) if http is not None else None
        sats = _satellites(satellites)
        logging.basicConfig(stream=sys.stderr, level=log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        with loaded(model, home, variant=variant, providers=PROVIDERS[provider], threads=threads,
                    languages=language) as engine:
            run_server(engine, wyoming=wyoming_uri, http=http_address, satellites=sats)
