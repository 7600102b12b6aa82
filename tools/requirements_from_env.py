"""Print pip requirements from the conda pins of environment files (the one place they live):
environment.yml (what the workflow needs to run) and environment.dev.yml (formatting, lint and
test tools), each package pinned in exactly one of them.

Reads the `dependencies:` list without a YAML library (none is installed yet when this runs):
every `- name=version` entry except python and pip becomes `name==version`, and every
`- name==version` entry of a `- pip:` sub-list (packages that conda-forge does not carry) is
passed on as it is. With `--extra NAME`, prints instead the pins of the comment lines
`# extra NAME: pkg==version ...`: test-only tools installed into a virtualenv of their own.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SKIP = {"python", "pip"}
PIN = re.compile(r"^\s*-\s*([A-Za-z0-9_.\-]+)\s*=\s*([A-Za-z0-9_.\-]+)\s*$")
PIP_LIST = re.compile(r"^(\s*)-\s*pip\s*:\s*(#.*)?$")
EXTRA = re.compile(r"^#\s*extra\s+([A-Za-z0-9_.\-]+)\s*:\s*(.+)$")
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


def extra_requirements(text: str, name: str) -> list[str]:
    """Pins of the `# extra NAME: a==1 b==2` comment lines (a separate test environment)."""
    out = []
    for line in text.splitlines():
        m = EXTRA.match(line.strip())
        if m and m.group(1) == name:
            for pin in m.group(2).split():
                if "==" not in pin:
                    raise ValueError(f"extra {name}: {pin!r} is not pinned as name==version")
                out.append(pin)
    if not out:
        raise ValueError(f"no '# extra {name}:' line in the environment file")
    return out


if __name__ == "__main__":
    # One or more environment files (the runtime one, then the development tools), or, with
    # `--extra NAME`, the pins of that separate test environment.
    args = sys.argv[1:]
    if "--extra" in args:
        i = args.index("--extra")
        name, files = args[i + 1], args[:i] + args[i + 2 :]
        print("\n".join(r for f in files for r in extra_requirements(Path(f).read_text(), name)))
        sys.exit(0)
    pins = [r for f in args for r in requirements(Path(f).read_text())]
    names = [r.split("==")[0].lower() for r in pins]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        sys.exit(f"pinned in more than one environment file: {', '.join(twice)}")
    print("\n".join(pins))
