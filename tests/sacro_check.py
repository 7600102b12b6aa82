"""Open an ACRO output folder with the SACRO viewer's own model, as an output checker would.

Run with the SACRO viewer's interpreter (its virtualenv, `make sacro-viewer`), not socflow's:
    .venv-sacro/bin/python tests/sacro_check.py checker/
Prints one JSON line: the metadata file found, its version, the outputs and files loaded and
every file whose checksum did not verify; exits 1 if any did not.
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sacro.settings")

import django

django.setup()

from sacro import versioning  # noqa: E402
from sacro.models import ACROOutputs, find_acro_metadata  # noqa: E402

folder = Path(sys.argv[1])
path = find_acro_metadata(folder)
outputs = ACROOutputs(path)
versioning.check_version(outputs.version)
files = [
    (uid, f["name"], f["checksum_valid"]) for uid, meta in outputs.items() for f in meta["files"]
]
invalid = [[uid, name] for uid, name, ok in files if not ok]
report = {
    "metadata": path.name,
    "version": outputs.version,
    "outputs": len(outputs),
    "files": len(files),
    "invalid_checksums": invalid,
}
print(json.dumps(report))
sys.exit(1 if invalid else 0)
