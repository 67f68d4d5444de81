from collections import Counter
from pathlib import Path

LOG = Path("/app/server.log")
REPORT = Path("/app/report.txt")
# the log the task started with, as shipped with the tests (the agent's copy may differ)
EXPECTED = ["404 5", "403 3", "500 3", "502 1"]


def test_report_exists():
    assert REPORT.is_file()


def test_report_lines():
    assert REPORT.read_text().split("\n")[:4] == EXPECTED
    assert [line for line in REPORT.read_text().splitlines() if line.strip()] == EXPECTED


def test_log_untouched():
    codes = Counter(line.split()[8] for line in LOG.read_text().splitlines())
    assert codes["200"] == 30 and codes["404"] == 5
