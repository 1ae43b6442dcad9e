"""The Kubernetes manifests (deploy/kubernetes/) and the kit's image (deploy/Dockerfile), checked offline:
every manifest parses and has the fields the kit relies on (JSON schemas below); its pods and its Service
are what Kubernetes 1.21's own PodSpec and ServiceSpec schemas allow, with no field they do not know
(kubectl's strict validation; the schemas, in kubernetes_schemas.json, come from dask-kubernetes's
DaskCluster definition: the whole Kubernetes API's are not on this machine, and nothing is downloaded);
and the manifests agree with each other and with the kit (the workers' scheduler address is the
scheduler's Service, one image for all, the kit's memory limits, TLS for every role that connects)."""
import copy
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from autograder.grading.environment import GRADER_MEMORY_MB
from autograder.grading.options import GradingOptions

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
PART_OF = {"app.kubernetes.io/part-of": "hw2-grading"}
TLS_FOLDER = "/etc/hw2-dask-tls"


def _object(properties, required=None):
    return {"type": "object", "properties": properties, "required": required or list(properties)}


LABELS = _object({"app.kubernetes.io/part-of": {"const": "hw2-grading"}})
TLS_VOLUME = {"type": "array", "contains": _object({"name": {"const": "tls"}, "secret": _object(
    {"secretName": {"const": "hw2-dask-tls"}, "defaultMode": {"const": 0o400}})})}
TLS_MOUNT = {"type": "array", "contains": _object({"name": {"const": "tls"}, "mountPath": {"const": TLS_FOLDER},
                                                   "readOnly": {"const": True}})}


def _deployment(container, pod=None):
    """A Deployment whose pods run ``container`` (a schema) alone, without the API's token, with the TLS
    secret as a volume, and whose selector picks its own pods."""
    return _object({
        "apiVersion": {"const": "apps/v1"}, "kind": {"const": "Deployment"},
        "metadata": _object({"name": {"type": "string"}, "labels": LABELS}),
        "spec": _object({
            "replicas": {"type": "integer", "minimum": 1},
            "selector": _object({"matchLabels": LABELS}),
            "template": _object({
                "metadata": _object({"labels": LABELS}),
                "spec": _object({"automountServiceAccountToken": {"const": False},
                                 "containers": {"type": "array", "minItems": 1, "maxItems": 1, "items": container},
                                 "volumes": TLS_VOLUME, **(pod or {})})})})})


def _container(command, extra):
    return _object({"name": {"type": "string"}, "image": {"const": "hw2-grader"}, "workingDir": {"const": "/kit"},
                    "command": command, "env": {"type": "array"}, "resources": {"type": "object"},
                    "volumeMounts": TLS_MOUNT, **extra})


SCHEMAS = {
    "hw2-scheduler/Deployment": _deployment(_container(
        {"const": ["dask", "scheduler", "--protocol", "tls", "--port", "8786"]},
        {"securityContext": _object({"allowPrivilegeEscalation": {"const": False}}),
         "ports": {"contains": _object({"containerPort": {"const": 8786}})}})),
    "hw2-scheduler/Service": _object({
        "kind": {"const": "Service"}, "metadata": _object({"name": {"const": "hw2-scheduler"}}),
        "spec": _object({"type": {"const": "ClusterIP"}, "selector": LABELS,
                         "ports": {"type": "array", "contains": _object({"port": {"const": 8786}})}})}),
    # the full sandbox tier needs root and the rights to make namespaces and mounts: a privileged container
    "hw2-workers/Deployment": _deployment(_container(
        {"type": "array", "prefixItems": [{"const": "./kit"}, {"const": "worker"}, {"pattern": "^tls://"}]},
        {"securityContext": _object({"runAsUser": {"const": 0}, "privileged": {"const": True}})}),
        {"enableServiceLinks": {"const": False}}),
    "hw2-grading/NetworkPolicy": _object({
        "apiVersion": {"const": "networking.k8s.io/v1"}, "kind": {"const": "NetworkPolicy"},
        "spec": _object({"podSelector": _object({"matchLabels": LABELS}),
                         "policyTypes": {"const": ["Ingress", "Egress"]},
                         "ingress": {"type": "array", "items": _object({"from": {"type": "array", "items": _object(
                             {"podSelector": _object({"matchLabels": LABELS})})}})}})}),
    "hw2-grading/Namespace": _object({
        "kind": {"const": "Namespace"},
        "metadata": _object({"labels": _object({"pod-security.kubernetes.io/enforce": {"const": "privileged"}})})}),
}


