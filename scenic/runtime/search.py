"""Greedy and beam search over a runner's key/value cache, in numpy.

Beam search follows transformers' `_beam_search` step for step (top 2k candidates, finished-hypothesis bank,
length penalty on the generated length, early stopping when every item has k finished hypotheses, the same
early-stop heuristic), so an FP32 export returns the same top-k lists as `CommandModel.generate`.
A `Constraint` can forbid tokens at each step; rows it leaves without any allowed token are dead.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

NEG = np.float32(-1.0e9)  # transformers' "never pick this" score


class Constraint(Protocol):
    def initial(self) -> Any: ...
    def allowed_mask(self, state: Any) -> np.ndarray: ...  # bool [vocab]; all False when nothing may follow
    def advance(self, state: Any, token: int) -> Any: ...


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32, copy=False)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _masks(constraint: Constraint, states: list[Any], vocab: int) -> np.ndarray:
    out = np.zeros((len(states), vocab), dtype=bool)
    for i, s in enumerate(states):
        if s is not None:
            m = constraint.allowed_mask(s)
            out[i, :len(m)] = m[:vocab]
    return out


def greedy(runner, prompt_ids: list[list[int]], max_new: int, eos: int,
           constraint: Constraint | None = None) -> list[tuple[list[int], bool]]:
    """One sequence a prompt: (generated ids including EOS if reached, finished_ok). Finished rows leave the batch."""
    n = len(prompt_ids)
    state, logits = runner.prefill(prompt_ids)
    out: list[list[int]] = [[] for _ in range(n)]
    ok = [False] * n
    live = np.arange(n)
    cstates = [constraint.initial() for _ in range(n)] if constraint else None
    for step in range(max_new):
        if constraint is not None:
            allowed = _masks(constraint, [cstates[r] for r in live], logits.shape[1])
            if step == max_new - 1:  # the last step may only end the command
                allowed[:, np.arange(allowed.shape[1]) != eos] = False
            logits = np.where(allowed, logits, -np.inf)
            dead = ~allowed.any(axis=1)
        else:
            dead = np.zeros(len(live), dtype=bool)
        nxt = logits.argmax(axis=1)
        keep = []
        for j, r in enumerate(live):
            if dead[j]:
                continue
            tok = int(nxt[j])
            out[r].append(tok)
            if constraint is not None:
                cstates[r] = constraint.advance(cstates[r], tok)
            if tok == eos:
                ok[r] = True
            else:
                keep.append(j)
        if not keep or step == max_new - 1:
            break
        if len(keep) < len(live):
            state = runner.select(state, np.asarray(keep))
            live = live[keep]
            nxt = nxt[keep]
        logits = runner.step(state, nxt)
    if constraint is None:  # a row that ran out of length is a (truncated) answer, as in transformers
        ok = [True] * n
    return [(o, k) for o, k in zip(out, ok)]


def _topk(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k, sorted descending (like torch.topk)."""
    part = np.argpartition(-x, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(x, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(part, order, axis=1)


def beam_search(runner, prompt_ids: list[list[int]], num_beams: int, num_return: int, max_new: int, eos: int,
                pad: int, length_penalty: float = 1.0, constraint: Constraint | None = None
                ) -> list[list[tuple[list[int], float]]]:
    """Up to `num_return` (ids, score) per prompt, best first (early_stopping=True semantics)."""
    b, k, t = len(prompt_ids), num_beams, max_new
    state, logits = runner.prefill(prompt_ids)
    state = runner.select(state, np.repeat(np.arange(b), k))
    logits = np.repeat(logits, k, axis=0)
    vocab = logits.shape[1]
    # dummy beams start at -1e9 as in transformers; under a constraint they start dead so they cannot be returned
    start = -np.inf if constraint is not None else NEG
    running_seq = np.full((b, k, t), pad, dtype=np.int64)
    running_scores = np.zeros((b, k), dtype=np.float32)
    running_scores[:, 1:] = start
    seqs = np.full((b, k, t), pad, dtype=np.int64)
    seq_len = np.zeros((b, k), dtype=np.int64)
    scores = np.full((b, k), NEG, dtype=np.float32)
    finished = np.zeros((b, k), dtype=bool)
    improvable = np.ones(b, dtype=bool)
    top_mask = np.arange(2 * k) < k
    cstates = [constraint.initial() for _ in range(b * k)] if constraint else None
    for cur in range(t):
        logp = log_softmax(logits)
        if constraint is not None:
            allowed = _masks(constraint, cstates, vocab)
            if cur == t - 1:
                allowed[:, np.arange(vocab) != eos] = False
            logp = np.where(allowed, logp, -np.inf).astype(np.float32)
        acc = (logp.reshape(b, k, vocab) + running_scores[:, :, None]).reshape(b, k * vocab)
        top_scores, top_idx = _topk(acc, 2 * k)
        src, tok = top_idx // vocab, top_idx % vocab
        cand_seq = np.take_along_axis(running_seq, src[:, :, None], axis=1)
        cand_seq[:, :, cur] = tok
        hits = (tok == eos) | (cur + 1 >= t)
        if constraint is not None:
            hits &= np.isfinite(top_scores)
        # running beams for the next step: best k candidates that did not just finish
        run_scores = top_scores + hits.astype(np.float32) * NEG
        _, keep = _topk(run_scores, k)
        running_seq = np.take_along_axis(cand_seq, keep[:, :, None], axis=1)
        running_scores = np.take_along_axis(run_scores, keep, axis=1)
        beam_src = np.take_along_axis(src, keep, axis=1)
        # finished-hypothesis bank
        just_done = hits & top_mask[None, :]
        fin = top_scores / np.float32((cur + 1) ** length_penalty)
        fin = fin + (finished.all(axis=1, keepdims=True)).astype(np.float32) * NEG
        fin = fin + (~improvable[:, None]).astype(np.float32) * NEG
        fin = fin + (~just_done).astype(np.float32) * NEG
        merged_scores = np.concatenate([scores, fin], axis=1)
        merged_seq = np.concatenate([seqs, cand_seq], axis=1)
        merged_len = np.concatenate([seq_len, np.full((b, 2 * k), cur + 1)], axis=1)
        merged_fin = np.concatenate([finished, just_done], axis=1)
        _, best = _topk(merged_scores, k)
        seqs = np.take_along_axis(merged_seq, best[:, :, None], axis=1)
        scores = np.take_along_axis(merged_scores, best, axis=1)
        seq_len = np.take_along_axis(merged_len, best, axis=1)
        finished = np.take_along_axis(merged_fin, best, axis=1)
        # stopping, as transformers decides it
        best_possible = running_scores[:, 0] / np.float32((cur + 1) ** length_penalty)
        worst = np.where(finished, scores.min(axis=1, keepdims=True), NEG)
        improvable &= (best_possible[:, None] > worst).any(axis=1)
        if not (improvable.any() and not finished.all() and not hits.all()):
            break
        rows = (np.arange(b)[:, None] * k + beam_src).reshape(-1)
        if constraint is not None:
            nxt_tok = running_seq[:, :, cur].reshape(-1)
            cstates = [None if not np.isfinite(s) else constraint.advance(cstates[r], int(x))
                       for r, x, s in zip(rows, nxt_tok, running_scores.reshape(-1))]
        state = runner.select(state, rows)
        logits = runner.step(state, running_seq[:, :, cur].reshape(-1))
    results = []
    for i in range(b):
        hyps = []
        for j in range(k):
            if constraint is not None and not (finished[i, j] and scores[i, j] > NEG / 2):
                continue
            hyps.append((seqs[i, j, :seq_len[i, j]].tolist(), float(scores[i, j])))
        results.append(hyps[:num_return])
    return results
