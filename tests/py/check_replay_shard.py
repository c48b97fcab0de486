#!/usr/bin/env python3
"""Reads an rlae replay shard with h5py and checks every field against the JSON
the C++ side wrote beside it (tests/unit/test_replay.cpp, FixtureForH5py)."""
import json
import sys

import h5py
import numpy as np

DTYPES = {"obs": np.float32, "share_obs": np.float32, "actions": np.float32, "logprobs": np.float32,
          "weights": np.float32, "rewards": np.float32, "dones": np.uint8, "values": np.float32,
          "policy_version": np.int64, "episode": np.int64, "span_index": np.int32}


def main(prefix):
    want = json.load(open(prefix + ".json"))
    failures = []
    with h5py.File(prefix + ".h5", "r") as f:
        for key, value in want["attrs"].items():
            got = f.attrs[key]
            got = got.decode() if isinstance(got, bytes) else got
            if got != value:
                failures.append(f"attr {key}: {got!r} != {value!r}")
        for name, spec in want["steps"].items():
            ds = f["steps"][name]
            if ds.dtype != DTYPES[name]:
                failures.append(f"steps/{name}: dtype {ds.dtype}, expected {DTYPES[name]}")
            if list(ds.shape) != spec["shape"]:
                failures.append(f"steps/{name}: shape {ds.shape}, expected {spec['shape']}")
                continue
            if ds.size and ds.compression != "gzip":
                failures.append(f"steps/{name}: not compressed ({ds.compression})")
            got = ds[()].astype(np.float64).ravel()
            if not np.array_equal(got, np.asarray(spec["values"], dtype=np.float64)):
                failures.append(f"steps/{name}: values differ")
        for name in ("prompt_id", "task", "text"):
            got = [s.decode() if isinstance(s, bytes) else s for s in f["episodes"][name][()]]
            if got != want["episodes"][name]:
                failures.append(f"episodes/{name}: {got[:2]} != {want['episodes'][name][:2]}")
        if f["episodes"]["correct"][()].tolist() != want["episodes"]["correct"]:
            failures.append("episodes/correct differs")
    for line in failures:
        print("FAIL", line)
    checked = len(want["steps"]) + len(want["attrs"]) + 4
    print(f"{checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
