"""Grammar-constrained decoding (hf_ecpe.llm.constrained): every output parses cleanly, greedy and beam search equal
a brute-force search over the grammar, batching changes nothing, the budget is kept, no line is repeated (the allowed
tokens equal a brute-force search over the repeat-free language); the overhead is measured."""

from __future__ import annotations

import bisect
import random
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessor, LogitsProcessorList

from hf_ecpe.llm.constrained import (
    RepeatFreeGrammar,
    TokenVocabulary,
    TripletGrammar,
    TripletLogitsProcessor,
    is_complete,
    make_logits_processor,
    state_after,
    token_bytes,
)
from hf_ecpe.llm.data import TINY_LABELS, build_sft_dataset, row_triplets, tiny_examples
from hf_ecpe.llm.inference import EmotionCauseLLM
from hf_ecpe.llm.parsing import parse_completion
from hf_ecpe.llm.prompts import EMPTY_MARKER, build_prompt, flatten_unit, quote_span, render_completion

torch.set_num_threads(1)
LABELS = ("joy", "sadness")
UNITS = ['Oh no , "bad" !', "I lost it ."]  # a quote inside a span: escapes must be cut at character boundaries


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny random Llama with a BPE trained on triplet prompts and completions, and a sharp random output head
    (so that greedy outputs differ between prompts instead of all being NONE)."""
    from hf_ecpe.llm.weights import build_tiny_random_llama

    rows = tiny_examples()
    texts = [m["content"] for r in build_sft_dataset(rows, TINY_LABELS) for m in r["prompt"] + r["completion"]]
    texts += [render_completion([], UNITS), '(U1: "Oh no , \\"bad\\" !", U2: "I lost it", sadness)']
    path = build_tiny_random_llama(tmp_path_factory.mktemp("tiny_llm"), texts, vocab_size=600)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    generator = torch.Generator().manual_seed(0)
    head = torch.randn(model.lm_head.weight.shape, generator=generator) * 3
    model.lm_head.weight = torch.nn.Parameter(head)  # untied from the embeddings
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    return model, tokenizer


def _chat(tokenizer, prompts: list[str]) -> dict:
    texts = [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]
    return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)


def _decode(tokenizer, ids) -> str:
    return tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def _completions(tokenizer, sequences, prompt_length: int) -> list[str]:
    out = []
    for seq in sequences[:, prompt_length:].tolist():
        if tokenizer.eos_token_id in seq:
            seq = seq[: seq.index(tokenizer.eos_token_id)]
        out.append(_decode(tokenizer, seq))
    return out


def _assert_clean(text: str, units, labels) -> None:
    parsed = parse_completion(text, units, labels)
    assert parsed.well_formed, (text, parsed.counts())
    assert parsed.malformed_lines == parsed.dropped_spans == parsed.dropped_categories == 0, (text, parsed.counts())
    assert is_complete(TripletGrammar(units, labels), text), text


# -- the automaton --------------------------------------------------------------------------------------------------


def test_grammar_accepts_rendered_gold_and_rejects_invented_content():
    for row in tiny_examples():
        gold = render_completion(row_triplets(row), row["units"])
        assert is_complete(TripletGrammar(row["units"], TINY_LABELS), gold), gold
    grammar = TripletGrammar(['he said "hi" \\ ok', "   ", "tab\there\nnext"], ["joy"])
    good = ['(U1: "said \\"hi\\" \\\\ ok", U3, joy)', '(U3: "b\\th", U3: "here next", joy)\n(U1, U1, joy)', "NONE"]
    for text in good:
        assert is_complete(grammar, text), text
        _assert_clean(text, ['he said "hi" \\ ok', "   ", "tab\there\nnext"], ["joy"])
    bad = [
        '(U1: "said hi", U1, joy)',  # not verbatim
        '(U1: " ", U1, joy)',  # blank span (the parser strips it to nothing)
        "(U2, U1, joy)",  # a blank unit has no span
        "(U4, U1, joy)",  # out of range
        "(U01, U1, joy)",  # leading zero
        "(U1, U1, anger)",  # not a label
        '(U1: "said \\"hi\\"\\", U1, joy)',  # a quote the unit does not have
        "NONE\n(U1, U1, joy)",  # nothing after the empty marker
        "(U1, U1, joy)\n",  # a line break must start a line
    ]
    for text in bad:
        state = state_after(grammar, text)
        assert state is None or not grammar.accepting(state), text
    # prefixes that end inside an escape or a multi-byte character are alive, and so is their finishing text
    for prefix in ['(U1: "said \\', '(U1: "said \\"hi\\" \\']:
        state = state_after(grammar, prefix)
        assert state is not None and is_complete(grammar, prefix + grammar.finish(state).decode())
    unicode = TripletGrammar(["ça va 😀 !"], ["joy"])
    text = '(U1: "va 😀", U1, joy)'
    raw = text.encode()
    cut = raw.index("😀".encode()) + 2  # in the middle of the emoji's four bytes
    state = state_after(unicode, "")
    for byte in raw[:cut]:
        state = unicode.transitions(state)[byte]
    assert is_complete(unicode, text)


def test_labels_the_parser_would_misread_are_refused():
    with pytest.raises(ValueError, match="labels is empty"):
        TripletGrammar(["a"], [])
    with pytest.raises(ValueError, match="reads as syntax"):
        TripletGrammar(["a"], ["joy, sadness"])
    with pytest.raises(ValueError, match="surrounding whitespace"):
        TripletGrammar(["a"], [" joy"])


def test_token_bytes_match_the_tokenizer(tiny):
    _, tokenizer = tiny
    pieces = token_bytes(tokenizer)
    for text in ['(U1: "Oh no , \\"bad\\" !", U2, joy)\nNONE', "ça va 😀 ! 我很开心"]:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert b"".join(pieces[i] for i in ids).decode("utf-8") == _decode(tokenizer, ids) == text
    assert pieces[tokenizer.eos_token_id] is None  # special tokens add no text


def test_processor_accepts_every_gold_token_sequence(tiny):
    """Teacher forcing: the tokenised gold completion is allowed at every step, within a budget of its own length."""
    _, tokenizer = tiny
    vocabulary = TokenVocabulary(tokenizer, [tokenizer.eos_token_id])
    for row in tiny_examples():
        ids = tokenizer(render_completion(row_triplets(row), row["units"]), add_special_tokens=False)["input_ids"]
        ids.append(tokenizer.eos_token_id)
        grammar = TripletGrammar(row["units"], TINY_LABELS)
        processor = TripletLogitsProcessor(vocabulary, [grammar], prompt_length=2, max_new_tokens=len(ids))
        for k in range(len(ids)):
            scores = processor(torch.tensor([[1, 1, *ids[:k]]]), torch.zeros(1, len(tokenizer)))
            assert scores[0, ids[k]] == 0.0, (row["id"], k)


# -- generation -----------------------------------------------------------------------------------------------------


class _Steer(LogitsProcessor):
    """Test-only: lowers the empty marker's first letter at the first step and EOS throughout (longer outputs)."""

    def __init__(self, tokenizer, prompt_length: int, eos_penalty: float) -> None:
        self.prompt_length, self.eos_penalty, self.eos = prompt_length, eos_penalty, tokenizer.eos_token_id
        self.starts_with_n = [i for i, b in enumerate(token_bytes(tokenizer)) if b and b[:1] == b"N"]

    def __call__(self, input_ids, scores):
        scores = scores.clone()
        if input_ids.shape[1] == self.prompt_length:
            scores[:, self.starts_with_n] -= 30.0
        scores[:, self.eos] -= self.eos_penalty
        return scores


