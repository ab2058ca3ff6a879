"""What operations features are on, read from the environment once.

Kept apart from `Settings` because these switches decide what gets imported at
all: an off switch must keep prometheus_client and OpenTelemetry off the Lambda
cold path, so they are read before anything heavy loads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

import msgspec

Platform = Literal["local", "cloudrun", "lambda"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={raw!r}: expected on/off, true/false or 1/0")


def _rate(env: Mapping[str, str], name: str) -> float:
    raw = env.get(name, "1")
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 1:
        raise ValueError(f"{name}={raw!r}: expected a number from 0 to 1")
    return rate


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if count < 0:
        raise ValueError(f"{name}={raw!r}: expected a whole number, 0 or more")
    return count


def detect_platform(env: Mapping[str, str]) -> Platform:
    if "AWS_LAMBDA_FUNCTION_NAME" in env:
        return "lambda"
    if "K_SERVICE" in env:  # set by Cloud Run services (and Knative)
        return "cloudrun"
    return "local"


def _in_container() -> bool:
    return os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv")


class OpsConfig(msgspec.Struct, frozen=True, kw_only=True):
    platform: Platform = "local"
    #: Prometheus at /metrics (EMF lines on stdout on Lambda).
    metrics: bool = True
    #: One JSON (or text) line per request.
    access_log: bool = True
    #: The share of successful requests that get a line; refusals and errors always do.
    access_log_sample_rate: float = 1.0
    #: Lines a second for each kind of request before one line stands for this many
    #: requests (`cloudmcp.ops.sampling`); 0: a line for every request.
    access_log_per_second: int = 100
    log_format: Literal["json", "text"] = "text"
    log_level: str = "INFO"
    tracing: bool = False
    #: Cloud Logging links log lines to traces of this project.
    gcp_project: str | None = None
    #: CloudWatch namespace for EMF metrics.
    emf_namespace: str = "cloudmcp"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, platform: Platform | None = None
    ) -> OpsConfig:
        env = os.environ if env is None else env
        where = platform or detect_platform(env)
        container = where != "local" or _in_container()
        log_format = env.get("LOG_FORMAT", "json" if container else "text").strip().lower()
        if log_format not in ("json", "text"):
            raise ValueError(f"LOG_FORMAT={log_format!r}: expected json or text")
        tracing = _flag(env, "OTEL_ENABLED", bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT")))
        return cls(
            platform=where,
            metrics=_flag(env, "METRICS", True),
            access_log=_flag(env, "ACCESS_LOG", True),
            access_log_sample_rate=_rate(env, "ACCESS_LOG_SAMPLE_RATE"),
            access_log_per_second=_count(env, "ACCESS_LOG_PER_SECOND", 100),
            log_format="json" if log_format == "json" else "text",
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            tracing=tracing,
            gcp_project=env.get("GOOGLE_CLOUD_PROJECT") or env.get("GCP_PROJECT") or None,
            emf_namespace=env.get("EMF_NAMESPACE", "cloudmcp"),
        )
