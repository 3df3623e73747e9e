"""The table of Benchmarks/counting.sh: true counts (trackd analyze on ground truth)
beside trackd's and the peers' (trackd analyze on their results), and supervision's
LineZone on trackd's own tracks.

    counting.py RUNS_DIR CONFIG_DIR DATA_DIR
"""
import configparser
import glob
import json
import os
import sys

import numpy as np
import supervision as sv

runs, configs, data = sys.argv[1:4]
PEERS = ["SORT", "ByteTrack", "OC-SORT", "BoT-SORT"]


def line_zone(start, end):
    return sv.LineZone(start=sv.Point(*start), end=sv.Point(*end), triggering_anchors=[sv.Position.BOTTOM_CENTER])


def detections(rows):
    xyxy = np.array([[r[2], r[3], r[2] + r[4], r[3] + r[5]] for r in rows], dtype=np.float32).reshape(-1, 4)
    return sv.Detections(xyxy=xyxy, tracker_id=np.array([int(r[1]) for r in rows], dtype=int),
                         class_id=np.zeros(len(rows), dtype=int))


def supervision_in_is_ours():
    """Whether LineZone's in_count is trackd's `in` (from the left-hand side to the
    right-hand side, walking from `from` to `to`, image y down): checked on one box
    that crosses a line from (0, 0) to (0, 100) towards -x, which is trackd's `in`."""
    zone = line_zone((0, 0), (0, 100))
    for x in (20, 10, -10, -20):
        zone.trigger(detections([[1, 1, x - 5, 40, 10, 10]]))
    assert zone.in_count + zone.out_count == 1
    return zone.in_count == 1


def linezone_counts(results, config):
    by_frame = {}
    for line in open(results):
        r = [float(v) for v in line.split(",")]
        by_frame.setdefault(int(r[0]), []).append(r)
    zones = {l["name"]: line_zone(l["from"], l["to"]) for l in config.get("lines", [])}
    for frame in sorted(by_frame):
        d = detections(by_frame[frame])
        for zone in zones.values():
            zone.trigger(d)
    same = supervision_in_is_ours()
    return {name: {"in": z.in_count if same else z.out_count, "out": z.out_count if same else z.in_count}
            for name, z in zones.items()}


def total(counts):
    return sum(counts.values()) if counts else 0


columns = ["trackd"] + PEERS + ["LineZone(trackd)"]
print(f"{'sequence':<11}{'count':<22}{'true':>6}" + "".join(f"{c:>18}" for c in columns))
for seq_dir in sorted(glob.glob(os.path.join(runs, "*"))):
    seq = os.path.basename(seq_dir)
    config = json.load(open(os.path.join(configs, seq + ".json")))
    truth = json.load(open(os.path.join(seq_dir, "truth.json")))
    counted = {"trackd": json.load(open(os.path.join(seq_dir, "trackd.json")))}
    for peer in PEERS:
        counted[peer] = json.load(open(os.path.join(seq_dir, f"peer-{peer}.json")))
    lz = linezone_counts(os.path.join(seq_dir, "trackd.txt"), config)
    errors = {c: 0 for c in columns}
    true_total = true_lines = 0
    rows = []
    for name in sorted(truth["lines"]):
        for direction in ("in", "out"):
            t = total(truth["lines"][name][direction])
            true_total += t
            true_lines += t
            cells = {}
            for c in columns[:-1]:
                cells[c] = total(counted[c]["lines"][name][direction])
            cells["LineZone(trackd)"] = lz[name][direction]
            rows.append((f"line {name} {direction}", t, cells))
    for name in sorted(truth["zones"]):
        t = total(truth["zones"][name]["entered"])
        true_total += t
        cells = {c: total(counted[c]["zones"][name]["entered"]) for c in columns[:-1]}
        cells["LineZone(trackd)"] = None
        rows.append((f"zone {name} entered", t, cells))
    for label, t, cells in rows:
        line = f"{seq:<11}{label:<22}{t:>6}"
        for c in columns:
            v = cells[c]
            if v is None:
                line += f"{'-':>18}"
                continue
            errors[c] += abs(v - t)
            line += f"{v:>18}"
        print(line)
    cells = "".join(
        f"{100 * errors[c] / max(1, true_lines if c == 'LineZone(trackd)' else true_total):>17.1f}%" for c in columns)
    print(f"{seq:<11}{'abs. error / true':<22}{true_total:>6}" + cells)
print("\nLineZone's error is over the lines only (it has no zones).")
