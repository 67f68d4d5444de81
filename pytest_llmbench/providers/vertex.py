"""``vertex:<model>``: Claude on Google Vertex AI through ``anthropic.AsyncAnthropicVertex``.

The same Messages stream as ``anthropic:`` (so the same timing, usage and
thinking handling); the SDK posts to
``{base}/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:streamRawPredict``.
Needs the ``vertex`` extra (google-auth) unless an ``access_token`` is given.
Project: the ``project_id`` setting, ``ANTHROPIC_VERTEX_PROJECT_ID`` or
``GOOGLE_CLOUD_PROJECT`` (else the one of the Google credentials); region: the
``region`` setting, ``CLOUD_ML_REGION`` or ``GOOGLE_CLOUD_LOCATION``.
"""

from __future__ import annotations

import os
from typing import Any

import anthropic

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers import clients
from pytest_llmbench.providers.anthropic_messages import AnthropicProvider


class VertexProvider(AnthropicProvider):
    def _client(self, args: dict[str, Any]) -> anthropic.AsyncAnthropicVertex:
        settings = self.spec.settings
        region = (settings.get("region") or os.environ.get("CLOUD_ML_REGION")
                  or os.environ.get("GOOGLE_CLOUD_LOCATION"))
        if not region:
            raise ConfigError(f"{self.spec.name}: set CLOUD_ML_REGION (or region in llmbench.yaml, "
                              "e.g. us-east5 or global)")
        project = (settings.get("project_id") or os.environ.get("ANTHROPIC_VERTEX_PROJECT_ID")
                   or os.environ.get("GOOGLE_CLOUD_PROJECT"))
        token = settings.get("access_token")
        if token is None:
            try:
                import google.auth  # noqa: F401, PLC0415 - only to say which extra is missing
            except ImportError:
                raise ConfigError(f"{self.spec.name}: Vertex needs google-auth: "
                                  "pip install 'pytest-llmbench[vertex]'") from None
        if settings.get("base_url"):
            args["base_url"] = str(settings["base_url"])
        args.update(region=str(region), access_token=token)
        if project:
            args["project_id"] = str(project)
        self._client_key = clients.client_key("vertex", **args)
        return clients.acquire(self._client_key, lambda: anthropic.AsyncAnthropicVertex(**args))
