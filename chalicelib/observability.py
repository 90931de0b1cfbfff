"""Powertools observability objects shared by routes, jobs and queue handlers."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="pulse")
tracer = Tracer(service="pulse")
metrics = Metrics(namespace="Pulse", service="pulse")
