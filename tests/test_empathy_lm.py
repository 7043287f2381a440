"""The cause-aware empathetic generator over a pretrained causal LM (``empathy_lm``): prompts, the exactness of the
split forward, the gate, decoding, partial checkpoints and the trainer's cache of the frozen blocks. Tiny random
Llama models only (the registry-wide contract is in test_method_contract.py, learning in test_learning.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from hf_ecpe.data.empathy import EmpathyLMCollator
from hf_ecpe.models.empathy import EmpathyLMConfig, EmpathyLMForCausalLM
from hf_ecpe.models.empathy import modeling_empathy_lm as lm_module
from hf_ecpe.models.empathy.modeling_empathy_lm import build_prompt, corpus_tokens, left_padded, natural_text

CONVERSATION = ["i lost my job today .", "oh no , what happened ?", "they closed the whole office ."]
EXAMPLES = [
    {"context": CONVERSATION, "response": "i 'm so sorry to hear that .", "emotion": "sad", "cause_utterances": [0]},
    {"context": ["i passed my exam !"], "response": "that 's great , congrats !", "emotion": "joyful",
     "cause_utterances": []},
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_lm_dir(tmp_path_factory) -> Path:
    from hf_ecpe.llm.weights import build_tiny_random_llama

    texts = [" ".join(e["context"]) + " " + e["response"] for e in EXAMPLES] * 8
    texts += ["You are a caring listener. Reply to the speaker in one or two short, empathetic sentences."]
    return build_tiny_random_llama(tmp_path_factory.mktemp("tiny_lm"), texts, vocab_size=300)


def tiny_model(folder: Path, **settings) -> EmpathyLMForCausalLM:
    torch.manual_seed(0)
    settings = {"trainable_layers": 1, "lm_weights_package": None, "emotion_labels": ["sad", "joyful"], **settings}
    return EmpathyLMForCausalLM.from_lm(str(folder), **settings).eval()


def test_natural_text_and_corpus_tokens_round_trip():
    assert natural_text("i 'm sorry , that 's bad . do n't worry !") == "I'm sorry, that's bad. don't worry!"
    assert natural_text("we went there _comma_ it was fun") == "We went there, it was fun"
    assert corpus_tokens("I'm sorry, that's bad. Don't worry!") == "i 'm sorry , that 's bad . do n't worry !"
    assert corpus_tokens(corpus_tokens("Hello, world!")) == corpus_tokens("Hello, world!")


def test_prompt_marks_the_context_tokens_and_cuts_the_oldest(tiny_lm_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_dir)
    config = EmpathyLMConfig(emotion_labels=["sad", "joyful"], context_utterances=2)
    prompt = build_prompt(tokenizer, CONVERSATION, config)
    assert prompt.first_utterance == 1 and set(prompt.owners) == {-1, 1, 2}
    for owner, text in ((1, "Oh no, what happened?"), (2, "They closed the whole office.")):
        ids = [i for i, o in zip(prompt.ids, prompt.owners) if o == owner]
        assert tokenizer.decode(ids).strip() == text
    assert tokenizer.decode(prompt.ids).rstrip().endswith("assistant")  # the reply follows the assistant header
    short = build_prompt(tokenizer, ["word " * 200], EmpathyLMConfig(emotion_labels=["a", "b"], max_context_tokens=20))
    assert 0 < sum(o >= 0 for o in short.owners) <= 20


def test_collator_scores_the_reply_and_labels_the_causes(tiny_lm_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_dir)
    model = tiny_model(tiny_lm_dir)
    batch = EmpathyLMCollator(tokenizer, model.config)(EXAMPLES)
    first = batch["labels"][0][batch["labels"][0] != -100]
    assert tokenizer.decode(first) == "I'm so sorry to hear that." + tokenizer.eos_token
    assert batch["emotion_labels"].tolist() == [0, 1]
    causes = batch["cause_labels"][0]
    context = batch["context_mask"][0].bool()
    assert (causes[~context] == -100).all() and set(causes[context].tolist()) == {0, 1}
    prompt = build_prompt(tokenizer, CONVERSATION, model.config)  # utterance 0 (the cause) and 2 (the last) are 1
    expected = [int(o in (0, 2)) for o in prompt.owners if o >= 0]
    assert causes[context].tolist() == expected
    assert "cause_labels" not in EmpathyLMCollator(tokenizer, tiny_model(tiny_lm_dir, gate="none").config)(EXAMPLES)


def test_split_forward_is_the_language_model_without_gate_or_emotion(tiny_lm_dir):
    """Without gate and emotion vector, bottom + top blocks are exactly the LM's own forward."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_dir)
    model = tiny_model(tiny_lm_dir, gate="none", emotion_embedding=False)
    batch = EmpathyLMCollator(tokenizer, model.config)(EXAMPLES)
    with torch.no_grad():
        ours = model(**batch, return_logits=True)
        plain = model.lm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    real = batch["attention_mask"].bool()
    assert torch.allclose(ours.logits[real], plain.logits[real], atol=1e-5)


