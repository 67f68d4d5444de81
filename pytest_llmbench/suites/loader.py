"""Build a Suite from a YAML suite file or from Python rows, validating as it goes.

Every problem is a SuiteError naming the suite or dataset file and the line.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from pytest_llmbench.errors import ConfigError, SuiteError
from pytest_llmbench.results.gates import parse_gate
from pytest_llmbench.suites import datasets, sources, variants, yaml_lines
from pytest_llmbench.suites.model import Case, Suite, placeholders

SUITE_KEYS = {"name", "description", "dataset", "rows", "prompt", "system", "few_shot",
              "expected", "scorer", "params", "sample", "gates", "id_field", "samples", "pass_at",
              "train", "variants", "messages", "kind"}
ROLES = ("system", "user", "assistant")
ID_FIELDS = ("id", "case_id", "task_id", "qid", "question_id", "uid")
# The keys of each form of ``dataset: {...}`` (``id_field`` may sit there or at the top).
DATASET_KEYS = {"path": {"path", "format", "id_field"}, "rows": {"rows", "id_field"},
                "hf": {"hf", "name", "split", "revision", "data_files", "map", "id_field"},
                "python": {"python", "install", "id_field"}}
# ``{name`` never closed: a placeholder missing its ``}`` (``{answer: 42}`` is text).
_UNCLOSED = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?=[^A-Za-z0-9_}]|$)")
_UNSAFE = re.compile(r"[^A-Za-z0-9._@:-]+")
_MAX_ID = 64


def case_id_for(row: dict[str, Any], id_field: str | None) -> str:
    """The row's own id (sanitised) or a short content hash; never its position."""
    if id_field is not None and row.get(id_field) not in (None, ""):
        raw = str(row[id_field])
    else:
        canonical = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
        return "h" + hashlib.sha1(canonical.encode()).hexdigest()[:10]
    cleaned = _UNSAFE.sub("_", raw).strip("_") or "_"
    if len(cleaned) > _MAX_ID:
        cleaned = cleaned[:_MAX_ID - 9] + "~" + hashlib.sha1(raw.encode()).hexdigest()[:8]
    return cleaned


def load_suite_file(path: Path) -> Suite:
    try:
        data = yaml_lines.load(datasets.read_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SuiteError(path, f"invalid YAML: {problem}", line=line) from None
    except OSError as exc:
        raise SuiteError(path, f"cannot read: {exc.strerror}") from None
    if not isinstance(data, yaml_lines.LineDict):
        raise SuiteError(path, "a suite file must be a mapping (name, dataset, prompt, ...)", line=1)
    unknown = [k for k in data if k not in SUITE_KEYS]
    if unknown:
        raise SuiteError(path, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(SUITE_KEYS))})",
                         line=data.line_of(unknown[0]))
    if "kind" in data and data["kind"] != "suite":
        raise SuiteError(path, f"kind: {data['kind']!r} is not 'suite'", line=data.line_of("kind"))
    chat = _chat(path, data)
    if "prompt" not in data and chat is None:
        raise SuiteError(path, "missing required key 'prompt' (or 'messages')", line=data.line)
    base = path.parent
    rows_source, rows = _rows(path, data, base)
    dataset = data.get("dataset")
    id_field = data.get("id_field") or (dataset.get("id_field") if isinstance(dataset, dict)
                                        else None)
    suite = build_suite(
        name=str(data.get("name") or path.stem), rows=rows, rows_source=rows_source,
        prompt=_str(path, data, "prompt") if "prompt" in data else "{prompt}",
        chat=chat, description=str(data.get("description") or ""),
        system=_str(path, data, "system") if data.get("system") is not None else None,
        few_shot=_few_shot(path, data, base), expected=data.get("expected", "answer"),
        scorer=data.get("scorer", "exact"), params=_mapping(path, data, "params"),
        sample=data.get("sample"), gates=_gates(path, data), id_field=id_field,
        path=path, line_of=data.line_of,
    )
    if not suite.cases:
        source = f"dataset {rows_source.name} has" if rows_source != path else "'rows' has"
        raise SuiteError(path, f"{source} no rows (an empty suite would run nothing)",
                         line=data.line_of("rows" if "rows" in data else "dataset"))
    suite.samples, suite.pass_at = _samples(path, data)
    suite.train = _train(path, data, base, suite)
    suite.variants = variants.parse_variants(path, data, suite.train, suite.prompt, suite.cases)
    return suite


