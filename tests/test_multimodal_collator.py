"""FeatureTable (npy + index, npz, dict) and MultimodalCollator, on synthetic tables."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import corpus_dir
from transformers import AutoTokenizer

from hf_ecpe.data.collators import ClauseCollator
from hf_ecpe.data.corpora.ecf import load_video_id_mapping, utterance_feature_keys
from hf_ecpe.data.multimodal import (
    FeatureLookupError,
    FeatureTable,
    MultimodalCollator,
    ecf_utterance_key,
    speaker_ids_for,
)

ROWS = [
    {
        "id": "7",
        "units": ["i was so happy", "because i passed the exam", "oh no"],
        "speakers": ["Ross", "Rachel", "Ross"],
        "pairs": [{"emotion": 0, "cause": 1}],
    },
    {"id": "12", "units": ["he is angry", "they lost the game"], "speakers": ["Joey", "Joey"], "pairs": []},
]
AUDIO_DIM, VISUAL_DIM = 5, 3


def ecf_index() -> dict[str, int]:
    """ECF-style mapping: row 0 is padding, then every utterance of conversations 7 and 12."""
    keys = utterance_feature_keys(7, 3) + utterance_feature_keys(12, 2)
    return {key: row for row, key in enumerate(keys, start=1)}


def ecf_array(dim: int, seed: int) -> np.ndarray:
    array = np.random.default_rng(seed).normal(size=(6, dim)).astype(np.float32)
    array[0] = 0.0  # padding row
    return array


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder_dir):
    return AutoTokenizer.from_pretrained(tiny_encoder_dir)


@pytest.fixture()
def tables(tmp_path) -> tuple[FeatureTable, FeatureTable]:
    np.save(tmp_path / "audio.npy", ecf_array(AUDIO_DIM, 0))
    np.save(tmp_path / "video.npy", ecf_array(VISUAL_DIM, 1))
    (tmp_path / "video_id_mapping.json").write_text(json.dumps(ecf_index()))
    audio = FeatureTable.from_npy(tmp_path / "audio.npy", tmp_path / "video_id_mapping.json", name="audio")
    visual = FeatureTable.load(tmp_path / "video.npy", ecf_index(), name="visual")
    return audio, visual


# ----- tables ---------------------------------------------------------------------------------------------------


def test_npy_table_reads_rows_through_the_ecf_index(tables):
    audio, visual = tables
    expected = ecf_array(AUDIO_DIM, 0)
    assert (audio.dim, visual.dim, len(audio)) == (AUDIO_DIM, VISUAL_DIM, 5)
    assert np.array_equal(audio.vector("dia7utt1"), expected[1])
    assert np.array_equal(audio.vector("dia12utt2"), expected[5])
    assert audio.vector("dia7utt1").dtype == np.float32
    assert "dia7utt3" in audio and "dia7utt4" not in audio


def test_npz_and_dict_tables(tmp_path):
    vectors = {"a": np.arange(4, dtype=np.float64), "b": np.ones(4, dtype=np.float32)}
    np.savez(tmp_path / "features.npz", **vectors)
    for table in (
        FeatureTable.load(tmp_path / "features.npz"),
        FeatureTable(vectors),
        FeatureTable({"a": [0, 1, 2, 3]}),
    ):
        assert table.dim == 4
        assert np.array_equal(table.vector("a"), np.arange(4, dtype=np.float32))
        assert table.vector("a").dtype == np.float32


def test_pickled_arrays_are_refused(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"dia1utt1": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="pickled Python objects, which hf_ecpe never loads"):
        FeatureTable.from_npy(tmp_path / "objects.npy", {"dia1utt1": 0})
    np.savez(tmp_path / "objects.npz", a=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="pickled Python objects, which hf_ecpe never loads"):
        FeatureTable.from_npz(tmp_path / "objects.npz")


def test_bad_tables_fail_at_construction(tmp_path):
    with pytest.raises(ValueError, match="needs an index"):
        FeatureTable(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="2-D array"):
        FeatureTable(np.zeros(3), {"a": 0})
    with pytest.raises(ValueError, match="expected vectors of size 4, the array has 2"):
        FeatureTable(np.zeros((3, 2)), {"a": 0}, dim=4)
    with pytest.raises(ValueError, match="'a' -> '1' is not an integer row"):
        FeatureTable(np.zeros((3, 2)), {"a": "1"})
    with pytest.raises(ValueError, match="expected real numbers"):
        FeatureTable(np.array([["x", "y"]]), {"a": 0})
    with pytest.raises(ValueError, match="unsupported feature file type '.pt'"):
        FeatureTable.load(tmp_path / "features.pt")
    with pytest.raises(ValueError, match="needs an index"):
        FeatureTable.load(tmp_path / "features.npy")
    (tmp_path / "mapping.json").write_text("[1, 2]")
    np.save(tmp_path / "f.npy", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="expected a JSON object"):
        FeatureTable.from_npy(tmp_path / "f.npy", tmp_path / "mapping.json")


def test_lookup_errors_name_key_and_table():
    table = FeatureTable(np.zeros((2, 3)), {"dia1utt1": 1, "dia1utt2": 2}, name="audio")
    with pytest.raises(FeatureLookupError, match=r"key 'dia1utt2': row 2 is outside the audio array \(2 rows\)"):
        table.vector("dia1utt2")
    with pytest.raises(FeatureLookupError, match="key 'dia9utt1': no vector in the audio feature table"):
        table.vector("dia9utt1")
    with pytest.raises(FeatureLookupError, match="row 2 is outside"):
        table.validate()
    mixed = FeatureTable({"x": np.zeros(3), "y": np.zeros(2), "z": np.array([0.0, np.nan, 1.0])}, name="visual")
    mixed.vector("x")
    with pytest.raises(FeatureLookupError, match=r"key 'y'\): the visual vector has shape \(2,\), expected \(3,\)"):
        mixed.vector("y", where="conversation '4', utterance 1")
    with pytest.raises(FeatureLookupError, match="key 'z': the visual vector contains NaN"):
        mixed.vector("z")


# ----- speakers and keys ----------------------------------------------------------------------------------------


def test_speaker_ids_are_numbered_per_conversation():
    assert speaker_ids_for(ROWS[0]) == [0, 1, 0]
    assert speaker_ids_for(ROWS[1]) == [0, 0]
    assert speaker_ids_for({"units": ["a", "b", "c"], "speakers": ["B", " ", "A"]}) == [0, -1, 1]
    assert speaker_ids_for({"units": ["a", "b"], "speakers": []}) == [-1, -1]  # documents have no speakers
    assert speaker_ids_for({"units": ["a", "b"]}) == [-1, -1]
    with pytest.raises(ValueError, match=r"row 3 \(id='x'\): 'speakers' must be a list with one name per utterance"):
        speaker_ids_for({"id": "x", "units": ["a", "b"], "speakers": ["A"]}, 3)
    with pytest.raises(ValueError, match="speaker of utterance 1 is int"):
        speaker_ids_for({"units": ["a", "b"], "speakers": ["A", 2]})


def test_ecf_utterance_key():
    assert ecf_utterance_key({"id": "12"}, 0) == "dia12utt1"
    assert ecf_utterance_key({"id": 3}, 4) == "dia3utt5"
    with pytest.raises(FeatureLookupError, match="'tr_4' is not an ECF conversation number.*utterance_key"):
        ecf_utterance_key({"id": "tr_4"}, 0)


# ----- collator -------------------------------------------------------------------------------------------------


def test_collator_adds_speakers_and_features_to_the_clause_batch(tokenizer, tables):
    audio, visual = tables
    batch = MultimodalCollator(tokenizer, audio=audio, visual=visual)(ROWS)
    text_only = ClauseCollator(tokenizer)(ROWS)
    for key, value in text_only.items():
        assert torch.equal(batch[key], value), key
    assert torch.equal(batch["speaker_ids"], torch.tensor([[0, 1, 0], [0, 0, -1]]))
    assert batch["speaker_ids"].dtype == torch.long
    assert batch["audio_features"].shape == (2, 3, AUDIO_DIM) and batch["visual_features"].shape == (2, 3, VISUAL_DIM)
    assert batch["audio_features"].dtype == torch.float32
    expected_audio = torch.from_numpy(ecf_array(AUDIO_DIM, 0))
    assert torch.equal(batch["audio_features"][0], expected_audio[1:4])  # dia7utt1..3
    assert torch.equal(batch["audio_features"][1, :2], expected_audio[4:6])  # dia12utt1..2
    assert (batch["audio_features"][1, 2] == 0).all() and (batch["visual_features"][1, 2] == 0).all()
    assert torch.equal(batch["visual_features"][1, 1], torch.from_numpy(ecf_array(VISUAL_DIM, 1))[5])


def test_collator_without_tables_and_without_pairs(tokenizer, tables):
    batch = MultimodalCollator(tokenizer)([{"units": row["units"], "speakers": row["speakers"]} for row in ROWS])
    assert "audio_features" not in batch and "visual_features" not in batch and "pair_labels" not in batch
    assert batch["speaker_ids"].shape == (2, 3)
    audio_only = MultimodalCollator(tokenizer, audio=tables[0])(ROWS)
    assert "audio_features" in audio_only and "visual_features" not in audio_only


def test_missing_utterance_is_an_error_naming_conversation_utterance_and_key(tokenizer, tables):
    audio, _ = tables
    rows = [ROWS[0], {**ROWS[1], "units": [*ROWS[1]["units"], "i was so happy"], "speakers": ["A", "B", "A"]}]
    with pytest.raises(
        FeatureLookupError, match=r"conversation '12', utterance 2 \(key 'dia12utt3'\): no vector in the audio"
    ):
        MultimodalCollator(tokenizer, audio=audio)(rows)
    with pytest.raises(FeatureLookupError, match=r"conversation 'abc', utterance 0: .*not an ECF conversation number"):
        MultimodalCollator(tokenizer, audio=audio)([{**ROWS[0], "id": "abc"}])


def test_dimension_mismatch_is_an_error_naming_the_utterance(tokenizer):
    vectors = {f"{row['id']}-{k}": np.zeros(4) for row in ROWS for k in range(len(row["units"]))}
    vectors["12-1"] = np.zeros(6)
    collate = MultimodalCollator(
        tokenizer, visual=FeatureTable(vectors, name="visual"), utterance_key=lambda row, k: f"{row['id']}-{k}"
    )
    with pytest.raises(
        FeatureLookupError,
        match=r"conversation '12', utterance 1 \(key '12-1'\): the visual vector has shape \(6,\), expected \(4,\)",
    ):
        collate(ROWS)
    with pytest.raises(TypeError, match="FeatureTable or None"):
        MultimodalCollator(tokenizer, audio={"a": np.zeros(3)})


def test_real_ecf_mapping_keys_match_the_ecf_rows(data_root):
    """The collator's keys for real ECF conversations exist in the published mapping (features are synthetic)."""
    from hf_ecpe.data.corpora.ecf import build_ecf

    folder = corpus_dir(data_root, "ecf")
    mapping = load_video_id_mapping(folder)
    rows = build_ecf(folder)["validation"].select(range(5))
    table = FeatureTable(np.zeros((max(mapping.values()) + 1, 2), dtype=np.float32), mapping, name="synthetic")
    for row in rows:
        keys = [ecf_utterance_key(row, k) for k in range(len(row["units"]))]
        assert table.lookup(keys).shape == (len(keys), 2)
