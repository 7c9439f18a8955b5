"""Typed configs of the data stage (the recipe's `data` section). Unknown keys are errors that name the key."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from scenic.config.base import StrictModel, validate_config


class SplitFractions(StrictModel):
    """Shares of the examples per split; they must add up to 1."""

    train: float = Field(0.8, gt=0, lt=1)
    val: float = Field(0.1, ge=0, lt=1)
    test: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> "SplitFractions":
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must be 1 (got {total:g})")
        return self


class CategoryWeights(StrictModel):
    """Relative share of each category of generated requests (normalised; 0 switches a category off)."""

    direct: float = Field(0.35, ge=0)
    indirect: float = Field(0.15, ge=0)
    compound: float = Field(0.20, ge=0)
    noisy: float = Field(0.15, ge=0)
    invalid: float = Field(0.15, ge=0)

    @model_validator(mode="after")
    def _some(self) -> "CategoryWeights":
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("at least one category weight must be > 0")
        return self


class StatsConfig(StrictModel):
    """How `scenic data stats` measures lengths: a tokenizer.json (or whitespace words and characters)."""

    tokenizer: str | None = None
    percentiles: list[float] = Field(default_factory=lambda: [50, 90, 99])


class GenerateConfig(StrictModel):
    """`scenic data generate`: synthesise requests for a home in one language."""

    source: Literal["generate"] = "generate"
    home: str | None = None  # a home YAML; None = the embedded default home
    num_examples: int = Field(20000, ge=10, le=5_000_000)
    seed: int = 0
    lang: str = "en"
    splits: SplitFractions = Field(default_factory=SplitFractions)
    categories: CategoryWeights = Field(default_factory=CategoryWeights)
    template_val_fraction: float = Field(0.15, ge=0, lt=0.5)  # share of (core, frame) pairs only val uses
    template_test_fraction: float = Field(0.15, ge=0, lt=0.5)
    heldout_core_fraction: float = Field(0.1, ge=0, lt=0.5)  # whole wordings kept out of train
    heldout_combo_fraction: float = Field(0.05, ge=0, lt=0.5)  # (intent, target) pairs kept out of train
    heldout_boost: float = Field(0.25, ge=0, le=1)  # share of val/test single-action requests on held-out pairs
    max_compound_actions: int = Field(3, ge=2, le=3)
    triplets: bool = True
    stats: StatsConfig = Field(default_factory=StatsConfig)


class ImportConfig(StrictModel):
    """`scenic data import`: someone else's prompts and canonical strings, kept opaque."""

    source: Literal["import"] = "import"
    file: str | None = None
    format: Literal["scenic", "jsonl", "csv"] = "scenic"
    prompt_field: str | None = None  # default: prompt
    command_field: str | None = None  # default: response for scenic, command for jsonl/csv
    seed: int = 0
    val_fraction: float = Field(0.1, ge=0, lt=0.5)
    test_fraction: float = Field(0.1, ge=0, lt=0.5)
    min_prompts_for_heldout: int = Field(3, ge=2)  # responses with fewer prompts stay in train
    # scenic: commands are SCENIC command strings (rows whose command does not parse are skipped and counted);
    # opaque: any text (natural-language responses); auto: scenic when at least half of the distinct commands parse
    commands: Literal["auto", "scenic", "opaque"] = "auto"
    strict: bool = False  # refuse the file if any row is skipped (truncated, malformed, unparsable command)
    triplets: bool = True
    ngram_min: int = Field(2, ge=1, le=5)
    ngram_max: int = Field(3, ge=1, le=6)
    stats: StatsConfig = Field(default_factory=StatsConfig)

    @model_validator(mode="after")
    def _ngrams(self) -> "ImportConfig":
        if self.ngram_min > self.ngram_max:
            raise ValueError("ngram_min must be <= ngram_max")
        return self

    def fields(self) -> tuple[str, str]:
        prompt = self.prompt_field or "prompt"
        command = self.command_field or ("response" if self.format == "scenic" else "command")
        return prompt, command


DataConfig = GenerateConfig | ImportConfig


def data_config_from_dict(data: dict[str, Any], source: str = "data") -> DataConfig:
    """Validate a recipe's `data` section as a generate or an import config, chosen by its `source` key."""
    kind = (data or {}).get("source", "generate")
    model = ImportConfig if kind == "import" else GenerateConfig
    return validate_config(model, data or {}, source=source)
