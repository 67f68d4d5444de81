"""A custom benchmark in Python: one test per (case x model), with a custom metric.

Run it against the local simulator (nothing else needs to be running):

    pytest examples/custom_benchmark --llmbench-models sim:default,sim:fast
"""

from __future__ import annotations

import pytest

ROWS = [
    {"id": "greeting", "prompt": "Reply with exactly the word: hello", "answer": "hello"},
    {"id": "colour", "prompt": "Reply with exactly the word: blue", "answer": "blue"},
    {"id": "number", "prompt": "Reply with exactly the number: 7", "answer": "7"},
]


@pytest.fixture(autouse=True)
def note_model(llm_model, bench_record):
    """Conftest-style fixtures work as in any pytest test."""
    bench_record.metric("provider", llm_model.provider)


@pytest.mark.llmbench(rows=ROWS, name="echo_words", expected="answer")
def test_echo_words(bench_case, llm, bench_record):
    completion = llm.complete(bench_case.prompt, system="Answer tersely.", max_tokens=8)
    words = completion.text.split()
    bench_record.metric("words", len(words))
    assert completion.text.strip().lower() == bench_case.expected
