"""Where the shared folder is: the benchmark suites and the corpus live outside the repository.

The shared folder sits beside the repository (`<repo>/../shared`), which holds for a clone
at /work/main, for a git worktree at /work/wt-NAME and for CI's clean clone alike. The
`--shared-dir DIR` flag, then the RUFF_SHARED_DIR environment variable, override it.
"""

import argparse
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV_VAR = "RUFF_SHARED_DIR"


def default() -> Path:
    """RUFF_SHARED_DIR if set, else the `shared` folder beside the repository."""
    override = os.environ.get(ENV_VAR)
    return Path(override) if override else REPO.parent / "shared"


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shared-dir", type=Path, default=default(),
                        help=f"the shared folder (default: ${ENV_VAR}, else <repo>/../shared, "
                             f"here {default()})")
