"""The triplet-contrastive SFT objective: CE(anchor) + CE(positive) + lambda * max(0, margin + d(a,p) - d(a,n))."""

from __future__ import annotations

from dataclasses import dataclass

import torch


def cosine_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """1 - cosine similarity, row by row (inputs need not be normalised)."""
    return 1.0 - torch.nn.functional.cosine_similarity(x, y, dim=-1)


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float) -> torch.Tensor:
    """Mean hinge: zero once every negative is `margin` further (in cosine distance) than its positive."""
    return torch.relu(margin + cosine_distance(anchor, positive) - cosine_distance(anchor, negative)).mean()


ROW_MULTIPLE = 16  # triplets used per batch are rounded down to this multiple


@dataclass
class StepLoss:
    total: torch.Tensor
    ce: torch.Tensor
    triplet: torch.Tensor | None


def batch_loss(model, batch, triplet_lambda: float, triplet_margin: float, label_smoothing: float = 0.0) -> StepLoss:
    """Loss of one Batch for a CommandModel. Prompts and positives share one forward pass (all must produce their
    command); negatives run through the encoder only, since they need an embedding and no cross-entropy.
    With lambda = 0 the batches are the same (positives still get their CE) and only the triplet term is off."""
    rows = batch.triplet_rows
    if len(rows) >= ROW_MULTIPLE:  # a few batch sizes instead of one per step: new shapes cost a GPU a lot
        rows = rows[: len(rows) // ROW_MULTIPLE * ROW_MULTIPLE]
    prompts = list(batch.prompts) + [batch.positives[i] for i in rows]
    commands = list(batch.commands) + [batch.commands[i] for i in rows]
    use_triplet = triplet_lambda > 0 and bool(rows)
    ce, emb = model.forward(model.training_batch(prompts, commands), with_embeddings=use_triplet,
                            label_smoothing=label_smoothing)
    if not use_triplet:
        return StepLoss(total=ce, ce=ce, triplet=None)
    n = len(batch.prompts)
    neg = model.embed(model.embedding_batch([batch.negatives[i] for i in rows]))
    trip = triplet_loss(emb[rows], emb[n:], neg, triplet_margin)
    return StepLoss(total=ce + triplet_lambda * trip, ce=ce, triplet=trip)
