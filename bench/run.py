"""Run the cloudmcp benchmark: `python3 bench/run.py` (or `make bench`).

Side by side, in one run on this machine: warm throughput and latency on each wire,
memory, and Lambda cold start, for cloudmcp, the official SDK, FastMCP and the floor.
Writes bench/results/latest.{json,md,png} and the figures into docs/bench.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import coldstart
import hotspots
import load
import memory
import report
import venvs
import wire
from contenders import BY_NAME, Contender, Server, ServerFailed

RESULTS = venvs.BENCH / "results"
WORK = venvs.BENCH / ".work"
DOC = venvs.ROOT / "docs" / "bench.md"
DOC_START, DOC_END = "<!-- bench:figures:start -->", "<!-- bench:figures:end -->"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated contenders: " + ",".join(BY_NAME))
    parser.add_argument("--quick", action="store_true", help="short runs, for iterating")
    parser.add_argument("--redis", action="store_true", help="add cloudmcp with REDIS_URL")
    parser.add_argument("--self-check", action="store_true", help="check answers only, no timing")
    parser.add_argument("--rounds", type=int, help="timed rounds per contender (default 7)")
    parser.add_argument("--duration", type=float, help="seconds per timed run (default 6)")
    parser.add_argument("--no-coldstart", action="store_true", help="skip the Lambda cold start")
    parser.add_argument(
        "--profile", metavar="NAME/WIRE", help="only profile one server under load, with py-spy"
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 7)
    args.duration = args.duration or (2.0 if args.quick else 6.0)
    args.warmup = 1.0 if args.quick else 3.0
    args.memory_requests = 5_000 if args.quick else 50_000
    args.coldstart_runs = 3 if args.quick else 10
    return args


def selected(args: argparse.Namespace) -> list[Contender]:
    names = [n for n in BY_NAME if n != "cloudmcp-redis" or args.redis]
    if args.only:
        names = [n.strip() for n in args.only.split(",")]
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            raise SystemExit(f"unknown contender(s): {', '.join(unknown)}")
    return [BY_NAME[n] for n in names]


def log_tail(log: Path) -> str:
    """The most telling line of a failed install: the last exception, else the last line."""
    lines = [x.strip() for x in log.read_text(errors="replace").splitlines() if x.strip()]
    errors = [x for x in lines if re.match(r"^\w+(Error|Exception): ", x)]
    return (errors or lines or ["(no output)"])[-1][:300]


def prepare_venvs(names: set[str]) -> dict[str, str]:
    """Make each venv; return venv name -> why it could not be made."""
    broken = {}
    for name in sorted(names):
        log = WORK / "logs" / f"venv-{name}.log"
        try:
            venvs.ensure(name, log)
            venvs.compile_bytecode(name)
        except subprocess.CalledProcessError:
            broken[name] = f"pip install failed: {log_tail(log)}"
            print(f"  venv {name}: {broken[name]}", flush=True)
    return broken


def redis_ready() -> str:
    """'' when the bench's Redis database answers (and has been emptied), else why not."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"SELECT 15\r\nFLUSHDB\r\n")
            time.sleep(0.1)
            reply = sock.recv(100)
    except OSError as exc:
        return f"Redis at 127.0.0.1:6379 not reachable: {exc}"
    return "" if reply.startswith(b"+OK") else f"Redis answered {reply!r}"


def start_servers(contenders: list[Contender], broken: dict[str, str]) -> dict[str, Any]:
    """Start each server, record its RSS, pre-check every wire. Failures become reasons."""
    running: dict[str, Any] = {}
    for contender in contenders:
        entry: dict[str, Any] = {"label": contender.label, "wires": list(contender.wires)}
        running[contender.name] = entry
        reason = broken.get(contender.venv, "")
        if not reason and "REDIS_URL" in contender.env:
            reason = redis_ready()
        if reason:
            entry["unavailable"] = reason
            print(f"  {contender.name}: unavailable: {reason}", flush=True)
            continue
        server = Server(contender, WORK / "logs")
        try:
            server.wait_ready()
            time.sleep(0.5)
            entry["rss"] = {"start": memory.rss_mib(server.pid)}
            for wire_name in contender.wires:
                wire.check(server.port, contender.path, wire_name)
        except (ServerFailed, wire.WireError, OSError, ValueError, KeyError) as exc:
            server.stop()
            entry.pop("rss", None)
            entry["unavailable"] = f"{type(exc).__name__}: {exc}"[:400]
            print(f"  {contender.name}: unavailable: {entry['unavailable']}", flush=True)
            continue
        entry["server"] = server
        print(f"  {contender.name}: ok on {', '.join(contender.wires)} (port {server.port})")
    return running


