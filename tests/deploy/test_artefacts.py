"""The deployment artefacts agree with the code: the Kubernetes overlay renders and validates against
the Kubernetes schemas offline, the Compose file parses and hangs together, haproxy takes its config,
and every hookgate command, flag, config file and environment variable they use exists.

No container image can be built or pulled here, so the Dockerfile is read, not built."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from gateway.cli import main
from gateway.config import ENV_PREFIX, Settings
from gateway.config.loader import _apply_env
from tests.conftest import need_service
from tests.packaging.dockerfile import read_image

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAY = DEPLOY / "k8s" / "overlays" / "example"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
KUBERNETES_VERSION = "1.32.0"


def rendered() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        need_service("no kubectl on PATH (its `kubectl kustomize` renders the overlay)")
    assert kubectl is not None
    answer = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)], capture_output=True, text=True, timeout=60, check=False
    )
    assert answer.returncode == 0, answer.stderr
    return [doc for doc in yaml.safe_load_all(answer.stdout) if doc]


def hookgate_args(args: list[str]) -> None:
    """Parse ``hookgate ARGS`` as the CLI would (an unknown command or flag raises), running nothing."""
    ctx = main.make_context("hookgate", list(args), resilient_parsing=False)
    name, command, rest = main.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
    assert command is not None, f"no hookgate command {name!r}"
    command.make_context(str(name), rest, parent=ctx)


def env_names(environment: list[dict[str, str]] | dict[str, str]) -> dict[str, str]:
    if isinstance(environment, dict):
        return environment
    return {item["name"]: item.get("value", "") for item in environment}


def check_environment(variables: dict[str, str]) -> None:
    """Every HOOKGATE_* variable names a setting (the config file variable aside)."""
    hookgate = {k: v for k, v in variables.items() if k.startswith(ENV_PREFIX) and k != "HOOKGATE_CONFIG"}
    _apply_env({}, hookgate)  # raises ConfigError for a variable that matches no setting


def config_file(text: str) -> Settings:
    """A config the artefacts mount, validated as hookgate validates it (files are read later)."""
    return Settings.model_validate(tomllib.loads(text))


# Kubernetes


def test_the_overlay_renders_and_every_object_validates_against_the_kubernetes_schemas() -> None:
    import kubernetes_validate

    objects = rendered()
    kinds = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects)
    for expected in (
        "Deployment/hookgate-gateway",
        "Deployment/hookgate-worker",
        "PodDisruptionBudget/hookgate-gateway",
        "HorizontalPodAutoscaler/hookgate-gateway",
        "Job/hookgate-migrate",
        "Service/hookgate-gateway",
    ):
        assert expected in kinds, kinds
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        assert obj["metadata"].get("namespace") == "hookgate" or obj["kind"] == "Namespace"


def test_the_pods_run_real_commands_with_the_config_and_secrets_they_mount() -> None:
    objects = {f"{o['kind']}/{o['metadata']['name']}": o for o in rendered()}
    config = next(o for name, o in objects.items() if name.startswith("ConfigMap/hookgate-config"))
    settings = config_file(config["data"]["hookgate.toml"])
    secret = next(o for name, o in objects.items() if name.startswith("Secret/hookgate-secrets"))
    for name, obj in objects.items():
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        pod = obj["spec"]["template"]["spec"]
        for container in pod["containers"]:
            hookgate_args(container["args"])
            check_environment(env_names(container.get("env", [])))
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts["/etc/hookgate"] == "config", name
            assert container["image"].startswith("registry.example.com/hookgate:"), name
    # Every *_file the config names is a key of the Secret, mounted where the config looks.
    files = re.findall(r'_file = "/run/secrets/hookgate/([a-z_]+)"', config["data"]["hookgate.toml"])
    assert files and set(files) <= set(secret["data"]), files
    gateway = objects["Deployment/hookgate-gateway"]["spec"]["template"]["spec"]
    probes = gateway["containers"][0]
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["terminationGracePeriodSeconds"] > settings.gateway.shutdown_delay_seconds
    worker = objects["Deployment/hookgate-worker"]["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] >= 60
    annotations = objects["Deployment/hookgate-gateway"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(settings.admin.port) and settings.admin.public_metrics


# Compose


def test_the_compose_stack_hangs_together() -> None:
    stack = yaml.safe_load(COMPOSE.read_text())
    services = stack["services"]
    for name in ("redis-primary", "redis-replica", "sentinel-1", "sentinel-2", "sentinel-3", "postgres",
                 "gateway-1", "gateway-2", "worker-1", "worker-2", "haproxy", "migrate"):  # fmt: skip
        assert name in services, name
    for name, service in services.items():
        if service.get("image") == "hookgate":
            hookgate_args(service["command"])
            check_environment(env_names(service.get("environment", {})))
            for secret in service.get("secrets", []):
                assert secret in stack["secrets"], (name, secret)
        for config in service.get("configs", []):
            source = config["source"] if isinstance(config, dict) else config
            assert (COMPOSE.parent / stack["configs"][source]["file"]).exists(), source
    settings = config_file((COMPOSE.parent / "hookgate.toml").read_text())
    sentinel_hosts = {address.split(":")[0] for address in settings.redis.sentinels}
    assert sentinel_hosts == {"sentinel-1", "sentinel-2", "sentinel-3"} <= set(services)
    config_text = (COMPOSE.parent / "hookgate.toml").read_text()
    secret_files = re.findall(r'_file = "/run/secrets/([a-z_]+)"', config_text)
    assert set(secret_files) <= set(stack["secrets"]), secret_files
    haproxy = (COMPOSE.parent / "haproxy.cfg").read_text()
    assert re.findall(r"server (gateway-\d) ", haproxy) == ["gateway-1", "gateway-2"]


def test_haproxy_takes_the_stack_config(tmp_path: Path) -> None:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        need_service("no haproxy on PATH (Debian: apt-get install haproxy; make test does it as root)")
    assert haproxy is not None
    answer = subprocess.run(
        [haproxy, "-c", "-f", str(DEPLOY / "compose" / "haproxy.cfg")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr


# The image


def test_the_dockerfile_runs_real_commands_as_a_user_with_a_healthcheck() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM ", text, re.MULTILINE)
    assert len(stages) >= 2, "multi-stage"
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    command = json.loads(re.search(r"^CMD (.+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert entrypoint == ["hookgate"]
    hookgate_args(command)
    assert re.search(r"^USER (?!root|0\b)", text, re.MULTILINE), "runs as a user"
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "[dev]" not in text.replace("no [dev] extras", ""), "runtime dependencies only"
    for sources, _ in read_image().copies:
        for path in sources:
            assert (ROOT / path).exists(), path
    variables = dict(re.findall(r"(HOOKGATE_[A-Z_]+)=(\S+)", text))
    check_environment(variables)


def test_the_image_installs_exactly_what_the_lock_pins() -> None:
    """The build stage exports the lock's runtime packages with their hashes and makes their wheels with
    the script the packaged smoke test runs (tests/packaging); the final stage installs those wheels
    alone, checked against those hashes, and hookgate's own wheel without resolving anything more."""
    image = read_image()
    # uv itself is installed hash-checked from one file, by the image and by the Makefile alike.
    pinned = "--require-hashes --requirement requirements-uv.txt"
    assert any(run.startswith("pip install") and pinned in run for run in image.build_runs)
    assert pinned in (ROOT / "Makefile").read_text()
    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", (ROOT / "requirements-uv.txt").read_text())) > 1
    assert image.build_command.endswith(f"sh deploy/build-wheels.sh {image.wheel_dir}")
    copied = {source for sources, _ in image.copies for source in sources}
    assert {"pyproject.toml", "uv.lock", "requirements-uv.txt", "deploy/build-wheels.sh"} <= copied

    script = re.sub(r"\\\n\s*", " ", (DEPLOY / "build-wheels.sh").read_text())
    export = next(line for line in script.splitlines() if '"$uv" export' in line)
    for flag in ("--frozen", "--no-dev", "--format requirements-txt", "--no-emit-project"):
        assert flag in export, flag
    for flag in ("--extra", "--all-extras", "--no-hashes", "--group"):
        assert flag not in export, flag
    wheels = [line for line in script.splitlines() if "pip wheel" in line]
    assert len(wheels) == 2 and "--require-hashes" in wheels[0] and "--no-deps" in wheels[1]

    steps = [step.strip() for run in image.final_runs for step in run.split("&&")]
    installs = [step for step in steps if step.startswith("pip install")]
    assert installs and all("--no-index" in step for step in installs), "no index in the final stage"
    requirements, own = installs
    assert "--require-hashes" in requirements and f"{image.wheel_dir}/requirements.txt" in requirements
    assert "--no-deps" in own and own.endswith(f"{image.wheel_dir}/hookgate-*.whl")


def test_a_wrong_flag_or_variable_in_an_artefact_is_caught() -> None:
    with pytest.raises(click.UsageError):
        hookgate_args(["serve", "--listen", "0.0.0.0"])
    with pytest.raises(click.UsageError):
        hookgate_args(["serv"])
    from gateway.config import ConfigError

    with pytest.raises(ConfigError):
        check_environment({"HOOKGATE_REDIS__SENTINEL": "x"})