_unit_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=24)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    documents=st.lists(st.lists(_unit_text, min_size=1, max_size=4), min_size=1, max_size=3),
    labels=st.lists(st.sampled_from(("joy", "sadness", "anger", "surprise")), min_size=1, max_size=3, unique=True),
    budget=st.integers(4, 48),
    sample=st.booleans(),
    steer=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_constrained_outputs_always_parse_cleanly(tiny, documents, labels, budget, sample, steer, seed):
    """Random prompts (quotes, backslashes, control characters, line breaks, emoji, blank units), batched and
    left-padded, greedy or sampled, any budget: 0 malformed lines, 0 dropped spans or categories."""
    model, tokenizer = tiny
    vocabulary = TokenVocabulary(tokenizer, [tokenizer.eos_token_id])
    batch = _chat(tokenizer, [build_prompt(units, labels) for units in documents])
    length = batch["input_ids"].shape[1]
    processors = make_logits_processor(vocabulary, documents, labels, length, budget)
    if steer:
        processors.insert(0, _Steer(tokenizer, length, eos_penalty=4.0))
    torch.manual_seed(seed)
    sequences = model.generate(
        **batch,
        max_new_tokens=budget,
        do_sample=sample,
        top_k=0,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        logits_processor=processors,
    )
    for units, text in zip(documents, _completions(tokenizer, sequences, length)):
        _assert_clean(text, units, labels)
        if not any(flatten_unit(u).strip() for u in units):
            assert text == EMPTY_MARKER  # all units blank: only the empty marker is possible


