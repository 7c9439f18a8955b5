"""Store a tied embedding table once per ONNX graph.

Llama ties its LM head to the token embedding, but ONNX has no notion of tied weights: the exporter folds the head's
transpose into a second initializer, and onnxruntime's quantizer then keeps two INT8 copies (a uint8 one for the
embedding Gather, an int8 one for the head). That duplicate is about 15% of a llama-tiny export. No library removes
it, so the two rewrites below do, on the written graphs; the export's parity check then runs on the result.

- FP32 / FP16: the twin becomes `Transpose(table)`. onnxruntime folds the Transpose once at session start, so a
  step costs what it did; only the file shrinks.
- INT8: the embedding rows are gathered from the head's int8 weight and scaled by the head's per-channel scales
  (one scale per vocabulary entry, so this is per-row symmetric INT8: at least as fine as the quantizer's own
  per-tensor uint8 table, which is dropped).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

MIN_ELEMENTS = 4096  # tables smaller than this are not worth a rewrite


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    out: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


def _drop_unused_initializers(graph: onnx.GraphProto, names: list[str]) -> None:
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    for name in names:
        if name not in used:
            for i, init in enumerate(graph.initializer):
                if init.name == name:
                    del graph.initializer[i]
                    break


def share_transposed_twin(path: Path) -> int:
    """Replace every 2-D initializer that equals another one transposed by a Transpose of it; return how many."""
    model = onnx.load(str(path))
    graph = model.graph
    tables = {i.name: numpy_helper.to_array(i) for i in graph.initializer
              if len(i.dims) == 2 and i.dims[0] * i.dims[1] >= MIN_ELEMENTS
              and i.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)}
    replaced: dict[str, str] = {}
    names = list(tables)
    for a in names:
        for b in names:
            if a == b or a in replaced or b in replaced or tables[a].shape != tables[b].shape[::-1]:
                continue
            if tables[a].dtype == tables[b].dtype and np.array_equal(tables[a].T, tables[b]):
                replaced[b] = a
    if not replaced:
        return 0
    for twin, table in replaced.items():
        transposed = f"{twin}__from_{table}"
        for node in graph.node:
            for k, name in enumerate(node.input):
                if name == twin:
                    node.input[k] = transposed
        graph.node.insert(0, helper.make_node("Transpose", [table], [transposed], perm=[1, 0],
                                              name=f"tied/{transposed}"))
    _drop_unused_initializers(graph, list(replaced))
    onnx.save(model, str(path))
    return len(replaced)


def _per_channel_head(graph: onnx.GraphProto, inits: dict[str, onnx.TensorProto]):
    """(weight name, scale name) of each int8 [D, V] head weight with one zero-point-0 scale per output column."""
    heads = []
    for node in graph.node:
        if node.op_type == "MatMulInteger" and len(node.input) >= 4 and node.input[1] in inits:
            w = node.input[1]
            scale = w[: -len("_quantized")] + "_scale" if w.endswith("_quantized") else None
            zp = node.input[3]
            if scale in inits and zp in inits and not numpy_helper.to_array(inits[zp]).any():
                heads.append((w, scale))
        elif node.op_type == "DequantizeLinear" and node.input[0] in inits and len(node.input) >= 2 \
                and node.input[1] in inits:
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            zp = node.input[2] if len(node.input) > 2 else None
            if axis in (1, -1) and (zp is None or (zp in inits and not numpy_helper.to_array(inits[zp]).any())):
                heads.append((node.input[0], node.input[1]))
    return [(w, s) for w, s in heads if inits[w].data_type == onnx.TensorProto.INT8 and len(inits[w].dims) == 2
            and tuple(inits[s].dims) == (inits[w].dims[1],)]


def gather_embedding_from_head(path: Path) -> int:
    """Make the embedding Gather read the head's int8 weight; drop the embedding's own table. Returns 0 or 1."""
    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    consumers = _consumers(graph)
    heads = _per_channel_head(graph, inits)
    for gather in [n for n in graph.node if n.op_type == "Gather" and n.input[0] in inits]:
        table = inits[gather.input[0]]
        if any(a.name == "axis" and a.i != 0 for a in gather.attribute) or len(table.dims) != 2 \
                or table.dims[0] * table.dims[1] < MIN_ELEMENTS:
            continue
        found = _dequantized_table(gather, table, inits, consumers)
        if found is None:
            continue
        values, removed, output, half_step = found
        for w, s in heads:
            if tuple(inits[w].dims) != tuple(table.dims)[::-1]:
                continue
            scale = numpy_helper.to_array(inits[s]).astype(np.float32)
            head = numpy_helper.to_array(inits[w]).astype(np.float32) * scale[None, :]
            # both are roundings of one float table, so they differ by at most half a step of each quantizer;
            # another table of the same shape would differ by far more
            if np.abs(head.T - values).max() > 1.01 * (scale.max() / 2 + half_step) + 1e-6:
                continue
            _rewrite(graph, gather, removed, output, w, s)
            _drop_unused_initializers(graph, [gather.input[0], *[i for n in removed for i in n.input[1:]]])
            onnx.save(model, str(path))
            return 1
    return 0


def _dequantized_table(gather, table, inits, consumers):
    """(float values, nodes to remove with the Gather, name of the float rows, half a quantization step) or None."""
    if table.data_type == onnx.TensorProto.FLOAT:
        return numpy_helper.to_array(table), [], gather.output[0], 0.0
    after = consumers.get(gather.output[0], [])
    if len(after) != 1 or after[0].op_type != "DequantizeLinear" or len(after[0].input) < 2:
        return None
    dq = after[0]
    if dq.input[1] not in inits or (len(dq.input) > 2 and dq.input[2] not in inits):
        return None
    scale = numpy_helper.to_array(inits[dq.input[1]]).astype(np.float32)
    if scale.size != 1:
        return None
    zp = numpy_helper.to_array(inits[dq.input[2]]).astype(np.float32) if len(dq.input) > 2 else 0.0
    values = (numpy_helper.to_array(table).astype(np.float32) - zp) * float(scale)
    return values, [dq], dq.output[0], float(scale) / 2


def _rewrite(graph, gather, removed, output, weight, scale) -> None:
    """rows = Cast(Gather(Transpose(weight), ids)) * Gather(scale, ids)[..., None], in place of the old lookup."""
    ids, base = gather.input[1], f"tied/{weight}"
    nodes = [
        helper.make_node("Transpose", [weight], [f"{base}/table"], perm=[1, 0], name=f"{base}/Transpose"),
        helper.make_node("Gather", [f"{base}/table", ids], [f"{base}/rows_q"], axis=0, name=f"{base}/Gather"),
        helper.make_node("Cast", [f"{base}/rows_q"], [f"{base}/rows_f"], to=onnx.TensorProto.FLOAT,
                         name=f"{base}/Cast"),
        helper.make_node("Gather", [scale, ids], [f"{base}/row_scale"], axis=0, name=f"{base}/GatherScale"),
        helper.make_node("Unsqueeze", [f"{base}/row_scale", f"{base}/last_axis"], [f"{base}/row_scale_1"],
                         name=f"{base}/Unsqueeze"),
        helper.make_node("Mul", [f"{base}/rows_f", f"{base}/row_scale_1"], [output], name=f"{base}/Mul"),
    ]
    graph.initializer.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), f"{base}/last_axis"))
    at = list(graph.node).index(gather)
    for node in [gather, *removed]:
        graph.node.remove(node)
    for k, node in enumerate(nodes):
        graph.node.insert(at + k, node)
