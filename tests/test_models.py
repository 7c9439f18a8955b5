"""Backbones: tokenizer (English + Chinese), preset sizes, CommandModel batching, embeddings, generation, save/load."""

from __future__ import annotations

import pytest
import torch

from scenic import ScenicError
from scenic.models import PRESETS, CommandModel, build_model, count_parameters, preset, train_tokenizer
from scenic.models.tokenizer import EOS_ID, SEP_ID, decode, encode
from export_helpers import torch_one_thread  # noqa: F401 (a fixture)

TEXTS = ["turn on the kitchen light", "打开客厅的灯", "把卧室的空调调到二十一度", "set the study to 40%",
         'HassTurnOn area="Kitchen" domain="light"', 'HassLightSet area="客厅" brightness=40',
         "close the garage door", "关闭车库门"] * 4


pytestmark = pytest.mark.usefixtures("torch_one_thread")  # micro models lose a lot to threads on 2 cores


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS, vocab_size=400)


def micro(kind: str, tokenizer) -> CommandModel:
    torch.manual_seed(0)
    return CommandModel.create(preset("t5-micro" if kind == "t5" else "llama-micro"), tokenizer)


def test_tokenizer_round_trips_english_chinese_and_unseen_characters(tokenizer):
    for text in TEXTS + ["鱼香肉丝 ＃ unseen ü ß 🙂", 'Unsupported reason=out_of_range ; HassTurnOff name="Ω"']:
        ids = encode(tokenizer, text)
        assert decode(tokenizer, ids + [EOS_ID, 7, 8]) == text  # decoding stops at EOS
    assert len(encode(tokenizer, "打开客厅的灯")) < len("打开客厅的灯".encode("utf-8"))  # merges learned for Chinese


def test_preset_sizes_are_in_their_bands():
    with torch.device("meta"):  # shapes only: no memory, no initialisation time
        # minilm-warm's size comes from the pretrained folder it loads (tests/test_warm_start.py builds it)
        sizes = {name: count_parameters(build_model(preset(name))) for name, p in PRESETS.items()
                 if p.get("encoder_init") is None}
    assert all(n < 200_000_000 for n in sizes.values())
    for kind in ("t5", "llama"):
        assert 100_000 <= sizes[f"{kind}-micro"] <= 500_000
        assert 4_000_000 <= sizes[f"{kind}-tiny"] <= 7_000_000
        assert 30_000_000 <= sizes[f"{kind}-small"] <= 60_000_000


def test_backbone_fields_must_fit_the_kind():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="num_decoder_layers applies to encoder-decoder"):
        preset("llama-micro", num_decoder_layers=2)
    with pytest.raises(ValidationError, match="not divisible by num_heads"):
        preset("t5-micro", num_heads=3)


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ScenicError, match="unknown preset 'gpt-9'"):
        preset("gpt-9")


def test_decoder_only_batch_masks_prompt_out_of_labels(tokenizer):
    cm = micro("llama", tokenizer)
    b = cm.training_batch(["turn on the kitchen light", "打开客厅的灯"], ['HassTurnOn area="Kitchen"', "x"])
    for row in range(2):
        ids, labels, pm = b["input_ids"][row], b["labels"][row], b["prompt_mask"][row]
        sep = (ids == SEP_ID).nonzero()[0].item()
        assert (labels[: sep + 1] == -100).all() and labels[sep + 1] != -100
        assert pm[0] == 0 and pm[1:sep].all() and pm[sep:].sum() == 0  # pools the prompt's own tokens only


@pytest.mark.parametrize("kind", ["t5", "llama"])
def test_forward_embeddings_match_prompt_only_embed(kind, tokenizer):
    """The pooled embedding from the CE pass equals the one from the prompt-only pass used for negatives."""
    cm = micro(kind, tokenizer)
    cm.model.eval()
    prompts, commands = ["turn on the kitchen light", "打开客厅的灯"], ['HassTurnOn area="Kitchen"', 'HassTurnOn name="灯"']
    with torch.no_grad():
        loss, emb = cm.forward(cm.training_batch(prompts, commands), with_embeddings=True)
        alone = cm.embed(cm.embedding_batch(prompts))
    assert loss.item() > 0 and emb.shape == (2, 64)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert torch.allclose(emb, alone, atol=1e-5)


@pytest.mark.parametrize("kind", ["t5", "llama"])
def test_batched_padded_beam_search_equals_one_prompt_at_a_time(kind, tokenizer):
    """Left padding (decoder-only) and padding in general must not change what a prompt decodes to."""
    cm = micro(kind, tokenizer)
    cm.max_command_tokens = 12
    prompts = ["turn on the kitchen light", "打开客厅的灯", "close the garage door please now", "set the study to 40%"]
    batched = cm.generate(prompts, num_beams=4, num_return=4, batch_size=8)
    single = [cm.generate([p], num_beams=4, num_return=4)[0] for p in prompts]
    assert batched == single
    assert [len(x) for x in batched] == [4] * 4
    greedy = cm.generate(prompts, num_beams=1, num_return=1, batch_size=8)
    assert greedy == [cm.generate([p])[0] for p in prompts]


def test_left_padded_decoder_logits_equal_unpadded(tokenizer):
    cm = micro("llama", tokenizer)
    cm.model.eval()
    prompts = ["turn on the kitchen light", "打开客厅"]
    enc = cm.prompt_batch(prompts, left_pad=True)
    pos = (enc["attention_mask"].cumsum(-1) - 1).clamp_min(0)  # what generate derives from the mask
    with torch.no_grad():
        padded = cm.model(**enc, position_ids=pos).logits[:, -1]
        alone = []
        for p in prompts:
            b = cm.prompt_batch([p])  # right-padded to a multiple of PAD_MULTIPLE: take the last real position
            alone.append(cm.model(**b).logits[0, b["attention_mask"][0].sum() - 1])
        alone = torch.stack(alone)
    assert torch.allclose(padded, alone, atol=1e-4)


@pytest.mark.parametrize("kind", ["t5", "llama"])
def test_save_load_round_trip(kind, tokenizer, tmp_path):
    cm = micro(kind, tokenizer)
    cm.home_yaml = "name: x\n"
    cm.info["preset"] = "micro"
    cm.save(tmp_path / "ck")
    back = CommandModel.load(tmp_path / "ck")
    assert back.kind == cm.kind and back.info["preset"] == "micro" and back.home_yaml == "name: x\n"
    assert back.tokenizer.to_str() == cm.tokenizer.to_str()
    for (n1, p1), (n2, p2) in zip(cm.model.state_dict().items(), back.model.state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2)
    cm.max_command_tokens = back.max_command_tokens = 10
    assert back.generate(["打开客厅的灯"], num_beams=2, num_return=2) == cm.generate(["打开客厅的灯"], num_beams=2,
                                                                                     num_return=2)


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(ScenicError, match="no such checkpoint folder"):
        CommandModel.load(tmp_path / "missing")
    with pytest.raises(ScenicError, match="not a SCENIC checkpoint"):
        CommandModel.load(tmp_path)
