"""`homeops lab [NAME] [--twin DIR]`: JupyterLab on 127.0.0.1, on a fresh working copy of the runbooks.

The committed notebooks in runbooks/ are never opened: Jupyter's autosave would write a
session's parameters (`apply = True`, one node) and outputs into them, and every later run would
take those as its defaults. The copy lives under records/ (`lab-<UTC time>/`, private), where the
runbooks find the project's cluster.yaml by walking up, and their records go to records/ beside
it. With `--twin DIR` the kernels get the twin's tools first on PATH; without it, the real ones.

JupyterLab runs with two of its defaults changed (an operator's own settings still win): a
notebook run at once after it opened starts its kernel instead of asking which one, and the lab
never offers to fetch news from the Internet. They live in the copy's hidden `.jupyter-config/`.

Ctrl-C, SIGTERM or the terminal closing stop the lab in order (`homeops.runner.lab_shutdown`): a
kernel busy with a run is interrupted first, so the run ends "interrupted" with its lock released,
its record written and what it left in place named; then JupyterLab shuts down, and nothing it
started outlives the command. A second Ctrl-C skips the wait for the runs to end.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from homeops.cli import EXIT_USAGE
from homeops.commands.run import DEFAULT_RECORDS, DEFAULT_RUNBOOKS
from homeops.runner import lab_shutdown

HOST = "127.0.0.1"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_FILE = ".stopping"  # in the working copy: why the lab is stopping, for the kernels' guards
WAIT_SLICE_SECONDS = 0.5
EXIT_INTERRUPTED = 130

# Default values of JupyterLab settings for this lab: `default_setting_overrides.json` in the
# `labconfig` directory of a Jupyter config path (jupyterlab_server's settings_utils._get_overrides;
# LabConfig directories in JupyterLab's docs/source/user/directories.rst). The user's own settings
# still take precedence.
#
# autoStartDefaultKernel: a notebook asks for its kernel by the name in its metadata (python3) once
# its file has loaded. Until then its kernel preference holds neither a name nor a language, and a
# Run > Run All Cells (or Shift+Enter) in that first moment finds "No Kernel": JupyterLab's runCell
# calls SessionContext.startKernel, whose Private.getDefaultKernel picks the server's default kernel
# only when `autoStartDefault` is true (packages/apputils/src/sessioncontext.tsx), and otherwise
# opens the "Select Kernel" dialog over the notebook, which takes the operator's next keys. This
# notebook-extension setting makes `autoStartDefault` true for every notebook. The server's default
# kernel is python3, this interpreter's own (jupyter_client's native kernel): the one the runbooks
# name anyway. (The cells of so early a Run All may still not run; the kernel is then up for the next.)
#
# fetchNews "false" (and no update check, which needs it): JupyterLab's first start otherwise asks,
# over the notebook, whether to fetch the Jupyter news feed from the Internet (its announcements
# plugin asks while the setting is "none", its default); this lab is local-only.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def register(sub) -> None:
    p = sub.add_parser("lab", help="open the runbooks in JupyterLab (127.0.0.1), on a working copy under records/",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", metavar="NAME", nargs="?", help="the runbook to open (default: all of them)")
    p.add_argument("--twin", metavar="DIR", type=Path, help="the kernels run the twin in DIR (DIR/bin first on PATH)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--runbooks", metavar="DIR", type=Path, default=Path(DEFAULT_RUNBOOKS))
    p.add_argument("--records", metavar="DIR", type=Path, default=Path(DEFAULT_RECORDS))
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from homeops.runner import guard
    from homeops.runner.records import private_directory

    names = [args.name] if args.name else sorted(p.stem for p in args.runbooks.glob("*.ipynb"))
    missing = [n for n in names if not (args.runbooks / f"{n}.ipynb").is_file()]
    if missing or not names:
        print(f"homeops lab: no runbook named {missing[0] if missing else '(any)'} in {args.runbooks}/", file=sys.stderr)
        return EXIT_USAGE
    env = {**os.environ, guard.RECORDS_ENV: str(args.records.resolve()),
           "HOMEOPS_PROJECT": str(Path(args.config).resolve().parent)}
    if args.twin is not None:
        twin = args.twin.resolve()
        if not (twin / "bin" / "kubectl").is_file():
            print(f"homeops lab: --twin {args.twin}: no twin there (no bin/kubectl)", file=sys.stderr)
            return EXIT_USAGE
        env["PATH"] = f"{twin / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}"
        env[guard.TWIN_ENV] = str(twin)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    copy = private_directory(args.records / f"lab-{stamp}").resolve()
    for name in names:
        shutil.copyfile(args.runbooks / f"{name}.ipynb", copy / f"{name}.ipynb")
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        filter(None, [str(_lab_config(copy)), env.get("JUPYTER_CONFIG_PATH", "")]))
    port = args.port or _free_port()
    token = secrets.token_hex(16)
    page = f"lab/tree/{names[0]}.ipynb" if args.name else "lab"
    print(f"working copy: {copy} (runbooks/ is not touched)", flush=True)
    print(f"JupyterLab: http://{HOST}:{port}/{page}?token={token}", flush=True)
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.ip={HOST}", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", "--ServerApp.open_browser=False", f"--ServerApp.root_dir={copy}",
            f"--IdentityProvider.token={token}", f"--ServerApp.default_url=/{page}"]
    if os.geteuid() == 0:  # containers and CI run as root; Jupyter refuses that unless told
        argv.append("--ServerApp.allow_root=True")
    env[lab_shutdown.STOP_FILE_ENV] = str(copy / STOP_FILE)
    return serve(argv, env, f"http://{HOST}:{port}", token, copy / STOP_FILE)


def serve(argv: list[str], env: dict[str, str], base_url: str, token: str, stop_file: Path) -> int:
    """Run JupyterLab until it exits, or until a signal asks the lab to stop (then stopped as
    `lab_shutdown` says: the runs first, then the server, then what is left).

    The handlers are in place before JupyterLab starts, and only note the signal: a Ctrl-C can no
    longer land between the fork and the wait (where `subprocess.call` never stopped the child,
    and the lab exited with its JupyterLab still running). JupyterLab gets a session of its own,
    so a terminal's Ctrl-C or hangup reaches this process only, which decides the order of the stop.
    """
    received: list[int] = []

    def note(number: int, frame) -> None:
        received.append(number)

    previous = {number: signal.signal(number, note) for number in STOP_SIGNALS}
    try:
        process = subprocess.Popen(argv, env=env, start_new_session=True)
        while not received and process.poll() is None:
            try:
                process.wait(timeout=WAIT_SLICE_SECONDS)
            except subprocess.TimeoutExpired:
                continue
        if not received:
            return process.returncode
        why = f"homeops lab stopped by {signal.Signals(received[0]).name}"
        lab = lab_shutdown.LabServer(process, base_url, token, stop_file,
                                     say=lambda line: print(line, file=sys.stderr, flush=True))
        lab.stop(why, stopping_early=lambda: len(received) > 1)
        return EXIT_INTERRUPTED
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _lab_config(copy: Path) -> Path:
    """A Jupyter config directory of this session only, holding LAB_SETTINGS; hidden, so the lab does not list it."""
    config = copy / ".jupyter-config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "default_setting_overrides.json").write_text(json.dumps(LAB_SETTINGS, indent=1) + "\n")
    return config


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]
