"""Read the Dockerfile, and replay its stages in a directory standing for the image's ``/``.

No Docker engine runs on the test machines, so ``tests/deploy/test_image.py`` builds the image's
file system itself, step by step from the Dockerfile (so that a change to the Dockerfile changes
what is tested), under a directory ``root``: the image's ``/opt/hedgebot`` is ``root/opt/hedgebot``.
What it cannot do the way Docker does, it does the nearest offline way, and says so:

* ``apt-get`` steps are skipped (system packages; the static tests keep them out of the runtime
  stage);
* ``python -m venv DIR`` uses an interpreter the runtime user can run, without pip: pip, like
  every other package, comes from ``.venv`` (``tests/deploy/venvs.py``);
* ``pip install --require-hashes -r LOCK`` installs the distributions the lock names, by name,
  from ``.venv`` (no download; versions are ``.venv``'s, which CI resolves afresh);
* ``pip wheel`` builds with ``.venv``'s build backend (``--no-build-isolation --no-index``), and
  ``pip install`` of the wheel and ``pip check`` run as written, offline;
* the runtime stage starts from an empty ``root`` holding only what it copies from the build
  stage (``COPY --from``, same path: a virtualenv cannot move), from the build context, and what
  its own ``RUN`` steps make (``useradd`` is not run: the runtime user is an existing one).

Any other step fails the replay: teach this module the new step rather than skip it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tests.deploy import venvs

# What python:3.11-slim sets before the Dockerfile's own ENV.
BASE_IMAGE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
}


class ReplayError(AssertionError):
    pass


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    flags: dict[str, str]  # --from=build -> {"from": "build"}
    args: str  # the rest of the line, continuations joined

    def exec_form(self) -> list[str]:
        """``["a", "b"]`` (JSON) as a list; the shell form is not supported here."""
        value = json.loads(self.args)
        if not isinstance(value, list):
            raise ReplayError(f"{self.keyword} {self.args}: expected the exec (JSON) form")
        return [str(item) for item in value]


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        if not found:
            raise ReplayError(f"stage {self.name or self.base} has no {keyword}")
        return found[-1]


def parse(text: str) -> list[Stage]:
    """The Dockerfile's stages (comments dropped, ``\\`` continuations joined)."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        raise ReplayError("the Dockerfile ends inside a continued line")
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        flags: dict[str, str] = {}
        rest = rest.strip()
        while rest.startswith("--") and keyword.upper() in ("COPY", "ADD", "RUN", "HEALTHCHECK"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = value
            rest = rest.strip()
        instruction = Instruction(keyword.upper(), flags, rest)
        if instruction.keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name, []))
        elif not stages:
            raise ReplayError(f"{line!r} before the first FROM")
        else:
            stages[-1].instructions.append(instruction)
    return stages