def test_cached_frozen_states_give_the_same_losses(tiny_lm_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_dir)
    model = tiny_model(tiny_lm_dir)
    batch = EmpathyLMCollator(tokenizer, model.config)(EXAMPLES)
    with torch.no_grad():
        whole = model(**batch)
        cached = model(**batch, frozen_states=model.frozen_states(batch["input_ids"], batch["attention_mask"]))
    for key in ("loss", "generation_loss", "emotion_loss", "cause_loss"):
        assert torch.allclose(whole[key], cached[key], atol=1e-6), key


def test_gate_is_log_p_cause_on_the_context_only(tiny_lm_dir):
    model = tiny_model(tiny_lm_dir)
    logits = torch.tensor([[2.0, -1.0, 0.5, 3.0]])
    context = torch.tensor([[0, 1, 1, 0]])
    bias = model.gate_bias(logits, context)
    assert bias[0, 0] == 0 and bias[0, 3] == 0
    assert torch.allclose(bias[0, 1:3], torch.log(torch.sigmoid(logits[0, 1:3])))
    # the gate moves attention: more cause on one context token changes the reply distribution
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_dir)
    batch = EmpathyLMCollator(tokenizer, model.config)(EXAMPLES[:1])
    with torch.no_grad():
        before = model(**batch, return_logits=True).logits
        model.cause_head.bias.add_(5.0)
        after = model(**batch, return_logits=True).logits
    assert not torch.allclose(before, after)
    assert tiny_model(tiny_lm_dir, gate="none").gate_bias(None, context) is None


def test_decoding_with_and_without_the_cache_agree_and_never_repeat_a_trigram(tiny_lm_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_dir)
    model = tiny_model(tiny_lm_dir)
    batch = left_padded([build_prompt(tokenizer, c, model.config) for c in (CONVERSATION, ["hi"])], 0)
    cached, _, _ = model.generate_replies(**batch, max_new_tokens=12)
    uncached, _, _ = model.generate_replies(**batch, max_new_tokens=12, use_cache=False)
    assert torch.equal(cached, uncached)
    for row in cached.tolist():
        end = tokenizer.eos_token_id
        reply = row[: row.index(end)] if end in row else row
        trigrams = [tuple(reply[i : i + 3]) for i in range(len(reply) - 2)]
        assert len(trigrams) == len(set(trigrams))
    free, _, _ = model.generate_replies(**batch, max_new_tokens=12, no_repeat_ngram_size=0)
    assert free.shape[0] == 2
    sampled = [model.generate_replies(**batch, max_new_tokens=6, do_sample=True, seed=3)[0] for _ in range(2)]
    assert torch.equal(sampled[0], sampled[1])
    with pytest.raises(ValueError, match="unknown generation settings"):
        model.generate_replies(**batch, num_beams=4)


