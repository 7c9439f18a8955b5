"""`--backend tensorrt`: the engines `scenic export --trt` builds (trt/*.plan).

TensorRT cannot be installed on our build, CI or GPU machines, so timing engines directly is not implemented:
code that has never run must not print numbers. Without tensorrt the error says what to install; with it, the
error says so and points at what does work (onnxruntime's CUDA / TensorRT execution providers, and trtexec).
"""

from __future__ import annotations

from typing import Any

from scenic import ScenicError
from scenic.profile.timing import Case


def trt_cases(name: str, folder: str, prompts_by_length: dict[str, list[str]], batches: list[int]
              ) -> tuple[list[Case], dict[str, Any]]:
    from scenic.export.trt import tensorrt_module
    from scenic.runtime import read_export_info
    from scenic.runtime.verify import read_manifest

    tensorrt_module()  # TensorRTMissing (a ScenicError) with the install hint when the package is absent
    root, _, _ = read_export_info(folder)
    if not (read_manifest(root).get("trt") or {}).get("built"):
        raise ScenicError(f"{root}: has no TensorRT engines; build them on this device with "
                          f"`scenic export {root} --trt`")
    raise ScenicError("profiling TensorRT engines directly is not implemented yet; time them with `trtexec "
                      f"--loadEngine={root}/trt/<engine>.plan` or profile the ONNX with --backend onnxruntime "
                      "--device cuda")
