"""Store 2:4 sparse weights packed: the two kept values of every group of four, plus which two they are.

ONNX has no sparse weight format that onnxruntime's CPU kernels or TensorRT's parser read, and a 2:4 weight stored
dense spends half its bytes on zeros. Packed, a weight takes 0.5 of its values plus one byte per group of four for
the pattern (one of the six ways to keep two of four): 0.75 of the dense size. A small subgraph of standard ops
(Gather, Range, Add, Transpose, Reshape, ScatterElements over ConstantOfShape) rebuilds the dense weight from the
two initializers; all its inputs are constants, so onnxruntime folds it once when the session starts and every
run multiplies by the ordinary dense initializer. The export's sparsity check reads the weights back from that
folded graph, so a wrong unpacking cannot pass.

Only the CPU variants are packed (fp32, int8-dynamic). TensorRT finds 2:4 weights for its sparse tactics in
constant initializers, so the QDQ and FP16 variants keep them dense.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.external_data_helper import load_external_data_for_model

PREFIX = "packed2to4"
PAIRS = list(itertools.combinations(range(4), 2))  # pattern code -> the two kept positions in a group of four
MIN_ELEMENTS = 1024
MIN_SAVING = 2048  # bytes a weight must save to pay for its nine unpacking nodes (~1.5 kB of graph)


def _groups_axis0(w: np.ndarray) -> np.ndarray | None:
    """[K/4, 4, N] view when `w` ([K, N], groups of four along K) is 2:4, else None."""
    if w.ndim != 2 or w.shape[0] % 4 or w.size < MIN_ELEMENTS:
        return None
    groups = w.reshape(w.shape[0] // 4, 4, w.shape[1])
    return groups if bool(((groups != 0).sum(1) <= 2).all()) else None


def pack(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(values [K/2, N], pattern codes [K/4, N] uint8) of a 2:4 weight [K, N], or None if it is not 2:4."""
    groups = _groups_axis0(w)
    if groups is None:
        return None
    # the two kept positions of each group: non-zeros first, then (where a group has fewer) the lowest zeros
    order = np.argsort(groups == 0, axis=1, kind="stable")[:, :2, :]
    order.sort(axis=1)
    lookup = np.full((4, 4), 255, dtype=np.uint8)
    for code, (a, b) in enumerate(PAIRS):
        lookup[a, b] = code
    codes = lookup[order[:, 0, :], order[:, 1, :]]
    values = np.take_along_axis(groups, order, axis=1)  # [K/4, 2, N]
    return values.reshape(-1, w.shape[1]), codes