class _Oracle:
    """An independent statement of the language: every valid line of a tiny input, enumerated."""

    def __init__(self, units, labels) -> None:
        fields = []
        for k, unit in enumerate(units):
            shown = flatten_unit(unit)
            if shown.strip():
                fields.append(f"U{k + 1}")
                for i in range(len(shown)):
                    for j in range(i + 1, len(shown) + 1):
                        if shown[i:j].strip():
                            fields.append(f"U{k + 1}: {quote_span(shown[i:j])}")
        fields = sorted(set(fields))
        self.lines = sorted({f"({a}, {b}, {c})" for a in fields for b in fields for c in labels})
        self.known = set(self.lines)

    def prefix(self, text: str) -> bool:
        if EMPTY_MARKER.startswith(text):
            return True
        *done, last = text.split("\n")
        if any(line not in self.known for line in done):
            return False
        at = bisect.bisect_left(self.lines, last)
        return at < len(self.lines) and self.lines[at].startswith(last)

    def complete(self, text: str) -> bool:
        return text == EMPTY_MARKER or (text != "" and all(line in self.known for line in text.split("\n")))


def _valid_next(tokenizer, oracle: _Oracle, generated: list[int]) -> set[int]:
    """Brute force over the whole vocabulary: the tokens after which the text is still a prefix of the language."""
    text = _decode(tokenizer, generated)
    special = set(tokenizer.all_special_ids)
    valid = {tokenizer.eos_token_id} if oracle.complete(text) else set()
    for token in range(len(tokenizer)):
        if token not in special and oracle.prefix(_decode(tokenizer, [*generated, token])):
            valid.add(token)
    return valid


@pytest.mark.parametrize("forced", ["", "(U1", '(U1: "', '(U2: "I lo', '(U1, U2: "lost it", joy)'])
def test_greedy_equals_brute_force_argmax_over_the_grammar(tiny, forced):
    """After a forced start, each greedy step picks the highest-logit token among those a brute-force check of the
    whole vocabulary finds valid, and the processor allows exactly that set."""
    model, tokenizer = tiny
    vocabulary = TokenVocabulary(tokenizer, [tokenizer.eos_token_id])
    oracle = _Oracle(UNITS, LABELS)
    prompt = _chat(tokenizer, [build_prompt(UNITS, LABELS)])["input_ids"]
    start = tokenizer(forced, add_special_tokens=False)["input_ids"] if forced else []
    processor = TripletLogitsProcessor(vocabulary, [TripletGrammar(UNITS, LABELS)], prompt.shape[1])
    depth = 8
    out = model.generate(
        torch.cat([prompt, torch.tensor([start], dtype=torch.long)], dim=1),
        attention_mask=torch.ones(1, prompt.shape[1] + len(start), dtype=torch.long),
        max_new_tokens=depth,
        do_sample=False,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        logits_processor=LogitsProcessorList([processor]),
    )[0, prompt.shape[1] :].tolist()
    generated = list(start)
    with torch.no_grad():
        for _ in range(depth):
            valid = _valid_next(tokenizer, oracle, generated)
            ids = torch.cat([prompt[0], torch.tensor(generated, dtype=torch.long)])[None]
            allowed = processor.allowed(0, processor.state_of(0, generated))
            assert set(allowed.tolist()) == valid
            logits = model(ids).logits[0, -1]
            best = max(valid, key=lambda t: float(logits[t]))
            generated.append(best)
            if best == tokenizer.eos_token_id:
                break
    assert out[: len(generated)] == generated


@pytest.mark.parametrize(("forced", "depth"), [("", 3), ('(U1: "', 2)])
def test_beam_search_finds_the_best_valid_sequence_of_a_brute_force_search(tiny, forced, depth):
    """With enough beams to keep every valid prefix, constrained beam search (no length penalty) returns the
    highest-scoring valid token sequence of an exhaustive enumeration (EOS-terminated ones included)."""
    model, tokenizer = tiny
    oracle = _Oracle(UNITS, LABELS)
    eos = tokenizer.eos_token_id
    prompt = _chat(tokenizer, [build_prompt(UNITS, LABELS)])["input_ids"]
    start = tokenizer(forced, add_special_tokens=False)["input_ids"] if forced else []
    context = torch.cat([prompt, torch.tensor([start], dtype=torch.long)], dim=1)

    @torch.no_grad()
    def log_probs(sequence: list[int]) -> torch.Tensor:
        ids = torch.cat([context[0], torch.tensor(sequence, dtype=torch.long)])[None]
        return torch.log_softmax(model(ids).logits[0, -1], dim=-1)

    frontier: list[tuple[list[int], float]] = [([], 0.0)]
    candidates: list[tuple[float, list[int]]] = []
    widest = 1
    for step in range(depth):
        grown = []
        for sequence, score in frontier:
            scores = log_probs(sequence)
            for token in _valid_next(tokenizer, oracle, start + sequence):
                total = score + float(scores[token])
                if token == eos:
                    candidates.append((total, [*sequence, eos]))
                elif step == depth - 1:
                    candidates.append((total, [*sequence, token]))
                else:
                    grown.append(([*sequence, token], total))
        frontier = grown
        widest = max(widest, len(grown))
    best_score, best = max(candidates)
    vocabulary = TokenVocabulary(tokenizer, [eos])
    processor = TripletLogitsProcessor(vocabulary, [TripletGrammar(UNITS, LABELS)], prompt.shape[1])
    out = model.generate(
        context,
        attention_mask=torch.ones_like(context),
        max_new_tokens=depth,
        num_beams=widest + 1,
        length_penalty=0.0,
        do_sample=False,
        eos_token_id=eos,
        pad_token_id=tokenizer.pad_token_id,
        logits_processor=LogitsProcessorList([processor]),
    )[0, context.shape[1] :].tolist()
    if eos in out:
        out = out[: out.index(eos) + 1]
    assert out == best, (best_score, _decode(tokenizer, best), _decode(tokenizer, out))


