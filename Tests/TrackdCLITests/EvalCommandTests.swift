import Foundation
import TestSupport
import XCTest

/// `trackd eval` as a subprocess, and its parity with TrackEval on MOT17 val-half.
final class EvalCommandTests: XCTestCase {
    private var trackd: String { productsDirectory.appendingPathComponent("trackd").path }
    private static let repository = Fixtures.directory.deletingLastPathComponent()
    private static let valhalf = BenchmarkData.valhalf.path

    /// A ground-truth folder with one sequence `SEQ-1` of 3 frames, two people.
    private func makeGroundTruth(in dir: URL) throws -> URL {
        let seq = dir.appendingPathComponent("gt/SEQ-1")
        try FileManager.default.createDirectory(at: seq.appendingPathComponent("gt"), withIntermediateDirectories: true)
        try "[Sequence]\nname=SEQ-1\nframeRate=30\nseqLength=3\nimWidth=640\nimHeight=480\n"
            .write(to: seq.appendingPathComponent("seqinfo.ini"), atomically: true, encoding: .utf8)
        let lines = (1...3).flatMap { f in ["\(f),1,10,10,50,100,1,1,1", "\(f),2,200,10,50,100,1,1,1"] }
        try lines.joined(separator: "\n").write(to: seq.appendingPathComponent("gt/gt.txt"), atomically: true, encoding: .utf8)
        let results = dir.appendingPathComponent("results")
        try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
        return results
    }

    func testTableAndJSON() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let results = try makeGroundTruth(in: dir)
        // Person 1 tracked throughout; person 2 missed in frame 3.
        try
            "1,5,10,10,50,100,1,-1,-1,-1\n2,5,10,10,50,100,1,-1,-1,-1\n3,5,10,10,50,100,1,-1,-1,-1\n1,6,200,10,50,100,1,-1,-1,-1\n2,6,200,10,50,100,1,-1,-1,-1\n"
            .write(to: results.appendingPathComponent("SEQ-1.txt"), atomically: true, encoding: .utf8)
        let gt = dir.appendingPathComponent("gt").path

        let table = try runProcess(trackd, ["eval", "--gt", gt, "--results", results.path])
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(lines.map { $0[0] }, ["Sequence", "SEQ-1", "COMBINED"])
        XCTAssertEqual(lines[0], ["Sequence", "HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN", "MT", "ML", "Frag"])
        // MOTA 5 / 6; person 2 is tracked 2 of 3 frames: partly tracked.
        XCTAssertEqual(Array(lines[1][4...]), ["83.33", "90.91", "0", "0", "1", "1", "0", "0"])

        let json = try runProcess(trackd, ["eval", "--json", "--gt", gt, "--results", results.path])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        let combined = try XCTUnwrap(object["combined"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(combined["MOTA"] as? Double), 500.0 / 6, accuracy: 1e-9)
        XCTAssertEqual(combined["FN"] as? Int, 1)
        XCTAssertEqual((object["sequences"] as? [[String: Any]])?.first?["sequence"] as? String, "SEQ-1")
    }

