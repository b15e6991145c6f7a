"""Where results live, so that every node of a cluster reaches them: `cluster.storage` in params.

The storage root (`cluster.storage`; empty = the AML100_STORAGE environment variable, else the repository) is
- a local path (a relative path is taken from the repository root): one machine;
- a path every node mounts at the same place (NFS, CephFS, a KubeRay volume): `/mnt/aml100`;
- a `pyarrow.fs` URI (object storage): `s3://bucket/aml100`, `gs://bucket/aml100`, `file:///srv/aml100`.

Under it, the project's usual folders: `runs/tune/` (sweeps: Tune experiments, reports, winners), `runs/<algo>/`
(training runs and checkpoints), `registry/` (the model registry), `reports/` (backtest reports). Ray Tune writes
its experiments there itself (a URI or a shared path is what Ray asks for on several nodes). Writers of whole
folders use `staged` (a local folder, uploaded when the root is a URI); readers of folders use `localize` (a local
copy of a URI, downloaded once into a cache). Small files (the registry index) go through `read_text`/`write_text`.

`check_reachable` is the door check: the driver writes a probe file and, on a cluster of several nodes, one tiny
task per node looks for it, so a path only the driver's machine has is refused before any work with the nodes named.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
PROBE_DIR = ".aml100-probe"


class StorageError(ValueError):
    """The storage cannot hold results for this run (the message says why and what to do)."""


def is_uri(location: str | Path) -> bool:
    """True for `scheme://...` (object storage or any pyarrow filesystem), False for plain paths."""
    return bool(_URI.match(str(location)))


REPO_ROOT = Path(__file__).resolve().parent.parent  # the repository (relative configured paths start here)


def repo_root() -> Path:
    return REPO_ROOT


def resolve_root(storage: str) -> str:
    """The storage root as an absolute path or a URI (no trailing slash); "" means `$AML100_STORAGE`, else the
    repository."""
    storage = (storage or "").strip() or os.environ.get("AML100_STORAGE", "").strip() or "."
    if is_uri(storage):
        return storage.rstrip("/")
    path = Path(storage).expanduser()
    return str((path if path.is_absolute() else repo_root() / path).resolve())


def storage_root(params: Any) -> str:
    """`params.cluster.storage` resolved (see `resolve_root`)."""
    return resolve_root(params.cluster.storage)


def join(root: str | Path, *parts: str) -> str:
    """`root` / parts for paths and URIs alike."""
    root = str(root)
    if is_uri(root):
        tail = "/".join(p.strip("/") for p in parts if p)
        return f"{root.rstrip('/')}/{tail}" if tail else root
    return str(Path(root, *parts))


def under(root: str, path: str | Path) -> str:
    """A configured path: absolute paths and URIs as given, relative ones under the storage root."""
    path = str(path)
    if is_uri(path):
        return path
    if Path(path).expanduser().is_absolute():
        return str(Path(path).expanduser())
    return join(root, path)


def is_within(location: str | Path, root: str | Path) -> bool:
    """True when `location` lies under `root` (both paths, or both URIs)."""
    location, root = str(location), str(root)
    if is_uri(location) or is_uri(root):
        return location.rstrip("/").startswith(root.rstrip("/") + "/") or location.rstrip("/") == root.rstrip("/")
    return Path(location).resolve().is_relative_to(Path(root).resolve())


def tune_root(params: Any) -> str:
    return join(storage_root(params), "runs", "tune")


def runs_root(params: Any) -> str:
    return join(storage_root(params), "runs")


def registry_root(params: Any) -> str:
    """`$AML100_REGISTRY` if set, else `<storage>/registry`."""
    return os.environ.get("AML100_REGISTRY") or join(storage_root(params), "registry")


def reports_root(params: Any) -> str:
    return under(storage_root(params), params.backtest.reports_dir)


# --- pyarrow filesystems -------------------------------------------------------------------------------------------
def filesystem(uri: str) -> tuple[Any, str]:
    """(pyarrow filesystem, path inside it) of a URI; StorageError when pyarrow cannot open it."""
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(uri)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for unknown schemes or missing credentials
        raise StorageError(f"storage {uri}: pyarrow cannot open it ({exc})") from None


def exists(location: str | Path) -> bool:
    if not is_uri(location):
        return Path(location).exists()
    import pyarrow.fs as pafs

    fs, path = filesystem(str(location))
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def list_dirs(location: str | Path) -> list[str]:
    """Names of the folders directly under `location` (empty if it does not exist)."""
    if not is_uri(location):
        path = Path(location)
        return sorted(p.name for p in path.iterdir() if p.is_dir()) if path.is_dir() else []
    import pyarrow.fs as pafs

    fs, path = filesystem(str(location))
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return []
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=False))
    return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory)


def read_text(location: str | Path) -> str | None:
    """A small text file's content, or None if it does not exist."""
    if not is_uri(location):
        try:
            return Path(location).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
    if not exists(location):
        return None
    fs, path = filesystem(str(location))
    with fs.open_input_stream(path) as fh:
        return fh.read().decode("utf-8")


