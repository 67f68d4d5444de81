"""Move modules to the layout of issue 16 and rewrite every reference to them.

Idempotent: files already moved are left alone, and only old module paths are
rewritten, so it can be run again on a branch merged from before the move
(`python tools/relayout.py`). Kept for branches in flight; delete once none are.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = "pytest_llmbench"

# old module (dotted, relative to the package) -> new module
MOVES = {
    "plugin": "plugin",
    "collect": "plugin.collect",
    "fixtures": "plugin.fixtures",
    "session": "plugin.session",
    "worker": "plugin.worker",
    "controller": "plugin.controller",
    "postrun": "plugin.postrun",
    "recorder": "plugin.recorder",
    "xdist_glue": "plugin.xdist_glue",
    "sharding": "plugin.sharding",
    "stash": "plugin.stash",
    "hooks": "plugin.hookspecs",
    "serving_plugin": "plugin.serving",
    "target_plugin": "plugin.targets",
    "variant_fit": "plugin.variants",
    "sim_link": "plugin.sim_link",
    "options": "plugin.options",
    "lifecycle.plugin": "plugin.lifecycle",
    "lifecycle.progress": "plugin.progress",
    "lifecycle.resume": "plugin.resume",
    "engine": "calls.engine",
    "prefetch": "calls.prefetch",
    "retry": "calls.retry",
    "ratelimit": "calls.ratelimit",
    "pricing": "calls.pricing",
    "lifecycle.budget": "calls.budget",
    "lifecycle.layers": "calls.layers",
    "lifecycle.store": "calls.store",
    "cli": "cli",
    "cli_results": "cli.results",
    "lifecycle.watch": "cli.watch",
    "lifecycle.cache_cli": "cli.cache",
    "report.scrub": "redaction",  # errors.py scrubs error lines: redaction sits at the root
}
PACKAGES = {"plugin", "cli", "calls"}
# names that moved to another module: (old module, name) -> new module (after MOVES)
SYMBOL_MOVES = {
    ("scoring.base", "make_scorer"): "scoring.registry",
    ("calls.pricing", "check_price"): "config",
    ("calls.pricing", "PRICE_KEYS"): "config",
    ("calls.retry", "parse_retry_after"): "providers.retry_after",
}


def old_file(mod: str) -> Path:
    return ROOT / PKG / (mod.replace(".", "/") + ".py")


def new_file(mod: str) -> Path:
    if mod in PACKAGES:
        return ROOT / PKG / mod / "__init__.py"
    return ROOT / PKG / (mod.replace(".", "/") + ".py")


def git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=ROOT, check=True)


def move_files() -> None:
    for pkg in PACKAGES:
        (ROOT / PKG / pkg).mkdir(exist_ok=True)
    # packages first: plugin.py must become plugin/__init__.py before plugin/x.py lands
    for old, new in sorted(MOVES.items(), key=lambda kv: kv[1] not in PACKAGES):
        src, dst = old_file(old), new_file(new)
        if src.exists() and src != dst:
            git("mv", str(src.relative_to(ROOT)), str(dst.relative_to(ROOT)))
    init = ROOT / PKG / "calls" / "__init__.py"
    if not init.exists():
        init.write_text('"""The call engine: event loop, prefetch, retries, rate limits, budget, pricing,'
                        ' cache and replay."""\n')
        git("add", str(init.relative_to(ROOT)))
    lifecycle = ROOT / PKG / "lifecycle"
    if lifecycle.exists() and {p.name for p in lifecycle.glob("*.py")} <= {"__init__.py"}:
        git("rm", "-q", "-r", "--cached", str(lifecycle.relative_to(ROOT)))
        for p in lifecycle.rglob("*"):
            if p.is_file():
                p.unlink()
        for p in sorted(lifecycle.rglob("*"), reverse=True):
            p.rmdir()
        lifecycle.rmdir()


_ORDER = sorted((m for m in MOVES if MOVES[m] != m), key=len, reverse=True)
_DOTTED = re.compile(rf"\b{PKG}\.({'|'.join(re.escape(m) for m in _ORDER)})(?![\w])")
_FILE_ALTS = "|".join(re.escape(m.replace(".", "/")) for m in sorted(MOVES, key=len, reverse=True))
_SLASHED = re.compile(rf"\b{PKG}/({_FILE_ALTS})\.py\b")
_FROM_PKG = re.compile(rf"^(\s*)from {PKG} import ([\w, ]+?)(\s*#.*)?$", re.M)
_FROM_SUBPKG = re.compile(rf"^(\s*)from {PKG}\.lifecycle import ([\w, ]+?)(\s*#.*)?$", re.M)


def _split_from(match: re.Match[str], prefix: str) -> str:
    indent, names, comment = match.group(1), match.group(2), match.group(3) or ""
    kept, lines = [], []
    for item in (n.strip() for n in names.split(",") if n.strip()):
        name, _, alias = (p.strip() for p in item.partition(" as "))
        old = f"{prefix}{name}"
        if old in MOVES and MOVES[old] != old:
            new = MOVES[old]
            parent, _, leaf = new.rpartition(".")
            bound = alias or name
            as_part = f" as {bound}" if bound != leaf else ""
            lines.append(f"{indent}from {PKG}.{parent} import {leaf}{as_part}{comment}")
        else:
            kept.append(item)
    if not lines:
        return match.group(0)
    source = f"{PKG}.lifecycle" if prefix else PKG
    if kept:
        lines.insert(0, f"{indent}from {source} import {', '.join(kept)}{comment}")
    return "\n".join(lines)


_FROM_MODULE = re.compile(rf"^(\s*)from {PKG}\.([\w.]+) import ([\w, ]+?)(\s*#.*)?$", re.M)


def _move_symbols(match: re.Match[str]) -> str:
    indent, module, names, comment = match.groups()
    comment = comment or ""
    groups: dict[str, list[str]] = {}
    for item in (n.strip() for n in names.split(",") if n.strip()):
        target = SYMBOL_MOVES.get((module, item.partition(" as ")[0].strip()), module)
        groups.setdefault(target, []).append(item)
    if list(groups) == [module]:
        return match.group(0)
    return "\n".join(f"{indent}from {PKG}.{mod} import {', '.join(items)}{comment}"
                     for mod, items in groups.items())


def rewrite(text: str) -> str:
    text = _FROM_PKG.sub(lambda m: _split_from(m, ""), text)
    text = _FROM_SUBPKG.sub(lambda m: _split_from(m, "lifecycle."), text)
    text = _DOTTED.sub(lambda m: f"{PKG}.{MOVES[m.group(1)]}", text)
    text = _FROM_MODULE.sub(_move_symbols, text)
    return _SLASHED.sub(lambda m: f"{PKG}/{_new_path(m.group(1))}", text)


def _new_path(old_path: str) -> str:
    return str(new_file(MOVES[old_path.replace("/", ".")]).relative_to(ROOT / PKG))


def rewrite_tree() -> int:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    changed = 0
    for name in files:
        path = ROOT / name
        if name.startswith("tools/relayout") or path.suffix not in {
                ".py", ".md", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".txt", ".sh", ""}:
            continue
        if not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        new = rewrite(text)
        if new != text:
            path.write_text(new)
            changed += 1
    return changed


def main() -> int:
    move_files()
    print(f"rewrote references in {rewrite_tree()} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
