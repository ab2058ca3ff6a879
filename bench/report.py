"""From raw results to figures: medians, run-by-run ratios, target lines, Markdown tables."""

from __future__ import annotations

import statistics
from typing import Any

WIRE_LABELS = {
    "2026": "2026-07-28 stateless",
    "legacy": "legacy, no session",
    "session": "legacy session",
}
FLAT_MIB = 5.0  # growth after the first 50k requests still called flat: this much ...
FLAT_SHARE = 0.10  # ... or this share of the RSS then, whichever is larger


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def fmt(figure: dict[str, float], digits: int = 0, unit: str = "") -> str:
    f = f"{{:,.{digits}f}}"
    return (
        f"{f.format(figure['median'])}{unit} ({f.format(figure['min'])}-{f.format(figure['max'])})"
    )


def reference(cell: str, cells: dict[str, Any], kind: str) -> str | None:
    """The cell a ratio divides by: the floor on the same wire, or the SDK mode that matches."""
    wire = cells[cell]["wire"]
    if kind == "floor":
        ref = f"floor/{wire}" if wire != "session" else "floor/legacy"
    else:
        ref = "sdk-stateful/session" if wire == "session" else f"sdk-json/{wire}"
    return ref if ref in cells and ref != cell else None


def ratios(runs: list[dict[str, Any]], ref_runs: list[dict[str, Any]]) -> dict[str, float]:
    """Ratio of throughputs round by round (both ran in the same round), then its spread."""
    pairs = zip(runs, ref_runs, strict=False)
    return spread([a["rps"] / b["rps"] for a, b in pairs if b["rps"]])


