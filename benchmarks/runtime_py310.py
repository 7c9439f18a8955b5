"""The runtime install on Python 3.10 (JetPack 6's Python): `pip install scenic` into a fresh venv per onnxruntime
version, no torch, then the same constrained commands as this environment's runtime from the same exports.

    python benchmarks/runtime_py310.py --python /root/.pyenv/versions/3.10.13/bin/python3.10 \
        --export exports/tiny-t5-micro --export exports/tiny-llama-micro --ort 1.20.1 --ort 1.23.2

Writes benchmarks/results/runtime-py310/results.json and results.md: per onnxruntime version, what pip installed
(torch must be absent), whether every command equals the reference, and the install time. x86_64 here; the aarch64
wheels of the same versions were checked to exist with `pip download --platform manylinux_2_28_aarch64`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPTS = ["turn on the kitchen ceiling light", "switch on the coffee maker", "set the bedside lamp to 40 percent",
           "make the garden lights blue", "set the study heater to 21 degrees", "pause the tv",
           "what is the meaning of life", "lock the front door and turn off the hallway light"]
RUN = ("import json, sys, scenic.runtime as rt\n"
       "assert 'torch' not in sys.modules\n"
       "out = {}\n"
       "for path in sys.argv[2:]:\n"
       "    p = rt.load(path, variant='int8-dynamic')\n"
       "    out[path] = [r[0] for r in p.generate(json.loads(sys.argv[1]), constrained=True)]\n"
       "import onnxruntime, numpy, tokenizers\n"
       "print(json.dumps({'commands': out, 'python': sys.version.split()[0], 'onnxruntime': onnxruntime.__version__,"
       " 'numpy': numpy.__version__, 'tokenizers': tokenizers.__version__}))\n")


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ...: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", required=True, help="a Python 3.10 interpreter")
    ap.add_argument("--export", action="append", required=True, type=Path)
    ap.add_argument("--ort", action="append", required=True, help="onnxruntime version (repeatable)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "runtime-py310")
    args = ap.parse_args()

    from scenic.artifacts import environment_info, write_json_atomic, write_text_atomic

    exports = [str(p.resolve()) for p in args.export]
    ref = json.loads(_run([sys.executable, "-c", RUN, json.dumps(PROMPTS), *exports]).stdout)
    reference = ref["commands"]
    rows = []
    for version in args.ort:
        with tempfile.TemporaryDirectory() as tmp:
            venv = Path(tmp) / "venv"
            _run([args.python, "-m", "venv", str(venv)])
            py = str(venv / "bin" / "python")
            start = time.perf_counter()
            _run([py, "-m", "pip", "install", "-q", f"onnxruntime=={version}", str(ROOT)], cwd=tmp)
            install_s = time.perf_counter() - start
            freeze = _run([py, "-m", "pip", "freeze"]).stdout.split()
            got = json.loads(_run([py, "-c", RUN, json.dumps(PROMPTS), *exports], cwd=tmp).stdout)
            help_ok = _run([py, "-m", "scenic", "serve", "--help"], cwd=tmp).returncode == 0
        installed = sorted(line.split("==")[0].lower() for line in freeze if "==" in line)
        heavy = [p for p in ("torch", "transformers", "sentence-transformers", "onnx", "scikit-learn", "matplotlib")
                 if p in installed]
        rows.append({"onnxruntime_asked": version, **{k: v for k, v in got.items() if k != "commands"},
                     "install_s": round(install_s, 1), "packages": installed, "training_packages_installed": heavy,
                     "same_commands_as_reference": got["commands"] == reference, "serve_help_ok": help_ok,
                     "commands": got["commands"]})
        print(f"onnxruntime {version}: same={rows[-1]['same_commands_as_reference']} heavy={heavy} "
              f"install {install_s:.0f}s", flush=True)
    result = {"command": " ".join(["python", *sys.argv]), "environment": environment_info(),
              "reference_versions": {k: v for k, v in ref.items() if k != "commands"}, "prompts": PROMPTS,
              "exports": exports, "reference": reference, "runs": rows}
    write_json_atomic(args.out / "results.json", result)
    lines = ["# Runtime install on Python 3.10 (fresh venv, `pip install scenic`, no torch)", "",
             f"Command: `{result['command']}`", "", f"Reference: this environment (Python "
             f"{ref['python']}, onnxruntime {ref['onnxruntime']}, numpy {ref['numpy']}).", "",
             "| onnxruntime | Python | numpy | tokenizers | training packages installed | same commands | install s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['onnxruntime']} | {r['python']} | {r['numpy']} | {r['tokenizers']} | "
                     f"{', '.join(r['training_packages_installed']) or 'none'} | {r['same_commands_as_reference']} | "
                     f"{r['install_s']} |")
    write_text_atomic(args.out / "results.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
