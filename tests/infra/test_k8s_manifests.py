"""The Kubernetes manifests (infra/deploy/k8s), validated offline against the Kubernetes schemas
(kubernetes-validate, strict) and read for what a deployment relies on: probes, limits, locked-down
pods, disruption budgets and autoscalers, each service's publisher or notifier beside it sharing its
metrics folder, every setting production requires, an Ingress that routes exactly what the gateway
routes, network policies that leave /internal/ to the worker, placeholder secrets only. The roles the
containers run are checked against the image's entrypoint in test_deployment_files."""

import re
from pathlib import Path, PurePosixPath

import kubernetes_validate
import pytest
import yaml

from chassis.settings import PRODUCTION_REQUIRED

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "deploy" / "k8s"
ROUTES = ROOT / "infra" / "deploy" / "gateway" / "routes.conf"
KUBERNETES_VERSION = "1.30.0"
SERVICES = ["inventory-svc", "payment-svc", "order-svc", "notification-svc"]
# The second container of each service's pod: its event publisher, or notification_svc's notifier.
SIDECARS = {
    "inventory-svc": ("publisher", ["publisher", "inventory_svc"]),
    "payment-svc": ("publisher", ["publisher", "payment_svc"]),
    "order-svc": ("publisher", ["publisher", "order_svc"]),
    "notification-svc": ("notifier", ["notifier"]),
}
# Roles of the image that are not Django processes, so need none of a service's settings.
NOT_DJANGO = [["worker"], ["search-attributes"]]
# Roles that run with notification_svc's settings, which in production also require an SMTP server.
NOTIFICATION_ROLES = [["notification_svc"], ["notifier"], ["migrate", "notification_svc"], ["declare-broker"]]


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


def pods() -> dict[str, dict]:
    """The pod spec of every Deployment and Job, by workload name."""
    return {
        name: workload["spec"]["template"]["spec"]
        for kind in ("Deployment", "Job")
        for name, workload in named(kind).items()
    }


def settings_of(container: dict) -> set[str]:
    """The names of the variables a container is given, by `env` or by whole ConfigMaps and Secrets."""
    config_maps, secrets = named("ConfigMap"), named("Secret")
    names = {variable["name"] for variable in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= set(config_maps[source["configMapRef"]["name"]]["data"])
        else:
            names |= set(secrets[source["secretRef"]["name"]]["stringData"])
    return names


def multiproc_folder() -> PurePosixPath:
    """PROMETHEUS_MULTIPROC_DIR as the image sets it."""
    (folder,) = re.findall(r"PROMETHEUS_MULTIPROC_DIR=(\S+)", (ROOT / "Dockerfile").read_text())
    return PurePosixPath(folder)


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
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["name"] == name
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
        ["migrate", "notification_svc"],
    ]
    assert [c["args"] for c in job["containers"]] == [["search-attributes"], ["declare-broker"]]


def test_each_service_runs_its_publisher_or_notifier_beside_it_sharing_its_metrics_folder():
    deployments = named("Deployment")
    for name, (sidecar_name, args) in SIDECARS.items():
        pod = deployments[name]["spec"]["template"]["spec"]
        service, sidecar = pod["containers"]
        assert (sidecar["name"], sidecar["args"]) == (sidecar_name, args)
        # The same settings (database, broker, secret key) as the service it serves.
        assert (sidecar["env"], sidecar["envFrom"]) == (service["env"], service["envFrom"])
        assert not {"ports", "readinessProbe", "livenessProbe"} & set(sidecar)  # it serves nothing
        # Both mount the same emptyDir at the metrics folder's parent: gunicorn removes and makes the
        # folder itself again when it starts, which a mount point would refuse.
        (mount,) = service["volumeMounts"]
        assert sidecar["volumeMounts"] == [mount]
        assert PurePosixPath(mount["mountPath"]) == multiproc_folder().parent
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        assert "emptyDir" in volumes[mount["name"]]
        # Process ids name the metrics files: one namespace for the pod keeps them apart.
        assert pod["shareProcessNamespace"] is True
    publishers = [
        name for name, pod in pods().items() for c in pod["containers"] if c["args"][:1] == ["publisher"]
    ]
    assert sorted(publishers) == ["inventory-svc", "order-svc", "payment-svc"]  # one per pod, nowhere else


def test_every_django_process_gets_every_setting_production_requires():
    for name, pod in pods().items():
        for container in pod.get("initContainers", []) + pod["containers"]:
            if container["args"] in NOT_DJANGO:
                continue
            required = {
                *PRODUCTION_REQUIRED,
                *(["EMAIL_HOST"] if container["args"] in NOTIFICATION_ROLES else []),
            }
            missing = required - settings_of(container)
            assert not missing, (name, container["name"], missing)


def test_every_secret_and_config_map_a_pod_reads_exists():
    config_maps, secrets = named("ConfigMap"), named("Secret")
    for name, pod in pods().items():
        for container in pod.get("initContainers", []) + pod["containers"]:
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    assert reference["key"] in secrets[reference["name"]]["stringData"], (name, reference)
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, (name, source)
                else:
                    assert source["secretRef"]["name"] in secrets, (name, source)


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
        "/api/docs/(notifications)/(.*)": "notification-svc",
    }
    gateway_docs = re.findall(
        r"^location /api/docs/(\w+)/ \{ proxy_pass http://(\w+)/", ROUTES.read_text(), re.M
    )
    assert {f"/api/docs/({page})/(.*)": service.replace("_", "-") for page, service in gateway_docs} == {
        p["path"]: p["backend"]["service"]["name"] for p in docs
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


def test_the_worker_finds_every_service_the_network_policies_let_it_reach():
    # notification_svc is in the service tier too: the worker's scheduled audit reads its notifications.
    config = named("ConfigMap")["saga-config"]["data"]
    services = named("Service")
    for name in SERVICES:
        labels = named("Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        assert labels["saga-orders/tier"] == "service", name
        variable = name.replace("-", "_").upper() + "_URL"  # ORDER_SVC_URL, NOTIFICATION_SVC_URL, ...
        (port,) = services[name]["spec"]["ports"]
        assert config[variable] == f"http://{name}.saga-orders.svc:{port['port']}", variable


def test_secrets_hold_placeholders_only():
    for name, secret in named("Secret").items():
        for key, value in secret["stringData"].items():
            if key in (
                "SECRET_KEY",
                "SAGA_CLIENT_SECRET",
                "SAGA_AUDITOR_CLIENT_SECRET",
                "EMAIL_HOST_PASSWORD",
            ):
                assert value == "REPLACE-ME", (name, key)
            elif key in ("DATABASE_URL", "EVENTS_BROKER_URL"):
                assert ":REPLACE-ME@" in value, (name, key)
    for name in SERVICES:
        assert named("Secret")[name]["stringData"]["EVENTS_BROKER_URL"].startswith(("amqp://", "amqps://")), (
            name
        )