def cpu_ratios(runs: list[dict[str, Any]], ref_runs: list[dict[str, Any]]) -> dict[str, float]:
    """The same from CPU time per request (reference / cell): blind to other processes'
    load on the machine, which takes wall-clock throughput but not CPU time per request."""
    pairs = zip(runs, ref_runs, strict=False)
    return spread([b["cpu_us"] / a["cpu_us"] for a, b in pairs if a["cpu_us"]])


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Add the figures derived from the raw runs to `results` and return it."""
    cells = results["cells"]
    for name, cell in list(cells.items()):
        runs = cell["runs"]
        if not runs:  # failed in its warm-up
            results.setdefault("failed_cells", {})[name] = cell.get("failed", "no runs")
            del cells[name]
            continue
        cell["rps"] = spread([r["rps"] for r in runs])
        cell["p50_ms"] = spread([r["p50"] for r in runs])
        cell["p99_ms"] = spread([r["p99"] for r in runs])
        cell["cpu_us"] = spread([r["cpu_us"] for r in runs])
        cell["other_cores"] = spread([r.get("other_cores", 0.0) for r in runs])
        cell["errors"] = sum(r["non2xx"] + r["socket_errors"] + r["wrong"] for r in runs)
        cell["requests"] = sum(r["requests"] for r in runs)
        for kind in ("floor", "sdk"):
            ref = reference(name, cells, kind)
            cell[f"vs_{kind}"] = ratios(runs, cells[ref]["runs"]) if ref else None
            cell[f"vs_{kind}_cpu"] = cpu_ratios(runs, cells[ref]["runs"]) if ref else None
            cell[f"vs_{kind}_ref"] = ref
    for server in results["servers"].values():
        rss = server.get("rss")
        if rss and rss.get("after_load") and rss.get("end"):
            growth = rss["end"] - rss["after_load"]
            server["rss_growth_mib"] = round(growth, 1)
            server["memory_flat"] = growth <= max(FLAT_MIB, FLAT_SHARE * rss["after_load"])
    for handler in results["coldstart"].values():
        for mode in ("pyc", "source"):
            if mode in handler:
                handler[f"{mode}_ms"] = spread(handler[mode])
    floor = results["coldstart"].get("floor", {})
    for handler in results["coldstart"].values():
        for mode in ("pyc", "source"):
            if f"{mode}_ms" in handler and f"{mode}_ms" in floor:
                ratio = handler[f"{mode}_ms"]["median"] / floor[f"{mode}_ms"]["median"]
                handler[f"{mode}_vs_floor"] = round(ratio, 2)
    results["targets"] = targets(results)
    return results


def _line(ok: bool | None, text: str) -> dict[str, Any]:
    return {"status": {True: "pass", False: "MISS", None: "not measured"}[ok], "text": text}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets for cloudmcp, each as a pass/miss line."""
    cells, lines = results["cells"], []
    why = results["servers"].get("cloudmcp", {}).get("unavailable", "not selected")
    for cell_name, kind, goal, text in (
        ("cloudmcp/2026", "sdk", 5.0, "2026-07-28 throughput >= 5x SDK stateless JSON"),
        ("cloudmcp/2026", "floor", 0.5, "2026-07-28 throughput >= 50% of the floor"),
        ("cloudmcp/session", "sdk", 5.0, "legacy session throughput >= 5x SDK stateful"),
    ):
        cell = cells.get(cell_name) or {}
        ratio, cpu = cell.get(f"vs_{kind}"), cell.get(f"vs_{kind}_cpu")
        if not ratio or not cpu:
            missing = f"cloudmcp unavailable ({why})" if not cell else "its reference not measured"
            lines.append(_line(None, f"{text}: {missing}"))
            continue
        ok = ratio["median"] >= goal
        gap = "" if ok else f", short by {goal / ratio['median']:.2f}x"
        detail = f"; from CPU time per request: {cpu['median']:.2f}x"
        lines.append(_line(ok, f"{text}: {ratio['median']:.2f}x{gap}{detail}"))
    cold = results["coldstart"].get("cloudmcp", {})
    text = "Lambda cold start <= 3x the floor handler (with .pyc)"
    if "pyc_vs_floor" in cold:
        ok = cold["pyc_vs_floor"] <= 3.0
        gap = "" if ok else f", over by {cold['pyc_vs_floor'] / 3.0:.2f}x"
        lines.append(_line(ok, f"{text}: {cold['pyc_vs_floor']:.2f}x{gap}"))
    else:
        lines.append(_line(None, f"{text}: {cold.get('unavailable', 'not measured')}"))
    mine = [c for n, c in cells.items() if n.startswith("cloudmcp")]
    servers = [s for n, s in results["servers"].items() if n.startswith("cloudmcp") and "rss" in s]
    if mine:
        errors = sum(c["errors"] for c in mine) + sum(
            s["memory_run"]["non2xx"] + s["memory_run"]["socket_errors"] + s["memory_run"]["wrong"]
            for s in servers
            if s.get("memory_run")
        )
        broke = [n for n, c in cells.items() if n.startswith("cloudmcp") and "failed" in c]
        broke += [n for n in results.get("failed_cells", {}) if n.startswith("cloudmcp")]
        broke += [
            n
            for n, s in results["servers"].items()
            if n.startswith("cloudmcp") and s.get("unavailable", "").startswith("under load")
        ]
        text = f"zero errors under load: {errors} errors" + (
            f"; failed: {', '.join(broke)}" if broke else ""
        )
        lines.append(_line(errors == 0 and not broke, text))
    else:
        lines.append(_line(None, f"zero errors under load: cloudmcp unavailable ({why})"))
    if servers and all("memory_flat" in s for s in servers):
        growth = ", ".join(f"{s['label']} {s['rss_growth_mib']:+.1f} MiB" for s in servers)
        flat = all(s["memory_flat"] for s in servers)
        count = f"{results['meta']['memory_requests']:,}"
        lines.append(_line(flat, f"memory flat after the first {count} requests: {growth}"))
    else:
        lines.append(_line(None, f"memory flat: cloudmcp unavailable ({why})"))
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The figures as Markdown: throughput, cold start, memory, targets, and what was missing."""
    meta, out = results["meta"], []
    out.append(
        f"Measured {meta['date']} on {meta['machine']}: one server process on core 0, "
        f"`wrk` ({meta['connections']} connections) on core 1, loopback, "
        f"{meta['rounds']} interleaved rounds of {meta['duration_s']:g} s per contender "
        f"after a warm-up. Medians with (min-max) over the rounds; ratios are computed "
        f"round by round against the same round's reference. Every server runs under "
        f"uvicorn (uvloop, httptools) with no per-request logging: cloudmcp with "
        f"`ACCESS_LOG=off METRICS=off`, whose cost `bench/ops_overhead.py` measures."
    )
    out += ["", "**Warm `tools/call echo`, Streamable HTTP**", ""]
    out.append(
        "| server | wire | req/s | x floor | x SDK | p50 ms | p99 ms | CPU µs/req "
        "| x floor, CPU | x SDK, CPU | errors |"
    )
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for cell in results["cells"].values():
        vs = [fmt(cell[k], 2, "x") if cell.get(k) else "-" for k in ("vs_floor", "vs_sdk")]
        by_cpu = [
            f"{cell[k]['median']:.2f}x" if cell.get(k) else "-"
            for k in ("vs_floor_cpu", "vs_sdk_cpu")
        ]
        out.append(
            f"| {results['servers'][cell['contender']]['label']} | {WIRE_LABELS[cell['wire']]} "
            f"| {fmt(cell['rps'])} | {vs[0]} | {vs[1]} | {cell['p50_ms']['median']:.1f} "
            f"| {cell['p99_ms']['median']:.1f} | {cell['cpu_us']['median']:,.0f} "
            f"| {by_cpu[0]} | {by_cpu[1]} | {cell['errors']} |"
        )
    out += [
        "",
        "x SDK: against the SDK's stateless JSON mode on the same wire; on a legacy "
        "session, against its stateful (default) mode. CPU µs/req: the server's user+system "
        "CPU time over a run divided by its requests; the CPU ratios divide those, round by "
        "round, and are much less moved by other processes on the machine than req/s.",
    ]
    other = [
        r["other_cores"] for c in results["cells"].values() for r in c["runs"] if "other_cores" in r
    ]
    wrk = [r.get("wrk_cores", 0.0) for c in results["cells"].values() for r in c["runs"]]
    if other:
        out += [""]
        out.append(
            f"Other processes kept {statistics.median(other):.2f} cores busy on average during "
            f"the timed runs (max {max(other):.2f} of 2): the more, the noisier the req/s. "
            f"wrk itself used at most {max(wrk):.2f} of its core."
        )
    cold = results["coldstart"]
    if cold:
        runs = meta["coldstart_runs"]
        title = f"(HTTP API v2 event, {runs} fresh processes each, spawn to response; ms)"
        out += ["", f"**Lambda cold start** {title}", ""]
        out.append("| handler | with .pyc | x floor | without .pyc | x floor |")
        out.append("| --- | ---: | ---: | ---: | ---: |")
        for h in cold.values():
            if "unavailable" in h:
                out.append(f"| {h['label']} | not available | | | |")
                continue
            out.append(
                f"| {h['label']} | {fmt(h['pyc_ms'], 1)} | {h.get('pyc_vs_floor', 1):.1f}x "
                f"| {fmt(h['source_ms'], 1)} | {h.get('source_vs_floor', 1):.1f}x |"
            )
        out += [
            "",
            "With .pyc: compileall ran over each venv and the app (a package that ships "
            "bytecode). Without: only the standard library has bytecode. "
            "PYTHONDONTWRITEBYTECODE=1 in both, as Lambda's /var/task is read-only.",
        ]
    out += ["", "**Memory** (RSS, MiB)", ""]
    count = f"{meta['memory_requests']:,}"
    out.append(f"| server | after start | after {count} requests | end of run | flat |")
    out.append("| --- | ---: | ---: | ---: | --- |")
    for server in results["servers"].values():
        rss = server.get("rss")
        if not rss:
            continue
        flat = "yes" if server.get("memory_flat") else "no"
        out.append(
            f"| {server['label']} | {rss['start']:.1f} | {rss['after_load']:.1f} "
            f"| {rss['end']:.1f} | {flat} ({server.get('rss_growth_mib', 0):+.1f}) |"
        )
    missing = [f"- {s['label']}: unavailable: {s['unavailable']}"
               for s in results["servers"].values() if "unavailable" in s]  # fmt: skip
    missing += [f"- {name}: failed in {c['failed']} (figures above are the rounds before)"
                for name, c in results["cells"].items() if "failed" in c]  # fmt: skip
    missing += [
        f"- {name}: failed in {why}" for name, why in results.get("failed_cells", {}).items()
    ]
    if missing:
        out += ["", *missing]
    out += ["", "**Targets (cloudmcp)**", ""]
    out += [f"- {t['status']}: {t['text']}" for t in results["targets"]]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    out += ["", f"Versions: {versions}. Command: `{meta['command']}`."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import json
    import sys

    with open(sys.argv[1]) as raw:
        print(markdown(summarize(json.load(raw))), end="")
