"""Checks of deploy/ that no off-the-shelf linter makes; run by deploy/lint in its venv.

    python lint-checks.py nginx FILE      nginx syntax: known directives, contexts, arguments
    python lint-checks.py env FILE        an env file: KEY=VALUE lines, no secret filled in
    python lint-checks.py pins FILE       a requirements file: every line pinned with ==
    python lint-checks.py dockerignore FILE
    python lint-checks.py kustomization FILE   known keys; resources are exactly the manifests
    python lint-checks.py references      what the files say of each other agrees

Each prints its problems, one a line, and exits 1 when there is any.
"""

import re
import sys
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent
K8S = DEPLOY / "k8s"
# Values the example files may hold for a secret: empty or an obvious placeholder.
SECRET_NAMES = ("IDP_MASTER_KEY", "IDP_PIN_KEY", "IDP_DATABASE_URL", "POSTGRES_PASSWORD", "REDIS_PASSWORD")
# The server settings that hold a secret (IDP_REDIS_URL carries the Redis password): in the
# k8s Secret template, never in a ConfigMap.
SECRET_SETTINGS = ("IDP_MASTER_KEY", "IDP_PIN_KEY", "IDP_DATABASE_URL", "IDP_REDIS_URL")
# A Redis URL with a password: redis://:PASSWORD@HOST or redis://USER:PASSWORD@HOST.
REDIS_URL_WITH_PASSWORD = re.compile(r"redis://[^:@/]*:[^@/]+@[^@/]+")


def nginx(path):
    import crossplane

    result = crossplane.parse(path, single=True, strict=True)
    return [
        f"{error['file']}:{error.get('line', '?')}: {error['error']}"
        for error in result["errors"]
    ]


def env(path):
    problems = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line)
        if not match:
            problems.append(f"{path}:{number}: not KEY=VALUE: {line!r}")
            continue
        key, value = match.groups()
        if key in SECRET_NAMES and value:
            problems.append(f"{path}:{number}: {key} must be empty in an example file")
    return problems


def pins(path):
    problems = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line and not re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", line):
            problems.append(f"{path}:{number}: not pinned as NAME==VERSION: {line!r}")
    return problems


def dockerignore(path):
    lines = {
        line.strip().strip("/")
        for line in Path(path).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    return [
        f"{path}: does not exclude {entry}"
        for entry in ("target", ".git", "data", "**/.env")
        if entry not in lines
    ]


def load_all(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def references():
    problems = []
    problems += compose_references()
    problems += k8s_references()
    return problems


def compose_references():
    problems = []
    compose_file = DEPLOY / "docker-compose.yml"
    compose = yaml.safe_load(compose_file.read_text())
    services = compose["services"]
    text = compose_file.read_text()

    # Every variable compose insists on is in .env.example.
    example = (DEPLOY / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.M))
    for name in sorted(set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))):
        if name not in listed:
            problems.append(f"docker-compose.yml: ${{{name}}} is not in .env.example")

    for name, service in services.items():
        for dependency in service.get("depends_on", {}) or {}:
            if dependency not in services:
                problems.append(f"docker-compose.yml: {name} depends on unknown {dependency}")
            elif dependency == name:
                problems.append(f"docker-compose.yml: {name} depends on itself")
        for network in service.get("networks", []) or []:
            if network not in compose.get("networks", {}):
                problems.append(f"docker-compose.yml: {name} uses unknown network {network}")
        for volume in service.get("volumes", []) or []:
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                if not (DEPLOY / source).exists():
                    problems.append(f"docker-compose.yml: {name} mounts missing {source}")
            elif source not in (compose.get("volumes") or {}):
                problems.append(f"docker-compose.yml: {name} uses unknown volume {source}")

    # The load balancer's upstreams are idp services, and the nodes trust its address.
    upstreams = re.findall(r"^\s*server\s+([\w.-]+):8080\b", (DEPLOY / "nginx.conf").read_text(), re.M)
    nodes = [name for name, s in services.items() if (s.get("command") or ["serve"]) == ["serve"]
             and "IDP_LISTEN" in (s.get("environment") or {})]
    if sorted(upstreams) != sorted(nodes):
        problems.append(f"nginx.conf: upstream servers {sorted(upstreams)} are not the idp nodes {sorted(nodes)}")
    lb_address = services["lb"]["networks"]["frontend"]["ipv4_address"]
    for node in nodes:
        trusted = services[node]["environment"].get("IDP_TRUSTED_PROXIES", "")
        if lb_address not in trusted:
            problems.append(f"docker-compose.yml: {node} does not trust the load balancer {lb_address}")
        if services[node].get("healthcheck", {}).get("disable"):
            problems.append(f"docker-compose.yml: {node} has no health check")
        # ${NAME:?message} stands for a value without / or @ (the passwords are hex).
        redis_url = services[node]["environment"].get("IDP_REDIS_URL", "")
        redis_url = re.sub(r"\$\{[^}]*\}", "VALUE", redis_url)
        if not REDIS_URL_WITH_PASSWORD.fullmatch(redis_url):
            problems.append(f"docker-compose.yml: {node}'s IDP_REDIS_URL is not redis://:PASSWORD@HOST")

    # Redis asks for a password and never evicts keys (evicted records end sessions early).
    command = services.get("redis", {}).get("command") or []
    options = dict(zip(command[1::2], command[2::2])) if command[:1] == ["redis-server"] else {}
    if not options.get("--requirepass"):
        problems.append("docker-compose.yml: redis has no --requirepass")
    if options.get("--maxmemory-policy") != "noeviction":
        problems.append("docker-compose.yml: redis has no --maxmemory-policy noeviction")
    if not options.get("--maxmemory"):
        problems.append("docker-compose.yml: redis has no --maxmemory")
    return problems


