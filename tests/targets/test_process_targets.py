"""Process and URL targets end to end: the simulator started as a target, compared side by
side, shared by xdist workers, and targets that never come up or die mid-run."""

from __future__ import annotations

import os
import sys
import time

import pytest

from pytest_llmbench.sim import start_sim_process
from tests.conftest import read_records, read_summary, write_suite
from tests.report.conftest import Chromium, find_chromium
from tests.targets.conftest import PYTHON, crashing_command, run_dir, run_info, sim_command, write_config

ROWS = [{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)} for i in range(1, 13)]


def _two_targets(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS)
    write_config(pytester.path, {
        "baseline": {"command": sim_command("default:ttft_ms=120,itl_ms=2"), "port": "auto",
                     "commit": "base000"},
        "agent": {"command": sim_command("default:ttft_ms=15,itl_ms=1"), "port": "auto",
                  "commit": "agent11"},
    })


def test_two_process_targets_compared_with_speedup(pytester: pytest.Pytester) -> None:
    _two_targets(pytester)
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", "sim:default@baseline,sim:default@agent", "-n", "2",
        "-W", "error")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*target*commit*speedup*",
                                 "arith*sim:default@agent*agent*agent11*x*",
                                 "*llmbench targets*",
                                 "baseline (process @ base000) http://127.0.0.1:*: healthy in *s, "
                                 "log *baseline.log"])
    rows = {r["target"]: r for r in read_summary(pytester)}
    assert rows["baseline"]["speedup"] == 1.0 and rows["baseline"]["commit"] == "base000"
    assert rows["agent"]["speedup"] > 1.5  # ttft 15 ms vs 120 ms
    assert rows["agent"]["ttft_speedup"] > 1.5 and rows["agent"]["accuracy"] == 1.0
    records = read_records(pytester)
    assert {r["target"] for r in records} == {"baseline", "agent"}
    assert "[sim:default@agent/q001]" in " ".join(r["nodeid"] for r in records)
    info = run_info(pytester)
    assert info["baseline_target"] == "baseline"
    assert [(t["name"], t["kind"], t.get("commit")) for t in info["targets"]] == [
        ("baseline", "process", "base000"), ("agent", "process", "agent11")]
    for target in info["targets"]:  # started once for both workers, then stopped
        log = (run_dir(pytester) / "targets" / f"{target['name']}.log").read_text()
        assert log.count("listening on") == 1
        assert not _running(target["pid"])
    binary = find_chromium()
    if binary is not None:  # report.html shows each target, its commit and its speedup
        dom = Chromium(binary, pytester.path / "profile").load(
            run_dir(pytester) / "report.html").dom
        assert 'data-key="commit"' in dom and 'data-key="speedup"' in dom
        assert "agent11" in dom and "<h3>Targets</h3>" in dom


def test_xdist_workers_over_tx_share_one_target(pytester: pytest.Pytester) -> None:
    _two_targets(pytester)
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", "sim:default@agent", "-p", "xdist",
        "--tx", f"popen//python={PYTHON}", "--tx", f"popen//python={PYTHON}", "--dist", "load",
        "--llmbench-dist", "off")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    records = read_records(pytester)
    assert len(records) == len(ROWS) and {r["worker"] for r in records} == {"gw0", "gw1"}
    assert "baseline" not in {t["name"] for t in run_info(pytester)["targets"]}  # unused: not started
    log = (run_dir(pytester) / "targets" / "agent.log").read_text()
    assert log.count("listening on") == 1


def test_url_target_and_llm_target_fixture(pytester: pytest.Pytester) -> None:
    sim = start_sim_process(port=0)
    try:
        write_config(pytester.path, {"remote": {"url": sim.base_url, "commit": "v1.2"}})
        pytester.makepyfile(test_it="""
            import httpx

            def test_endpoint(llm_target, llm):
                assert llm_target.name == "remote" and llm_target.commit == "v1.2"
                assert httpx.get(llm_target.url + "/health", trust_env=False).status_code == 200
                assert llm.complete("hi", max_tokens=4).text
        """)
        result = pytester.runpytest_subprocess("--llmbench-models", "sim:default@remote")
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
        assert sim.metrics()["requests_total"] >= 1
        assert read_records(pytester)[0]["target"] == "remote"
    finally:
        sim.stop()
    assert run_info(pytester)["targets"][0]["url"] == sim.base_url


