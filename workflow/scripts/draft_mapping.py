"""Draft a mapping of one extract onto one canonical table (the mapping assistant).

    python workflow/scripts/draft_mapping.py --table crown_defendant_cases path/to/extract

Offline and without Snakemake; see README.md ("Drafting a mapping") and socflow/assist/.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from socflow.assist.cli import main

if __name__ == "__main__":
    sys.exit(main())