def _documents() -> list:
    rows = tiny_examples()
    return [
        {"clauses": rows[0]["units"]},
        {"utterances": UNITS, "speakers": ["A", "B"]},
        "I was so happy because I passed .",
        {"utterances": rows[3]["units"], "speakers": ["A", "B"]},
        {"clauses": ["tab\there ", 'a "quoted" word']},
        {"utterances": ["Oh no !"], "speakers": ["A"]},
    ]


@pytest.mark.parametrize("num_beams", [1, 3])
def test_batched_left_padded_generation_equals_one_by_one(tiny, num_beams):
    model, tokenizer = tiny
    documents = _documents()
    kwargs = dict(tokenizer=tokenizer, labels=LABELS, max_new_tokens=30, num_beams=num_beams)
    batched = EmotionCauseLLM(model, batch_size=4, **kwargs)(documents)
    single = EmotionCauseLLM(model, batch_size=1, **kwargs)
    alone = [single(document) for document in documents]
    assert [r["generated_text"] for r in batched] == [r["generated_text"] for r in alone]
    for result in batched:
        assert result["parse"]["malformed_lines"] == result["parse"]["dropped_spans"] == 0, result
        assert result["parse"]["lines"] >= 1
        assert all(0.0 < pair["score"] <= 1.0 for pair in result["pairs"])
    assert any(r["pairs"] for r in batched)  # not everything is NONE


def test_beam_search_and_free_generation_through_emotion_cause_llm(tiny):
    model, tokenizer = tiny
    rows = tiny_examples()
    beam = EmotionCauseLLM(model, tokenizer=tokenizer, labels=TINY_LABELS, max_new_tokens=24, num_beams=4)
    scores = beam.evaluate(rows, keep_generations=len(rows))
    assert scores["malformed_rate"] == 0.0 and scores["dropped_spans_per_example"] == 0.0
    assert scores["constrained"] is True and scores["num_beams"] == 4 and scores["constraint_ms_per_token"] > 0
    for generation, row in zip(scores["generations"], rows):
        _assert_clean(generation["generated"], row["units"], TINY_LABELS)
    # constrained=False is plain greedy generation (what model.generate gives without the processor)
    free = EmotionCauseLLM(model, tokenizer=tokenizer, labels=TINY_LABELS, max_new_tokens=12, constrained=False)
    prompt = build_prompt(rows[0]["units"], TINY_LABELS)
    batch = _chat(tokenizer, [prompt])
    plain = model.generate(
        **batch,
        max_new_tokens=12,
        do_sample=False,
        eos_token_id=[tokenizer.eos_token_id],
        pad_token_id=tokenizer.pad_token_id,
    )
    assert free.generate([prompt])[0][0] == _completions(tokenizer, plain, batch["input_ids"].shape[1])[0]
    with pytest.raises(ValueError, match="needs units"):
        beam.generate([prompt])
    with pytest.raises(ValueError, match="instruction must be one of"):
        EmotionCauseLLM(model, tokenizer=tokenizer, labels=TINY_LABELS, instruction="everything")


def test_tight_budget_still_ends_with_a_complete_line(tiny):
    """A budget smaller than the model's wish: the completion closes its line in time (or writes NONE)."""
    model, tokenizer = tiny
    documents = [u for u in _documents() if not isinstance(u, str)]
    for budget in (2, 6, 11, 17):
        llm = EmotionCauseLLM(model, tokenizer=tokenizer, labels=LABELS, max_new_tokens=budget, batch_size=3)
        for result in llm(documents):
            _assert_clean(result["generated_text"], result["units"], LABELS)
        assert llm.generated_tokens <= budget * len(documents)


