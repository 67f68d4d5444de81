"""Path-valued options: where run directories go, run ids, and pytest's rootdir.

pytest fixes its rootdir and ini file *before* it loads plugins from entry points, from a
parse that does not know plugin options yet: in ``--llmbench-output ../out`` the value reads
as a test path and, once that path exists, moves the rootdir (and with it the ini file and
``llmbench.yaml``). ``restore_rootdir`` recomputes the setup from the complete parse, the one
pytest itself makes once plugins are loaded, and puts the rootdir back before conftests load.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from _pytest.config.findpaths import determine_setup

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.plugin import options
from pytest_llmbench.results.run_dir import check_output_folder, check_run_id

VALUED = frozenset(o.cli for o in options.OPTIONS if not o.flag)


def restore_rootdir(config: Any, args: list[str]) -> None:
    """Undo a rootdir moved by the value of a ``--llmbench-*`` option given as its own
    argument (``--llmbench-output ../out``); ``--opt=value`` never moves it."""
    if not any(arg in VALUED for arg in args):
        return
    ns = config.known_args_namespace
    wanted: dict[str, Any] = {"inifile": ns.inifilename, "override_ini": ns.override_ini,
                              "args": ns.file_or_dir, "rootdir_cmd_arg": ns.rootdir or None,
                              "invocation_dir": config.invocation_params.dir}
    accepted = inspect.signature(determine_setup).parameters
    rootpath, inipath, inicfg, *rest = determine_setup(
        **{k: v for k, v in wanted.items() if k in accepted})
    if rootpath == config.rootpath and inipath == config.inipath:
        return
    old_cut = str(config.inipath.parent if config.inipath is not None else config.rootpath)
    had_addopts = bool(config.inipath is not None and config.getini("addopts"))
    config._rootpath, config._inipath = rootpath, inipath
    config.__dict__["_inicfg" if hasattr(config, "_inicfg") else "inicfg"] = inicfg
    if rest and hasattr(config, "_ignored_config_files"):
        config._ignored_config_files = rest[0]
    config._inicache.clear()
    config._parser.extra_info.update(rootdir=str(rootpath), inifile=str(inipath))
    if ns.confcutdir == old_cut:
        ns.confcutdir = str(inipath.parent if inipath is not None else rootpath)
    addopts = [] if had_addopts else list(config.getini("addopts"))
    if addopts:  # the project's ini was missed: its addopts apply as pytest would have
        args[:] = addopts + args
        config.known_args_namespace = config._parser.parse_known_args(
            args, namespace=config.option.__class__(**vars(config.option)))
        config.known_args_namespace.confcutdir = ns.confcutdir


def check_output(config: Any, bench: Any) -> None:
    """On the controller, before any call: a usable run id and output folder."""
    try:
        if options.resolve(config, "run_id"):
            check_run_id(bench.run_id)
        given = options.resolve(config, "output", bench.models_config.settings)
        if given != options.BY_NAME["output"].default:
            check_output_folder(Path(bench.output), shown=str(given))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
