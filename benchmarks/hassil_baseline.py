"""Home Assistant's own local matcher (hassil + home-assistant-intents) against our best export, on one test split.

    python benchmarks/hassil_baseline.py --data DATA_DIR --export EXPORT_DIR --out benchmarks/results/hassil

Both systems see the same sentences in one run, alternating sentence by sentence, and are scored the same way:
a prediction is right when it has the same calls in the same order, each with the same intent, the same set of
*resolved* target entities (so `name="Desk Lamp"` and `area="Study" name="Desk Lamp"` count as the same target) and
the same value slots. hassil's "no match" is counted as right only for requests that are not executable (category
invalid), since Home Assistant would then refuse them too. Needs `pip install -e .[baseline]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from scenic.artifacts import environment_info, write_json_atomic, write_text_atomic
from scenic.commands import UNSUPPORTED, Call, CommandParseError, parse, resolve_targets
from scenic.commands.language import INTENTS, NUMBER_SLOTS, TARGET_SLOTS
from scenic.data.io import load_split
from scenic.homes import Home, load_home

OUR_SLOTS = set(TARGET_SLOTS) | NUMBER_SLOTS | {"color"}


def hassil_matcher(home: Home):
    """A recognizer loaded with the home's entity names (with their domain as context), areas and floors."""
    from hassil import Intents, TextSlotList, recognize
    from home_assistant_intents import get_intents

    intents = Intents.from_dict(get_intents("en"))
    names = [(alias, e.name, {"domain": e.domain, **({"device_class": e.device_class} if e.device_class else {})})
             for e in home.entities for alias in [e.name, *e.aliases]]
    areas = [(alias, a.name) for a in home.areas for alias in [a.name, *a.aliases]]
    slot_lists = {"name": TextSlotList.from_tuples(names, allow_template=False),
                  "area": TextSlotList.from_tuples(areas, allow_template=False),
                  "floor": TextSlotList.from_tuples([(f.name, f.name) for f in home.floors], allow_template=False)}

    def match(text: str) -> list[Call] | None:
        r = recognize(text, intents, slot_lists=slot_lists)
        if r is None or r.intent.name not in INTENTS:
            return None
        slots = {}
        for k, v in r.entities.items():
            if k not in OUR_SLOTS:
                continue
            val = v.value
            if k in NUMBER_SLOTS and isinstance(val, (int, float)) and float(val).is_integer():
                val = int(val)
            slots[k] = val
        return [Call(r.intent.name, slots)]

    return match


def _key(call: Call, home: Home):
    if call.intent == UNSUPPORTED:
        return (call.intent,)
    spec = INTENTS.get(call.intent)
    if spec is None:
        return ("?", call.intent)
    try:
        targets = frozenset(e.id for e in resolve_targets(call, home))
    except Exception:  # a prediction naming an unknown area
        targets = frozenset()
    values = tuple(sorted((k, call.slots[k]) for k in spec.values if k in call.slots))
    return (call.intent, targets, values)


def equivalent(pred: list[Call] | None, gold: list[Call], home: Home) -> bool:
    """Same calls in order: same intent, same resolved targets, same values (Unsupported: any reason counts)."""
    if pred is None:
        return len(gold) == 1 and gold[0].intent == UNSUPPORTED
    return len(pred) == len(gold) and all(_key(p, home) == _key(g, home) for p, g in zip(pred, gold))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="dataset folder with test.jsonl and home.yaml")
    ap.add_argument("--export", required=True, help="our export folder (scenic.runtime.load)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=None, help="first N sentences only")
    ap.add_argument("--out", default="benchmarks/results/hassil")
    args = ap.parse_args(argv)

    from scenic.runtime import load

    data = Path(args.data)
    home = load_home(data / "home.yaml" if (data / "home.yaml").is_file() else None)
    rows = load_split(data, args.split)[: args.limit]
    ours = load(args.export)
    hassil = hassil_matcher(home)
    ours.generate([rows[0]["prompt"]])  # warm-up
    hassil(rows[0]["prompt"])

    per = {"hassil": {"right": 0, "unmatched": 0, "ms": []}, "scenic": {"right": 0, "unmatched": 0, "ms": []}}
    by_cat: dict[str, dict[str, list[int]]] = {}
    for r in rows:
        gold = parse(r["command"])
        t0 = time.perf_counter()
        h = hassil(r["prompt"])
        t1 = time.perf_counter()
        out = ours.generate([r["prompt"]])[0][0]
        t2 = time.perf_counter()
        try:
            o = parse(out)
        except CommandParseError:
            o = []
        for name, pred, ms in (("hassil", h, t1 - t0), ("scenic", o, t2 - t1)):
            ok = equivalent(pred, gold, home)
            per[name]["right"] += ok
            per[name]["unmatched"] += pred is None
            per[name]["ms"].append(ms * 1000)
            by_cat.setdefault(r.get("category", "?"), {}).setdefault(name, []).append(int(ok))

    n = len(rows)
    summary = {name: {"accuracy": v["right"] / n, "unmatched_share": v["unmatched"] / n,
                      "p50_ms": statistics.median(v["ms"]), "mean_ms": statistics.fmean(v["ms"])}
               for name, v in per.items()}
    summary["accuracy_gap_points"] = 100 * (summary["scenic"]["accuracy"] - summary["hassil"]["accuracy"])
    cats = {c: {k: sum(v) / len(v) for k, v in d.items()} | {"n": len(next(iter(d.values())))} for c, d in by_cat.items()}
    import hassil as _h  # noqa: F401  (version recorded below)
    from importlib.metadata import version

    result = {"summary": summary, "per_category": cats, "n": n, "split": args.split, "data": str(data),
              "export": args.export, "command": " ".join(["python", *sys.argv]),
              "versions": {"hassil": version("hassil"), "home-assistant-intents": version("home-assistant-intents")},
              "environment": environment_info()}
    out = Path(args.out)
    write_json_atomic(out / "hassil_baseline.json", result)
    md = ["| system | accuracy | unmatched | p50 ms/sentence |", "|---|---|---|---|"]
    for name in ("scenic", "hassil"):
        s = summary[name]
        md.append(f"| {name} | {100 * s['accuracy']:.1f}% | {100 * s['unmatched_share']:.1f}% | {s['p50_ms']:.2f} |")
    md += ["", "| category | n | scenic | hassil |", "|---|---|---|---|"]
    for c, d in sorted(cats.items()):
        md.append(f"| {c} | {d['n']} | {100 * d['scenic']:.1f}% | {100 * d['hassil']:.1f}% |")
    text = "\n".join(md) + "\n"
    write_text_atomic(out / "hassil_baseline.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