def test_constraint_overhead_per_token_is_measured(tiny, record_property, capsys):
    """Time per generated token with and without the processor, and inside it (recorded, not asserted)."""
    model, tokenizer = tiny
    documents = [u for u in _documents() if not isinstance(u, str)] * 2
    timings = {}
    for constrained in (False, True):
        llm = EmotionCauseLLM(
            model, tokenizer=tokenizer, labels=LABELS, max_new_tokens=32, batch_size=4, constrained=constrained
        )
        assert llm.vocabulary is not None  # built once per tokenizer, not timed per token
        began = time.perf_counter()
        llm(documents)
        seconds = time.perf_counter() - began
        timings[constrained] = (seconds, llm.generated_tokens, llm.constraint_seconds)
    free_seconds, free_tokens, _ = timings[False]
    seconds, tokens, inside = timings[True]
    overhead_ms = 1000 * inside / max(tokens, 1)
    record_property("constraint_ms_per_token_tiny", round(overhead_ms, 4))
    with capsys.disabled():
        print(
            f"\n[constraint overhead, tiny model, vocab {len(tokenizer)}] {overhead_ms:.3f} ms per generated token "
            f"inside the processor; {1000 * seconds / max(tokens, 1):.2f} ms/token constrained vs "
            f"{1000 * free_seconds / max(free_tokens, 1):.2f} ms/token free"
        )
    assert tokens > 0 and inside > 0


# -- no repeated lines ----------------------------------------------------------------------------------------------


def test_a_written_span_pair_is_refused_under_any_spelling_or_category():
    """The key of a line is its (emotion, cause) span pair as the parser locates it: a bare unit and its quoted
    stripped text are one field, surrounding whitespace is no new span, another category is no new line. A prefix
    is refused at the first byte after which only written lines can follow, not earlier."""
    grammar, plain = RepeatFreeGrammar(TripletGrammar(UNITS, LABELS)), TripletGrammar(UNITS, LABELS)
    line = '(U1, U2: "lost it", joy)'
    again = [
        line,
        '(U1, U2: "lost it", sadness)',
        '(U1, U2: " lost it", joy)',
        '(U1, U2: "lost it ", sadness)',
        '(U1: "Oh no , \\"bad\\" !", U2: "lost it", joy)',
    ]
    for second in again:
        assert is_complete(plain, f"{line}\n{second}")  # grammatical, parsed as a duplicate span pair
        assert parse_completion(f"{line}\n{second.replace('sadness', 'joy')}", UNITS, LABELS).duplicates == 1
        assert state_after(grammar, f"{line}\n{second}") is None, second
    assert state_after(grammar, f'{line}\n(U1, U2: "lost it') is not None  # "lost it ." is still free
    assert state_after(grammar, f'{line}\n(U1, U2: "lost it"') is None
    assert state_after(grammar, f'{line}\n(U1, U2: "lost it ') is not None
    assert is_complete(grammar, f'{line}\n(U1, U2: "lost i", joy)\n(U2, U2: "lost it", joy)\n(U1, U2, joy)')
    # the shortest completion is one that is still allowed (the budget rule follows it)
    assert grammar.finish(state_after(grammar, f'{line}\n(U1, U2: "lost it')) == b' .", joy)'
    assert grammar.finish(state_after(grammar, f"{line}\n(U1, U")) == b"1, joy)"
    assert grammar.finish(state_after(grammar, f"{line}\n(U1")) == b", U1, joy)"
    assert plain.finish(state_after(plain, f'{line}\n(U1, U2: "lost it')) == b'", joy)'
    # regression (found by the brute-force test): cause fields of several units, merged shortest first, each keep
    # their own unit number
    grammar = RepeatFreeGrammar(TripletGrammar(['"\\', "\\"], ["joy"]))
    written = '(U1: "\\"", U1, joy)\n(U1, U1, joy)\n(U1, U2, joy)\n(U1'
    assert grammar.finish(state_after(grammar, written)) == b', U1: "\\"", joy)'


