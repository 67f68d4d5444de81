"""Suites defined by Hugging Face hub ids or package data: they run when the data is here
and are one skipped item with one reason when it is not (no network in tests)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import read_records

pytest.importorskip("datasets")
ROOT = Path(__file__).resolve().parents[2]
HUB_SUITE = ("name: hubsuite\nprompt: '{question}'\n"
             "dataset: {hf: example-org/not-cached, name: main, split: test}\n")


@pytest.fixture
def hf_home(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = pytester.path / "hf"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("LLMBENCH_HF_DOWNLOAD", raising=False)
    return home


def test_uncached_hub_dataset_is_one_skipped_item_with_the_reason(
        pytester: pytest.Pytester, hf_home: Path) -> None:
    (pytester.path / "hub.yaml").write_text(HUB_SUITE)
    pytester.makefile(".yaml", local="name: local\nprompt: '{question}'\n"
                      "rows: [{id: a, question: x, answer: x}]\n")
    started = time.monotonic()
    result = pytester.runpytest_subprocess("hub.yaml", "local.yaml", "-rs", "--llmbench-models",
                                           "sim:default,inproc:echo")
    assert time.monotonic() - started < 60  # offline: no network timeouts
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines([
        "SKIPPED*dataset unavailable:*hub.yaml: hf dataset 'example-org/not-cached' is not in "
        "the local Hugging Face cache and downloads are off (set LLMBENCH_HF_DOWNLOAD=1 to "
        "download it)"])
    assert "error" not in result.stdout.str().lower().split("short test summary")[-1]


def test_download_opt_in_that_cannot_reach_the_hub_skips(
        pytester: pytest.Pytester, hf_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMBENCH_HF_DOWNLOAD", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # refused at once
    (pytester.path / "hub.yaml").write_text(HUB_SUITE)
    result = pytester.runpytest_subprocess("hub.yaml", "-rs", "--llmbench-models", "inproc:echo")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*hf dataset 'example-org/not-cached' could not be "
                                 "loaded or downloaded (*"])


def test_without_the_datasets_package_hub_suites_skip(pytester: pytest.Pytester,
                                                      hf_home: Path) -> None:
    pytester.makeconftest("import sys\nsys.modules['datasets'] = None  # not installed\n")
    (pytester.path / "hub.yaml").write_text(HUB_SUITE)
    result = pytester.runpytest_subprocess("hub.yaml", "-rs", "--llmbench-models", "inproc:echo")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*needs the optional extra: pip install "
                                 "'pytest-llmbench[[]hf[]]'"])


def test_python_source_not_installed_skips_with_the_install_hint(
        pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", pkg="name: pkg\nprompt: '{prompt}'\n"
                      "dataset: {python: 'no_such_pkg.data:rows', install: 'no-such-pkg'}\n")
    result = pytester.runpytest_subprocess("pkg.yaml", "-rs", "--llmbench-models", "inproc:echo")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*dataset no_such_pkg.data:rows: module 'no_such_pkg' "
                                 "is not installed; pip install 'no-such-pkg'"])


def test_a_bad_local_builder_spec_is_still_a_collection_error(pytester: pytest.Pytester,
                                                              hf_home: Path) -> None:
    pytester.makefile(".yaml", bad="name: bad\nprompt: '{question}'\n"
                      "dataset: {hf: json, data_files: missing.jsonl}\n")
    result = pytester.runpytest_subprocess("bad.yaml", "--llmbench-models", "inproc:echo")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*bad.yaml: hf dataset 'json': FileNotFoundError: *"])


def test_bundled_gpqa_and_mmlu_pro_mappers_on_local_files(pytester: pytest.Pytester,
                                                           hf_home: Path) -> None:
    """The GPQA and MMLU-Pro suites' row maps, fed local rows shaped like the hub's."""
    shutil.copy(ROOT / "bench_suites" / "hub_rows.py", pytester.path / "hub_rows.py")
    gpqa = [{"Record ID": f"rec{i}", "Question": f"Which is right {i}?",
             "Correct Answer": f"right{i}", "Incorrect Answer 1": f"w1-{i}",
             "Incorrect Answer 2": f"w2-{i}", "Incorrect Answer 3": f"w3-{i}"} for i in range(12)]
    mmlu = [{"question_id": 70 + i, "category": "physics", "question": f"q{i}?",
             "options": [f"o{j}" for j in range(10)], "answer": "J"} for i in range(3)]
    for name, rows in (("gpqa", gpqa), ("mmlu", mmlu)):
        pytester.makefile(".jsonl", **{name: "".join(json.dumps(r) + "\n" for r in rows)})
    for name, mapper, template in (("gpqa", "gpqa", "{question}\n{options}"),
                                   ("mmlu", "mmlu_pro", "{subject}: {question}\n{options}")):
        (pytester.path / f"{name}.yaml").write_text(
            f"name: {name}\nprompt: {json.dumps(template)}\nexpected: answer\n"
            "scorer: {name: choice, choices: choices}\n"
            f"dataset: {{hf: json, data_files: {name}.jsonl, map: 'hub_rows:{mapper}'}}\n")
    result = pytester.runpytest_subprocess("gpqa.yaml", "mmlu.yaml", "--llmbench-models",
                                           "sim:default")
    result.assert_outcomes(passed=15)
    records = read_records(pytester)
    letters = {r["expected"] for r in records if r["suite"] == "gpqa"}
    assert len(letters) >= 3  # shuffled, not always A
    assert {r["case_id"] for r in records if r["suite"] == "mmlu"} == {"70", "71", "72"}


def test_humaneval_holds_all_164_problems_and_the_main_job_samples_20() -> None:
    def count(*extra: str) -> int:
        proc = subprocess.run([sys.executable, "-m", "pytest", "bench_suites/humaneval.yaml",
                               "--collect-only", "-q", "-p", "no:cacheprovider", *extra],
                              capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
        return sum(1 for line in proc.stdout.splitlines() if "humaneval.yaml::" in line)

    assert count() == 20
    assert count("--llmbench-sample", "100%") == 164


def test_open_questions_uses_the_runs_judge_when_it_names_one(tmp_path: Path) -> None:
    def judge_of(*extra: str) -> set[str]:
        out = tmp_path / str(len(extra))
        subprocess.run([sys.executable, "-m", "pytest", "bench_suites/open_questions.yaml", "-q",
                        "-p", "no:cacheprovider", "--llmbench-output", str(out),
                        "--llmbench-score-only", *extra],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
        lines = (out / "latest" / "records.jsonl").read_text().splitlines()
        return {json.loads(line)["score_details"]["judge"]["model"] for line in lines}

    assert judge_of() == {"sim:judge"}
    assert judge_of("--llmbench-judge", "sim:fast") == {"sim:fast"}