def dockerignore_patterns(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def ignored(relative: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins; ``!`` re-includes; a pattern
    matching a directory excludes everything under it (character classes are not supported)."""
    parts = PurePosixPath(relative).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        body = str(PurePosixPath(pattern.lstrip("!").strip("/")))
        regex = _pattern_regex(body)
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            verdict = not keep
    return verdict


@dataclass
class Filesystem:
    """An image's file system under ``root``; ``cwd`` is the current WORKDIR."""

    root: Path
    cwd: PurePosixPath = field(default_factory=lambda: PurePosixPath("/"))
    env: dict[str, str] = field(default_factory=lambda: dict(BASE_IMAGE_ENV))

    def host(self, path: str | PurePosixPath) -> Path:
        absolute = self.cwd / path  # an absolute path replaces cwd
        return self.root / str(absolute).lstrip("/")

    def host_arg(self, arg: str) -> str:
        """An argument with its absolute image paths (also ``--opt=/path``) moved under root."""
        if arg.startswith("/"):
            return str(self.host(arg))
        option, sep, value = arg.partition("=")
        if sep and option.startswith("-") and value.startswith("/"):
            return f"{option}={self.host(value)}"
        return arg

    def workdir(self, path: str) -> None:
        self.cwd = self.cwd / path
        self.host(self.cwd).mkdir(parents=True, exist_ok=True)

    def set_env(self, args: str) -> None:
        for item in shlex.split(args):
            name, sep, value = item.partition("=")
            if not sep:
                raise ReplayError(f"ENV {args}: only the NAME=value form is supported")
            self.env[name] = re.sub(r"\$\{?(\w+)\}?", lambda m: self.env.get(m.group(1), ""), value)

    def copy_from_context(
        self, context: Path, args: str, owner: tuple[int, int] | None = None
    ) -> None:
        *sources, destination = shlex.split(args)
        patterns = dockerignore_patterns(context)
        into_directory = destination.endswith("/") or len(sources) > 1
        target = self.host(destination)
        for source in sources:
            if any(c in source for c in "*?["):
                raise ReplayError(f"COPY {args}: wildcards are not supported here")
            relative = str(PurePosixPath(source))
            origin = context / relative
            if ignored(relative, patterns) or not origin.exists():
                raise ReplayError(f"COPY {args}: {source} is not in the build context")
            if origin.is_dir():
                self._copy_tree(origin, target, context, patterns, owner)
            else:
                file_target = target / origin.name if into_directory else target
                self._copy_file(origin, file_target, owner)

    def _copy_tree(
        self,
        origin: Path,
        target: Path,
        context: Path,
        patterns: list[str],
        owner: tuple[int, int] | None,
    ) -> None:
        for path in sorted(origin.rglob("*")):
            relative = path.relative_to(context).as_posix()
            if ignored(relative, patterns) or path.is_dir():
                continue
            self._copy_file(path, target / path.relative_to(origin), owner)

    def _copy_file(self, origin: Path, target: Path, owner: tuple[int, int] | None) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, target)
        if owner is not None:
            os.chown(target, *owner)


@dataclass
class BuildReplay:
    """Replays a build stage; remembers the virtualenvs it made."""

    fs: Filesystem
    context: Path
    python: Path  # the interpreter standing for the image's
    steps: list[str] = field(default_factory=list)  # what was done, for the test's messages
    venvs: set[Path] = field(default_factory=set)

    def stage(self, stage: Stage) -> None:
        for instruction in stage.instructions:
            if instruction.keyword == "WORKDIR":
                self.fs.workdir(instruction.args)
            elif instruction.keyword == "COPY":
                if "from" in instruction.flags:
                    raise ReplayError("COPY --from in a build stage is not supported here")
                self.fs.copy_from_context(self.context, instruction.args)
            elif instruction.keyword == "ENV":
                self.fs.set_env(instruction.args)
            elif instruction.keyword == "RUN":
                self.run(instruction.args)
            else:
                raise ReplayError(f"{instruction.keyword} in a build stage is not supported here")

    def run(self, script: str) -> None:
        if re.search(r"\bapt-get\b", script):
            self.steps.append(f"skipped (system packages): {script}")
            return
        for command in re.split(r"\s*&&\s*", script):
            self.command(shlex.split(command))

    def command(self, argv: list[str]) -> None:
        if argv[:3] == ["python", "-m", "venv"] and len(argv) == 4:
            venv = self.fs.host(argv[3])
            venvs.make_venv(venv, self.python)
            venvs.link_distributions(venv, ["pip"])  # what ensurepip would have put there
            self.venvs.add(venv)
            self.steps.append(f"venv {argv[3]}")
            return
        venv = self._venv_of(argv[0])
        if venv is None or len(argv) < 2:
            raise ReplayError(f"build step not supported here: {shlex.join(argv)}")
        verb, options = argv[1], argv[2:]
        if verb == "install" and "-r" in options:
            lock = self.fs.host(options[options.index("-r") + 1])
            if "--require-hashes" not in options:
                raise ReplayError(f"{shlex.join(argv)}: the lock must be installed with hashes")
            names = venvs.locked_names(lock)
            if not names:
                raise ReplayError(f"{lock} pins nothing")
            venvs.link_distributions(venv, names)
            self.steps.append(f"locked dependencies from .venv: {len(names)} distributions")
        elif verb == "install":
            venvs.venv_pip(venv, ["install", *self._paths(options)], cwd=self.fs.host(self.fs.cwd))
            self.steps.append(shlex.join(argv))
        elif verb == "wheel":
            venvs.pip_wheel(self._paths(options), cwd=self.fs.host(self.fs.cwd))
            self.steps.append(shlex.join(argv))
        elif verb == "check":
            venvs.venv_pip(venv, ["check"])
            self.steps.append(shlex.join(argv))
        else:
            raise ReplayError(f"build step not supported here: {shlex.join(argv)}")

    def _venv_of(self, program: str) -> Path | None:
        path = self.fs.host(program)
        if path.name == "pip" and path.parent.name == "bin" and path.parent.parent in self.venvs:
            return path.parent.parent
        return None

    def _paths(self, options: list[str]) -> list[str]:
        out: list[str] = []
        for option in options:
            mapped = self.fs.host_arg(option)
            if any(c in mapped for c in "*?["):
                matches = sorted(Path("/").glob(mapped.lstrip("/")))
                if len(matches) != 1:
                    raise ReplayError(f"{option} matches {len(matches)} files, not one")
                mapped = str(matches[0])
            out.append(mapped)
        return out


@dataclass
class Runtime:
    """What the runtime stage leaves: how the container starts, as which user, where."""

    fs: Filesystem
    user: str | None = None
    home: str | None = None
    created_users: set[str] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)  # non-root owners given to files or dirs
    argv: list[str] = field(default_factory=list)  # ENTRYPOINT + CMD
    healthcheck: list[str] = field(default_factory=list)
    exposed: list[int] = field(default_factory=list)

    def process_env(self) -> dict[str, str]:
        """The container's environment with image paths moved under root (PATH entries that
        exist only in the image's base system stay as they are: the host's stand in for them)."""
        env: dict[str, str] = {}
        for name, value in self.fs.env.items():
            if name == "PATH":
                entries = [
                    str(self.fs.host(e)) if self.fs.host(e).exists() else e
                    for e in value.split(":")
                ]
                env[name] = ":".join(entries)
            else:
                env[name] = str(self.fs.host(value)) if value.startswith("/") else value
        if self.home is not None:
            env["HOME"] = str(self.fs.host(self.home))  # Docker sets it from /etc/passwd
        return env

    def resolve(self, argv: list[str]) -> list[str]:
        """``argv`` with the program found on the container's PATH and image paths moved."""
        program = argv[0]
        if "/" not in program:
            for entry in self.process_env()["PATH"].split(":"):
                candidate = Path(entry) / program
                if candidate.is_file():
                    program = str(candidate)
                    break
            else:
                raise ReplayError(f"{argv[0]} is not on the image's PATH")
        else:
            program = str(self.fs.host(program))
        return [program, *(self.fs.host_arg(a) for a in argv[1:])]


