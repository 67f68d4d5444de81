"""The task folders hold the tasks' own starting files and checks, which run inside the
sandbox: pytest must not collect them when it walks ``bench_suites``."""

collect_ignore_glob = ["*"]