def write_text(location: str | Path, text: str) -> None:
    """Write a small text file atomically (temp + replace for paths; one object put for URIs)."""
    if not is_uri(location):
        from cluster.atomic import atomic_write_text

        atomic_write_text(location, text)
        return
    fs, path = filesystem(str(location))
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as fh:
        fh.write(text.encode("utf-8"))


def upload(local: str | Path, location: str) -> None:
    """Copy a local folder (or file) to `location` (a URI or a path)."""
    local = Path(local)
    if not is_uri(location):
        if Path(location).resolve() != local.resolve():
            if local.is_dir():
                shutil.copytree(local, location, dirs_exist_ok=True)
            else:
                Path(location).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(local, location)
        return
    import pyarrow.fs as pafs

    fs, path = filesystem(location)
    if local.is_dir():
        fs.create_dir(path, recursive=True)
        pafs.copy_files(str(local), path, destination_filesystem=fs)
    else:
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        pafs.copy_files(str(local), path, destination_filesystem=fs)


def cache_dir() -> Path:
    """Where `localize` keeps copies of URIs: `$AML100_CACHE` or ~/.cache/aml100/storage."""
    return Path(os.environ.get("AML100_CACHE") or Path.home() / ".cache" / "aml100" / "storage")


def localize(location: str | Path) -> Path:
    """A local path holding what `location` holds: the path itself, or (for a URI) a copy downloaded once into
    `cache_dir()` (checkpoints and reports are written once, so a completed copy is reused)."""
    if not is_uri(location):
        return Path(location)
    import pyarrow.fs as pafs

    location = str(location).rstrip("/")
    fs, path = filesystem(location)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"{location}: not found in storage")
    key = hashlib.sha1(location.encode()).hexdigest()[:16]
    target = cache_dir() / key / (path.rstrip("/").rsplit("/", 1)[-1] or "root")
    done = target.parent / ".complete"
    if done.is_file() and target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".dl-", dir=target.parent))
    try:
        dest = tmp / target.name
        if info.type == pafs.FileType.Directory:
            dest.mkdir()
        pafs.copy_files(path, str(dest), source_filesystem=fs)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink()
        os.replace(dest, target)
        done.write_text(location)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@contextmanager
def staged(location: str | Path) -> Iterator[Path]:
    """A local folder to write `location`'s content into: the folder itself for paths; for a URI a temporary
    folder uploaded on success."""
    if not is_uri(location):
        path = Path(location)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    tmp = Path(tempfile.mkdtemp(prefix="aml100-stage-"))
    try:
        yield tmp
        upload(tmp, str(location))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- the door check ------------------------------------------------------------------------------------------------
