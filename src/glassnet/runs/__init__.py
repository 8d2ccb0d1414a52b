"""Training runs: the whole life of one, and the folder it leaves behind.

- :mod:`~glassnet.runs.execute`: :func:`run` and :func:`resume`, a run from settings to saved model,
  callable from Python with a :class:`~glassnet.settings.RunSettings` and a folder; ``glassnet
  train`` only parses its options and prints what these return.
- :mod:`~glassnet.runs.folder`: the files a run folder holds (settings, history, model, checkpoint),
  and reading them back.
"""

from glassnet.runs.execute import RunInterrupted, RunResult, resume, run
from glassnet.runs.folder import (
    CHECKPOINT,
    HISTORY_CSV,
    HISTORY_JSON,
    LOCK,
    MODEL,
    SETTINGS,
    RunBusyError,
    RunLock,
    RunSummary,
    check_recordable,
    list_runs,
    new_run_dir,
    open_run_file,
    read_history,
    read_settings,
    running,
    summarize,
    to_toml,
    write_history,
    write_settings,
)

__all__ = [
    "CHECKPOINT",
    "HISTORY_CSV",
    "HISTORY_JSON",
    "LOCK",
    "MODEL",
    "SETTINGS",
    "RunBusyError",
    "RunInterrupted",
    "RunLock",
    "RunResult",
    "RunSummary",
    "check_recordable",
    "list_runs",
    "new_run_dir",
    "open_run_file",
    "read_history",
    "read_settings",
    "resume",
    "run",
    "running",
    "summarize",
    "to_toml",
    "write_history",
    "write_settings",
]