KUSTOMIZATION_KEYS = {
    "apiVersion", "kind", "namespace", "resources", "images", "labels", "commonLabels",
    "commonAnnotations", "patches", "configMapGenerator", "secretGenerator", "generatorOptions",
    "namePrefix", "nameSuffix", "replicas", "components",
}


def kustomization(path):
    problems = []
    kustomization = yaml.safe_load(Path(path).read_text())
    for key in kustomization:
        if key not in KUSTOMIZATION_KEYS:
            problems.append(f"{path}: unknown key {key}")
    if kustomization.get("kind") != "Kustomization" or not str(
        kustomization.get("apiVersion", "")
    ).startswith("kustomize.config.k8s.io/"):
        problems.append(f"{path}: not a kustomize.config.k8s.io Kustomization")
    resources = kustomization.get("resources", [])
    if len(set(resources)) != len(resources):
        problems.append(f"{path}: a resource is listed twice")
    manifests = {
        manifest.name
        for manifest in Path(path).parent.glob("*.yaml")
        if manifest.name != "kustomization.yaml" and not manifest.name.endswith(".example.yaml")
    }
    for missing in sorted(set(resources) - manifests):
        problems.append(f"{path}: resource {missing} does not exist")
    for unlisted in sorted(manifests - set(resources)):
        problems.append(f"{path}: {unlisted} is not listed in resources")
    for image in kustomization.get("images", []):
        if set(image) - {"name", "newName", "newTag", "digest"} or "name" not in image:
            problems.append(f"{path}: images entry {image} is not name/newName/newTag/digest")
    return problems


