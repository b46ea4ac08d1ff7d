"""Installing an npm package pinned by a `package.json` and its `package-lock.json`.

`npm ci` installs exactly the locked versions into a directory under `.upstream/`
(git-ignored), again whenever the pins change; a stamp file holds the digest of
the pins that were installed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
_STAMP: Final = ".installed"
_PINNED_FILES: Final = ("package.json", "package-lock.json")


def missing_tools() -> list[str]:
    """The programs this needs that are not on PATH (node runs the package, npm installs it)."""
    return [tool for tool in ("node", "npm") if shutil.which(tool) is None]


def _pins_digest(pins: Path) -> str:
    digest = hashlib.sha256()
    for name in _PINNED_FILES:
        digest.update((pins / name).read_bytes())
    return digest.hexdigest()


def ensure_installed(pins: Path, cache: Path, entry: Path, what: str) -> float:
    """Install the packages `pins` locks into `cache`, unless they are there already
    (`entry`, a file inside `cache`, exists); the seconds it took (0 when installed)."""
    stamp = cache / _STAMP
    wanted = _pins_digest(pins)
    if stamp.exists() and stamp.read_text() == wanted and entry.exists():
        return 0.0
    started = time.monotonic()
    if cache.exists():
        shutil.rmtree(cache)  # a half-made install from an interrupted run, or older pins
    cache.mkdir(parents=True)
    for name in _PINNED_FILES:
        shutil.copyfile(pins / name, cache / name)
    # The packages ship built scripts: no install scripts need to run.
    done = subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=cache,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm ci of {what} failed:\n{done.stderr[-4000:]}")
    stamp.write_text(wanted)
    return time.monotonic() - started
