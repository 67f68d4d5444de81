"""An in-process provider for tests and harness benchmarks: no network, exact timing.

Models (``inproc:<policy>``): ``oracle`` answers the case's expected answer,
``echo`` repeats the prompt, ``wrong`` always answers wrong, ``error`` always
fails, ``fixed`` answers ``settings.text``. Settings in the models config:
``delay`` (seconds before the answer), ``accuracy`` (fraction an oracle gets
right, chosen deterministically per case id).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError, ProviderError
from pytest_llmbench.providers.base import ChatRequest, Completion

POLICIES = ("oracle", "echo", "wrong", "error", "fixed")


def _tokens(text: str) -> int:
    return len(text.split())


class InProcessProvider:
    def __init__(self, spec: ModelSpec, context: dict[str, Any]) -> None:
        policy = spec.model.split("-", 1)[0]
        if policy not in POLICIES:
            raise ConfigError(f"inproc model {spec.model!r}: unknown policy "
                              f"(known: {', '.join(POLICIES)})")
        self.spec = spec
        self.policy = policy
        settings = {**spec.settings, **spec.params}
        self.delay = float(settings.get("delay", 0.0))
        self.accuracy = float(settings.get("accuracy", 1.0))
        self.text = str(settings.get("text", ""))

    async def complete(self, request: ChatRequest) -> Completion:
        start = time.perf_counter()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.policy == "error":
            raise ProviderError("simulated server error", model=self.spec.name,
                                kind="server_error", error_type="InternalServerError")
        prompt = request.messages[-1]["content"] if request.messages else ""
        text = self._answer(request, prompt)
        latency = time.perf_counter() - start
        input_tokens = sum(_tokens(m["content"]) for m in request.messages)
        return Completion(text=text, input_tokens=input_tokens, output_tokens=max(1, _tokens(text)),
                          ttft_s=latency, latency_s=latency, finish_reason="stop")

    def _answer(self, request: ChatRequest, prompt: str) -> str:
        expected = request.metadata.get("expected")
        if isinstance(expected, list):
            expected = expected[0] if expected else ""
        if self.policy == "echo":
            return prompt
        if self.policy == "fixed":
            return self.text
        if self.policy == "oracle" and expected is not None and self._knows(request):
            return str(expected)
        return f"not {expected}" if expected is not None else "I don't know"

    def _knows(self, request: ChatRequest) -> bool:
        if self.accuracy >= 1.0:
            return True
        digest = hashlib.sha256(str(request.metadata.get("case_id", "")).encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < self.accuracy

    async def aclose(self) -> None:
        return None
