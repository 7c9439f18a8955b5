"""Writing an evaluation report: the JSON (for machines and the results tables) and a markdown twin beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenic.artifacts import write_json_atomic, write_text_atomic


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def to_markdown(report: dict[str, Any]) -> str:
    s = report.get("settings", {})
    lines = ["# Evaluation report", ""]
    if s:
        lines += [f"- model: `{s.get('model')}`", f"- data: `{s.get('source')}`",
                  f"- decoding: beam search, {s.get('beams')} beams, {s.get('num_return')} returned",
                  f"- examples: {report['n']}; time {s.get('seconds', 0):.1f} s", ""]
    home_note = "parses and passes validation against the home" if report.get("validity_against_home") \
        else "parses (no home to validate against)"
    lines += ["| metric | value |", "|---|---|",
              f"| EM@1 | {_pct(report['em1'])} |", f"| EM@5 | {_pct(report['em5'])} |",
              f"| validity ({home_note}) | {_pct(report['validity'])} |",
              f"| semantic match | {_pct(report['semantic'])} |",
              f"| opaque (unparseable) golds | {report.get('opaque', 0)} |", "",
              "## Per category", "", "| category | n | EM@1 | EM@5 | validity | semantic |", "|---|---|---|---|---|---|"]
    for cat, m in report["per_category"].items():
        lines.append(f"| {cat} | {m['n']} | {_pct(m['em1'])} | {_pct(m['em5'])} | {_pct(m['validity'])} "
                     f"| {_pct(m['semantic'])} |")
    conf = report["confusion"]
    lines += ["", f"## What goes wrong ({conf['wrong']} wrong top-1)", ""]
    if conf["kinds"]:
        lines += ["| kind | count |", "|---|---|"] + [f"| {k} | {v} |" for k, v in conf["kinds"].items()]
        for kind, exs in conf["examples"].items():
            lines += ["", f"### {kind}", ""]
            for e in exs:
                lines.append(f"- `{e['prompt']}`  \n  gold `{e['gold']}`  \n  got  `{e['predicted']}`")
    else:
        lines.append("Nothing: every top-1 is an exact match.")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out_json: str | Path) -> Path:
    """Write `out_json` and the markdown beside it (same name, .md); both atomically. Returns the JSON path."""
    out_json = Path(out_json)
    write_json_atomic(out_json, report)
    write_text_atomic(out_json.with_suffix(".md"), to_markdown(report))
    return out_json


def write_predictions(report_rows: list[dict[str, Any]], predictions: list[list[str]], out_jsonl: str | Path,
                      wrong_only: bool = False) -> Path:
    """One JSON line per example (prompt, gold, category, all returned beams, em1/em5, error kind), atomically.

    The report keeps only a few wrong examples per kind; error analysis (which phrasings fail, how often) needs all.
    `wrong_only` keeps the examples whose top-1 is not an exact match (what a benchmark stores beside its report).
    """
    import json

    lines = [json.dumps({**{k: row[k] for k in ("prompt", "gold", "category", "em1", "em5", "error")},
                         "predictions": list(preds)}, ensure_ascii=False)
             for row, preds in zip(report_rows, predictions) if not (wrong_only and row["em1"])]
    return write_text_atomic(out_jsonl, "\n".join(lines) + ("\n" if lines else ""))
