"""A real silo for the tests: `ringattn silo --http-port` as its own process (RINGATTN_CMD is how to run ringattn,
e.g. "dotnet /path/ringattn.dll"; the C# test that runs pytest sets it), with the test's temp dir as allowed root."""
import os
import shlex
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="session")
def silo(tmp_path_factory):
    command = os.environ.get("RINGATTN_CMD")
    if not command:
        pytest.fail("RINGATTN_CMD is not set: how to run ringattn (e.g. 'dotnet src/Cli/RingAttention.Cli/bin/Release/net10.0/ringattn.dll')")
    data = tmp_path_factory.mktemp("data")
    silo_port, gateway, http = _free_ports(3)
    process = subprocess.Popen(shlex.split(command) + ["silo", "--device", "cpu", "--silo-port", str(silo_port), "--gateway-port", str(gateway),
                                                        "--http-port", str(http), "--cluster-id", f"pytest-{os.getpid()}", "--allowed-root", str(data)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "400"})
    deadline = time.time() + 90
    seen = []
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if "job API http://" in line:
            break
    else:
        process.kill()
        pytest.fail("the silo did not start: " + "".join(seen))
    if process.poll() is not None:
        pytest.fail("the silo exited: " + "".join(seen))
    yield {"url": f"http://127.0.0.1:{http}", "data": str(data)}
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
