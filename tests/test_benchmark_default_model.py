"""The pure parts of ``benchmarks/default_model.py`` (issue #20 item 3): the SemEval carve, ECF episodes, length
buckets, joined inputs, the invariance probes' mapping and expected pairs. Fast, no model."""

from __future__ import annotations

import pytest
from conftest import import_benchmark

from hf_ecpe.data.clauses import split_clauses


@pytest.fixture(scope="module")
def bench():
    return import_benchmark("default_model")


def _row(row_id: str, units: list[str], pairs: list[tuple[int, int]], kind: str = "document") -> dict:
    return {
        "id": row_id,
        "kind": kind,
        "language": "en",
        "units": units,
        "speakers": ["A"] * len(units) if kind == "conversation" else [],
        "emotions": ["joy"] * len(units),
        "pairs": [
            {"emotion": e, "cause": c, "category": "joy", "cause_span": [-1, -1], "emotion_span": [-1, -1]}
            for e, c in pairs
        ],
    }


def test_carve_drops_conversations_contained_in_train_then_keeps_a_seeded_share(bench):
    train = [["Hi , Ross .", "Hello !", "How are you ?", "Fine ."], ["Where is Joey ?", "At work ."]]
    candidates = [
        ["hi, ross.", "Hello!", "How are you?", "Fine."],  # equal up to spacing, case and punctuation
        ["Hello !", "How are you ?"],  # contained, not at the start
        ["Where is Joey ?", "At work ."],
        ["Hello !", "Fine ."],  # both utterances in train, but not contiguous
        ["Where is Joey ?", "At home ."],  # one of two differs: below the 90 % tolerance
    ] + [[f"new line {k}", "Okay ."] for k in range(20)]
    kept, dropped = bench.carve_validation(candidates, train, share=0.1, seed=0)
    assert dropped == [0, 1, 2]
    assert len(kept) == round(0.1 * 22) and not set(kept) & set(dropped) and kept == sorted(kept)
    assert bench.carve_validation(candidates, train, share=0.1, seed=0)[0] == kept  # seeded
    assert bench.carve_validation(candidates, train, share=0.1, seed=1)[0] != kept


def test_carve_tolerates_one_changed_utterance_in_ten(bench):
    train = [[f"utterance number {k} ." for k in range(12)]]
    near = [f"utterance number {k} ." for k in range(1, 11)]
    near[4] = "a line spelled differently"
    index = bench.utterance_index(train)
    assert bench.contained_in(near, index, [12])
    near[5] = "another changed line"
    assert not bench.contained_in(near, index, [12])


def test_ecf_episodes_are_read_from_timestamps_and_ordered(bench, tmp_path):
    text = "\n".join(
        [
            "23 2",
            "(1,1)",
            "1 | Ross | anger | Get him ! | Friends_S1E4: 00:12:16.944 - 00:12:23.575",
            "2 | Chandler | neutral | See buddy . | Friends_S1E4: 00:12:23.743 - 00:12:27.370",
            "18 1",
            "",
            "1 | Monica | neutral | Alright . | Friends_S1E4: 00:00:03.420 - 00:00:04.382",
            "40 1",
            "(1,1)",
            "1 | Joey | joy | Yes ! | Friends_S2E1: 01:00:00.000 - 01:00:01.000",
        ]
    )
    path = tmp_path / "dev.txt"
    path.write_text(text + "\n", encoding="utf-8")
    episodes = bench.ecf_episodes(path)
    assert episodes == {"23": ("S1E4", 736.944), "18": ("S1E4", 3.42), "40": ("S2E1", 3600.0)}
    rows = [_row(i, ["x"], [], kind="conversation") for i in ("23", "18", "40")]
    groups, recovered = bench.episode_groups(rows, episodes)
    assert recovered and [[r["id"] for r in g] for g in groups] == [["18", "23"], ["40"]]
    rows.append(_row("99", ["x"], [], kind="conversation"))  # unknown episode: consecutive groups of 4
    groups, recovered = bench.episode_groups(rows, episodes)
    assert not recovered and [[r["id"] for r in g] for g in groups] == [["23", "18", "40", "99"]]


def test_ecf_episodes_of_the_real_validation_file(bench, data_root):
    path = data_root / "ecf" / "data" / "dev.txt"
    if not path.is_file():
        pytest.skip("ECF 1.0 not available")
    episodes = bench.ecf_episodes(path)
    assert len(episodes) == 112 and episodes["18"] == ("S1E4", 3.42)