def test_when_every_line_is_written_only_the_end_follows(tiny):
    """Unit "ab" has three fields (U1 = "ab", "a", "b"), so nine lines; after them only EOS is allowed, and a
    single-field input allows one line, then EOS. The processor accepts the nine lines token by token."""
    _, tokenizer = tiny
    eos = tokenizer.eos_token_id
    vocabulary = TokenVocabulary(tokenizer, [eos])
    fields = ["U1", 'U1: "a"', 'U1: "b"']
    lines = [f"({e}, {c}, joy)" for e in fields for c in fields]
    grammar = RepeatFreeGrammar(TripletGrammar(["ab"], ["joy", "sadness"]))
    assert is_complete(grammar, "\n".join(lines))
    assert state_after(grammar, "\n".join(lines[:8]) + '\n(U1: "ab", U1: "b", sadness)') is None
    assert grammar.finish(state_after(grammar, "\n".join(lines[:8]) + "\n")) == lines[8].encode()
    processor = TripletLogitsProcessor(vocabulary, [grammar], prompt_length=1)
    ids = tokenizer("\n".join(lines), add_special_tokens=False)["input_ids"]
    for k in range(len(ids)):
        assert ids[k] in processor.allowed(0, processor.state_of(0, ids[:k])).tolist(), k
    assert processor.allowed(0, processor.state_of(0, ids)).tolist() == [eos]
    # budget: after eight lines, a new line is started only when the ninth (the only one left, longer than the
    # written "(U1, U1, joy)") fits; an eager path that starts one whenever allowed always ends complete
    pieces = token_bytes(tokenizer)
    eight = tokenizer("\n".join(lines[:8]), add_special_tokens=False)["input_ids"]
    for extra in range(1, 16):
        budgeted = TripletLogitsProcessor(vocabulary, [grammar], 1, max_new_tokens=len(eight) + extra)
        path = list(eight)
        for _ in range(extra):
            scores = budgeted(torch.tensor([[0, *path]]), torch.zeros(1, len(tokenizer)))
            allowed = [t for t in torch.isfinite(scores[0]).nonzero().flatten().tolist() if t != eos]
            if not allowed:
                break
            path.append(max(allowed, key=lambda t: (pieces[t].startswith(b"\n"), len(pieces[t]), -t)))
        assert is_complete(grammar, b"".join(pieces[t] for t in path).decode()), (extra, path)
    single = TripletLogitsProcessor(vocabulary, [RepeatFreeGrammar(TripletGrammar([" a "], ["joy"]))], 1)
    ids = tokenizer("(U1, U1, joy)", add_special_tokens=False)["input_ids"]
    assert single.allowed(0, single.state_of(0, ids)).tolist() == [eos]
    # the grammar alone (repeats allowed) would go on
    plain = TripletLogitsProcessor(vocabulary, [TripletGrammar([" a "], ["joy"])], 1)
    assert len(plain.allowed(0, plain.state_of(0, ids))) > 1


class _RepeatFreeOracle:
    """An independent statement of the repeat-free language on bytes: every valid line of a tiny input, enumerated,
    with its span pair as the parser locates it; a prefix is valid iff its finished lines are valid with distinct
    span pairs and its last line is a prefix of a line whose span pair is not among them."""

    def __init__(self, units, labels) -> None:
        located = {}
        for k, unit in enumerate(units):
            shown = flatten_unit(unit)
            if not shown.strip():
                continue
            fields = {f"U{k + 1}"} | {
                f"U{k + 1}: {quote_span(shown[i:j])}"
                for i in range(len(shown))
                for j in range(i + 1, len(shown) + 1)
                if shown[i:j].strip()
            }
            for field in fields:
                (triplet,) = parse_completion(f"({field}, {field}, {labels[0]})", units, labels).triplets
                located[field] = (triplet["emotion_unit"], triplet["emotion_start"], triplet["emotion_end"])
        self.key_of = {
            f"({a}, {b}, {c})".encode(): (located[a], located[b]) for a in located for b in located for c in labels
        }
        self.lines = sorted(self.key_of)

    def _written(self, lines: list[bytes]) -> set | None:
        keys = [self.key_of.get(line) for line in lines]
        return None if None in keys or len(set(keys)) < len(keys) else set(keys)

    def _open(self, last: bytes, used: set) -> bool:
        at = bisect.bisect_left(self.lines, last)
        while at < len(self.lines) and self.lines[at].startswith(last):
            if self.key_of[self.lines[at]] not in used:
                return True
            at += 1
        return False

    def prefix(self, text: bytes) -> bool:
        if EMPTY_MARKER.encode().startswith(text):
            return True
        *done, last = text.split(b"\n")
        used = self._written(done)
        return used is not None and self._open(last, used)

    def valid_next(self, text: bytes, pieces: list[bytes | None]) -> set[int]:
        """The token ids (by their bytes ``pieces``) after which ``text`` is still a prefix of the language."""
        *done, last = text.split(b"\n")
        used = self._written(done)
        valid = set()
        for token, piece in enumerate(pieces):
            if piece is None:
                continue
            if b"\n" in piece or EMPTY_MARKER.encode().startswith(text + piece):
                ok = self.prefix(text + piece)
            else:
                ok = used is not None and self._open(last + piece, used)
            if ok:
                valid.add(token)
        return valid

    def complete(self, text: bytes) -> bool:
        return text == EMPTY_MARKER.encode() or (text != b"" and self._written(text.split(b"\n")) is not None)

    def finish(self, text: bytes) -> bytes:
        """The shortest (then smallest) completion of the valid prefix ``text``."""
        if EMPTY_MARKER.encode().startswith(text):
            return EMPTY_MARKER.encode()[len(text) :]
        if self.complete(text):
            return b""
        *done, last = text.split(b"\n")
        used, rests = self._written(done), []
        at = bisect.bisect_left(self.lines, last)
        while at < len(self.lines) and self.lines[at].startswith(last):
            if self.key_of[self.lines[at]] not in used:
                rests.append(self.lines[at][len(last) :])
            at += 1
        return min(rests, key=lambda rest: (len(rest), rest))


