import Foundation
import TestSupport
import TrackLog
import XCTest

/// `trackd track --analytics`, `trackd analyze` and `trackd render --analytics` on a
/// synthetic video whose true crossings and zone visits are known.
final class AnalyticsCommandTests: XCTestCase {
    private var trackd: String { productsDirectory.appendingPathComponent("trackd").path }
    private var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A door line at x = 200 (walking down it, `in` is leftwards) and a queue zone on
    /// the right where one walker stays.
    private let analytics = """
        {"lines": [{"name": "door", "from": [200, 200], "to": [200, 360], "classes": ["person"]}],
         "zones": [{"name": "queue", "polygon": [[540, 230], [640, 230], [640, 360], [540, 360]], "loiterSeconds": 2}]}
        """

    /// The synthetic walkers (`makeWalkers`): A crosses the door rightwards at 2.5 s, B
    /// leftwards at 6.2 s, C walks into the queue at about 3.25 s and stays to the end.
    /// Returns the video, its ground truth and seqinfo.ini.
    private func walkers() throws -> (video: String, gt: String, seqinfo: String) {
        let video = path("walkers.mp4")
        let truth = try makeWalkers(video)
        try (truth.joined(separator: "\n") + "\n").write(toFile: path("gt.txt"), atomically: true, encoding: .utf8)
        try "[Sequence]\nname=walkers\nframeRate=10\nseqLength=80\nimWidth=640\nimHeight=360\n"
            .write(toFile: path("seqinfo.ini"), atomically: true, encoding: .utf8)
        try analytics.write(toFile: path("analytics.json"), atomically: true, encoding: .utf8)
        return (video, path("gt.txt"), path("seqinfo.ini"))
    }

    private func counts(_ json: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
    }

