"""OUT/pipeline_state.json: for each stage, the key it last ran with and the identity of what it wrote.

A stage's key is the hash of its effective config plus the hashes of the folders it reads, so a changed config or a
changed upstream output changes the key, and the stage (and, through its new output, everything downstream) reruns.
A stage is complete only when its folder has a manifest, the state records it as done with the same key, and the
folder still has the identity recorded then (a folder replaced behind the pipeline's back is not trusted).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from scenic.artifacts import MANIFEST, folder_hash, sha256_json, write_json_atomic

STATE_FILE = "pipeline_state.json"
STATE_VERSION = 1


def stage_key(config: Any, inputs: dict[str, str]) -> str:
    return sha256_json({"config": config, "inputs": inputs})


class PipelineState:
    def __init__(self, root: Path):
        self.path = Path(root) / STATE_FILE
        self.stages: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            try:
                doc = json.loads(self.path.read_text(encoding="utf-8"))
                if doc.get("version") == STATE_VERSION:
                    self.stages = doc.get("stages", {})
            except json.JSONDecodeError:  # a damaged state file only costs reruns, never wrong skips
                self.stages = {}

    def _save(self) -> None:
        write_json_atomic(self.path, {"version": STATE_VERSION, "stages": self.stages})

    def is_complete(self, stage: str, folder: Path, key: str) -> bool:
        rec = self.stages.get(stage) or {}
        if rec.get("status") != "done" or rec.get("key") != key or not (folder / MANIFEST).is_file():
            return False
        try:
            return folder_hash(folder) == rec.get("output")
        except Exception:  # a corrupt manifest: rerun
            return False

    def interrupted_with(self, stage: str, key: str) -> bool:
        """True when the last attempt at `stage` started with this key and did not finish (so it may resume)."""
        rec = self.stages.get(stage) or {}
        return rec.get("status") == "running" and rec.get("key") == key

    def started(self, stage: str, key: str, config: Any, inputs: dict[str, str]) -> None:
        self.stages[stage] = {"status": "running", "key": key, "config": config, "inputs": inputs,
                              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self._save()

    def finished(self, stage: str, folder: Path, seconds: float) -> None:
        rec = self.stages[stage]
        rec.update(status="done", output=folder_hash(folder), seconds=round(seconds, 1),
                   finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self._save()
