"""`just gc`: retention. Keeps the newest data versions of raw, quarantine and processed and the
newest training runs (every candidate version a run registered, with its report), never what is
in use; a dry run unless `--apply`.

Kept, whatever their age:

- data versions: the newest `TAMALES_KEEP_DATA_VERSIONS`, every version the published warehouse
  was built from, the version the next transform would build (the latest landed for every
  table), and the training data version of the promoted model and of the published forecasts;
- training runs (`models/runs/<run_id>.json` and the versions it names; a version no record
  names counts as a run of its own): the newest `TAMALES_KEEP_MODELS`, and every run holding the
  promoted version (`models/current`) or the one whose forecasts are published (`ml.forecasts`).
  A run is kept or deleted whole, so a kept run record never names a deleted version.

A deleted data version is removed from the ingest state too, so it is no longer landed; if the
source still holds it, the next ingest lands it again (keep the source's own retention in step).
gc takes the ingest, training and publish locks, so it never deletes under a running stage.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tamales_inc.core.cli import make_parser, run_command
from tamales_inc.core.files import exclusive_lock, is_temp, remove_path, write_json_atomic
from tamales_inc.core.settings import Settings
from tamales_inc.core.versions import is_version
from tamales_inc.forecasting.cli import LOCK_FILE as TRAIN_LOCK_FILE
from tamales_inc.forecasting.registry import RUNS_DIR
from tamales_inc.operations.published import read_current_model, read_published
from tamales_inc.warehouse.landed import landed
from tamales_inc.warehouse.publish import publish_lock

PROG = "gc"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deletion:
    """One folder gc deletes, its size and why it goes."""

    path: Path
    size: int
    reason: str


@dataclass
class GcPlan:
    """What to delete, what is kept and why."""

    deletions: list[Deletion] = field(default_factory=list)
    kept_data_versions: dict[str, str] = field(default_factory=dict)
    kept_runs: dict[str, str] = field(default_factory=dict)
    kept_models: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(deletion.size for deletion in self.deletions)


def tree_size(path: Path) -> int:
    """Bytes of the files under `path` (or of the file)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def format_size(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} B"


def data_version_folders(settings: Settings) -> dict[str, list[Path]]:
    """Each data version's folders: `<raw, quarantine or processed>/<source>/<version>`."""
    found: dict[str, list[Path]] = {}
    for root in (settings.raw_dir, settings.quarantine_dir, settings.processed_dir):
        for folder in sorted(root.glob("*/*")):
            if folder.is_dir() and is_version(folder.name):
                found.setdefault(folder.name, []).append(folder)
    return found


def model_folders(settings: Settings) -> dict[str, list[Path]]:
    """Each model version's folders: `models/<version>/` and `reports/<version>/`."""
    found: dict[str, list[Path]] = {}
    for root in (settings.models_dir, settings.reports_dir):
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if (
                folder.is_dir()
                and not folder.name.startswith(".")
                and not is_temp(folder)
                and not (root == settings.models_dir and folder.name == RUNS_DIR)
            ):
                found.setdefault(folder.name, []).append(folder)
    return found


@dataclass(frozen=True)
class TrainingRunFiles:
    """One training run in the registry: its record (None for a version no record names) and
    the versions it registered."""

    run_id: str
    versions: frozenset[str]
    record: Path | None

    @property
    def order(self) -> str:
        """Versions start with their UTC training time, so the oldest one orders the runs."""
        return min(self.versions)


