"""The safetensors format without the safetensors package (not packaged for Debian): an 8-byte little-endian header
length, a JSON header (dtype, shape, data_offsets per tensor; __metadata__ strings), then the raw row-major data.
bfloat16 has no numpy dtype: it is held as uint16 bits here and converted with round-to-nearest-even."""
import json
import struct

import numpy as np

_NUMPY = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def float32_to_bf16_bits(x):
    """float32 array -> uint16 bfloat16 bits, rounded to nearest even (NaN kept NaN)."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        rounded[nan] = 0x7FC0
    return rounded


def bf16_bits_to_float32(bits):
    return (np.ascontiguousarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype name "F32" | "F16" | "BF16", numpy array of that dtype; uint16 bits for BF16)."""
    header, offset, blobs = {}, 0, []
    for name, (dtype, array) in tensors.items():
        data = np.ascontiguousarray(array, dtype=_NUMPY[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """-> ({name: (dtype name, numpy array; uint16 bits for BF16)}, metadata dict)."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        base = 8 + length
        tensors = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            f.seek(base + begin)
            raw = f.read(end - begin)
            tensors[name] = (info["dtype"], np.frombuffer(raw, dtype=_NUMPY[info["dtype"]]).reshape(info["shape"]))
    return tensors, header.get("__metadata__", {})
