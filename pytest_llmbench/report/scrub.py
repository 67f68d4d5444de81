"""The last line of defence against a key in a report: scrub text before it is written.

Records and run.json are redacted where they are made; a report also shows
free text (prompts, responses, errors, user sections) that may quote a key.
``Scrubber`` removes strings shaped like known API keys and the values of
secret-named environment variables. Each pattern is tried only when its cheap
literal prefix occurs in the text, so scrubbing 100 MB of records costs a few
substring scans, not a regex pass.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

REDACTED = "[redacted]"
SECRET_ENV_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_SECRET_KEY", "_ACCESS_KEY", "_PASSWORD")
MIN_SECRET_LEN = 8  # shorter env values ("1", "true") would blank ordinary text

# (literal prefixes that must occur for the pattern to match, pattern)
_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("sk-",), re.compile(r"(?<![A-Za-z0-9])sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}")),
    (("AKIA", "ASIA"), re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])")),
    (("AIza",), re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}")),
    (("ghp_", "gho_", "ghs_", "ghu_", "github_pat_"),
     re.compile(r"(?<![A-Za-z0-9])(?:gh[opsu]_|github_pat_)[A-Za-z0-9_]{20,}")),
    (("hf_",), re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}")),
    (("earer", "EARER"),
     re.compile(r"(?i)(bearer)(\s+|\\u0020|%20)[A-Za-z0-9._~+/\-]{12,}=*")),
)


def secret_env_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of env vars named like secrets (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``...)."""
    env = os.environ if environ is None else environ
    return [value for name, value in env.items()
            if name.upper().endswith(SECRET_ENV_SUFFIXES) and len(value) >= MIN_SECRET_LEN]


class Scrubber:
    """Replace key-shaped strings and secret env values with ``[redacted]``."""

    def __init__(self, environ: Mapping[str, str] | None = None,
                 extra: tuple[str, ...] = ()) -> None:
        values = {*secret_env_values(environ), *(v for v in extra if len(v) >= MIN_SECRET_LEN)}
        # as written inside JSON too (a quote or backslash in a value is escaped there)
        values |= {json.dumps(v, ensure_ascii=False)[1:-1] for v in values}
        self.values = sorted(values, key=len, reverse=True)  # a value containing another first

    def __call__(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, REDACTED)
        for prefixes, pattern in _PATTERNS:
            if any(prefix in text for prefix in prefixes):
                text = pattern.sub(_replacement, text)
        return text


def _replacement(match: re.Match[str]) -> str:
    if match.re.groups == 2:  # bearer: keep the scheme word so the text still reads
        return f"{match.group(1)}{match.group(2)}{REDACTED}"
    return REDACTED


__all__ = ["REDACTED", "Scrubber", "secret_env_values"]