_tiny_unit = st.text(st.sampled_from(list('ab "\\\té\n😀')), max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    units=st.lists(_tiny_unit, min_size=1, max_size=3),
    labels=st.lists(st.sampled_from(("joy", "sadness")), min_size=1, max_size=2, unique=True),
    budget=st.one_of(st.none(), st.integers(2, 40)),
    seed=st.integers(0, 2**16),
)
def test_random_token_paths_never_repeat_a_line_nor_reach_a_dead_end(tiny, units, labels, budget, seed):
    """Random token paths through the processor (EOS and NONE rarely chosen, so inputs run out of lines): at every step the
    allowed tokens are exactly the brute-force valid ones of the repeat-free language (a subset, never empty, under a
    budget), the shortest completion is the brute-force one; a finished output is complete, parses cleanly and has
    no two lines with the same span pair."""
    _, tokenizer = tiny
    eos = tokenizer.eos_token_id
    pieces = token_bytes(tokenizer)
    oracle = _RepeatFreeOracle(units, labels)
    grammar = RepeatFreeGrammar(TripletGrammar(units, labels))
    processor = TripletLogitsProcessor(TokenVocabulary(tokenizer, [eos]), [grammar], 1, max_new_tokens=budget)
    rng = random.Random(seed)
    generated: list[int] = []
    text, ended = b"", False
    for _ in range(budget or 60):
        scores = processor(torch.tensor([[0, *generated]]), torch.zeros(1, len(tokenizer)))
        allowed = set(torch.isfinite(scores[0]).nonzero().flatten().tolist())
        valid = oracle.valid_next(text, pieces) | ({eos} if oracle.complete(text) else set())
        if budget is None:
            assert allowed == valid, text
        else:
            assert allowed and allowed <= valid, text
        assert grammar.finish(processor.state_of(0, generated)) == oracle.finish(text), text  # the budget follows it
        choices = sorted(allowed - {eos})
        if not generated and rng.random() < 0.9:  # mostly lines, not the empty marker
            choices = [t for t in choices if not pieces[t].startswith(b"N")] or choices
        token = eos if not choices or (eos in allowed and rng.random() < 0.03) else rng.choice(choices)
        if token == eos:
            ended = True
            break
        generated.append(token)
        text += pieces[token]
    assert oracle.prefix(text)
    if ended or budget is not None:
        assert oracle.complete(text), text
        parsed = parse_completion(text.decode("utf-8"), units, labels)
        assert parsed.well_formed and parsed.duplicates == 0, (text, parsed.counts())
        assert parsed.malformed_lines == parsed.dropped_spans == parsed.dropped_categories == 0, parsed.counts()
        pairs = [tuple(t[k] for k in sorted(t) if k != "category") for t in parsed.triplets]
        assert len(set(pairs)) == len(pairs) == parsed.lines - parsed.empty_marker


class _NoEnd(LogitsProcessor):
    """Test-only: EOS far below every other token, so greedy decoding must keep writing lines."""

    def __init__(self, tokenizer) -> None:
        self.eos = tokenizer.eos_token_id

    def __call__(self, input_ids, scores):
        scores = scores.clone()
        scores[:, self.eos] -= 100.0
        return scores


def _span_pairs(text: str, units) -> list[tuple]:
    """The span pair of each line (``None`` for a line that is not a triplet)."""
    pairs = []
    for line in text.split("\n"):
        triplets = parse_completion(line, units, LABELS).triplets
        pairs.append(tuple(v for k, v in sorted(triplets[0].items()) if k != "category") if triplets else None)
    return pairs


