"""Unpack a deployment zip the way Lambda lays it out in /var/task.

Running the *built zip* (not the source tree) is what catches a module missing from the
package, a dependency not bundled, or a file that only exists on the developer's machine.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath


class ZipLayoutError(ValueError):
    """The zip is unsafe or unusable as a deployment package."""


def extract(zip_path: Path, destination: Path) -> Path:
    """Extract ``zip_path`` into ``destination`` (created); returns ``destination``.

    Entries with absolute paths or ``..`` are refused rather than silently written elsewhere.
    """
    if not zip_path.is_file():
        raise ZipLayoutError(f"{zip_path} does not exist: build it first (`make package`)")
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise ZipLayoutError(f"{zip_path}: unsafe entry {info.filename!r}")
            archive.extractall(destination)
    except zipfile.BadZipFile as error:
        raise ZipLayoutError(f"{zip_path} is not a zip file: {error}") from error
    return destination


def handler_module_present(code_dir: Path, handler: str) -> bool:
    """Whether ``module.path.function``'s module file exists in the extracted code."""
    module, _, _ = handler.rpartition(".")
    relative = Path(*module.split("."))
    return (code_dir / relative.with_suffix(".py")).is_file() or (
        code_dir / relative / "__init__.py"
    ).is_file()
