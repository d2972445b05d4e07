"""Benchmark of the store API, run the way `mockserver serve` runs it (gunicorn, same workers).

1. Throughput of authenticated `GET /api/v1/orders` against a bare Flask endpoint that returns
   the same payload with no authentication, both served by the same gunicorn process and
   workers; rounds alternate and the medians are compared (target: ratio >= 0.8).
2. p50 latency of token validation (the store API's gate, in process) with 10 versus 100,000
   partner tokens stored (target: ratio 100k/10 <= 1.2).

Usage: python3 bench/store_api.py [--seconds 3] [--rounds 10]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mockserver import catalog  # noqa: E402
from mockserver.app import create_app  # noqa: E402
from mockserver.cli import run_gunicorn  # noqa: E402
from mockserver.credentials import hash_secret, new_id  # noqa: E402

WORKERS = 2
THREADS = 4
CLIENTS = 4  # concurrent keep-alive connections from the load generator
#: A client opens a new connection after this many requests. With 4 long-lived connections
#: the kernel puts all of them on one worker in about one round of 8, halving that round on
#: either side; reconnecting evens the spread out within a round.
REQUESTS_PER_CONNECTION = 100


def bench_app(db: str) -> Any:
    """The mock exactly as served, plus the bare baseline endpoint."""
    from flask import jsonify, request

    app = create_app(db, seed_if_empty=False)

    @app.get("/bench/bare-orders")
    def bare_orders() -> Any:
        page = int(request.args.get("page", 1))
        limit = int(request.args.get("limit", 20))
        orders = catalog.orders("demo-store")
        chunk = orders[(page - 1) * limit:page * limit]
        return jsonify({"orders": chunk, "page": page, "limit": limit, "total": len(orders),
                        "next_page": page + 1})

    return app


def serve(db: str, port: int, workers: int, threads: int) -> None:
    run_gunicorn(db, "127.0.0.1", port, workers, threads, None, factory=lambda: bench_app(db))


def _client(port: int, path: str, headers: dict[str, str], seconds: float,
            out: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    done = errors = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if done and done % REQUESTS_PER_CONNECTION == 0:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status == 200:
            done += 1
        else:
            errors += 1
    conn.close()
    out.put((done, errors))


def throughput(port: int, path: str, headers: dict[str, str], seconds: float) -> float:
    queue: Any = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_client, args=(port, path, headers, seconds, queue))
             for _ in range(CLIENTS)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    errors = sum(r[1] for r in results)
    if errors:
        raise SystemExit(f"{errors} requests to {path} failed")
    return sum(r[0] for r in results) / seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_throughput(seconds: float, rounds: int, workers: int, threads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.sqlite3")
        world = create_app(db).config["SEEDED"]
        token = world["partner_token"]["token_value"]
        port = free_port()
        server = multiprocessing.Process(target=serve, args=(db, port, workers, threads),
                                         daemon=True)
        server.start()
        for _ in range(200):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.05)
        mock_path, bare_path = "/api/v1/orders?limit=20", "/bench/bare-orders?limit=20"
        auth = {"Authorization": f"Bearer {token}"}
        throughput(port, mock_path, auth, 1.0)  # warm-up
        throughput(port, bare_path, {}, 1.0)
        mock, bare = [], []
        for i in range(rounds):
            if i % 2:
                bare.append(throughput(port, bare_path, {}, seconds))
                mock.append(throughput(port, mock_path, auth, seconds))
            else:
                mock.append(throughput(port, mock_path, auth, seconds))
                bare.append(throughput(port, bare_path, {}, seconds))
        server.terminate()
        server.join(10)
    m, b = statistics.median(mock), statistics.median(bare)
    # each round pairs two back-to-back runs, so the median of per-round ratios cancels drift
    ratios = [x / y for x, y in zip(mock, bare, strict=True)]
    return {"mock_rps": m, "bare_rps": b, "ratio": statistics.median(ratios),
            "ratio_min": min(ratios), "ratio_max": max(ratios)}


def fill_tokens(db: str, count: int) -> None:
    """Stores `count` extra partner tokens straight into the database (hashes only)."""
    import sqlite3

    conn = sqlite3.connect(db)
    rows = [(new_id("tok"), "demo-store", "demo-partner", hash_secret(f"ptk_bench_{i}"),
             1.0e9, 4.0e9, "merchant") for i in range(count)]
    conn.executemany("INSERT INTO partner_tokens(id, store_id, partner_id, token_hash, issued_at, "
                     "expires_at, issued_by) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def validation_p50(extra_tokens: int, calls: int, tmp: str) -> float:
    db = os.path.join(tmp, f"tokens-{extra_tokens}.sqlite3")
    app = create_app(db)
    token = app.config["SEEDED"]["partner_token"]["token_value"]
    fill_tokens(db, extra_tokens)
    access = app.extensions["mockserver"].partner_access
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        access.authenticate(token, "GET", "/api/v1/orders")
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run_latency(rounds: int, calls: int) -> dict[str, float]:
    small, large = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            # alternate so that machine noise hits both sides alike
            order = [(small, 10 - 1), (large, 100_000 - 1)]
            for samples, extra in order if i % 2 == 0 else reversed(order):
                samples.append(validation_p50(extra, calls, tmp))
            for name in os.listdir(tmp):
                path = os.path.join(tmp, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    s, lg = statistics.median(small), statistics.median(large)
    return {"p50_10_us": s * 1e6, "p50_100k_us": lg * 1e6, "ratio": lg / s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--threads", type=int, default=THREADS,
                        help="per worker; 1 means gunicorn's sync worker (no keep-alive)")
    args = parser.parse_args()
    cores = os.cpu_count()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    print(f"store API benchmark — {cores} cores, gunicorn {args.workers} workers x "
          f"{args.threads} threads, {CLIENTS} keep-alive clients, commit {commit}")
    t = run_throughput(args.seconds, args.rounds, args.workers, args.threads)
    print(f"throughput  GET /api/v1/orders (authenticated): {t['mock_rps']:.0f} req/s (median)")
    print(f"throughput  bare Flask endpoint, same payload:  {t['bare_rps']:.0f} req/s (median)")
    print(f"throughput  ratio mock/bare (median of per-round ratios): {t['ratio']:.2f}  "
          f"(target >= 0.80) {'PASS' if t['ratio'] >= 0.8 else 'MISS'}; rounds ranged "
          f"{t['ratio_min']:.2f}-{t['ratio_max']:.2f}")
    lat = run_latency(max(3, args.rounds), args.calls)
    print(f"validation  p50 with 10 tokens:      {lat['p50_10_us']:.1f} µs")
    print(f"validation  p50 with 100,000 tokens: {lat['p50_100k_us']:.1f} µs")
    print(f"validation  ratio 100k/10: {lat['ratio']:.2f}  (target <= 1.20) "
          f"{'PASS' if lat['ratio'] <= 1.2 else 'MISS'}")


if __name__ == "__main__":
    main()
