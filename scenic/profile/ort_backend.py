"""Per-component cases for an export folder on onnxruntime, timed through the runtime's own sessions and search.

The cases mirror torch_backend's one for one (same components, batches, prompt sets and decoder cache length), so
a checkpoint and its export can be profiled side by side and their ratios read case by case.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from scenic import ScenicError
from scenic.profile.timing import DECODER_CONTEXT_TOKENS, Case

CUDA_PROVIDERS = ["CUDAExecutionProvider", "CPUExecutionProvider"]


def providers_for(device: str) -> list[str]:
    """onnxruntime providers for `device`; a one-line error when this onnxruntime build cannot run on it."""
    import onnxruntime as ort

    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise ScenicError(f"this onnxruntime ({ort.__version__}) has no CUDAExecutionProvider: install "
                          "onnxruntime-gpu (pip install onnxruntime-gpu; on a Jetson the Jetson Zoo wheel) or use "
                          "--device cpu")
    return CUDA_PROVIDERS


def ort_cases(name: str, folder: str, prompts_by_length: dict[str, list[str]], batches: list[int],
              device: str = "cpu", threads: int | None = None) -> tuple[list[Case], dict[str, Any]]:
    """`folder` is an export folder (its default variant) or one of its variant folders (`exports/x/int8-dynamic`),
    exactly as `scenic run --model` takes it."""
    import numpy as np
    import onnxruntime as ort

    from scenic.runtime import load
    from scenic.runtime.layout import ENCODER
    from scenic.runtime.session import _pad

    providers = providers_for(device)
    predictor = load(folder, providers=providers, threads=threads)
    used = next(iter(predictor.runner.graphs.values())).get_providers()
    if used[0] != providers[0]:  # onnxruntime falls back to CPU silently when the CUDA libraries do not load
        raise ScenicError(f"{folder}: onnxruntime could not start {providers[0]} (it fell back to {used[0]}); "
                          "check the CUDA/cuDNN libraries onnxruntime-gpu needs")
    runner, codec = predictor.runner, predictor.codec
    special = codec.special
    enc_dec = predictor.kind == "encoder-decoder"
    # the token fed while building and timing the cache: T5 starts from PAD; for Llama any ordinary token will do,
    # and torch_backend uses id 5 too
    filler = special.pad if enc_dec else 5
    cases: list[Case] = []

    for length, pool in prompts_by_length.items():
        for b in batches:
            prompts = (pool * ((b + len(pool) - 1) // len(pool)))[:b]
            ids = codec.prompt_ids(prompts)

            if enc_dec:
                ids_arr, mask = _pad(ids, special.pad, left=False)
                feeds = {"input_ids": ids_arr, "attention_mask": mask}

                def encoder(feeds=feeds):
                    return runner.graphs[ENCODER].run(None, feeds)
            else:
                def encoder(ids=ids):  # decoder-only: the prompt prefill (past of length 0) plays the encoder's part
                    return runner.prefill(ids)

            # a cache of DECODER_CONTEXT_TOKENS decoded tokens (T5: the prefill's start step is the first of them)
            state, _ = runner.prefill(ids)
            tokens = np.full(b, filler, dtype=np.int64)
            for _ in range(DECODER_CONTEXT_TOKENS - (1 if enc_dec else 0)):
                runner.step(state, tokens)

            def step(state=state, tokens=tokens):
                # step() rebinds the state's past/mask/position to new arrays, never writes into them, so a shallow
                # copy keeps the cache at the same length for every repeat
                return runner.step(replace(state), tokens)

            def e2e(prompts=prompts):  # tokenize + greedy search + detokenize, as `scenic run` does
                return predictor.generate(prompts, num_beams=1, num_return=1, batch_size=len(prompts))

            cases += [Case(name, "encoder", b, length, encoder, b),
                      Case(name, "decoder_step", b, length, step, b),
                      Case(name, "end_to_end", b, length, e2e, b)]

    root = Path(predictor.folder)
    variant = predictor.variant
    info = {"backend": "onnxruntime", "device": device, "kind": predictor.kind, "variant": variant,
            "export": str(root), "providers": used, "threads": threads, "onnxruntime": ort.__version__,
            "decoder_context_tokens": DECODER_CONTEXT_TOKENS}
    # what a deployment of this variant ships (graphs + tokenizer + home + export.json), as the export measured it;
    # the whole folder would also count the other variants, bundles and engines
    raw = ((predictor.manifest.get("variants") or {}).get(variant) or {}).get("raw_bytes")
    if raw:
        info["size_bytes"] = int(raw)
    return cases, info