def unpack(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The inverse of `pack`, in numpy (the graph does the same with ONNX ops)."""
    k4, n = codes.shape
    pos = np.asarray(PAIRS, dtype=np.int64)[codes.astype(np.int64)]  # [K/4, N, 2]
    rows = (pos + 4 * np.arange(k4, dtype=np.int64)[:, None, None]).transpose(0, 2, 1).reshape(-1, n)
    dense = np.zeros((4 * k4, n), dtype=values.dtype)
    np.put_along_axis(dense, rows, values, axis=0)
    return dense


def _unpack_nodes(name: str, dtype: np.dtype, transposed: bool) -> list[onnx.NodeProto]:
    p = f"{PREFIX}/{name}"
    dense = f"{p}/dense_t" if transposed else name
    nodes = [
        helper.make_node("Cast", [f"{p}/codes"], [f"{p}/codes64"], to=onnx.TensorProto.INT64),
        helper.make_node("Gather", [f"{PREFIX}/pairs", f"{p}/codes64"], [f"{p}/pos"], axis=0),  # [K/4, N, 2]
        helper.make_node("Range", [f"{PREFIX}/zero", f"{p}/k", f"{PREFIX}/four"], [f"{p}/starts"]),
        helper.make_node("Unsqueeze", [f"{p}/starts", f"{PREFIX}/axes12"], [f"{p}/starts3"]),
        helper.make_node("Add", [f"{p}/pos", f"{p}/starts3"], [f"{p}/rows3"]),
        helper.make_node("Transpose", [f"{p}/rows3"], [f"{p}/rows3t"], perm=[0, 2, 1]),
        helper.make_node("Reshape", [f"{p}/rows3t", f"{p}/half_shape"], [f"{p}/rows"]),
        helper.make_node("ConstantOfShape", [f"{p}/shape"], [f"{p}/zeros"],
                         value=numpy_helper.from_array(np.zeros(1, dtype=dtype))),
        helper.make_node("ScatterElements", [f"{p}/zeros", f"{p}/rows", f"{p}/values"], [dense], axis=0),
    ]
    if transposed:  # a table whose groups of four run along its rows (an embedding: [vocab, width])
        nodes.append(helper.make_node("Transpose", [dense], [name], perm=[1, 0]))
    return nodes


def pack_graph(path: Path) -> int:
    """Pack every 2:4 weight initializer of the graph at `path` in place; return how many were packed."""
    model = onnx.load(str(path), load_external_data=True)
    graph = model.graph
    packed_nodes: list[onnx.NodeProto] = []
    kept: list[onnx.TensorProto] = []
    extra: list[onnx.TensorProto] = []
    for init in graph.initializer:
        w = numpy_helper.to_array(init)
        result, transposed = None, False
        if w.dtype in (np.int8, np.float32, np.float16):
            result = pack(w)
            if result is None and w.ndim == 2:
                result, transposed = pack(np.ascontiguousarray(w.T)), True
        if result is None or w.nbytes - result[0].nbytes - result[1].nbytes < MIN_SAVING:
            kept.append(init)
            continue
        values, codes = result
        name, (k, n) = init.name, (w.shape[::-1] if transposed else w.shape)
        p = f"{PREFIX}/{name}"
        extra += [numpy_helper.from_array(values, f"{p}/values"), numpy_helper.from_array(codes, f"{p}/codes"),
                  numpy_helper.from_array(np.array(k, dtype=np.int64), f"{p}/k"),
                  numpy_helper.from_array(np.array([k // 2, n], dtype=np.int64), f"{p}/half_shape"),
                  numpy_helper.from_array(np.array([k, n], dtype=np.int64), f"{p}/shape")]
        packed_nodes += _unpack_nodes(name, w.dtype, transposed)
    if not packed_nodes:
        return 0
    extra += [numpy_helper.from_array(np.asarray(PAIRS, dtype=np.int64), f"{PREFIX}/pairs"),
              numpy_helper.from_array(np.array(0, dtype=np.int64), f"{PREFIX}/zero"),
              numpy_helper.from_array(np.array(4, dtype=np.int64), f"{PREFIX}/four"),
              numpy_helper.from_array(np.array([1, 2], dtype=np.int64), f"{PREFIX}/axes12")]
    count = sum(1 for node in packed_nodes if node.op_type == "ScatterElements")
    del graph.initializer[:]
    graph.initializer.extend(kept + extra)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(packed_nodes + nodes)  # the unpacking runs first: every consumer comes after it
    onnx.save(model, str(path))
    return count


def is_packed(path: Path) -> bool:
    return any(node.name.startswith(PREFIX) or node.output[0].startswith(PREFIX)
               for node in onnx.load(str(path), load_external_data=False).graph.node)


def folded_initializers(path: Path) -> list[np.ndarray]:
    """The 2-D initializers of the graph as onnxruntime runs it: after constant folding has unpacked the weights."""
    import tempfile

    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = str(Path(tmp) / "folded.onnx")
        ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        folded = onnx.load(opts.optimized_model_filepath, load_external_data=False)
        # initializers that were external data (T5's shared embedding) still point at files beside the source
        load_external_data_for_model(folded, str(path.parent))
        return [numpy_helper.to_array(i) for i in folded.graph.initializer if len(i.dims) == 2]
