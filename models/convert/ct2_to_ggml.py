#!/usr/bin/env python3
"""Convert a CTranslate2 Whisper model (`model.bin`) to whisper.cpp's ggml file.

Written for kefu from the two format descriptions below; it needs only numpy.

Input: CTranslate2 `model.bin`, binary version 6 (little endian):
    u32 binary_version | str spec_name | u32 spec_revision | u32 n_variables
    n_variables x { str name | u8 rank | u32 dims[rank] | u8 dtype | u32 n_bytes | bytes }
    u32 n_aliases | n_aliases x { str alias | str target }
where `str` is a u16 length (including a trailing NUL) followed by the bytes. dtype ids:
0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16. The Whisper spec fuses the
attention projections: self-attention `linear_0` is [q; k; v] (3d x d, the key bias is
zero), cross-attention `linear_0` is q, `linear_1` is [k; v], `linear_2` the output.

Output: the legacy ggml layout that whisper.cpp's `convert-pt-to-ggml.py` writes and
`whisper_model_load` reads (all int32/float32 little endian, no alignment):
    magic 0x67676d6c | n_vocab n_audio_ctx n_audio_state n_audio_head n_audio_layer
    n_text_ctx n_text_state n_text_head n_text_layer n_mels ftype(1 = f16)
    mel filters: n_mel n_fft, n_mel*n_fft float32
    vocabulary: n_tokens, n_tokens x { len, bytes }   (the tiktoken ranks, in order)
    tensors: { n_dims, name_len, ttype, ne[n_dims] (innermost first), name, data }
Tensors carry OpenAI's PyTorch names and come in the order of OpenAI's state_dict, so the
output does not depend on dictionary order, the clock or the machine: the same input gives
the same bytes. Weights of rank >= 2 are f16 (ttype 1); rank-1 tensors, the conv biases
(reshaped to [n, 1]) and both positional embeddings are f32 (ttype 0).

Usage: ct2_to_ggml.py MODEL_DIR ASSETS_DIR OUT.bin
  MODEL_DIR   holds model.bin (CTranslate2)
  ASSETS_DIR  openai-whisper's whisper/assets (mel_filters.npz, *.tiktoken)
"""

import argparse
import base64
import os
import struct
import sys

import numpy as np

GGML_MAGIC = 0x67676D6C
CT2_BINARY_VERSION = 6
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
# Smallest vocabulary of a multilingual Whisper; whisper.cpp picks the tokenizer the same way.
MULTILINGUAL_MIN_VOCAB = 51865
# Kept f32 even though they are 2-D (as whisper.cpp's converter and quantizer do).
F32_2D = {
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
}


class FormatError(Exception):
    """The input is not the CTranslate2 Whisper model this converter understands."""


