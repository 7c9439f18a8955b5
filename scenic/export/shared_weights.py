"""Store weights that several graphs of one variant hold identically (T5's shared embedding is in both the encoder
and the decoder) once, in an external-data file both graphs point at. Halves that table's share of the export
on disk; onnxruntime and TensorRT's parser both read ONNX external data.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import onnx
from onnx.external_data_helper import set_external_data

ALIGN = 4096  # page-aligned offsets let onnxruntime memory-map the data


def share_identical_initializers(paths: list[Path], data_name: str = "shared.bin", min_bytes: int = 16384) -> str | None:
    """Move initializers found byte-identical in two or more of `paths` into `data_name` beside them.

    Returns the data file's name, or None when nothing is shared (e.g. a single graph).
    """
    if len(paths) < 2:
        return None
    models = [onnx.load(str(p)) for p in paths]
    groups: dict[tuple, list[tuple[int, onnx.TensorProto]]] = {}
    for i, model in enumerate(models):
        for init in model.graph.initializer:
            if init.data_location != onnx.TensorProto.EXTERNAL and len(init.raw_data) >= min_bytes:
                key = (init.data_type, tuple(init.dims), hashlib.sha256(init.raw_data).hexdigest())
                groups.setdefault(key, []).append((i, init))
    shared = [g for g in groups.values() if len({i for i, _ in g}) > 1]
    if not shared:
        return None
    folder = paths[0].parent
    with open(folder / data_name, "wb") as f:
        for group in shared:
            f.write(b"\0" * (-f.tell() % ALIGN))
            offset, data = f.tell(), group[0][1].raw_data
            f.write(data)
            for _, init in group:
                set_external_data(init, location=data_name, offset=offset, length=len(data))
                init.ClearField("raw_data")
                init.data_location = onnx.TensorProto.EXTERNAL
    for path, model in zip(paths, models):
        onnx.save(model, str(path))
    return data_name
