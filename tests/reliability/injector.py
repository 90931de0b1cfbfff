"""A thin fault injector: botocore event hooks on the project's own clients (SES, SQS through
``chalicelib.clients.client``) and on PynamoDB's botocore client, never edits to the code under
test.

* ``before`` faults raise before the request leaves, as if botocore's own retries were exhausted:
  a ``ClientError`` (``throttle``, or ``error`` with a code and status such as a transient 5xx) or
  an ``EndpointConnectionError`` (``connection``). The provider surely did nothing.
* ``after`` faults let the real call succeed, then raise: ``died`` raises :class:`LambdaDied` (a
  ``BaseException``, so no ``except Exception`` in the app sees it: the Lambda died after AWS
  accepted the request and before the app recorded it); ``timeout`` raises botocore's
  ``ReadTimeoutError`` to the app (the answer was lost on the way back).

Faults are drawn from a seeded RNG, or armed for the next matching calls (``fail_next``). The
injector counts what happened: ``calls`` (attempted, per operation), ``accepted`` (the provider
answered 2xx, whatever was raised afterwards), ``injected`` (per operation and when) and ``kinds``
(per service and fault). Every exception it raises is remembered, so :func:`Injector.caused`
tells an injected fault (also when the app wrapped it) from a real error.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

THROTTLE_CODES = {
    "ses": ("Throttling", 400),
    "sqs": ("ThrottlingException", 400),
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
}


FAULTS = {"before": ("throttle", "error", "connection"), "after": ("died", "timeout")}


class LambdaDied(BaseException):
    """The function's process ended here (timeout, OOM, crash): nothing after it ran."""


@dataclass
class Rule:
    service: str
    operations: frozenset[str]  # botocore operation names; empty: every operation
    rate: float
    when: str = "before"  # "before" | "after"
    code: str | None = None
    status: int = 400
    fault: str = "throttle"  # see FAULTS
    remaining: int | None = None  # armed for this many matching calls (then spent), else rate

    def matches(self, service: str, operation: str) -> bool:
        return service == self.service and (not self.operations or operation in self.operations)


