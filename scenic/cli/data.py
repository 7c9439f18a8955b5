"""`scenic data generate | import | stats`: thin wrappers over scenic.data (heavy work happens in the library)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import typer

from scenic.cli.common import FORCE_HELP, RECIPE_HELP, SET_HELP, THREADS_HELP, build_config, echo_done

app = typer.Typer(no_args_is_help=True, help="Generate, import and inspect datasets.")

_CATEGORIES = ("direct", "indirect", "compound", "noisy", "invalid", "imported")


@contextmanager
def _progress(total: int, what: str) -> Iterator:
    """A rich progress bar on stderr, started on the first step (so early errors print cleanly); yields the
    `advance(n)` callback the library functions take."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    state: dict[str, Any] = {}

    def advance(n: int = 1) -> None:
        if "bar" not in state:
            state["bar"] = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                    TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            state["bar"].start()
            state["task"] = state["bar"].add_task(what, total=total)
        state["bar"].advance(state["task"], n)

    try:
        yield advance
    finally:
        if "bar" in state:
            state["bar"].stop()


def _print_summary(manifest: dict[str, Any], out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    counts = manifest["counts"]
    cats = [c for c in _CATEGORIES if any(c in counts[s] for s in counts)]
    stats = manifest["stats"]
    splits = list(counts)
    table = Table(title=f"dataset {out}")
    table.add_column("")
    for split in splits:
        table.add_column(split, justify="right")
    table.add_row("examples", *(str(manifest["num_examples"][s]) for s in splits))
    for c in cats:
        table.add_row(f"  {c}", *(str(counts[s].get(c, 0)) for s in splits))
    table.add_row("distinct commands", *(str(stats["splits"][s]["distinct_commands"]) for s in splits))
    if "templates" in manifest:
        table.add_row("templates used", *(str(manifest["templates"][s]) for s in splits))
    console.print(table)
    ov = manifest["overlap"]
    console.print("overlap (must be 0): exact prompts " + ", ".join(f"{k}={v}" for k, v in ov["exact_prompt"].items())
                  + ("; templates " + ", ".join(f"{k}={v}" for k, v in ov["template"].items()) if "template" in ov else "")
                  + (f"; held-out combos in train={ov['heldout_combos_in_train']}" if "heldout_combos_in_train" in ov else "")
                  + (f"; val/test responses missing from train={ov['val_test_commands_missing_from_train']}"
                     if "val_test_commands_missing_from_train" in ov else ""))
    ppc = stats["total"]["prompts_per_command"]
    console.print(f"distinct commands {stats['total']['distinct_commands']}, prompts per command "
                  f"min {ppc['min']} / median {ppc['median']:g} / max {ppc['max']}; triplets {manifest['triplets']}")
    for key in ("conflicts", "invalid_dropped", "conflicts_dropped", "repeats_dropped"):
        if manifest.get(key):
            console.print(f"[yellow]{key.replace('_', ' ')}: {manifest[key]}[/yellow]")
    if manifest.get("skipped_rows"):
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in manifest["skipped_rows"].items())
        first = manifest["skipped_examples"][0]
        console.print(f"[yellow]rows skipped (not imported): {counts}; first: {first[0]} ({first[2]})[/yellow]",
                      highlight=False, markup=True)
    if manifest.get("shortfall"):
        console.print(f"[yellow]could not produce enough distinct examples: {manifest['shortfall']}[/yellow]")


