"""Where the bridge keeps things: the repository root and the ``.hyperwords`` home."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root(start: Path | None = None) -> Path | None:
    """The hyperwords checkout this package lives in (the folder with pnpm-workspace.yaml)."""
    here = (start or Path(__file__)).resolve()
    for parent in [here, *here.parents]:
        if (parent / "pnpm-workspace.yaml").is_file():
            return parent
    return None


def hyperwords_home() -> Path:
    """``$HYPERWORDS_HOME``, else ``<repo>/.hyperwords``, else ``./.hyperwords``."""
    env = os.environ.get("HYPERWORDS_HOME")
    if env:
        return Path(env).expanduser().resolve()
    root = repo_root()
    return (root if root is not None else Path.cwd()) / ".hyperwords"


def cache_dir(kind: str) -> Path:
    """A cache folder under the home, e.g. ``cache/wheels`` or ``cache/gguf``."""
    return hyperwords_home() / "cache" / kind
