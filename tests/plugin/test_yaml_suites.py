"""YAML suites collected as real Function items, records and reports."""

from __future__ import annotations

import json

import pytest

from tests.conftest import read_records, read_summary, write_suite


def test_suite_runs_one_test_per_case_and_model(pytester: pytest.Pytester, suite_dir) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle,inproc:wrong",
                                "-v")
    result.assert_outcomes(passed=10, failed=10)
    result.stdout.fnmatch_lines([
        "arith.yaml::arith[[]inproc:oracle/q001[]] PASSED*",
        "arith.yaml::arith[[]inproc:wrong/q001[]] FAILED*",
        "*wrong answer: expected '2', got 'not 2'*",
        "*llmbench summary*",
        "arith *inproc:oracle *10 *10 *0 *0 *100.0%*",
    ])
    records = read_records(pytester)
    assert len(records) == 20
    assert {r["outcome"] for r in records if r["model"] == "inproc:wrong"} == {"failed"}
    first = records[0]
    assert first["nodeid"] == "arith.yaml::arith[inproc:oracle/q001]"
    assert first["prompt"][-1] == {"role": "user", "content": "What is 1 + 1?"}
    assert first["response"] == "2" and first["expected"] == "2"
    rows = {r["model"]: r for r in read_summary(pytester)}
    assert rows["inproc:oracle"]["accuracy"] == 1.0
    assert rows["inproc:wrong"]["accuracy"] == 0.0
    assert 0 < rows["inproc:oracle"]["accuracy_ci_low"] < 1
    run = pytester.path / ".llmbench" / "runs" / "latest"
    for name in ("run.json", "records.csv", "summary.csv"):
        assert (run / name).is_file()
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "completed" and info["seed"] == 42
    assert [m["name"] for m in info["models"]] == ["inproc:oracle", "inproc:wrong"]
    assert "pytest" in info["versions"]
    assert (run / "records.csv").read_text().count("\n") == 21


def test_fixtures_markers_k_and_junitxml(pytester: pytest.Pytester, suite_dir) -> None:
    pytester.makeconftest("""
        import pytest
        SEEN = []
        @pytest.fixture(autouse=True)
        def track(request):
            SEEN.append(request.node.name)
            yield
        def pytest_collection_modifyitems(items):
            for item in items:
                item.add_marker(pytest.mark.slowish)
        def pytest_sessionfinish(session):
            print("autouse saw", len(SEEN))
    """)
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle", "-s",
                                "-k", "q003 or q007", "-m", "slowish", "--junitxml=out.xml")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*autouse saw 2*"])
    xml = (pytester.path / "out.xml").read_text()
    assert 'name="arith[inproc:oracle/q003]"' in xml


def test_last_failed_reruns_only_wrong_answers(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path)
    pytester.makefile(".yaml", llmbench="models:\n  inproc:oracle:\n    accuracy: 0.5\n")
    first = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:oracle")
    outcomes = first.parseoutcomes()
    assert 1 <= outcomes.get("failed", 0) <= 9
    second = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:oracle",
                                           "--lf")
    second.assert_outcomes(failed=outcomes["failed"])


def test_malformed_suite_is_a_collection_error_and_others_still_run(
        pytester: pytest.Pytester, suite_dir) -> None:
    pytester.makeini("[pytest]\nllmbench_suites = .\n")  # every suite-like YAML here
    (pytester.path / "broken.yaml").write_text("name: broken\nprompt: 'x'\ndataset: [unclosed\n")
    write_suite(pytester.path, name="dup", rows=[{"id": "a", "question": "p", "answer": "1"},
                                                 {"id": "a", "question": "q", "answer": "2"}])
    write_suite(pytester.path, name="badrow").with_suffix(".jsonl").write_text(
        '{"id": "a", "question": "1", "answer": "1"}\n{"id": "b", "question": \n')
    (pytester.path / "nodata.yaml").write_text("name: nodata\nprompt: 'x'\ndataset: missing.jsonl\n")
    (pytester.path / "unknown.yaml").write_text(
        "name: unknown\nprompt: '{question}'\nrows: [{question: a, answer: a}]\npromt: typo\n")
    result = pytester.runpytest("--llmbench-models", "inproc:oracle", ".")
    result.stdout.fnmatch_lines_random([
        "*broken.yaml:4: invalid YAML*",
        "*dup.jsonl:2: duplicate case id 'a' (first at line 1)*",
        "*badrow.jsonl:2: invalid JSON*",
        "*nodata.yaml:3: dataset file not found: missing.jsonl*",
        "*unknown.yaml:4: unknown key 'promt'*",
    ])
    result.assert_outcomes(passed=10, errors=5)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_row_missing_template_field_names_the_line(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=[{"id": "a", "question": "1", "answer": "1"},
                                     {"id": "b", "answer": "2"}])
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle")
    result.stdout.fnmatch_lines(["*arith.jsonl:2: row has no field 'question'*"])