class Injector:
    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.rules: list[Rule] = []
        self.injected: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.enabled = True
        self._hooked: set[int] = set()
        self._raised: list[BaseException] = []

    # -------------------------------------------------------------------- rules

    def add(
        self,
        service: str,
        operations: tuple[str, ...] | list[str] = (),
        *,
        rate: float,
        when: str = "before",
        code: str | None = None,
        status: int = 400,
        fault: str | None = None,
    ) -> Injector:
        fault = fault or ("error" if code else "throttle" if when == "before" else "died")
        assert fault in FAULTS[when], (when, fault)
        self.rules.append(Rule(service, frozenset(operations), rate, when, code, status, fault))
        return self

    def fail_next(
        self,
        service: str,
        operation: str,
        times: int = 1,
        *,
        when: str = "before",
        fault: str | None = None,
    ) -> Injector:
        """Fail the next ``times`` calls of one operation (deterministic; ahead of rate rules)."""
        fault = fault or ("throttle" if when == "before" else "died")
        assert fault in FAULTS[when], (when, fault)
        rule = Rule(service, frozenset([operation]), 1.0, when, fault=fault, remaining=times)
        self.rules.insert(0, rule)
        return self

    def caused(self, exc: BaseException | None) -> bool:
        """Whether ``exc`` is, or was raised while handling, a fault this injector raised."""
        seen: set[int] = set()
        while exc is not None and id(exc) not in seen:
            seen.add(id(exc))
            if any(exc is raised for raised in self._raised):
                return True
            cause = getattr(exc, "cause", None)  # PynamoDB keeps botocore's error here
            if isinstance(cause, BaseException) and self.caused(cause):
                return True
            exc = exc.__cause__ or exc.__context__
        return False

    def clear(self) -> Injector:
        """Drop every rule (the counts stay): the next phase of a test fails differently."""
        self.rules = []
        return self

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    @contextmanager
    def paused(self) -> Iterator[None]:
        before, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = before

    # -------------------------------------------------------------------- hooks

    def _draw(self, service: str, operation: str, when: str) -> Rule | None:
        if not self.enabled:
            return None
        for rule in self.rules:
            if rule.when != when or not rule.matches(service, operation):
                continue
            if rule.remaining is not None:
                if rule.remaining <= 0:
                    continue
                rule.remaining -= 1
            elif self.rng.random() >= rule.rate:
                continue
            self.injected[f"{service}.{operation}.{when}"] += 1
            self.kinds[f"{service}.{rule.fault}"] += 1
            return rule
        return None

    def _raise(self, exc: BaseException) -> None:
        self._raised.append(exc)
        raise exc

    def _before(self, service: str) -> Any:
        def hook(model: Any, **_: Any) -> None:
            if not self.enabled:
                return
            operation = model.name
            self.calls[f"{service}.{operation}"] += 1
            rule = self._draw(service, operation, "before")
            if rule is None:
                return
            if rule.fault == "connection":
                self._raise(EndpointConnectionError(endpoint_url=f"https://{service}.injected"))
            code, status = (
                (rule.code, rule.status) if rule.code else THROTTLE_CODES.get(service, ("X", 400))
            )
            self._raise(
                ClientError(
                    {
                        "Error": {"Code": code, "Message": "injected fault"},
                        "ResponseMetadata": {"HTTPStatusCode": status},
                    },
                    operation,
                )
            )

        return hook

    def _after(self, service: str) -> Any:
        def hook(model: Any, http_response: Any = None, **_: Any) -> None:
            status = getattr(http_response, "status_code", 200)
            if not self.enabled or status >= 300:
                return  # the provider refused it: botocore raises its own error
            self.accepted[f"{service}.{model.name}"] += 1
            rule = self._draw(service, model.name, "after")
            if rule is None:
                return
            if rule.fault == "timeout":
                self._raise(ReadTimeoutError(endpoint_url=f"https://{service}.injected"))
            self._raise(LambdaDied(f"{service}.{model.name} succeeded, then the Lambda died"))

        return hook

    def figures(self) -> dict[str, Any]:
        """What was injected and what the providers did, for test-output/reliability.json."""
        return {
            "injected": self.total,
            "by_operation": dict(sorted(self.injected.items())),
            "by_fault": dict(sorted(self.kinds.items())),
            "calls": dict(sorted(self.calls.items())),
            "accepted": dict(sorted(self.accepted.items())),
        }

    def attach(self, botocore_client: Any, service: str) -> None:
        if id(botocore_client) in self._hooked:
            return
        self._hooked.add(id(botocore_client))
        events = botocore_client.meta.events
        prefix = botocore_client.meta.service_model.service_name
        events.register(
            f"before-call.{prefix}", self._before(service), unique_id=f"inj-b-{id(self)}"
        )
        events.register(f"after-call.{prefix}", self._after(service), unique_id=f"inj-a-{id(self)}")

    def detach(self, botocore_client: Any) -> None:
        events = botocore_client.meta.events
        prefix = botocore_client.meta.service_model.service_name
        events.unregister(f"before-call.{prefix}", unique_id=f"inj-b-{id(self)}")
        events.unregister(f"after-call.{prefix}", unique_id=f"inj-a-{id(self)}")
        self._hooked.discard(id(botocore_client))


@contextmanager
def injected(injector: Injector) -> Iterator[Injector]:
    """Hook the injector into the app's SES and SQS clients and every PynamoDB connection."""
    from pynamodb.connection import base

    from chalicelib.clients import client

    hooked = [client("ses"), client("sqs")]
    for c, name in zip(hooked, ("ses", "sqs"), strict=True):
        injector.attach(c, name)
    original = base.Connection._make_api_call
    dynamo_clients: list[Any] = []

    def make_api_call(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        botocore_client = self.client
        if id(botocore_client) not in injector._hooked:
            injector.attach(botocore_client, "dynamodb")
            dynamo_clients.append(botocore_client)
        return original(self, operation_name, operation_kwargs)

    base.Connection._make_api_call = make_api_call  # type: ignore[method-assign]
    try:
        yield injector
    finally:
        base.Connection._make_api_call = original  # type: ignore[method-assign]
        for c in hooked + dynamo_clients:
            injector.detach(c)