def job_copy_root() -> Path | None:
    """The repository copy a Ray job runs from (`ray job submit --working-dir`), or None outside such a copy."""
    root = repo_root()
    return root if "runtime_resources" in root.parts and "working_dir_files" in root.parts else None


def _probe(location: str) -> str | None:
    """Runs on every node: None when the probe file the driver wrote is readable here, else why not."""
    try:
        text = read_text(location)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if text else f"{location} does not exist on this node"


def _other_nodes() -> list[dict[str, Any]]:
    import ray

    me = ray.get_runtime_context().get_node_id()
    return [n for n in ray.nodes() if n.get("Alive") and n["NodeID"] != me]


def probe_nodes(location: str, nodes: list[dict[str, Any]], timeout_s: float = 120.0) -> dict[str, str]:
    """{node address: problem} for the nodes that cannot read `location` (one zero-CPU task pinned to each)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    task = ray.remote(num_cpus=0, max_retries=0)(_probe)
    refs = {
        n["NodeManagerAddress"] + f" ({n['NodeID'][:8]})": task.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote(location)
        for n in nodes
    }
    problems = {}
    for name, ref in refs.items():
        try:
            answer = ray.get(ref, timeout=timeout_s)
        except Exception as exc:  # the node died or never ran it
            answer = f"no answer ({type(exc).__name__})"
        if answer:
            problems[name] = answer
    return problems


def check_reachable(root: str, what: str = "cluster.storage", nodes: bool = True) -> str:
    """Fail at the door (StorageError) when results written under `root` would not reach the whole cluster.

    Refused: a relative storage inside a Ray job's copy of the repository (it vanishes with the job); a root the
    driver cannot write; on a Ray cluster of several nodes (when `nodes`), a path some node cannot read. Returns a
    one-line description of the storage.
    """
    copy = job_copy_root()
    if copy is not None and not is_uri(root) and Path(root).resolve().is_relative_to(copy):
        raise StorageError(
            f"{what} {root} is inside this Ray job's copy of the repository (--working-dir), which is deleted "
            "when the job ends. Give a path every node shares or a URI: --set cluster.storage=/mnt/aml100 or "
            "--set cluster.storage=s3://bucket/aml100 (docs/CLUSTER.md)."
        )
    probe = join(root, PROBE_DIR, uuid.uuid4().hex)
    try:
        write_text(probe, "aml100 storage probe\n")
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"{what} {root}: cannot write there from this machine ({exc})") from None
    try:
        others = []
        if nodes:
            import ray

            others = _other_nodes() if ray.is_initialized() else []
        problems = probe_nodes(probe, others) if others else {}
    finally:
        _remove(probe)
    if problems:
        lines = "\n  ".join(f"{node}: {why}" for node, why in problems.items())
        raise StorageError(
            f"{what} {root} is not reachable from every node of the Ray cluster:\n  {lines}\n"
            "Results, checkpoints and the registry must be on storage all nodes share: mount it at the same path "
            "on every node (NFS, a KubeRay volume) or use a URI (--set cluster.storage=s3://bucket/aml100); "
            "docs/CLUSTER.md."
        )
    return f"storage: {root} ({'URI' if is_uri(root) else 'path'}, reached from {len(others) + 1} node(s))"


def _remove(location: str) -> None:
    """Delete a probe file, and its folder when nothing else is in it."""
    try:
        if is_uri(location):
            fs, path = filesystem(location)
            fs.delete_file(path)
            folder = path.rsplit("/", 1)[0]
            if not list_dirs(location.rsplit("/", 1)[0]) and not fs.get_file_info(_selector(folder)):
                fs.delete_dir(folder)
        else:
            Path(location).unlink(missing_ok=True)
            Path(location).parent.rmdir()
    except Exception:  # a probe (or its folder) left behind is harmless
        pass


def _selector(folder: str) -> Any:
    import pyarrow.fs as pafs

    return pafs.FileSelector(folder, recursive=False)