@pytest.mark.parametrize("fmt", ["json", "csv", "inline"])
def test_dataset_formats(pytester: pytest.Pytester, fmt: str) -> None:
    if fmt == "json":
        pytester.makefile(".json", data=json.dumps([{"id": "x1", "q": "a", "answer": "a"},
                                                    {"id": "x2", "q": "b", "answer": "b"}]))
        dataset = "dataset: data.json"
    elif fmt == "csv":
        pytester.makefile(".csv", data="id,q,answer\nx1,a,a\nx2,b,b\n")
        dataset = "dataset: {path: data.csv}"
    else:
        dataset = "rows:\n  - {id: x1, q: a, answer: a}\n  - {id: x2, q: b, answer: b}"
    (pytester.path / "s.yaml").write_text(f"name: s\nprompt: '{{q}}'\n{dataset}\n")
    result = pytester.runpytest("s.yaml", "--llmbench-models", "inproc:echo", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*s[[]inproc:echo/x1[]] PASSED*"])


def test_ids_fall_back_to_content_hash(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=[{"question": "1", "answer": "1"}])
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle", "-v")
    result.stdout.re_match_lines([r".*arith\[inproc:oracle/h[0-9a-f]{10}\] PASSED.*"])


def test_few_shot_system_and_params_reach_the_request(pytester: pytest.Pytester) -> None:
    (pytester.path / "s.yaml").write_text(
        "name: s\nsystem: 'Be brief.'\nprompt: 'Q: {q}'\nexpected: answer\n"
        "few_shot: [{q: '1+1', answer: '2'}]\nparams: {temperature: 0}\n"
        "rows: [{id: r1, q: '2+2', answer: '4'}]\n")
    pytester.runpytest("s.yaml", "--llmbench-models", "inproc:oracle")
    record = read_records(pytester)[0]
    assert record["prompt"] == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q: 1+1"},
        {"role": "assistant", "content": "2"}, {"role": "user", "content": "Q: 2+2"}]


def test_autouse_fixtures_see_the_model_case_and_recorder_of_suite_items(
        pytester: pytest.Pytester, suite_dir) -> None:
    """Suite items take no pytest parameter, yet conftest fixtures can still ask for
    llm_model, bench_case and bench_record; the llmbench marker tells benchmark items."""
    pytester.makeconftest("""
        import pytest
        @pytest.fixture(autouse=True)
        def tag(request):
            if request.node.get_closest_marker("llmbench") is None:
                yield
                return
            model = request.getfixturevalue("llm_model")
            case = request.getfixturevalue("bench_case")
            record = request.getfixturevalue("bench_record")
            record.metric("seen", f"{model.name}|{case.id}")
            yield
    """)
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle", "-k", "q002")
    result.assert_outcomes(passed=1)
    record = read_records(pytester)[0]
    assert record["metrics"] == {"seen": "inproc:oracle|q002"}
    assert record["response"] == record["expected"] == "4"


def test_messages_template_and_row_conversations(pytester: pytest.Pytester) -> None:
    """``messages:`` sends a multi-turn chat template; ``messages: {field: f}`` sends each
    row's own conversation."""
    pytester.makefile(".yaml", chat="""
        name: chat
        system: "Answer briefly."
        messages:
          - {role: user, content: "Remember {x}."}
          - {role: assistant, content: "OK."}
          - {role: user, content: "What did I ask you to remember?"}
        rows: [{id: c1, x: "blue", answer: "What did I ask you to remember?"}]
    """, convo="""
        name: convo
        messages: {field: turns}
        rows:
          - id: t1
            turns: [{role: user, content: "hi"}, {role: assistant, content: "hello"},
                    {role: user, content: "bye"}]
            answer: bye
    """)
    result = pytester.runpytest("chat.yaml", "convo.yaml", "--llmbench-models", "inproc:echo")
    result.assert_outcomes(passed=2)
    prompts = {r["suite"]: r["prompt"] for r in read_records(pytester)}
    assert prompts["chat"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Remember blue."},
        {"role": "assistant", "content": "OK."},
        {"role": "user", "content": "What did I ask you to remember?"}]
    assert [m["content"] for m in prompts["convo"]] == ["hi", "hello", "bye"]


@pytest.mark.parametrize(("body", "message"), [
    ("prompt: 'x'\nmessages: [{role: user, content: x}]", "*'messages' replaces 'prompt'*"),
    ("messages: [{role: robot, content: x}]", "*each message needs a role*"),
    ("messages: [{role: user, content: x}, {role: assistant, content: y}]",
     "*the last message must be the user's turn*"),
    ("messages: {field: turns}", "*row field 'turns' must be a list of*"),
])
def test_bad_messages_name_the_file(pytester: pytest.Pytester, body: str, message: str) -> None:
    pytester.makefile(".yaml", bad=f"name: bad\n{body}\nrows: [{{id: a, turns: 'no', answer: x}}]\n")
    result = pytester.runpytest("bad.yaml", "--llmbench-models", "inproc:echo")
    result.stdout.fnmatch_lines([f"*bad.yaml*{message[1:]}"])
