"""The Kubernetes manifests (infra/deploy/k8s), validated offline against the Kubernetes schemas
(kubernetes-validate, strict) and read for what a deployment relies on: probes, limits, locked-down
pods, disruption budgets and autoscalers, each service's publisher, notifier or consumer beside it
sharing its metrics folder, every setting production requires, identity_svc as the one issuer every
process agrees on, an Ingress that routes exactly what the gateway routes, the storefront served on
the same host from the gateway's image, network policies that leave /internal/ to the worker,
placeholder secrets only. The roles the containers run are checked against the image's entrypoint in
test_deployment_files."""

import json
import re
from pathlib import Path, PurePosixPath

import kubernetes_validate
import pytest
import yaml

from chassis.settings import PRODUCTION_REQUIRED

pytestmark = pytest.mark.any_database

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "deploy" / "k8s"
ROUTES = ROOT / "infra" / "deploy" / "gateway" / "routes.conf"
KUBERNETES_VERSION = "1.30.0"
SERVICES = ["identity-svc", "inventory-svc", "payment-svc", "order-svc", "notification-svc"]
# The services the worker calls, each by an address in saga-config (identity_svc it reaches only for
# tokens, at the issuer's public address).
CALLED_BY_THE_WORKER = ["inventory-svc", "payment-svc", "order-svc", "notification-svc"]
# The containers beside each service's: its event publisher, notification_svc's notifier, and
# payment_svc's event consumer.
SIDECARS = {
    "identity-svc": [("publisher", ["publisher", "identity_svc"])],
    "inventory-svc": [("publisher", ["publisher", "inventory_svc"])],
    "payment-svc": [("publisher", ["publisher", "payment_svc"]), ("consumer", ["consumer", "payment_svc"])],
    "order-svc": [("publisher", ["publisher", "order_svc"])],
    "notification-svc": [("notifier", ["notifier"])],
}
# Roles of the image that are not Django processes, so need none of a service's settings.
NOT_DJANGO = [["worker"], ["search-attributes"]]
# Roles that run with notification_svc's settings, which in production also require an SMTP server.
NOTIFICATION_ROLES = [["notification_svc"], ["notifier"], ["migrate", "notification_svc"], ["declare-broker"]]
# What identity_svc's production settings require beyond the chassis's.
IDENTITY_REQUIRED = {"IDENTITY_ISSUER", "IDENTITY_AUDIENCE"}
GATEWAY_ROUTE = re.compile(r"^location (= )?(/\S*) \{ proxy_pass http://(\w+)(/\S*)?; \}", flags=re.MULTILINE)


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
    """The pod spec of every Deployment, Job and CronJob, by workload name."""
    specs = {
        name: workload["spec"]["template"]["spec"]
        for kind in ("Deployment", "Job")
        for name, workload in named(kind).items()
    }
    for name, cron_job in named("CronJob").items():
        specs[name] = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return specs


def containers(pod: dict) -> list[dict]:
    return pod.get("initContainers", []) + pod["containers"]


def app_containers(pod: dict) -> list[dict]:
    """The containers that run the project's own image (saga-orders), each in a role of its entrypoint."""
    return [container for container in containers(pod) if container["image"].startswith("saga-orders:")]


def runs_as_identity_svc(container: dict) -> bool:
    """Whether a container runs with identity_svc's settings: the service, its publisher, its migration
    and its management commands."""
    args = container["args"]
    return "identity_svc" in args or args[0] in ("ensure-client", "rotate-signing-key", "clear-tokens")


def env_value(container: dict, name: str) -> str:
    (value,) = [variable["value"] for variable in container["env"] if variable["name"] == name]
    return value


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
    assert {"rotate-signing-key", "clear-tokens"} <= set(pods())  # the CronJobs' pods too
    for name, pod in pods().items():
        assert pod["securityContext"]["runAsNonRoot"], name
        assert pod["automountServiceAccountToken"] is False, name
        for container in containers(pod):
            assert {"requests", "limits"} <= set(container["resources"]), (name, container["name"])
            assert container["securityContext"]["readOnlyRootFilesystem"], (name, container["name"])
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], (name, container["name"])


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
        ["migrate", "identity_svc"],
    ]
    assert [c["args"] for c in job["containers"]] == [
        ["search-attributes"],
        ["declare-broker"],
        [
            "ensure-client",
            "$(SAGA_CLIENT_ID)",
            "--service",
            "--role",
            "saga",
            "--secret-env",
            "SAGA_CLIENT_SECRET",
        ],
        [
            "ensure-client",
            "$(SAGA_AUDITOR_CLIENT_ID)",
            "--service",
            "--role",
            "auditor",
            "--secret-env",
            "SAGA_AUDITOR_CLIENT_SECRET",
        ],
        # The storefront's browser client, its https redirect URI the public host's root.
        ["ensure-client", "storefront", "--browser", "--redirect-uri", "https://$(PUBLIC_HOST)/"],
    ]
    cron_jobs = named("CronJob")
    assert {name: containers(pods()[name])[0]["args"] for name in cron_jobs} == {
        "rotate-signing-key": ["rotate-signing-key"],
        "clear-tokens": ["clear-tokens"],
    }
    assert all(job["spec"]["concurrencyPolicy"] == "Forbid" for job in cron_jobs.values())


