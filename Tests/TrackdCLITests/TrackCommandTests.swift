import Foundation
import MOTFiles
import TestSupport
import XCTest

/// `trackd track --detections` on a real MOT17 sequence, as a subprocess.
final class TrackCommandTests: XCTestCase {
    private var trackd: String { productsDirectory.appendingPathComponent("trackd").path }
    private let sequence = BenchmarkData.valhalf("MOT17-09-FRCNN")

    func testReplayWritesMOTChallengeResults() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("MOT17-09-FRCNN.txt").path
        let result = try runProcess(
            trackd,
            [
                "track", "--detections", sequence.appendingPathComponent("det/det.txt").path,
                "--seqinfo", sequence.appendingPathComponent("seqinfo.ini").path, "--mot-out", out
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let records = try MOTText.read(out)
        let info = try SequenceInfo.read(sequence.appendingPathComponent("seqinfo.ini").path)
        XCTAssertFalse(records.isEmpty)
        XCTAssertTrue(records.allSatisfy { (1...info.length).contains($0.frame) && $0.id >= 1 && $0.width > 0 })
        // Ids count from 1 without gaps, and one id appears at most once per frame.
        let ids = Set(records.map(\.id))
        XCTAssertEqual(ids, Set(1...ids.count))
        let perFrame = Dictionary(grouping: records, by: \.frame)
        XCTAssertTrue(perFrame.values.allSatisfy { Set($0.map(\.id)).count == $0.count })
        // The sequence has 26 ground-truth pedestrians in this half; a sane tracker
        // gives the same order of identities, not hundreds.
        XCTAssertTrue((15...60).contains(ids.count), "\(ids.count) ids")
        XCTAssertTrue(result.output.contains("tracked \(info.length) frames"), result.output)

        // Deterministic: a second run writes the same file.
        let again = dir.appendingPathComponent("again.txt").path
        _ = try runProcess(
            trackd,
            [
                "track", "--detections", sequence.appendingPathComponent("det/det.txt").path,
                "--seqinfo", sequence.appendingPathComponent("seqinfo.ini").path, "--mot-out", again
            ])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), try Data(contentsOf: URL(fileURLWithPath: again)))
    }

    /// One route for MOTChallenge results: `track --mot-out` and `export --format mot`
    /// of the same run's log give byte-identical files, plain and refined. Both keep
    /// boxes that reach past the picture, as MOTChallenge's ground truth has them, and
    /// leave out a box wholly outside it.
    func testMOTResultsFromTrackAndFromExportAreIdentical() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func file(_ name: String) -> String { dir.appendingPathComponent(name).path }
        // A person walking out of a 640x480 picture on the right, undetected on frames
        // 8-9, and the real MOT17-09 detections beside it.
        let walking = (1...40).filter { !(8...9).contains($0) }.map { f in
            "\(f),-1,\(520 + 4.13 * Double(f)),100.27,60.5,150,0.91,-1,-1,-1"
        }
        try (walking.joined(separator: "\n") + "\n").write(toFile: file("det.txt"), atomically: true, encoding: .utf8)
        try "[Sequence]\nname=S\nframeRate=10\nseqLength=40\nimWidth=640\nimHeight=480\n"
            .write(toFile: file("seqinfo.ini"), atomically: true, encoding: .utf8)
        let inputs = [
            (file("det.txt"), file("seqinfo.ini")),
            (sequence.appendingPathComponent("det/det.txt").path, sequence.appendingPathComponent("seqinfo.ini").path)
        ]
        for (k, (det, seqinfo)) in inputs.enumerated() {
            for refine in [[], ["--refine"]] {
                let track = try runProcess(
                    trackd,
                    [
                        "track", "--detections", det, "--seqinfo", seqinfo, "--out", file("log\(k).jsonl"),
                        "--mot-out", file("track.txt")
                    ] + refine)
                XCTAssertEqual(track.status, 0, track.stderr)
                let export = try runProcess(
                    trackd, ["export", file("log\(k).jsonl"), "--format", "mot", "--out", file("export.txt")] + refine)
                XCTAssertEqual(export.status, 0, export.stderr)
                let tracked = try Data(contentsOf: URL(fileURLWithPath: file("track.txt")))
                XCTAssertGreaterThan(tracked.count, 500)
                XCTAssertEqual(tracked, try Data(contentsOf: URL(fileURLWithPath: file("export.txt"))), "\(det) \(refine)")
            }
        }
        let export = try runProcess(trackd, ["export", file("log0.jsonl"), "--format", "mot", "--out", file("walker.txt")])
        XCTAssertEqual(export.status, 0, export.stderr)
        let walker = try MOTText.read(file("walker.txt"))
        XCTAssertTrue(walker.contains { $0.frame >= 25 && $0.left + $0.width > 660 }, "a box past the right edge is kept")
        XCTAssertTrue(walker.allSatisfy { $0.left < 640 }, "a box wholly outside is left out")
    }

    /// `--refine` fills a track's gap in the MOTChallenge results, on the line between
    /// its boxes before and after; the log is left as tracked, and `export --refine`
    /// fills the same gap from it.
    func testRefineFillsGapsInTheResultsNotTheLog() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func file(_ name: String) -> String { dir.appendingPathComponent(name).path }
        // A person walking right 4 px a frame from frame 3, undetected on frames 8-10
        // (0.3 s at 10 fps).
        let det = (3...20).filter { !(8...10).contains($0) }.map { f in "\(f),-1,\(100 + 4 * f),100,60,150,0.9,-1,-1,-1" }
        try (det.joined(separator: "\n") + "\n").write(toFile: file("det.txt"), atomically: true, encoding: .utf8)
        try "[Sequence]\nname=S\nframeRate=10\nseqLength=20\nimWidth=640\nimHeight=480\n"
            .write(toFile: file("seqinfo.ini"), atomically: true, encoding: .utf8)
        let result = try runProcess(
            trackd,
            [
                "track", "--detections", file("det.txt"), "--seqinfo", file("seqinfo.ini"),
                "--mot-out", file("r.txt"), "--refine", "--out", file("log.jsonl")
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let results = try MOTText.read(file("r.txt"))
        XCTAssertEqual(Set(results.map(\.id)), [1])
        XCTAssertEqual(results.map(\.frame), Array(4...20), "the gap filled, nothing before the track was confirmed")
        for frame in 8...10 {
            let box = try XCTUnwrap(results.first { $0.frame == frame })
            XCTAssertEqual(box.left, Double(100 + 4 * frame), accuracy: 3, "frame \(frame) on the line between frames 7 and 11")
        }
        let (_, frames, _) = try readLog(file("log.jsonl"))
        XCTAssertTrue(
            frames.filter { (8...10).contains($0.frame + 1) }.allSatisfy { $0.tracks.isEmpty }, "the log is not refined")

        let export = try runProcess(trackd, ["export", file("log.jsonl"), "--format", "mot", "--refine", "--out", file("e.txt")])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(try MOTText.read(file("e.txt")).map(\.frame), Array(4...20))

        let alone = try runProcess(trackd, ["track", "--detections", file("det.txt"), "--refine", "--out", file("x.jsonl")])
        XCTAssertEqual(alone.status, 64)
        XCTAssertTrue(alone.stderr.contains("--refine refines the --mot-out results"), alone.stderr)
    }

    func testMalformedDetectionsNameTheLine() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let det = dir.appendingPathComponent("det.txt")
        try Data("1,-1,10,10,20,40,0.9,-1,-1,-1\n2,-1,10,x,20,40,0.9,-1,-1,-1\n".utf8).write(to: det)
        let out = dir.appendingPathComponent("out.txt").path
        let result = try runProcess(trackd, ["track", "--detections", det.path, "--mot-out", out])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("\(det.path):2: field 4 is not a number"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written for bad input")
    }

    func testConfigFileChangesTheTrackerAndBadKeysAreRefused() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let det = sequence.appendingPathComponent("det/det.txt").path
        let config = dir.appendingPathComponent("tracker.json")
        // Tracks confirmed only after 30 observations (and none at once in the first
        // frame, which nothing passes): far fewer boxes than the default.
        try Data(#"{"confirmHits": 30, "newTrackScore": 0.95}"#.utf8).write(to: config)
        let strict = dir.appendingPathComponent("strict.txt").path
        let plain = dir.appendingPathComponent("plain.txt").path
        XCTAssertEqual(
            try runProcess(trackd, ["track", "--detections", det, "--mot-out", strict, "--config", config.path]).status, 0)
        XCTAssertEqual(try runProcess(trackd, ["track", "--detections", det, "--mot-out", plain]).status, 0)
        XCTAssertLessThan(try MOTText.read(strict).count + 300, try MOTText.read(plain).count)

        try Data(#"{"matchIOU": 0.3}"#.utf8).write(to: config)
        let result = try runProcess(trackd, ["track", "--detections", det, "--mot-out", strict, "--config", config.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "trackd: error: \(config.path): matchIOU: unknown parameter 'matchIOU'\n")
    }

    func testUnwritableOutputFails() throws {
        let result = try runProcess(
            trackd,
            [
                "track", "--detections", sequence.appendingPathComponent("det/det.txt").path,
                "--mot-out", "/nonexistent-dir/out.txt"
            ])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("trackd: error: "), result.stderr)
    }
}
