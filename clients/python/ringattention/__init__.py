"""RingAttention from Python: exact attention over long sequences on a RingAttention cluster, through its HTTP job API."""
from .client import Client, Job, RingAttentionError
from .safetensors_io import read_safetensors, write_safetensors

__all__ = ["Client", "Job", "RingAttentionError", "read_safetensors", "write_safetensors"]
