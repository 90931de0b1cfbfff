"""A thin fault injector: botocore event hooks on the project's own clients (SES, SQS through
``chalicelib.clients.client``) and on PynamoDB's botocore client, never edits to the code under
test.

* ``before`` faults raise a botocore ``ClientError`` before the request leaves (throttling or a
  transient 5xx, as if botocore's own retries were exhausted): the provider surely did nothing.
* ``after`` faults let the real call succeed, then raise :class:`LambdaDied` (a ``BaseException``,
  so no ``except Exception`` in the app sees it): the Lambda died after AWS accepted the request
  and before the app recorded it.

Faults are drawn from a seeded RNG; ``injected`` counts them per operation.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

THROTTLE_CODES = {
    "ses": ("Throttling", 400),
    "sqs": ("ThrottlingException", 400),
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
}


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

    def matches(self, service: str, operation: str) -> bool:
        return service == self.service and (not self.operations or operation in self.operations)


class Injector:
    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.rules: list[Rule] = []
        self.injected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.enabled = True
        self._hooked: set[int] = set()

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
    ) -> Injector:
        self.rules.append(Rule(service, frozenset(operations), rate, when, code, status))
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
            hit = rule.when == when and rule.matches(service, operation)
            if hit and self.rng.random() < rule.rate:
                self.injected[f"{service}.{operation}.{when}"] += 1
                return rule
        return None

    def _before(self, service: str) -> Any:
        def hook(model: Any, **_: Any) -> None:
            operation = model.name
            self.calls[f"{service}.{operation}"] += 1
            rule = self._draw(service, operation, "before")
            if rule is None:
                return
            code, status = (
                (rule.code, rule.status) if rule.code else THROTTLE_CODES.get(service, ("X", 400))
            )
            raise ClientError(
                {
                    "Error": {"Code": code, "Message": "injected fault"},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                },
                operation,
            )

        return hook

    def _after(self, service: str) -> Any:
        def hook(model: Any, **_: Any) -> None:
            if self._draw(service, model.name, "after") is not None:
                raise LambdaDied(f"{service}.{model.name} succeeded, then the Lambda died")

        return hook

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
