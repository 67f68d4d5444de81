"""A target that already runs somewhere: the run only checks its health and uses it."""

from __future__ import annotations

from pathlib import Path

from pytest_llmbench.targets.base import Endpoint
from pytest_llmbench.targets.spec import TargetSpec


class UrlTarget:
    def __init__(self, spec: TargetSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self._endpoint: Endpoint | None = None

    def launch(self, log_dir: Path) -> Endpoint:
        url = self.spec.base_url(None)
        self._endpoint = Endpoint(name=self.name, kind="url", url=url, commit=self.spec.commit,
                                  health_url=self.spec.health_url(url, None))
        return self._endpoint

    def alive(self) -> str | None:
        """Always running as far as the run knows; health waits time out instead."""
        return None

    def stop(self) -> None:
        """Not ours to stop."""