def _manifests():
    """{"name/Kind": object} of every document of every manifest in deploy/kubernetes/ but kustomization.yaml."""
    found = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            for document in yaml.safe_load_all(path.read_text()):
                found[f"{document['metadata']['name']}/{document['kind']}"] = document
    return found


def _strict(schema):
    """``schema`` (an OpenAPI v3 schema of Kubernetes', as a dict) as the API server reads it with strict
    field validation, in JSON Schema: no field its object does not name, int-or-string as either."""
    schema = copy.deepcopy(schema)
    todo = [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if "properties" in node:
                node.setdefault("additionalProperties", False)
            if node.get("format") == "int-or-string":
                node["type"] = ["integer", "string"]
            todo += node.values()
        elif isinstance(node, list):
            todo += node
    return schema


KUBERNETES_SCHEMAS = json.loads((Path(__file__).parent / "kubernetes_schemas.json").read_text())
POD_SPEC = jsonschema.Draft7Validator(_strict(KUBERNETES_SCHEMAS["PodSpec"]))
SERVICE_SPEC = jsonschema.Draft7Validator(_strict(KUBERNETES_SCHEMAS["ServiceSpec"]))


def _container_of(manifest):
    return manifest["spec"]["template"]["spec"]["containers"][0]


def _environment(container):
    return {variable["name"]: variable["value"] for variable in container["env"]}


def test_every_manifest_has_the_fields_the_kit_relies_on():
    manifests = _manifests()
    assert set(manifests) == set(SCHEMAS)
    for name, manifest in manifests.items():
        jsonschema.Draft202012Validator(SCHEMAS[name]).validate(manifest)


def test_the_pods_and_the_service_are_what_kubernetes_accepts():
    checked = 0
    for manifest in _manifests().values():
        if manifest["kind"] == "Deployment":
            POD_SPEC.validate(manifest["spec"]["template"]["spec"])
            checked += 1
        elif manifest["kind"] == "Service":
            SERVICE_SPEC.validate(manifest["spec"])
            checked += 1
    assert checked == 3
    workers = _manifests()["hw2-workers/Deployment"]["spec"]["template"]["spec"]
    misspelt = copy.deepcopy(workers)
    misspelt["containers"][0]["securtyContext"] = misspelt["containers"][0].pop("securityContext")
    wrong_type = copy.deepcopy(workers)
    wrong_type["containers"][0]["securityContext"]["privileged"] = "true"
    assert not POD_SPEC.is_valid(misspelt) and not POD_SPEC.is_valid(wrong_type)


def test_the_schemas_refuse_what_would_break_grading():
    """A worker that is not privileged (the sandbox's tier would drop to 'container'), that runs dask's
    worker with another command, or that has the API's token (its kernel could read it)."""
    workers = _manifests()["hw2-workers/Deployment"]
    validator = jsonschema.Draft202012Validator(SCHEMAS["hw2-workers/Deployment"])
    assert validator.is_valid(workers)
    for change in [lambda c, p: c["securityContext"].pop("privileged"),
                   lambda c, p: c.update(command=["dask", "worker", "tls://hw2-scheduler:8786"]),
                   lambda c, p: c.update(command=["./kit", "worker", "tcp://hw2-scheduler:8786"]),
                   lambda c, p: p.pop("automountServiceAccountToken")]:
        broken = yaml.safe_load(yaml.safe_dump(workers))
        change(_container_of(broken), broken["spec"]["template"]["spec"])
        assert not validator.is_valid(broken)


def test_the_workers_reach_the_scheduler_through_its_service_over_tls_with_the_same_kit():
    manifests = _manifests()
    scheduler, service = manifests["hw2-scheduler/Deployment"], manifests["hw2-scheduler/Service"]
    workers = manifests["hw2-workers/Deployment"]
    port = service["spec"]["ports"][0]
    assert _container_of(workers)["command"][2] == f"tls://{service['metadata']['name']}:{port['port']}"
    assert service["spec"]["selector"].items() <= scheduler["spec"]["template"]["metadata"]["labels"].items()
    assert any(each["name"] == port["targetPort"] and each["containerPort"] == port["port"]
               for each in _container_of(scheduler)["ports"])
    for manifest in (scheduler, workers):
        assert manifest["spec"]["selector"]["matchLabels"].items() <= \
            manifest["spec"]["template"]["metadata"]["labels"].items()
        assert PART_OF.items() <= manifest["spec"]["template"]["metadata"]["labels"].items()
    assert _container_of(scheduler)["image"] == _container_of(workers)["image"], \
        "one kit: the scheduler reads its tasks"
    for manifest, role in [(scheduler, "SCHEDULER"), (workers, "WORKER")]:
        assert _environment(_container_of(manifest)) == {
            "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "true",
            "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": f"{TLS_FOLDER}/cert.pem",
            f"DASK_DISTRIBUTED__COMM__TLS__{role}__CERT": f"{TLS_FOLDER}/cert.pem",
            f"DASK_DISTRIBUTED__COMM__TLS__{role}__KEY": f"{TLS_FOLDER}/key.pem"}


def test_a_worker_pod_has_a_core_and_the_kits_memory_limits_per_worker_process():
    container = _container_of(_manifests()["hw2-workers/Deployment"])
    command = container["command"]
    processes = int(command[command.index("--nworkers") + 1])
    per_worker_mb = GRADER_MEMORY_MB + GradingOptions().memory_mb
    for kind in ("requests", "limits"):
        assert container["resources"][kind] == {"cpu": str(processes),
                                                "memory": f"{processes * per_worker_mb // 1024}Gi"}


def test_kustomize_applies_every_manifest_in_the_namespace_they_name():
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(path.name for path in KUBERNETES.glob("*.yaml")
                                                        if path.name != "kustomization.yaml")
    assert kustomization["namespace"] == _manifests()["hw2-grading/Namespace"]["metadata"]["name"]
    assert [image["name"] for image in kustomization["images"]] == ["hw2-grader"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its kustomize) is not installed")
def test_kustomize_builds_them_into_one_namespace_with_the_courses_image():
    """What `kubectl apply -k deploy/kubernetes` would send: kubectl's own kustomize, offline."""
    built = subprocess.run(["kubectl", "kustomize", str(KUBERNETES)], capture_output=True, text=True, check=True,
                           timeout=60).stdout
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    image = "{newName}:{newTag}".format(**kustomization["images"][0])
    objects = {f"{each['metadata']['name']}/{each['kind']}": each for each in yaml.safe_load_all(built)}
    assert set(objects) == set(_manifests())
    for name, each in objects.items():
        assert each["kind"] == "Namespace" or each["metadata"]["namespace"] == kustomization["namespace"], name
        if each["kind"] == "Deployment":
            assert _container_of(each)["image"] == image


def test_the_image_holds_the_kit_with_the_venv_that_kit_would_make():
    """deploy/Dockerfile installs requirements.txt into /kit/.venv and stamps it as ./kit's setup does (so
    ./kit worker starts without reinstalling), and leaves the machine's own .venv out of the image, not
    what grading reads (the master, the hidden reference, the data)."""
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    kit = (REPO / "kit").read_text()
    assert "sha256sum requirements.txt | cut -d' ' -f1" in kit and 'stamp="$VENV/.requirements.sha256"' in kit
    assert "sha256sum requirements.txt | cut -d' ' -f1 > .venv/.requirements.sha256" in dockerfile
    assert ".venv/bin/pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert "WORKDIR /kit" in dockerfile and "PYTHONPATH=/kit" in dockerfile
    ignored = (REPO / "deploy" / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", ".git", "output"} <= set(ignored)
    assert not {"autograder", "solutions", "generated", "data", "kit", "requirements.txt"} & set(ignored)
