#!/usr/bin/env python3
"""Every `key = value` in an rlae INI file equals the default that `rlae train --help`
prints for --key: experiments/reference.ini must spell out the built-in defaults.

    check_reference_defaults.py INI HELP_TEXT_FILE
"""
import re
import sys


def same(a, b):
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


ini, help_file = sys.argv[1], sys.argv[2]
defaults = dict(re.findall(r"--([a-z0-9-]+) [^\n]*?\(=([^)]*)\)", open(help_file).read()))
bad = 0
keys = 0
for n, line in enumerate(open(ini), 1):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    key, value = (x.strip() for x in line.split("=", 1))
    keys += 1
    if key not in defaults:
        print(f"{ini}:{n}: '{key}' has no default in rlae train --help")
        bad = 1
    elif not same(value, defaults[key]):
        print(f"{ini}:{n}: {key} = {value}, but the built-in default is {defaults[key]}")
        bad = 1
if keys < 10:
    print(f"{ini}: only {keys} settings read")
    bad = 1
sys.exit(bad)
