"""The lean runtime: loads an export folder with onnxruntime, tokenizers and numpy (never torch).

`load(folder)` checks every file against the manifest's sha256 first, then returns a Predictor with
`generate(prompts, num_beams, num_return, batch_size, constrained)`, `predict(...)`, `home()` and `kind`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from scenic.runtime.errors import ExportFormatError, ExportIntegrityError
from scenic.runtime.layout import EXPORT_FILE, FORMAT, FORMAT_VERSION, VARIANT_FORMAT, shared_files
from scenic.runtime.predictor import Prediction, Predictor

__all__ = ["load", "read_export_info", "find_latest_export", "Predictor", "Prediction", "ExportFormatError",
           "ExportIntegrityError"]


# what load() and the predictor read from export.json
REQUIRED_KEYS = ("kind", "variants", "default_variant", "special_ids", "tokenizer", "max_prompt_tokens",
                 "max_command_tokens")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ExportFormatError(f"{path}: unreadable ({err})") from None
    if not isinstance(data, dict):
        raise ExportFormatError(f"{path}: not an export description")
    return data


def read_export_info(path: str | Path) -> tuple[Path, dict, str | None]:
    """(export root, its export.json, the variant a variant folder points at or None)."""
    path = Path(path)
    if not (path / EXPORT_FILE).is_file():
        raise ExportFormatError(f"{path}: no {EXPORT_FILE} (not a SCENIC export folder; make one with `scenic export`)")
    info = _read_json(path / EXPORT_FILE)
    pointed = None
    if info.get("format") == VARIANT_FORMAT:
        pointed, path = info.get("variant"), path.parent
        info = _read_json(path / EXPORT_FILE) if (path / EXPORT_FILE).is_file() else {}
    if info.get("format") != FORMAT:
        raise ExportFormatError(f"{path}: {EXPORT_FILE} is not a SCENIC export description")
    if info.get("format_version") != FORMAT_VERSION:
        raise ExportFormatError(f"{path}: export format {info.get('format_version')} (this runtime reads "
                                f"{FORMAT_VERSION}); re-export")
    missing = [k for k in REQUIRED_KEYS if k not in info]
    if missing:
        raise ExportFormatError(f"{path / EXPORT_FILE}: missing {', '.join(missing)}; re-export or re-download")
    return path, info, pointed


def load(path: str | Path, variant: str | None = None, providers: Sequence[str] | None = None,
         threads: int | None = None, home=None, verify: bool | None = None) -> Predictor:
    """Load an export folder (or one of its variant folders, e.g. `exports/x/int8-dynamic`).

    `variant` picks fp32 / fp16 / int8-dynamic / int8-qdq (default: the folder's, else the export's default);
    `providers` are onnxruntime execution providers (default CPU); `home` overrides the export's home; `verify`
    checks every file against manifest.json first (default on, unless `scenic --no-verify`).
    """
    from scenic.runtime.session import make_runner
    from scenic.runtime.tokens import PromptCodec, SpecialIds
    from scenic.runtime.verify import inside, read_manifest, verify_files

    root, info, pointed = read_export_info(path)
    if variant is not None and pointed is not None and variant != pointed:
        raise ExportFormatError(f"{path}: is the '{pointed}' variant folder, but variant '{variant}' was asked for")
    variant = variant or pointed or info["default_variant"]
    variants = info.get("variants", {})
    if variant not in variants:
        raise ExportFormatError(f"{root}: no variant '{variant}' (this export has: {', '.join(variants) or 'none'})")
    graphs = variants[variant]["files"]
    manifest = read_manifest(root)
    names = [EXPORT_FILE, *shared_files(info), *graphs.values(), *variants[variant].get("external_data", [])]
    for name in names:  # every file the export names stays inside it, checked before anything is read
        inside(root, name)
    from scenic.artifacts import verifying

    if verifying() if verify is None else verify:
        verify_files(root, manifest, names)
    home_obj = home
    if home_obj is None and info.get("home"):
        from scenic.homes import load_home

        home_obj = load_home(inside(root, info["home"]))
    sp = info["special_ids"]
    codec = PromptCodec(inside(root, info["tokenizer"]), info["kind"], SpecialIds(**sp),
                        int(info["max_prompt_tokens"]), info.get("prompt_tokenizer"), root)
    try:
        runner = make_runner(info["kind"], {g: inside(root, f) for g, f in graphs.items()}, info, providers, threads)
    except Exception as err:
        if not type(err).__module__.startswith("onnxruntime"):
            raise
        raise ExportFormatError(f"{root}: onnxruntime cannot load the {variant} graphs "
                                f"({' '.join(str(err).split())[:200]}); re-export or copy the export again") from None
    return Predictor(root, variant, info, manifest, runner, codec, home_obj, root / info["tokenizer"])


def find_latest_export(base: str | Path = "exports") -> Path | None:
    """The most recently written export folder under `base` (what `scenic run` uses without --model)."""
    base = Path(base)
    if not base.is_dir():
        return None
    found = [p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / EXPORT_FILE).is_file()]
    return max(found, key=lambda p: (p / EXPORT_FILE).stat().st_mtime, default=None)
