"""Turning Dagster's step-failure records into the message a person needs."""


def user_message(error) -> str:
    """The innermost cause of a Dagster ``SerializableErrorInfo``: the exception our code raised, not the wrapper."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()
