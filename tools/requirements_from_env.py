"""Print pip requirements from the conda pins in environment.yml (the one place they live).

Reads the `dependencies:` list without a YAML library (none is installed yet when this runs):
every `- name=version` entry except python and pip becomes `name==version`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SKIP = {"python", "pip"}
PIN = re.compile(r"^\s*-\s*([A-Za-z0-9_.\-]+)\s*=\s*([A-Za-z0-9_.\-]+)\s*$")


def requirements(text: str) -> list[str]:
    out = []
    in_deps = False
    for line in text.splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and line and not line.startswith((" ", "-", "#")):
            break
        m = PIN.match(line)
        if in_deps and m and m.group(1) not in SKIP:
            out.append(f"{m.group(1)}=={m.group(2)}")
    return out


if __name__ == "__main__":
    print("\n".join(requirements(Path(sys.argv[1]).read_text())))
