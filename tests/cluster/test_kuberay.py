"""The KubeRay manifests (cluster/k8s/) hold together with the project: one image built by cluster/Dockerfile, the
installed Ray version, the shared volume as cluster.storage, the trading node's custom resources, and entrypoints
that the commands accept (flags and --set keys parsed by the real parsers and the params validator)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from backtest.config import REPO_ROOT, load_params

K8S = REPO_ROOT / "cluster" / "k8s"
STORAGE = "/mnt/aml100"


def _docs() -> dict[str, list[dict]]:
    return {p.name: [d for d in yaml.safe_load_all(p.read_text()) if d] for p in sorted(K8S.glob("*.yaml"))}


def _cluster_specs() -> list[tuple[str, dict]]:
    """(where, RayCluster spec) of the long-lived cluster and of every RayJob that brings its own."""
    out = []
    for name, docs in _docs().items():
        for d in docs:
            if d["kind"] == "RayCluster":
                out.append((f"{name}:{d['metadata']['name']}", d["spec"]))
            elif d["kind"] == "RayJob" and "rayClusterSpec" in d["spec"]:
                out.append((f"{name}:{d['metadata']['name']}", d["spec"]["rayClusterSpec"]))
    return out


def _groups(spec: dict) -> list[tuple[str, dict]]:
    return [("head", spec["headGroupSpec"])] + [(g["groupName"], g) for g in spec.get("workerGroupSpecs", [])]


def _containers(group: dict) -> list[dict]:
    return group["template"]["spec"]["containers"]


def test_every_manifest_is_a_known_kind_and_names_what_the_others_refer_to():
    docs = _docs()
    kinds = {d["kind"] for ds in docs.values() for d in ds}
    assert kinds == {"RayCluster", "RayJob", "PersistentVolumeClaim"}
    clusters = {d["metadata"]["name"] for ds in docs.values() for d in ds if d["kind"] == "RayCluster"}
    for ds in docs.values():
        for d in ds:
            if d["kind"] == "RayJob" and "clusterSelector" in d["spec"]:
                assert d["spec"]["clusterSelector"]["ray.io/cluster"] in clusters
            if d["kind"] == "RayJob":
                assert ("clusterSelector" in d["spec"]) != ("rayClusterSpec" in d["spec"])


def test_one_image_everywhere_with_the_installed_ray_version():
    import ray

    images = {c["image"] for _, spec in _cluster_specs() for _, g in _groups(spec) for c in _containers(g)}
    assert len(images) == 1, f"every Ray container must run the same image, got {images}"
    for where, spec in _cluster_specs():
        assert spec["rayVersion"] == ray.__version__, where
    dockerfile = (REPO_ROOT / "cluster" / "Dockerfile").read_text()
    assert "PATH=/opt/aml100/.venv/bin:$PATH" in dockerfile  # `python` in entrypoints is the project's
    assert f"AML100_STORAGE={STORAGE}" in dockerfile
    assert "-c constraints.txt" in dockerfile and "torch==2.13.0" in dockerfile


def test_every_ray_container_mounts_the_shared_volume_as_its_storage():
    claims = {d["metadata"]["name"]: d for ds in _docs().values() for d in ds if d["kind"] == "PersistentVolumeClaim"}
    for where, spec in _cluster_specs():
        for group_name, g in _groups(spec):
            volumes = {v["name"]: v for v in g["template"]["spec"]["volumes"]}
            for c in _containers(g):
                env = {e["name"]: e["value"] for e in c.get("env", [])}
                assert env.get("AML100_STORAGE") == STORAGE, f"{where} {group_name}"
                mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
                claim = volumes[mounts[STORAGE]]["persistentVolumeClaim"]["claimName"]
                assert claims[claim]["spec"]["accessModes"] == ["ReadWriteMany"], "pods on several machines write it"


def test_the_long_lived_head_offers_the_trading_resources_and_keeps_cores_for_them():
    params = load_params()
    ((where, spec),) = [(w, s) for w, s in _cluster_specs() if w.startswith("raycluster.yaml")]
    head = spec["headGroupSpec"]
    offered = json.loads(json.loads(head["rayStartParams"]["resources"]))  # KubeRay's quoted-JSON form
    assert offered[params.cluster.live_resource] >= 1 and offered[params.cluster.autopilot_resource] >= 1
    cores = float(_containers(head)[0]["resources"]["limits"]["cpu"])
    reserved = offered[params.cluster.live_resource] + offered[params.cluster.autopilot_resource]
    assert float(head["rayStartParams"]["num-cpus"]) <= cores - reserved


def test_worker_cpus_match_their_pods_and_a_sweeps_head_runs_no_trials():
    for where, spec in _cluster_specs():
        for name, g in _groups(spec):
            if name != "head":
                limit = float(_containers(g)[0]["resources"]["limits"]["cpu"])
                assert float(g["rayStartParams"]["num-cpus"]) == limit, f"{where} {name}"
        if where.startswith("rayjob-sweep"):
            assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"


ENTRYPOINTS = {
    "rl.tune": "rl.tune:build_parser",
    "live.serve": "live.serve:build_parser",
    "live.autopilot": "live.autopilot.__main__:build_parser",
}


@pytest.mark.parametrize("name", sorted(p.name for p in K8S.glob("rayjob-*.yaml")))
def test_rayjob_entrypoints_are_commands_the_project_accepts(name):
    from importlib import import_module

    (doc,) = _docs()[name]
    argv = shlex.split(doc["spec"]["entrypoint"])
    assert argv[:2] == ["python", "-m"], "the image's python (the project's environment)"
    module = argv[2]
    mod_name, func = ENTRYPOINTS[module].split(":")
    args = getattr(import_module(mod_name), func)().parse_args(argv[3:])
    load_params(overrides=list(args.overrides))  # every --set key exists and is valid
    assert not any(o.startswith("cluster.storage=") for o in args.overrides), "storage comes from AML100_STORAGE"


def test_the_sweep_job_asks_no_more_concurrent_trials_than_its_workers_have_cpus():
    (doc,) = _docs()["rayjob-sweep.yaml"]
    from rl.tune import build_parser

    args = build_parser().parse_args(shlex.split(doc["spec"]["entrypoint"])[3:])
    workers = doc["spec"]["rayClusterSpec"]["workerGroupSpecs"]
    cpus = sum(int(g["replicas"]) * float(g["rayStartParams"]["num-cpus"]) for g in workers)
    assert args.concurrent <= cpus


def test_the_on_prem_launcher_stays_and_starts_the_head_with_the_trading_resources():
    launcher = yaml.safe_load(Path(REPO_ROOT / "ray_cluster.yaml").read_text())
    head = " ".join(launcher["head_start_ray_commands"])
    assert "aml100_live" in head and "aml100_autopilot" in head and "AML100_STORAGE" in head
