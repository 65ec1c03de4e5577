"""The Docker image, built and started without Docker (none runs on the test machines).

``tests/deploy/dockerfile.py`` replays the Dockerfile's stages under a temporary directory
standing for the image's ``/`` (what it does instead of each step is written there); then the
container's command (ENTRYPOINT + CMD) starts from its WORKDIR with its ENV, as a non-root user,
with the config where the compose file mounts it. The daemon must answer ``/healthz``, pass the
image's own HEALTHCHECK command and exit 0 on SIGTERM.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy import dockerfile, venvs
from tests.helpers import REPO


class User:
    """Who runs the container: ``nobody`` through setpriv when the tests run as root."""

    def __init__(self) -> None:
        if os.getuid() != 0:
            self.uid, self.gid, self.prefix = os.getuid(), os.getgid(), []
            return
        setpriv = shutil.which("setpriv")
        assert setpriv, "running as root, and setpriv (util-linux) is needed to drop to nobody"
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        # setpriv looks the program up while it still holds root's capabilities; env, already
        # nobody with none, looks it up again as the container would.
        self.prefix = [
            setpriv,
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--",
            "/usr/bin/env",
        ]


def image_python(user: User) -> Path:
    """A Python of this minor version that the runtime user can run, with its own standard
    library and no capabilities (``.venv``'s base interpreter may sit where only root can go)."""
    probe = (
        "import os, sys, asyncio; cap = [l for l in open('/proc/self/status') if 'CapEff' in l]; "
        "own = os.path.realpath(asyncio.__file__).startswith(os.path.realpath(sys.base_prefix)); "
        "print(sys.version_info[:2], os.getuid(), int(cap[0].split()[1], 16), own)"
    )
    expected = f"{tuple(sys.version_info[:2])} {user.uid} 0 True"
    tried: list[str] = []
    candidates = [
        venvs.base_python(),
        shutil.which(venvs.PYTHON_TAG),
        f"/usr/bin/{venvs.PYTHON_TAG}",
    ]
    for candidate in dict.fromkeys(c for c in candidates if c):
        result = subprocess.run(
            [*user.prefix, str(candidate), "-c", probe],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if result.returncode == 0 and result.stdout.strip() == expected:
            return Path(candidate)
        tried.append(f"{candidate}: {result.stdout.strip() or result.stderr.strip()[-200:]}")
    pytest.fail(f"no {venvs.PYTHON_TAG} the runtime user can run: {tried}", pytrace=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (127.0.0.1)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def image_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: it sits under a directory only root may enter.
    base = Path(tempfile.mkdtemp(prefix="hedgebot-image-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base)


def wait_healthy(url: str, process: subprocess.Popen[str], deadline_s: float) -> int:
    deadline = time.monotonic() + deadline_s
    status = 0
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status = get_status(url)
            if status == 200:
                return status
        except OSError:
            pass
        time.sleep(0.2)
    return status


def test_the_image_starts_as_non_root_answers_healthz_and_stops_on_sigterm(
    image_dir: Path,
) -> None:
    user = User()
    stages = dockerfile.parse((REPO / "Dockerfile").read_text())
    runtime_stage = stages[-1]
    (from_build,) = {i.flags["from"] for i in runtime_stage.all("COPY") if "from" in i.flags}
    (build_stage,) = [s for s in stages if s.name == from_build]

    root = image_dir / "root"
    root.mkdir(mode=0o755)
    build = dockerfile.BuildReplay(dockerfile.Filesystem(root), REPO, image_python(user))
    build.stage(build_stage)
    assert any(step.startswith("locked dependencies") for step in build.steps), build.steps

    build_root = root.rename(image_dir / "build-root")
    root = image_dir / "root"
    root.mkdir(mode=0o755)
    fs = dockerfile.Filesystem(root)
    runtime = dockerfile.replay_runtime(runtime_stage, fs, build_root, REPO, user.uid, user.gid)
    assert runtime.user, "the runtime stage must switch to a user"
    assert runtime.user not in ("root", "0")
    assert runtime.created_users == {runtime.user}
    assert runtime.owners <= {runtime.user}

    port = free_port()
    (exposed,) = runtime.exposed
    argv = runtime.argv
    config_in_image = argv[argv.index("--config") + 1]
    config = fs.host(config_in_image)
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        textwrap.dedent(
            f"""
            exchange:
              id: sim
              sim:
                prices: {{BTC: 60000, ETH: 3000}}
                balances: {{spot: {{BTC: 0.5, ETH: 4}}, margin: {{BTC: 0.1, ETH: 1}}}}
            rules:
              - {{asset: BTC, ratio: 1}}
              - {{asset: ETH, ratio: 0.5}}
            schedule: {{interval_seconds: 0.5}}
            http: {{enabled: true, host: 127.0.0.1, port: {port}}}
            logging: {{format: json}}
            """
        )
    )
    config.chmod(0o444)  # mounted read-only

    workdir = fs.host(fs.cwd)
    env = runtime.process_env()
    process = subprocess.Popen(
        [*user.prefix, *runtime.resolve(argv)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = wait_healthy(f"http://127.0.0.1:{port}/healthz", process, deadline_s=60)
        if status != 200:
            process.kill()
            _out, err = process.communicate(timeout=30)
            pytest.fail(
                f"/healthz answered {status}; the daemon exited {process.returncode}:\n"
                f"{err[-3000:]}",
                pytrace=False,
            )
        healthcheck = [arg.replace(f":{exposed}/", f":{port}/") for arg in runtime.healthcheck]
        assert healthcheck != runtime.healthcheck, "the HEALTHCHECK must probe the EXPOSEd port"
        probe = subprocess.run(
            [*user.prefix, *runtime.resolve(healthcheck)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert probe.returncode == 0, probe.stderr[-2000:]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            _out, err = process.communicate(timeout=45)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err[-3000:]
    database = workdir / "hedgebot.sqlite"  # the default database URL, relative to WORKDIR
    assert database.is_file(), sorted(p.name for p in workdir.iterdir())
    assert database.stat().st_uid == user.uid


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("bot/store/db.py", False),
        ("migrations/env.py", False),
        ("migrations/versions/0001_initial.py", False),
        ("requirements.lock", False),
        ("bot/store/__pycache__/db.cpython-311.pyc", True),
        ("tests/deploy/test_image.py", True),
        ("var/demo.sqlite", True),
        (".venv/bin/python", True),
    ],
)
def test_the_build_context_keeps_what_the_image_needs(path: str, excluded: bool) -> None:
    patterns = dockerfile.dockerignore_patterns(REPO)
    assert dockerfile.ignored(path, patterns) is excluded


def test_a_build_step_the_replay_does_not_know_fails_it(tmp_path: Path) -> None:
    (stage,) = dockerfile.parse(
        "FROM python:3.11-slim AS build\n"
        "# a comment\n"
        "RUN python -m venv /opt/v \\\n"
        "    && curl -sSf https://example.invalid/install.sh | sh\n"
    )
    replay = dockerfile.BuildReplay(dockerfile.Filesystem(tmp_path), REPO, venvs.base_python())
    with pytest.raises(dockerfile.ReplayError, match="build step not supported here: curl"):
        replay.stage(stage)
    assert replay.steps == ["venv /opt/v"]