@app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", "-o", help="Dataset folder to write (an earlier dataset there is replaced "
                                                     "atomically)."),
    home: Optional[Path] = typer.Option(None, "--home", help="Home YAML (default: the embedded default home)."),
    num_examples: Optional[int] = typer.Option(None, "--num-examples", "-n", help="Examples over all splits."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (same seed, same files)."),
    lang: Optional[str] = typer.Option(None, "--lang", help="Language pack (en)."),
    recipe: Optional[Path] = typer.Option(None, "--recipe", help=RECIPE_HELP),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Generate train/val/test requests with canonical commands, triplets and a manifest."""
    from scenic.data.config import GenerateConfig
    from scenic.data.generate import generate_dataset

    cfg = build_config(GenerateConfig, "data", recipe, {
        "home": str(home) if home else None, "num_examples": num_examples, "seed": seed, "lang": lang,
    }, overrides)
    with _progress(cfg.num_examples, "generating") as advance:
        manifest = generate_dataset(cfg, out, progress=advance, force=force)
    _print_summary(manifest, out)
    echo_done("dataset", out)


@app.command("import")
def import_(
    file: Optional[Path] = typer.Argument(None, help="The file to import."),
    out: Path = typer.Option(..., "--out", "-o", help="Dataset folder to write (an earlier dataset there is replaced "
                                                     "atomically)."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="scenic (JSON list of {prompt, response}), jsonl or csv."),
    prompt_field: Optional[str] = typer.Option(None, "--prompt-field", help="Field/column of the prompt (default prompt)."),
    command_field: Optional[str] = typer.Option(
        None, "--command-field", help="Field/column of the command (default response for scenic, else command)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed of the split."),
    strict: bool = typer.Option(False, "--strict", help="Refuse the file if any row would be skipped (truncated or "
                                                        "malformed row, command that does not parse)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
    recipe: Optional[Path] = typer.Option(None, "--recipe", help=RECIPE_HELP),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Import prompts and commands (SCENIC command strings or opaque text); split so every val/test response is
    also in train; mine hard-negative triplets."""
    from scenic.data.config import ImportConfig
    from scenic.data.importer import import_dataset
    from scenic.progress import phase_progress
    from scenic.threads import apply_threads

    cfg = build_config(ImportConfig, "data", recipe, {
        "file": str(file) if file else None, "format": fmt, "prompt_field": prompt_field,
        "command_field": command_field, "seed": seed, "strict": strict or None,
    }, overrides)
    apply_threads(threads)
    with phase_progress() as report:
        manifest = import_dataset(cfg, out, progress=report, force=force)
    _print_summary(manifest, out)
    echo_done("dataset", out)


def _stats_config(recipe: Optional[Path], overrides: Optional[list[str]]):
    """The `stats` part of the data config (a recipe's `data` section, generate or import by its `source`)."""
    from scenic.config.base import read_yaml
    from scenic.data.config import GenerateConfig, ImportConfig

    model = GenerateConfig
    if recipe is not None:
        doc = read_yaml(recipe) or {}
        section = doc.get("data") if isinstance(doc, dict) else None
        if isinstance(section, dict) and section.get("source") == "import":
            model = ImportConfig
    return build_config(model, "data", recipe, {}, overrides).stats


def _print_stats(s: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    splits = s["splits"]
    cats = sorted({c for sp in splits.values() for c in sp["categories"]})
    table = Table(title=f"stats {s['path']}")
    for col in ("split", "examples", *cats, "commands"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for name, sp in [*splits.items(), ("total", s["total"])]:
        table.add_row(name, str(sp["examples"]), *(str(sp["categories"].get(c, 0)) for c in cats),
                      str(sp["distinct_commands"]))
    console.print(table)
    ppc = s["total"]["prompts_per_command"]
    console.print(f"prompts per command: min {ppc['min']}, median {ppc['median']:g}, mean {ppc['mean']:g}, "
                  f"max {ppc['max']}" + (f"; triplets {s['triplets']}" if "triplets" in s else ""))
    lengths = s["lengths"]
    lt = Table(title="length percentiles")
    keys = list(lengths["prompt"])
    lt.add_column("")
    for k in keys:
        lt.add_column(k, justify="right")
    for what, unit in (("prompt", lengths["unit"]), ("command", lengths["unit"]), ("prompt_chars", "chars"),
                       ("command_chars", "chars")):
        lt.add_row(f"{what.split('_')[0]} ({unit})", *(f"{lengths[what][k]:g}" for k in keys))
    console.print(lt)


@app.command("stats")
def stats(
    path: Path = typer.Argument(..., help="A dataset folder or one JSONL file."),
    tokenizer: Optional[Path] = typer.Option(None, "--tokenizer", help="A tokenizer.json (or its folder) to count tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON."),
    recipe: Optional[Path] = typer.Option(None, "--recipe", help=RECIPE_HELP + " (uses data.stats)"),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP + " (e.g. stats.percentiles=[50,95])"),
) -> None:
    """Counts per category and split, distinct commands, prompts per command, length percentiles."""
    from scenic.data.stats import dataset_stats

    cfg = _stats_config(recipe, overrides)
    result = dataset_stats(path, str(tokenizer) if tokenizer else cfg.tokenizer, cfg.percentiles)
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _print_stats(result)
