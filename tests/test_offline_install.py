"""The secure room has no internet: the wheelhouse alone installs the workflow, which then runs.

`make wheelhouse` builds every pinned runtime package as a wheel; here the wheelhouse is
installed into a fresh virtualenv and the tiny workflow is run, both inside a network namespace
with no network at all (`unshare -n`), so that any download would fail the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _offline(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run `cmd` with no network: a new network namespace (root) or a user namespace too."""
    prefix = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    return subprocess.run([*prefix, *cmd], capture_output=True, text=True, check=False, **kw)


@pytest.mark.e2e
def test_wheelhouse_installs_and_runs_without_network(tmp_path):
    assert shutil.which("unshare"), "unshare (util-linux) is needed to cut the network"
    connect = "import socket; socket.create_connection(('pypi.org', 443), 3)"
    probe = _offline([sys.executable, "-c", connect])
    assert probe.returncode != 0, "the network namespace still reaches the internet"

    wheels = tmp_path / "wheelhouse"
    made = subprocess.run(
        ["make", "-C", str(REPO), "wheelhouse", f"WHEELHOUSE={wheels}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    reqs = (wheels / "requirements.txt").read_text().split()
    assert not {"pytest", "ruff", "snakefmt"} & {r.split("==")[0] for r in reqs}  # runtime only

    venv = tmp_path / "venv"
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}  # no index or find-links from config
    env.pop("PIP_FIND_LINKS", None)
    made_venv = _offline([sys.executable, "-m", "venv", str(venv)], env=env)
    assert made_venv.returncode == 0, made_venv.stderr
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "--no-index", "--find-links",
           str(wheels), "-r", str(wheels / "requirements.txt")]  # fmt: skip
    installed = _offline(pip, env=env)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-3000:]

    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(REPO / "resources", work / "resources")
    run = _offline(
        [str(venv / "bin/snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory",
         str(work), "--cores", "2", "--configfile", str(REPO / "config/config.yaml"),
         str(REPO / "tests/data/tiny.yaml")],
        env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    assert (work / "reports/release/summary.html").exists()
