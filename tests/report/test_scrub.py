"""The scrubber: key-shaped strings and secret env values become ``[redacted]``."""

from __future__ import annotations

import json

import pytest

from pytest_llmbench.redaction import REDACTED, Scrubber, secret_env_values


@pytest.mark.parametrize("secret", [
    "sk-" + "a" * 48,
    "sk-proj-" + "Ab3_" * 10,
    "sk-ant-api03-" + "x1Y2" * 20,
    "AKIA" + "ABCDEFGHIJKLMNOP",
    "ASIA" + "0123456789ABCDEF",
    "AIza" + "S" * 35,
    "ghp_" + "a1" * 18,
    "github_pat_" + "B2" * 20,
    "hf_" + "c3" * 16,
])
def test_key_shaped_strings_are_removed(secret: str) -> None:
    scrub = Scrubber(environ={})
    assert scrub(f"before {secret} after") == f"before {REDACTED} after"
    assert scrub(json.dumps({"k": secret})) == json.dumps({"k": REDACTED})


def test_bearer_tokens_keep_the_scheme_word() -> None:
    scrub = Scrubber(environ={})
    assert scrub("Authorization: Bearer abc.DEF-123_456~xyz") == f"Authorization: Bearer {REDACTED}"
    assert scrub('{"authorization": "bearer ZZZZZZZZZZZZZZZZ=="}') == (
        f'{{"authorization": "bearer {REDACTED}"}}')


@pytest.mark.parametrize("text", [
    "task-abcdefghijklmnopqrstuvwxyz",   # "sk-" inside a word
    "sk-short",
    "AKIAshort",
    "the bearer of bad news",
    "MASKIAABCDEFGHIJKLMNOP",
])
def test_ordinary_text_is_kept(text: str) -> None:
    assert Scrubber(environ={})(text) == text


def test_secret_env_values_by_name() -> None:
    env = {"OPENAI_API_KEY": "key-value-123456", "HF_TOKEN": "tok-value-123456",
           "DB_SECRET": "s3cr3t-value", "MY_PASSWORD": "p4ssw0rd-long", "SHORT_TOKEN": "1",
           "PATH": "/usr/bin:/bin", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG"}
    assert sorted(secret_env_values(env)) == sorted(
        ["key-value-123456", "tok-value-123456", "s3cr3t-value", "p4ssw0rd-long",
         "wJalrXUtnFEMI/K7MDENG"])
    scrub = Scrubber(environ=env)
    assert scrub("a key-value-123456 b /usr/bin:/bin 1") == f"a {REDACTED} b /usr/bin:/bin 1"


def test_env_values_are_found_inside_json_too() -> None:
    scrub = Scrubber(environ={"X_API_KEY": 'quote"and\\slash-12345'})
    text = json.dumps({"error": 'bad key quote"and\\slash-12345'})
    assert scrub(text) == json.dumps({"error": f"bad key {REDACTED}"})
