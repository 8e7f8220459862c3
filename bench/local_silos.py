"""Silo processes of one local cluster for the bench scripts: `ringattn silo` (RINGATTN_CMD says how to run ringattn),
the first with the HTTP job API."""
import os
import shlex
import socket
import subprocess


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class LocalSilos:
    """with LocalSilos(3, data_dir) as cluster: cluster.url (HTTP API), cluster.gateway, cluster.cluster_id, cluster.cmd"""

    def __init__(self, count, data_dir):
        self.cmd = shlex.split(os.environ["RINGATTN_CMD"])
        self.count, self.data_dir, self.processes = count, data_dir, []
        self.cluster_id = f"bench-{os.getpid()}"

    def __enter__(self):
        ports = free_ports(2 * self.count + 1)
        self.gateway, self.url = f"127.0.0.1:{ports[1]}", f"http://127.0.0.1:{ports[-1]}"
        for i in range(self.count):
            args = ["silo", "--device", "cpu", "--silo-port", str(ports[2 * i]), "--gateway-port", str(ports[2 * i + 1]),
                    "--cluster-id", self.cluster_id, "--allowed-root", self.data_dir]
            args += ["--primary-port", str(ports[0])] if i else ["--http-port", str(ports[-1])]
            p = subprocess.Popen(self.cmd + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "400"})
            self.processes.append(p)
            while True:
                line = p.stdout.readline()
                if "silo of cluster" in line:
                    break
                if not line and p.poll() is not None:
                    raise RuntimeError("a silo did not start")
        return self

    def __exit__(self, *exc):
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            p.wait(30)
