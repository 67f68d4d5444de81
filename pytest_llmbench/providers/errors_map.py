"""Every SDK's exceptions classified into ProviderError kinds, in one place.

Providers wrap their calls with :func:`classify` so a failure reads the same
whatever the SDK: ``bedrock:bad-model - ValidationException: Invalid model ID``.
Classes are matched by module and name so that no SDK must be importable here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_llmbench.errors import LLMBenchError, ProviderError
from pytest_llmbench.providers.retry_after import parse_retry_after

_STATUS_KINDS = {400: "bad_request", 401: "auth", 402: "auth", 403: "auth", 404: "not_found",
                 408: "timeout", 413: "bad_request", 422: "bad_request", 429: "rate_limited"}

_AWS_CODES = {
    "validationexception": "bad_request",
    "resourcenotfoundexception": "not_found",
    "accessdeniedexception": "auth",
    "unrecognizedclientexception": "auth",
    "expiredtokenexception": "auth",
    "invalidsignatureexception": "auth",
    "throttlingexception": "rate_limited",
    "modelnotreadyexception": "rate_limited",
    "servicequotaexceededexception": "rate_limited",
    "modeltimeoutexception": "timeout",
    "serviceunavailableexception": "server_error",
    "internalserverexception": "server_error",
    "modelerrorexception": "server_error",
    "modelstreamerrorexception": "server_error",
}

# error "type" strings in a body (Anthropic mid-stream errors arrive with HTTP 200)
_BODY_TYPES = {"rate_limit_error": "rate_limited", "overloaded_error": "server_error",
               "api_error": "server_error", "authentication_error": "auth",
               "permission_error": "auth", "not_found_error": "not_found",
               "invalid_request_error": "bad_request", "timeout_error": "timeout"}

# transport errors raised while a stream is read (httpx/httpx2, urllib3, botocore)
_TRANSPORT = {"ReadTimeout": "timeout", "WriteTimeout": "timeout", "ConnectTimeout": "timeout",
              "PoolTimeout": "timeout", "TimeoutException": "timeout", "ReadTimeoutError": "timeout",
              "ConnectTimeoutError": "timeout", "RemoteProtocolError": "connection",
              "ReadError": "connection", "ConnectError": "connection", "ProtocolError": "connection",
              "NetworkError": "connection", "TransportError": "connection",
              "EndpointConnectionError": "connection", "ConnectionClosedError": "connection",
              "IncompleteRead": "connection", "ConnectionError": "connection",
              "ConnectionResetError": "connection", "ConnectionRefusedError": "connection"}

_TRANSPORT_MODULES = ("httpx", "httpx2", "urllib3", "botocore", "http", "builtins", "ssl")


def _names(exc: BaseException) -> list[str]:
    return [cls.__name__ for cls in type(exc).__mro__]


def _sdk_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if body.get("message"):
            return str(body["message"])
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)


def _body_type(exc: BaseException) -> str | None:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):
            return str(inner["type"])
    return None


def _headers_of(exc: BaseException) -> Mapping[str, str] | None:
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders")
        return headers if isinstance(headers, Mapping) else None
    headers = getattr(response, "headers", None)
    return headers if isinstance(headers, Mapping) else None


def classify(exc: BaseException, model: str) -> LLMBenchError:
    """The ProviderError for ``exc`` (our own errors pass through unchanged)."""
    if isinstance(exc, LLMBenchError):
        return exc
    names = _names(exc)
    name = type(exc).__name__
    module = type(exc).__module__.split(".")[0]
    kind = "other"
    message = str(exc) or name
    error_type = name

    response: Any = getattr(exc, "response", None)
    if module in ("openai", "anthropic"):
        message = _sdk_message(exc)
        status = getattr(exc, "status_code", None)
        if "APITimeoutError" in names:
            kind = "timeout"
        elif "APIConnectionError" in names:
            kind = "connection"
            cause = exc.__cause__ or exc.__context__
            if cause is not None and _TRANSPORT.get(type(cause).__name__) == "timeout":
                kind = "timeout"
        elif isinstance(status, int) and 200 <= status < 300:
            kind = _BODY_TYPES.get(_body_type(exc) or "", "server_error")
        elif isinstance(status, int):
            kind = _STATUS_KINDS.get(status, "server_error" if status >= 500 else "other")
        else:  # an APIError with no status: an error event inside a stream
            kind = _BODY_TYPES.get(_body_type(exc) or "", "server_error")
    elif isinstance(response, dict) and "Error" in response:  # botocore ClientError
        error = response.get("Error") or {}
        code = str(error.get("Code") or name)
        message = str(error.get("Message") or exc)
        kind = _AWS_CODES.get(code.lower(), "other")
        if kind == "other":
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if isinstance(status, int):
                kind = _STATUS_KINDS.get(status, "server_error" if status >= 500 else "other")
        error_type = code[:1].upper() + code[1:]
    elif module in _TRANSPORT_MODULES or isinstance(exc, OSError):
        for candidate in names:
            if candidate in _TRANSPORT:
                kind = _TRANSPORT[candidate]
                break
        if module == "botocore" and "NoCredentialsError" in names:
            kind = "auth"
    return ProviderError(message, model=model, kind=kind, error_type=error_type,
                         retry_after=parse_retry_after(_headers_of(exc)))


def content_filtered(model: str, reason: str) -> ProviderError:
    """The error for a response the provider's safety filter stopped."""
    return ProviderError(f"the response was blocked by the provider's content filter ({reason})",
                         model=model, kind="content_filtered", error_type="ContentFiltered")


def missing_key(model: str, env_var: str | None, what: str = "api_key") -> ProviderError:
    """Raised from a provider constructor so every item fails with the same line."""
    where = f"set {env_var} (or {what} in llmbench.yaml)" if env_var else f"set {what} in llmbench.yaml"
    return ProviderError(where, model=model, kind="auth", error_type="MissingAPIKey")
