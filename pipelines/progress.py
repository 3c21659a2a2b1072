"""A Dagster logger that forwards run events to the Python logger the `observatory build` progress bar listens on."""

import logging

from dagster import logger

PROGRESS_LOGGER = "observatory.build.progress"


@logger(description="Forwards Dagster events to the `observatory build` progress bar (silent when nothing listens).")
def progress_logger(_init_context) -> logging.Logger:
    return logging.getLogger(PROGRESS_LOGGER)
