"""The web demo's plain-Python parts (hf_ecpe/app): input parsing, HTML rendering, the model list, one submission
on a tiny random pair scorer, the command line. The browser test is tests/test_demo_browser.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hf_ecpe.app.models import available_models, describe_model, load_pipeline, shipped_model_folders
from hf_ecpe.app.parsing import InputError, looks_hard_wrapped, parse_input, split_speaker
from hf_ecpe.app.render import (
    CATEGORY_COLOURS,
    FALLBACK_COLOURS,
    MAX_HEATMAP_UNITS,
    NO_PAIR_MESSAGE,
    category_colours,
    heat_colour,
    render_heatmap,
    render_pairs,
    render_result,
    render_summary,
    render_units,
)
from hf_ecpe.app.ui import analyse, decision_threshold, parse_model_option

REPO_ROOT = Path(__file__).resolve().parents[1]


# ----- parsing -----------------------------------------------------------------------------------------------------


def test_prefixed_lines_are_a_conversation_with_speakers():
    parsed = parse_input("Ann: The train was cancelled.\n\n  Ben:   Now I will miss the wedding.  \n")
    assert parsed.kind == "conversation"
    assert parsed.pipeline_input == {
        "utterances": ["The train was cancelled.", "Now I will miss the wedding."],
        "speakers": ["Ann", "Ben"],
    }
    assert parsed.text is None
    assert parsed.describe() == "conversation of 2 utterances (speakers Ann, Ben)"


def test_one_line_is_a_document_and_text_mode_joins_lines():
    parsed = parse_input("I was so happy because I passed the exam.")
    assert parsed.kind == "document" and parsed.pipeline_input == parsed.text
    joined = parse_input("Ann: hello there.\nBen: hi.", mode="text")
    assert joined.kind == "document" and joined.pipeline_input == "Ann: hello there. Ben: hi."


def test_auto_reads_unprefixed_sentences_per_line_as_a_conversation_without_speakers():
    parsed = parse_input("I lost my job today.\nOh no, that is terrible!\nI am scared")
    assert parsed.pipeline_input == {"utterances": ["I lost my job today.", "Oh no, that is terrible!", "I am scared"]}
    assert parsed.speakers is None and parsed.describe() == "conversation of 3 utterances"


def test_auto_reads_a_hard_wrapped_paragraph_as_one_document():
    text = "She was furious that the airline had\nlost her luggage again, so she\nwrote a long complaint."
    assert looks_hard_wrapped([line for line in text.splitlines()])
    parsed = parse_input(text)
    assert parsed.kind == "document"
    assert parsed.text == "She was furious that the airline had lost her luggage again, so she wrote a long complaint."
    assert parse_input(text, mode="conversation").kind == "conversation"  # the explicit mode wins


def test_speakers_only_when_every_line_has_a_prefix():
    parsed = parse_input("Note: I was sad.\nThen it rained.", mode="conversation")
    assert parsed.pipeline_input == {"utterances": ["Note: I was sad.", "Then it rained."]}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Ann: hi", ("Ann", "hi")),
        ("Dr. Smith:   how are you?", ("Dr. Smith", "how are you?")),
        ("A：你好", ("A", "你好")),
        ("Speaker 2: yes: really", ("Speaker 2", "yes: really")),
        ("10:30 we met", None),
        ("http://example.com is down", None),
        ("Ann:no space", None),
        ("Ann:", None),
        ("A very long speaker name that is far too long: hi", None),
    ],
)
def test_speaker_prefix_rules(line, expected):
    assert split_speaker(line) == expected


@pytest.mark.parametrize("text", ["", "   \n\t\n"])
def test_empty_input_is_an_input_error_saying_what_to_do(text):
    with pytest.raises(InputError, match="Paste a text or a conversation"):
        parse_input(text)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown input mode 'poem'"):
        parse_input("hi", mode="poem")


# ----- rendering ---------------------------------------------------------------------------------------------------

RESULT = {
    "units": ["The train was cancelled again.", "Now I will miss the wedding. I am so upset.", "<b>Bye</b> & ${value}"],
    "pairs": [
        {"emotion_index": 1, "cause_index": 1, "emotion_text": "Now I will miss the wedding. I am so upset.",
         "cause_text": "Now I will miss the wedding. I am so upset.", "score": 0.61, "category": "sadness",
         "category_score": 0.59},
        {"emotion_index": 1, "cause_index": 0, "emotion_text": "Now I will miss the wedding. I am so upset.",
         "cause_text": "The train was cancelled again.", "score": 0.33, "category": "sadness",
         "category_score": 0.59},
    ],
    "emotions": [{"index": 1, "text": "Now I will miss the wedding. I am so upset.", "score": 0.77, "causes": [1, 0],
                  "category": "sadness", "category_score": 0.59}],
    "causes": [{"index": 0, "text": "The train was cancelled again.", "score": 0.24, "emotions": [1]},
               {"index": 1, "text": "Now I will miss the wedding. I am so upset.", "score": 0.64, "emotions": [1]}],
    "pair_scores": [[0.09, None, None], [0.33, 0.61, 0.04], [0.05, 0.25, 0.12]],
}  # fmt: skip


def _unit(html: str, index: int) -> str:
    """The opening tag and content of unit ``index`` up to the next unit."""
    start = html.index(f'id="ecpe-unit-{index}"')
    end = html.find('id="ecpe-unit-', start + 1)
    return html[start : end if end != -1 else len(html)]


def test_units_mark_emotions_and_causes_and_link_them():
    parsed = parse_input(
        "Ann: The train was cancelled again.\nBen: Now I will miss the wedding. I am so upset.\nAnn: x"
    )
    html = render_units(RESULT, parsed)
    emotion, cause, other = _unit(html, 1), _unit(html, 0), _unit(html, 2)
    assert 'data-role="emotion cause"' in emotion
    background, accent = CATEGORY_COLOURS["sadness"]
    assert f"background:{background}" in emotion and f"background:{accent}" in emotion
    assert re.search(
        r'sadness 0\.59 ← <a class="ecpe-link" href="#ecpe-unit-1">#1</a> <a [^>]*href="#ecpe-unit-0"', emotion
    )
    assert 'cause of <a class="ecpe-link" href="#ecpe-unit-1">#1</a> (itself) · 0.61' in emotion
    assert 'data-role="cause"' in cause
    assert 'data-cause-of="1">cause of <a class="ecpe-link" href="#ecpe-unit-1">#1</a> · 0.33' in cause
    assert 'data-role="none"' in other and "ecpe-chip" not in other
    assert html.count('class="ecpe-speaker"') == 3 and ">Ben</span>" in html


def test_user_text_is_escaped_everywhere():
    parsed = parse_input("a.\nb.\nc.")
    rendered = render_result(RESULT, parsed, model_name="<i>m</i>")
    for fragment in (rendered.units, rendered.heatmap, rendered.summary):
        assert "<b>Bye</b>" not in fragment and "<i>m</i>" not in fragment
    assert "&lt;b&gt;Bye&lt;/b&gt; &amp; ${value}" in rendered.units


def test_a_document_keeps_the_text_between_its_units():
    text = "I was so happy,  because I passed.   The end"
    result = {
        "units": ["I was so happy,", "because I passed.", "The end"],
        "offsets": [[0, 15], [17, 34], [37, 44]],
        "pairs": [{"emotion_index": 0, "cause_index": 1, "emotion_text": "I was so happy,",
                   "cause_text": "because I passed.", "score": 0.8}],
        "emotions": [{"index": 0, "text": "I was so happy,", "score": 0.9, "causes": [1]}],
        "causes": [{"index": 1, "text": "because I passed.", "score": 0.7, "emotions": [0]}],
    }  # fmt: skip
    html = render_units(result, parse_input(text))
    assert 'class="ecpe-doc"' in html and 'class="ecpe-turn"' not in html
    # the gaps between units ("  ", "   ") are kept, so the highlighted text reads as the original
    visible = re.sub(r'<span class="ecpe-(num|chip)[^"]*"[^>]*>.*?</span>', "", html.split("</style>")[1])
    assert re.sub(r"<[^>]+>", "", visible).strip() == text
    assert f"background:{CATEGORY_COLOURS['emotion'][0]}" in _unit(html, 0)  # no category head: generic colour
    assert "emotion 0.90" in _unit(html, 0)


def test_pairs_table_lists_categories_scores_and_lonely_emotions():
    html = render_pairs(RESULT)
    rows = re.findall(r'<tr data-emotion="(\d+)" data-cause="(\d+)">', html)
    assert rows == [("1", "1"), ("1", "0")]
    assert "sadness</span> 0.59" in html and "0.610" in html and "0.330" in html
    lonely = dict(RESULT, pairs=[], causes=[], emotions=[dict(RESULT["emotions"][0], causes=[])])
    html = render_pairs(lonely)
    assert NO_PAIR_MESSAGE in html and "without a cause above the threshold" in html and "sadness 0.59" in html


def test_heatmap_cells_candidates_and_pairs():
    html = render_heatmap(RESULT, threshold=0.31)
    assert html.count("<td") == 9
    assert html.count('class="ecpe-off"') == 2  # None: not a candidate
    assert re.findall(r'class="ecpe-cell ecpe-pair" data-emotion="(\d)" data-cause="(\d)"', html) == [
        ("1", "0"),
        ("1", "1"),
    ]
    assert "decision threshold 0.31" in html
    assert "no pair scores" in render_heatmap({"units": ["a"]})
    big = {"units": ["u"] * (MAX_HEATMAP_UNITS + 1), "pair_scores": [[0.0] * (MAX_HEATMAP_UNITS + 1)] * 41}
    assert "too many to draw" in render_heatmap(big)


def test_heat_colour_scale_and_contrast():
    assert heat_colour(0.0) == ("rgb(68,1,84)", "#fff")
    assert heat_colour(1.0) == ("rgb(253,231,37)", "#111")
    assert heat_colour(2.0) == heat_colour(1.0) and heat_colour(-1) == heat_colour(0)
    assert heat_colour(0.5)[0] == "rgb(33,145,140)"


def test_category_colours():
    assert category_colours("Joy") == CATEGORY_COLOURS["joy"]
    assert category_colours(None) == CATEGORY_COLOURS["emotion"]
    assert category_colours("pride") in FALLBACK_COLOURS and category_colours("pride") == category_colours("pride")


def test_summary_counts_pairs_or_says_there_is_none():
    parsed = parse_input("Ann: a.\nBen: b.")
    summary = render_summary(RESULT, parsed, "default")
    assert 'data-pairs="2"' in summary and "2 emotion–cause pairs" in summary and "speakers Ann, Ben" in summary
    empty = render_summary({"units": ["Water boils."], "pairs": [], "emotions": [], "causes": []}, None, "default")
    assert 'data-pairs="0"' in empty and NO_PAIR_MESSAGE in empty


# ----- models and one submission -----------------------------------------------------------------------------------


def test_the_model_list_is_the_default_then_every_shipped_folder():
    from hf_ecpe.defaults import DEFAULT_MODEL_NAME, default_model_path

    models = available_models()
    shipped = shipped_model_folders()
    assert list(models)[0] == "default" and models["default"] == default_model_path()
    assert sorted(models) == sorted(["default", *(name for name in shipped if name != DEFAULT_MODEL_NAME)])
    assert describe_model(models["default"]) == "pair-scorer · 6 emotion categories"


def test_describe_model_of_a_folder_without_config(tmp_path):
    assert describe_model(tmp_path) == "model folder"


@pytest.fixture(scope="module")
def tiny_models(tiny_encoder_dir, tmp_path_factory):
    """``{"tiny": folder}``: a random pair scorer with categories that keeps every candidate pair (threshold 0)."""
    import torch
    from transformers import AutoTokenizer

    from hf_ecpe import MultimodalPairScorerModel

    torch.manual_seed(0)
    model = MultimodalPairScorerModel.from_encoder(
        str(tiny_encoder_dir),
        candidates="all",
        emotion_categories=["neutral", "joy", "sadness"],
        decoding="threshold",
        decode_threshold=0.0,
    ).eval()
    path = tmp_path_factory.mktemp("tiny_scorer")
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_encoder_dir).save_pretrained(path)
    return {"tiny": path}


def test_one_submission_renders_the_pipeline_result(tiny_models):
    summary, units, pairs, heatmap, result = analyse(
        "A: i was so happy\nB: i passed the exam", "auto", "tiny", tiny_models
    )
    assert len(result["pairs"]) == 4  # threshold 0: every candidate pair of 2 units
    assert "4 emotion–cause pairs" in summary and "model <b>tiny</b>" in summary
    assert units.count('data-role="emotion cause"') == 2 and ">A</span>" in units
    assert pairs.count("<tr data-emotion=") == 4 and heatmap.count('class="ecpe-cell ecpe-pair"') == 4
    assert "decision threshold 0.00" in heatmap
    assert decision_threshold(load_pipeline("tiny", tiny_models)) == 0.0
    assert load_pipeline("tiny", tiny_models) is load_pipeline("tiny", tiny_models)  # loaded once


def test_a_bad_submission_is_an_error_box_not_an_exception(tiny_models):
    summary, units, pairs, heatmap, result = analyse("  ", "auto", "tiny", tiny_models)
    assert "ecpe-error" in summary and "Paste a text" in summary and result is None
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        analyse("hi", "auto", "nope", tiny_models)


def test_the_demo_builds_with_the_model_list(tiny_models):
    pytest.importorskip("gradio", reason="the demo extra is not installed: pip install 'hf-ecpe[demo]'")
    from hf_ecpe.app import build_demo

    demo = build_demo(tiny_models)
    dropdown = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "ecpe-model")
    assert [value for _, value in dropdown.choices] == ["tiny"] and dropdown.value == "tiny"
    with pytest.raises(ValueError, match="no model to serve"):
        build_demo({})


def test_model_option_and_command_line_errors(tmp_path, tiny_models, capsys):
    assert parse_model_option(f"mine={tiny_models['tiny']}") == ("mine", tiny_models["tiny"])
    with pytest.raises(ValueError, match="expected NAME=FOLDER"):
        parse_model_option("just-a-path")
    from hf_ecpe.app import run

    with pytest.raises(SystemExit) as exit_info:
        run(["--model", f"x={tmp_path}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not a model folder (no config.json)" in err


def test_a_taken_port_is_a_one_line_user_error(capsys):
    pytest.importorskip("gradio", reason="the demo extra is not installed: pip install 'hf-ecpe[demo]'")
    import socket

    from hf_ecpe.app import run

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit_info:
            run(["--port", str(port), "--host", "127.0.0.1", "--no_preload"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot serve the demo" in err[0] and str(port) in err[0]


def test_importing_the_app_package_does_not_import_gradio():
    code = "import sys, hf_ecpe.app; print(json.dumps(['gradio' in sys.modules]))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == [False]