def test_length_buckets(bench):
    assert [bench.length_bucket(n) for n in (1, 10, 11, 20, 21, 40, 41, 80, 81, 500)] == [
        "1-10", "1-10", "11-20", "11-20", "21-40", "21-40", "41-80", "41-80", "81+", "81+"
    ]  # fmt: skip
    assert bench.bucket_names() == ["1-10", "11-20", "21-40", "41-80", "81+"]


def test_join_groups_reindexes_pairs_and_leaves_out_a_short_last_group(bench):
    rows = [_row(str(k), [f"u{k}a", f"u{k}b"], [(1, 0)]) for k in range(5)]
    joined = bench.join_groups(rows, 2)
    assert len(joined) == 2 and joined[0]["id"] == "0+1"
    assert joined[1]["units"] == ["u2a", "u2b", "u3a", "u3b"]
    assert [(p["emotion"], p["cause"]) for p in joined[1]["pairs"]] == [(1, 0), (3, 2)]


def test_bucket_scores_against_floors(bench):
    rows = [_row("a", ["x", "y"], [(1, 0)]), _row("b", [f"z{k}" for k in range(12)], [(0, 0)])]
    outputs = [{"pairs": [{"emotion_index": 1, "cause_index": 0}]}, {"pairs": []}]
    scores = bench.bucket_scores(outputs, rows)
    assert set(scores) == {"all", "1-10", "11-20"}
    assert scores["1-10"]["model"]["pair_f1"] == pytest.approx(1.0)
    assert scores["11-20"]["model"]["pair_f1"] == pytest.approx(0.0, abs=1e-6)
    assert scores["11-20"]["floors"]["self"]["pair_recall"] == pytest.approx(1.0)
    assert scores["all"]["inputs"] == 2 and scores["all"]["units"] == 14


def test_map_back_to_the_original_units(bench):
    # 2 padding units before a 2-unit text: (3, 2) is the text's (1, 0); pairs touching padding are counted apart
    assert bench.map_back([(3, 2), (2, 2), (0, 0), (4, 3)], before=2, num_units=2) == ([(0, 0), (1, 0)], 2)
    assert bench.map_back([(1, 0, "joy")], before=0, num_units=2) == ([(1, 0)], 0)


def test_padding_surrounds_the_text_with_factual_sentences(bench):
    import random

    clauses = ["I was so happy", "because I passed the exam"]
    padded = bench.padded(clauses, 2, 1, random.Random(0))
    assert padded[2:4] == clauses and len(padded) == 5
    assert all(s in bench.FACTUAL_SENTENCES for s in padded[:2] + padded[4:])


def test_hand_written_texts_split_as_declared(bench):
    assert len(bench.FACTUAL_SENTENCES) == 30 and len(set(bench.FACTUAL_SENTENCES)) == 30
    assert all(len(split_clauses(s)) == 1 for s in bench.FACTUAL_SENTENCES)  # one unit each when padding
    assert len(bench.ORDER_TEXTS) == 15 and len(bench.INVARIANCE_TEXTS) == 10
    assert len(bench.PARAGRAPH_SENTENCES) >= 8
    for text, clauses, (emotion, cause) in bench.PARAGRAPH_SENTENCES:
        assert len(split_clauses(text)) == clauses and max(emotion, cause) < clauses, text


def test_paragraph_expected_pairs_follow_the_split(bench):
    for k in bench.PARAGRAPH_SIZES:
        for text, expected, units in bench.paragraph_inputs(k):
            assert len(split_clauses(text)) == units and len(expected) == k
    text, expected, units = bench.paragraph(
        [bench.PARAGRAPH_SENTENCES[0], bench.PARAGRAPH_SENTENCES[3], bench.PARAGRAPH_SENTENCES[2]]
    )
    assert expected == [(0, 0), (2, 1), (3, 4)] and units == 5


def test_counted_and_floor_pairs(bench):
    assert bench.counted([(0, 1), (1, 1)], [(0, 1)]) == {"found": 1, "extra": 1, "exact": 0}
    assert bench.floor_pairs(3) == {"self": [(0, 0), (1, 1), (2, 2)], "self_and_previous": [(0, 0), (1, 1), (2, 2), (1, 0), (2, 1)]}  # fmt: skip


def test_markdown_table_of_a_partial_report(bench):
    floors = {"self": {"pair_f1": 0.2}, "self_and_previous": {"pair_f1": 0.3}}
    report = {"model": "m", "command": "c", "splits": {"ecf/validation": {"examples": 3, "model": {"pair_f1": 0.5}, "floors": floors}}}  # fmt: skip
    table = bench.markdown_table(report)
    assert "| ecf/validation | 3 | – | – | 0.500 (0.200 / 0.300) | – |" in table
