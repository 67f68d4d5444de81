"""guidellm, driven from outside its own install, for ``serving_fidelity.py`` (not a test).

guidellm is no dependency of pytest-llmbench: it is installed in a virtual
environment of its own (``python3 -m venv /work/guidellm-venv &&
/work/guidellm-venv/bin/pip install guidellm==0.8.1``, about 6 GB with torch)
and only ever run as a subprocess, offline (``HF_*_OFFLINE=1``). Its data loading
needs a Hugging Face tokenizer, so a tiny byte-level BPE one is trained locally
with that environment's ``tokenizers`` (shared/reference/perf_anchors.md Part
B). It sends the prompts it is given, from a JSONL file. Its CPU is sampled
from its process tree while it runs and counted over the window its JSON gives
for sending requests, so its start-up (imports, tokenizer, spawning workers,
about 12 s of CPU) and the report it compiles afterwards are left out.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
MOCK_MODEL = "mock-model"

# Runs under guidellm's own Python (faker, tokenizers and transformers are its dependencies).
_TRAIN = """
import sys
from faker import Faker
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast
fake = Faker()
fake.seed_instance(0)
tok = Tokenizer(models.BPE(unk_token=None))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=2000, special_tokens=["<|endoftext|>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train_from_iterator([fake.text(max_nb_chars=2000) for _ in range(500)], trainer)
end = "<|endoftext|>"
PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=end, bos_token=end,
                        unk_token=end).save_pretrained(sys.argv[1])
"""


@dataclass
class GuidellmFigures:
    ttft_p50: float
    itl_p50: float
    """Median of per-request mean ITLs: guidellm's definition, not pooled gaps."""
    req_s: float
    cpu_s: float
    requests: int


class Guidellm:
    """One guidellm install: its executable, a trained tokenizer and a scratch folder."""

    def __init__(self, venv: Path, scratch: Path) -> None:
        self.exe = venv / "bin" / "guidellm"
        self.python = venv / "bin" / "python"
        if not self.exe.is_file():
            raise SystemExit(f"--guidellm {venv}: no bin/guidellm there (install guidellm==0.8.1)")
        self.scratch = scratch
        self.env = {**os.environ, **OFFLINE}
        self.tokenizer = scratch / "tokenizer"
        subprocess.run([str(self.python), "-c", _TRAIN, str(self.tokenizer)], env=self.env,
                       check=True, capture_output=True, timeout=300)
        self._runs = 0

    def start_mock(self, ttft_ms: int, itl_ms: int, tokens: int) -> MockServer:
        return MockServer(self, ttft_ms, itl_ms, tokens)

    def run(self, base_url: str, model: str, streams: int, prompts: list[str],
            output_tokens: int) -> GuidellmFigures:
        """``guidellm run``, closed loop with ``streams`` streams, sending ``prompts`` in
        order (the same the other clients send: a server's own cost can depend on the
        prompt) with ``output_tokens`` each. No warm-up phase: its warm-up cuts the
        measured window mid-wave and skews its req/s (see docs/serving.md)."""
        self._runs += 1
        out = self.scratch / f"run{self._runs}.json"
        data = self.scratch / f"run{self._runs}.jsonl"
        data.write_text("".join(json.dumps({"prompt": p, "output_tokens_count": output_tokens})
                                + "\n" for p in prompts))
        cmd = [str(self.exe), "run",
               "--backend", f"kind=openai_http,target={base_url},model={model}",
               "--tokenizer", f"kind=huggingface_auto,model={self.tokenizer}",
               "--data", f"kind=json_file,path={data}",
               "--profile", f"kind=concurrent,streams={streams}",
               "--constraint", f"kind=max_requests,count={len(prompts)}",
               "--output", f"kind=json,path={out}", "--disable-console"]
        log = self.scratch / f"run{self._runs}.log"
        with log.open("w") as sink:
            proc = subprocess.Popen(cmd, env=self.env, stdout=sink, stderr=subprocess.STDOUT)
            samples = _sample_cpu(proc)
        if proc.wait() != 0 or not out.is_file():
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"guidellm run exited {proc.returncode}: {' | '.join(tail)}")
        bench = json.loads(out.read_text())["benchmarks"][0]
        metrics, window = bench["metrics"], bench["scheduler_metrics"]
        cpu = (_cpu_at(samples, window["request_end_time"])
               - _cpu_at(samples, window["request_start_time"]))

        def ok(name: str) -> dict[str, float]:
            return metrics[name]["successful"]  # type: ignore[no-any-return]

        return GuidellmFigures(ok("time_to_first_token_ms")["median"],
                               ok("inter_token_latency_ms")["median"],
                               ok("requests_per_second")["mean"], cpu,
                               int(metrics["request_totals"]["successful"]))


def _sample_cpu(proc: subprocess.Popen[bytes], every: float = 0.1) -> list[tuple[float, float]]:
    """(wall clock, CPU seconds of the process and its live descendants) until it ends.
    guidellm stamps with ``time.time()``, so the samples do too. A worker that
    exits takes its CPU with it; guidellm's exit only after the last request."""
    root = psutil.Process(proc.pid)
    seen: dict[int, float] = {}
    samples: list[tuple[float, float]] = []
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in tree:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                seen[p.pid] = t.user + t.system
        samples.append((time.time(), sum(seen.values())))
        time.sleep(every)
    return samples


def _cpu_at(samples: list[tuple[float, float]], when: float) -> float:
    """CPU seconds at wall time ``when``, interpolated between samples."""
    before = [s for s in samples if s[0] <= when] or samples[:1]
    after = [s for s in samples if s[0] >= when] or samples[-1:]
    (t0, c0), (t1, c1) = before[-1], after[0]
    return c0 if t1 == t0 else c0 + (c1 - c0) * (when - t0) / (t1 - t0)


class MockServer:
    """``guidellm mock-server`` on a free port; ``base_url`` once it answers."""

    def __init__(self, gl: Guidellm, ttft_ms: int, itl_ms: int, tokens: int) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [str(gl.exe), "mock-server", "--host", "127.0.0.1", "--port", str(port),
             "--model", MOCK_MODEL, "--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms),
             "--output-tokens", str(tokens)],
            env=gl.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mock server exited {self.proc.returncode}: {self._tail()}")
            try:
                if httpx.get(self.base_url + "/v1/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"mock server did not answer in 90 s: {self._tail()}")

    def _tail(self) -> str:
        self.log.seek(0)
        return " | ".join(self.log.read().decode(errors="replace").strip().splitlines()[-3:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
