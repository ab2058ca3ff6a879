"""A safe release on each cloud: probe the new revision, move traffic in steps, roll back.

    release.py gcp --project P --region R --service S --tag T --steps 10,50,100 [...]
    release.py aws --region R --function F --image-uri URI --steps 10,50,100 [...]

Cloud Run: the new revision was deployed with `--no-traffic --tag T`. It is probed at its
tagged URL; then each step gives it a share of traffic, waits, counts the revision's 5xx
answers in Cloud Monitoring (its alarm) and probes it again. A failed probe or too many errors
put traffic back exactly as it was and remove the tag.

Lambda (the Terraform path): the image becomes a new published version, which the `candidate`
alias (with its own Function URL) points at for the probe; then the `live` alias sends it a
weighted share at each step while its alarms (by executed version) and probes stay clean. A
failure points `live` back at the previous version alone.

When auth is on, the probe's credential is the first key of the API keys secret, read from the
cloud's secret store and sent as a bearer token; it never appears in an argument list or a log.

The cloud pipeline runs this file as rendered into `release/`, beside the slice of cloudmcp it
needs (the probe and the exception tree, which use only the standard library), in the cloud
CLI images, where cloudmcp's dependencies are not installed. Every cloud action is a `gcloud`
or `aws` call.
"""

from __future__ import annotations

import argparse
import json
import subprocess  # nosec B404 - runs the cloud CLIs with argument lists, never a shell
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudmcp.ops import probe


class ReleaseError(Exception):
    """A step failed; traffic has been put back."""


def say(message: str) -> None:
    print(f"release: {message}", flush=True)


