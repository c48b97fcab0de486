#!/usr/bin/env python3
"""Fixtures for the tokenizer parity test (tests/parity/test_tokenizer_parity.cpp).

    make_tokenizer_fixtures.py OUT_DIR

Trains small tokenizers with the Hugging Face `tokenizers` library, in the styles
that rlae must read (GPT-2 / Llama 3 / Qwen2 byte-level BPE, Llama 2 / Mistral
SentencePiece-style BPE with byte fallback, a character-level vocabulary without
merges, and a few less common component mixes), and writes for each one:

    OUT_DIR/<name>/tokenizer.json
    OUT_DIR/<name>/cases.jsonl   one case a line:
        {"text": s, "ids": [...], "ids_special": [...], "decoded": ..., "decoded_skip": ...,
         "pieces": [...] (what the pre-tokenizer alone makes of s, when there is one)}
        {"decode_ids": [...], "decoded": ..., "decoded_skip": ...}
    OUT_DIR/manifest.json        {"tokenizers": [{"name", "cases", "strings"}], "tokenizers_version"}

Everything is deterministic (fixed seeds). Needs only `tokenizers` (no network).
"""
import json
import os
import random
import shutil
import sys

import tokenizers
from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers,
                        pre_tokenizers, processors, trainers)

GPT2_PATTERN = (r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPM = "\u2581"

# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------
WORDS = """the of and to in is was for on that with as by at from his her it an were are
which this be or has had not but what all when there can who been one more if no out so
said up its about into than them only other new some could time these two may then do
first any my now such like our over man me even most made after also did many before must
through back years where much your way well down should because each just those people
Mr how too little state good very make world still own see men work long get here between
both life being under never day same another know while last might us great old year off
come since against go came right used take three Hello World Python Rust Tokenizer HTTP
JSON GPU NVIDIA McDonald O'Brien iPhone camelCase snake_case kebab-case ALLCAPS TitleCase""".split()

FOREIGN = """café naïve résumé façade über straße Ärger Öl jalapeño mañana São Paulo
Ελληνικά καλημέρα Москва привет мир Україна שלום עולם مرحبا بالعالم नमस्ते दुनिया
বাংলা தமிழ் ไทย ສະບາຍດີ 你好 世界 中文分词 東京 こんにちは カタカナ ひらがな 안녕하세요 세계
한국어 Tiếng Việt ǅemal İstanbul ıi ǈ ǉ ſtraße ﬁne ﬂow Ａ Ｂ Ｃ ｱｲｳ""".split()

EMOJI = ["😀", "😂", "👍", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "🇯🇵", "❤️", "✨", "🔥", "🚀", "🤖",
         "☕", "🏳️‍🌈", "🧑🏿‍💻", "🎉🎉", "😀😀😀", "©", "®", "™", "∑", "√", "∞", "≠", "→", "⟨⟩",
         "§", "¶", "•", "…", "—", "–", "«", "»", "“", "”", "‘", "’", "¿", "¡", "€", "£", "¥", "₿"]

NUMBERS = ["0", "1", "7", "42", "123", "1234", "12345", "1234567", "3.14159", "2.5e-10",
           "1,000,000", "0x1F", "0b1010", "100%", "-17", "+3", "1st", "2nd", "3rd", "4th",
           "١٢٣", "٣٤٥٦", "१२३", "一二三", "½", "¾", "²", "³", "Ⅻ", "ⅷ", "①②", "𝟘𝟙𝟚", "12:30",
           "2024-01-15", "$5.99", "€10", "10ms", "v1.2.3"]

CODE = ["def f(x):\n    return x ** 2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
        "if x == None:\n        pass", "<html><body class=\"main\">Hi</body></html>",
        '{"key": [1, 2, 3], "nested": {"a": null}}', "SELECT * FROM users WHERE id = 42;",
        "x = y->z; // comment", "#include <vector>\n", "  - item: value\n  - other: 2",
        "https://example.com/path?query=1&b=2#frag", "user@example.com", "C:\\Users\\me\\file.txt",
        "$ ls -la | grep foo > out.txt", "λx. x + 1", "a && b || !c", "i++; j--;",
        "print(f\"{name!r:>10}\")", "```python\nimport os\n```", "\tindented\n\t\tmore",
        "fn main() {\n    println!(\"hi\");\n}", "---\n***\n___", "x:=1;;y::z", "../../etc",
        "'''docstring'''", "\"quoted\"", "`backtick`", "[link](http://a.b)", "# Heading\n\n"]

CONTRACTIONS = ["don't", "DON'T", "I'm", "we'll", "WE'LL", "they've", "You're", "he'd",
                "it's", "It'S", "'s", "''s", "'ſ", "x'ſt", "rock'n'roll", "'tis", "o'clock",
                "'re'", "''", "'", "' s", "'ll've", "Ma'am"]

SPACES = [" ", " ", " ", "  ", "   ", "    ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ",
          " \n\n ", "\t\t", " \t ", "\u00a0", "\u3000", "\u2003", "\u2028", "\x0b", "\x0c",
          "\x1c", "\x85", "\u200b", "\ufeff", "\r", "\n\n\n", "      \n  "]

SPECIAL_SNIPPETS = ["<|endoftext|>", "<s>", "</s>", "<unk>", "<mask>", "[NEWTOK]", "foo bar",
                    "<|begin_of_text|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>", "<0x41>",
                    "<0xE2>", "<|endoftext", "<s", "mask>", "[NEWTOK", "▁", "▁▁", "Ġ", "ĠĠ"]

RARE_BLOCKS = [(0x0300, 0x036F), (0x0400, 0x04FF), (0x0590, 0x05FF), (0x0900, 0x097F),
               (0x1100, 0x11FF), (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x2100, 0x214F),
               (0x2190, 0x21FF), (0x2460, 0x24FF), (0x3040, 0x30FF), (0x4E00, 0x4FFF),
               (0xAC00, 0xAD00), (0xFB00, 0xFB4F), (0xFF00, 0xFFEF), (0x1F300, 0x1F64F),
               (0x1D400, 0x1D4FF), (0x10400, 0x1044F), (0x00A0, 0x00FF), (0x0000, 0x007F)]


def fragment(rng):
    r = rng.random()
    if r < 0.40:
        w = rng.choice(WORDS)
        v = rng.random()
        return w.upper() if v < 0.1 else (w.capitalize() if v < 0.3 else w)
    if r < 0.55:
        return rng.choice(FOREIGN)
    if r < 0.65:
        return rng.choice(NUMBERS)
    if r < 0.73:
        return rng.choice(EMOJI)
    if r < 0.80:
        return rng.choice(CONTRACTIONS)
    if r < 0.85:
        return rng.choice(CODE)
    if r < 0.90:
        return rng.choice(SPECIAL_SNIPPETS)
    if r < 0.95:
        return "".join(rng.choice("!?.,;:-_=+*/\\|@#$%^&()[]{}<>\"'~`") for _ in range(rng.randint(1, 4)))
    return random_chars(rng, rng.randint(1, 4))


def random_chars(rng, n):
    out = []
    for _ in range(n):
        a, b = rng.choice(RARE_BLOCKS)
        cp = rng.randint(a, b)
        out.append(chr(cp))
    return "".join(out)


def sentence(rng):
    parts = []
    for _ in range(rng.randint(1, 14)):
        parts.append(fragment(rng))
        parts.append(rng.choice(SPACES) if rng.random() < 0.35 else " ")
    s = "".join(parts)
    r = rng.random()
    if r < 0.2:
        s = s.strip()
    elif r < 0.3:
        s = rng.choice(SPACES) + s
    return s


HANDWRITTEN = [
    "", " ", "  ", "   ", "\n", "\n\n", "\r\n", "\t", " \t \n", "\n \n", "a", "A", "é", "e\u0301",
    "Hello world", "Hello  world", "Hello   world  ", "   leading", "trailing   ", "mid   dle",
    "Hello\nworld", "Hello \nworld", "Hello\n\nworld", "Hello \n \n world", "a\r\nb", "a \r\n b",
    "don't stop", "I'M HERE", "we'LL see", "'s'S'ſ", "1", "12", "123", "1234", "12345678901",
    "3.14159", "a1b2c3", "x123y", " 123 456 ", "١٢٣٤٥", "½ and ¾", "Ⅻ", "😀", "👍🏽", "👨‍👩‍👧‍👦",
    "🇫🇷🇯🇵", "😀😀😀", " 😀", "你好，世界", "こんにちは世界", "안녕하세요", "\u1100\u1161\u11a8",
    "Ａｂｃ", "\u00a0", "a\u00a0b", "\u3000x", "a\u2028b", "\x1c\x1d\x1e\x1f", "\x00", "a\x00b",
    "\u200b", "a\u200db", "\ufeffBOM", "x\x0by", "x\x0cy", "x\x85y",
    "def f(x):\n    return x**2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    "<|endoftext|>", "a<|endoftext|>b", " <|endoftext|> ", "<|endoftext|><|endoftext|>",
    "<s>Hello</s>", "<s> Hello", "Hello <s>", "<0x41>", "<unk>", "<mask>", "  <mask>  x",
    "a<mask>b", "[NEWTOK]", "a[NEWTOK]b", " [NEWTOK] ", "x [NEWTOK]  y", "_[NEWTOK]_",
    "é[NEWTOK]", "foo bar", "xfoo barx", "foo  bar", "<|begin_of_text|>Hi<|eot_id|>",
    "<|im_start|>user\nHi<|im_end|>\n", "▁", "▁▁x", "Ġx", "\u2581Hello", "ſ", "'ſ", "K\u212a",
    "İstanbul", "ﬁ", "\U0001d400\U0001d401", "\U0010FFFD", "\ue000", "a" * 300, "ab " * 120,
    "\n" * 50, " " * 40, "😀" * 30, "1" * 40, "Ω≈ç√∫", "mixed中文and English", "tab\there",
    "end with space ", "end with newline\n", "  two leading", "Σίσυφος", "ǅ ǈ ǋ", "ß ẞ",
]


def test_strings(seed, count):
    rng = random.Random(seed)
    out = list(HANDWRITTEN)
    while len(out) < count - 100:
        out.append(sentence(rng))
    while len(out) < count:
        out.append(random_chars(rng, rng.randint(1, 12)))
    return out


def corpus(seed, count):
    # No "<0xNN>" literals: the byte-fallback vocabularies add those tokens themselves.
    rng = random.Random(seed)
    lines = []
    while len(lines) < count:
        s = sentence(rng)
        if "<0x" not in s:
            lines.append(s)
    return lines


# ---------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------
def edit_json(tok, fn):
    data = json.loads(tok.to_str())
    fn(data)
    return Tokenizer.from_str(json.dumps(data, ensure_ascii=False))


def train(tok, trainer, lines):
    tok.train_from_iterator(lines, trainer=trainer)
    return tok


def byte_level_trainer(vocab_size, specials):
    return trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                               initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                               show_progress=False)


