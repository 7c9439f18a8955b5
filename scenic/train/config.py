"""Typed training configs. `LoopConfig` is what `train_loop` needs (also for recovery fine-tuning after
compression); `TrainConfig` adds the data, the backbone and the output folder for a full `scenic train` run."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import Field, create_model, field_validator

from scenic.config.base import StrictModel
from scenic.models.presets import PRESETS, BackboneConfig

# Every BackboneConfig field, optional: `backbone: {dropout: 0.2}` in a recipe changes one field of the preset, and a
# misspelt key is reported as 'backbone.<key>'. The merged values are range-checked by BackboneConfig itself.
BackboneOverrides = create_model(
    "BackboneOverrides", __base__=StrictModel,
    **{name: (Optional[f.annotation], None) for name, f in BackboneConfig.model_fields.items()},
)


class LoopConfig(StrictModel):
    max_steps: int = Field(3000, ge=1, description="optimizer steps")
    lr: float = Field(1e-3, gt=0, description="peak AdamW learning rate")
    weight_decay: float = Field(0.01, ge=0)
    warmup_steps: int = Field(200, ge=0, description="linear warm-up from 0 to lr")
    lr_schedule: Literal["cosine", "linear", "constant"] = "cosine"
    grad_clip: float = Field(1.0, ge=0, description="max global grad norm (0 = no clipping)")
    triplet_lambda: float = Field(0.1, ge=0, description="weight of the triplet term (0 = plain SFT)")
    triplet_margin: float = Field(0.2, ge=0, le=2, description="cosine-distance margin")
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    precision: Literal["auto", "fp32", "bf16"] = Field("auto", description="auto: bf16 autocast on CUDA, fp32 on CPU")
    seed: int = 0
    eval_every: int = Field(500, ge=0, description="steps between validation EM checks (0 = only at the end)")
    checkpoint_every: int = Field(500, ge=0, description="steps between resumable state saves (0 = never)")
    log_every: int = Field(20, ge=1, description="steps between progress-bar updates")


class TrainConfig(LoopConfig):
    data: Path = Field(description="dataset folder (train/val/test.jsonl, triplets.jsonl, manifest.json)")
    out: Path = Field(description="output checkpoint folder")
    preset: str = "llama-tiny"  # generalised best to unseen phrasings in our first H100 runs (see docs/training.md)
    backbone: BackboneOverrides = Field(default_factory=BackboneOverrides,
                                        description="overrides of the preset's fields (d_model, dropout, ...)")
    init_from: Path | None = Field(None, description="start from this checkpoint (its tokenizer and weights)")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int = Field(256, ge=1, description="train examples per step (plus the positives of those that "
                                                  "have a triplet)")
    examples: Literal["auto", "triplets", "pairs"] = Field(
        "auto", description="auto: attach triplets.jsonl to their anchors when the data has it; triplets: require "
                            "it; pairs: ignore it (no positives, no triplet term)")
    max_prompt_tokens: int = Field(96, ge=8, le=1024)
    max_command_tokens: int = Field(128, ge=8, le=1024)
    eval_examples: int = Field(512, ge=0, description="validation examples for the periodic EM (0 = no validation)")
    eval_batch_size: int = Field(256, ge=1)
    keep_state: bool = Field(False, description="keep out/state (optimizer etc.) after a finished run")

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, v: str) -> str:
        if v not in PRESETS:
            raise ValueError(f"unknown preset '{v}' (known: {', '.join(PRESETS)})")
        return v

    def backbone_config(self) -> BackboneConfig:
        """The preset with the `backbone` overrides applied (validated; errors name `backbone`)."""
        from pydantic import ValidationError

        from scenic.config.base import ConfigError, format_validation_error

        try:
            return BackboneConfig(**{**PRESETS[self.preset], **self.backbone.model_dump(exclude_unset=True)})
        except ValidationError as err:
            first = err.errors()[0]
            if first["type"] == "value_error":  # our own checks: their message is the whole story
                raise ConfigError(f"backbone (preset {self.preset}): "
                                  f"{first['msg'].removeprefix('Value error, ')}") from None
            raise ConfigError(format_validation_error(err, f"backbone (preset {self.preset})")) from None
