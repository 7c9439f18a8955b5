"""`scenic home import`: a home YAML from Home Assistant's registries (storage files or a running instance)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scenic import ScenicError

app = typer.Typer(no_args_is_help=True, help="Homes: import one from Home Assistant.")

SHOWN_PER_REASON = 8  # entity ids printed per skip reason (the count is always complete)


def _token(token: Optional[str], token_file: Optional[Path]) -> str:
    if token is not None and token_file is not None:
        raise ScenicError("give --token or --token-file, not both")
    if token_file is not None:
        if not token_file.is_file():
            raise ScenicError(f"{token_file}: no such file")
        return token_file.read_text(encoding="utf-8").strip()
    if token is None:
        raise ScenicError("--url needs --token TOKEN or --token-file PATH (a long-lived access token from your HA "
                          "user profile)")
    return token


def _report(result, out: Path) -> None:
    from rich.console import Console

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    home = result.home
    console.print(f"[green]home: {out}[/green] ({len(home.entities)} entities in {len(home.areas)} areas, "
                  f"{len(home.floors)} floors; {len(result.skipped)} skipped)")
    for reason, ids in sorted(result.skipped_by_reason().items(), key=lambda kv: (-len(kv[1]), kv[0])):
        more = f", ... (+{len(ids) - SHOWN_PER_REASON})" if len(ids) > SHOWN_PER_REASON else ""
        console.print(f"  skipped {len(ids)}: {reason}: {', '.join(ids[:SHOWN_PER_REASON])}{more}")


@app.command("import")
def import_home(
    out: Path = typer.Option(..., "--out", "-o", help="The home YAML to write."),
    from_storage: Optional[Path] = typer.Option(None, "--from-storage",
                                                help="Home Assistant's .storage folder (or a copy of it)."),
    url: Optional[str] = typer.Option(None, "--url", help="A running Home Assistant, e.g. http://homeassistant.local:8123"),
    token: Optional[str] = typer.Option(None, "--token", help="Long-lived access token (an admin's: exposure)."),
    token_file: Optional[Path] = typer.Option(None, "--token-file", help="Read the token from this file instead."),
    satellites: Optional[Path] = typer.Option(None, "--satellites",
                                              help="Also write device -> area for `scenic serve --satellites`."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
) -> None:
    """Write a SCENIC home from the entities exposed to Assist; print what was skipped and why."""
    import scenic.homeassistant as ha

    if (from_storage is None) == (url is None):
        raise ScenicError("give exactly one source: --from-storage DIR or --url URL --token TOKEN")
    if (token is not None or token_file is not None) and url is None:
        raise ScenicError("--token/--token-file go with --url")
    for path in (out, satellites):
        if path is not None and path.exists() and not force:
            raise ScenicError(f"{path}: exists; pass --force to replace it")
        if path is not None and path.is_dir():
            raise ScenicError(f"{path}: is a folder; give a file path")
    if from_storage is not None:
        result, source = ha.import_storage(from_storage), f"storage files in {from_storage}"
    else:
        result, version = ha.import_live(url, _token(token, token_file))
        source = f"{url}, Home Assistant {version}"
    if not result.home.entities:
        raise ScenicError(f"no entity could be imported from {source} ({len(result.skipped)} skipped: "
                          f"{'; '.join(sorted(result.skipped_by_reason()))}); nothing written")
    ha.write_home(result, out, source)
    if satellites is not None:
        ha.write_satellites(result, satellites)
    _report(result, out)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="home", help="Import a home from Home Assistant.")