def make_gpt2(lines, add_prefix_space, legacy_merges):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    train(tok, byte_level_trainer(1500, ["<|endoftext|>"]), lines)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    tok.add_tokens([AddedToken("[NEWTOK]", single_word=True, rstrip=True, normalized=False),
                    AddedToken("foo bar", normalized=True)])
    if legacy_merges:
        def to_legacy(d):
            d["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m
                                    for m in d["model"]["merges"]]
        tok = edit_json(tok, to_legacy)
    return tok


def make_split_byte_level(lines, pattern, specials, normalizer=None, template=None):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    train(tok, byte_level_trainer(2000, specials), lines)
    if template:
        bos = template
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                          special_tokens=[(bos, tok.token_to_id(bos))])])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def add_byte_tokens(data, first_id, only_ascii=False):
    """Inserts <0xNN> tokens into the BPE vocab at first_id, shifting later ids."""
    vocab = data["model"]["vocab"]
    n_bytes = 128 if only_ascii else 256
    shifted = {t: (i + n_bytes if i >= first_id else i) for t, i in vocab.items()}
    for b in range(n_bytes):
        shifted[f"<0x{b:02X}>"] = first_id + b
    data["model"]["vocab"] = shifted
    for t in data["added_tokens"]:
        if t["id"] >= first_id:
            t["id"] += n_bytes