def test_target_that_never_gets_healthy_fails_its_items_with_its_log(
        pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS[:3])
    booting = [PYTHON, "-c", "import time; print('loading weights 0%', flush=True); time.sleep(60)"]
    write_config(pytester.path, {"stuck": {"command": booting, "port": "auto",
                                           "startup_timeout": 1.5}})
    started = time.monotonic()
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models",
                                           "sim:default@stuck,sim:default")
    assert time.monotonic() - started < 30
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*did not become healthy within 1.5s*",
                                 "*loading weights 0%*", "*3 passed, 3 errors*"])
    errors = [r for r in read_records(pytester) if r["outcome"] == "error"]
    assert len(errors) == 3 and all(r["error_kind"] == "target" for r in errors)
    assert "loading weights 0%" in errors[0]["error"]
    assert not _running(run_info(pytester)["targets"][0]["pid"])


def test_target_that_exits_at_start_says_so(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS[:2])
    bad = [PYTHON, "-c", "import sys; print('error: unknown flag --tp', flush=True); sys.exit(2)"]
    write_config(pytester.path, {"bad": {"command": bad, "port": "auto"}})
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "sim:default@bad")
    result.stdout.fnmatch_lines(["*target bad exited with code 2 before it became healthy*",
                                 "*unknown flag --tp*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_target_that_dies_mid_run(pytester: pytest.Pytester) -> None:
    rows = [{"id": f"r{i:03d}", "question": str(i), "answer": str(i)} for i in range(40)]
    write_suite(pytester.path, rows=rows)
    write_config(pytester.path, {"flaky": {"command": crashing_command(2.5), "port": "auto"}})
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "sim:default@flaky",
                                           "--llmbench-concurrency", "1",
                                           "--llmbench-max-retries", "0")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    records = read_records(pytester)
    passed = [r for r in records if r["outcome"] == "passed"]
    errors = [r for r in records if r["outcome"] == "error"]
    assert passed and errors and len(passed) + len(errors) == 40
    assert all(r["error_kind"] == "target" for r in errors)
    assert "engine crashed (simulated)" in errors[-1]["error"]
    result.stdout.fnmatch_lines(["*target flaky exited*", "*engine crashed (simulated)*"])


def test_undeclared_target_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS[:1])
    write_config(pytester.path, {"baseline": {"url": "http://127.0.0.1:9"}},
                 models={"sim:default": {"target": "nope"}})
    result = pytester.runpytest_subprocess("arith.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*model sim:default names target 'nope'*not declared*"
                                 "(targets: baseline)*"])


def test_interrupted_run_stops_process_targets(pytester: pytest.Pytester) -> None:
    import signal
    import subprocess

    rows = [{"id": f"r{i:03d}", "question": str(i), "answer": str(i)} for i in range(200)]
    write_suite(pytester.path, rows=rows)
    write_config(pytester.path, {"slow": {"command": sim_command("default:ttft_ms=200"),
                                          "port": "auto"}})
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "arith.yaml", "-p", "no:cacheprovider",
                             "--llmbench-models", "sim:default@slow", "--llmbench-concurrency", "1",
                             "--llmbench-run-id", "interrupted"], cwd=pytester.path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    info_path = pytester.path / ".llmbench" / "runs" / "interrupted" / "run.json"
    deadline = time.monotonic() + 60
    while not info_path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert b"KeyboardInterrupt" in out or b"Interrupted" in out, out[-2000:]
    import json
    info = json.loads(info_path.read_text())
    assert info["status"] == "interrupted"
    assert not _running(info["targets"][0]["pid"])


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"


@pytest.mark.parametrize("flag", ["--collect-only", "--help", "--fixtures"])
def test_listing_starts_no_target(pytester: pytest.Pytester, flag: str) -> None:
    write_suite(pytester.path, rows=ROWS[:1])
    touch = [PYTHON, "-c", "open('started', 'w').close()"]
    write_config(pytester.path, {"engine": {"command": touch, "port": "auto"}})
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "sim:default@engine",
                                           flag)
    assert result.ret == pytest.ExitCode.OK
    assert not (pytester.path / "started").exists()