LOAD_FAILURES = (subprocess.CalledProcessError, wire.WireError, OSError, ValueError, KeyError)


def failure(exc: Exception, server: Server) -> str:
    """Why a load run failed, with the server's last words if it died."""
    if server.process.poll() is not None:
        return f"server exited with {server.process.returncode}: {server.last_words()}"
    detail = getattr(exc, "stderr", "") or exc
    return f"{type(exc).__name__}: {str(detail).strip()[:300]}"


def fail(entry: dict[str, Any], reason: str) -> None:
    entry["unavailable"] = reason
    entry.pop("server").stop()
    entry.pop("rss", None)
    print(f"  {entry['label']}: unavailable: {reason}", flush=True)


def memory_phase(running: dict[str, Any], count: int) -> None:
    """Send `count` checked requests to each server on its first wire; RSS after them."""
    for name, entry in running.items():
        server = entry.get("server")
        if not server:
            continue
        first = server.contender.wires[0]
        try:
            run = load.bounded(server.port, server.contender.path, first, count)
        except LOAD_FAILURES as exc:
            fail(entry, f"under load: {failure(exc, server)}")
            continue
        entry["memory_run"] = asdict(run)
        entry["rss"]["after_load"] = memory.rss_mib(server.pid)
        print(
            f"  {name}: {run.requests} checked requests on {first}, {run.errors} errors, "
            f"RSS {entry['rss']['start']} -> {entry['rss']['after_load']} MiB",
            flush=True,
        )


