"""The Kubernetes manifests (infra/deploy/k8s), validated offline against the Kubernetes schemas
(kubernetes-validate, strict) and read for what a deployment relies on: probes, limits, locked-down
pods, disruption budgets and autoscalers, an Ingress that routes exactly what the gateway routes,
network policies that leave /internal/ to the worker, placeholder secrets only."""

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "infra" / "deploy" / "k8s"
ROUTES = Path(__file__).resolve().parents[2] / "infra" / "deploy" / "gateway" / "routes.conf"
KUBERNETES_VERSION = "1.30.0"
SERVICES = ["inventory-svc", "payment-svc", "order-svc"]


def documents() -> list[dict]:
    return [
        document
        for path in sorted(K8S.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def named(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


@pytest.mark.parametrize("path", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_each_manifest_is_valid_against_the_kubernetes_schemas(path):
    for document in yaml.safe_load_all((K8S / path).read_text()):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)  # raises on any error


def test_the_kustomization_names_every_manifest():
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def test_every_pod_is_locked_down_and_sized():
    for kind in ("Deployment", "Job"):
        for name, workload in named(kind).items():
            pod = workload["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"], name
            assert pod["automountServiceAccountToken"] is False, name
            for container in pod.get("initContainers", []) + pod["containers"]:
                assert {"requests", "limits"} <= set(container["resources"]), (name, container["name"])
                assert container["securityContext"]["readOnlyRootFilesystem"], (name, container["name"])
                assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], (
                    name,
                    container["name"],
                )


def test_services_are_probed_budgeted_and_autoscaled_like_the_worker():
    deployments, budgets, scalers = (
        named("Deployment"),
        named("PodDisruptionBudget"),
        named("HorizontalPodAutoscaler"),
    )
    for name in SERVICES:
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["args"] == [name.replace("-", "_")]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert budgets[name]["spec"]["minAvailable"] == 1
    for name in [*SERVICES, "worker"]:
        assert scalers[name]["spec"]["scaleTargetRef"]["name"] == name
        assert scalers[name]["spec"]["minReplicas"] >= 2
        assert budgets[name]["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}
    assert deployments["relay"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["relay"]
    job = named("Job")["migrate"]["spec"]["template"]["spec"]
    assert [c["args"] for c in job["initContainers"]] == [
        ["migrate", "inventory_svc"],
        ["migrate", "payment_svc"],
        ["migrate", "order_svc"],
    ]
    assert job["containers"][0]["args"] == ["search-attributes"]


def test_the_ingress_routes_exactly_what_the_gateway_routes():
    api = named("Ingress")["api"]["spec"]["rules"][0]["http"]["paths"]
    ingress = {path["path"]: path["backend"]["service"]["name"] for path in api}
    gateway = dict(
        re.findall(
            r"^location (/api/v1/[\w-]+|/static/drf_spectacular_sidecar)/? \{ proxy_pass http://(\w+);",
            ROUTES.read_text(),
            flags=re.MULTILINE,
        )
    )
    assert {path: service.replace("_", "-") for path, service in gateway.items()} == ingress
    docs = named("Ingress")["api-docs"]["spec"]["rules"][0]["http"]["paths"]
    assert {p["path"]: p["backend"]["service"]["name"] for p in docs} == {
        "/api/docs/(orders)/(.*)": "order-svc",
        "/api/docs/(inventory)/(.*)": "inventory-svc",
        "/api/docs/(payments)/(.*)": "payment-svc",
    }
    every_path = " ".join([*ingress, *(p["path"] for p in docs)])
    assert not any(
        hidden in every_path for hidden in ("/internal", "/admin", "/metrics", "healthz", "readyz")
    )


def test_network_policies_deny_by_default_and_let_only_the_worker_and_the_ingress_reach_the_services():
    policies = named("NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    (rule,) = policies["services"]["spec"]["ingress"]
    sources = [
        source.get("podSelector", source.get("namespaceSelector"))["matchLabels"] for source in rule["from"]
    ]
    assert sources == [
        {"kubernetes.io/metadata.name": "ingress-nginx"},
        {"saga-orders/tier": "worker"},
        {"kubernetes.io/metadata.name": "monitoring"},
    ]
    labels = {
        name: d["spec"]["template"]["metadata"]["labels"]["saga-orders/tier"]
        for name, d in named("Deployment").items()
    }
    assert [name for name, tier in labels.items() if tier == "worker"] == ["worker"]  # no one else wears it


def test_secrets_hold_placeholders_only():
    for name, secret in named("Secret").items():
        for key, value in secret["stringData"].items():
            if key in ("SECRET_KEY", "SAGA_CLIENT_SECRET"):
                assert value == "REPLACE-ME", (name, key)
            elif key == "DATABASE_URL":
                assert ":REPLACE-ME@" in value, name
