"""Resolving a suite's ``scorer:`` value: names, options, module:function, @scorer."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import pytest_llmbench
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.scoring import base
from pytest_llmbench.scoring.base import Score, as_score, scorer
from pytest_llmbench.scoring.registry import make_scorer
from pytest_llmbench.suites.model import Case

CASE = Case("s", "c1", {"question": "q"}, expected="Paris")


@pytest.fixture(autouse=True)
def _restore_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    make_scorer("exact")  # built-ins registered before the snapshot
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))


def test_decorated_function_is_registered_with_its_options() -> None:
    @scorer("test_registry_len")
    def long_enough(response: str, case: Case, *, minimum: int = 3) -> bool:
        return len(response) >= minimum

    assert pytest_llmbench.scorer is scorer
    assert as_score(make_scorer("test_registry_len")("abc", CASE)).passed
    strict = make_scorer({"name": "test_registry_len", "minimum": 5})
    assert not as_score(strict("abc", CASE)).passed
    with pytest.raises(ConfigError, match="s.yaml: scorer 'test_registry_len'.*maximum"):
        make_scorer({"name": "test_registry_len", "maximum": 5}, source="s.yaml")


def test_bare_decorator_uses_the_function_name() -> None:
    @scorer
    def test_registry_bare(response: str, case: Case) -> Score:
        return Score(0.5, False, {"extracted": response})

    assert make_scorer("test_registry_bare")("x", CASE).value == 0.5


def test_module_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_scorers_mod.py").write_text(textwrap.dedent("""
        from pytest_llmbench import scorer

        def plain(response, case):
            return response == case.expected

        def factory(suffix):
            return lambda response, case: response == case.expected + suffix

        @scorer("my_scorers_mod_within")
        def within(response, case, slack=0):
            return abs(len(response) - len(case.expected)) <= slack
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_scorers_mod", raising=False)
    assert make_scorer("my_scorers_mod:plain")("Paris", CASE)
    assert make_scorer({"name": "my_scorers_mod:factory", "suffix": "!"})("Paris!", CASE)
    within = make_scorer({"name": "my_scorers_mod:within", "slack": 1})
    assert within("Pariss", CASE) and not within("Parisss", CASE)
    with pytest.raises(ConfigError, match="s.yaml: cannot import scorer 'my_scorers_mod:nope'"):
        make_scorer("my_scorers_mod:nope", source="s.yaml")


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"s.yaml: unknown scorer 'nope' \(known: ") as info:
        make_scorer("nope", source="s.yaml")
    for name in ("choice", "contains", "exact", "ifeval", "numeric", "regex", "module:function"):
        assert name in str(info.value)
