"""``llmbench server``: serve (the default), ``migrate``, ``keys create|list|revoke`` and
``import RUN_DIR...`` (run directories from before the server, through the ingest code)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_llmbench.errors import ConfigError, LLMBenchError
from pytest_llmbench.server.settings import MiB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", metavar="URL",
                        help="sqlite:///PATH or postgresql+psycopg://USER:PASS@HOST/DB "
                             "(default: $LLMBENCH_DATABASE_URL, else .llmbench/server.db)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    serve = actions.add_parser("serve", help="run the web server (the default action)",
                               description="Run the web server (the default action).")
    for p in (parser, serve):
        p.add_argument("--host", default="127.0.0.1",
                       help="interface to listen on (default 127.0.0.1; elsewhere reads need a key)")
        p.add_argument("--port", type=int, default=8787)
        p.add_argument("--read-key", choices=("auto", "required", "open"), default="auto",
                       help="whether reading pages and /api needs a key: auto = only off loopback")
        p.add_argument("--signing-key", type=Path, metavar="PEM",
                       help="Ed25519 private key that signs zip exports (llmbench keygen)")
        p.add_argument("--trusted-key", type=Path, action="append", default=[], metavar="PEM",
                       help="public key the verify page trusts (repeatable)")
        p.add_argument("--max-ingest-mb", type=int, default=512, help="largest ingest batch")
        p.add_argument("--max-upload-mb", type=int, default=64, help="largest verify upload")
        p.add_argument("--suites-dir", type=Path, action="append", default=[], metavar="DIR",
                       help="folder of suite YAML files runs may name (beside bench_suites/)")
        p.add_argument("--worker", action="store_true",
                       help="run one in-process worker for started runs (SQLite deployments)")
        p.add_argument("--workdir", type=Path, default=Path(".llmbench/worker"),
                       help="where workers run pytest sessions (run directories, logs)")
    worker = actions.add_parser("worker", help="take queued runs and execute them as pytest sessions",
                                description="Take queued runs and execute them as pytest sessions.")
    worker.add_argument("--server", required=True, metavar="URL",
                        help="the server's base URL, where items are posted (/api/ingest)")
    worker.add_argument("--suites-dir", type=Path, action="append", default=[], metavar="DIR")
    worker.add_argument("--workdir", type=Path, default=Path(".llmbench/worker"),
                        help="run directories and logs; share it between workers on one machine "
                             "so a run one of them lost resumes where it stopped")
    worker.add_argument("--lease", type=float, default=20.0, metavar="SECONDS",
                        help="a run whose worker is silent this long is taken by another")
    worker.add_argument("--once", action="store_true", help="exit when the queue is empty")
    maint = actions.add_parser("maintenance", help="refuse new runs (on) or take them again (off)",
                               description="Refuse new runs (on) or take them again (off).")
    maint.add_argument("state", choices=("on", "off", "status"))
    actions.add_parser("migrate", help="bring the database schema up to date and exit",
                       description="Bring the database schema up to date and exit.")
    keys = actions.add_parser("keys", help="create, list or revoke API keys",
                              description="Create, list or revoke API keys.")
    key_actions = keys.add_subparsers(dest="key_action", metavar="KEYS_ACTION", required=True)
    create = key_actions.add_parser("create", help="make a key (printed once)",
                                    description="Make a key (printed once).")
    create.add_argument("--scope", required=True, help="ingest, read, admin or run")
    create.add_argument("--name", default="")
    key_actions.add_parser("list", help="list keys (prefix, scope; never the key)",
                           description="List keys (prefix, scope; never the key).")
    revoke = key_actions.add_parser("revoke", help="revoke a key by id",
                                    description="Revoke a key by id.")
    revoke.add_argument("id", type=int)
    imp = actions.add_parser("import", help="load run directories into the database",
                             description="Load run directories into the database.")
    imp.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                     help="run directories, or with --watch folders of run directories")
    imp.add_argument("--batch-size", type=int, default=1000)
    imp.add_argument("--watch", type=float, metavar="SECONDS",
                     help="keep watching the folders (e.g. .llmbench/runs of `llmbench watch`) and "
                          "import each run once it finished, every SECONDS")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (ConfigError, LLMBenchError) as exc:
        print(f"llmbench server: {exc}", file=sys.stderr)
        return 2


def _database(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pytest_llmbench.server.db import Database, resolve_url

    db = Database(resolve_url(args.database_url))
    db.migrate()
    return db


def _run(args: argparse.Namespace) -> int:
    action = args.action or "serve"
    if action == "serve":
        return serve(args)
    db = _database(args)
    try:
        if action == "migrate":
            from pytest_llmbench.server.db import redacted

            print(f"schema up to date: {redacted(db.url)}")
            return 0
        if action == "worker":
            import os

            from pytest_llmbench.server.worker import main as worker_main

            key = os.environ.get("INGEST_API_KEY")
            if not key:
                raise ConfigError("worker: set $INGEST_API_KEY to a key with scope ingest")
            return worker_main(db, args.server, key, args.workdir, list(args.suites_dir),
                               once=args.once, lease_s=args.lease)
        if action == "maintenance":
            from pytest_llmbench.server import jobs

            if args.state != "status":
                jobs.set_maintenance(db, args.state == "on")
            running = jobs.listing(db, ("running",))
            state = "on" if jobs.maintenance(db) else "off"
            print(f"maintenance {state}; {len(running)} run(s) running"
                  + (": " + ", ".join(r["run_id"] for r in running) if running else
                     " (safe to deploy)" if state == "on" else ""))
            return 0
        if action == "keys":
            from pytest_llmbench.server import keys

            if args.key_action == "create":
                key = keys.create_key(db, keys.parse_scope(args.scope), args.name)
                print(key)
                print(f"scope {args.scope}: shown once, store it now (the server keeps only its hash)",
                      file=sys.stderr)
            elif args.key_action == "list":
                for row in keys.list_keys(db):
                    state = "revoked" if row["revoked"] else "active"
                    print(f"{row['id']}\t{row['prefix']}...\t{row['scope']}\t{state}\t{row['name']}")
            else:
                if not keys.revoke(db, args.id):
                    print(f"llmbench server: no active key {args.id}", file=sys.stderr)
                    return 1
                print(f"revoked key {args.id}")
            return 0
        from pytest_llmbench.server.importer import import_run, watch

        if args.watch:
            return watch(db, args.runs, args.watch, args.batch_size)
        failed = 0
        for path in args.runs:
            try:
                stored, total = import_run(db, path, args.batch_size)
            except (ConfigError, LLMBenchError, OSError, ValueError) as exc:
                print(f"llmbench server import: {path}: {exc}", file=sys.stderr)
                failed += 1
                continue
            print(f"{path}: {stored} of {total} records stored ({total - stored} already there)")
        return 1 if failed else 0
    finally:
        db.dispose()


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from pytest_llmbench.server.app import create_app
    from pytest_llmbench.server.db import redacted, resolve_url
    from pytest_llmbench.server.settings import Settings

    settings = Settings(
        database_url=resolve_url(args.database_url), host=args.host, port=args.port,
        read_key_required={"auto": None, "required": True, "open": False}[args.read_key],
        max_ingest_bytes=args.max_ingest_mb * MiB, max_upload_bytes=args.max_upload_mb * MiB,
        signing_key=args.signing_key, trusted_keys=list(args.trusted_key),
        suite_dirs=list(args.suites_dir))
    app = create_app(settings)
    if args.worker:
        from pytest_llmbench.server.keys import create_key
        from pytest_llmbench.server.models import Scope
        from pytest_llmbench.server.worker import start_in_process

        key = create_key(app.state.db, Scope.ingest, "in-process worker")
        start_in_process(app.state.db, f"http://127.0.0.1:{args.port}", key, args.workdir,
                         list(args.suites_dir))
    access = "open" if settings.read_open else "key required"
    print(f"llmbench server on http://{args.host}:{args.port} ({redacted(settings.database_url)}; "
          f"reads {access}; ingest at /api/ingest)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