class Cli:
    """Runs one cloud CLI; its JSON output parsed."""

    def __init__(self, program: str) -> None:
        self.program = program

    def run(self, *args: str) -> str:
        say(f"{self.program} {' '.join(args)}")
        result = subprocess.run(  # nosec B603 - fixed program, argument list
            [self.program, *args], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise ReleaseError(
                f"{self.program} {args[0]} {args[1] if len(args) > 1 else ''} failed "
                f"({result.returncode}): {result.stderr.strip()[-500:]}"
            )
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args) or "null")

    def secret(self, *args: str) -> str:
        """Output that is a secret: never echoed."""
        result = subprocess.run(  # nosec B603 - fixed program, argument list
            [self.program, *args], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise ReleaseError(f"{self.program}: reading the probe's credential failed")
        return result.stdout.strip()


def first_api_key(secret_value: str) -> str:
    """The key part of the first `KEY[:PRINCIPAL[:SCOPES]]` entry of an API_KEYS value."""
    entries = [e.strip() for e in secret_value.replace("\n", ",").split(",") if e.strip()]
    if not entries:
        raise ReleaseError("the API keys secret is empty: the probe has no credential")
    return entries[0].split(":", 1)[0]


class Prober:
    def __init__(self, mcp_path: str, health_path: str, credential: str | None) -> None:
        self.mcp_path = mcp_path
        self.health_path = health_path
        self.headers = {"authorization": f"Bearer {credential}"} if credential else {}

    def check(self, base_url: str, what: str) -> None:
        base = base_url.rstrip("/")
        target = probe.probe(
            base + self.mcp_path, headers=self.headers, health_url=base + self.health_path
        )
        for step in target.steps:
            say(f"  {'ok  ' if step.ok else 'FAIL'} {step.step}: {step.detail}")
        if not target.ok:
            raise ReleaseError(f"probe of {what} failed")
        say(f"probe of {what}: ok")


def _percentages(text: str) -> list[int]:
    steps = [int(part) for part in text.split(",") if part.strip()]
    if not steps or steps != sorted(steps) or steps[-1] != 100 or steps[0] < 1:
        raise argparse.ArgumentTypeError("steps are increasing percentages ending at 100")
    return steps


# --- Cloud Run -------------------------------------------------------------------------------

MONITORING = "https://monitoring.googleapis.com/v3"


def revision_errors(
    monitoring: str, project: str, token: str, service: str, revision: str, seconds: float
) -> int:
    """5xx answers the revision gave in the last `seconds`, from Cloud Monitoring."""
    end = datetime.now(UTC)
    start = end - timedelta(seconds=max(seconds, 60))
    metric_filter = (
        'metric.type = "run.googleapis.com/request_count" AND '
        'resource.type = "cloud_run_revision" AND '
        f'resource.labels.service_name = "{service}" AND '
        f'resource.labels.revision_name = "{revision}" AND '
        'metric.labels.response_code_class = "5xx"'
    )
    query = urllib.parse.urlencode(
        {
            "filter": metric_filter,
            "interval.startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "interval.endTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aggregation.alignmentPeriod": f"{int(max(seconds, 60))}s",
            "aggregation.perSeriesAligner": "ALIGN_SUM",
            "aggregation.crossSeriesReducer": "REDUCE_SUM",
        }
    )
    request = urllib.request.Request(
        f"{monitoring}/projects/{project}/timeSeries?{query}",
        headers={"authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310 - https URL
            answer = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"Cloud Monitoring did not answer: {exc}") from None
    return sum(
        int(point.get("value", {}).get("int64Value", 0))
        for series in answer.get("timeSeries", [])
        for point in series.get("points", [])
    )


def release_cloud_run(args: argparse.Namespace, sleep: Callable[[float], None]) -> None:
    gcloud = Cli(args.gcloud)
    where = [f"--project={args.project}", f"--region={args.region}"]
    service = gcloud.json("run", "services", "describe", args.service, *where, "--format=json")
    traffic = service.get("status", {}).get("traffic", [])
    tagged = next((t for t in traffic if t.get("tag") == args.tag), None)
    if tagged is None or not tagged.get("url"):
        raise ReleaseError(f"no revision tagged {args.tag} on {args.service}")
    revision = tagged["revisionName"]
    # Traffic as it is now, to put back exactly; the new revision holds none yet.
    before = [
        (t["revisionName"], int(t["percent"]))
        for t in traffic
        if int(t.get("percent") or 0) > 0 and t.get("revisionName") != revision
    ]
    credential = None
    if args.api_key_secret:
        credential = first_api_key(
            gcloud.secret(
                "secrets", "versions", "access", "latest",
                f"--secret={args.api_key_secret}", f"--project={args.project}",
            )
        )  # fmt: skip
    prober = Prober(args.mcp_path, args.health_path, credential)

    def roll_back(reason: ReleaseError) -> ReleaseError:
        say(f"{reason}: rolling back {args.service}")
        if before:
            pairs = ",".join(f"{name}={percent}" for name, percent in before)
            gcloud.run(
                "run", "services", "update-traffic", args.service, *where,
                f"--to-revisions={pairs}",
            )  # fmt: skip
        gcloud.run(
            "run", "services", "update-traffic", args.service, *where, f"--remove-tags={args.tag}"
        )
        return ReleaseError(f"{reason}; traffic is back on {before or 'the previous revisions'}")

    def errors_within_budget(percent: int) -> None:
        if args.max_errors is None:
            return
        token = gcloud.secret("auth", "print-access-token")
        errors = revision_errors(
            args.monitoring_url, args.project, token, args.service, revision, args.soak
        )
        say(f"revision {revision} at {percent}%: {errors} 5xx answers")
        if errors > args.max_errors:
            raise ReleaseError(
                f"revision {revision} gave {errors} 5xx answers at {percent}% "
                f"(more than {args.max_errors})"
            )

    try:
        prober.check(tagged["url"], f"revision {revision} (no traffic)")
        for percent in args.steps:
            gcloud.run(
                "run", "services", "update-traffic", args.service, *where,
                f"--to-tags={args.tag}={percent}",
            )  # fmt: skip
            if percent < 100:
                sleep(args.soak)
                errors_within_budget(percent)
            prober.check(tagged["url"], f"revision {revision} at {percent}%")
    except ReleaseError as exc:
        raise roll_back(exc) from None
    say(f"{args.service}: {revision} serves 100%")


# --- Lambda ----------------------------------------------------------------------------------


def release_lambda(args: argparse.Namespace, sleep: Callable[[float], None]) -> None:
    aws = Cli(args.aws)
    region = f"--region={args.region}"
    function = f"--function-name={args.function}"
    live = aws.json("lambda", "get-alias", function, f"--name={args.alias}", region)
    previous = str(live["FunctionVersion"])
    aws.run("lambda", "wait", "function-updated-v2", function, region)
    updated = aws.json(
        "lambda", "update-function-code", function, f"--image-uri={args.image_uri}",
        "--publish", region,
    )  # fmt: skip
    version = str(updated["Version"])
    aws.run(
        "lambda", "wait", "published-version-active", function, f"--qualifier={version}", region
    )
    if version == previous:
        say(f"{args.function}: version {version} is live already")
        return
    aws.run(
        "lambda", "update-alias", function, f"--name={args.candidate_alias}",
        f"--function-version={version}", region,
    )  # fmt: skip
    url = aws.json(
        "lambda", "get-function-url-config", function, f"--qualifier={args.candidate_alias}",
        region,
    )["FunctionUrl"]  # fmt: skip
    credential = None
    if args.api_key_secret:
        credential = first_api_key(
            aws.secret(
                "secretsmanager", "get-secret-value", f"--secret-id={args.api_key_secret}",
                "--query=SecretString", "--output=text", region,
            )
        )  # fmt: skip
    prober = Prober(args.mcp_path, args.health_path, credential)

    def move(weight: float | None, target: str) -> None:
        routing = "AdditionalVersionWeights={}" if weight is None else (
            f"AdditionalVersionWeights={{{version}={weight:g}}}"
        )  # fmt: skip
        aws.run(
            "lambda", "update-alias", function, f"--name={args.alias}",
            f"--function-version={target}", f"--routing-config={routing}", region,
        )  # fmt: skip

    def alarms_clean(percent: int) -> None:
        if not args.alarms:
            return
        firing = aws.json(
            "cloudwatch", "describe-alarms", "--alarm-names", *args.alarms,
            "--state-value=ALARM", "--query=MetricAlarms[].AlarmName", "--output=json", region,
        )  # fmt: skip
        if firing:
            raise ReleaseError(f"alarms firing at {percent}%: {', '.join(firing)}")

    try:
        prober.check(url, f"version {version} (no traffic)")
        for percent in args.steps:
            if percent < 100:
                move(percent / 100, previous)
                sleep(args.soak)
                alarms_clean(percent)
                prober.check(url, f"version {version} at {percent}%")
            else:
                move(None, version)
    except ReleaseError as exc:
        say(f"{exc}: rolling back {args.function}:{args.alias} to version {previous}")
        move(None, previous)
        raise ReleaseError(f"{exc}; {args.alias} is back on version {previous}") from None
    say(f"{args.function}: version {version} serves 100% on {args.alias}")


# --- command line ----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="release.py", description=__doc__.split("\n\n")[0])
    clouds = top.add_subparsers(dest="cloud", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--region", required=True)
    common.add_argument("--steps", type=_percentages, required=True, help="e.g. 10,50,100")
    common.add_argument("--soak", type=float, default=60.0, help="seconds at each step")
    common.add_argument("--mcp-path", default="/mcp")
    common.add_argument("--health-path", default="/health")
    common.add_argument("--api-key-secret", help="secret whose first API key the probe sends")

    gcp = clouds.add_parser("gcp", parents=[common], help="release a Cloud Run revision")
    gcp.add_argument("--project", required=True)
    gcp.add_argument("--service", required=True)
    gcp.add_argument("--tag", required=True, help="tag of the no-traffic revision")
    gcp.add_argument(
        "--max-errors", type=int, help="5xx answers of the revision a step tolerates (alarm)"
    )
    gcp.add_argument("--monitoring-url", default=MONITORING, help=argparse.SUPPRESS)
    gcp.add_argument("--gcloud", default="gcloud")
    gcp.set_defaults(release=release_cloud_run)

    aws = clouds.add_parser("aws", parents=[common], help="release a Lambda version")
    aws.add_argument("--function", required=True)
    aws.add_argument("--image-uri", required=True)
    aws.add_argument("--alias", default="live")
    aws.add_argument("--candidate-alias", default="candidate")
    aws.add_argument("--alarms", nargs="*", default=[], help="alarm names that stop a release")
    aws.add_argument("--aws", default="aws")
    aws.set_defaults(release=release_lambda)
    return top


def main(argv: Sequence[str] | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    args = parser().parse_args(argv)
    try:
        args.release(args, sleep)
    except ReleaseError as exc:
        print(f"release: FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
