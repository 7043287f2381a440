import pytest
from datasets import Dataset

from hf_ecpe.data import (
    FEATURES,
    NO_SPAN,
    SchemaError,
    dedupe_pairs,
    features_for,
    from_one_based,
    make_pair,
    normalize_emotion,
    to_one_based,
    validate_row,
    validate_rows,
)


def doc(**overrides):
    row = {
        "id": "d1",
        "kind": "document",
        "language": "en",
        "units": ["I passed the exam", "so I was happy"],
        "speakers": [],
        "emotions": ["neutral", "happiness"],
        "pairs": [make_pair(1, 0, cause_span=[2, 8], emotion_span=[9, 14], category="happiness")],
    }
    row.update(overrides)
    return row


def test_valid_row_round_trips_through_features():
    ds = Dataset.from_list([doc()], features=FEATURES)
    assert ds[0]["pairs"][0] == {
        "emotion": 1,
        "cause": 0,
        "cause_span": [2, 8],
        "emotion_span": [9, 14],
        "category": "happiness",
    }
    assert validate_rows(ds) == 1


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"pairs": [make_pair(2, 0)]}, "pair 0: emotion index 2 out of range 0..1"),
        ({"pairs": [make_pair(1, -1)]}, "pair 0: cause index -1 out of range"),
        ({"pairs": [make_pair(1, 0, cause_span=[5, 40])]}, "cause_span [5, 40] is outside its unit of length 17"),
        ({"pairs": [make_pair(1, 0, emotion_span=[3, 3])]}, "emotion_span [3, 3] is outside"),
        ({"emotions": ["neutral"]}, "length mismatch: 1 emotions for 2 units"),
        ({"kind": "conversation"}, "length mismatch: 0 speakers for 2 utterances"),
        ({"kind": "essay"}, "kind 'essay'"),
        ({"language": "fr"}, "language 'fr'"),
        ({"pairs": [make_pair(1, 0), make_pair(1, 0)]}, "pair 1: exact duplicate"),
    ],
)
def test_validator_names_row_and_reason(overrides, message):
    rows = [doc(id="ok"), doc(id="bad", **overrides)]
    with pytest.raises(SchemaError) as err:
        validate_rows(rows)
    assert "row 1 (id='bad')" in str(err.value)
    assert message in str(err.value)


def test_missing_column_is_named():
    row = doc()
    del row["emotions"]
    with pytest.raises(SchemaError, match="missing column 'emotions'"):
        validate_row(row)


def test_same_pair_with_different_spans_is_allowed_and_exact_duplicates_are_removed():
    a = make_pair(1, 0, cause_span=[0, 1])
    b = make_pair(1, 0, cause_span=[2, 8])
    pairs, removed = dedupe_pairs([a, b, dict(a)])
    assert pairs == [a, b] and removed == 1
    validate_row(doc(pairs=pairs))


def test_one_based_helpers():
    assert from_one_based([(3, 1), (3, 3)], n_units=3) == [(2, 0), (2, 2)]
    assert to_one_based([make_pair(2, 0)]) == [(3, 1)]
    with pytest.raises(SchemaError, match="1-based cause index 4 out of range 1..3"):
        from_one_based([(1, 4)], n_units=3, where="doc 7")
    with pytest.raises(SchemaError, match="1-based emotion index 0"):
        from_one_based([(0, 1)])


def test_emotion_normalisation_map():
    assert normalize_emotion("happines") == "happiness"
    assert normalize_emotion(" Happy ") == "happiness"
    assert normalize_emotion("null") == "neutral"
    assert normalize_emotion(None) == "neutral"
    assert normalize_emotion("joy") == "joy"  # genuine labels of a corpus are kept
    assert normalize_emotion("excited") == "excited"


def test_extra_features_are_declared():
    feats = features_for(["id", "background_cause"])
    assert "background_cause" in feats and "units" in feats
    with pytest.raises(SchemaError, match="neither canonical nor declared"):
        features_for(["mystery"])
    assert NO_SPAN == [-1, -1]
