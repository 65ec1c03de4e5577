"""Install hedgebot as a user or the image does, without the network and in seconds.

A fresh virtualenv (``python -m venv --without-pip``) gets its third-party packages by hard links
(copies across file systems) of the files that pip installed into the project's own ``.venv``,
package by package from each ``.dist-info/RECORD``: the same files a ``pip install`` of the same
versions would write, without downloading anything. The hedgebot wheel is then built from a copy of
the sources (``pip wheel --no-deps --no-build-isolation``: the build backend is ``.venv``'s, which
must satisfy ``[build-system] requires``) and installed with ``pip install --no-deps --no-index``,
so the checkout itself is never on the new environment's path.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Iterable, Mapping
from email.parser import HeaderParser
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers import REPO

PYTHON_TAG = f"python{sys.version_info.major}.{sys.version_info.minor}"
DEV_SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])  # the running .venv's


class InstallError(AssertionError):
    pass


def run(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; :class:`InstallError` with its output if it fails."""
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise InstallError(
            f"{' '.join(argv)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


def base_python() -> Path:
    """The interpreter ``.venv`` was made from (what ``python -m venv`` would use)."""
    return Path(sys.base_prefix) / "bin" / PYTHON_TAG


def site_packages(venv: Path) -> Path:
    return venv / "lib" / PYTHON_TAG / "site-packages"


def make_venv(venv: Path, python: Path) -> Path:
    """An empty virtualenv (no pip: :func:`link_distributions` brings ``.venv``'s)."""
    run([str(python), "-m", "venv", "--without-pip", str(venv)])
    return venv


def dev_distributions() -> dict[str, metadata.Distribution]:
    """The distributions installed in ``.venv``, by canonical name (hedgebot itself left out)."""
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions(path=[str(DEV_SITE_PACKAGES)]):
        name = canonicalize_name(dist.metadata["Name"])
        if name != "hedgebot":
            found.setdefault(name, dist)
    return found


def link_distributions(venv: Path, names: Iterable[str]) -> None:
    """Give ``venv`` the files of these ``.venv`` distributions (those under site-packages)."""
    available = dev_distributions()
    target = site_packages(venv)
    for name in sorted({canonicalize_name(n) for n in names}):
        dist = available.get(name)
        if dist is None:
            raise InstallError(f"{name} is needed but not installed in {DEV_SITE_PACKAGES}")
        for entry in dist.files or []:
            if entry.parts[0] == "..":  # console scripts and the like, outside site-packages
                continue
            source = DEV_SITE_PACKAGES / entry
            if not source.is_file():
                continue
            destination = target / entry
            destination.parent.mkdir(parents=True, exist_ok=True)
            if not destination.exists():
                _link_or_copy(source, destination)


def _link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def requirement_closure(requirements: Iterable[str]) -> set[str]:
    """What ``pip install`` would add for ``requirements``: their dependencies, recursively,
    as installed in ``.venv`` (markers evaluated here, extras followed)."""
    available = dev_distributions()
    needed: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(Requirement(text), frozenset[str]()) for text in requirements]
    while todo:
        requirement, parent_extras = todo.pop()
        if requirement.marker is not None and not any(
            requirement.marker.evaluate({"extra": extra}) for extra in parent_extras or {""}
        ):
            continue
        name = canonicalize_name(requirement.name)
        extras = frozenset(requirement.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        needed.add(name)
        dist = available.get(name)
        if dist is None:
            raise InstallError(f"{requirement} is required but not installed in .venv")
        todo.extend((Requirement(text), extras) for text in dist.requires or [])
    return needed


def locked_names(lock: Path) -> list[str]:
    """The package names pinned in a pip-compile lock file."""
    return re.findall(r"(?m)^([A-Za-z0-9][A-Za-z0-9._-]*)==", lock.read_text())


def wheel_requirements(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel, as built."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        headers = HeaderParser().parsestr(archive.read(name).decode())
    return headers.get_all("Requires-Dist") or []


def check_build_backend() -> None:
    """``.venv`` can build offline only with the backend ``pyproject.toml`` asks for."""
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    for text in requires:
        requirement = Requirement(text)
        installed = dev_distributions().get(canonicalize_name(requirement.name))
        version = installed.version if installed else None
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            raise InstallError(
                f"build-system requires {text}; .venv has {version}: "
                "pip install -e '.[dev]' installs it"
            )


def source_tree(destination: Path) -> Path:
    """A copy of the checkout's files as git sees them (tracked or new, not ignored)."""
    listed = run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    ).stdout
    for relative in filter(None, listed.split("\0")):
        source = REPO / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def pip_wheel(args: list[str], cwd: Path) -> None:
    """``pip wheel ARGS`` with ``.venv``'s build backend and no index (see the module doc)."""
    check_build_backend()
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-index", *args], cwd=cwd
    )


def venv_pip(venv: Path, args: list[str], cwd: Path | None = None) -> None:
    """``pip ARGS`` run by the virtualenv's own interpreter (it installs there), offline."""
    extra = ["--no-index"] if args[:1] == ["install"] else []
    run([str(venv / "bin" / "python"), "-m", "pip", *args[:1], *extra, *args[1:]], cwd=cwd)
