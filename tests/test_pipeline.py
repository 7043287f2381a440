"""pipeline("emotion-cause") on a tiny random A2Net saved to disk (offline)."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer, pipeline
from transformers.pipelines import PIPELINE_REGISTRY

import hf_ecpe  # noqa: F401
from hf_ecpe._registration import register_all, register_pipelines
from hf_ecpe.data.clauses import split_clauses
from hf_ecpe.data.collators import ClauseCollator
from hf_ecpe.data.schema import make_pair
from hf_ecpe.evaluation import ecpe_scores
from hf_ecpe.models import A2NetModel
from hf_ecpe.pipelines import EmotionCausePipeline, lexicon_mask_for

register_all()
torch.set_num_threads(1)

TEXT = "I was so happy, because I passed the exam. Today she felt sad; her dog died."


@pytest.fixture(scope="module")
def model_dir(tiny_encoder_dir, tmp_path_factory):
    torch.manual_seed(0)
    model = A2NetModel.from_encoder(str(tiny_encoder_dir), pfn_hidden_size=16, position_embedding_size=8)
    path = tmp_path_factory.mktemp("a2net_tiny")
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_encoder_dir).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def extractor(model_dir):
    return pipeline("emotion-cause", model=str(model_dir))


def _pairs(result):
    return [(p["emotion_index"], p["cause_index"]) for p in result["pairs"]]


def test_registration_is_idempotent(extractor):
    register_all()
    register_pipelines()
    assert "emotion-cause" in PIPELINE_REGISTRY.get_supported_tasks()
    assert isinstance(extractor, EmotionCausePipeline)
    assert isinstance(extractor.model, A2NetModel)


def test_text_input_output_format(extractor):
    result = extractor(TEXT)
    assert set(result) == {"units", "offsets", "pairs", "emotions", "causes"}
    assert result["units"] == split_clauses(TEXT)
    assert [TEXT[start:end] for start, end in result["offsets"]] == result["units"]  # highlightable spans
    assert json.loads(json.dumps(result)) == result
    units = result["units"]
    scores = [p["score"] for p in result["pairs"]]
    assert scores == sorted(scores, reverse=True) and result["pairs"]  # reference decoding keeps the best pair
    for pair in result["pairs"]:
        assert pair["emotion_text"] == units[pair["emotion_index"]]
        assert pair["cause_text"] == units[pair["cause_index"]]
        assert 0.0 <= pair["score"] <= 1.0
    # consistent by construction: every pair's units are listed; an emotion without a pair comes from the head
    pair_emotions = {p["emotion_index"] for p in result["pairs"]}
    assert {item["index"] for item in result["causes"]} == {p["cause_index"] for p in result["pairs"]}
    assert pair_emotions <= {item["index"] for item in result["emotions"]}
    for item in result["emotions"]:
        assert item["text"] == units[item["index"]]
        assert item["score"] > 0.5 or item["index"] in pair_emotions
        assert item["causes"] == [p["cause_index"] for p in result["pairs"] if p["emotion_index"] == item["index"]]


def test_pipeline_matches_the_model(extractor, model_dir):
    """The pipeline's pairs and unit scores are the model's own forward + decode on the same clauses."""
    clauses = ["she felt sad", "when her dog died", "we were surprised", "to see snow in july"]
    result = extractor({"clauses": clauses}, decoding="threshold", threshold=0.0)
    model = extractor.model
    batch = ClauseCollator(extractor.tokenizer)([{"units": clauses}])
    with torch.no_grad():
        outputs = model(**batch)
    expected = model.decode_pairs(outputs.pair_logits, outputs.candidate_mask, strategy="threshold", threshold=0.0)[0]
    assert _pairs(result) == [(e, c) for e, c, _ in expected]
    assert [p["score"] for p in result["pairs"]] == pytest.approx([p for _, _, p in expected], abs=1e-6)
    assert len(result["pairs"]) == int(outputs.candidate_mask.sum())  # threshold 0 keeps every candidate
    assert extractor({"clauses": clauses}, decoding="threshold", threshold=1.0)["pairs"] == []


def test_dict_inputs(extractor):
    clauses = extractor({"clauses": ["i was so happy", "because i passed the exam"]})
    assert clauses["units"] == ["i was so happy", "because i passed the exam"]
    assert extractor({"units": ["i was so happy", "because i passed the exam"]}) == clauses
    conversation = extractor(
        {"utterances": ["oh no", "that is terrible", "i lost my job"], "speakers": ["A", "B", "A"]}
    )
    assert conversation["units"] == ["oh no", "that is terrible", "i lost my job"]
    assert extractor({"text": TEXT})["units"] == split_clauses(TEXT)


def test_batches_give_the_same_results(extractor):
    docs = [
        TEXT,
        {"clauses": ["she felt sad", "when her dog died"]},
        "",
        {"utterances": ["hi", "i got new puppy", "happy"], "speakers": ["a", "b", "b"]},
        "one clause only",
    ]
    one_by_one = extractor(docs, batch_size=1)
    batched = extractor(docs, batch_size=3)
    assert len(one_by_one) == len(batched) == len(docs)
    for single, multi in zip(one_by_one, batched):
        assert single["units"] == multi["units"]
        for key in ("pairs", "emotions", "causes"):
            assert [{k: v for k, v in item.items() if k != "score"} for item in single[key]] == [
                {k: v for k, v in item.items() if k != "score"} for item in multi[key]
            ]
            assert [item["score"] for item in single[key]] == pytest.approx(
                [item["score"] for item in multi[key]], abs=1e-5
            )
    assert extractor([]) == []


def test_empty_and_single_unit_documents(extractor):
    empty = {"units": [], "pairs": [], "emotions": [], "causes": []}
    assert extractor("") == {**empty, "offsets": []}  # raw text: offsets too
    assert extractor("   \n\t ") == {**empty, "offsets": []}
    assert extractor({"clauses": []}) == empty
    single = extractor("one clause only")
    assert single["units"] == ["one clause only"]
    assert _pairs(single) == [(0, 0)]  # the only candidate; the reference decoding always keeps the best one
    assert extractor("one clause only", decoding="threshold", threshold=1.0)["pairs"] == []


@pytest.mark.parametrize(
    ("document", "error", "message"),
    [
        ({"clauses": "i was happy because i passed"}, TypeError, "'clauses' must be a list of strings, got a single"),
        ({"clauses": ["fine", 3]}, TypeError, r"clauses\[1\] must be a string, got int"),
        ({"clauses": ["fine", "  "]}, ValueError, r"clauses\[1\] is empty or whitespace only"),
        ({"utterances": ["a", "b"], "speakers": ["x"]}, ValueError, "got 1 speakers for 2 utterances"),
        ({"utterances": ["a", "b"], "speakers": "xy"}, TypeError, "'speakers' must be a list"),
        ({"clauses": ["a"], "speakers": ["x"]}, ValueError, "'speakers' goes with 'utterances'"),
        ({"clause": ["a"]}, ValueError, r"unknown input key\(s\) \['clause'\]"),
        ({"clauses": ["a"], "utterances": ["b"]}, ValueError, "exactly one of"),
        ({"text": ["a"]}, TypeError, "'text' must be a string"),
        (42, TypeError, "a document must be a string or a dict, got int"),
    ],
)
def test_malformed_documents(extractor, document, error, message):
    with pytest.raises(error, match=message):
        extractor(document)


def test_bare_list_inside_a_batch_is_rejected(extractor):
    with pytest.raises(TypeError, match=r"given as \{'clauses': \[...\]\}"):
        extractor([["i was happy", "because i passed"]])


def test_bad_parameters(extractor):
    with pytest.raises(ValueError, match="decoding must be one of"):
        extractor(TEXT, decoding="greedy")
    with pytest.raises(ValueError, match=r"threshold is a probability in \[0, 1\]"):
        extractor(TEXT, threshold=1.5)
    with pytest.raises(TypeError, match="lexicon must be a collection of words"):
        extractor(TEXT, lexicon="happy")
    with pytest.raises(TypeError, match=r"unknown emotion-cause pipeline parameter\(s\) \['treshold'\]"):
        extractor(TEXT, treshold=0.3)
    with pytest.raises(TypeError, match=r"\['labels'\] are settings of the triplet-LLM pipeline"):
        extractor(TEXT, labels=["joy"])


def test_llm_settings_are_rejected_for_pair_models(model_dir):
    with pytest.raises(TypeError, match=r"\['labels', 'max_new_tokens'\] are settings of the triplet-LLM pipeline"):
        pipeline("emotion-cause", model=str(model_dir), labels=["joy"], max_new_tokens=8)


def test_lexicon_mask_rules():
    units = ["I was Happy,", "she was unhappy", "我很开心", "nothing here"]
    assert lexicon_mask_for(units, {"happy", "开心"}) == [True, False, True, False]
    assert lexicon_mask_for(units, {"was so"}) == [False, False, False, False]
    assert lexicon_mask_for(units, set()) == [False] * 4


def test_lexicon_restricts_extra_pairs_of_reference_decoding(extractor):
    clauses = ["i was so happy", "because i passed the exam", "she felt sad", "when her dog died", "today"]
    without = extractor({"clauses": clauses}, threshold=0.0)  # every top-3 candidate passes sigma > 0
    assert len(without["pairs"]) == 3
    with_lexicon = extractor({"clauses": clauses}, threshold=0.0, lexicon={"sad"})
    assert with_lexicon["pairs"][0] == without["pairs"][0]  # the best pair is always kept
    for pair in with_lexicon["pairs"][1:]:
        assert pair["emotion_index"] == 2  # the only unit with a lexicon word
    kept_extra = [p for p in without["pairs"][1:] if p["emotion_index"] == 2]
    assert with_lexicon["pairs"][1:] == kept_extra


def test_speaker_prefix_follows_the_model_config(extractor):
    conversation = {"utterances": ["oh no", "i lost my job"], "speakers": ["she", "he"]}
    plain = extractor.preprocess(conversation)["model_inputs"]["input_ids"]
    extractor.model.config.prepend_speaker = True
    try:
        prefixed = extractor.preprocess(conversation)["model_inputs"]["input_ids"]
        assert extractor(conversation)["units"] == ["oh no", "i lost my job"]  # outputs keep the raw utterances
    finally:
        extractor.model.config.prepend_speaker = False
    tokens = extractor.tokenizer.convert_ids_to_tokens(prefixed[0].tolist())
    # "she: oh no" -> she [UNK] oh no (":" is not in the tiny vocabulary)
    assert tokens == [
        "[CLS]",
        "she",
        "[UNK]",
        "oh",
        "no",
        "[SEP]",
        "[CLS]",
        "he",
        "[UNK]",
        "i",
        "lost",
        "my",
        "job",
        "[SEP]",
    ]
    assert extractor.tokenizer.convert_ids_to_tokens(plain[0].tolist())[:4] == ["[CLS]", "oh", "no", "[SEP]"]


def test_long_document_is_not_truncated(extractor):
    clauses = [f"{word} was so happy because the game" for word in ["she", "he", "we", "my friend"] * 10]
    assert len(clauses) == 40
    batch = ClauseCollator(extractor.tokenizer)([{"units": clauses}])
    assert batch["input_ids"].shape[1] > extractor.model.config.encoder["max_position_embeddings"]
    result = extractor({"clauses": clauses}, decoding="threshold", threshold=0.0, return_pair_scores=True)
    assert result["units"] == clauses
    scores = result["pair_scores"]
    assert len(scores) == 40 and all(len(row) == 40 for row in scores)
    window = extractor.model.config.pos_window
    for i in range(40):
        for j in range(40):
            assert (scores[i][j] is not None) == (abs(i - j) <= window)
    assert max(p["emotion_index"] for p in result["pairs"]) == 39  # the last clauses got candidates too


def test_conversational_pair_scorer_is_served_with_speaker_ids(tiny_encoder_dir, tmp_path):
    """The multimodal pair scorer (text only) behind the same pipeline: 2-way logits, speaker ids from 'speakers'."""
    import torch

    from hf_ecpe import MultimodalPairScorerModel
    from hf_ecpe.data.multimodal import MultimodalCollator

    torch.manual_seed(0)
    model = MultimodalPairScorerModel.from_encoder(str(tiny_encoder_dir), candidates="all").eval()
    path = tmp_path / "scorer"
    model.save_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    tokenizer.save_pretrained(path)
    scorer = pipeline("emotion-cause", model=str(path))
    conversation = {
        "utterances": ["i lost my job today", "oh no that is terrible", "i was sad"],
        "speakers": ["A", "B", "A"],
    }
    result = scorer(conversation, decoding="threshold", threshold=0.0, return_pair_scores=True)
    assert len(result["pairs"]) == 9  # every candidate passes threshold 0

    batch = MultimodalCollator(tokenizer)(
        [{"units": conversation["utterances"], "speakers": conversation["speakers"]}]
    )
    with torch.no_grad():
        expected = model(**{k: v for k, v in batch.items() if not k.endswith("_labels")}).pair_logits.softmax(-1)[
            0, ..., 1
        ]
    for i in range(3):
        for j in range(3):
            assert result["pair_scores"][i][j] == pytest.approx(float(expected[i, j]), abs=1e-5)


# ----- batching, canonical rows, offsets and error messages (issues "nothing silent" and "the default") -----------


def test_batched_call_matches_one_by_one_in_input_order(extractor):
    documents = [
        TEXT,
        {"clauses": ["she felt sad", "when her dog died", "we were surprised", "to see snow in july", "i was happy"]},
        "one clause only",
        {"clauses": []},
        {"utterances": ["oh no", "i lost my job"], "speakers": ["a", "b"]},
    ]
    one_by_one = [extractor(document, decoding="threshold", threshold=0.3) for document in documents]
    batched = extractor(documents, batch_size=3, decoding="threshold", threshold=0.3)  # length-sorted inside
    assert [r["units"] for r in batched] == [r["units"] for r in one_by_one]
    assert [_pairs(r) for r in batched] == [_pairs(r) for r in one_by_one]
    for got, expected in zip(batched, one_by_one):
        assert [p["score"] for p in got["pairs"]] == pytest.approx([p["score"] for p in expected["pairs"]], abs=1e-5)


def test_a_dataset_of_canonical_rows_is_a_batch_and_ids_pass_through(extractor):
    from datasets import Dataset

    from hf_ecpe.data.schema import FEATURES

    rows = [
        {"id": "d1", "kind": "document", "language": "en", "units": ["i was so happy", "because i passed the exam"],
         "speakers": [], "emotions": ["happiness", "neutral"], "pairs": [make_pair(0, 1)]},
        {"id": "c7", "kind": "conversation", "language": "en", "units": ["oh no", "i lost my job"],
         "speakers": ["a", "b"], "emotions": ["neutral", "sadness"], "pairs": []},
    ]  # fmt: skip
    results = extractor(Dataset.from_list(rows, features=FEATURES), batch_size=2)
    assert [r["id"] for r in results] == ["d1", "c7"] and [r["units"] for r in results] == [r["units"] for r in rows]
    # one call from pipeline output to scores
    scores = ecpe_scores(results, rows)
    assert 0.0 <= scores["pair_f1"] <= 1.0


def test_unit_errors_say_which_unit_and_how_to_fix(extractor, tiny_encoder_dir):
    with pytest.raises(ValueError, match=r"clauses\[1\] is not valid text: it contains '\\ud800'"):
        extractor({"clauses": ["fine", "broken \ud800 text"]})
    with pytest.raises(ValueError, match=r"the pipeline argument max_unit_tokens"):
        extractor({"clauses": ["happy " * 400]})
    assert extractor({"clauses": ["happy " * 400]}, max_unit_tokens=32)["units"]  # the suggested fix works
    with pytest.raises(TypeError, match="is not an hf_ecpe model"):
        pipeline("emotion-cause", model=str(tiny_encoder_dir))


# ----- long documents in pieces of max_units units -----------------------------------------------------------------


def test_unit_pieces_cover_every_close_pair():
    from hf_ecpe.pipelines.emotion_cause import unit_pieces

    assert unit_pieces(7, None) == [(0, 7)] and unit_pieces(7, 7) == [(0, 7)]
    pieces = unit_pieces(23, 6)
    assert pieces[0][0] == 0 and pieces[-1][1] == 23 and all(end - first <= 6 for first, end in pieces)
    for i in range(23):
        for j in range(max(0, i - 3), min(23, i + 4)):  # every pair at most 6 // 2 apart shares a piece
            assert any(first <= min(i, j) and max(i, j) < end for first, end in pieces), (i, j)


def test_max_units_scores_each_unit_and_pair_in_one_piece(tiny_encoder_dir, tmp_path):
    """A conversation longer than max_units: every score is the score of one piece run alone, the piece where the
    unit (or the pair) has the most context; pairs sharing no piece are not candidates; a long enough max_units
    changes nothing."""
    from hf_ecpe import MultimodalPairScorerModel
    from hf_ecpe.pipelines.emotion_cause import unit_pieces

    torch.manual_seed(0)
    model = MultimodalPairScorerModel.from_encoder(str(tiny_encoder_dir), candidates="all").eval()
    path = tmp_path / "scorer"
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_encoder_dir).save_pretrained(path)
    scorer = pipeline("emotion-cause", model=str(path))
    words = ["happy", "sad", "job", "dog", "rain", "exam", "train", "snow", "cake", "game", "gift"]
    conversation = {"utterances": [f"the {w} was here" for w in words], "speakers": ["A", "B"] * 5 + ["A"]}
    settings = {"decoding": "threshold", "threshold": 0.0, "return_pair_scores": True}

    whole = scorer(conversation, **settings)
    assert scorer(conversation, max_units=11, **settings) == whole
    split = scorer(conversation, max_units=4, **settings)
    pieces = unit_pieces(11, 4)
    assert pieces == [(0, 4), (2, 6), (4, 8), (6, 10), (8, 11)]
    alone = {
        (first, end): scorer(
            {"utterances": conversation["utterances"][first:end], "speakers": conversation["speakers"][first:end]},
            **settings,
        )
        for first, end in pieces
    }
    scores = split["pair_scores"]
    assert scores[0][0] == pytest.approx(alone[(0, 4)]["pair_scores"][0][0], abs=1e-6)
    assert scores[5][5] == pytest.approx(alone[(4, 8)]["pair_scores"][1][1], abs=1e-6)  # context 1 there, 0 in (2, 6)
    assert scores[5][4] == pytest.approx(alone[(2, 6)]["pair_scores"][3][2], abs=1e-6)  # a tie goes to the earlier
    assert scores[10][9] == pytest.approx(alone[(8, 11)]["pair_scores"][2][1], abs=1e-6)
    assert scores[0][5] is None and scores[9][2] is None  # no piece holds both
    assert {p["emotion_index"] for p in split["pairs"]} == set(range(11))
    emotion_5 = next(e for e in split["emotions"] if e["index"] == 5)  # every unit has pairs at threshold 0
    # its head score comes from piece (4, 8), where it has context on both sides
    assert emotion_5["score"] == pytest.approx(
        next(e["score"] for e in alone[(4, 8)]["emotions"] if e["index"] == 1), abs=1e-6
    )
    assert split["units"] == whole["units"] and scores != whole["pair_scores"]


@pytest.mark.parametrize("bad", [0, 1, 2.5, True, "8"])
def test_bad_max_units_is_an_error_saying_what_it_is(extractor, bad):
    with pytest.raises(ValueError, match="max_units is the number of units encoded in one pass"):
        extractor("I was happy because I passed.", max_units=bad)


# ----- offsets: every unit maps to its own characters (issue #27 items 7 and 8) ---------------------------------------


def _collapsed(text: str) -> str:
    return " ".join(text.split())


def test_offsets_after_repeated_whitespace_point_at_each_units_own_text(extractor):
    text = "I was happy,  I  was sad, I was sad, and left."
    result = extractor(text)
    # was [[0, 12], [26, 36], None, [37, 46]]: unit 1 pointed at unit 2's text and unit 2 had none
    assert result["offsets"] == [[0, 12], [14, 25], [26, 36], [37, 46]]
    assert [_collapsed(text[start:end]) for start, end in result["offsets"]] == result["units"]


def test_a_chat_log_with_one_sentence_per_line_gives_one_unit_per_line(extractor):
    text = "my dog died yesterday\ni am so sad\r\nsorry to hear that"
    result = extractor({"text": text})
    assert result["units"] == ["my dog died yesterday", "i am so sad", "sorry to hear that"]  # was one unit
    assert [text[start:end] for start, end in result["offsets"]] == result["units"]


_PIECES = st.sampled_from(
    ["I was sad", "I  was   sad", "and left", "ok", "我很开心", "Mr. Smith", "3.14", "e.g. this", '"no."', "…"]
)
_SEPARATORS = st.sampled_from([", ", ",  ", ". ", "! ", "\n", "\n\n", " \r\n ", "\t", "; ", " ", "...", "  "])


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(st.tuples(_PIECES, _SEPARATORS), max_size=10), padding=_SEPARATORS)
def test_every_offset_slice_is_its_unit(extractor, parts, padding):
    """Random texts with repeated clauses, whitespace runs, line breaks and punctuation: each unit's offset slice,
    whitespace-collapsed, is the unit, and the slices are in order without overlapping."""
    text = padding + "".join(piece + separator for piece, separator in parts)
    result = extractor(text)
    offsets = result["offsets"]
    assert len(offsets) == len(result["units"])
    assert [_collapsed(text[start:end]) for start, end in offsets] == result["units"]
    assert all(end <= start for (_, end), (start, _) in zip(offsets, offsets[1:]))


# ----- the model's language against the input's script (issue #27 item 13) ---------------------------------------


def test_language_mismatch_rules():
    from hf_ecpe.pipelines.emotion_cause import language_mismatch

    assert language_mismatch(["en"], ["I was happy.", "我用iPhone拍了照片，很开心"]) == (
        "the model's language is en (Latin script), but the input is written in Han script (1 of 2 documents); the "
        "model cannot read those, so their results are empty or meaningless: use a model trained on their language"
    )
    assert language_mismatch(["zh"], ["我很开心。", "我用iPhone拍了照片，很开心"]) is None  # a brand name in Chinese
    assert "Latin script (1 of 1" in language_mismatch(["zh"], ["I was happy."])
    assert "Cyrillic" in language_mismatch(["en", "zh"], ["Привет, как дела?"])
    assert language_mismatch(["en", "zh"], ["我很开心。", "I was happy."]) is None
    assert language_mismatch([], ["我很开心。"]) is None  # the model's language is unknown: not judged
    assert language_mismatch(["xx"], ["我很开心。"]) is None  # a language of unknown script: not judged
    assert language_mismatch(["en"], ["12345 !!! :)"]) is None  # too few letters to tell


def test_the_model_language_comes_from_the_config_or_the_model_card(model_dir, tmp_path):
    import shutil

    from hf_ecpe.pipelines.emotion_cause import model_languages

    folder = tmp_path / "with_card"
    shutil.copytree(model_dir, folder)
    assert model_languages(pipeline("emotion-cause", model=str(folder)).model) == []
    (folder / "README.md").write_text("---\nlanguage:\n- zh\nlibrary_name: hf-ecpe\n---\n# A card\n")
    extractor = pipeline("emotion-cause", model=str(folder))
    assert model_languages(extractor.model) == ["zh"]
    with pytest.warns(UserWarning, match=r"model's language is zh \(Han script\).*Latin script \(1 of 1 documents\)"):
        extractor("I was happy because I passed the exam.")
    extractor.model.config.language = "en"  # the config wins over the card
    assert model_languages(extractor.model) == ["en"]