def read_ct2(path):
    """Return ({name: ndarray}, spec_name) from a CTranslate2 model.bin, aliases resolved."""
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        size = struct.calcsize("<" + fmt)
        if pos + size > len(buf):
            raise FormatError(f"{path}: truncated at byte {pos}")
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += size
        return vals

    def take_str():
        nonlocal pos
        (n,) = take("H")
        raw = buf[pos : pos + n]
        pos += n
        if len(raw) != n or not raw.endswith(b"\0"):
            raise FormatError(f"{path}: bad string at byte {pos - n}")
        return raw[:-1].decode("utf-8")

    (version,) = take("I")
    if version != CT2_BINARY_VERSION:
        raise FormatError(f"{path}: CTranslate2 binary version {version}, expected 6")
    spec = take_str()
    take("I")  # spec revision
    (n_vars,) = take("I")
    variables = {}
    for _ in range(n_vars):
        name = take_str()
        (rank,) = take("B")
        shape = take(f"{rank}I") if rank else ()
        (dtype_id,) = take("B")
        (n_bytes,) = take("I")
        if dtype_id not in CT2_DTYPES:
            raise FormatError(f"{path}: {name}: unsupported dtype id {dtype_id}")
        dtype = np.dtype(CT2_DTYPES[dtype_id]).newbyteorder("<")
        if n_bytes != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
            raise FormatError(f"{path}: {name}: {n_bytes} bytes do not match shape {shape}")
        arr = np.frombuffer(buf, dtype=dtype, count=n_bytes // dtype.itemsize, offset=pos)
        variables[name] = arr.reshape(shape)
        pos += n_bytes
    (n_aliases,) = take("I")
    for _ in range(n_aliases):
        alias, target = take_str(), take_str()
        variables[alias] = variables[target]
    if pos != len(buf):
        raise FormatError(f"{path}: {len(buf) - pos} trailing bytes")
    return variables, spec


def count_layers(variables, prefix):
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in variables:
        n += 1
    return n


def hparams_of(v):
    """Whisper dimensions, read from tensor shapes and the spec's scalar variables."""
    conv1 = v["encoder/conv1/weight"]
    return {
        "n_vocab": v["decoder/embeddings/weight"].shape[0],
        "n_audio_ctx": v["encoder/position_encodings/encodings"].shape[0],
        "n_audio_state": conv1.shape[0],
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": count_layers(v, "encoder"),
        "n_text_ctx": v["decoder/position_encodings/encodings"].shape[0],
        "n_text_state": v["decoder/embeddings/weight"].shape[1],
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": count_layers(v, "decoder"),
        "n_mels": conv1.shape[1],
    }


def split_rows(arr, parts, what):
    if arr.shape[0] % parts:
        raise FormatError(f"{what}: {arr.shape[0]} rows do not split in {parts}")
    return np.split(arr, parts, axis=0)


def zero_bias(arr, what):
    if np.any(arr != 0):
        raise FormatError(f"{what}: key bias is not zero; whisper.cpp has no key bias")


def linear(out, name, v, ct2):
    out.append((f"{name}.weight", v[f"{ct2}/weight"]))
    out.append((f"{name}.bias", v[f"{ct2}/bias"]))


def norm(out, name, v, ct2):
    out.append((f"{name}.weight", v[f"{ct2}/gamma"]))
    out.append((f"{name}.bias", v[f"{ct2}/beta"]))


def self_attention(out, name, v, ct2):
    """[q; k; v] fused projection -> query, key (no bias), value, out."""
    wq, wk, wv = split_rows(v[f"{ct2}/linear_0/weight"], 3, ct2)
    bq, bk, bv = split_rows(v[f"{ct2}/linear_0/bias"], 3, ct2)
    zero_bias(bk, ct2)
    out += [
        (f"{name}.query.weight", wq),
        (f"{name}.query.bias", bq),
        (f"{name}.key.weight", wk),
        (f"{name}.value.weight", wv),
        (f"{name}.value.bias", bv),
    ]
    linear(out, f"{name}.out", v, f"{ct2}/linear_1")


def cross_attention(out, name, v, ct2):
    """query, [k; v] fused projection, out -> query, key (no bias), value, out."""
    linear(out, f"{name}.query", v, f"{ct2}/linear_0")
    wk, wv = split_rows(v[f"{ct2}/linear_1/weight"], 2, ct2)
    bk, bv = split_rows(v[f"{ct2}/linear_1/bias"], 2, ct2)
    zero_bias(bk, ct2)
    out += [
        (f"{name}.key.weight", wk),
        (f"{name}.value.weight", wv),
        (f"{name}.value.bias", bv),
    ]
    linear(out, f"{name}.out", v, f"{ct2}/linear_2")


def whisper_tensors(v, hp):
    """(OpenAI name, array) in the order of OpenAI Whisper's state_dict."""
    out = [("encoder.positional_embedding", v["encoder/position_encodings/encodings"])]
    linear(out, "encoder.conv1", v, "encoder/conv1")
    linear(out, "encoder.conv2", v, "encoder/conv2")
    for i in range(hp["n_audio_layer"]):
        b, c = f"encoder.blocks.{i}", f"encoder/layer_{i}"
        self_attention(out, f"{b}.attn", v, f"{c}/self_attention")
        norm(out, f"{b}.attn_ln", v, f"{c}/self_attention/layer_norm")
        linear(out, f"{b}.mlp.0", v, f"{c}/ffn/linear_0")
        linear(out, f"{b}.mlp.2", v, f"{c}/ffn/linear_1")
        norm(out, f"{b}.mlp_ln", v, f"{c}/ffn/layer_norm")
    norm(out, "encoder.ln_post", v, "encoder/layer_norm")

    out.append(("decoder.positional_embedding", v["decoder/position_encodings/encodings"]))
    out.append(("decoder.token_embedding.weight", v["decoder/embeddings/weight"]))
    for i in range(hp["n_text_layer"]):
        b, c = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        self_attention(out, f"{b}.attn", v, f"{c}/self_attention")
        norm(out, f"{b}.attn_ln", v, f"{c}/self_attention/layer_norm")
        cross_attention(out, f"{b}.cross_attn", v, f"{c}/attention")
        norm(out, f"{b}.cross_attn_ln", v, f"{c}/attention/layer_norm")
        linear(out, f"{b}.mlp.0", v, f"{c}/ffn/linear_0")
        linear(out, f"{b}.mlp.2", v, f"{c}/ffn/linear_1")
        norm(out, f"{b}.mlp_ln", v, f"{c}/ffn/layer_norm")
    norm(out, "decoder.ln", v, "decoder/layer_norm")
    return out


def read_tiktoken(path):
    """Token byte strings in rank order ("<base64> <rank>" per line)."""
    tokens = []
    with open(path, "rb") as f:
        for line in f.read().splitlines():
            if not line:
                continue
            tok, rank = line.split()
            if int(rank) != len(tokens):
                raise FormatError(f"{path}: rank {int(rank)} out of order")
            tokens.append(base64.b64decode(tok))
    return tokens


def write_tensor(f, name, data):
    if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
        data = data.reshape(data.shape[0], 1)
    f32 = data.ndim < 2 or name in F32_2D
    data = np.ascontiguousarray(data, dtype="<f4" if f32 else "<f2")
    raw_name = name.encode("utf-8")
    f.write(struct.pack("<iii", data.ndim, len(raw_name), 0 if f32 else 1))
    f.write(struct.pack(f"<{data.ndim}i", *reversed(data.shape)))
    f.write(raw_name)
    f.write(data.tobytes())


def convert(model_dir, assets_dir, out_path):
    variables, spec = read_ct2(os.path.join(model_dir, "model.bin"))
    if spec != "WhisperSpec":
        raise FormatError(f"{model_dir}/model.bin: spec {spec!r}, expected 'WhisperSpec'")
    hp = hparams_of(variables)
    multilingual = hp["n_vocab"] >= MULTILINGUAL_MIN_VOCAB
    tokens = read_tiktoken(
        os.path.join(assets_dir, "multilingual.tiktoken" if multilingual else "gpt2.tiktoken")
    )
    with np.load(os.path.join(assets_dir, "mel_filters.npz")) as npz:
        filters = np.asarray(npz[f"mel_{hp['n_mels']}"], dtype="<f4")
    tensors = whisper_tensors(variables, hp)

    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<I", GGML_MAGIC))
        for key in (
            "n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
            "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels",
        ):
            f.write(struct.pack("<i", hp[key]))
        f.write(struct.pack("<i", 1))  # ftype: f16 weights
        f.write(struct.pack("<ii", *filters.shape))
        f.write(filters.tobytes())
        f.write(struct.pack("<i", len(tokens)))
        for tok in tokens:
            f.write(struct.pack("<i", len(tok)))
            f.write(tok)
        for name, data in tensors:
            write_tensor(f, name, data)
    os.replace(tmp, out_path)
    return hp, len(tensors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir", help="folder with CTranslate2 model.bin")
    ap.add_argument("assets_dir", help="openai-whisper whisper/assets folder")
    ap.add_argument("out", help="ggml file to write")
    args = ap.parse_args()
    try:
        hp, n = convert(args.model_dir, args.assets_dir, args.out)
    except KeyError as e:
        print(f"ct2_to_ggml: {args.model_dir}/model.bin: no variable {e}", file=sys.stderr)
        return 1
    except (FormatError, OSError) as e:
        print(f"ct2_to_ggml: {e}", file=sys.stderr)
        return 1
    dims = " ".join(f"{k}={v}" for k, v in hp.items())
    print(f"ct2_to_ggml: {args.out}: {n} tensors, {dims}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
