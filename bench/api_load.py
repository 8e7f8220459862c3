#!/usr/bin/env python3
"""Issue 17's load check: a local cluster of 3 silo processes (CPU), 4 jobs of JOB_TOKENS (65536) tokens running, and GET /v1/jobs/{id} at RATE
requests/s for SECONDS seconds from 8 client threads: latency p50/p99 and errors; then bad requests (malformed JSON,
a huge body, a path outside the allowed roots, an unknown field) must be 4xx naming the field and write nothing.
  RINGATTN_CMD="dotnet src/Cli/RingAttention.Cli/bin/Release/net10.0/ringattn.dll" python3 bench/api_load.py"""
import json, os, statistics, sys, tempfile, threading, time

import requests

sys.path.insert(0, os.path.dirname(__file__))
from local_silos import LocalSilos  # noqa: E402

RATE, SECONDS, JOB_TOKENS = int(os.environ.get("RATE", 200)), int(os.environ.get("SECONDS", 60)), int(os.environ.get("JOB_TOKENS", 65536))
data = tempfile.mkdtemp(prefix="ringattn-load-")
with LocalSilos(3, data) as cluster:
    http = requests.Session()

    def submit(i):
        spec = {"syntheticSeed": i, "tokens": JOB_TOKENS, "heads": 8, "kvHeads": 2, "headDim": 64, "causal": True, "shards": 3,
                "outputPath": os.path.join(data, f"o{i}.safetensors"), "overwrite": True}
        answer = http.post(cluster.url + "/v1/jobs", json=spec, timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()["jobId"]

    jobs = [submit(i) for i in range(4)]
    latencies, errors, lock = [], [], threading.Lock()
    start = time.perf_counter()
    stop = start + SECONDS

    def worker(offset, threads):
        session = requests.Session()
        n = offset
        while True:
            due = start + n / RATE
            if due >= stop:
                return
            time.sleep(max(0.0, due - time.perf_counter()))
            t0 = time.perf_counter()
            try:
                answer = session.get(f"{cluster.url}/v1/jobs/{jobs[n % len(jobs)]}", timeout=10)
                ok = answer.status_code == 200
            except requests.RequestException as e:
                ok, answer = False, e
            with lock:
                latencies.append(time.perf_counter() - t0)
                if not ok:
                    errors.append(str(getattr(answer, "status_code", answer)))
            n += threads

    threads = [threading.Thread(target=worker, args=(i, 8)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    states = [http.get(f"{cluster.url}/v1/jobs/{j}").json()["state"] for j in jobs]
    latencies.sort()
    print(json.dumps({"kind": "api-load", "silos": 3, "rate": RATE, "seconds": SECONDS, "requests": len(latencies),
                      "achieved_rate": len(latencies) / elapsed, "errors": len(errors), "error_kinds": sorted(set(errors)),
                      "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
                      "max_ms": 1000 * latencies[-1], "jobs_during": states, "cpu_cores": os.cpu_count()}))
    bad = [("malformed JSON", b'{"tokens": ', "body", 400), ("huge body", b'{"outputPath": "' + b"x" * 200000 + b'"}', "body", 413),
           ("outside the roots", json.dumps({"syntheticSeed": 1, "tokens": 64, "outputPath": "/tmp/outside-roots-load.safetensors"}).encode(), "output", 400),
           ("unknown field", json.dumps({"syntheticSeed": 1, "tokens": 64, "shard": 2, "outputPath": os.path.join(data, "bad.safetensors")}).encode(), "shard", 400)]
    for name, body, field, code in bad:
        answer = http.post(cluster.url + "/v1/jobs", data=body, headers={"Content-Type": "application/json"}, timeout=30)
        error = answer.json()
        print(json.dumps({"kind": "api-bad-request", "case": name, "status": answer.status_code, "field": error.get("field"),
                          "expected": [code, field], "passed": answer.status_code == code and error.get("field") == field,
                          "nothing_written": not os.path.exists("/tmp/outside-roots-load.safetensors") and not os.path.exists(os.path.join(data, "bad.safetensors"))}))
    for j in jobs:
        http.delete(f"{cluster.url}/v1/jobs/{j}")