def _train(path: Path, data: yaml_lines.LineDict, base: Path, suite: Suite) -> list[Case]:
    """The ``train:`` split (a path, ``{path, format}`` or inline rows): cases few-shot
    variants and optimizers draw from, never run as tests."""
    spec = data.get("train")
    if spec is None:
        return []
    if isinstance(spec, list):
        rows: Any = _inline_rows(path, data, "train")
        source = path
    else:
        spec = {"path": spec} if isinstance(spec, str) else spec
        if not isinstance(spec, dict) or "path" not in spec:
            raise SuiteError(path, "'train' must be a path, {path, format} or a list of rows",
                             line=data.line_of("train"))
        source = base / str(spec["path"])
        if not source.is_file():
            raise SuiteError(path, f"train file not found: {spec['path']}",
                             line=data.line_of("train"))
        rows = datasets.load_file(source, spec.get("format"))
    return build_suite(name=suite.name, rows=rows, rows_source=source, prompt=suite.prompt,
                       expected=suite.expected_field, id_field=data.get("id_field")).cases


def build_suite(*, name: str, rows: Iterable[tuple[dict[str, Any], int | None]],
                prompt: str = "{prompt}", rows_source: Path | None = None, description: str = "",
                system: str | None = None, few_shot: list[dict[str, Any]] | None = None,
                expected: str | None = "answer", scorer: Any = "exact",
                params: dict[str, Any] | None = None, sample: str | int | None = None,
                gates: list[str] | None = None, id_field: str | None = None,
                path: Path | None = None, line_of: Any = None,
                chat: list[dict[str, str]] | str | None = None) -> Suite:
    """Validate rows against the template and expected field, assign ids, reject duplicates."""
    where = rows_source or path or Path(name)
    _check_templates(path or where, prompt, system, chat, line_of)
    if isinstance(chat, str):
        needed = [chat]
    elif chat is not None:
        needed = [name for m in chat for name in placeholders(m["content"])]
    else:
        needed = placeholders(prompt)
    needed += placeholders(system) if system else []
    cases: list[Case] = []
    first_line: dict[str, int | None] = {}
    resolved_id_field = id_field
    for index, (row, line) in enumerate(rows):
        if index == 0 and resolved_id_field is None:
            resolved_id_field = next((f for f in ID_FIELDS if f in row), None)
        row_ref = line if line is not None else index + 1
        for field_name in needed:
            if field_name not in row:
                raise SuiteError(where, f"row has no field {field_name!r} used by the prompt "
                                 "template", line=row_ref)
        if expected is not None and expected not in row:
            raise SuiteError(where, f"row has no expected-answer field {expected!r}", line=row_ref)
        if isinstance(chat, str) and not _is_conversation(row[chat]):
            raise SuiteError(where, f"row field {chat!r} must be a list of {{role, content}} "
                             "messages", line=row_ref)
        case_id = case_id_for(row, resolved_id_field)
        if case_id in first_line:
            raise SuiteError(where, f"duplicate case id {case_id!r} (first at line "
                             f"{first_line[case_id]})", line=row_ref)
        first_line[case_id] = row_ref
        cases.append(Case(suite=name, id=case_id, row=row,
                          expected=row.get(expected) if expected else None, line=row_ref))
    if id_field is not None and cases and id_field not in cases[0].row:
        line = line_of("id_field") if line_of else None
        raise SuiteError(path or where, f"id_field {id_field!r} is not a field of the rows",
                         line=line)
    return Suite(name=name, cases=cases, prompt=prompt, description=description, system=system,
                 few_shot=few_shot or [], expected_field=expected, scorer=scorer,
                 params=params or {}, sample=sample, gates=gates or [], path=path, chat=chat)


def _check_templates(path: Path, prompt: str, system: str | None,
                     chat: list[dict[str, str]] | str | None, line_of: Any) -> None:
    """A ``{field`` without its ``}`` is a typo, not text: fail naming the key's line."""
    texts = [("prompt", prompt), ("system", system)]
    texts += [("messages", m["content"]) for m in chat] if isinstance(chat, list) else []
    for key, text in texts:
        text = text or ""
        match = next((m for m in _UNCLOSED.finditer(text) if "}" not in text[m.end():]), None)
        if match:
            raise SuiteError(path, f"unbalanced '{{' in '{key}': {{{match.group(1)} has no "
                             f"closing '}}' (write {{{{ for a literal brace)",
                             line=line_of(key) if line_of else None)


def _rows(path: Path, data: yaml_lines.LineDict, base: Path
          ) -> tuple[Path, Iterable[tuple[dict[str, Any], int | None]]]:
    if "rows" in data:
        return path, _inline_rows(path, data, "rows")
    if "dataset" not in data:
        raise SuiteError(path, "missing 'dataset' (a file path or mapping) or inline 'rows'",
                         line=data.line)
    spec = data["dataset"]
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict):
        raise SuiteError(path, "'dataset' must be a path or a mapping", line=data.line_of("dataset"))
    kind = next((k for k in ("rows", "hf", "python", "path") if k in spec), None)
    unknown = [k for k in spec if kind is not None and k not in DATASET_KEYS[kind]]
    if unknown and kind is not None:
        line_of = getattr(spec, "line_of", lambda _: data.line_of("dataset"))
        raise SuiteError(path, f"unknown key {unknown[0]!r} in 'dataset' (a {kind!r} dataset "
                         f"takes {', '.join(sorted(DATASET_KEYS[kind]))})",
                         line=line_of(unknown[0]))
    if "rows" in spec:
        return path, _inline_rows(path, spec, "rows")
    if "hf" in spec:
        return path, datasets.load_hf(dict(spec), base, path)
    if "python" in spec:
        return path, sources.load_python(dict(spec), path)
    if "path" not in spec:
        raise SuiteError(path, "'dataset' needs 'path', 'rows', 'hf' or 'python'",
                         line=data.line_of("dataset"))
    file = Path(str(spec["path"]))
    file = file if file.is_absolute() else base / file
    if not file.is_file():
        raise SuiteError(path, f"dataset file not found: {spec['path']}", line=data.line_of("dataset"))
    return file, datasets.load_file(file, spec.get("format"))


