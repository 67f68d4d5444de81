"""One exception hierarchy for every error a user can cause or meet.

Each message is one line naming the file, option, model or env var at fault,
so it reads well in a pytest error report and in a record.
"""

from __future__ import annotations

from pytest_llmbench.redaction import scrub


class LLMBenchError(Exception):
    """Base class of every pytest-llmbench error."""


class ConfigError(LLMBenchError):
    """A bad option value, models config file or model spec."""


class SuiteError(LLMBenchError):
    """A malformed suite file or dataset row; names the file and line/row."""

    def __init__(self, path: object, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class ProviderError(LLMBenchError):
    """A model call failed; ``kind`` classifies it for records and summaries.

    Kinds: auth, not_found, bad_request, rate_limited, timeout, server_error,
    content_filtered, connection, protocol, missing_metric, other. ``retry_after`` is the
    server's hint in seconds (a 429's ``retry-after``), ``attempts`` the requests
    the engine made before giving up (0: none was sent).
    """

    kind = "other"

    def __init__(self, message: str, *, model: str = "", kind: str | None = None,
                 error_type: str | None = None, retry_after: float | None = None) -> None:
        self.model = model
        if kind is not None:
            self.kind = kind
        self.error_type = error_type or type(self).__name__
        self.message = message
        self.retry_after = retry_after
        self.attempts = 0
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``openai:bad-model - NotFoundError: model not found`` (+ ``(after 4 attempts)``)."""

        prefix = f"{self.model} - " if self.model else ""
        after = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        # the one place an error line is made: a server that echoes the key loses it here
        return scrub(f"{prefix}{self.error_type}: {self.message}{after}")

    def __str__(self) -> str:
        return self.one_line()


class CallTimeout(ProviderError):
    kind = "timeout"


class ProtocolError(ProviderError):
    """A response that does not parse as the provider's format: a 200 HTML page or JSON
    of another shape, garbage, an empty or ``[DONE]``-only stream, a stream cut off
    before its finish event. Never a wrong answer: the model said nothing we could read.

    ``received`` (what came instead) is kept as one truncated, scrubbed line.
    """

    kind = "protocol"

    def __init__(self, message: str, *, model: str = "",
                 received: str | bytes | None = None) -> None:
        if received is not None:
            message = f"{message}; received: {preview(received)}"
        super().__init__(message, model=model, error_type="ProtocolError")


PREVIEW_CHARS = 160


def preview(received: str | bytes, limit: int = PREVIEW_CHARS) -> str:
    """``received`` on one line: undecodable bytes and control characters escaped,
    whitespace collapsed, known secrets redacted, cut at ``limit`` characters."""

    if isinstance(received, bytes):
        received = received[: limit * 4].decode("utf-8", errors="backslashreplace")
    text = " ".join("".join(c if c.isprintable() or c.isspace() else repr(c)[1:-1]
                            for c in received[: limit * 4]).split())
    text = scrub(text)
    if not text:
        return "(nothing)"
    return text if len(text) <= limit else text[:limit] + "..."


class WrongAnswer(AssertionError):
    """Raised by a suite test whose scorer judged the response wrong.

    An AssertionError so pytest reports a failed test (not an error). The message quotes
    the response, so known secrets are redacted from it.
    """

    def __init__(self, message: str = "") -> None:

        super().__init__(scrub(str(message)))
