"""Free disk space: check it before writing gigabytes, and name it when a write ran out.

A full disk rarely fails where it happens. ``onnx.shape_inference`` writes a truncated copy of
the model without raising, and the next ``onnx.load`` reports "Wire format was corrupt". So the
big writers check the space they are about to use first (:func:`require_free`), and turn a
failure on a nearly full disk into a ``disk-full`` error that names the folder
(:func:`disk_full_error`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable

from .events import BridgeError

GB = 1_000_000_000
# Below this a failed write is taken to be the disk's fault.
NEARLY_FULL = 256_000_000


def _existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (a folder about to be made has no device yet)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_bytes(path: Path) -> int:
    """Bytes free for this user on the filesystem that holds (or will hold) ``path``."""
    return shutil.disk_usage(_existing(path)).free


def require_free(what: str, needs: Iterable[tuple[Path, int]]) -> None:
    """Fail with ``disk-full`` unless each filesystem has room for what ``needs`` puts on it.

    ``needs`` pairs a folder with the bytes about to be written there; folders on the same
    filesystem add up.
    """
    by_device: dict[int, tuple[list[Path], int]] = {}
    for path, need in needs:
        dev = os.stat(_existing(path)).st_dev
        folders, total = by_device.get(dev, ([], 0))
        by_device[dev] = ([*folders, Path(path)], total + int(need))
    for folders, need in by_device.values():
        free = free_bytes(folders[0])
        if free < need:
            where = " and ".join(str(f) for f in folders)
            raise BridgeError(
                f"not enough disk space to {what}: about {need / GB:.1f} GB is needed in {where}, "
                f"{free / GB:.1f} GB is free there. Free some space (old runs: `pnpm hyperwords store gc`), "
                "or point TMPDIR or HYPERWORDS_HOME at a larger disk, then run it again.",
                "disk-full",
            )


def disk_full_error(what: str, exc: BaseException, folders: Iterable[Path]) -> BridgeError | None:
    """A ``disk-full`` error for ``exc`` if one of ``folders`` is (nearly) out of space, else ``None``."""
    for folder in folders:
        free = free_bytes(folder)
        if free < NEARLY_FULL:
            return BridgeError(
                f"{what} failed and {folder} has only {free / 1e6:.0f} MB free: the disk most likely ran "
                f"out while writing (the library said: {type(exc).__name__}: {exc}). Free some space, "
                "then run it again.",
                "disk-full",
            )
    return None