def make_sentencepiece(lines, style):
    specials = ["<unk>", "<s>", "</s>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True,
                               fuse_unk=(style != "metaspace_split")))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPM, prepend_scheme="always",
                                                 split=True)
    trainer = trainers.BpeTrainer(vocab_size=1800, special_tokens=specials, limit_alphabet=180,
                                  show_progress=False)
    train(tok, trainer, lines)

    def finish(d):
        add_byte_tokens(d, 3, only_ascii=(style == "metaspace_split"))
        for t in d["added_tokens"]:
            t["normalized"] = False
        sp_decoder = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPM}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
        template = {"type": "TemplateProcessing",
                    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                               {"Sequence": {"id": "A", "type_id": 0}}],
                    "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                             {"Sequence": {"id": "A", "type_id": 0}},
                             {"SpecialToken": {"id": "<s>", "type_id": 1}},
                             {"Sequence": {"id": "B", "type_id": 1}}],
                    "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
        if style == "llama2":
            d["normalizer"] = {"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": SPM},
                {"type": "Replace", "pattern": {"String": " "}, "content": SPM}]}
            d["pre_tokenizer"] = None
            d["decoder"] = sp_decoder
            d["post_processor"] = template
        elif style == "mistral":
            d["normalizer"] = None
            d["pre_tokenizer"] = {"type": "Metaspace", "replacement": SPM,
                                  "prepend_scheme": "first", "split": False}
            d["decoder"] = sp_decoder
            d["post_processor"] = template
        else:  # metaspace_split: Metaspace both ways, unknown bytes are not fused
            d["pre_tokenizer"] = {"type": "Metaspace", "replacement": SPM,
                                  "prepend_scheme": "always", "split": True}
            d["decoder"] = {"type": "Metaspace", "replacement": SPM,
                            "prepend_scheme": "always", "split": True}
            d["post_processor"] = None

    tok = edit_json(tok, finish)
    if style == "mistral":
        tok.add_tokens([AddedToken("<mask>", normalized=True, special=False),
                        AddedToken("[NEWTOK]", lstrip=True, rstrip=True, normalized=False)])
    return tok