def test_each_service_runs_its_publisher_notifier_or_consumer_beside_it_sharing_its_metrics_folder():
    deployments = named("Deployment")
    for name, expected in SIDECARS.items():
        pod = deployments[name]["spec"]["template"]["spec"]
        service, *sidecars = pod["containers"]
        assert [(sidecar["name"], sidecar["args"]) for sidecar in sidecars] == expected, name
        (mount,) = service["volumeMounts"]
        for sidecar in sidecars:
            # The same settings (database, broker, secret key) as the service it serves.
            assert (sidecar["env"], sidecar["envFrom"]) == (service["env"], service["envFrom"])
            assert not {"ports", "readinessProbe", "livenessProbe"} & set(sidecar)  # it serves nothing
            # Both mount the same emptyDir at the metrics folder's parent: gunicorn removes and makes the
            # folder itself again when it starts, which a mount point would refuse.
            assert sidecar["volumeMounts"] == [mount]
        assert PurePosixPath(mount["mountPath"]) == multiproc_folder().parent
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        assert "emptyDir" in volumes[mount["name"]]
        # Process ids name the metrics files: one namespace for the pod keeps them apart.
        assert pod["shareProcessNamespace"] is True
    publishers = [
        name for name, pod in pods().items() for c in app_containers(pod) if c["args"][:1] == ["publisher"]
    ]
    # One per pod, nowhere else.
    assert sorted(publishers) == ["identity-svc", "inventory-svc", "order-svc", "payment-svc"]


def test_every_django_process_gets_every_setting_production_requires():
    for name, pod in pods().items():
        for container in app_containers(pod):
            if container["args"] in NOT_DJANGO:
                continue
            required = {
                *PRODUCTION_REQUIRED,
                *(["EMAIL_HOST"] if container["args"] in NOTIFICATION_ROLES else []),
                *(IDENTITY_REQUIRED if runs_as_identity_svc(container) else []),
            }
            missing = required - settings_of(container)
            assert not missing, (name, container["name"], missing)


