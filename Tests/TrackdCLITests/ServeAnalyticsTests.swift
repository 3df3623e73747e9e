import Foundation
import TestSupport
import TrackLog
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `trackd serve` with analytics: a job's counts are the same in its log, on
/// /metrics and in /api/v1/events; a stream's go to /api/v1/streams and its snapshot.
extension ServeTests {
    /// A line across vtest's path (in the 384 × 288 clip: x = 150) and a zone around
    /// the lamp post, in fractions of the picture.
    private var counting: String {
        #"{"relative": true, "lines": [{"name": "door", "from": [0.39, 0.95], "to": [0.39, 0.2], "classes": ["person"]}], "#
            + #""zones": [{"name": "meeting", "polygon": [[0.44, 0.3], [0.65, 0.3], [0.65, 0.55], [0.44, 0.55]]}]}"#
    }

    func testAJobsCountsAgreeInItsLogOnMetricsAndInTheEvents() async throws {
        try FileManager.default.createDirectory(atPath: spool + "/media", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 10), toPath: spool + "/media/clip.mp4")
        let daemon = try start(try config(#", "http": {"listen": "127.0.0.1:0"}"#, stableSeconds: 0.1))
        let address = try listeningAddress()
        let (_, received) = try followEvents(address)

        let bad = try await get(
            "http://\(address)/api/v1/jobs",
            post: #"{"source": "media/clip.mp4", "analytics": {"lines": [{"name": "a", "from": [1, 1], "to": [1, 1]}]}}"#)
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue((bad.json["error"] as? String ?? "").hasSuffix("analytics.lines[0].to: the line has no length (to = from)"))

        let submitted = try await get(
            "http://\(address)/api/v1/jobs", post: #"{"source": "media/clip.mp4", "analytics": \#(counting)}"#)
        XCTAssertEqual(submitted.status, 201, "\(submitted.json)")
        let id = try XCTUnwrap(submitted.json["id"] as? String)
        try wait("the job to be done") { FileManager.default.fileExists(atPath: spool + "/done/" + id) }
        let log = try readLogWithEvents(spool + "/logs/" + (id as NSString).deletingPathExtension + ".jsonl")
        let totals = try XCTUnwrap(log.end?.analytics)
        let crossings = (totals.lines["door"]?.in.values.reduce(0, +) ?? 0) + (totals.lines["door"]?.out.values.reduce(0, +) ?? 0)
        XCTAssertGreaterThan(crossings, 0, "people cross the door line in these 10 s")
        XCTAssertGreaterThan(totals.zones["meeting"]?.entered.values.reduce(0, +) ?? 0, 0)

        // /metrics: a counter per line, direction and class; a histogram of the visits.
        let samples = try await metrics("http://\(address)/metrics")
        for direction in ["in", "out"] {
            let key =
                #"trackd_line_crossings_total{"class": "person", "direction": "\#(direction)", "line": "door", "source": "spool"}"#
            let logged = direction == "in" ? totals.lines["door"]?.in["person"] : totals.lines["door"]?.out["person"]
            XCTAssertEqual(samples[key]?.last as? Double, logged.map(Double.init), "\(samples.keys.sorted())")
        }
        let visits = log.events.filter { $0.kind == .exit }
        let dwellCount = samples.filter { $0.key.hasPrefix("trackd_zone_dwell_seconds_count") }.compactMap {
            $0.value.last as? Double
        }
        XCTAssertEqual(dwellCount.reduce(0, +), Double(visits.count))

        // /api/v1/events: the same events as the log, as server-sent events.
        var sent: [[String: Any]] = []
        try wait("the last event") {
            let text = (try? String(contentsOfFile: received, encoding: .utf8)) ?? ""
            sent = text.split(separator: "\n").filter { $0.hasPrefix("data: ") }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any]
            }
            return sent.filter { $0["event"] as? String != "start" && $0["event"] as? String != "end" }.count >= log.events.count
        }
        let analyticsEvents = sent.filter { $0["event"] as? String != "start" && $0["event"] as? String != "end" }
        XCTAssertEqual(analyticsEvents.map { $0["event"] as? String }, log.events.map(\.kind.rawValue))
        XCTAssertEqual(analyticsEvents.map { $0["id"] as? Int }, log.events.map(\.id))
        XCTAssertEqual(analyticsEvents.map { $0["direction"] as? String }, log.events.map(\.direction?.rawValue))
        XCTAssertTrue(analyticsEvents.allSatisfy { $0["source"] as? String == "job:" + id })
        XCTAssertEqual(stop(daemon).0, 0)
    }

    func testAStreamsCountsAndOccupancyAreInTheStreamsList() async throws {
        let port = try freeUDPPort()
        let daemon = try start(
            try config(
                #", "http": {"listen": "127.0.0.1:0"}, "streams": [{"name": "cam", "url": "udp://127.0.0.1:\#(port)", "options": {\#(quickProbe)}, "analytics": \#(counting)}]"#
            ))
        let address = try listeningAddress()
        let sender = try startSender(try clip(seconds: 4), port: port)
        defer { stopChild(sender) }
        try wait("frames") { streamFrames("cam") >= 20 }
        let streams = try await get("http://\(address)/api/v1/streams")
        let cam = try XCTUnwrap((streams.json["streams"] as? [[String: Any]])?.first, "\(streams.json)")
        let analytics = try XCTUnwrap(cam["analytics"] as? [String: Any], "\(cam)")
        let lines = try XCTUnwrap(analytics["lines"] as? [String: Any])
        XCTAssertNotNil(lines["door"] as? [String: Any], "\(analytics)")
        let occupancy = try XCTUnwrap(cam["occupancy"] as? [String: Any], "\(cam)")
        XCTAssertNotNil(occupancy["meeting"], "\(occupancy)")
        // The snapshot draws the line: yellow down x = 0.39 × 384 on most rows it spans.
        let (jpeg, answer) = try await fetch(URLRequest(url: URL(string: "http://\(address)/api/v1/streams/cam/snapshot.jpg")!))
        XCTAssertEqual(answer.statusCode, 200)
        let picture = try decodeRGB(jpeg)
        let rows = (90..<260).filter { y in
            (145..<156).contains { x in
                let i = (y * picture.width + x) * 3
                return picture.pixels[i] > 170 && picture.pixels[i + 1] > 150 && picture.pixels[i + 2] < 110
            }
        }
        XCTAssertGreaterThan(rows.count, 120, "the door line is drawn on the snapshot")
        XCTAssertEqual(stop(daemon).0, 0)
    }
}
