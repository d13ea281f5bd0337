"""What the service additions share: time-based status transitions and the hook into moto's URLs.

Transitions. AWS takes minutes to upgrade a cluster or resize a cache; the double takes
`EMULATOR_TRANSITION_SECONDS` (default 1 s). A handler that starts a change puts the resource in its
transitional status ("UPDATING", "modifying", "upgrading") and schedules the change's completion on
the shared `timeline`. Nothing runs in the background: every request to an extended service first
applies the completions that have fallen due (`SettlesTransitions`), so a reader always sees the
state the clock implies, and an emulator nobody calls does nothing.

Hook. moto's server builds one Flask app per service from `moto.<service>.urls.url_paths` (a dict
of URL regular expression -> handler) the first time a request for that service arrives; each
handler is a `BaseResponse.dispatch`, which finds the operation from the botocore model and calls
the response method of the same name. `extend_urls` points every URL of a service at a subclass of
moto's response class and adds the URLs of the new operations, before the server starts: moto's
own operations keep their code (inherited), the new ones are methods of the subclass, and both use
the same backend objects.
"""

import heapq
import itertools
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

DELAY_VARIABLE = "EMULATOR_TRANSITION_SECONDS"
DEFAULT_DELAY_SECONDS = 1.0


def transition_seconds() -> float:
    """How long a transitional status lasts (the environment's `EMULATOR_TRANSITION_SECONDS`)."""
    return float(os.environ.get(DELAY_VARIABLE) or DEFAULT_DELAY_SECONDS)


class Timeline:
    """Changes due at a moment, applied in order by the first request that arrives after it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def after_delay(self, change: Callable[[], None]) -> None:
        """Applies `change` once the transition delay has passed."""
        due = time.monotonic() + transition_seconds()
        with self._lock:
            heapq.heappush(self._due, (due, next(self._order), change))

    def settle(self) -> None:
        """Applies every change that is due, earliest first."""
        with self._lock:
            now = time.monotonic()
            while self._due and self._due[0][0] <= now:
                _, _, change = heapq.heappop(self._due)
                change()


timeline = Timeline()


class SettlesTransitions:
    """Mixin for a moto response class: every request sees the transitions that are due."""

    def call_action(self) -> Any:
        timeline.settle()
        return super().call_action()  # type: ignore[misc]


def extend_urls(urls: ModuleType, response_class: type, extra_paths: Iterable[str] = ()) -> None:
    """Routes every URL of a moto service (its `urls` module), and `extra_paths`, to `response_class`."""
    for path in [*urls.url_paths, *extra_paths]:
        urls.url_paths[path] = response_class.dispatch  # type: ignore[attr-defined]


def version_key(version: str) -> tuple[int, ...]:
    """The numbers of a version string, for ordering: "16.3" -> (16, 3), "7.0.5" -> (7, 0, 5)."""
    return tuple(int(number) for number in re.findall(r"\d+", version))



def pending_values(resource: Any) -> dict[str, Any]:
    """The `PendingModifiedValues` of a moto model object (moto's models keep none of their own;
    its serializer renders this attribute)."""
    if getattr(resource, "pending_modified_values", None) is None:
        resource.pending_modified_values = {}
    return resource.pending_modified_values
