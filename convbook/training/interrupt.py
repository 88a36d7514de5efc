"""Ctrl-C during training: finish the current step, save, then stop.

:class:`StopRequest` turns the first Ctrl-C (SIGINT, or Jupyter's stop button) into a request
that the training loop reads after every step; a second Ctrl-C stops at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StopRequest:
    """Turns the first Ctrl-C (SIGINT) into a request to stop after the current step.

    A second Ctrl-C raises ``KeyboardInterrupt`` at once.  Outside the main thread (where
    Python cannot install signal handlers) Ctrl-C raises as usual.  With ``agreed=True``
    (data-parallel runs) a Ctrl-C only sets ``signalled``; the training loop sets ``requested``
    once the processes have agreed to stop, so that all of them stop after the same step.
    """

    def __init__(self, agreed: bool = False) -> None:
        self.requested = False
        self.signalled = False
        self.agreed = agreed

    @contextmanager
    def installed(self) -> Iterator[StopRequest]:
        """Inside: Ctrl-C sets the request instead of raising (the previous handler after)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum, frame):
            if self.signalled:
                raise KeyboardInterrupt
            self.signalled = True
            self.requested = self.requested or not self.agreed

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
