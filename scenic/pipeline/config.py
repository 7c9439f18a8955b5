"""A pipeline recipe: one YAML whose sections are the stages' own configs, validated before any work starts.

The pipeline owns the folders between stages (OUT/data, OUT/model, ...), so the keys that name them (train.data,
train.out, compress.data, profile.artifacts, ...) are filled in here and are an error when a recipe sets them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from scenic.compress.config import CompressConfig
from scenic.config.base import ConfigError, StrictModel, apply_overrides, read_yaml, validate_config
from scenic.data.config import GenerateConfig, ImportConfig, data_config_from_dict
from scenic.evaluate.run import EvaluateConfig
from scenic.export.config import ExportConfig
from scenic.profile.api import ProfileConfig
from scenic.train.config import TrainConfig

STAGES = ("data", "train", "compress", "export", "evaluate", "profile")
STAGE_DIRS = {"data": "data", "train": "model", "compress": "compressed", "export": "export", "evaluate": "eval",
              "profile": "profile"}
# What `compare` may name: the two checkpoints, or a variant of the export (its folder OUT/export/VARIANT).
CHECKPOINTS = ("model", "compressed")
VARIANTS = ("fp32", "fp16", "int8-dynamic", "int8-qdq")
Artifact = Literal["model", "compressed", "fp32", "fp16", "int8-dynamic", "int8-qdq"]

# Keys the pipeline fills in (section -> key -> why), so a recipe cannot point a stage elsewhere by mistake.
_OWNED = {"train": {"data": "OUT/data", "out": "OUT/model"}, "profile": {"artifacts": "the compare list",
                                                                         "names": "the compare list"}}


class RecipeDoc(StrictModel):
    """The top level of a pipeline recipe; each section is validated by its stage's config class afterwards."""

    name: str | None = None  # default: the recipe file's stem
    description: str | None = None
    out: Path | None = None  # default: exports/<name>
    compare: list[Artifact] | None = Field(None, min_length=1)  # what evaluate and profile measure; first = baseline
    threads: int | None = Field(None, ge=1)  # CPU threads for every stage (default: the cores available)
    data: dict[str, Any] | None = None
    train: dict[str, Any] | None = None
    compress: dict[str, Any] | None = None  # absent: no compression stage (export takes OUT/model)
    export: dict[str, Any] | None = None
    evaluate: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None


class PipelineConfig(StrictModel):
    """A validated recipe with every stage's effective config (paths between stages filled in)."""

    name: str
    out: Path
    compare: list[Artifact]
    threads: int | None = None  # an execution setting: not part of any stage's key, so changing it reruns nothing
    data: GenerateConfig | ImportConfig
    train: TrainConfig
    compress: CompressConfig | None
    export: ExportConfig
    evaluate: EvaluateConfig
    profile: ProfileConfig

    def folder(self, stage: str) -> Path:
        return self.out / STAGE_DIRS[stage]

    def stages(self) -> list[str]:
        return [s for s in STAGES if s != "compress" or self.compress is not None]

    def artifact_path(self, artifact: str) -> Path:
        if artifact == "model":
            return self.folder("train")
        if artifact == "compressed":
            return self.folder("compress")
        return self.folder("export") / artifact

    def checkpoint_for_export(self) -> Path:
        return self.folder("compress") if self.compress is not None else self.folder("train")


def _section(doc: RecipeDoc, key: str, source: str) -> dict[str, Any]:
    section = getattr(doc, key) or {}
    for owned, where in _OWNED.get(key, {}).items():
        if owned in section:
            raise ConfigError(f"{source} [{key}]: '{owned}' is set by the pipeline ({where}); remove it")
    return dict(section)


def _default_compare(export: ExportConfig) -> list[str]:
    deployed = "int8-dynamic" if export.int8 else ("fp16" if export.fp16 else "fp32")
    return ["model", deployed]


def _check_compare(compare: list[str], cfg_compress: CompressConfig | None, export: ExportConfig, source: str) -> None:
    if len(set(compare)) != len(compare):
        raise ConfigError(f"{source}: 'compare' names an artifact twice")
    for a in compare:
        if a == "compressed" and cfg_compress is None:
            raise ConfigError(f"{source}: 'compare' names 'compressed' but the recipe has no compress section")
        if a.startswith("int8") and not export.int8:
            raise ConfigError(f"{source}: 'compare' names '{a}' but export.int8 is false")
        if a == "fp16" and not export.fp16:
            raise ConfigError(f"{source}: 'compare' names 'fp16' but export.fp16 is false")


def pipeline_config(raw: dict[str, Any], source: str = "recipe", name: str = "pipeline",
                    out: Path | None = None) -> PipelineConfig:
    """Validate a recipe mapping (after overrides): unknown keys anywhere are errors naming the key."""
    doc = validate_config(RecipeDoc, raw, source=source)
    name = doc.name or name
    root = Path(out or doc.out or Path("exports") / name)
    folders = {s: root / d for s, d in STAGE_DIRS.items()}

    data_sec = _section(doc, "data", source)
    data = data_config_from_dict(data_sec, source=f"{source} [data]")
    if isinstance(data, ImportConfig) and not data.file:
        raise ConfigError(f"{source}: this recipe imports its data; give the file with --data-path FILE "
                          "(or --set data.file=FILE)")

    train = validate_config(TrainConfig, {**_section(doc, "train", source), "data": folders["data"],
                                          "out": folders["train"]}, source=f"{source} [train]")
    compress = None
    if doc.compress is not None:
        sec = _section(doc, "compress", source)
        sec.setdefault("data", str(folders["data"]))  # recovery and calibration use the pipeline's dataset
        compress = validate_config(CompressConfig, sec, source=f"{source} [compress]")
    export = validate_config(ExportConfig, _section(doc, "export", source), source=f"{source} [export]")
    evaluate = validate_config(EvaluateConfig, _section(doc, "evaluate", source), source=f"{source} [evaluate]")

    compare = list(doc.compare or _default_compare(export))
    _check_compare(compare, compress, export, source)
    cfg = PipelineConfig.model_construct(name=name, out=root, compare=compare)  # for artifact_path() only
    prof = _section(doc, "profile", source)
    prof.setdefault("data", str(folders["data"]))  # prompts from the pipeline's test split
    prof.update(artifacts=[str(cfg.artifact_path(a)) for a in compare], names=compare)
    profile = validate_config(ProfileConfig, prof, source=f"{source} [profile]")
    return PipelineConfig(name=name, out=root, compare=compare, threads=doc.threads, data=data, train=train,
                          compress=compress, export=export, evaluate=evaluate, profile=profile)


def load_recipe(path: str | Path, overrides: list[str] | None = None, data_path: str | Path | None = None,
                out: str | Path | None = None) -> PipelineConfig:
    """Read a recipe file, apply `section.key=value` overrides (and --data-path as data.file), validate it."""
    path = Path(path)
    raw = read_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a recipe must be a mapping of stage sections")
    raw = apply_overrides(raw, overrides)
    if data_path is not None:  # set directly, not as an override: a path is not parsed as YAML
        raw["data"] = {**(raw.get("data") or {}), "file": str(data_path)}
    return pipeline_config(raw, source=str(path), name=path.stem, out=Path(out) if out else None)
