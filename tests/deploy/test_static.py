"""Static checks of the Docker image and compose file (no Docker engine runs on test machines).

The manual check on a machine with Docker is in the README ("Run it as a service").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((REPO / "docker-compose.yml").read_text())
    return data


def stages(dockerfile: str) -> list[str]:
    """The Dockerfile split into its build stages (each starts with FROM)."""
    parts = re.split(r"(?m)^FROM\s", dockerfile)
    return ["FROM " + part for part in parts[1:]]


def test_three_services_with_healthchecks_and_restart(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"hedgebot", "postgres", "mosquitto"}
    for name, service in services.items():
        assert service.get("restart") == "unless-stopped", name
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert check["test"], name


def test_bot_waits_for_healthy_dependencies(compose: dict[str, Any]) -> None:
    depends = compose["services"]["hedgebot"]["depends_on"]
    assert depends == {
        "postgres": {"condition": "service_healthy"},
        "mosquitto": {"condition": "service_healthy"},
    }


def test_data_on_named_volumes(compose: dict[str, Any]) -> None:
    named = set(compose["volumes"])
    pg_volumes = compose["services"]["postgres"]["volumes"]
    broker_volumes = compose["services"]["mosquitto"]["volumes"]
    assert any(v.split(":")[0] in named and "/var/lib/postgresql/data" in v for v in pg_volumes)
    assert any(v.split(":")[0] in named and "/mosquitto/data" in v for v in broker_volumes)


def test_http_port_bound_to_loopback_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), f"{name} publishes {mapping} publicly"
    assert compose["services"]["hedgebot"]["ports"] == ["127.0.0.1:8080:8080"]


def test_secrets_come_from_a_git_ignored_env_file(compose: dict[str, Any]) -> None:
    assert compose["services"]["hedgebot"]["env_file"] == ".env"
    ignored = (REPO / ".gitignore").read_text().split()
    assert ".env" in ignored
    example = (REPO / ".env.example").read_text()
    for variable in (
        "HEDGEBOT_API_KEY",
        "HEDGEBOT_API_SECRET",
        "POSTGRES_PASSWORD",
        "HEDGEBOT_MQTT_PASSWORD",
    ):
        assert re.search(rf"(?m)^{variable}=", example), variable
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or "SECRET" in key or "KEY" in key:
                assert str(value).startswith("${"), f"{name}.{key} is a literal, not from .env"
            if "://" in str(value) and "@" in str(value):
                credentials = str(value).split("://", 1)[1].split("@", 1)[0]
                assert ":" not in credentials or "${" in credentials, f"{name}.{key}"


def test_config_is_mounted_read_only_not_baked(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["hedgebot"]["volumes"]
    assert any(v.endswith(":/config/hedgebot.yaml:ro") for v in volumes)
    dockerfile = (REPO / "Dockerfile").read_text()
    assert not re.search(r"(?m)^COPY\s+.*\bconfig\b", dockerfile)
    assert not re.search(r"(?m)^COPY\s+.*\.env", dockerfile)


def test_dockerfile_is_multistage_non_root_without_build_tools() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    build, final = stages(dockerfile)[0], stages(dockerfile)[-1]
    assert len(stages(dockerfile)) >= 2
    assert "gcc" in build
    assert "gcc" not in final
    assert "apt-get install" not in final
    users = re.findall(r"(?m)^USER\s+(\S+)", final)
    assert users, "the final stage must switch to a non-root user"
    assert users[-1] not in ("root", "0")
    assert "HEALTHCHECK" in final


def test_broker_requires_authentication() -> None:
    conf = (REPO / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    settings = dict(
        line.split(None, 1)
        for line in conf.splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert settings["allow_anonymous"].strip() == "false"
    assert settings["password_file"].strip()
