"""A backbone plus its tokenizer: batching, pooled prompt embeddings, generation, save and load.

One class for both kinds so that train, evaluate, compress and export never branch on the architecture themselves.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from scenic import ScenicError
from scenic.models.tokenizer import BOS_ID, EOS_ID, PAD_ID, SEP_ID, TOKENIZER_FILE, decode, load_tokenizer

SCENIC_MODEL_FILE = "scenic_model.json"  # kind and limits; the stage manifest is manifest.json beside it
HOME_FILE = "home.yaml"
KINDS = ("encoder-decoder", "decoder-only")
MODEL_KINDS = {"T5ForConditionalGeneration": "encoder-decoder", "EncoderDecoderModel": "encoder-decoder",
               "LlamaForCausalLM": "decoder-only"}  # the transformers class each kind is
_CACHE_LIMIT = 2_000_000  # texts whose token ids are memoised (a few hundred MB at most)


@dataclass
class CommandModel:
    model: Any  # transformers PreTrainedModel
    tokenizer: Tokenizer
    kind: str  # "encoder-decoder" | "decoder-only"
    max_prompt_tokens: int = 96
    max_command_tokens: int = 128
    home_yaml: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    prompt_tokenizer: Tokenizer | None = None  # a pretrained encoder's own tokenizer (models/warm_start.py)

    @classmethod
    def create(cls, backbone, tokenizer: Tokenizer, home_yaml: str | None = None, max_prompt_tokens: int = 96,
               max_command_tokens: int = 128, info: dict[str, Any] | None = None) -> "CommandModel":
        """A freshly initialised model for a `BackboneConfig`, sized to the tokenizer's real vocabulary."""
        from scenic.models.presets import build_model, count_parameters

        model = build_model(backbone, vocab_size=tokenizer.get_vocab_size())
        meta = {"parameters": count_parameters(model), **(info or {})}
        prompt_tok = None
        if backbone.encoder_init is not None:
            from scenic.models.warm_start import prompt_tokenizer

            prompt_tok = prompt_tokenizer(backbone.encoder_init)
        return cls(model=model, tokenizer=tokenizer, kind=backbone.kind, max_prompt_tokens=max_prompt_tokens,
                   max_command_tokens=max_command_tokens, home_yaml=home_yaml, info=meta, prompt_tokenizer=prompt_tok)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    # ---- tokenisation -------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _encode(self, texts: Sequence[str], prompt: bool = False) -> list[list[int]]:
        """Token ids, memoised: training revisits the same texts every epoch, and byte-level BPE costs ~50 us a
        text, which at 700 texts a step was a large share of a small model's step on a GPU."""
        tok = self.prompt_tokenizer if prompt and self.prompt_tokenizer is not None else self.tokenizer
        caches = self.__dict__.setdefault("_ids_caches", {})
        owner, cache = caches.get(id(tok), (None, None))
        if owner is not tok:  # a replaced tokenizer invalidates the memo
            cache = {}
            caches[id(tok)] = (tok, cache)
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            if len(cache) + len(missing) > _CACHE_LIMIT:
                cache.clear()
            for t, e in zip(missing, tok.encode_batch(missing, add_special_tokens=False)):
                cache[t] = e.ids
        return [cache[t] for t in texts]

    def _wrap_prompt(self, ids: list[int]) -> list[int]:
        ids = ids[: self.max_prompt_tokens]
        if self.prompt_tokenizer is not None:
            from scenic.models.warm_start import special_prompt_ids

            cls_id, sep_id, _ = special_prompt_ids(self.prompt_tokenizer)
            return [cls_id] + ids + [sep_id]
        return ids + [EOS_ID] if self.kind == "encoder-decoder" else [BOS_ID] + ids + [SEP_ID]

    @property
    def prompt_pad_id(self) -> int:
        if self.prompt_tokenizer is not None:
            from scenic.models.warm_start import special_prompt_ids

            return special_prompt_ids(self.prompt_tokenizer)[2]
        return PAD_ID

    def _wrap_command(self, ids: list[int]) -> list[int]:
        return ids[: self.max_command_tokens - 1] + [EOS_ID]

    def prompt_ids(self, prompt: str) -> list[int]:
        return self._wrap_prompt(self._encode([prompt], prompt=True)[0])

    def command_ids(self, command: str) -> list[int]:
        return self._wrap_command(self._encode([command])[0])

    def prompt_batch(self, prompts: Sequence[str], left_pad: bool = False) -> dict[str, torch.Tensor]:
        seqs = [self._wrap_prompt(ids) for ids in self._encode(prompts, prompt=True)]
        return _pad(seqs, left=left_pad, device=self.device, pad_value=self.prompt_pad_id)

    def training_batch(self, prompts: Sequence[str], commands: Sequence[str]) -> dict[str, torch.Tensor]:
        """Inputs and labels for cross-entropy; `prompt_mask` marks the prompt tokens to pool for the triplet term."""
        if len(prompts) != len(commands):
            raise ValueError("training_batch: prompts and commands differ in length")
        p_ids = [self._wrap_prompt(ids) for ids in self._encode(prompts, prompt=True)]
        c_ids = [self._wrap_command(ids) for ids in self._encode(commands)]
        if self.kind == "encoder-decoder":
            enc = _pad(p_ids, device=self.device, multiple=PAD_MULTIPLE, pad_value=self.prompt_pad_id)
            labels = _pad(c_ids, device=self.device, multiple=PAD_MULTIPLE, pad_value=-100)["input_ids"]
            return {**enc, "labels": labels, "prompt_mask": enc["attention_mask"]}
        seqs, label_seqs, pmask = [], [], []
        for pi, ci in zip(p_ids, c_ids):
            seqs.append(pi + ci)
            label_seqs.append([-100] * len(pi) + ci)
            pmask.append([0] + [1] * (len(pi) - 2) + [0] + [0] * len(ci))  # pool over the prompt's own tokens
        b = _pad(seqs, device=self.device, multiple=PAD_MULTIPLE)
        b["labels"] = _pad(label_seqs, device=self.device, multiple=PAD_MULTIPLE, pad_value=-100)["input_ids"]
        b["prompt_mask"] = _pad(pmask, device=self.device, multiple=PAD_MULTIPLE, pad_value=0)["input_ids"]
        return b

    def embedding_batch(self, prompts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Prompt-only inputs for `embed` (the triplet negative needs an embedding, not a loss)."""
        seqs = [self._wrap_prompt(ids) for ids in self._encode(prompts, prompt=True)]
        b = _pad(seqs, device=self.device, multiple=PAD_MULTIPLE, pad_value=self.prompt_pad_id)
        if self.kind == "encoder-decoder":
            b["prompt_mask"] = b["attention_mask"]
        else:
            pm = [[0] + [1] * (len(s) - 2) + [0] for s in seqs]
            b["prompt_mask"] = _pad(pm, device=self.device, multiple=PAD_MULTIPLE)["input_ids"]
        return b

    # ---- forward ------------------------------------------------------------------------------------------
    def forward(self, batch: dict[str, torch.Tensor], with_embeddings: bool = False, label_smoothing: float = 0.0):
        """Return (token-mean cross-entropy, L2-normalised mean-pooled prompt embeddings or None).

        The loss is computed here rather than by transformers so that label smoothing is available and both kinds
        average the same way (over command tokens).
        """
        labels = batch["labels"]
        if self.kind == "encoder-decoder":
            out = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                             decoder_input_ids=self.model.prepare_decoder_input_ids_from_labels(labels=labels))
            logits, target = out.logits, labels
            hidden = out.encoder_last_hidden_state if with_embeddings else None
        else:
            out = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                             output_hidden_states=with_embeddings)
            logits, target = out.logits[:, :-1], labels[:, 1:]
            hidden = out.hidden_states[-1] if with_embeddings else None
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1), ignore_index=-100,
                               label_smoothing=label_smoothing)
        if hidden is None:
            return loss, None
        return loss, _pool(hidden, batch["prompt_mask"])

    def embed(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """L2-normalised mean-pooled prompt embeddings from the encoder (or the decoder-only stack), no head."""
        if self.kind == "encoder-decoder":
            hidden = self.model.get_encoder()(input_ids=batch["input_ids"],
                                              attention_mask=batch["attention_mask"]).last_hidden_state
        else:
            hidden = self.model.model(input_ids=batch["input_ids"],
                                      attention_mask=batch["attention_mask"]).last_hidden_state
        return _pool(hidden, batch["prompt_mask"])

    # ---- generation ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, prompts: Sequence[str], num_beams: int = 1, num_return: int = 1, batch_size: int = 64,
                 progress: Any = None) -> list[list[str]]:
        """Decode commands; returns `num_return` strings per prompt, best first.

        Decoder-only prompts are left-padded; transformers derives position ids from the attention mask
        (cumsum - 1), so a padded prompt decodes exactly as it does alone (tests/test_models.py checks this).
        """
        if num_return > num_beams:
            raise ValueError(f"num_return ({num_return}) cannot exceed num_beams ({num_beams})")
        was_training = self.model.training
        self.model.eval()
        results: list[list[str]] = []
        try:
            for start in range(0, len(prompts), batch_size):
                chunk = list(prompts[start:start + batch_size])
                enc = self.prompt_batch(chunk, left_pad=self.kind == "decoder-only")
                out = self.model.generate(
                    **enc, num_beams=num_beams, num_return_sequences=num_return, do_sample=False,
                    max_new_tokens=self.max_command_tokens, early_stopping=True if num_beams > 1 else False,
                    pad_token_id=PAD_ID, eos_token_id=EOS_ID, length_penalty=1.0,
                )
                if self.kind == "decoder-only":
                    out = out[:, enc["input_ids"].shape[1]:]
                texts = [decode(self.tokenizer, row.tolist()) for row in out.cpu()]
                results += [texts[i * num_return:(i + 1) * num_return] for i in range(len(chunk))]
                if progress is not None:
                    progress(len(chunk))
        finally:
            self.model.train(was_training)
        return results

    # ---- persistence --------------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """Write the `save_pretrained` folder plus tokenizer, home, scenic_model.json and a manifest of the files."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with _quiet_transformers():
            self.model.save_pretrained(folder)
        self.tokenizer.save(str(folder / TOKENIZER_FILE))
        if self.prompt_tokenizer is not None:
            from scenic.models.warm_start import PROMPT_TOKENIZER_FILE

            self.prompt_tokenizer.save(str(folder / PROMPT_TOKENIZER_FILE))
        if self.home_yaml is not None:
            (folder / HOME_FILE).write_text(self.home_yaml, encoding="utf-8")
        meta = {**self.info, "kind": self.kind, "max_prompt_tokens": self.max_prompt_tokens,
                "max_command_tokens": self.max_command_tokens}
        (folder / SCENIC_MODEL_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        # every file with its size and sha256, checked on load; `scenic train` / `compress` replace it with theirs
        from scenic.artifacts import MANIFEST, make_manifest, write_json_atomic

        files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST)
        write_json_atomic(folder / MANIFEST, make_manifest("checkpoint", {}, files=files, root=folder))

    @classmethod
    def load(cls, folder: str | Path, device: str | torch.device = "cpu", verify: bool | None = None) -> "CommandModel":
        """Load a checkpoint folder. Every file it reads is first checked against manifest.json (sizes and sha256),
        so corrupt or mismatched weights are refused before use; `verify=False` skips that for speed (default: on,
        unless `scenic --no-verify`)."""
        from scenic.artifacts import verifying
        from scenic.models.integrity import verify_checkpoint

        folder = Path(folder)
        meta_path = folder / SCENIC_MODEL_FILE
        if not folder.is_dir():
            raise ScenicError(f"{folder}: no such checkpoint folder")
        if not meta_path.is_file():
            raise ScenicError(f"{folder}: not a SCENIC checkpoint (no {SCENIC_MODEL_FILE})")
        if verifying() if verify is None else verify:
            verify_checkpoint(folder)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise ScenicError(f"{meta_path}: corrupt ({err}); copy the checkpoint again or remake it") from None
        kind = meta.pop("kind", None) if isinstance(meta, dict) else None
        if kind not in KINDS:
            raise ScenicError(f"{meta_path}: unknown model kind {kind!r} (known: {', '.join(KINDS)})")
        Auto = _model_class(folder)
        if MODEL_KINDS[Auto.__name__] != kind:
            raise ScenicError(f"{meta_path}: says kind '{kind}' but config.json is a {MODEL_KINDS[Auto.__name__]} "
                              "model; the checkpoint's files do not belong together")
        try:
            with _quiet_transformers():
                if (folder / "quantization.json").is_file():  # a quantized checkpoint from `scenic compress`
                    from scenic.compress.storage import load_quantized_model

                    model = load_quantized_model(folder, Auto, device)
                else:
                    model = Auto.from_pretrained(folder, use_safetensors=True).to(device)
            model.eval()
            home = (folder / HOME_FILE).read_text(encoding="utf-8") if (folder / HOME_FILE).is_file() else None
            from scenic.models.warm_start import PROMPT_TOKENIZER_FILE, load_prompt_tokenizer

            prompt_tok = load_prompt_tokenizer(folder / PROMPT_TOKENIZER_FILE) \
                if (folder / PROMPT_TOKENIZER_FILE).is_file() else None
            tokenizer = load_tokenizer(folder)
        except ScenicError:
            raise
        except Exception as err:  # safetensors, transformers, tokenizers and YAML each raise their own types
            first = " ".join(str(err).split())[:300]
            raise ScenicError(f"{folder}: cannot load the checkpoint ({type(err).__name__}: {first}); copy it again "
                              "or remake it") from err
        return cls(model=model, tokenizer=tokenizer, kind=kind,
                   max_prompt_tokens=meta.pop("max_prompt_tokens", 96),
                   max_command_tokens=meta.pop("max_command_tokens", 128), home_yaml=home, info=meta,
                   prompt_tokenizer=prompt_tok)

    def to(self, device: str | torch.device) -> "CommandModel":
        self.model.to(device)
        return self

    def home(self):
        """The home the model was trained for, if any (for validity checks)."""
        if self.home_yaml is None:
            return None
        import yaml

        from scenic.homes import parse_home

        return parse_home(yaml.safe_load(self.home_yaml), source="checkpoint home")


def _model_class(folder: Path):
    """The transformers class that a checkpoint's config.json names (T5, Llama, or a warm-started BERT pair)."""
    from transformers import EncoderDecoderModel, LlamaForCausalLM, T5ForConditionalGeneration

    classes = {"t5": T5ForConditionalGeneration, "llama": LlamaForCausalLM, "encoder-decoder": EncoderDecoderModel}
    try:
        model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError):
        raise ScenicError(f"{folder}: missing or unreadable config.json") from None
    if model_type not in classes:
        raise ScenicError(f"{folder}/config.json: unsupported model_type '{model_type}' (known: {', '.join(classes)})")
    return classes[model_type]


@contextlib.contextmanager
def _quiet_transformers():
    """transformers draws a progress bar for every save/load of a few-MB model; our own bars say enough."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def _pool(hidden: torch.Tensor, prompt_mask: torch.Tensor) -> torch.Tensor:
    mask = prompt_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)
    return F.normalize(pooled.float(), dim=-1)


# Training widths are rounded up: fewer distinct shapes for the GPU (each new one costs far more than the padding).
# Generation keeps exact widths, so its outputs match the ONNX runtime's, which pads the same way.
PAD_MULTIPLE = 16


def _pad(seqs: list[list[int]], left: bool = False, device: Any = "cpu", pad_value: int = PAD_ID,
         multiple: int = 1) -> dict[str, torch.Tensor]:
    width = -(-max(len(s) for s in seqs) // multiple) * multiple
    ids = np.full((len(seqs), width), pad_value, dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    for i, s in enumerate(seqs):
        sl = slice(width - len(s), width) if left else slice(0, len(s))
        ids[i, sl] = s
        mask[i, sl] = 1
    return {"input_ids": torch.from_numpy(ids).to(device, non_blocking=True),
            "attention_mask": torch.from_numpy(mask).to(device, non_blocking=True)}