    func testOnlineCountsMatchGroundTruthAndAnalyzeGivesTheSameEvents() throws {
        let (video, gt, seqinfo) = try walkers()
        // The truth, through the same code.
        let truth = try runProcess(
            trackd, ["analyze", "--mot", gt, "--seqinfo", seqinfo, "--analytics", path("analytics.json"), "--format", "json"])
        XCTAssertEqual(truth.status, 0, truth.stderr)
        let expected = try counts(truth.output)
        let lines = try XCTUnwrap(expected["lines"] as? [String: [String: [String: Int]]])
        XCTAssertEqual(lines["door"]?["in"], ["person": 1], truth.output)
        XCTAssertEqual(lines["door"]?["out"], ["person": 1], truth.output)
        let zones = try XCTUnwrap(expected["zones"] as? [String: [String: [String: Int]]])
        XCTAssertEqual(zones["queue"]?["entered"], ["person": 1], truth.output)
        XCTAssertEqual(zones["queue"]?["loitered"], ["person": 1], truth.output)

        // Online, with the default detector and tracker.
        let run = try runProcess(trackd, ["track", video, "--analytics", path("analytics.json"), "--out", path("w.jsonl")])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.output.contains("line door: in 1 (person 1), out 1 (person 1)"), run.output)
        XCTAssertTrue(run.output.contains("zone queue: entered 1 (person 1), loitered 1 (person 1)"), run.output)
        let log = try readLogWithEvents(path("w.jsonl"))
        let end = try XCTUnwrap(log.end)
        XCTAssertEqual(end.analytics?.lines["door"]?.in, ["person": 1])
        XCTAssertEqual(end.analytics?.zones["queue"]?.entered, ["person": 1])
        XCTAssertEqual(end.analytics?.events, log.events.count)
        // Each event line follows the frame line that decided it, and says when it happened.
        let text = try String(contentsOfFile: path("w.jsonl"), encoding: .utf8).split(separator: "\n")
        for (k, line) in text.enumerated() where line.hasPrefix(#"{"type":"event""#) {
            XCTAssertTrue(text[k - 1].hasPrefix(#"{"type":"frame""#) || text[k - 1].hasPrefix(#"{"type":"event""#))
        }
        // The entry is dated to the first frame whose logged box has its foot in the
        // zone (y >= 230)...
        let enter = try XCTUnwrap(log.events.first { $0.kind == .enter })
        let firstIn = log.frames.first { f in f.tracks.contains { $0.id == enter.id && $0.box[1] + $0.box[3] >= 230 } }
        XCTAssertEqual(enter.time, try XCTUnwrap(firstIn).time)
        // ...which is the truth's 3.25 s to within the detector's box precision: C walks
        // 8 px/s, so 0.75 s is 6 px, 3% of its height (bf16 puts the feet ~5 px lower
        // than f32 does).
        XCTAssertEqual(enter.time, 3.25, accuracy: 0.75)
        let crossings = log.events.filter { $0.kind == .line }
        XCTAssertEqual(crossings.map(\.direction), [.out, .in])
        XCTAssertEqual(crossings.first?.time ?? 0, 2.5, accuracy: 0.25)
        XCTAssertEqual(crossings.last?.time ?? 0, 6.2, accuracy: 0.25)

        // Offline on the log: the same events, line for line, and the same totals.
        let offline = try runProcess(
            trackd, ["analyze", path("w.jsonl"), "--analytics", path("analytics.json"), "--format", "events"])
        XCTAssertEqual(offline.status, 0, offline.stderr)
        let logged = text.filter { $0.hasPrefix(#"{"type":"event""#) }.joined(separator: "\n") + "\n"
        XCTAssertEqual(offline.output, logged)
        let json = try runProcess(trackd, ["analyze", path("w.jsonl"), "--analytics", path("analytics.json"), "--format", "json"])
        XCTAssertEqual(try counts(json.output) as NSDictionary, expected as NSDictionary)

        // render draws the lines and zones over the video.
        let render = try runProcess(
            trackd, ["render", video, path("w.jsonl"), "--analytics", path("analytics.json"), "-o", path("w.mp4")])
        XCTAssertEqual(render.status, 0, render.stderr)
        let frame = try FFmpegCLI.rgbFrame(path("w.mp4"), index: 40)
        // The door line, in its yellow, halfway down (x = 200, y = 280), where no box is.
        let i = (280 * 640 + 200) * 3
        XCTAssertGreaterThan(Int(frame[i]), 200)
        XCTAssertGreaterThan(Int(frame[i + 1]), 180)
        XCTAssertLessThan(Int(frame[i + 2]), 80)
    }

    /// Replayed detections: a false detection on the line for a single frame is never
    /// confirmed, so it counts nothing; the walkers still count once each.
    func testASingleFrameFalseDetectionOnTheLineCountsNothing() throws {
        _ = try walkers()
        var det = try String(contentsOfFile: path("gt.txt"), encoding: .utf8).split(separator: "\n").map { line in
            let f = line.split(separator: ",")
            return "\(f[0]),-1,\(f[2]),\(f[3]),60,194,0.9,-1,-1,-1"
        }
        det.append("40,-1,170,160,60,194,0.95,-1,-1,-1")
        try (det.joined(separator: "\n") + "\n").write(toFile: path("det.txt"), atomically: true, encoding: .utf8)
        let run = try runProcess(
            trackd,
            [
                "track", "--detections", path("det.txt"), "--seqinfo", path("seqinfo.ini"), "--analytics", path("analytics.json"),
                "--out", path("r.jsonl")
            ])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.output.contains("line door: in 1 (person 1), out 1 (person 1)"), run.output)
    }

    func testABadConfigurationIsRefusedWithExit64NamingTheKey() throws {
        let (video, _, _) = try walkers()
        let cases: [(String, String)] = [
            (#"{"lines": [{"name": "l", "from": [5, 5], "to": [5, 5]}]}"#, "lines[0].to: the line has no length"),
            (
                #"{"zones": [{"name": "z", "polygon": [[0,0],[100,100],[100,0],[0,100]]}]}"#,
                "zones[0].polygon: the polygon crosses itself"
            ),
            (#"{"lines": [], "lnies": []}"#, "lnies: unknown key"),
            (
                #"{"lines": [{"name": "l", "from": [0, 0], "to": [9, 9], "classes": ["preson"]}]}"#,
                "lines[0].classes: unknown class 'preson'"
            ),
            (#"{"lines": [], "lines": []}"#, "gives the key 'lines' twice")
        ]
        for (k, (json, message)) in cases.enumerated() {
            let file = path("bad\(k).json")
            try json.write(toFile: file, atomically: true, encoding: .utf8)
            let run = try runProcess(trackd, ["track", video, "--analytics", file, "--out", path("bad.jsonl")])
            XCTAssertEqual(run.status, 64, "\(json): \(run.stderr)")
            XCTAssertTrue(run.stderr.hasPrefix("trackd: error: \(file)"), run.stderr)
            XCTAssertTrue(run.stderr.contains(message), "\(json): \(run.stderr)")
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.jsonl")), "no log for a refused run")
        }
    }
}
