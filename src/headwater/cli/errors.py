"""The one user-facing error of the ``headwater`` command.

A leaf module (imports nothing from headwater) so every command module can import it at top level
without an import cycle through the dispatcher.
"""

from __future__ import annotations


class CommandError(Exception):
    """A failure to report to the user as one clear line (exit code 1), without a traceback."""


class UsageError(CommandError):
    """Wrong or missing arguments found after parsing (exit code 2, like argparse's own)."""
