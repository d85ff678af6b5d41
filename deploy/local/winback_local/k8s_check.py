"""``python -m winback_local.k8s_check``: build the Kubernetes manifests and validate every object.

Both overlays of ``deploy/k8s`` go through ``kustomize build`` and then ``kubeconform -strict``
against the Kubernetes API's JSON schemas for a given Kubernetes version. Nothing is fetched from
GitHub at check time (this machine kind reaches only the package registries), so:

- ``kustomize`` and ``kubeconform`` are built with ``go install`` at pinned versions from the Go
  module proxy (checked against the Go checksum database) into ``deploy/k8s/.build/``;
- the Kubernetes schemas come from the ``kubernetes-validate`` wheel (PyPI, a dev dependency),
  which ships them for each minor version; its files point into one shared definitions file by
  an absolute path kubeconform cannot follow, so each kind the manifests use is written out
  standalone (the definitions inlined) first;
- KEDA's ``ScaledObject`` schema is the ``openAPIV3Schema`` of KEDA's own CRD, read from the
  KEDA Go module at a pinned version.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
K8S_DIR = ROOT / "deploy" / "k8s"
BUILD_DIR = K8S_DIR / ".build"
OVERLAYS = ("base", "overlays/production")

TOOLS = {
    "kustomize": "sigs.k8s.io/kustomize/kustomize/v5@v5.7.1",
    "kubeconform": "github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0",
}
"""Binary name → the package ``go install`` builds it from, at its pinned version."""
KEDA_MODULE = "github.com/kedacore/keda/v2@v2.18.1"
KEDA_CRDS = ("keda.sh_scaledobjects.yaml",)

DEFAULT_KUBERNETES_VERSION = "1.33.0"
"""A version both kubernetes-validate ships and KEDA 2.18 supports."""


class CheckError(RuntimeError):
    """What stops the check before any manifest is judged (a tool that would not build)."""


@dataclass(frozen=True)
class Tools:
    kustomize: Path
    kubeconform: Path


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise CheckError("the manifest check needs Go 1.26+ (the `go` command) to build its tools")
    return go


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        command, capture_output=True, text=True, check=False, timeout=600, **kwargs
    )


def install_tools(build_dir: Path = BUILD_DIR) -> Tools:
    """Build the two tools once per pinned version (a new pin builds a new binary)."""
    tools = {}
    for name, package in TOOLS.items():
        binary = build_dir / f"{name}-{package.rsplit('@', 1)[1]}"
        if not binary.exists():
            build_dir.mkdir(parents=True, exist_ok=True)
            staging = build_dir / f"install-{os.getpid()}"
            done = _run(
                [_go(), "install", package],
                env={**os.environ, "GOBIN": str(staging), "GOFLAGS": "-mod=mod"},
            )
            if done.returncode != 0:
                raise CheckError(f"go install {package} failed:\n{done.stderr}")
            (staging / name).replace(binary)
            shutil.rmtree(staging, ignore_errors=True)
        tools[name] = binary
    return Tools(kustomize=tools["kustomize"], kubeconform=tools["kubeconform"])


def kubernetes_schemas() -> Path:
    """The folder of per-version schema folders inside the kubernetes-validate package."""
    return Path(str(resources.files("kubernetes_validate") / "kubernetes-json-schema"))


def schema_file_name(api_version: str, kind: str) -> str:
    """The file kubeconform asks for: ``deployment-apps-v1.json``, ``service-v1.json``."""
    group, _, version = api_version.rpartition("/")
    suffix = f"-{group.split('.')[0]}-{version}" if group else f"-{version}"
    return f"{kind.lower()}{suffix}.json"


def standalone_schemas(manifests: str, kubernetes_version: str, target: Path) -> Path:
    """Write a standalone strict schema for every built-in kind in ``manifests`` to ``target``.

    A kind with no schema in the package (a CRD's) is left for the CRD location to answer.
    """
    source = kubernetes_schemas() / f"v{kubernetes_version}-local-strict"
    if not source.is_dir():
        raise CheckError(f"kubernetes-validate has no schemas for Kubernetes {kubernetes_version}")
    definitions = json.loads((source / "_definitions.json").read_text())
    strict = target / f"v{kubernetes_version}-standalone-strict"
    strict.mkdir(parents=True, exist_ok=True)
    for document in yaml.safe_load_all(manifests):
        if not document:
            continue
        name = schema_file_name(document["apiVersion"], document["kind"])
        if not (source / name).exists() or (strict / name).exists():
            continue
        text = (source / name).read_text().replace('"/api/_definitions.json#/', '"#/')
        schema = json.loads(text)
        schema["$defs"] = definitions["$defs"]
        (strict / name).write_text(json.dumps(schema))
    return target


def crd_schemas(target: Path) -> Path:
    """Write KEDA's CRD schemas as ``<kind>_<version>.json`` files, kubeconform's naming."""
    done = _run([_go(), "mod", "download", "-json", KEDA_MODULE], cwd=target)
    if done.returncode != 0:
        raise CheckError(f"go mod download {KEDA_MODULE} failed:\n{done.stderr}{done.stdout}")
    module_dir = Path(json.loads(done.stdout)["Dir"])
    for crd_file in KEDA_CRDS:
        crd = yaml.safe_load((module_dir / "config" / "crd" / "bases" / crd_file).read_text())
        kind = crd["spec"]["names"]["kind"].lower()
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            (target / f"{kind}_{version['name']}.json").write_text(json.dumps(schema))
    return target


def strict(schema: Any) -> Any:
    """Refuse unknown fields wherever the CRD lists the known ones, as ``-strict`` does for
    built-in kinds (a misspelt ``maxReplicas`` is otherwise silently ignored by the API server
    and by the check alike); fields marked to keep unknown ones are left open."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def build(tools: Tools, overlay: str) -> str:
    """``kustomize build`` of one overlay: the objects as one YAML stream."""
    done = _run([str(tools.kustomize), "build", str(K8S_DIR / overlay)])
    if done.returncode != 0:
        raise CheckError(f"kustomize build {overlay} failed:\n{done.stderr}")
    return done.stdout


def validate(
    tools: Tools, manifests: str, kubernetes_version: str, schema_root: Path, crd_dir: Path
) -> tuple[bool, str]:
    """kubeconform, strict (unknown fields are errors), no kind skipped; (passed, its output)."""
    builtin = "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}"
    builtin += "/{{ .ResourceKind }}{{ .KindSuffix }}.json"
    custom = "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
    command = [str(tools.kubeconform), "-strict", "-summary", "-output", "text"]
    command += ["-kubernetes-version", kubernetes_version]
    command += ["-schema-location", f"{schema_root}/{builtin}"]
    command += ["-schema-location", f"{crd_dir}/{custom}", "-"]
    done = _run(command, input=manifests)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def check(kubernetes_version: str = DEFAULT_KUBERNETES_VERSION) -> list[tuple[str, bool, str]]:
    """Build and validate every overlay; one (overlay, passed, report) per overlay."""
    tools = install_tools()
    crd_dir = BUILD_DIR / "crd-schemas"
    crd_dir.mkdir(parents=True, exist_ok=True)
    crd_schemas(crd_dir)
    schema_root = BUILD_DIR / "k8s-schemas"
    results = []
    for overlay in OVERLAYS:
        manifests = build(tools, overlay)
        standalone_schemas(manifests, kubernetes_version, schema_root)
        passed, report = validate(tools, manifests, kubernetes_version, schema_root, crd_dir)
        results.append((overlay, passed, report))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m winback_local.k8s_check", description=__doc__)
    parser.add_argument("--kubernetes-version", default=DEFAULT_KUBERNETES_VERSION)
    args = parser.parse_args(argv)
    try:
        results = check(args.kubernetes_version)
    except CheckError as error:
        print(f"k8s_check: {error}", file=sys.stderr)
        return 2
    for overlay, passed, report in results:
        print(f"{overlay}: {'valid' if passed else 'INVALID'}\n{report}\n")
    return 0 if all(passed for _, passed, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
