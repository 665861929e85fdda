#!/usr/bin/env python3
"""Builds an HF tokenizer.json from a llama.cpp vocab GGUF and records what the
HF `tokenizers` library makes of a set of texts (the reference for Spectra's
tokenizer.json loader).

usage: make_hf_reference.py OUT_ROOT INPUTS.inp NAME:FLAVOR:VOCAB.gguf [...]

FLAVOR picks the tokenizer.json shape:
  gpt2        ByteLevel(use_regex) pre-tokenizer                   (GPT-2)
  smollm      Sequence[Digits(individual), ByteLevel(use_regex)]   (SmolLM2, StarCoder)
  llama3      Sequence[Split(Llama-3 regex), ByteLevel(no regex)], ignore_merges,
              BOS from a TemplateProcessing post-processor           (Llama-3 layout)
  spm         Prepend/Replace "▁" normalizer, byte_fallback, merges derived
              from the piece scores                                  (Llama-2 layout)
  spm-metaspace  the same vocabulary behind a Metaspace(prepend_scheme=first)
              pre-tokenizer                                          (newer Llama/Mistral layout)

Writes OUT_ROOT/NAME/tokenizer.json and OUT_ROOT/NAME/expected.json:
  [{"text": str, "ids": [int], "decoded": str}, ...]
The texts are the inputs of INPUTS.inp (a llama.cpp test-vector file, split as
its test-tokenizer-0 splits them) plus the extra texts below. A case whose expected.json is newer than
this script and its vocab file is not rebuilt (opening a GGUF takes seconds).
"""
import json
import os
import sys

GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
MARKER = "\u2581"

EXTRA_TEXTS = [
    "I'M sure DON'T We'Ve THEY'LL she'S it'd",
    "1234567890 3.14159 -42 1,000,000 \u0663\u0664\u0665 \u00b2\u00b3 \u2167",
    "\u00a0non-breaking\u2003em space\u3000ideographic \u2028line sep",
    "line1\r\nline2\n\n\n  indented\ttab\t\t\n \n",
    "emoji \U0001F469\u200d\U0001F469\u200d\U0001F467 flag \U0001F1E9\U0001F1EA e\u0301 a\u0308 \ufe0f",
    "mixed \u4e2d\u6587\u5b57\u7b26 and \u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4 "
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",
    "def f(x):\n    return x**2  # comment\n\tif (a&&b) { c->d; }\n",
    "    leading and trailing spaces    ",
    "!!!???...,,,;;; $$$ +++ <<<>>> ^^^ ~~~ ||| ``` \"quoted\" 'single'",
    "control \x01\x02\x7f chars and NUL \x00 inside",
    "a" * 300 + " " + "ab" * 200,
    " ",
    "\n",
    "x",
]


def read_inputs(inp_path):
    with open(inp_path, "rb") as f:
        raw = f.read().decode("utf-8")
    sep = "\n__ggml_vocab_test__\n"
    out, pos = [], 0
    while pos < len(raw):
        nxt = raw.find(sep, pos)
        if nxt < 0:
            out.append(raw[pos:])
            break
        out.append(raw[pos:nxt])
        pos = nxt + len(sep)
    return out


def long_text():
    # A few KB mixing everything above, to exercise many words at once.
    parts = []
    for i in range(60):
        parts.append(EXTRA_TEXTS[i % 10])
        parts.append(f" {i * 7919} ")
    return "".join(parts)


def read_vocab(path):
    import gguf  # imported here: up-to-date runs need neither package

    r = gguf.GGUFReader(path)

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    def scalars(key):
        f = r.fields[key]
        return [f.parts[i][0].item() for i in f.data]

    def scalar(key):
        f = r.fields.get(key)
        return None if f is None else f.parts[f.data[0]][0].item()

    v = {"tokens": strings("tokenizer.ggml.tokens"), "types": scalars("tokenizer.ggml.token_type")}
    if "tokenizer.ggml.merges" in r.fields:
        v["merges"] = strings("tokenizer.ggml.merges")
    if "tokenizer.ggml.scores" in r.fields:
        v["scores"] = scalars("tokenizer.ggml.scores")
    v["bos"] = scalar("tokenizer.ggml.bos_token_id")
    return v


