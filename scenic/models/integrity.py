"""A checkpoint is checked against its manifest before anything is built from it.

Flipped bytes in model.safetensors load without complaint and give a model that scores 0%; compress and export would
then write new artifacts from the corrupt weights. So every file the loader reads must be listed in manifest.json
with the size and sha256 it had when SCENIC wrote it (the same check the runtime makes on an export).
"""

from __future__ import annotations

from pathlib import Path

from scenic import ScenicError
from scenic.artifacts import MANIFEST, read_manifest, verify_files

# What CommandModel.load (and compress / export beside it) reads besides any *.safetensors.
LOADED_FILES = ("config.json", "generation_config.json", "scenic_model.json", "tokenizer.json", "home.yaml",
                "quantization.json", "compression.json", "prompt_tokenizer.json", "model.safetensors.index.json")
REMEDY = "copy the checkpoint again or remake it"


class CheckpointIntegrityError(ScenicError):
    """A checkpoint file is missing, truncated, modified or unlisted: loading it could give a different model."""


def _loaded(name: str) -> bool:
    return "/" not in name and (name in LOADED_FILES or name.endswith(".safetensors"))


def verify_checkpoint(folder: str | Path) -> None:
    """Raise CheckpointIntegrityError unless every file the loader reads matches manifest.json."""
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise CheckpointIntegrityError(
            f"{folder}: no {MANIFEST}, so its weights cannot be checked (an interrupted save, or copied without it); "
            f"{REMEDY}, or load it unchecked with `scenic --no-verify`")
    manifest = read_manifest(folder)
    listed = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    names = sorted({n for n in listed if _loaded(n)} | {p.name for p in folder.iterdir() if p.is_file() and _loaded(p.name)})
    verify_files(folder, manifest, names, CheckpointIntegrityError, REMEDY)
