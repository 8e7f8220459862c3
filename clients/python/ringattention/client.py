"""A client of a RingAttention cluster's HTTP job API (/v1/jobs): attention(q, k, v) writes the tensors where the
cluster reads files (data_dir), submits the job, follows its progress and returns (o, lse) in the caller's layout and
dtype. Batch is folded into heads (head h of batch b is head b*H + h, so query head b*H + h reads kv head
b*Hkv + h // (H // Hkv): the GQA mapping stays exact)."""
import json
import os
import uuid

import numpy as np
import requests

from .safetensors_io import bf16_bits_to_float32, float32_to_bf16_bits, read_safetensors, write_safetensors

try:  # optional: a progress bar
    from tqdm import tqdm
except ImportError:  # pragma: no cover - tqdm is optional
    tqdm = None

FINAL = {"Completed", "Rejected", "Failed", "Cancelled"}


class RingAttentionError(Exception):
    """A refusal or failure, naming the field at fault as the cluster does ({field, rule, message})."""

    def __init__(self, field, rule, status_code=None):
        super().__init__(f"{field}: {rule}")
        self.field, self.rule, self.status_code = field, rule, status_code


def _to_numpy(x):
    """-> (numpy array, safetensors dtype, how to give results back)."""
    if type(x).__module__.startswith("torch"):
        import torch
        back = {"torch": True, "dtype": x.dtype, "device": x.device}
        if x.dtype == torch.bfloat16:
            return float32_to_bf16_bits(x.detach().float().cpu().numpy()), "BF16", back
        name = {torch.float32: "F32", torch.float16: "F16"}.get(x.dtype)
        if name is None:
            raise RingAttentionError("dtype", f"tensors must be float32, float16 or bfloat16, not {x.dtype}")
        return x.detach().cpu().numpy(), name, back
    x = np.asarray(x)
    name = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16"}.get(x.dtype)
    if name is None:
        raise RingAttentionError("dtype", f"arrays must be float32 or float16 (bfloat16: pass torch tensors), not {x.dtype}")
    return x, name, {"torch": False, "dtype": x.dtype}


def _fold(x, layout):
    """[B, T, H, D] (bshd) or [B, H, T, D] (bhsd), or [T, H, D] -> [T, B*H, D]."""
    if x.ndim == 3:
        return np.ascontiguousarray(x), 1
    if x.ndim != 4:
        raise RingAttentionError("layout", f"tensors must be 3-D [T, H, D] or 4-D ({layout}), not {x.ndim}-D")
    if layout == "bshd":
        b, t, h, d = x.shape
        return np.ascontiguousarray(x.transpose(1, 0, 2, 3).reshape(t, b * h, d)), b
    if layout == "bhsd":
        b, h, t, d = x.shape
        return np.ascontiguousarray(x.transpose(2, 0, 1, 3).reshape(t, b * h, d)), b
    raise RingAttentionError("layout", f"layout must be 'bshd' (flash-attn) or 'bhsd' (SDPA), not {layout!r}")


def _unfold(o, lse, batch, layout, four_d):
    t, bh, d = o.shape
    h = bh // batch
    if not four_d:
        return o, lse
    o4 = o.reshape(t, batch, h, d)
    o4 = o4.transpose(1, 0, 2, 3) if layout == "bshd" else o4.transpose(1, 2, 0, 3)
    return np.ascontiguousarray(o4), np.ascontiguousarray(lse.reshape(batch, h, t))


class Job:
    """A submitted job: status(), progress(), wait(), cancel(), result()."""

    def __init__(self, client, job_id, output=None, cleanup=(), restore=None):
        self.client, self.id, self._output, self._cleanup, self._restore = client, job_id, output, list(cleanup), restore

    def status(self):
        return self.client._call("GET", f"/v1/jobs/{self.id}")

    def progress(self):
        s = self.status()
        return 1.0 if s["state"] == "Completed" else (s["stepsDone"] / s["stepsTotal"] if s.get("stepsTotal") else 0.0)

    def cancel(self):
        return self.client._call("DELETE", f"/v1/jobs/{self.id}")

    def wait(self, progress=False):
        """Follows the job's event stream to its end; returns the final status or raises RingAttentionError."""
        bar = tqdm(total=1, unit="step", desc=self.id) if progress and tqdm is not None else None
        final = None
        try:
            with self.client._session.get(self.client._url(f"/v1/jobs/{self.id}/events"), stream=True, timeout=self.client.timeout) as answer:
                self.client._check(answer)
                for line in answer.iter_lines(decode_unicode=True):
                    if not line or not line.startswith("data: "):
                        continue
                    final = json.loads(line[len("data: "):])
                    if bar is not None:
                        bar.total = max(1, final.get("stepsTotal", 1))
                        bar.n = bar.total if final["state"] == "Completed" else final.get("stepsDone", 0)
                        bar.refresh()
                    if final["state"] in FINAL:
                        break
        finally:
            if bar is not None:
                bar.close()
        if final is None or final["state"] not in FINAL:
            final = self.status()
        if final["state"] != "Completed":
            raise RingAttentionError(final.get("errorField") or "job", final.get("error") or final["state"].lower())
        return final

    def result(self):
        """(o, lse) of a completed job in the caller's layout and dtype; the temporary files are removed."""
        tensors, _ = read_safetensors(self._output)
        dtype, o = tensors["o"]
        o = bf16_bits_to_float32(o) if dtype == "BF16" else o
        lse = tensors["lse"][1]
        for path in self._cleanup:
            if os.path.exists(path):
                os.remove(path)
        return self._restore(o, lse) if self._restore else (o, lse)


