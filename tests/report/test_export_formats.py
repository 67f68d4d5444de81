"""``llmbench export --format csv|pdf`` from a real run: the CSV's rows, the PDF's text
(read back with pypdf), detached signatures that ``llmbench verify`` checks, and no
secret in either file."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from tests.conftest import write_suite

SECRET = "sk-ant-export0123456789abcdefSECRET"


def llmbench(*args: str, cwd: Path, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False, env=env)


@pytest.fixture
def run_dir(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    write_suite(pytester.path)
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", "inproc:oracle,inproc:echo", "--llmbench-run-id", "r1",
        "--llmbench-gate", "accuracy>=0.9", f"--llmbench-ingest-header=x-api-key: {SECRET}")
    assert (pytester.path / ".llmbench/runs/r1/summary.json").is_file(), result.outlines
    return pytester.path / ".llmbench" / "runs" / "r1"


def test_csv_export_has_one_row_per_model_and_suite(run_dir: Path, pytester: pytest.Pytester) -> None:
    out = llmbench("export", "r1", "--format", "csv", cwd=pytester.path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"csv written: {run_dir / 'r1.csv'}"
    text = (run_dir / "r1.csv").read_text()
    assert SECRET not in text
    rows = list(csv.DictReader(text.splitlines()))
    assert [(r["run_id"], r["run_status"], r["suite"], r["model"], r["n"], r["accuracy"])
            for r in rows] == [("r1", "completed", "arith", "inproc:echo", "10", "0"),
                               ("r1", "completed", "arith", "inproc:oracle", "10", "1")]
    assert rows[1]["accuracy_ci_low"] == "0.72246" and rows[1]["cost_usd"] == ""  # unknown cost
    assert rows[0]["run_started_at"].endswith("+00:00")


def test_pdf_export_shows_models_accuracy_gates_and_rankings(run_dir: Path,
                                                             pytester: pytest.Pytester) -> None:
    out = llmbench("export", "r1", "--format", "pdf", "-o", "report.pdf", cwd=pytester.path)
    assert out.returncode == 0, out.stderr
    pdf = pytester.path / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "llmbench run r1" in text and "status completed" in text
    assert "arith inproc:oracle - 10 100.0% [72.2%, 100.0%]" in text
    assert "arith inproc:echo - 10 0.0% [0.0%, 27.8%]" in text
    assert "unknown" in text  # no prices: cost is unknown, not $0
    assert "accuracy" in text.split("Gate failures")[1].split("Rankings")[0]  # the failed gate
    ranking = text.split("Rankings (by accuracy, per suite)")[1]
    assert ranking.index("1 inproc:oracle") < ranking.index("2 inproc:echo")
    assert SECRET not in text and SECRET.encode() not in pdf.read_bytes()


@pytest.mark.parametrize("fmt", ["csv", "pdf"])
def test_signed_csv_and_pdf_verify_and_name_tampering(run_dir: Path, pytester: pytest.Pytester,
                                                      fmt: str) -> None:
    cwd = pytester.path
    assert llmbench("keygen", "k", cwd=cwd).returncode == 0
    out = llmbench("export", "r1", "--format", fmt, "--sign", "k", cwd=cwd)
    exported, sig = run_dir / f"r1.{fmt}", run_dir / f"r1.{fmt}.sig"
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{fmt} written: {exported} (signature: {sig})"
    ok = llmbench("verify", str(exported), "--public-key", "k.pub", cwd=cwd)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == (f"{exported}: valid: 1 files match r1.{fmt}.sig, "
                                 "signed by the given public key")
    llmbench("keygen", "other", cwd=cwd)
    other = llmbench("verify", str(exported), "--public-key", "other.pub", cwd=cwd)
    assert other.returncode == 3  # a valid signature, but by a key the user does not trust
    assert "UNTRUSTED: 1 files match" in other.stdout and "not a key you trust" in other.stdout
    exported.write_bytes(exported.read_bytes() + b" ")
    bad = llmbench("verify", str(exported), "--public-key", "k.pub", cwd=cwd)
    assert bad.returncode == 1
    assert f"INVALID: r1.{fmt} was altered (SHA-256 differs from r1.{fmt}.sig)" in bad.stdout
    sig.unlink()
    missing = llmbench("verify", str(exported), cwd=cwd)
    assert missing.returncode == 2
    assert missing.stderr.strip() == (f"llmbench verify: error: {exported}: not a zip bundle and "
                                      f"r1.{fmt}.sig is missing (nothing to verify)")


def test_bad_input_is_one_line(pytester: pytest.Pytester) -> None:
    run = pytester.path / ".llmbench" / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "run.json").write_text('{"run_id": "r1"}')
    out = llmbench("export", "r1", "--format", "csv", cwd=pytester.path)
    assert out.returncode == 2
    assert out.stderr.strip() == (f"llmbench export: error: {run}: the run has no summary.json "
                                  "(it did not finish); export it with --format zip")
    bad = llmbench("export", "r1", "--format", "html", cwd=pytester.path)
    assert bad.returncode == 2 and "invalid choice: 'html'" in bad.stderr


def test_missing_pdf_extra_names_the_install(run_dir: Path, pytester: pytest.Pytester) -> None:
    blocker = pytester.path / "block"
    blocker.mkdir()
    (blocker / "fpdf.py").write_text("raise ImportError('fpdf2 is not installed')\n")
    import os

    env = {**os.environ, "PYTHONPATH": str(blocker)}
    out = llmbench("export", "r1", "--format", "pdf", cwd=pytester.path, env=env)
    assert out.returncode == 2
    assert out.stderr.strip() == ("llmbench export: error: --format pdf needs the 'fpdf2' "
                                  "package: pip install 'pytest-llmbench[pdf]'")
