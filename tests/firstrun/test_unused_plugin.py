"""An installed plugin costs a project without benchmarks nothing visible (point 2); the
first benchmark it meets wakes it fully."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import read_records


def test_unused_plugin_imports_nothing_heavy_writes_and_prints_nothing(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one="def test_ok():\n    assert True\n")
    (pytester.path / "conf").mkdir()
    (pytester.path / "conf" / "config.yaml").write_text("defaults: [x]\ndataset: cifar10\n")
    # a project that never heard of llmbench: none of its variables set (CI sets some)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LLMBENCH_", "BENCHMARK_", "INGEST_"))}
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "pytest", "-q",
                          "-p", "no:cacheprovider"], cwd=pytester.path, capture_output=True,
                         text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines()
                if line.startswith("import time:")}
    heavy = {"pytest_llmbench.plugin.session", "pytest_llmbench.plugin.controller",
             "pytest_llmbench.calls.engine", "pytest_llmbench.providers.base", "httpx",
             "pytest_llmbench.sim", "xdist.scheduler", "yaml", "pytest_llmbench.suites.model"}
    assert not heavy & imported, heavy & imported
    assert not (pytester.path / ".llmbench").exists()
    bare = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:llmbench"], cwd=pytester.path, capture_output=True,
                          text=True, timeout=120, env=env)
    strip = [line.split(" in ")[0] for line in run.stdout.splitlines()]
    assert strip == [line.split(" in ")[0] for line in bare.stdout.splitlines()]


def test_dormant_run_wakes_for_a_python_benchmark(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bench="""
        import pytest

        def test_plain():
            assert True

        @pytest.mark.llmbench(rows=[{"id": "a", "prompt": "1+1", "answer": "2"}])
        def test_sums(bench_case, llm_model, bench_response):
            assert bench_response.text.strip() == bench_case.expected
    """)
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_sums[[]sim:default/a[]] PASSED*", "*llmbench summary*"])
    assert [(r["model"], r["case_id"]) for r in read_records(pytester)] == [("sim:default", "a")]