def k8s_references():
    problems = []
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    objects = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_all(path):
            objects[(doc["kind"], doc["metadata"]["name"])] = (path.name, doc)

    # Placeholders only in the Secret template, which holds every secret setting; no secret
    # setting in a ConfigMap.
    for (kind, name), (file, doc) in objects.items():
        if kind == "Secret":
            values = {**doc.get("stringData", {}), **doc.get("data", {})}
            for key, value in values.items():
                if "REPLACE-ME" not in str(value):
                    problems.append(f"{file}: {key} must hold a REPLACE-ME placeholder, not a value")
            for key in SECRET_SETTINGS:
                if key not in values:
                    problems.append(f"{file}: {key} is missing (a secret setting)")
        if kind == "ConfigMap":
            for key in SECRET_SETTINGS:
                if key in (doc.get("data") or {}):
                    problems.append(f"{file}: {key} holds a secret: it belongs in the Secret")

    images = {image["name"] for image in kustomization.get("images", [])}
    for (kind, name), (file, doc) in objects.items():
        if kind != "Deployment":
            continue
        pod = doc["spec"]["template"]
        labels = pod["metadata"].get("labels", {})
        if not subset(doc["spec"]["selector"]["matchLabels"], labels):
            problems.append(f"{file}: selector does not match the pod template's labels")
        spec = pod["spec"]
        if spec.get("enableServiceLinks") is not False:
            problems.append(f"{file}: enableServiceLinks is not false (IDP_* service variables)")
        pod_security = spec.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True:
            problems.append(f"{file}: pod securityContext.runAsNonRoot is not true")
        if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{file}: pod seccompProfile is not RuntimeDefault")
        volumes = {volume["name"] for volume in spec.get("volumes", [])}
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{file}: container {container['name']}"
            if container["image"].split(":")[0] not in images:
                problems.append(f"{where}: image {container['image']} is not in kustomization images")
            security = container.get("securityContext", {})
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if security.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            if security.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: capabilities do not drop ALL")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(part, {}):
                        problems.append(f"{where}: no {part}.{resource}")
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    problems.append(f"{where}: mounts unknown volume {mount['name']}")
            for source in container.get("envFrom", []):
                for ref_kind, ref in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if ref in source and (ref_kind, source[ref]["name"]) not in objects:
                        problems.append(f"{where}: {ref_kind} {source[ref]['name']} is not defined")
        server = spec["containers"][0]
        ports = {port.get("name") for port in server.get("ports", [])}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe not in server:
                problems.append(f"{file}: container {server['name']} has no {probe}")
            elif server[probe].get("httpGet", {}).get("port") not in ports:
                problems.append(f"{file}: {probe} uses a port the container does not name")

        for (other_kind, other_name), (other_file, other) in objects.items():
            if other_kind == "Service":
                if not subset(other["spec"]["selector"], labels):
                    problems.append(f"{other_file}: selector does not match the pods of {file}")
                for port in other["spec"]["ports"]:
                    if isinstance(port["targetPort"], str) and port["targetPort"] not in ports:
                        problems.append(f"{other_file}: targetPort {port['targetPort']} is not named by the pods")
            if other_kind == "PodDisruptionBudget":
                if not subset(other["spec"]["selector"]["matchLabels"], labels):
                    problems.append(f"{other_file}: selector does not match the pods of {file}")
            if other_kind == "NetworkPolicy":
                # The policy named after the Deployment selects its pods (an empty podSelector
                # selects every pod of the namespace); a policy for them names their ports.
                selector = other["spec"]["podSelector"].get("matchLabels")
                selects = not selector or subset(selector, labels)
                if other_name == name and not selects:
                    problems.append(f"{other_file}: podSelector does not match the pods of {file}")
                for rule in other["spec"].get("ingress", []) if selects else []:
                    for port in rule.get("ports", []):
                        if isinstance(port.get("port"), str) and port["port"] not in ports:
                            problems.append(f"{other_file}: port {port['port']} is not named by the pods")

    for (kind, name), (file, doc) in objects.items():
        if kind == "HorizontalPodAutoscaler":
            target = doc["spec"]["scaleTargetRef"]
            if (target["kind"], target["name"]) not in objects:
                problems.append(f"{file}: scales unknown {target['kind']} {target['name']}")
    return problems


def subset(selector, labels):
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def main(argv):
    command, *args = argv
    checks = {
        "nginx": nginx,
        "env": env,
        "pins": pins,
        "dockerignore": dockerignore,
        "kustomization": kustomization,
        "references": references,
    }
    try:
        problems = checks[command](*args)
    except Exception as error:  # a file too broken to read is a problem like any other
        problems = [f"{command} {' '.join(args)}: {type(error).__name__}: {error}"]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
