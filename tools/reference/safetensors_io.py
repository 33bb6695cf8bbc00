"""Our own minimal safetensors writer (the safetensors package is not installed here)."""
import json
import struct

import torch

DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32"}


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype in (torch.float16, torch.bfloat16) else t.numpy().tobytes()
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """F32/F16/BF16 tensors by name (what write_safetensors writes and the demo model ships)."""
    import numpy as np
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        if e["dtype"] == "F32":
            t = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).copy())
        elif e["dtype"] in ("F16", "BF16"):
            raw = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.int16).copy())
            t = raw.view(torch.float16 if e["dtype"] == "F16" else torch.bfloat16).float()
        else:
            raise ValueError(f"{path}: {name} has dtype {e['dtype']}, not a float")
        out[name] = t.reshape(e["shape"])
    return out
