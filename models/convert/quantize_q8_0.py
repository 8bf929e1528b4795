#!/usr/bin/env python3
"""Quantize a whisper.cpp ggml file (f16) to q8_0, as whisper.cpp's `quantize` tool does.

Written for kefu from the ggml format facts; it needs only numpy.

- The header is copied, except ftype, which becomes GGML_QNT_VERSION * 1000 + 7
  (GGML_FTYPE_MOSTLY_Q8_0; quantization format version 2), i.e. 2007.
- The mel filters and the vocabulary are copied unchanged.
- Every 2-D tensor is quantized except the conv biases and the two positional embeddings
  (whisper.cpp's skip list); 1-D and 3-D tensors (the conv weights) are copied unchanged.
- q8_0 (ggml type 8): each row is cut in blocks of 32 weights; a block is one f16 scale
  d = max|x| / 127 followed by 32 int8 q = roundf(x / d) (34 bytes). The arithmetic is
  ggml's reference quantizer in float32 (round half away from zero, scale rounded to
  nearest-even f16), so the output is deterministic; on ggml-base.bin it was checked
  byte-identical to whisper.cpp 1.8's `whisper-quantize … q8_0`.

Usage: quantize_q8_0.py IN-f16.bin OUT-q8_0.bin
"""

import argparse
import os
import struct
import sys

import numpy as np

GGML_MAGIC = 0x67676D6C
GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q8_0 = 0, 1, 8
GGML_FTYPE_MOSTLY_Q8_0 = 7
GGML_QNT_VERSION, GGML_QNT_VERSION_FACTOR = 2, 1000
QK8_0 = 32
N_HPARAMS = 11  # n_vocab … n_mels, ftype
SKIP = {
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
}
BLOCK_Q8_0 = np.dtype([("d", "<f2"), ("qs", "i1", (QK8_0,))])


class FormatError(Exception):
    """The input is not an f16/f32 whisper.cpp ggml file."""


def quantize_q8_0(x):
    """float32 array (size a multiple of 32) -> bytes of q8_0 blocks (ggml reference)."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, QK8_0)
    amax = np.abs(x).max(axis=1)
    d = amax / np.float32(127)
    inv = np.zeros_like(d)
    np.divide(np.float32(1), d, out=inv, where=d != 0)
    q = x * inv[:, None]
    # roundf: half away from zero (np.round would round half to even).
    whole = np.trunc(q)
    q = whole + np.sign(q) * (np.abs(q - whole) >= np.float32(0.5))
    blocks = np.empty(x.shape[0], dtype=BLOCK_Q8_0)
    blocks["d"] = d.astype(np.float16)
    blocks["qs"] = q.astype(np.int8)
    return blocks.tobytes()


def quantize_file(inp, out_path):
    with open(inp, "rb") as f:
        buf = f.read()
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(buf):
            raise FormatError(f"{inp}: truncated at byte {pos}")
        chunk = buf[pos : pos + n]
        pos += n
        return chunk

    header = take(4 * (1 + N_HPARAMS))
    magic, *hparams = struct.unpack("<I11i", header)
    if magic != GGML_MAGIC:
        raise FormatError(f"{inp}: bad magic {magic:#x}")
    if hparams[-1] not in (0, 1):
        raise FormatError(f"{inp}: ftype {hparams[-1]}, expected an f16 or f32 model")
    hparams[-1] = GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR + GGML_FTYPE_MOSTLY_Q8_0

    n_mel, n_fft = struct.unpack("<ii", take(8))
    filters = take(4 * n_mel * n_fft)
    vocab_start = pos
    (n_tokens,) = struct.unpack("<i", take(4))
    for _ in range(n_tokens):
        (n,) = struct.unpack("<i", take(4))
        take(n)
    vocab = buf[vocab_start:pos]

    tmp = out_path + ".tmp"
    n_quantized = 0
    with open(tmp, "wb") as f:
        f.write(struct.pack("<I11i", magic, *hparams))
        f.write(struct.pack("<ii", n_mel, n_fft))
        f.write(filters)
        f.write(vocab)
        while pos < len(buf):
            n_dims, name_len, ttype = struct.unpack("<iii", take(12))
            ne = struct.unpack(f"<{n_dims}i", take(4 * n_dims))
            name = take(name_len).decode("utf-8")
            if ttype not in (GGML_TYPE_F32, GGML_TYPE_F16):
                raise FormatError(f"{inp}: {name}: tensor type {ttype}, expected f32/f16")
            count = int(np.prod(ne, dtype=np.int64))
            raw = take(count * (4 if ttype == GGML_TYPE_F32 else 2))
            if n_dims == 2 and name not in SKIP:
                if ne[0] % QK8_0:
                    raise FormatError(f"{inp}: {name}: row of {ne[0]} not a multiple of 32")
                dtype = "<f4" if ttype == GGML_TYPE_F32 else "<f2"
                raw = quantize_q8_0(np.frombuffer(raw, dtype=dtype))
                ttype = GGML_TYPE_Q8_0
                n_quantized += 1
            f.write(struct.pack("<iii", n_dims, name_len, ttype))
            f.write(struct.pack(f"<{n_dims}i", *ne))
            f.write(name.encode("utf-8"))
            f.write(raw)
    os.replace(tmp, out_path)
    return n_quantized


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inp", help="f16 ggml file")
    ap.add_argument("out", help="q8_0 ggml file to write")
    args = ap.parse_args()
    try:
        n = quantize_file(args.inp, args.out)
    except (FormatError, OSError) as e:
        print(f"quantize_q8_0: {e}", file=sys.stderr)
        return 1
    print(f"quantize_q8_0: {args.out}: {n} tensors quantized to q8_0", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
