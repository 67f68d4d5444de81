"""``llmbench compare | merge | ingest | export | verify | keygen``: the run-directory commands.

Options shared with pytest come from the options table (same help, env vars and
defaults); the work is in ``report/``. Exit status: 0 success, 1 a failed gate,
ingest or verification, 2 bad input (one line naming the option or file).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import TypeAlias

from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.plugin import options

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
EXPORT_FORMATS = ("zip", "csv", "pdf")


def add_commands(sub: SubParsers) -> None:
    compare = sub.add_parser("compare", help="compare runs: deltas, paired statistics, regressions",
                             description="Compare a baseline run with one or more candidates. "
                             "A run is an id, 'latest' or a path; RUN@TARGET takes one target. "
                             "One run alone compares each of its targets with its own baseline "
                             "(in a multi-commit run, the baseline of the same commit).")
    compare.add_argument("runs", nargs="+", metavar="RUN",
                         help="baseline first, then candidates; or one run with targets")
    runs_folder(compare)
    options.add_argument(compare, "seed", help="seed of the paired bootstrap statistics")
    compare.add_argument("--gate", action="append", default=[], metavar="EXPR",
                         help="regression gate, e.g. 'accuracy -2pt' or 'latency_p95 +20%%' "
                              "(repeatable); a failure exits 1")
    compare.add_argument("-o", "--out", "--json", dest="json", type=Path, metavar="FILE",
                         help="also write the comparison (JSON) here")
    compare.set_defaults(func=cmd_compare)

    merge = sub.add_parser("merge", help="merge the shards of a run, or runs measured side by "
                           "side on several hosts",
                           description="Combine run directories into one run. Shards of a run "
                           "(--llmbench-shard) merge into <runs>/<run_id>, each item once; "
                           "a missing shard, an assigned item without a record or duplicates "
                           "that disagree are reported and exit 1. Serving points with the "
                           "same test id from several hosts are pooled from their raw samples "
                           "(percentiles recomputed, throughput over the union window).")
    merge.add_argument("runs", nargs="+", metavar="RUN",
                       help="run ids, 'latest' or paths; a sharded run's id alone merges all "
                       "its shard directories")
    runs_folder(merge)
    merge.add_argument("-o", "--out", type=Path, metavar="DIR",
                       help="the merged run directory to create (default for shards: "
                       "<runs>/<run_id>)")
    merge.set_defaults(func=cmd_merge)

    ingest = sub.add_parser("ingest", help="post a run (or what failed to post) to an ingest API",
                            description="Send a run directory's spooled batches that were not "
                            "acknowledged; the key comes from $INGEST_API_KEY.")
    ingest.add_argument("run", metavar="RUN", help="run id, 'latest' or a path")
    runs_folder(ingest)
    options.add_argument(ingest, "ingest_url", "--url", help="the ingest endpoint to post to")
    options.add_argument(ingest, "ingest_header", "--header",
                         help="header carrying $INGEST_API_KEY ('Authorization' sends "
                              "'Bearer KEY', any other header the bare key)")
    options.add_argument(ingest, "ingest_batch_size", "--batch-size")
    options.add_argument(ingest, "ingest_timeout", "--timeout")
    ingest.set_defaults(func=cmd_ingest)

    export = sub.add_parser("export", help="write a (signed) zip bundle, CSV or PDF of a run",
                            description="Write a run as a zip bundle (its files with a "
                            "manifest), the summary CSV or a PDF report, optionally signed.")
    export.add_argument("run", metavar="RUN", help="run id, 'latest' or a path")
    runs_folder(export)
    options.add_argument(export, "sign", help="sign with this Ed25519 private key file")
    export.add_argument("--format", choices=EXPORT_FORMATS, default="zip",
                        help="zip: bundle of the run's files with a manifest; csv: the summary "
                             "table; pdf: a report (extra 'pdf'). With --sign, csv and pdf get "
                             "a detached FILE.sig (default: zip)")
    export.add_argument("-o", "--out", type=Path, metavar="FILE",
                        help="output path (default: <run>/<run_id>.<format>)")
    export.set_defaults(func=cmd_export)

    verify = sub.add_parser("verify", help="check a bundle's (or FILE.sig's) signature and hashes",
                            description="Check that an export was signed by the given key and "
                            "that no file in it changed since.")
    verify.add_argument("bundle", type=Path, metavar="FILE",
                        help="a .zip bundle, or a CSV/PDF export with its FILE.sig beside it")
    verify.add_argument("--public-key", type=Path, metavar="PUB", action="append", default=[],
                        help="a public key you trust (from llmbench keygen); repeatable")
    verify.add_argument("--trusted-keys", type=Path, metavar="FILE",
                        help="a file of trusted PEM public keys (also $LLMBENCH_TRUSTED_KEYS); "
                             "exit 0 only for a signature by one of them, 3 for a valid "
                             "signature by another key, 4 for an unsigned bundle, 1 if altered")
    verify.set_defaults(func=cmd_verify)

    keygen = sub.add_parser("keygen", help="make an Ed25519 key pair for signed exports",
                            description="Write an Ed25519 private key to PATH and its public "
                            "key to PATH.pub, for llmbench export --sign / --llmbench-sign.")
    keygen.add_argument("path", type=Path, metavar="PATH",
                        help="private key file; the public key goes to PATH.pub")
    keygen.add_argument("--force", action="store_true", help="replace existing files")
    keygen.set_defaults(func=cmd_keygen)


def runs_folder(parser: argparse.ArgumentParser) -> None:
    """``--runs DIR`` on every command reading runs (``--output`` still accepted)."""
    options.add_argument(parser, "output", "--runs", "--output",
                         help="folder of run directories")


def _fail(args: argparse.Namespace, message: str) -> int:
    print(f"llmbench {args.command}: error: {message}", file=sys.stderr)
    return 2


def _run_path(args: argparse.Namespace, name: str) -> Path:
    from pytest_llmbench.results.run_dir import resolve_run

    base = Path(options.resolve_args(args, "output"))
    try:
        return resolve_run(base, name)
    except FileNotFoundError as exc:
        raise LLMBenchError(str(exc)) from None


def cmd_compare(args: argparse.Namespace) -> int:
    from pytest_llmbench.report.compare import compare, compare_pairs, load_side, target_pairs
    from pytest_llmbench.report.compare_table import compare_table, gate_lines
    from pytest_llmbench.results.regression import parse_regression

    try:
        gates = [parse_regression(g, source="--gate") for g in args.gate]
        base = Path(options.resolve_args(args, "output"))
        seed = options.resolve_args(args, "seed")
        if len(args.runs) == 1 and "@" not in args.runs[0]:
            doc = compare_pairs(target_pairs(base, args.runs[0]), gates, seed=seed)
        elif len(args.runs) < 2:
            raise LLMBenchError("give a baseline run and at least one candidate run "
                                "(or one run with targets)")
        else:
            doc = compare([load_side(base, spec) for spec in args.runs], gates, seed=seed)
    except LLMBenchError as exc:
        return _fail(args, str(exc))
    width = shutil.get_terminal_size((100, 24)).columns
    for line in compare_table(doc, width) + gate_lines(doc):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    return 1 if doc["gate_failures"] else 0


def cmd_merge(args: argparse.Namespace) -> int:
    from pytest_llmbench.report.merge import merge_runs
    from pytest_llmbench.results.shard_merge import shard_folders

    base = Path(options.resolve_args(args, "output"))
    try:
        paths = (shard_folders(base, args.runs[0]) if len(args.runs) == 1
                 and not (base / args.runs[0]).exists() and not Path(args.runs[0]).exists()
                 else [])
        paths = paths or [_run_path(args, name) for name in args.runs]
        out = merge_runs(paths, args.out)
    except (LLMBenchError, OSError) as exc:
        return _fail(args, str(exc))
    problems = json.loads((out / "run.json").read_text(encoding="utf-8")).get("merge_problems")
    for problem in problems or []:
        print(f"llmbench merge: {problem}", file=sys.stderr)
    print(f"merged run written: {out} ({len(paths)} runs)")
    return 1 if problems else 0


def cmd_ingest(args: argparse.Namespace) -> int:
    import os

    from pytest_llmbench.report.ingest import KEY_ENV, IngestTarget, check_url, resend
    from pytest_llmbench.report.ingest_spool import Spool

    try:
        path = _run_path(args, args.run)
        url = options.resolve_args(args, "ingest_url")
        spool = Spool(path)
        if not url and spool.exists:
            url = spool.load().url
        if not url:
            raise LLMBenchError("no ingest URL: pass --url or set $INGEST_API_URL")
        check_url(url, "--url / $INGEST_API_URL", os.environ.get(KEY_ENV))
        target = IngestTarget(url=url, key=os.environ.get(KEY_ENV) or None,
                              header=options.resolve_args(args, "ingest_header"),
                              timeout=options.resolve_args(args, "ingest_timeout"))
        result = resend(path, target, options.resolve_args(args, "ingest_batch_size"),
                        resplit=args.ingest_batch_size is not None)
    except (LLMBenchError, OSError, ValueError) as exc:
        return _fail(args, str(exc))
    for line in result.messages:
        print(line)
    return 0 if result.ok else 1


def cmd_export(args: argparse.Namespace) -> int:
    from pytest_llmbench.report.export import export_run

    try:
        path = _run_path(args, args.run)
        key = options.resolve_args(args, "sign")
        if args.format == "zip":
            bundle = export_run(path, args.out, Path(key) if key else None)
            print(f"{'signed ' if key else ''}bundle written: {bundle}")
            return 0
        written, signature = _export_file(path, args.format, args.out, Path(key) if key else None)
    except LLMBenchError as exc:
        return _fail(args, str(exc))
    print(f"{args.format} written: {written}" + (f" (signature: {signature})" if signature else ""))
    return 0


def _export_file(run_path: Path, fmt: str, out: Path | None,
                 key: Path | None) -> tuple[Path, Path | None]:
    from pytest_llmbench.report.detached import sign_file
    from pytest_llmbench.report.export_csv import write_csv
    from pytest_llmbench.report.export_data import load_run
    from pytest_llmbench.report.export_pdf import write_pdf

    run = load_run(run_path)
    if key is not None:
        from pytest_llmbench.report.signing import load_private_key

        load_private_key(key)  # a bad key fails before anything is written
    write = write_csv if fmt == "csv" else write_pdf
    written = write(run, out or run_path / f"{run.run_id}.{fmt}")
    return written, sign_file(written, key) if key else None


def cmd_verify(args: argparse.Namespace) -> int:
    import zipfile

    from pytest_llmbench.report.detached import verify_file
    from pytest_llmbench.report.export import verify_bundle
    from pytest_llmbench.report.trust import trusted_keys

    try:
        keys = trusted_keys(args.public_key, args.trusted_keys)
        if args.bundle.is_file() and not zipfile.is_zipfile(args.bundle) \
                and args.bundle.suffix != ".zip":
            result = verify_file(args.bundle, keys)
        else:
            result = verify_bundle(args.bundle, keys)
    except LLMBenchError as exc:
        return _fail(args, str(exc))
    print(f"{args.bundle}: {result.summary()}")
    return result.exit_code


def cmd_keygen(args: argparse.Namespace) -> int:
    from pytest_llmbench.report.signing import fingerprint, generate, load_public_key

    try:
        private, public = generate(args.path, force=args.force)
    except LLMBenchError as exc:
        return _fail(args, str(exc))
    print(f"private key: {private} (keep it secret)\npublic key: {public} "
          f"({fingerprint(load_public_key(public))})")
    return 0