def timed_rounds(running: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Warm each (server, wire) cell, then run the rounds, rotating the order each round."""
    cells: dict[str, Any] = {}
    for name, entry in running.items():
        if "server" in entry:
            for wire_name in entry["server"].contender.wires:
                cells[f"{name}/{wire_name}"] = {"contender": name, "wire": wire_name, "runs": []}
    order = list(cells)
    for key in order:
        server = running[cells[key]["contender"]]["server"]
        try:
            load.timed(
                server.port, server.contender.path, cells[key]["wire"], args.warmup, server.pid
            )
        except LOAD_FAILURES as exc:
            cells[key]["failed"] = f"warm-up: {failure(exc, server)}"
    for round_no in range(args.rounds):
        shift = round_no % len(order) if order else 0
        for key in order[shift:] + order[:shift]:
            cell = cells[key]
            server = running[cell["contender"]]["server"]
            if "failed" in cell:
                continue
            path, wire_name = server.contender.path, cell["wire"]
            try:
                run = load.timed(server.port, path, wire_name, args.duration, server.pid)
            except LOAD_FAILURES as exc:
                cell["failed"] = f"round {round_no + 1}: {failure(exc, server)}"
                print(f"  {key}: failed, left out from now on: {cell['failed']}", flush=True)
                continue
            cell["runs"].append(asdict(run))
        done = {k: c for k, c in cells.items() if c["runs"] and "failed" not in c}
        summary = ", ".join(f"{k} {c['runs'][-1]['rps']:,.0f}" for k, c in done.items())
        print(f"  round {round_no + 1}/{args.rounds}: {summary} req/s", flush=True)
    return cells


def stop_all(running: dict[str, Any]) -> None:
    for entry in running.values():
        server = entry.pop("server", None)
        if server:
            entry["rss"]["end"] = memory.rss_mib(server.pid)
            server.stop()


def metadata(args: argparse.Namespace, argv: list[str] | None) -> dict[str, Any]:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    sha = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=venvs.ROOT
    ).stdout.strip()
    versions = {"python": platform.python_version(), "cloudmcp": f"git {sha}"}
    for venv_name, package in (("sdk", "mcp"), ("fastmcp", "fastmcp"), ("floor", "uvicorn"),
                               ("sdk", "mangum")):  # fmt: skip
        if venvs.python(venv_name).exists():
            versions[package] = venvs.version(venv_name, package)
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    versions["wrk"] = (wrk.stdout or wrk.stderr).split()[1] if (wrk.stdout or wrk.stderr) else "-"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{model}, {os.cpu_count()} cores",
        "command": " ".join(["python3 bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "connections": load.CONNECTIONS,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "memory_requests": args.memory_requests,
        "coldstart_runs": args.coldstart_runs,
        "quick": args.quick,
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "versions": versions,
    }


def write_outputs(results: dict[str, Any], text: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(text)
    chart = subprocess.run(
        [str(venvs.python("tools")), str(venvs.BENCH / "chart.py"), str(RESULTS / "latest.json"),
         str(RESULTS / "latest.png")],
        capture_output=True, text=True,
    )  # fmt: skip
    if chart.returncode:
        print(f"  chart failed: {chart.stderr.strip()[-300:]}")
    if DOC.exists() and DOC_START in (doc := DOC.read_text()):
        head, rest = doc.split(DOC_START, 1)
        tail = rest.split(DOC_END, 1)[1]
        DOC.write_text(f"{head}{DOC_START}\n{text}{DOC_END}{tail}")


def self_check(contenders: list[Contender], handlers: list[coldstart.Handler]) -> int:
    """Start each contender, check its answers on every wire, and invoke each handler once."""
    broken = prepare_venvs({c.venv for c in contenders} | {h.venv for h in handlers})
    running = start_servers(contenders, broken)
    stop_all(running)
    cold = coldstart.measure(handlers, 0, WORK)
    checks = {f"server {n}": e for n, e in running.items()}
    checks |= {f"lambda {n}": e for n, e in cold.items()}
    for name, entry in checks.items():
        print(
            f"self-check {name}: "
            + (f"FAIL: {entry['unavailable']}" if "unavailable" in entry else "ok")
        )
    return 1 if any("unavailable" in e for e in checks.values()) else 0


def profile_one(spec: str, seconds: float) -> int:
    """Start one server, warm it, and sample it with py-spy under a wrk load."""
    name, _, wire_name = spec.partition("/")
    if name == "lambda":
        handler = {h.name: h for h in coldstart.HANDLERS}[wire_name]
        prepare_venvs({handler.venv})
        summary = hotspots.imports(handler, WORK, RESULTS)
        print(summary.read_text())
        print(f"written: {summary}")
        return 0
    if name not in BY_NAME:
        raise SystemExit(f"unknown contender {name!r}: {', '.join(BY_NAME)}")
    contender = BY_NAME[name]
    wire_name = wire_name or contender.wires[0]
    broken = prepare_venvs({contender.venv, "tools"})
    entry = start_servers([contender], broken)[name]
    if "server" not in entry:
        return 1
    server = entry["server"]
    try:
        load.timed(server.port, contender.path, wire_name, 3, server.pid)
        RESULTS.mkdir(exist_ok=True)
        summary = hotspots.profile(server, wire_name, max(seconds, 10), RESULTS)
    finally:
        stop_all({name: entry})
    print(summary.read_text())
    print(f"written: {summary}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    (WORK / "logs").mkdir(parents=True, exist_ok=True)
    contenders = selected(args)
    wanted = {c.name.split("-")[0] for c in contenders} | {"floor"}
    handlers = [h for h in coldstart.HANDLERS if h.name.split("-")[0] in wanted]
    handlers = [] if args.no_coldstart else handlers
    if args.self_check:
        return self_check(contenders, handlers)
    if args.profile:
        return profile_one(args.profile, args.duration)
    started = time.monotonic()
    print("setup", flush=True)
    load.ensure_wrk()
    broken = prepare_venvs({c.venv for c in contenders} | {h.venv for h in handlers} | {"tools"})
    print("servers: start, RSS, correctness pre-check", flush=True)
    running = start_servers(contenders, broken)
    try:
        print(f"memory: {args.memory_requests:,} checked requests each", flush=True)
        memory_phase(running, args.memory_requests)
        print(f"throughput: {args.rounds} rounds of {args.duration:g} s", flush=True)
        cells = timed_rounds(running, args)
    finally:
        stop_all(running)
    if handlers:
        print(f"cold start: {args.coldstart_runs} processes per handler", flush=True)
    live = [h for h in handlers if h.venv not in broken]
    cold = coldstart.measure(live, args.coldstart_runs, WORK)
    for h in handlers:
        if h.venv in broken:
            cold[h.name] = {"label": h.label, "unavailable": broken[h.venv]}
    results = {
        "meta": metadata(args, argv),
        "servers": running,
        "cells": cells,
        "coldstart": cold,
    }
    text = report.markdown(report.summarize(results))
    results["meta"]["elapsed_s"] = round(time.monotonic() - started)
    write_outputs(results, text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