def added_tokens(v):
    # Control tokens (3) as special added tokens; user-defined (4) as plain ones.
    out = []
    for i, (t, ty) in enumerate(zip(v["tokens"], v["types"])):
        if ty in (3, 4):
            out.append({"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                        "normalized": False, "special": ty == 3})
    return out


def bpe_model(vocab, merges, **extra):
    m = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
         "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
         "vocab": vocab, "merges": merges}
    m.update(extra)
    return m


def byte_level(v, flavor):
    vocab = {t: i for i, t in enumerate(v["tokens"])}
    merges = v["merges"]
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens(v),
          "normalizer": None, "post_processor": None,
          "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}}
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    if flavor == "gpt2":
        tj["pre_tokenizer"] = bl
        tj["model"] = bpe_model(vocab, merges)
    elif flavor == "smollm":
        tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True}, bl]}
        tj["model"] = bpe_model(vocab, merges)
    elif flavor == "llama3":
        tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
            dict(bl, use_regex=False)]}
        tj["model"] = bpe_model(vocab, [m.split(" ", 1) for m in merges], ignore_merges=True)
        bos = v["tokens"][v["bos"]]
        tj["post_processor"] = {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {bos: {"id": bos, "ids": [v["bos"]], "tokens": [bos]}}}]}
    else:
        raise SystemExit(f"unknown flavor {flavor}")
    return tj


def spm_merges(v):
    # HF's SentencePieceExtractor: every split of a piece into two pieces is a
    # merge; merges are ordered by the merged piece's score (best first).
    normal = {t: i for i, (t, ty) in enumerate(zip(v["tokens"], v["types"])) if ty == 1}
    scores = v["scores"]
    merges = []
    for piece, pid in normal.items():
        local = []
        for k in range(1, len(piece)):
            l, r = piece[:k], piece[k:]
            if l in normal and r in normal:
                local.append((l, r, scores[pid]))
        local.sort(key=lambda x: (normal[x[0]], normal[x[1]]))
        merges.extend(local)
    merges.sort(key=lambda x: x[2], reverse=True)
    return [[l, r] for l, r, _ in merges]


def sentencepiece(v, flavor):
    vocab = {t: i for i, t in enumerate(v["tokens"])}
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens(v),
          "model": bpe_model(vocab, spm_merges(v), unk_token="<unk>", fuse_unk=True, byte_fallback=True),
          "decoder": {"type": "Sequence", "decoders": [
              {"type": "Replace", "pattern": {"String": MARKER}, "content": " "},
              {"type": "ByteFallback"}, {"type": "Fuse"},
              {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}}
    bos = v["tokens"][v["bos"]]
    tj["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {bos: {"id": bos, "ids": [v["bos"]], "tokens": [bos]}}}
    if flavor == "spm":
        tj["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": MARKER},
            {"type": "Replace", "pattern": {"String": " "}, "content": MARKER}]}
        tj["pre_tokenizer"] = None
    else:
        tj["normalizer"] = None
        tj["pre_tokenizer"] = {"type": "Metaspace", "replacement": MARKER, "prepend_scheme": "first",
                               "split": False}
        # The Metaspace decoder strips the leading space itself.
        tj["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": MARKER}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    return tj


def build(flavor, v, inputs_path, out_dir):
    from tokenizers import Tokenizer

    tj = sentencepiece(v, flavor) if flavor.startswith("spm") else byte_level(v, flavor)
    os.makedirs(out_dir, exist_ok=True)
    # Written to a temporary name and renamed: parallel test processes may
    # build the same case at once.
    tmp = os.path.join(out_dir, f"tokenizer.json.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
    os.replace(tmp, os.path.join(out_dir, "tokenizer.json"))
    # A stale tokenizer_config.json would override the BOS settings under test.
    cfg = os.path.join(out_dir, "tokenizer_config.json")
    if os.path.exists(cfg):
        os.remove(cfg)

    tok = Tokenizer.from_str(json.dumps(tj))
    texts = read_inputs(inputs_path) + EXTRA_TEXTS + [long_text()]
    expected = []
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        expected.append({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
    tmp = os.path.join(out_dir, f"expected.json.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False)
    os.replace(tmp, os.path.join(out_dir, "expected.json"))


def up_to_date(out_dir, vocab_path, inputs_path):
    exp = os.path.join(out_dir, "expected.json")
    if not os.path.exists(exp) or not os.path.exists(os.path.join(out_dir, "tokenizer.json")):
        return False
    newest_input = max(os.path.getmtime(p) for p in (__file__, vocab_path, inputs_path))
    return os.path.getmtime(exp) > newest_input


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    root, inputs_path = sys.argv[1:3]
    vocabs = {}
    for spec in sys.argv[3:]:
        name, flavor, vocab_path = spec.split(":", 2)
        out_dir = os.path.join(root, name)
        if up_to_date(out_dir, vocab_path, inputs_path):
            continue
        if vocab_path not in vocabs:
            vocabs[vocab_path] = read_vocab(vocab_path)
        build(flavor, vocabs[vocab_path], inputs_path, out_dir)


if __name__ == "__main__":
    main()
