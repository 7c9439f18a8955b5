"""Per-component cases for a PyTorch checkpoint: encoder (or prompt prefill), one cached decoder step, end to end."""

from __future__ import annotations

from typing import Any

from scenic.profile.timing import DECODER_CONTEXT_TOKENS, Case


def torch_cases(name: str, folder: str, prompts_by_length: dict[str, list[str]], batches: list[int], device: str = "cpu",
                static_cache: bool = False) -> tuple[list[Case], dict[str, Any]]:
    import torch

    from scenic.models import CommandModel
    from scenic.models.tokenizer import PAD_ID

    cm = CommandModel.load(folder, device=device)
    model = cm.model.eval()
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    cases: list[Case] = []
    context_tokens = DECODER_CONTEXT_TOKENS

    for length, pool in prompts_by_length.items():
        for b in batches:
            prompts = (pool * ((b + len(pool) - 1) // len(pool)))[:b]
            enc = cm.prompt_batch(prompts, left_pad=cm.kind == "decoder-only")

            if cm.kind == "encoder-decoder":
                def encoder(enc=enc):
                    with torch.inference_mode():
                        return model.encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])

                with torch.inference_mode():
                    enc_out = encoder()
                    dec_in = torch.full((b, context_tokens), PAD_ID, dtype=torch.long, device=cm.device)
                    past = model(encoder_outputs=enc_out, attention_mask=enc["attention_mask"],
                                 decoder_input_ids=dec_in, use_cache=True).past_key_values

                def step(enc=enc, enc_out=enc_out, past=past, b=b):
                    with torch.inference_mode():
                        tok = torch.full((b, 1), PAD_ID, dtype=torch.long, device=cm.device)
                        out = model(encoder_outputs=enc_out, attention_mask=enc["attention_mask"],
                                    decoder_input_ids=tok, past_key_values=past, use_cache=True)
                        past.crop(-1)  # keep the cache length fixed across repeats
                        return out.logits
            else:
                def encoder(enc=enc):  # decoder-only: the prompt prefill plays the encoder's part
                    with torch.inference_mode():
                        return model(**enc, use_cache=True)

                with torch.inference_mode():
                    ids = torch.cat([enc["input_ids"], torch.full((b, context_tokens), 5, device=cm.device)], 1)
                    mask = torch.ones_like(ids)
                    mask[:, : enc["attention_mask"].shape[1]] = enc["attention_mask"]
                    past = model(input_ids=ids, attention_mask=mask, use_cache=True).past_key_values
                    step_mask = torch.cat([mask, torch.ones((b, 1), dtype=mask.dtype, device=cm.device)], 1)

                def step(past=past, step_mask=step_mask, b=b):
                    with torch.inference_mode():
                        tok = torch.full((b, 1), 5, dtype=torch.long, device=cm.device)
                        out = model(input_ids=tok, attention_mask=step_mask, past_key_values=past, use_cache=True)
                        past.crop(-1)
                        return out.logits

            def e2e(prompts=prompts):
                return cm.generate(prompts, num_beams=1, num_return=1, batch_size=len(prompts))

            cases += [Case(name, "encoder", b, length, encoder, b, sync),
                      Case(name, "decoder_step", b, length, step, b, sync),
                      Case(name, "end_to_end", b, length, e2e, b, sync)]
            if static_cache and device.startswith("cuda"):
                cases.append(Case(name, "end_to_end_static", b, length, _static_generate(cm, prompts), b, sync))
    info = {"backend": "torch", "device": device, "kind": cm.kind, "threads": torch.get_num_threads(),
            "parameters": sum(p.numel() for p in model.parameters())}
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name()
    return cases, info


def _static_generate(cm, prompts):
    """Generation with a static KV cache and CUDA graphs (torch.compile 'reduce-overhead'): small models are
    launch-bound on a GPU, so replaying a captured graph per step is where their speed is."""
    import torch

    from scenic.models.tokenizer import EOS_ID, PAD_ID, decode

    # No torch.compile of model.forward here: patching it made the dynamic-cache cases of the same model run
    # through CUDA graphs too, which overwrote their cache tensors (seen on the H100). transformers' generate
    # compiles its own separate call (compile_config) when the cache is static.
    model = cm.model
    enc = cm.prompt_batch(prompts, left_pad=cm.kind == "decoder-only")

    def run():
        torch.compiler.cudagraph_mark_step_begin()
        with torch.inference_mode():
            out = model.generate(**enc, do_sample=False, num_beams=1, max_new_tokens=cm.max_command_tokens,
                                 cache_implementation="static", pad_token_id=PAD_ID, eos_token_id=EOS_ID)
        return [decode(cm.tokenizer, r.tolist()) for r in out]

    return run
