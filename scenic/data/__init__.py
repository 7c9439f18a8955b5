"""The data stage: generate requests for a home (`generate_dataset`), import other people's data
(`import_dataset`), and summarise a dataset folder (`dataset_stats`). Folder format: docs/CONTRACTS.md."""

from scenic.data.config import (
    CategoryWeights, DataConfig, GenerateConfig, ImportConfig, SplitFractions, StatsConfig, data_config_from_dict,
)
from scenic.data.generate import CATEGORIES, GENERATOR_VERSION, generate_dataset
from scenic.data.importer import import_dataset
from scenic.data.io import load_split, load_triplets, read_jsonl
from scenic.data.lang import get_language_pack, known_languages
from scenic.data.stats import dataset_stats

__all__ = [
    "CATEGORIES", "CategoryWeights", "DataConfig", "GENERATOR_VERSION", "GenerateConfig", "ImportConfig",
    "SplitFractions", "StatsConfig", "data_config_from_dict", "dataset_stats", "generate_dataset",
    "get_language_pack", "import_dataset", "known_languages", "load_split", "load_triplets", "read_jsonl",
]
