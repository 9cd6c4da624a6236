"""Errors a user can cause: each prints as one line naming the file and the problem."""


class UserError(ValueError):
    """A problem with the user's input (a file, a value), not a bug.

    Front ends show ``str(err)`` as is: one line, no traceback.
    """


class VideoError(UserError):
    """A video file cannot be opened or read."""


class ParamsError(UserError):
    """A parameter value or a sidecar parameter file is invalid."""
