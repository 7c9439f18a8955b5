"""2:4 masks from NVIDIA modelopt (`mts.sparsify`), when it is installed: magnitude (ASP) or SparseGPT.

SparseGPT also updates the kept weights (a Hessian-based correction from calibration data), so it can keep more
accuracy than plain magnitude at the same pattern. The masks are read back as `weight != 0` after `mts.export`,
checked against the 2:4 pattern by the caller, and from then on handled exactly like our own masks.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Callable

from torch import nn

from scenic import ScenicError
from scenic.compress.masks import Masks
from scenic.compress.scope import Target

MODES = {"modelopt-magnitude": "sparse_magnitude", "modelopt-sparsegpt": "sparsegpt"}


def modelopt_available() -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # it warns about untested transformers versions on import
            import modelopt.torch.sparsity  # noqa: F401
    except Exception:  # ImportError, or a broken install that fails while importing
        return False
    return True


def modelopt_sparsify(model: nn.Module, targets: list[Target], method: str,
                      forward_loop: Callable[[nn.Module], None] | None = None) -> tuple[Masks, dict[str, str]]:
    """Run modelopt on `targets` only; returns masks by target name and the targets modelopt skipped (with why)."""
    if method not in MODES:
        raise ValueError(f"unknown modelopt method {method!r}")
    if not modelopt_available():
        raise ScenicError(f"--method {method} needs nvidia-modelopt, which is not importable here "
                          "(pip install 'scenic[modelopt]'), or use --method magnitude")
    if method == "modelopt-sparsegpt" and forward_loop is None:
        raise ScenicError("--method modelopt-sparsegpt needs calibration data (--data)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import modelopt.torch.sparsity as mts

    wanted = {t.name for t in targets if isinstance(t.module, nn.Linear)}
    # Rules: everything off, then each selected Linear on by its exact name (a later matching rule wins).
    rules: dict = {"*": None}
    rules.update({name: {} for name in sorted(wanted)})
    mode = [(MODES[method], {"nn.Linear": rules})]
    config: dict = {"verbose": False}
    if forward_loop is not None:
        config["forward_loop"] = forward_loop
    if method == "modelopt-sparsegpt":
        config["device"] = str(next(model.parameters()).device)
    was_training = model.training
    model.eval()
    buffer = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(buffer):  # it prints per layer
            warnings.simplefilter("ignore")
            mts.sparsify(model, mode, config=config)
            mts.export(model)
    finally:
        model.train(was_training)
    masks: Masks = {}
    skipped: dict[str, str] = {}
    by_name = dict(model.named_modules())
    for t in targets:
        module = by_name.get(t.name)
        if t.name not in wanted or module is None:
            skipped[t.name] = "modelopt prunes Linear layers only"
            continue
        mask = module.weight.detach() != 0
        if bool(mask.all()):
            skipped[t.name] = "modelopt left it dense (its size rules: out % 8 and in % 16 for magnitude)"
            continue
        masks[t.name] = mask
    if not masks:
        raise ScenicError(f"{method}: modelopt pruned no layer (layer sizes it rejects?)")
    return masks, skipped