def make_charlevel(lines):
    counts = {}
    for line in lines:
        for ch in line:
            counts[ch] = counts.get(ch, 0) + 1
    chars = sorted(counts, key=lambda c: (-counts[c], c))[:400]
    vocab = {"<unk>": 0}
    for ch in sorted(chars):
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>", fuse_unk=False))
    tok.add_special_tokens([AddedToken("<unk>", special=True, normalized=False)])
    return tok


def make_subword(lines):
    tok = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##",
                               end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(),
                                                 pre_tokenizers.Digits(individual_digits=True)])
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    trainer = trainers.BpeTrainer(vocab_size=1500, special_tokens=["<unk>", "[CLS]", "[SEP]"],
                                  continuing_subword_prefix="##", end_of_word_suffix="</w>",
                                  limit_alphabet=300, show_progress=False)
    train(tok, trainer, lines)
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                   ("[CLS]", tok.token_to_id("[CLS]")))
    return tok


def make_split_mix(lines):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split("\n", behavior="merged_with_previous"),
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.Split(",", behavior="contiguous"),
        pre_tokenizers.Split(" ", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"\w+|[^\w\s]+"), behavior="removed", invert=True),
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    train(tok, byte_level_trainer(1200, ["<|endoftext|>"]), lines)
    return tok