def replay_runtime(
    stage: Stage, fs: Filesystem, build_root: Path, context: Path, uid: int, gid: int
) -> Runtime:
    """Replay the runtime stage into ``fs`` (empty), files of its non-root user owned by uid."""
    runtime = Runtime(fs)
    entrypoint: list[str] = []
    cmd: list[str] = []
    for instruction in stage.instructions:
        keyword = instruction.keyword
        if keyword == "RUN":
            for command in re.split(r"\s*&&\s*", instruction.args):
                _runtime_command(runtime, shlex.split(command), uid, gid)
        elif keyword == "COPY" and "from" in instruction.flags:
            source, destination = shlex.split(instruction.args)
            if source != destination:
                raise ReplayError(f"COPY --from {source} {destination}: a virtualenv cannot move")
            shutil.copytree(
                build_root / source.lstrip("/"),
                fs.host(destination),
                symlinks=True,
                copy_function=_link_or_copy,
            )
        elif keyword == "COPY":
            owner = None
            if "chown" in instruction.flags:
                runtime.owners.add(instruction.flags["chown"].split(":")[0])
                owner = (uid, gid)
            fs.copy_from_context(context, instruction.args, owner)
        elif keyword == "ENV":
            fs.set_env(instruction.args)
        elif keyword == "WORKDIR":
            fs.workdir(instruction.args)
        elif keyword == "USER":
            runtime.user = instruction.args.split(":")[0]
        elif keyword == "EXPOSE":
            runtime.exposed += [int(port.split("/")[0]) for port in instruction.args.split()]
        elif keyword == "HEALTHCHECK":
            _, _, command = instruction.args.partition("CMD ")
            runtime.healthcheck = json.loads(command)
        elif keyword == "ENTRYPOINT":
            entrypoint = instruction.exec_form()
        elif keyword == "CMD":
            cmd = instruction.exec_form()
        else:
            raise ReplayError(f"{keyword} in the runtime stage is not supported here")
    runtime.argv = entrypoint + cmd
    return runtime


def _link_or_copy(source: str, destination: str) -> None:
    try:
        Path(destination).hardlink_to(source)
    except OSError:
        shutil.copy2(source, destination)


def _runtime_command(runtime: Runtime, argv: list[str], uid: int, gid: int) -> None:
    if argv[0] == "useradd":
        runtime.created_users.add(argv[-1])
        if "--home-dir" in argv:
            runtime.home = argv[argv.index("--home-dir") + 1]
        return  # not run: the test's runtime user stands for it
    if argv[0] == "install" and "-d" in argv:
        owner, directories, i = None, [], 1
        while i < len(argv):
            if argv[i] in ("-o", "-g", "-m"):
                owner = argv[i + 1] if argv[i] == "-o" else owner
                i += 2
            elif argv[i] == "-d":
                i += 1
            else:
                directories.append(argv[i])
                i += 1
        for directory in directories:
            path = runtime.fs.host(directory)
            path.mkdir(parents=True, exist_ok=True)
            if owner not in (None, "root", "0"):
                runtime.owners.add(owner)
                shutil.chown(path, uid, gid)
        return
    raise ReplayError(f"runtime step not supported here: {shlex.join(argv)}")