class Client:
    """Client(url, token=None, data_dir=..., verify=True): url of any silo's HTTP API (https://...:8443 when the cluster
    has its certificate); data_dir a directory every silo reads (one of the cluster's allowed roots) where the tensors
    are written for the job; verify as requests takes it: the cluster certificate's PEM file for a self-signed one."""

    def __init__(self, url, token=None, data_dir=None, timeout=60.0, verify=True):
        self.url, self.data_dir, self.timeout = url.rstrip("/"), data_dir, timeout
        self._session = requests.Session()
        self._session.verify = verify
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def _url(self, path):
        return self.url + path

    def _check(self, answer):
        if answer.status_code >= 400:
            try:
                error = answer.json()
                raise RingAttentionError(error["field"], error["rule"], answer.status_code)
            except (ValueError, KeyError):
                raise RingAttentionError("http", f"{answer.status_code} {answer.reason}", answer.status_code) from None

    def _call(self, method, path, body=None):
        answer = self._session.request(method, self._url(path), json=body, timeout=self.timeout)
        self._check(answer)
        return answer.json()

    def job(self, job_id):
        return Job(self, job_id)

    def jobs(self, limit=50):
        return self._call("GET", f"/v1/jobs?limit={limit}")

    def submit(self, q, k, v, causal=False, window=None, scale=None, shards=1, layout="bshd"):
        """Writes q, k, v to data_dir and submits the job; returns a Job (result() gives (o, lse))."""
        if self.data_dir is None:
            raise RingAttentionError("data_dir", "give Client(data_dir=...): a directory the cluster reads (one of its allowed roots)")
        (qn, qt, back), (kn, kt, _), (vn, vt, _) = _to_numpy(q), _to_numpy(k), _to_numpy(v)
        if not (qt == kt == vt):
            raise RingAttentionError("dtype", f"q, k and v must share a dtype ({qt}, {kt}, {vt})")
        four_d = qn.ndim == 4
        (qf, batch), (kf, kb), (vf, _) = _fold(qn, layout), _fold(kn, layout), _fold(vn, layout)
        if kb != batch:
            raise RingAttentionError("k", f"q has batch {batch} but k has {kb}")
        name = f"ringattn-{uuid.uuid4().hex[:12]}"
        inputs = os.path.join(os.path.abspath(self.data_dir), name + "-in.safetensors")
        output = os.path.join(os.path.abspath(self.data_dir), name + "-out.safetensors")
        write_safetensors(inputs, {"q": (qt, qf), "k": (kt, kf), "v": (vt, vf)})
        spec = {"inputPath": inputs, "outputPath": output, "causal": bool(causal), "shards": int(shards)}
        if window is not None:
            spec["window"] = int(window)
        if scale is not None:
            spec["scale"] = float(scale)
        try:
            status = self._call("POST", "/v1/jobs", spec)
        except Exception:
            os.remove(inputs)
            raise

        def restore(o, lse):
            o, lse = _unfold(o, lse, batch, layout, four_d)
            if back["torch"]:
                import torch
                return torch.from_numpy(o.astype(np.float32)).to(back["dtype"]).to(back["device"]), torch.from_numpy(np.array(lse)).to(back["device"])
            return o.astype(back["dtype"]), lse

        return Job(self, status["jobId"], output, cleanup=(inputs, output), restore=restore)

    def attention(self, q, k, v, causal=False, window=None, scale=None, shards=1, layout="bshd", progress=True):
        """Exact attention on the cluster: (o, lse), o like q (layout, dtype, torch or numpy), lse [B, H, T] float32."""
        job = self.submit(q, k, v, causal=causal, window=window, scale=scale, shards=shards, layout=layout)
        try:
            job.wait(progress=progress)
        except BaseException as stop:
            if isinstance(stop, KeyboardInterrupt):
                try:
                    job.cancel()  # the cluster stops it; its output never appears
                except Exception:
                    pass
            for path in job._cleanup:
                if os.path.exists(path):
                    os.remove(path)
            raise
        return job.result()