def make_regex_mix(lines):
    """Regexes no fast path covers, through Oniguruma: Replace normalizers with regex
    patterns (SentencePiece's conversion uses such), Splits with every behavior, an
    empty-matching pattern, invert, \\p{...} long names, \\d, possessive and lazy
    quantifiers, look-around, a regex Replace decoder."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(r"\A +| +\z"), ""),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Replace(Regex(r"(?<=\d),(?=\d)"), "")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\p{P}+|\p{S}+"), behavior="isolated"),
        pre_tokenizers.Split(Regex(r"\d{1,2}+"), behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"(?=\p{Lu})"), behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"\s*"), behavior="contiguous"),
        pre_tokenizers.Split(Regex(r"[\p{Letter}\p{Mark}]+?|\p{Nd}"), behavior="removed",
                             invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.Sequence([decoders.ByteLevel(),
                                     decoders.Replace(Regex(r"\s+$"), "")])
    train(tok, byte_level_trainer(1200, ["<|endoftext|>"]), lines)
    return tok


def build_all(lines):
    return {
        "gpt2": make_gpt2(lines, add_prefix_space=False, legacy_merges=False),
        "gpt2_prefix_legacy_merges": make_gpt2(lines, add_prefix_space=True, legacy_merges=True),
        "llama3": make_split_byte_level(
            lines, LLAMA3_PATTERN, ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
                                    "<|start_header_id|>", "<|end_header_id|>"],
            template="<|begin_of_text|>"),
        "qwen2": make_split_byte_level(lines, QWEN2_PATTERN,
                                       ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                       normalizer=normalizers.NFC()),
        "llama2": make_sentencepiece(lines, "llama2"),
        "mistral": make_sentencepiece(lines, "mistral"),
        "metaspace_split": make_sentencepiece(lines, "metaspace_split"),
        "charlevel": make_charlevel(lines),
        "subword_affixes": make_subword(lines),
        "split_mix": make_split_mix(lines),
        "regex_mix": make_regex_mix(lines),
    }


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    # No stale fixture may stand in for one this run failed to write.
    if os.path.exists(os.path.join(out_dir, "manifest.json")):
        os.remove(os.path.join(out_dir, "manifest.json"))
    lines = corpus(1234, 4000)
    strings = test_strings(5678, 1200)
    manifest = {"tokenizers_version": tokenizers.__version__, "tokenizers": []}
    for name, tok in build_all(lines).items():
        d = os.path.join(out_dir, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        tok.save(os.path.join(d, "tokenizer.json"))
        # Reload from disk, so that the expectations come from the file under test.
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        vocab_size = tok.get_vocab_size(with_added_tokens=True)
        rng = random.Random(len(name))
        n = 0
        with open(os.path.join(d, "cases.jsonl"), "w", encoding="utf-8") as f:
            for s in strings:
                ids = tok.encode(s, add_special_tokens=False).ids
                ids_special = tok.encode(s, add_special_tokens=True).ids
                case = {"text": s, "ids": ids, "ids_special": ids_special,
                        "decoded": tok.decode(ids, skip_special_tokens=False),
                        "decoded_skip": tok.decode(ids_special, skip_special_tokens=True)}
                if tok.pre_tokenizer is not None:
                    case["pieces"] = [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(s)]
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
        manifest["tokenizers"].append({"name": name, "cases": n, "strings": len(strings)})
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"wrote {len(manifest['tokenizers'])} tokenizers x {len(strings)} strings to {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