def _samples(path: Path, data: yaml_lines.LineDict) -> tuple[int | None, list[int] | None]:
    samples, pass_at = data.get("samples"), data.get("pass_at")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int)
                                or samples < 1):
        raise SuiteError(path, "'samples' must be a positive integer", line=data.line_of("samples"))
    if isinstance(pass_at, int) and not isinstance(pass_at, bool):
        pass_at = [pass_at]
    if pass_at is not None and not (isinstance(pass_at, list) and pass_at and all(
            isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in pass_at)):
        raise SuiteError(path, "'pass_at' must be a list of positive integers, e.g. [1, 5, 10]",
                         line=data.line_of("pass_at"))
    return samples, pass_at


def _inline_rows(path: Path, holder: Any, key: str) -> list[tuple[dict[str, Any], int | None]]:
    rows = holder[key]
    if not isinstance(rows, list):
        raise SuiteError(path, f"'{key}' must be a list of mappings", line=holder.line_of(key))
    out = []
    for row in rows:
        if not isinstance(row, dict):
            raise SuiteError(path, "each row must be a mapping", line=holder.line_of(key))
        out.append((dict(row), getattr(row, "line", None)))
    return out


def _chat(path: Path, data: yaml_lines.LineDict) -> list[dict[str, str]] | str | None:
    """``messages:`` -- a list of ``{role, content}`` templates, or ``{field: name}`` for rows
    that carry their own conversation (a list of role/content messages)."""
    value = data.get("messages")
    if value is None:
        return None
    line = data.line_of("messages")
    if "prompt" in data or data.get("few_shot"):
        raise SuiteError(path, "'messages' replaces 'prompt' and 'few_shot': put the turns "
                         "in 'messages'", line=line)
    if isinstance(value, dict) and set(value) == {"field"} and isinstance(value["field"], str):
        return value["field"]
    if not isinstance(value, list) or not value:
        raise SuiteError(path, "'messages' must be a list of {role, content} or {field: name}",
                         line=line)
    turns = []
    for turn in value:
        if (not isinstance(turn, dict) or turn.get("role") not in ROLES
                or not isinstance(turn.get("content"), str)):
            raise SuiteError(path, f"each message needs a role ({', '.join(ROLES)}) and a "
                             f"content string, not {turn!r}", line=line)
        turns.append({"role": turn["role"], "content": turn["content"]})
    if turns[-1]["role"] != "user":
        raise SuiteError(path, "the last message must be the user's turn", line=line)
    return turns


def _is_conversation(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str)
        for m in value)


def _str(path: Path, data: yaml_lines.LineDict, key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise SuiteError(path, f"'{key}' must be a string", line=data.line_of(key))
    return value


def _mapping(path: Path, data: yaml_lines.LineDict, key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise SuiteError(path, f"'{key}' must be a mapping", line=data.line_of(key))
    return dict(value)


def _gates(path: Path, data: yaml_lines.LineDict) -> list[str]:
    """The suite's gates, each parsed now: a bad one fails collection, before any call."""
    value = data.get("gates") or []
    if isinstance(value, dict):
        gates = [f"{metric}{cond}" for metric, cond in value.items()]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        gates = list(value)
    else:
        raise SuiteError(path, "'gates' must be a list like ['accuracy>=0.8'] or a mapping",
                         line=data.line_of("gates"))
    for gate in gates:
        try:
            parse_gate(gate, source="gates", suite=str(data.get("name") or path.stem))
        except ConfigError as exc:
            raise SuiteError(path, str(exc), line=data.line_of("gates")) from None
    return gates


def _few_shot(path: Path, data: yaml_lines.LineDict, base: Path) -> list[dict[str, Any]]:
    spec = data.get("few_shot")
    if spec is None:
        return []
    if isinstance(spec, list):
        return [dict(r) for r, _ in _inline_rows(path, data, "few_shot")]
    if isinstance(spec, dict) and "path" in spec:
        file = base / str(spec["path"])
        rows = [row for row, _ in datasets.load_file(file, spec.get("format"))]
        return rows[: int(spec.get("count", len(rows)))]
    raise SuiteError(path, "'few_shot' must be a list of rows or {path, count}",
                     line=data.line_of("few_shot"))
