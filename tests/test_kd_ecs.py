"""KD-ECS (Chen et al., AAAI 2024): prompts, verbaliser checks, the distillation term, ablation switches, span
decoding, save / reload, the causal-LM teacher with LoRA, and teacher → student distillation end to end through
``scripts.train`` / ``scripts.evaluate`` (and the tiny recipes under ``accelerate launch``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, BertTokenizer

import hf_ecpe
from hf_ecpe.data.kd_ecs import KdEcsCollator, pair_examples, prepare_dataset
from hf_ecpe.losses import connective_loss, distillation_loss
from hf_ecpe.methods import get_method
from hf_ecpe.models.kd_ecs import (
    KdEcsStudentConfig,
    KdEcsStudentModel,
    KdEcsTeacherConfig,
    KdEcsTeacherModel,
    best_spans,
)
from hf_ecpe.models.kd_ecs.processing_kd_ecs import (
    aggregate_emotions,
    build_prompt,
    char_span,
    predict_examples,
    prepare_tokenizer,
)

REPO = Path(__file__).resolve().parents[1]
TINY = get_method("kd_ecs_student").tiny_settings
TINY_TEACHER = get_method("kd_ecs_teacher").tiny_settings
ROW = {
    "id": "c1",
    "kind": "conversation",
    "language": "en",
    "units": ["today was terrible", "i lost my job", "oh no that is terrible", "i was so sad"],
    "speakers": ["A", "A", "B", "A"],
    "emotions": ["sadness", "neutral", "surprise", "sadness"],
    "pairs": [
        {"emotion": 3, "cause": 1, "cause_span": [2, 13], "emotion_span": [-1, -1], "category": "sadness"},
        {"emotion": 2, "cause": 1, "cause_span": [-1, -1], "emotion_span": [-1, -1], "category": "surprise"},
        {"emotion": 0, "cause": 0, "cause_span": [6, 18], "emotion_span": [-1, -1], "category": "sadness"},
    ],
}


def tiny_student(tiny_encoder_dir: Path, **settings) -> tuple[KdEcsStudentModel, object]:
    torch.manual_seed(0)
    model = KdEcsStudentModel.from_encoder(str(tiny_encoder_dir), **{**TINY, **settings})
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    prepare_tokenizer(tokenizer, model.config)
    return model, tokenizer


def tiny_teacher(tiny_encoder_dir: Path, **settings) -> tuple[KdEcsTeacherModel, object]:
    torch.manual_seed(0)
    model = KdEcsTeacherModel.from_encoder(str(tiny_encoder_dir), **{**TINY_TEACHER, **settings})
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    return model, prepare_tokenizer(tokenizer, model.config)


# ---------------------------------------------------------------------------------------------------------------
# prompts
# ---------------------------------------------------------------------------------------------------------------


def test_teacher_prompt_has_turns_speakers_the_gold_emotion_history_and_the_mask(tiny_encoder_dir):
    model, tokenizer = tiny_teacher(tiny_encoder_dir)
    prompt = build_prompt(model.config, tokenizer, ROW["units"], ROW["speakers"], 3, 1, "sadness")
    assert prompt["text"] == (
        "today was terrible [SEP] i lost my job [SEP] oh no that is terrible [SEP] turn 4 A feels sadness and says "
        "i was so sad turn 2 A says i lost my job The connective word between turn 4 and turn 2 is [MASK] ."
    )
    assert prompt["history"] == [0, 1, 2]
    first, stop = prompt["cause_token_range"]
    assert tokenizer.decode(prompt["input_ids"][first:stop]) == "i lost my job"
    assert prompt["input_ids"].count(tokenizer.mask_token_id) == 1


def test_student_prompt_has_the_four_added_masks_and_its_ablations_change_it(tiny_encoder_dir):
    model, tokenizer = tiny_student(tiny_encoder_dir)
    text = build_prompt(model.config, tokenizer, ROW["units"], ROW["speakers"], 3, 1)["text"]
    assert text.endswith("turn 4 A feels <mask_emo> and says i was so sad <mask_cau> turn 2 A says i lost my job "
                         "The causal span start at <mask_st> , end at <mask_ed> .")  # fmt: skip
    ids = model.config.mask_token_ids
    encoded = build_prompt(model.config, tokenizer, ROW["units"], ROW["speakers"], 3, 1)["input_ids"]
    assert all(encoded.count(token_id) == 1 for token_id in ids.values())
    cls_config = KdEcsStudentConfig(**{**model.config.to_dict(), "causal_head": "cls"})
    text = build_prompt(cls_config, tokenizer, ROW["units"], ROW["speakers"], 3, 1)["text"]
    assert "<mask_cau>" not in text and "i was so sad turn 2" in text  # no double space left behind
    given = KdEcsStudentConfig(**{**model.config.to_dict(), "given_emotion": True})
    text = build_prompt(given, tokenizer, ROW["units"], ROW["speakers"], 3, 1, "sadness")["text"]
    assert "feels sad and says" in text and "<mask_emo>" not in text  # the label's verbaliser word
    with pytest.raises(ValueError, match="given_emotion=True"):
        build_prompt(given, tokenizer, ROW["units"], ROW["speakers"], 3, 1, None)


def test_history_truncation_drops_the_oldest_history_first_and_never_cuts_the_pair(tiny_encoder_dir):
    model, tokenizer = tiny_teacher(tiny_encoder_dir)
    full = build_prompt(model.config, tokenizer, ROW["units"], ROW["speakers"], 3, 0, "sadness")
    short = KdEcsTeacherConfig(**{**model.config.to_dict(), "max_prompt_tokens": len(full["input_ids"]) - 3})
    prompt = build_prompt(short, tokenizer, ROW["units"], ROW["speakers"], 3, 0, "sadness")
    assert prompt["history"] == [1, 2]  # u_1 (the oldest) went first, although it is u_j itself
    assert len(prompt["input_ids"]) <= short.max_prompt_tokens
    assert "says i was so sad" in prompt["text"] and "says today was terrible" in prompt["text"]
    first, stop = prompt["cause_token_range"]
    assert tokenizer.decode(prompt["input_ids"][first:stop]) == "today was terrible"
    capped = KdEcsTeacherConfig(**{**model.config.to_dict(), "max_history_utterances": 1})
    assert build_prompt(capped, tokenizer, ROW["units"], ROW["speakers"], 3, 0, "sadness")["history"] == [2]
    none_fit = KdEcsTeacherConfig(**{**model.config.to_dict(), "max_prompt_tokens": 10})
    with pytest.raises(ValueError, match=r"without any history.*u_i and u_j are never cut"):
        build_prompt(none_fit, tokenizer, ROW["units"], ROW["speakers"], 3, 0, "sadness", where="row 'c1'")


def test_templates_and_settings_are_validated_with_the_field_named():
    with pytest.raises(ValueError, match=r"template must contain \{mask\} exactly once"):
        KdEcsTeacherConfig(template="{utterance_i} {utterance_j}")
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['nope'\]"):
        KdEcsStudentConfig(template="{nope} {utterance_i} {utterance_j} {mask_emo} {mask_cau} {mask_st} {mask_ed}")
    with pytest.raises(ValueError, match="kd_direction must be one of"):
        KdEcsStudentConfig(kd_direction="both")
    with pytest.raises(ValueError, match="both causal_connectives and noncausal_connectives"):
        KdEcsTeacherConfig(causal_connectives=["because"], noncausal_connectives=["because"])
    with pytest.raises(ValueError, match="2 words for 7 emotion_labels"):
        KdEcsStudentConfig(emotion_words=["a", "b"])
    with pytest.raises(ValueError, match="alpha must be a number in"):
        KdEcsStudentConfig(alpha=1.5)


def test_a_verbaliser_word_that_is_not_one_token_is_an_error_naming_it(tiny_encoder_dir):
    with pytest.raises(ValueError, match=r"connective word 'since' is not a single token"):
        KdEcsTeacherModel.from_encoder(str(tiny_encoder_dir), causal_connectives=["because", "since"])
    with pytest.raises(ValueError, match=r"emotion word 'neutral' is not a single token"):
        KdEcsStudentModel.from_encoder(str(tiny_encoder_dir), **{**TINY, "emotion_words": None})


# ---------------------------------------------------------------------------------------------------------------
# equations
# ---------------------------------------------------------------------------------------------------------------


def test_the_two_kl_directions_differ_and_match_their_definitions():
    student = torch.tensor([[0.0, 0.0, 0.0, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4, -2.0]])  # flat vs peaked: KL is asymmetric
    teacher = torch.tensor([[8.0, 0.0, 0.0, 0.0, -4.0], [1.0, -1.0, 0.0, 6.0, 0.5]])
    tau = 2.0
    forward = distillation_loss(student, teacher, tau, "forward")
    reverse = distillation_loss(student, teacher, tau, "reverse")
    assert abs(float(forward - reverse)) > 0.05
    p_t, p_s = (teacher / tau).softmax(-1), (student / tau).softmax(-1)
    assert torch.allclose(forward, (p_t * (p_t.log() - p_s.log())).sum(-1).mean(), atol=1e-6)
    # the reference code: nn.KLDivLoss(reduction='batchmean')(log_softmax(teacher / T), softmax(student / T))
    reference = nn.KLDivLoss(reduction="batchmean")((teacher / tau).log_softmax(-1), (student / tau).softmax(-1))
    assert torch.allclose(reverse, reference, atol=1e-6)
    assert float(distillation_loss(teacher, teacher, tau, "forward")) == pytest.approx(0.0, abs=1e-7)


def test_connective_targets_fixed_word_or_relation_mass():
    logits = torch.tensor([[1.0, 2.0, 0.0, 0.5, -1.0], [0.0, 0.0, 0.0, 0.0, 3.0]])
    labels = torch.tensor([1, 0])
    fixed = connective_loss(logits, labels, num_causal=4, target="fixed")
    expected = -(logits.log_softmax(-1)[0, 0] + logits.log_softmax(-1)[1, 4]) / 2  # "because" / "other"
    assert torch.allclose(fixed, expected)
    relation = connective_loss(logits, labels, num_causal=4, target="relation")
    mass = logits.softmax(-1)
    assert torch.allclose(relation, -(mass[0, :4].sum().log() + mass[1, 4:].sum().log()) / 2, atol=1e-6)
    assert float(relation) < float(fixed)
    assert connective_loss(logits, torch.tensor([-100, -100]), 4) is None


def test_the_losses_live_in_losses_and_the_model_folder_carries_checked_copies():
    """Issue 22: every loss in hf_ecpe.losses; the student's forward (remote code) computes them with marked copies
    that check_copies keeps identical, so both give the same numbers."""
    from hf_ecpe.losses import kd_ecs as losses
    from hf_ecpe.models.kd_ecs import modeling_kd_ecs
    from hf_ecpe.tools.check_copies import check_copies

    assert connective_loss is losses.connective_loss and distillation_loss is losses.distillation_loss
    source = Path(modeling_kd_ecs.__file__).resolve()
    assert [drift for drift in check_copies() if drift.path.resolve() == source] == []
    logits, teacher = torch.randn(3, 5, generator=torch.Generator().manual_seed(0)), torch.randn(3, 5)
    labels = torch.tensor([1, 0, -100])
    for target in ("fixed", "relation"):
        assert torch.equal(
            modeling_kd_ecs.connective_loss(logits, labels, 4, target), connective_loss(logits, labels, 4, target)
        )
    for direction in ("forward", "reverse"):
        assert torch.equal(
            modeling_kd_ecs.distillation_loss(logits, teacher, 2.0, direction),
            distillation_loss(logits, teacher, 2.0, direction),
        )


def test_span_decoding_is_the_brute_force_best_within_u_j_and_the_length_limit():
    torch.manual_seed(1)
    start, end = torch.randn(6, 12), torch.randn(6, 12)
    mask = torch.zeros(6, 12, dtype=torch.bool)
    for row in range(6):
        mask[row, 2 + row % 3 : 9] = True
    for limit in (1, 3, 20):
        got_start, got_end, got_score = best_spans(start, end, mask, limit)
        for row in range(6):
            allowed = mask[row].nonzero().flatten().tolist()
            candidates = [
                (float(start[row, s] + end[row, e]), s, e) for s in allowed for e in allowed if s <= e < s + limit
            ]
            score, s, e = max(candidates)
            assert (int(got_start[row]), int(got_end[row])) == (s, e) and float(got_score[row]) == pytest.approx(score)
            assert int(got_start[row]) <= int(got_end[row]) and bool(mask[row, got_start[row]])
    empty = best_spans(start[:1], end[:1], torch.zeros(1, 12, dtype=torch.bool), 5)
    assert empty[0].item() == -1 and empty[1].item() == -1


def test_decoded_spans_come_back_as_character_offsets_of_u_j(tiny_encoder_dir):
    model, tokenizer = tiny_student(tiny_encoder_dir)
    example = pair_examples(ROW, model.config, tokenizer)[-3]  # (3, 1): the span "lost my job" of "i lost my job"
    assert (example["emotion_index"], example["cause_index"], example["relation"]) == (3, 1, 1)
    unit = ROW["units"][1]
    first = example["cause_token_range"][0]
    assert (example["start_position"], example["end_position"]) == (first + 1, first + 3)
    span = char_span(example["cause_offsets"], first, example["start_position"], example["end_position"], unit)
    assert unit[span[0] : span[1]] == "lost my job"
    neutral = [e for e in pair_examples(ROW, model.config, tokenizer) if e["emotion_index"] == 1]
    assert [e["relation"] for e in neutral] == [0, 0] and all(e["start_position"] == -100 for e in neutral)
    whole = next(
        e for e in pair_examples(ROW, model.config, tokenizer) if (e["emotion_index"], e["cause_index"]) == (2, 1)
    )
    assert whole["cause_span"] == [0, len(unit)]  # no span in the corpus: the whole utterance


# ---------------------------------------------------------------------------------------------------------------
# the student's switches
# ---------------------------------------------------------------------------------------------------------------


def student_outputs(tiny_encoder_dir, teacher_logits=None, **settings):
    model, tokenizer = tiny_student(tiny_encoder_dir, **settings)
    model.eval()
    batch = KdEcsCollator(tokenizer, model.config)([ROW])
    if teacher_logits is not None:
        batch["teacher_logits"] = teacher_logits(batch["input_ids"].size(0))
    with torch.no_grad():
        return model, batch, model(**batch)


def fixed_teacher(n):
    return torch.linspace(-1, 1, n * 4).view(n, 4)


def test_alpha_weights_the_kd_term_and_alpha_one_drops_it(tiny_encoder_dir):
    _, _, kd = student_outputs(tiny_encoder_dir, fixed_teacher, alpha=0.6, kd_temperature=2.0)
    supervised = kd.loss_emotion + kd.loss_span + kd.loss_connective
    assert torch.allclose(kd.loss, 0.6 * supervised + 0.4 * 4.0 * kd.loss_kd, atol=1e-5)
    _, _, no_kd = student_outputs(tiny_encoder_dir, fixed_teacher, alpha=1.0)
    assert no_kd.loss_kd is None and torch.allclose(no_kd.loss, supervised, atol=1e-5)
    _, _, reverse = student_outputs(tiny_encoder_dir, fixed_teacher, kd_direction="reverse")
    assert not torch.allclose(reverse.loss_kd, kd.loss_kd)
    _, _, literal = student_outputs(tiny_encoder_dir, fixed_teacher, connective_loss_weight=0.0)
    assert torch.allclose(literal.loss, 0.6 * (kd.loss_emotion + kd.loss_span) + 1.6 * kd.loss_kd, atol=1e-5)


def test_without_connectives_a_cls_head_decides(tiny_encoder_dir):
    model, batch, out = student_outputs(tiny_encoder_dir, alpha=1.0, causal_head="cls")
    assert out.logits is None and out.relation_logits.shape == (batch["input_ids"].size(0), 2)
    assert out.loss_relation is not None and out.loss_connective is None
    assert torch.allclose(out.causal_probability, out.relation_logits.softmax(-1)[:, 1])
    assert not (batch["input_ids"] == model.config.mask_token_ids["mask_cau"]).any()
    assert KdEcsStudentConfig(alpha=0.6, causal_head="cls").uses_teacher is False


def test_without_mask_cau_decisions_come_from_the_span_against_the_null_span(tiny_encoder_dir):
    model, batch, out = student_outputs(tiny_encoder_dir, alpha=1.0, causal_head="span")
    assert out.logits is None and out.relation_logits is None and out.loss_connective is None
    assert bool(out.span_mask[:, 0].all())  # the null position
    starts, ends, best = best_spans(out.start_logits, out.end_logits, batch["cause_token_mask"], 64)
    null = out.start_logits[:, 0] + out.end_logits[:, 0]
    assert torch.allclose(out.causal_probability, torch.sigmoid(best - null))
    # negatives are trained towards the null span: their span loss counts now
    with_negatives = out.loss_span
    _, _, connective = student_outputs(tiny_encoder_dir, alpha=1.0)
    assert not torch.allclose(with_negatives, connective.loss_span)


def test_given_emotion_removes_the_emotion_mask_and_loss(tiny_encoder_dir):
    model, batch, out = student_outputs(tiny_encoder_dir, given_emotion=True)
    assert out.emotion_logits is None and out.loss_emotion is None
    assert not (batch["input_ids"] == model.config.mask_token_ids["mask_emo"]).any()
    assert "emotion_labels" not in batch


def test_the_span_head_switch_prompt_positions_or_per_token(tiny_encoder_dir):
    prompt, _, out_prompt = student_outputs(tiny_encoder_dir, span_head="prompt")
    token, _, out_token = student_outputs(tiny_encoder_dir, span_head="token")
    assert prompt.span_start.out_features == prompt.config.max_prompt_tokens and not hasattr(prompt, "span_token")
    assert token.span_token.out_features == 2 and not hasattr(token, "span_start")
    assert out_prompt.start_logits.shape == out_token.start_logits.shape
    outside = ~out_prompt.span_mask
    assert bool((out_prompt.start_logits[outside] == -1e4).all()) and bool(
        (out_token.end_logits[outside] == -1e4).all()
    )


def test_the_emotion_of_an_utterance_is_the_mean_of_its_prompts(tiny_encoder_dir):
    model, tokenizer = tiny_student(tiny_encoder_dir)
    examples = pair_examples(ROW, model.config, tokenizer)
    predictions = predict_examples(model, examples, KdEcsCollator(tokenizer, model.config), batch_size=3)
    emotions = aggregate_emotions(examples, predictions, model.config.emotion_labels)
    rows = [p["emotion_logits"] for e, p in zip(examples, predictions) if e["emotion_index"] == 3]
    assert len(rows) == 4
    mean = torch.tensor(rows).mean(0)
    assert emotions[("c1", 3)][0] == model.config.emotion_labels[int(mean.argmax())]


def test_sixteen_fine_grained_labels_synthetic_fg_reccon(tiny_encoder_dir):
    labels = ["sadness", "worry", "anger", "hope", "disgust", "happiness", "sympathy", "like", "gratitude",
              "acceptance", "disapproval", "curiosity", "neutral", "surprise", "praise", "others"]  # fmt: skip
    # one-token stand-ins from the tiny vocabulary for the 16 labels (a real run uses the words themselves)
    words = ["sad", "afraid", "angry", "new", "terrible", "happy", "oh", "puppy", "passed", "got", "no", "see",
             "today", "surprised", "exam", "game"]  # fmt: skip
    model, tokenizer = tiny_student(tiny_encoder_dir, emotion_labels=labels, emotion_words=words)
    row = dict(ROW, emotions=["worry", "neutral", "curiosity", "sympathy"])
    data = prepare_dataset([row], model.config, tokenizer)
    batch = KdEcsCollator(tokenizer, model.config)([data[k] for k in range(len(data))])
    out = model(**batch)
    assert out.emotion_logits.shape[-1] == 16 and out.loss_emotion is not None
    assert labels[int(batch["emotion_labels"][-1])] == "sympathy"
    with pytest.raises(ValueError, match=r"emotion 'joy' is not one of emotion_labels"):
        prepare_dataset([dict(ROW, emotions=["joy"] * 4)], model.config, tokenizer)


# ---------------------------------------------------------------------------------------------------------------
# save / reload, tokenizer, causal-LM teacher with LoRA
# ---------------------------------------------------------------------------------------------------------------


def test_student_and_teacher_round_trip_through_the_auto_classes_with_their_tokenizer(tiny_encoder_dir, tmp_path):
    for name, build in (("student", tiny_student), ("teacher", tiny_teacher)):
        model, tokenizer = build(tiny_encoder_dir)
        model.eval()
        folder = tmp_path / name
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        loaded = AutoModel.from_pretrained(folder).eval()
        assert type(loaded) is type(model)
        reloaded_tokenizer = AutoTokenizer.from_pretrained(folder)
        batch = KdEcsCollator(reloaded_tokenizer, loaded.config)([ROW])  # checks the token ids against the config
        with torch.no_grad():
            assert torch.equal(model(**batch).logits, loaded(**batch).logits)
    other = BertTokenizer(vocab={"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "because": 5, "x": 6})
    with pytest.raises(ValueError):
        KdEcsCollator(other, loaded.config)


def tiny_causal_lm(folder: Path, tiny_encoder_dir: Path) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256)  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_causal_lm_teacher_with_lora_reads_the_next_token_and_trains_only_the_adapters(tiny_encoder_dir, tmp_path):
    lm = tiny_causal_lm(tmp_path / "lm", tiny_encoder_dir)
    teacher = KdEcsTeacherModel.from_encoder(
        str(lm), encoder_auto_class="AutoModelForCausalLM", lora_r=2, lora_target_modules=["q_proj", "v_proj"],
        **TINY_TEACHER,
    )  # fmt: skip
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(lm), teacher.config)
    prompt = build_prompt(teacher.config, tokenizer, ROW["units"], ROW["speakers"], 3, 1, "sadness")
    assert prompt["text"].endswith("between turn 4 and turn 2 is")  # the connective is the next token
    trainable = [name for name, p in teacher.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    batch = KdEcsCollator(tokenizer, teacher.config)([ROW])
    out = teacher(**batch)
    out.loss.backward()
    assert all(p.grad is None for n, p in teacher.named_parameters() if "lora_" not in n)
    teacher.eval()
    teacher.save_pretrained(tmp_path / "teacher")
    loaded = AutoModel.from_pretrained(tmp_path / "teacher").eval()
    with torch.no_grad():
        assert torch.allclose(teacher(**batch).logits, loaded(**batch).logits, atol=1e-6)
    # the last real token of each right-padded row is read
    positions = teacher.connective_positions(batch["input_ids"], batch["attention_mask"])
    assert torch.equal(positions, batch["attention_mask"].sum(-1) - 1)


# ---------------------------------------------------------------------------------------------------------------
# trainer: frozen teacher, cached logits, no teacher for the ablations
# ---------------------------------------------------------------------------------------------------------------


def test_the_teacher_is_frozen_gets_no_gradient_and_its_logits_are_cached(tiny_encoder_dir, tmp_path):
    from hf_ecpe.trainers.kd_ecs import KdEcsStudentTrainer, KdEcsTrainingArguments

    teacher, teacher_tokenizer = tiny_teacher(tiny_encoder_dir)
    teacher.train()
    before = {name: p.detach().clone() for name, p in teacher.named_parameters()}
    student, tokenizer = tiny_student(tiny_encoder_dir)
    data = prepare_dataset([ROW, dict(ROW, id="c2")], student.config, tokenizer)
    args = KdEcsTrainingArguments(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4,
                                  report_to="none", use_cpu=True, logging_steps=1, save_strategy="no")  # fmt: skip
    trainer = KdEcsStudentTrainer(model=student, teacher_model=teacher, args=args, train_dataset=data,
                                  processing_class=tokenizer, teacher_tokenizer=teacher_tokenizer)  # fmt: skip
    assert not trainer.teacher_model.training  # eval mode (teacher_dropout=False)
    assert "teacher_logits" in trainer.train_dataset.column_names  # computed once, cached
    batch = trainer.data_collator([data[k] for k in range(4)])
    with torch.no_grad():
        expected = teacher(input_ids=batch["teacher_input_ids"], attention_mask=batch["teacher_attention_mask"]).logits
    cached = torch.tensor(trainer.train_dataset[:4]["teacher_logits"])
    assert torch.allclose(cached, expected, atol=1e-6)
    trainer.train()
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert all(torch.equal(before[name], p) for name, p in teacher.named_parameters())
    logged = {key for entry in trainer.state.log_history for key in entry}
    assert {"loss_emotion", "loss_span", "loss_kd", "loss_connective"} <= logged
    dropout = KdEcsTrainingArguments(output_dir=str(tmp_path), teacher_dropout=True, report_to="none", use_cpu=True)
    trainer = KdEcsStudentTrainer(model=student, teacher_model=teacher, args=dropout, train_dataset=data,
                                  processing_class=tokenizer, teacher_tokenizer=teacher_tokenizer)  # fmt: skip
    assert trainer.teacher_model.training and "teacher_logits" not in trainer.train_dataset.column_names


def test_a_distilling_student_needs_a_teacher_and_the_ablations_do_not(tiny_encoder_dir, tmp_path):
    from hf_ecpe.trainers.kd_ecs import KdEcsStudentTrainer, KdEcsTrainingArguments

    args = KdEcsTrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True)
    student, tokenizer = tiny_student(tiny_encoder_dir)
    data = prepare_dataset([ROW], student.config, tokenizer)
    with pytest.raises(ValueError, match="pass teacher_model="):
        KdEcsStudentTrainer(model=student, args=args, train_dataset=data, processing_class=tokenizer)
    assert KdEcsStudentTrainer.needs_teacher(student.config)
    no_kd, tokenizer = tiny_student(tiny_encoder_dir, alpha=1.0)
    assert not KdEcsStudentTrainer.needs_teacher(no_kd.config)
    trainer = KdEcsStudentTrainer(model=no_kd, args=args, train_dataset=data, processing_class=tokenizer)
    assert trainer.teacher_model is None
    teacher, _ = tiny_teacher(tiny_encoder_dir, causal_connectives=["because", "when"])
    with pytest.raises(ValueError, match="verbaliser"):
        KdEcsStudentTrainer(model=student, teacher_model=teacher, args=args, train_dataset=data,
                            processing_class=tokenizer, teacher_tokenizer=tokenizer)  # fmt: skip


def test_the_pipeline_returns_categories_and_character_cause_spans(tiny_encoder_dir, tmp_path):
    model, tokenizer = tiny_student(tiny_encoder_dir, decode_threshold=0.0)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    extractor = hf_ecpe.pipeline("emotion-cause", model=str(tmp_path))
    result = extractor({"utterances": ROW["units"], "speakers": ROW["speakers"]})
    labels = model.config.emotion_labels
    assert result["units"] == ROW["units"]
    for pair in result["pairs"]:
        unit = ROW["units"][pair["cause_index"]]
        start, end = pair["cause_span"]
        assert pair["cause_index"] <= pair["emotion_index"] and 0 <= start < end <= len(unit)
        assert pair["cause_span_text"] == unit[start:end] and pair["cause_text"] == unit
        assert pair["category"] in labels and pair["category"] != "neutral"
    assert extractor({"utterances": ROW["units"]}, threshold=1.0)["pairs"] == []
    assert extractor([{"utterances": ["i was so happy"]}, {"utterances": ["oh no"]}])[1]["units"] == ["oh no"]


def test_reccon_validation_gives_reccons_question_set(data_root, tiny_encoder_dir):
    from hf_ecpe.data.corpora import get_corpus
    from tests.conftest import corpus_dir

    validation = get_corpus("reccon").build(corpus_dir(data_root, "reccon"), "dailydialog", lenient=True)["validation"]
    config = KdEcsTeacherConfig(**{**tiny_teacher(tiny_encoder_dir)[0].config.to_dict(), "max_prompt_tokens": None})
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(tiny_encoder_dir), config)
    examples = [e for row in validation for e in pair_examples(row, config, tokenizer, "emotional")]
    assert len(examples) == 1166 and sum(e["relation"] for e in examples) == 328
    for example in examples:
        if example["relation"] == 1:  # every gold span is inside its utterance's tokens
            first, stop = example["cause_token_range"]
            assert first <= example["start_position"] <= example["end_position"] < stop


# ---------------------------------------------------------------------------------------------------------------
# end to end: scripts.train (teacher, then the student distilling from it, resumed) and scripts.evaluate
# ---------------------------------------------------------------------------------------------------------------


def test_teacher_then_student_through_scripts_train_and_evaluate(tmp_path):
    from hf_ecpe.data.corpora.synthetic import synthetic_corpus
    from hf_ecpe.scripts import evaluate, train

    common = ["--report_to", "none", "--disable_tqdm", "true", "--num_train_epochs", "1"]
    teacher_dir, student_dir = tmp_path / "teacher", tmp_path / "student"
    train.main(["--config", str(REPO / "recipes/kd_ecs_teacher_tiny.yaml"), "--output_dir", str(teacher_dir), *common])
    metrics = train.main([
        "--config", str(REPO / "recipes/kd_ecs_student_tiny.yaml"), "--output_dir", str(student_dir),
        "--teacher_model_name_or_path", str(teacher_dir), *common,
    ])  # fmt: skip
    assert (
        0.0 <= metrics["validation"]["eval_span_macro_f1"] <= 1.0 and "eval_emotion_accuracy" in metrics["validation"]
    )
    log = json.dumps(json.loads((student_dir / "trainer_state.json").read_text())["log_history"])
    assert all(f'"{key}"' in log for key in ("loss_emotion", "loss_span", "loss_kd", "loss_connective"))
    saved = json.loads((student_dir / "config.json").read_text())
    assert saved["model_type"] == "hf-ecpe-kd-ecs-student" and "decode_threshold_selected_on" in saved
    assert "KD-ECS" in (student_dir / "README.md").read_text(encoding="utf-8")

    resumed = train.main([
        "--config", str(REPO / "recipes/kd_ecs_student_tiny.yaml"), "--output_dir", str(student_dir),
        "--teacher_model_name_or_path", str(teacher_dir), "--report_to", "none", "--disable_tqdm", "true",
        "--num_train_epochs", "2", "--resume_from_checkpoint", "true",
    ])  # fmt: skip
    assert resumed["run"]["resumed_from"] and resumed["train"]["epoch"] == pytest.approx(2.0)

    data = tmp_path / "data"
    synthetic_corpus(32, seed=42).save_to_disk(str(data))
    record = evaluate.main(["--model", str(student_dir), "--dataset_path", str(data), "--split", "test",
                            "--output", str(tmp_path / "scores.json")])  # fmt: skip
    assert record["method"] == "kd_ecs_student"
    assert record["metrics"]["span_macro_f1"] == pytest.approx(resumed["test"]["test_span_macro_f1"])
    assert {"semeval_weighted_strict_f1", "triplet_proportional_f1", "utterance_pos_f1"} <= set(record["metrics"])
    teacher_record = evaluate.main(["--model", str(teacher_dir), "--dataset_path", str(data), "--split", "test",
                                    "--output", str(tmp_path / "teacher.json")])  # fmt: skip
    assert teacher_record["method"] == "kd_ecs_teacher" and "utterance_macro_f1" in teacher_record["metrics"]


@pytest.mark.slow  # two accelerate launches
def test_the_tiny_recipes_run_under_accelerate_launch(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--cpu",
              "-m", "hf_ecpe.scripts.train"]  # fmt: skip
    teacher = tmp_path / "teacher"
    for recipe, extra in (
        ("kd_ecs_teacher_tiny.yaml", ["--output_dir", str(teacher)]),
        ("kd_ecs_student_tiny.yaml", ["--output_dir", str(tmp_path / "student"), "--teacher_model_name_or_path", str(teacher)]),
    ):  # fmt: skip
        done = subprocess.run([*launch, "--config", str(REPO / "recipes" / recipe), *extra], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "student" / "metrics.json").read_text())
    assert metrics["run"]["method"] == "kd_ecs_student" and "eval_loss_kd" in metrics["validation"]
