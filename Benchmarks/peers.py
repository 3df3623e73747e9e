"""The open trackers beside trackd, and the benchmark's derived sets. Run by
Benchmarks/trackers-vs-peers.sh in .venv-eval (scripts/setup installs trackers 2.6.1).

    peers.py run SET_DIR OUT_DIR
        Runs SORT, ByteTrack, OC-SORT and BoT-SORT (Roboflow `trackers`, each with its
        own defaults; BoT-SORT's camera-motion step off, since a replay has no pixels)
        on every SET_DIR/<SEQ>/det/det.txt at its seqinfo.ini frame rate, writing
        OUT_DIR/<tracker>/<SEQ>.txt (MOTChallenge results).
    peers.py degrade SOURCE_DIR OUT_DIR KIND
        Makes a degraded copy of a set (gt, det, seqinfo per sequence), reproducibly
        (seed 17): `drop` keeps 70% of the boxes and jitters them by 5% of their size;
        `fps10` keeps every third frame (gt and det, renumbered; frame rate / 3);
        `scores` squeezes scores halfway toward 0.5 and adds 10% false boxes.
"""
import configparser
import os
import random
import sys

import numpy as np


def read_rows(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append([float(v) for v in line.split(",")])
    return rows


def write_rows(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for r in rows:
            f.write(",".join(str(int(v)) if float(v).is_integer() else "%.2f" % v for v in r) + "\n")


def seqinfo(seq_dir):
    ini = configparser.ConfigParser()
    ini.optionxform = str  # keep frameRate, seqLength as written
    ini.read(os.path.join(seq_dir, "seqinfo.ini"))
    return ini


def sequences(set_dir):
    return sorted(d for d in os.listdir(set_dir) if os.path.isfile(os.path.join(set_dir, d, "seqinfo.ini")))


def peers(frame_rate):
    import trackers
    return {
        "SORT": trackers.SORTTracker(frame_rate=frame_rate),
        "ByteTrack": trackers.ByteTrackTracker(frame_rate=frame_rate),
        "OC-SORT": trackers.OCSORTTracker(frame_rate=frame_rate),
        "BoT-SORT": trackers.BoTSORTTracker(frame_rate=frame_rate, enable_cmc=False),
    }


def run(set_dir, out_dir):
    import supervision as sv
    for seq in sequences(set_dir):
        info = seqinfo(os.path.join(set_dir, seq))["Sequence"]
        rate, length = float(info["frameRate"]), int(info["seqLength"])
        by_frame = {}
        for r in read_rows(os.path.join(set_dir, seq, "det", "det.txt")):
            by_frame.setdefault(int(r[0]), []).append(r)
        for name, tracker in peers(rate).items():
            out = []
            for frame in range(1, length + 1):
                rows = by_frame.get(frame, [])
                xyxy = np.array([[r[2], r[3], r[2] + r[4], r[3] + r[5]] for r in rows], dtype=np.float32).reshape(-1, 4)
                detections = sv.Detections(xyxy=xyxy, confidence=np.array([r[6] for r in rows], dtype=np.float32),
                                           class_id=np.zeros(len(rows), dtype=int))
                tracked = tracker.update(detections)
                for box, track_id in zip(tracked.xyxy, tracked.tracker_id):
                    if track_id is None or track_id < 0:
                        continue
                    out.append([frame, int(track_id), box[0], box[1], box[2] - box[0], box[3] - box[1], 1, -1, -1, -1])
            write_rows(os.path.join(out_dir, name, seq + ".txt"), out)


def degrade(source_dir, out_dir, kind):
    rng = random.Random(17)
    for seq in sequences(source_dir):
        src = os.path.join(source_dir, seq)
        ini = seqinfo(src)
        gt = read_rows(os.path.join(src, "gt", "gt.txt"))
        det = read_rows(os.path.join(src, "det", "det.txt"))
        width, height = float(ini["Sequence"]["imWidth"]), float(ini["Sequence"]["imHeight"])
        if kind == "drop":
            kept = []
            for r in det:
                if rng.random() < 0.3:
                    continue
                w, h = r[4], r[5]
                kept.append([r[0], r[1], r[2] + rng.gauss(0, 0.05) * w, r[3] + rng.gauss(0, 0.05) * h,
                             max(1.0, w * (1 + rng.gauss(0, 0.05))), max(1.0, h * (1 + rng.gauss(0, 0.05)))] + r[6:])
            det = kept
        elif kind == "fps10":
            def thin(rows):
                return [[(r[0] - 1) // 3 + 1] + r[1:] for r in rows if (int(r[0]) - 1) % 3 == 0]
            gt, det = thin(gt), thin(det)
            length = int(ini["Sequence"]["seqLength"])
            ini["Sequence"]["seqLength"] = str((length + 2) // 3)
            ini["Sequence"]["frameRate"] = "%g" % (float(ini["Sequence"]["frameRate"]) / 3)
        elif kind == "scores":
            squeezed = [r[:6] + [0.5 + (r[6] - 0.5) / 2] + r[7:] for r in det]
            frames = int(ini["Sequence"]["seqLength"])
            false = []
            for _ in range(len(det) // 10):
                w = rng.uniform(0.02, 0.08) * width
                h = w * rng.uniform(1.5, 3.0)
                false.append([rng.randint(1, frames), -1, rng.uniform(0, width - w), rng.uniform(0, height - h), w, h,
                              rng.uniform(0.25, 0.75), -1, -1, -1])
            det = sorted(squeezed + false, key=lambda r: r[0])
        else:
            sys.exit("unknown kind " + kind)
        dst = os.path.join(out_dir, seq)
        write_rows(os.path.join(dst, "gt", "gt.txt"), gt)
        write_rows(os.path.join(dst, "det", "det.txt"), det)
        with open(os.path.join(dst, "seqinfo.ini"), "w") as f:
            ini.write(f, space_around_delimiters=False)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "degrade":
        degrade(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
