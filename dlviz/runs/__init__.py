"""The run store on disk: ``$DLVIZ_HOME/runs`` (default ``~/.dlviz/runs``), one folder per run.

A run folder (its name is the run id) holds:

- ``config.json`` and ``status.json`` (who trains it: pid, host, start time), written when the
  run starts (`start_run`): both are written into a hidden folder that is then renamed into place,
  so a run folder never exists without them;
- ``metrics.json`` (per-epoch history), saved every few seconds while the run trains
  (`save_metrics`), so a run cut off keeps its curves;
- ``weights.safetensors`` and, last, ``summary.json``, written when the run ends (`save_run`).
  A folder without ``summary.json`` is a run that did not finish: *running* while its process
  lives, *interrupted* once it is gone;
- ``meta.json``: what a person changed afterwards (name, tags).

Every file is written atomically (temp file, then rename). ``summary.json`` and ``status.json``
carry the fields a Runs table shows, so `list_runs` reads one small file per run (plus
``meta.json`` where there is one), never metrics or weights. A damaged or foreign folder is listed
as *unreadable* with the reason; reading the store never raises for what is in it.

The parts: `store` (a run's folder: its files, writing them, the process that trains it),
`listing` (rows of the store), `restore` (a run read back: curves, weights), `edits` (name,
tags, deletion) and `archive` (a run as a ZIP). Everything public is re-exported here:
``from dlviz import runs; runs.list_runs()``.
"""

from __future__ import annotations

from dlviz.runs.archive import (
    export_run,
    import_run,
)
from dlviz.runs.edits import (
    delete_run,
    mark_owner_told,
    rename_run,
    set_tags,
)
from dlviz.runs.listing import (
    _row,
    list_runs,
    run_row,
)
from dlviz.runs.restore import (
    StoredRun,
    load_run,
    load_weights,
    metrics_csv,
)
from dlviz.runs.store import (
    CONFIG,
    FORMAT_VERSION,
    MAX_IMPORT_BYTES,
    MAX_JSON_BYTES,
    MAX_NAME,
    MAX_TAG,
    MAX_TAGS,
    MAX_WEIGHTS_BYTES,
    META,
    METRICS,
    METRICS_COLUMNS,
    ROW_FIELDS,
    RUN_FILES,
    RUN_ID,
    STATUS,
    SUMMARY,
    WEIGHTS,
    RunNotFound,
    RunStoreError,
    _process_identity,
    atomic_write_bytes,
    atomic_write_json,
    default_root,
    describe_config,
    new_run_id,
    run_folder,
    save_metrics,
    save_run,
    start_run,
)

__all__ = [
    "CONFIG",
    "FORMAT_VERSION",
    "MAX_IMPORT_BYTES",
    "MAX_JSON_BYTES",
    "MAX_NAME",
    "MAX_TAG",
    "MAX_TAGS",
    "MAX_WEIGHTS_BYTES",
    "META",
    "METRICS",
    "METRICS_COLUMNS",
    "ROW_FIELDS",
    "RUN_FILES",
    "RUN_ID",
    "RunNotFound",
    "RunStoreError",
    "STATUS",
    "SUMMARY",
    "StoredRun",
    "WEIGHTS",
    "_process_identity",
    "_row",
    "atomic_write_bytes",
    "atomic_write_json",
    "default_root",
    "delete_run",
    "describe_config",
    "export_run",
    "import_run",
    "list_runs",
    "load_run",
    "load_weights",
    "mark_owner_told",
    "metrics_csv",
    "new_run_id",
    "rename_run",
    "run_folder",
    "run_row",
    "save_metrics",
    "save_run",
    "set_tags",
    "start_run",
]
