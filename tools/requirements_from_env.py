"""Print pip requirements from the conda pins of environment files (the one place they live):
environment.yml (what the workflow needs to run) and environment.dev.yml (formatting, lint and
test tools), each package pinned in exactly one of them.

Reads the `dependencies:` list without a YAML library (none is installed yet when this runs):
every `- name=version` entry except python and pip becomes `name==version`, and every
`- name==version` entry of a `- pip:` sub-list (packages that conda-forge does not carry) is
passed on as it is.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SKIP = {"python", "pip"}
PIN = re.compile(r"^\s*-\s*([A-Za-z0-9_.\-]+)\s*=\s*([A-Za-z0-9_.\-]+)\s*$")
PIP_LIST = re.compile(r"^(\s*)-\s*pip\s*:\s*(#.*)?$")
PIP_PIN = re.compile(r"^(\s*)-\s*([A-Za-z0-9_.\-\[\],]+)\s*==\s*([A-Za-z0-9_.\-+!]+)\s*$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def requirements(text: str) -> list[str]:
    out = []
    in_deps = False
    pip_indent = None  # indent of the `- pip:` line while inside its sub-list
    for line in text.splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and line and not line.startswith((" ", "-", "#")):
            break
        if not in_deps or not line.strip() or line.lstrip().startswith("#"):
            continue
        if pip_indent is not None and _indent(line) <= pip_indent:
            pip_indent = None
        if pip_indent is not None:
            m = PIP_PIN.match(line)
            if not m:
                raise ValueError(f"pip entry is not pinned as name==version: {line.strip()!r}")
            out.append(f"{m.group(2)}=={m.group(3)}")
            continue
        m = PIP_LIST.match(line)
        if m:
            pip_indent = len(m.group(1))
            continue
        m = PIN.match(line)
        if m and m.group(1) not in SKIP:
            out.append(f"{m.group(1)}=={m.group(2)}")
    return out


if __name__ == "__main__":
    # One or more environment files (the runtime one, then the development tools).
    pins = [r for f in sys.argv[1:] for r in requirements(Path(f).read_text())]
    names = [r.split("==")[0].lower() for r in pins]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        sys.exit(f"pinned in more than one environment file: {', '.join(twice)}")
    print("\n".join(pins))
