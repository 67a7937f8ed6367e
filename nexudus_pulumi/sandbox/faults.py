"""The misbehaviour the sandbox can be told to inject: latency, 503s, Nexudus's transient 500s,
answers lost after a commit, slow commits and slow answers.

A `SandboxState` holds one as the attribute `faults`: tests change its rates while the sandbox
serves (like `Fidelity`), and `nexudus-pulumi sandbox` sets them from its flags.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Injected misbehaviour; rates are probabilities per request.

    Each draw is keyed by the seed, the kind of fault and the request's ordinal among those
    that could suffer it (the 7th POST that reached the error check, the 12th committed
    create), never by a shared random stream. Concurrent requests interleave differently from
    one run to the next; keyed draws keep the same faults on the same ordinals, so a run with a
    given seed sees the same number of each fault, whatever the thread timing.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    """Answer 503 instead of serving the request (nothing is written); drawn per method."""
    transient_500_rate: float = 0.0
    """Answer Nexudus's transient 500, the plain body `{"Message": "Ooops! ..."}` without
    `WasSuccessful` (nothing is written); drawn over every request, whatever its method."""
    error_burst: int = 1
    """How many consecutive requests an error fault (503 or 500) hits once drawn: Nexudus's
    500s come in bursts. The ordinal `n` fails when any of the ordinals `n - error_burst + 1`
    to `n` drew the fault, so bursts stay keyed by ordinal (overlapping bursts merge)."""
    drop_after_commit_rate: float = 0.0
    """On POST: commit the record, then close the connection without answering."""
    commit_delay_ms: float = 0.0
    """On POST: wait this long before committing the record, then answer. A client whose
    timeout is shorter gives up while the record still lands."""
    answer_delay_ms: float = 0.0
    """On POST: commit the record, then wait this long before answering. A run killed in
    that window leaves a record Nexudus holds and Pulumi never heard of."""
    seed: int = 0
    _ordinals: Counter[str] = field(default_factory=Counter, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def roll(self, rate: float, kind: str, burst: int = 1) -> bool:
        """Whether the next request of `kind` (for example "GET error") suffers the fault: it
        did, or one of the `burst - 1` requests of that kind before it did."""
        if rate <= 0:
            return False
        with self._lock:
            self._ordinals[kind] += 1
            ordinal = self._ordinals[kind]
        first = max(1, ordinal - max(1, burst) + 1)
        return any(
            random.Random(f"{self.seed}/{kind}/{n}").random() < rate
            for n in range(first, ordinal + 1)
        )
