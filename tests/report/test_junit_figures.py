"""Per-item figures in JUnit XML as <system-out> (GitLab shows it; no xunit2 warning)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest


def _cases(path: Any) -> dict[str, ElementTree.Element]:
    root = ElementTree.parse(path).getroot()
    return {case.get("name", ""): case for case in root.iter("testcase")}


def _figures(case: ElementTree.Element) -> dict[str, str]:
    outs = case.findall("system-out")
    assert len(outs) == 1, [o.text for o in outs]  # never two <system-out> in one case
    text = outs[0].text or ""
    block = text[text.index("llmbench figures:"):]
    return dict(line.split(": ", 1) for line in block.splitlines()[1:] if ": " in line)


@pytest.mark.parametrize("args", [
    ("-o", "junit_family=xunit2"), ("-o", "junit_family=xunit1"),
    ("-o", "junit_family=xunit2", "-n", "2"),
    ("-o", "junit_family=xunit2", "-o", "junit_logging=system-out"),
], ids=["xunit2", "xunit1", "xunit2-xdist", "with-pytest-stdout"])
def test_figures_in_system_out_without_warnings(pytester: pytest.Pytester, suite_dir: Any,
                                                args: tuple[str, ...]) -> None:
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", "inproc:oracle,inproc:wrong,inproc:error",
        "--llmbench-max-retries", "0", f"--junitxml={xml}", "-W", "error::pytest.PytestWarning",
        "-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=10, failed=10, errors=10)
    assert "PytestWarning" not in result.stdout.str() + result.stderr.str()
    cases = _cases(xml)
    assert len(cases) == 30
    good = _figures(cases["arith[inproc:oracle/q001]"])
    assert good["model"] == "inproc:oracle" and good["case_id"] == "q001"
    assert good["outcome"] == "passed" and good["score"] == "1"
    assert float(good["latency_s"]) >= 0 and int(good["output_tokens"]) > 0
    assert good["cost_usd"] == "unknown"  # inproc models have no price: never $0
    wrong_case = cases["arith[inproc:wrong/q002]"]
    assert wrong_case.find("failure") is not None
    wrong = _figures(wrong_case)
    assert wrong["outcome"] == "failed" and wrong["score"] == "0"
    failed_call = _figures(cases["arith[inproc:error/q003]"])
    assert failed_call["outcome"] == "error" and "latency_s" not in failed_call  # not measured
    assert "score" not in failed_call and failed_call.get("error_kind")


def test_no_junit_option_no_plugin(pytester: pytest.Pytester, suite_dir: Any) -> None:
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:oracle",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=10)
    assert not list(pytester.path.glob("*.xml"))
