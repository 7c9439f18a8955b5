"""PyTorch vs onnxruntime on real prompts, through real multi-step decoding with the key/value cache.

Both sides are teacher-forced with PyTorch's greedy token so they stay on the same path; at every step the
logits of every still-running row are compared. The runtime's own runner is used, so the check covers the code
that will serve requests, not a copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from scenic import ScenicError
from scenic.models.tokenizer import EOS_ID, PAD_ID


class ParityError(ScenicError):
    """An exported graph disagrees with PyTorch beyond the tolerance."""


@dataclass
class ParityResult:
    max_abs_diff: float
    token_agreement: float  # share of compared steps where both pick the same next token
    steps: int
    compared: int  # (row, step) pairs compared
    prompts: int

    def to_json(self) -> dict[str, Any]:
        return {"max_abs_diff": self.max_abs_diff, "token_agreement": self.token_agreement, "steps": self.steps,
                "compared": self.compared, "prompts": self.prompts}


@torch.no_grad()
def _torch_steps(cm, prompts: list[str], max_steps: int):
    """Yield PyTorch's next-token logits [rows, vocab] step by step; send back the tokens to feed."""
    model = cm.model
    if cm.kind == "encoder-decoder":
        b = cm.prompt_batch(prompts)
        enc = model.encoder(input_ids=b["input_ids"], attention_mask=b["attention_mask"])
        tokens = torch.full((len(prompts), 1), PAD_ID, dtype=torch.long)
        cache = None
        for _ in range(max_steps):
            out = model(encoder_outputs=enc, attention_mask=b["attention_mask"], decoder_input_ids=tokens,
                        past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            tokens = torch.as_tensor((yield out.logits[:, -1].float().numpy())).view(-1, 1)
    else:
        b = cm.prompt_batch(prompts, left_pad=True)
        ids, mask = b["input_ids"], b["attention_mask"]
        positions = torch.where(mask == 1, mask.cumsum(-1) - 1, torch.ones_like(mask))
        cache = None
        for _ in range(max_steps):
            out = model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache,
                        use_cache=True)
            cache = out.past_key_values
            ids = torch.as_tensor((yield out.logits[:, -1].float().numpy())).view(-1, 1)
            mask = torch.cat([mask, torch.ones_like(ids)], dim=1)
            positions = positions[:, -1:] + 1


def compare(cm, runner, prompts: list[str], max_steps: int | None = None) -> ParityResult:
    """Decode `prompts` greedily on both sides and measure how far the runner's logits are from PyTorch's."""
    was_training = cm.model.training
    cm.model.eval()
    max_steps = max_steps or cm.max_command_tokens
    try:
        ref = _torch_steps(cm, prompts, max_steps)
        t_logits = next(ref)
        state, o_logits = runner.prefill([cm.prompt_ids(p) for p in prompts])
        running = np.ones(len(prompts), dtype=bool)
        worst, agree, compared, steps = 0.0, 0, 0, 0
        while True:
            steps += 1
            rows = np.flatnonzero(running)
            worst = max(worst, float(np.abs(t_logits[rows] - o_logits[rows]).max()))
            chosen = t_logits.argmax(-1)
            agree += int((chosen[rows] == o_logits[rows].argmax(-1)).sum())
            compared += len(rows)
            running &= chosen != EOS_ID
            if not running.any() or steps >= max_steps:
                break
            tokens = np.where(running, chosen, PAD_ID).astype(np.int64)
            t_logits = ref.send(tokens)
            o_logits = runner.step(state, tokens)
        ref.close()
    finally:
        cm.model.train(was_training)
    return ParityResult(worst, agree / max(compared, 1), steps, compared, len(prompts))


def check(variant: str, result: ParityResult, tolerance: float, min_agreement: float) -> dict[str, Any]:
    """FP32 must match logits within `tolerance`; reduced precisions must agree on the next token."""
    out = result.to_json()
    if variant == "fp32":
        out.update(criterion="max_abs_diff", tolerance=tolerance, passed=result.max_abs_diff <= tolerance)
        if not out["passed"]:
            raise ParityError(f"{variant}: ONNX logits differ from PyTorch by {result.max_abs_diff:.3g} "
                              f"(tolerance {tolerance:g}); the export is not faithful")
    else:
        out.update(criterion="token_agreement", min_agreement=min_agreement,
                   passed=result.token_agreement >= min_agreement)
        if not out["passed"]:
            raise ParityError(f"{variant}: picks PyTorch's next token in {result.token_agreement:.1%} of steps "
                              f"(needs {min_agreement:.0%}); max logit difference {result.max_abs_diff:.3g}")
    return out