def training_runs(settings: Settings, versions: set[str]) -> list[TrainingRunFiles]:
    """The registry's training runs, oldest first; `versions` are the version folders found."""
    runs: list[TrainingRunFiles] = []
    named: set[str] = set()
    for path in sorted((settings.models_dir / RUNS_DIR).glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        found = {*record.get("candidates", {}).values(), record.get("champion_version")}
        registered = frozenset(v for v in found if isinstance(v, str))
        runs.append(TrainingRunFiles(str(record.get("run_id", path.stem)), registered, path))
        named |= registered
    runs += [TrainingRunFiles(v, frozenset({v}), None) for v in sorted(versions - named)]
    return sorted((run for run in runs if run.versions), key=lambda run: (run.order, run.run_id))


def protected(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """The data versions and model versions in use, each with why."""
    data: dict[str, str] = {}
    models: dict[str, str] = {}
    published = read_published(settings)
    if published is not None:
        for version in published.data_versions:
            data[version] = "the published warehouse's data"
        for version in published.forecast_models:
            models[version] = "its forecasts are published"
        if published.last_run is not None:
            models.setdefault(published.last_run.model_version, "the published training run")
            trained_on = published.last_run.training_data_version
            if trained_on:
                data.setdefault(trained_on, "the published forecasts were trained on it")
    current = read_current_model(settings)
    if current is not None:
        models[current.version] = "the promoted model"
        if current.training_data_version:
            data.setdefault(current.training_data_version, "the promoted model was trained on it")
    common = landed(settings).common()
    if common:
        data.setdefault(common[-1], "the next transform builds it")
    return data, models


def _keep(found: list[str], newest: int, in_use: dict[str, str]) -> dict[str, str]:
    kept = {name: f"one of the newest {newest}" for name in sorted(found)[-newest:]}
    return {**kept, **{name: why for name, why in in_use.items() if name in found}}


def plan_gc(settings: Settings) -> GcPlan:
    """What gc would delete now (the caller holds the locks, see `gc_locks`)."""
    data_in_use, models_in_use = protected(settings)
    data = data_version_folders(settings)
    models = model_folders(settings)
    runs = training_runs(settings, set(models))
    plan = GcPlan(
        kept_data_versions=_keep(list(data), settings.keep_data_versions, data_in_use),
        kept_runs=_kept_runs(runs, settings.keep_models, models_in_use),
    )
    for run in runs:
        if run.run_id in plan.kept_runs:
            for version in sorted(run.versions):
                plan.kept_models.setdefault(
                    version, models_in_use.get(version, f"in {plan.kept_runs[run.run_id]}")
                )
    for version, folders in sorted(data.items()):
        if version not in plan.kept_data_versions:
            plan.deletions += [
                Deletion(folder, tree_size(folder), f"data version {version}") for folder in folders
            ]
    for version, folders in sorted(models.items()):
        if version not in plan.kept_models:
            plan.deletions += [
                Deletion(folder, tree_size(folder), f"model version {version}")
                for folder in folders
            ]
    for run in runs:
        if run.record is not None and run.run_id not in plan.kept_runs:
            plan.deletions.append(
                Deletion(run.record, tree_size(run.record), f"training run {run.run_id}")
            )
    return plan


def _kept_runs(
    runs: list[TrainingRunFiles], newest: int, models_in_use: dict[str, str]
) -> dict[str, str]:
    """The runs to keep, each with why: the newest `newest`, and every run holding a version in
    use."""
    kept = {run.run_id: f"one of the newest {newest} training runs" for run in runs[-newest:]}
    for run in runs:
        in_use = sorted(run.versions & models_in_use.keys())
        if in_use and run.run_id not in kept:
            kept[run.run_id] = f"the training run of {in_use[0]} ({models_in_use[in_use[0]]})"
    return kept


@contextmanager
def gc_locks(settings: Settings) -> Iterator[None]:
    """Hold the ingest lock and the training lock (failing at once, naming the holder, when a
    run holds one) and the publish lock (waiting for a build to finish)."""
    with ExitStack() as stack:
        stack.enter_context(exclusive_lock(settings.ingest_lock_path, PROG))
        stack.enter_context(exclusive_lock(settings.models_dir / TRAIN_LOCK_FILE, PROG))
        stack.enter_context(publish_lock(settings, PROG))
        yield


def apply_gc(settings: Settings, plan: GcPlan) -> None:
    """Delete exactly the planned folders; drop deleted raw versions from the ingest state first
    (so a failure part-way leaves no landed table without its file)."""
    raw = {
        (deletion.path.parent.name, deletion.path.name)
        for deletion in plan.deletions
        if deletion.path.parent.parent == settings.raw_dir
    }
    forget_landed(settings, raw)
    for deletion in plan.deletions:
        remove_path(deletion.path)
        log.debug("deleted %s", deletion.path)


def forget_landed(settings: Settings, versions: set[tuple[str, str]]) -> None:
    """Drop the ingest state's records of these (source, version) pairs, every other field of
    the state file kept as it is (its format is the ingest's, `ingest.manifest`)."""
    path = settings.ingest_state_path
    if not versions or not path.is_file():
        return
    state = json.loads(path.read_text(encoding="utf-8"))
    state["tables"] = {
        key: record
        for key, record in state["tables"].items()
        if (record.get("source"), record.get("version")) not in versions
    }
    write_json_atomic(path, state)


def _relative(settings: Settings, path: Path) -> str:
    return os.path.relpath(path, settings.home)


def _command(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    with gc_locks(settings):
        plan = plan_gc(settings)
        verb = "deleted" if args.apply else "would delete"
        for deletion in plan.deletions:
            print(
                f"{PROG}: {verb} {_relative(settings, deletion.path)} "
                f"({format_size(deletion.size)}, {deletion.reason})"
            )
        if args.apply:
            apply_gc(settings, plan)
    kept = (
        f"kept {len(plan.kept_data_versions)} data version(s) "
        f"({', '.join(sorted(plan.kept_data_versions)) or 'none'}) and "
        f"{len(plan.kept_runs)} training run(s) ({len(plan.kept_models)} model version(s))"
    )
    if not plan.deletions:
        print(f"{PROG}: nothing to delete; {kept}")
    elif args.apply:
        print(f"{PROG}: freed {format_size(plan.size)} in {len(plan.deletions)} folders; {kept}")
    else:
        print(
            f"{PROG}: would free {format_size(plan.size)} in {len(plan.deletions)} folders; "
            f"{kept}; run `just gc --apply` to delete them"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(
        PROG,
        "Delete old data versions (raw, quarantine, processed) and training runs (every model "
        "version a run registered, with its report), keeping the newest "
        "TAMALES_KEEP_DATA_VERSIONS / TAMALES_KEEP_MODELS and everything in use. A dry run "
        "unless --apply.",
    )
    parser.add_argument("--apply", action="store_true", help="delete (default: only list)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m tamales_inc.operations.gc [--apply]`."""
    return run_command(PROG, build_parser(), _command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