def test_predict_returns_the_reply_emotion_and_causes(tiny_lm_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_dir)
    model = tiny_model(tiny_lm_dir)
    one = model.predict(CONVERSATION, tokenizer=tokenizer, max_new_tokens=5, cause_threshold=0.0)
    assert isinstance(one.response, str) and one.emotion in ("sad", "joyful") and 0 < one.emotion_score <= 1
    assert {c.index for c in one.cause_utterances} <= {0, 1, 2} and one.cause_utterances
    assert len(one.tokens) == len(one.token_utterances) == len(one.cause_probabilities)
    many = model.predict([CONVERSATION, ["hi there"]], tokenizer=tokenizer, batch_size=1, max_new_tokens=5)
    assert many[0].response == one.response and len(many) == 2
    with pytest.raises(ValueError, match="at least one utterance"):
        model.predict([[]], tokenizer=tokenizer)
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(CONVERSATION, tokenizer=tokenizer, batch_size=0)
    with pytest.raises(TypeError, match="list of utterance strings"):
        model.predict("just a string", tokenizer=tokenizer)


def test_partial_checkpoint_stores_only_the_trained_weights(tiny_lm_dir, tmp_path, monkeypatch):
    """With ``lm_weights_package`` the file holds the top block, the final norm and the reasoner; loading restores
    the frozen rest from the package (here: the tiny LM itself) exactly, and refuses a package that lacks some."""
    source = EmpathyLMForCausalLM.from_lm(str(tiny_lm_dir), trainable_layers=1, emotion_labels=["sad", "joyful"])
    with torch.no_grad():
        source.lm.model.layers[-1].mlp.up_proj.weight.add_(0.1)  # a trained change
    source.save_pretrained(tmp_path)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "model.safetensors"), "pt") as stored:
        names = set(stored.keys())
    assert not any(".layers.0." in name or "embed_tokens" in name for name in names)
    assert any(".layers.1." in name for name in names) and "cause_head.weight" in names

    package = EmpathyLMForCausalLM.from_lm(str(tiny_lm_dir), trainable_layers=1, emotion_labels=["sad", "joyful"])
    monkeypatch.setattr(lm_module, "packaged_lm_state", lambda name: package.lm.state_dict())
    loaded = EmpathyLMForCausalLM.from_pretrained(tmp_path)
    for name, value in source.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[name]), name
    assert not loaded.lm.model.layers[0].self_attn.q_proj.weight.requires_grad

    partial_state = {k: v for k, v in package.lm.state_dict().items() if "layers.0." not in k}
    monkeypatch.setattr(lm_module, "packaged_lm_state", lambda name: partial_state)
    with pytest.raises(ValueError, match="incomplete"):
        EmpathyLMForCausalLM.from_pretrained(tmp_path)


def test_trainer_cache_equals_the_uncached_run_and_is_reused_from_disk(tiny_lm_dir, tmp_path):
    from datasets import Dataset

    from hf_ecpe.trainers.arguments import EcpeTrainingArguments
    from hf_ecpe.trainers.empathy_lm import EmpathyLMTrainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_dir)
    data = Dataset.from_list(EXAMPLES * 4)

    def run(cache: bool, folder: str | None) -> tuple[list[float], EmpathyLMTrainer]:
        model = tiny_model(tiny_lm_dir).train()
        args = EcpeTrainingArguments(
            output_dir=str(tmp_path / f"run_{cache}_{folder is not None}"), num_train_epochs=2,
            per_device_train_batch_size=4, learning_rate=1e-2, logging_steps=1, report_to="none", seed=0,
            save_strategy="no", eval_strategy="no", metric_for_best_model="loss", greater_is_better=False,
            cache_frozen_encoder=cache, frozen_cache_dir=folder, disable_tqdm=True, dataloader_num_workers=0,
            use_cpu=True,
        )  # fmt: skip
        trainer = EmpathyLMTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)
        trainer.train()
        return [log["loss"] for log in trainer.state.log_history if "loss" in log], trainer

    plain, _ = run(False, None)
    cached, first = run(True, str(tmp_path / "cache"))
    assert cached == pytest.approx(plain, abs=1e-5)
    assert first.frozen_cache_misses == 2 and first.frozen_cache_hits == 16 - 2  # 2 distinct rows; 2 epochs of 8
    again, second = run(True, str(tmp_path / "cache"))
    assert second.frozen_cache_misses == 0 and again == pytest.approx(plain, abs=1e-5)
