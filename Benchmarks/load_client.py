"""The load test's client (Benchmarks/load.sh runs it): agencies push with the real agent
(`concord agent push`, one process per push) while analysts and an IG officer call the API with
their bearer tokens, all at once, bounded by a count of calls and a time limit. Writes per-operation
counts, errors, throughput and p50/p99 latency as JSON; standard library only.

Usage: load_client.py --hub URL --concord BIN --work DIR --agencies N --uploads N
           --analyst-token FILE... --ig-token FILE --calls N --seconds S --out FILE
DIR holds agencies/<id>/agent.yaml (extract glob agencies/<id>/extract/*.csv) and extracts/<n>.csv.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--hub", required=True)
parser.add_argument("--concord", required=True)
parser.add_argument("--work", required=True)
parser.add_argument("--agencies", type=int, required=True)
parser.add_argument("--uploads", type=int, required=True)
parser.add_argument("--analyst-token", action="append", required=True)
parser.add_argument("--ig-token", required=True)
parser.add_argument("--calls", type=int, required=True, help="calls per analyst or IG worker, at most")
parser.add_argument("--seconds", type=float, required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

lock = threading.Lock()
samples = {}    # operation -> [seconds]
errors = {}     # operation -> [description]
started = time.monotonic()
deadline = started + args.seconds
agencies_done = threading.Event()


def record(operation, seconds, error=None):
    with lock:
        samples.setdefault(operation, []).append(seconds)
        if error:
            errors.setdefault(operation, []).append(error)


def call(operation, token, method, path, body=None, expect=(200,)):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(args.hub + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        payload, status = error.read(), error.code
    except OSError as error:
        record(operation, time.monotonic() - t0, f"{type(error).__name__}: {error}")
        return None
    record(operation, time.monotonic() - t0, None if status in expect else f"{status}: {payload[:200]!r}")
    return json.loads(payload) if status in expect and payload.startswith(b"{") else None


def agency(number):
    try:
        push_all(number)
    except Exception as error:  # a failure here must show in the report, not end a thread quietly
        record("agent push (seal + upload + receipt)", 0.0, f"load-agency-{number:02d}: {error!r}")


def push_all(number):
    agency_id = f"load-agency-{number:02d}"
    folder = os.path.join(args.work, "agencies", agency_id)
    for upload in range(1, args.uploads + 1):
        if time.monotonic() > deadline:
            return
        # Snapshot mode sends the newest file: a new extract for each push.
        target = os.path.join(folder, "extract", f"extract-{upload}.csv")
        shutil.copyfile(os.path.join(args.work, "extracts", f"{upload}.csv"), target)
        now = time.time()
        os.utime(target, (now, now + upload))
        t0 = time.monotonic()
        result = subprocess.run([args.concord, "agent", "push", "--config", os.path.join(folder, "agent.yaml")],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True)
        record("agent push (seal + upload + receipt)", time.monotonic() - t0,
               None if result.returncode == 0 else f"{agency_id} exit {result.returncode}: {result.stderr.strip()[-300:]}")


def analyst(token, number):
    calls = 0
    while calls < args.calls and time.monotonic() < deadline and not agencies_done.is_set():
        agreement = f"load-test-{(calls % args.agencies) + 1:02d}"
        step = calls % 4
        if step == 0:
            call("GET /v1/agreements", token, "GET", "/v1/agreements")
        elif step == 1:
            # Approval is required under these agreements: a stored, pending request (201).
            call("POST /v1/requests", token, "POST", "/v1/requests", {
                "agreement": agreement, "purpose": "SR-EARLY-YEARS", "datasets": ["school_attendance"],
                "fields": ["school_attendance.Gender", "school_attendance.Academic Year"], "level": "row_level",
                "justification": f"load test, analyst {number}"}, expect=(201,))
        elif step == 2:
            call("GET /v1/requests", token, "GET", "/v1/requests")
        else:
            call("GET /v1/whoami", token, "GET", "/v1/whoami")
        calls += 1


def ig_officer(token):
    after, calls = 0, 0
    while calls < args.calls and time.monotonic() < deadline and not agencies_done.is_set():
        if calls % 2 == 0:
            page = call("GET /v1/audit", token, "GET", f"/v1/audit?after={after}&limit=500")
            if page and page.get("entries"):
                after = page["entries"][-1]["seq"]
        else:
            call("GET /v1/uploads", token, "GET", "/v1/uploads?limit=100")
        calls += 1


def read(path):
    with open(path, encoding="ascii") as f:
        return f.read().strip()


agency_threads = [threading.Thread(target=agency, args=(n,)) for n in range(1, args.agencies + 1)]
people = [threading.Thread(target=analyst, args=(read(t), i)) for i, t in enumerate(args.analyst_token, 1)]
people.append(threading.Thread(target=ig_officer, args=(read(args.ig_token),)))
for thread in agency_threads + people:
    thread.start()
for thread in agency_threads:
    thread.join()
agencies_done.set()
for thread in people:
    thread.join()
elapsed = time.monotonic() - started


def quantile(values, q):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest rank


report = {"seconds": round(elapsed, 2), "operations": {}}
for operation, values in sorted(samples.items()):
    report["operations"][operation] = {
        "count": len(values), "errors": len(errors.get(operation, [])), "per_second": round(len(values) / elapsed, 2),
        "p50_ms": round(quantile(values, 0.50) * 1000, 1), "p99_ms": round(quantile(values, 0.99) * 1000, 1),
        "first_errors": errors.get(operation, [])[:3]}
with open(args.out, "w", encoding="utf-8") as f:
    json.dump(report, f, indent=2)
