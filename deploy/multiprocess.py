"""The observatory's code location with steps in parallel subprocesses: the same assets, checks, jobs, schedules,
sensors and resources as ``pipelines.definitions``; only the executor differs (see docs/scaling.md).

    DAGSTER_HOME=/srv/dagster dagster-webserver -h 127.0.0.1 -f deploy/multiprocess.py
    dagster job launch -f deploy/multiprocess.py -j refresh_all -c deploy/refresh_all.run_config.yaml

``pipelines.definitions`` runs every run in one process (``in_process_executor``): all writes go to one DuckDB
file through the "warehouse" pool of 1, so on one machine a process per step only adds start-up time. Where
steps that do not write (downloads, other pool-free work) are worth overlapping, or runs are spread over
hosts, swap the executor here: ``multiprocess_executor`` (this file), ``dagster_celery.celery_executor`` or
``dagster_k8s.k8s_job_executor``. The pool still admits one writer at a time across every process and host.
"""

from __future__ import annotations

from dagster import Definitions, multiprocess_executor

from pipelines.definitions import defs as one_process


def with_executor(executor) -> Definitions:
    """``pipelines.definitions.defs`` with ``executor`` for every job (refresh_all included)."""
    return Definitions(
        assets=one_process.assets, asset_checks=one_process.asset_checks, jobs=one_process.jobs,
        schedules=one_process.schedules, sensors=one_process.sensors, resources=one_process.resources,
        loggers=one_process.loggers, metadata=one_process.metadata, executor=executor,
    )


defs = with_executor(multiprocess_executor)
