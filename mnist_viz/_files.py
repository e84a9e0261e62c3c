"""Moving a finished temporary file into place."""

import os


def publish(tmp: str | os.PathLike, target: str | os.PathLike) -> None:
    """Give ``tmp`` ordinary permissions (mkstemp makes it private) and rename it
    to ``target`` in one atomic step."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, target)
