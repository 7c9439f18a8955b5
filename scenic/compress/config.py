"""The compress stage's typed config: which pruning, which recovery, which quantization, and on which layers.

Flat keys so that `--set key=value` and a recipe's `compress:` section read the same way. Cross-field rules
(recovery needs data, 2:4 has no schedule, ...) raise a one-line ConfigError at validation, before any work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Union

from pydantic import Field, field_validator, model_validator

from scenic.config.base import ConfigError, StrictModel

SEMI_STRUCTURED = "2:4"
Sparsity = Union[float, Literal["2:4"]]
QuantMode = Literal["int8", "int8-static", "fp16"]
PruneMethod = Literal["magnitude", "modelopt-magnitude", "modelopt-sparsegpt"]


def parse_sparsity(value: object) -> Sparsity | None:
    """'0.5' / 0.5 -> 0.5, '2:4' -> '2:4'; anything else is a one-line error that says what is accepted."""
    if value is None:
        return None
    hint = "give a fraction in (0, 1) such as 0.5, or the pattern 2:4"
    if isinstance(value, bool):
        raise ConfigError(f"sparsity {value!r}: {hint}")
    if isinstance(value, str):
        text = value.strip()
        if ":" in text:
            if text.replace(" ", "") == SEMI_STRUCTURED:
                return SEMI_STRUCTURED
            raise ConfigError(f"sparsity '{value}': only the 2:4 pattern is supported ({hint})")
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"sparsity '{value}': {hint}") from None
    if isinstance(value, int) and value == 124:  # YAML 1.1 reads an unquoted 2:4 as the base-60 number 124
        raise ConfigError("sparsity 124: YAML read an unquoted 2:4 as a number; quote it: sparsity: \"2:4\"")
    if not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise ConfigError(f"sparsity '{value}': {hint}")
    return float(value)


class CompressConfig(StrictModel):
    # ---- pruning ------------------------------------------------------------------------------------------
    sparsity: Sparsity | None = None  # fraction of weights zeroed (unstructured) or "2:4"
    method: PruneMethod = "magnitude"  # modelopt-* only for 2:4, only where nvidia-modelopt imports
    granularity: Literal["layer", "global"] = "layer"  # unstructured: one threshold per layer or one for all
    stages: int = Field(1, ge=1, le=50)  # >1: progressive (cubic schedule), recovery steps split between stages
    structured: float | None = Field(None, gt=0.0, lt=1.0)  # fraction of FFN neurons and attention heads removed
    structured_parts: list[Literal["ffn", "heads"]] = Field(default_factory=lambda: ["ffn", "heads"], min_length=1)
    importance: Literal["l1", "l2"] = "l2"  # norm that ranks neurons and heads
    round_to: int = Field(8, ge=1, le=128)  # kept FFN width is a multiple of this (tensor-core and 2:4 friendly)
    # ---- which layers (fnmatch patterns over module names, modelopt-style) -----------------------------------
    include: list[str] = Field(default_factory=lambda: ["*"])
    exclude: list[str] = Field(default_factory=list)
    prune_embeddings: bool = False
    prune_lm_head: bool = False
    # ---- recovery fine-tune (masks held fixed) ------------------------------------------------------------
    data: Path | None = None  # dataset folder (train.jsonl, optional triplets.jsonl)
    recover_steps: int = Field(0, ge=0)
    recover_epochs: float | None = Field(None, gt=0.0)
    batch_size: int = Field(32, ge=1, le=4096)
    lr: float = Field(3e-4, gt=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    warmup_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    # Triplet term during recovery; None = the checkpoint's own training values (its manifest), since adding a term
    # the model was not trained with (0.1 on a lambda-0 model) cost 2-4 EM@1 points in benchmarks/results/compress.
    contrastive_weight: float | None = Field(None, ge=0.0)
    contrastive_margin: float | None = Field(None, ge=0.0, le=2.0)
    # ---- quantization -------------------------------------------------------------------------------------
    quant: QuantMode | None = None  # int8 = weights only (CPU runtimes); int8-static adds calibrated input ranges
    quant_method: Literal["plain", "modelopt"] = "plain"
    quant_include: list[str] = Field(default_factory=lambda: ["*"])
    quant_exclude: list[str] = Field(default_factory=list)
    quant_lm_head: bool = False
    calib_batches: int = Field(16, ge=1, le=10000)
    # ---- run ----------------------------------------------------------------------------------------------
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA when available

    @field_validator("sparsity", mode="before")
    @classmethod
    def _sparsity(cls, value: object) -> Sparsity | None:
        return parse_sparsity(value)

    @model_validator(mode="after")
    def _consistent(self) -> "CompressConfig":
        # ConfigError is not a ValueError, so pydantic lets it through unchanged: one line, naming the option.
        recovering = self.recover_steps > 0 or self.recover_epochs is not None
        if recovering and self.data is None:
            raise ConfigError("--recover-steps/--recover-epochs need --data (the training data folder)")
        if self.recover_steps > 0 and self.recover_epochs is not None:
            raise ConfigError("give --recover-steps or --recover-epochs, not both")
        if self.quant == "int8-static" and self.data is None:
            raise ConfigError("--quant int8-static needs --data (calibration batches come from train.jsonl)")
        if self.method != "magnitude" and self.sparsity != SEMI_STRUCTURED:
            raise ConfigError(f"method '{self.method}' prunes to the 2:4 pattern only: add --sparsity 2:4")
        if self.method == "modelopt-sparsegpt" and self.data is None:
            raise ConfigError("method 'modelopt-sparsegpt' needs --data (calibration batches for its Hessians)")
        if self.stages > 1:
            if not isinstance(self.sparsity, float):
                raise ConfigError("stages > 1 (progressive pruning) needs a fractional --sparsity such as 0.7")
            if not recovering:
                raise ConfigError("stages > 1 (progressive pruning) needs recovery steps between stages: add --recover-steps")
        if self.quant == "fp16" and self.quant_method != "plain":
            raise ConfigError("quant_method 'modelopt' applies to int8 modes only")
        if self.sparsity is None and self.structured is None and self.quant is None:
            raise ConfigError("nothing to do: give --sparsity, --structured or --quant")
        return self

    @property
    def recovering(self) -> bool:
        return self.recover_steps > 0 or self.recover_epochs is not None
