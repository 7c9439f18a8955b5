"""Evaluation: EM@1 / EM@5 with beam search, validity, semantic match, per-category and confusion reports."""

from scenic.evaluate.metrics import (
    CONFUSION_KINDS, classify_error, compute_report, exact_match, normalize_command, score_one,
)
from scenic.evaluate.report import to_markdown, write_predictions, write_report
from scenic.evaluate.run import EvaluateConfig, Predictor, evaluate, load_predictor, load_records, predict

__all__ = [
    "CONFUSION_KINDS", "classify_error", "compute_report", "exact_match", "normalize_command", "score_one",
    "to_markdown", "write_predictions", "write_report", "EvaluateConfig", "Predictor", "evaluate", "load_predictor", "load_records",
    "predict",
]