    func testMissingResultsFileNamesTheSequence() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let results = try makeGroundTruth(in: dir)
        let result = try runProcess(trackd, ["eval", "--gt", dir.appendingPathComponent("gt").path, "--results", results.path])
        assertOneLineError(result, contains: "no results for sequence SEQ-1")
    }

    func testMalformedLineNamesFileAndLine() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let results = try makeGroundTruth(in: dir)
        let file = results.appendingPathComponent("SEQ-1.txt")
        try "1,5,10,10,50,100,1,-1,-1,-1\n2,5,10,x,50,100\n".write(to: file, atomically: true, encoding: .utf8)
        let result = try runProcess(trackd, ["eval", "--gt", dir.appendingPathComponent("gt").path, "--results", results.path])
        assertOneLineError(result, contains: "\(file.path):2: field 4 is not a number")
    }

    func testRepeatedTrackIDIsAnError() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let results = try makeGroundTruth(in: dir)
        try "1,5,10,10,50,100\n1,5,200,10,50,100\n".write(
            to: results.appendingPathComponent("SEQ-1.txt"), atomically: true, encoding: .utf8)
        let result = try runProcess(trackd, ["eval", "--gt", dir.appendingPathComponent("gt").path, "--results", results.path])
        assertOneLineError(result, contains: "SEQ-1: frame 1 has track id 5 more than once")
    }

    /// `scripts/mot-eval` (TrackEval) reads the benchmark from the data's path:
    /// MOT17's preprocessing drops result boxes on distractors (here, every static
    /// person of the vendored MOT17-02 video); MOT15 scores every box. Missing results
    /// are a one-line error naming the sequence.
    func testEvaluatorScriptPreprocessesMOT17AndNotMOT15() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let results = dir.appendingPathComponent("results")
        try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
        let e2e = BenchmarkData.directory.appendingPathComponent("MOT17/e2e")
        let gt = try String(contentsOf: e2e.appendingPathComponent("MOT17-02/gt/gt.txt"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        // The people to track (mark 1, class 1), and boxes on the static people (class 7).
        let people = gt.filter { $0[6] == "1" && $0[7] == "1" }
        let statics = gt.filter { $0[7] == "7" }
        XCTAssertGreaterThan(statics.count, 1000)
        try (people + statics).map { $0[0..<6].joined(separator: ",") + ",1,-1,-1,-1\n" }.joined()
            .write(to: results.appendingPathComponent("MOT17-02.txt"), atomically: true, encoding: .utf8)

        func combined(_ extra: [String]) throws -> [String: Any] {
            let json = dir.appendingPathComponent("scores.json").path
            let run = try runProcess(Deps.script("mot-eval"), [results.path, "--gt", e2e.path, "--json", json] + extra)
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertTrue(run.output.contains("COMBINED"), run.output)
            let root = try XCTUnwrap(
                JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
            return try XCTUnwrap(
                ((root["trackers"] as? [String: Any])?["results"] as? [String: Any])?["COMBINED"] as? [String: Any])
        }
        let mot17 = try combined([])
        XCTAssertEqual(mot17["HOTA"] as? Double, 100)
        XCTAssertEqual(mot17["FP"] as? Int, 0, "boxes on distractors are dropped")
        XCTAssertEqual(mot17["FN"] as? Int, 0)
        let mot15 = try combined(["--benchmark", "MOT15"])
        XCTAssertEqual(mot15["FP"] as? Int, statics.count, "no preprocessing: each is a false positive")
        XCTAssertEqual(mot15["FN"] as? Int, 0)

        let missing = try runProcess(
            Deps.script("mot-eval"), [results.path, "--gt", BenchmarkData.directory.appendingPathComponent("MOT15/e2e").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no results for sequence TUD-Campus"), missing.stderr)
    }

    /// Perturbed ground truth for the seven MOT17 val-half sequences, scored by trackd and
    /// by TrackEval (scripts/eval-reference, which needs the venv scripts/setup makes):
    /// every score within 0.05, every count exact.
    func testParityWithTrackEvalOnMOT17ValHalf() throws {
        let venvPython = Self.repository.appendingPathComponent(".venv-eval/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: venvPython) else {
            return XCTFail("no TrackEval venv at \(venvPython): run scripts/setup")
        }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reference = try runProcess(Self.repository.appendingPathComponent("scripts/eval-reference").path, [dir.path])
        XCTAssertEqual(reference.status, 0, "scripts/eval-reference failed: \(reference.stderr)")
        let referenceJSON = try Data(contentsOf: dir.appendingPathComponent("reference.json"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: referenceJSON) as? [String: Any])
        let expected = try XCTUnwrap((root["trackers"] as? [String: Any])?["results"] as? [String: [String: Any]])

        let ours = try runProcess(
            trackd, ["eval", "--json", "--gt", Self.valhalf, "--results", dir.appendingPathComponent("results").path])
        XCTAssertEqual(ours.status, 0, ours.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: ours.stdout) as? [String: Any])
        var rows = try XCTUnwrap(object["sequences"] as? [[String: Any]])
        rows.append(try XCTUnwrap(object["combined"] as? [String: Any]))
        XCTAssertEqual(rows.count, 8)

        for row in rows {
            let name = try XCTUnwrap(row["sequence"] as? String)
            let want = try XCTUnwrap(expected[name], name)
            for key in ["HOTA", "DetA", "AssA", "MOTA", "IDF1"] {
                let a = try XCTUnwrap(row[key] as? Double)
                let b = try XCTUnwrap(want[key] as? Double)
                XCTAssertEqual(a, b, accuracy: 0.05, "\(name) \(key)")
            }
            for key in ["IDSW", "FP", "FN", "MT", "ML", "Frag"] {
                XCTAssertEqual(row[key] as? Int, want[key] as? Int, "\(name) \(key)")
            }
        }
        let c = rows.last!
        let w = expected["COMBINED"]!
        print(
            String(
                format: "parity (trackd / TrackEval): HOTA %.3f / %.3f, MOTA %.3f / %.3f, IDF1 %.3f / %.3f",
                c["HOTA"] as! Double, w["HOTA"] as! Double, c["MOTA"] as! Double, w["MOTA"] as! Double,
                c["IDF1"] as! Double, w["IDF1"] as! Double))
    }
}