def test_greedy_decoding_that_repeats_a_line_without_the_rule_does_not_with_it(tiny, monkeypatch):
    """The tiny random Llama, kept from ending (EOS lowered), loops on one line under the grammar alone
    (``no_repeat_lines=False``); with the rule (the default) it writes the same lines up to the first repeat, then
    only new span pairs. Through EmotionCauseLLM, whose evaluate() records the setting and the repeat rate."""
    model, tokenizer = tiny
    generate = model.generate

    def generate_without_end(*args, logits_processor=None, **kwargs):
        if logits_processor is not None:
            logits_processor.append(_NoEnd(tokenizer))  # after the constraint: EOS stays allowed, just low
        return generate(*args, logits_processor=logits_processor, **kwargs)

    monkeypatch.setattr(model, "generate", generate_without_end)
    documents = [
        {"utterances": UNITS, "speakers": ["A", "B"]},
        {"clauses": tiny_examples()[0]["units"]},
        {"clauses": ["I passed .", "so happy"]},
    ]
    kwargs = dict(tokenizer=tokenizer, labels=LABELS, max_new_tokens=60)
    looping = EmotionCauseLLM(model, no_repeat_lines=False, **kwargs)(documents)
    ruled = EmotionCauseLLM(model, **kwargs)(documents)
    for before, after in zip(looping, ruled):
        units = before["units"]
        pairs = _span_pairs(before["generated_text"], units)
        first_repeat = next((k for k, pair in enumerate(pairs) if pair in pairs[:k]), None)
        assert first_repeat is not None and before["parse"]["duplicates"] > 0, before["generated_text"]
        kept = "\n".join(before["generated_text"].split("\n")[:first_repeat]) + "\n"
        assert after["generated_text"].startswith(kept), (before["generated_text"], after["generated_text"])
        _assert_clean(after["generated_text"], units, LABELS)
        new_pairs = _span_pairs(after["generated_text"], units)
        assert len(set(new_pairs)) == len(new_pairs) > first_repeat and after["parse"]["duplicates"] == 0
    rows = tiny_examples()
    off = EmotionCauseLLM(model, no_repeat_lines=False, labels=TINY_LABELS, tokenizer=tokenizer, max_new_tokens=40)
    on = EmotionCauseLLM(model, labels=TINY_LABELS, tokenizer=tokenizer, max_new_tokens=40)
    scores_off, scores_on = off.evaluate(rows), on.evaluate(rows)
    assert scores_off["no_repeat_lines"] is False and scores_off["repeated_line_rate"] > 0.3
    assert scores_on["no_repeat_lines"] is True and scores_on["repeated_line_rate"] == 0.0
    assert scores_on["malformed_rate"] == 0.0
    assert off.evaluate(rows, constrained=False)["no_repeat_lines"] is False  # free generation has no rule


@pytest.mark.slow
def test_smollm2_vocabulary_accepts_real_gold_and_overhead(data_root, record_property, capsys):
    """SmolLM2's 49k-token vocabulary on SemEval-2024 gold completions (teacher forcing, random scores): every gold
    token is allowed within a budget of the gold length; the time per step is recorded."""
    from hf_ecpe.llm.data import corpus_labels, load_corpus_rows
    from hf_ecpe.llm.weights import smollm2_path
    from tests.conftest import corpus_dir

    corpus_dir(data_root, "ecf2-semeval2024")
    try:
        path = smollm2_path()
    except ImportError as error:
        pytest.skip(str(error))
    tokenizer = AutoTokenizer.from_pretrained(path)
    began = time.perf_counter()
    vocabulary = TokenVocabulary(tokenizer, [tokenizer.eos_token_id])
    build_seconds = time.perf_counter() - began
    labels = corpus_labels("semeval2024_ecac")
    rows = load_corpus_rows("semeval2024_ecac", data_root, "subtask1", "train").select(range(30))
    seconds, steps = {False: 0.0, True: 0.0}, 0
    for row in rows:
        ids = tokenizer(render_completion(row_triplets(row), row["units"]), add_special_tokens=False)["input_ids"]
        ids.append(tokenizer.eos_token_id)
        for no_repeat in (False, True):  # gold repeats no span pair, so the repeat-free grammar accepts it too
            grammar = TripletGrammar(row["units"], labels)
            grammar = RepeatFreeGrammar(grammar) if no_repeat else grammar
            processor = TripletLogitsProcessor(vocabulary, [grammar], prompt_length=1, max_new_tokens=len(ids))
            for k in range(len(ids)):
                scores = processor(torch.tensor([[0, *ids[:k]]]), torch.randn(1, len(tokenizer)))
                assert torch.isfinite(scores[0, ids[k]]), (row["id"], no_repeat, k)
            seconds[no_repeat] += processor.seconds
        steps += len(ids)
    record_property("constraint_ms_per_token_smollm2", round(1000 * seconds[False] / steps, 4))
    record_property("constraint_ms_per_token_smollm2_no_repeat", round(1000 * seconds[True] / steps, 4))
    with capsys.disabled():
        print(
            f"\n[constraint overhead, SmolLM2 vocab {len(tokenizer)}] {1000 * seconds[False] / steps:.3f} ms per "
            f"token ({1000 * seconds[True] / steps:.3f} ms without repeated lines) over {steps} teacher-forced "
            f"steps; vocabulary built in {build_seconds:.2f} s"
        )
