"""Load test of ``atlas serve``: concurrent clients asking golden-style queries and pages.

Builds a fixture atlas (default: one model of all-MiniLM-L6-v2's shape, 6 layers x (1536 mlp +
384 resid) units, 55 concepts x 5 methods; ``--quick``: the tiny test fixture), starts ``atlas
serve`` in a subprocess, and runs ``--clients`` clients x ``--requests`` requests each (a fixed
mix: the query page, the JSON API, a neuron page, notes, concept and model pages). Prints the
error count and p50 / p95 / max latency, and, as the baseline measured in the same run, the same
requests called directly on the facade (no HTTP, one at a time): the ratio is what the server,
HTTP and the concurrency add.

    python bench/bench_serve.py --backend sqlite            # 20 clients x 100 requests
    python bench/bench_serve.py --quick --backend both
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "query"))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402

from _common import fresh_atlas  # noqa: E402
from fixture_atlas import build_fixture_atlas  # noqa: E402

QUERIES = (
    "neurons in minilm where ap(noun) > 0.5 and selectivity(negation) > 0.2 order by ap(noun) desc limit 20",
    "count neurons in minilm where ap(noun) > 0.5 by layer",
    "compare minilm where iou(noun) > 0.3 by depth",
    "max ap(noun) in minilm by layer",
    'neurons in minilm where label = "negation detector"',
    "notes of minilm/mlp.0/0",
    "top tokens of minilm/mlp.0/1",
)
PAGES = ("/neuron/minilm/mlp.0/0", "/api/neuron/minilm/mlp.2/3", "/concept/negation", "/model/minilm",
         "/api/notes?target=minilm/mlp.0/0")


def requests_mix() -> list[tuple[str, dict[str, str]]]:
    """The request mix: each query as a page and through the API, and the pages."""
    out: list[tuple[str, dict[str, str]]] = []
    for q in QUERIES:
        out += [("/", {"q": q}), ("/api/query", {"q": q})]
    out += [(p, {}) for p in PAGES]
    return out


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _client(base: str, n: int, offset: int, mix: list[Any], lat: list[float], errors: list[str]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for i in range(n):
            path, params = mix[(offset + i) % len(mix)]
            t = time.perf_counter()
            try:
                r = await client.get(path, params=params)
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {path} {params}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__} {path}")
            lat.append(time.perf_counter() - t)


def _direct(db: Any, mix: list[Any]) -> list[float]:
    """The baseline: the same requests as facade calls, one at a time."""
    out = []
    for path, params in mix:
        t = time.perf_counter()
        if "q" in params:
            db.query(params["q"], timeout_s=30)
        elif "neuron/" in path:
            db.neuron(path.split("neuron/", 1)[1])
        elif path.startswith("/concept/"):
            db.concept(path.rsplit("/", 1)[1])
            db.notes(target="concept:" + path.rsplit("/", 1)[1])
        elif path.startswith("/model/"):
            db.query("show models")
            db.runs()
            db.notes(model="minilm")
        else:
            db.notes(target="minilm/mlp.0/0")
        out.append(time.perf_counter() - t)
    return out


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def bench(backend: str, *, quick: bool, clients: int, requests: int) -> None:
    with fresh_atlas(backend, "atlas_bench_serve") as db:
        t = time.perf_counter()
        if quick:
            build_fixture_atlas(db)
        else:
            build_fixture_atlas(db, models=(("minilm", 6),), mlp_width=1536, resid_width=384, n_extra_concepts=46,
                                distribution="beta", causal=False)
        print(f"\n[{backend}] fixture atlas built in {time.perf_counter() - t:.0f} s"
              f" ({'tiny test fixture' if quick else 'MiniLM shape: 11,520 units x 55 concepts x 5 methods'})")
        mix = requests_mix()
        direct = _direct(db, mix) + _direct(db, mix)  # the second pass warm, like the server's
        port = _port()
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.Popen([sys.executable, "-m", "atlas", "serve", "--db", db.url, "--store", str(db.store.root),
                                 "--port", str(port), "--timeout", "30"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    httpx.get(base + "/api/whoami", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            for path, params in mix:  # warm the server (imports, caches) before timing
                httpx.get(base + path, params=params, timeout=120)
            lat: list[float] = []
            errors: list[str] = []
            t = time.perf_counter()

            async def run_all() -> None:
                await asyncio.gather(*(_client(base, requests, i * 7, mix, lat, errors) for i in range(clients)))

            asyncio.run(run_all())
            wall = time.perf_counter() - t
        finally:
            proc.terminate()
            proc.wait(10)
        print(f"  {clients} clients x {requests} requests = {len(lat)} requests in {wall:.1f} s "
              f"({len(lat) / wall:.1f} requests/s); errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
        p50, p95 = statistics.median(lat), _pct(lat, 95)
        d50, d95 = statistics.median(direct), _pct(direct, 95)
        print(f"  latency under load: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")
        print(f"  baseline (the same calls on the facade, one at a time): p50 {d50 * 1000:.0f} ms, p95 {d95 * 1000:.0f} ms")
        print(f"  ratio under load / baseline: p50 x{p50 / d50:.1f}, p95 x{p95 / d95:.1f} "
              f"(with {clients} clients on this machine's cores, queueing is expected)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="the tiny test fixture atlas")
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--requests", type=int, default=100, help="requests per client")
    args = p.parse_args()
    print(f"bench_serve: {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M')}")
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        bench(backend, quick=args.quick, clients=args.clients, requests=args.requests)


if __name__ == "__main__":
    main()