def test_identity_svc_is_the_issuer_every_process_agrees_on():
    config = named("ConfigMap")["saga-config"]["data"]
    worker = named("Secret")["worker"]["stringData"]
    issuer = config["JWT_ISSUER"]
    assert issuer == f"https://{config['PUBLIC_HOST']}"  # the Ingress's host: the provider is routed there
    assert config["JWT_JWKS_URL"] == f"{issuer}/.well-known/jwks.json"
    assert worker["SAGA_TOKEN_URL"] == f"{issuer}/oauth/token"
    # Only the worker's clients may act as the saga and the auditor.
    assert config["JWT_SAGA_SUBJECTS"] == worker["SAGA_CLIENT_ID"]
    assert config["JWT_AUDITOR_SUBJECTS"] == worker["SAGA_AUDITOR_CLIENT_ID"]
    for name, pod in pods().items():
        for container in app_containers(pod):
            if runs_as_identity_svc(container):
                # The provider signs with the issuer and audience the services check, from one place.
                assert env_value(container, "IDENTITY_ISSUER") == "$(JWT_ISSUER)", (name, container["name"])
                assert env_value(container, "IDENTITY_AUDIENCE") == "$(JWT_AUDIENCE)", (
                    name,
                    container["name"],
                )
                assert "IDENTITY_DEV_TOKEN_SECRET" not in settings_of(container), (name, container["name"])
    for name in SERVICES:
        # Requests through the Ingress carry the public host name.
        service = named("Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
        assert env_value(service, "ALLOWED_HOSTS").split(",")[-1] == "$(PUBLIC_HOST)", name
    hosts = {rule["host"] for ingress in named("Ingress").values() for rule in ingress["spec"]["rules"]}
    assert hosts == {config["PUBLIC_HOST"]}


def test_every_secret_and_config_map_a_pod_reads_exists():
    config_maps, secrets = named("ConfigMap"), named("Secret")
    for name, pod in pods().items():
        for container in containers(pod):
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
    routes = GATEWAY_ROUTE.findall(ROUTES.read_text())
    api = named("Ingress")["api"]["spec"]["rules"][0]["http"]["paths"]
    ingress = {(p["path"], p["pathType"]): p["backend"]["service"]["name"] for p in api}
    # The gateway's exact locations are Exact paths; its prefixes, Prefix paths (which match whole
    # path segments, like the gateway's `/oauth/`).
    gateway = {
        (path if exact else path.rstrip("/"), "Exact" if exact else "Prefix"): service.replace("_", "-")
        for exact, path, service, uri in routes
        if not uri
    }
    assert gateway == ingress
    assert {
        ("/.well-known/openid-configuration", "Exact"),
        ("/.well-known/jwks.json", "Exact"),
        ("/oauth", "Prefix"),
        ("/accounts", "Prefix"),
        ("/api/v1/users", "Exact"),
        ("/api/v1/me", "Exact"),
    } <= {route for route, service in ingress.items() if service == "identity-svc"}
    docs = named("Ingress")["api-docs"]["spec"]["rules"][0]["http"]["paths"]
    assert {p["path"]: p["backend"]["service"]["name"] for p in docs} == {
        "/api/docs/(orders)/(.*)": "order-svc",
        "/api/docs/(inventory)/(.*)": "inventory-svc",
        "/api/docs/(payments)/(.*)": "payment-svc",
        "/api/docs/(notifications)/(.*)": "notification-svc",
        "/api/docs/(identity)/(.*)": "identity-svc",
    }
    gateway_docs = {
        f"/api/docs/({path.split('/')[3]})/(.*)": service.replace("_", "-")
        for _, path, service, uri in routes
        if uri == "/api/docs/"
    }
    assert gateway_docs == {p["path"]: p["backend"]["service"]["name"] for p in docs}
    every_path = " ".join([path for path, _ in ingress] + [p["path"] for p in docs])
    assert not any(
        hidden in every_path for hidden in ("/internal", "/admin", "/metrics", "healthz", "readyz", "/dev")
    )


def test_the_storefront_is_served_on_the_public_host_by_the_gateways_image_alone():
    config = named("ConfigMap")["saga-config"]["data"]
    paths = named("Ingress")["storefront"]["spec"]["rules"][0]["http"]["paths"]
    assert {(p["path"], p["pathType"]): p["backend"]["service"]["name"] for p in paths} == {
        ("/", "Exact"): "storefront",
        ("/index.html", "Exact"): "storefront",
        ("/config.json", "Exact"): "storefront",
        ("/assets", "Prefix"): "storefront",
    }
    assert named("Ingress")["storefront"]["spec"]["rules"][0]["host"] == config["PUBLIC_HOST"]
    pod = named("Deployment")["storefront"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"].startswith("saga-orders-gateway:")
    # The storefront's server, not the gateway's: the Ingress routes the APIs itself.
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    assert env["NGINX_ENVSUBST_TEMPLATE_DIR"] == "/etc/nginx/storefront-templates"
    template_dir = re.search(
        r"^COPY \S+storefront-server\.conf\.template (\S+)/$",
        (ROOT / "infra" / "deploy" / "gateway" / "Dockerfile").read_text(),
        flags=re.MULTILINE,
    )
    assert template_dir is not None
    assert template_dir[1] == env["NGINX_ENVSUBST_TEMPLATE_DIR"]
    # A read-only root: the rendered server and nginx's own files go to volumes of their own.
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    assert {"/tmp", "/etc/nginx/conf.d"} <= set(mounts)
    # Its config.json sends the page to its own origin, where the Ingress routes every API.
    mount = mounts["/usr/share/saga/storefront/config.json"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    site = json.loads(named("ConfigMap")[volume["configMap"]["name"]]["data"][mount["subPath"]])
    assert [site[base] for base in ("identity", "orders", "inventory", "payments", "notifications")] == [
        ""
    ] * 5
    assert site["client_id"] == "storefront"
    assert named("PodDisruptionBudget")["storefront"]["spec"]["minAvailable"] == 1
    # Only the ingress controller reaches it.
    (rule,) = named("NetworkPolicy")["storefront"]["spec"]["ingress"]
    assert [source["namespaceSelector"]["matchLabels"] for source in rule["from"]] == [
        {"kubernetes.io/metadata.name": "ingress-nginx"}
    ]


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
    for name in CALLED_BY_THE_WORKER:
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
    # The worker's client secrets are registered at identity_svc by the migrate Job, from that Secret.
    job = named("Job")["migrate"]["spec"]["template"]["spec"]["containers"]
    references = {
        variable["valueFrom"]["secretKeyRef"]["key"]
        for container in job
        for variable in container.get("env", [])
        if "valueFrom" in variable and variable["valueFrom"].get("secretKeyRef", {}).get("name") == "worker"
    }
    assert references == {
        "SAGA_CLIENT_ID",
        "SAGA_CLIENT_SECRET",
        "SAGA_AUDITOR_CLIENT_ID",
        "SAGA_AUDITOR_CLIENT_SECRET",
    }
