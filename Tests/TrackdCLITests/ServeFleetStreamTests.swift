import Foundation
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The fleet's streams: added over the API of any node, leased to one node at a time,
/// moved when their node dies, never tracked by two nodes at once.
extension ServeTests {
    /// One log of a stream on a node's disk: when it was begun (its header) and last
    /// written.
    struct StreamLogSpan {
        var node: String
        var file: String
        var begun: Date
        var lastWritten: Date
        var lines: [String]
    }

    /// Every log of `stream` on the nodes' disks, oldest first.
    func streamLogSpans(_ stream: String, on nodes: [FleetNodeProcess]) throws -> [StreamLogSpan] {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var spans: [StreamLogSpan] = []
        for node in nodes {
            let folder = node.spool + "/logs/streams/" + stream
            for file in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []) where file.hasSuffix(".jsonl") {
                let path = folder + "/" + file
                let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
                let header = try XCTUnwrap(
                    try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(lines.first).utf8)) as? [String: Any])
                let begun = try XCTUnwrap(iso.date(from: header["created"] as? String ?? ""), "\(header)")
                let written = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
                spans.append(StreamLogSpan(node: node.name, file: file, begun: begun, lastWritten: written, lines: lines))
            }
        }
        return spans.sorted { $0.begun < $1.begun }
    }

    /// Each log begun only after the one before it was last written: one node at a time.
    func assertNeverTwoAtOnce(_ spans: [StreamLogSpan], file: StaticString = #filePath, line: UInt = #line) {
        for (earlier, later) in zip(spans, spans.dropFirst()) {
            XCTAssertLessThanOrEqual(
                earlier.lastWritten, later.begun,
                "\(earlier.node)'s \(earlier.file) was still written after \(later.node)'s \(later.file) began", file: file,
                line: line)
        }
    }

    /// The stream's line in a node's status file, while it tracks it there.
    func trackedStream(_ name: String, on node: FleetNodeProcess) -> [String: Any]? {
        (nodeStatus(node)["streams"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    /// A stream added over the API of one node is leased to one node; `kill -9` of that
    /// node moves it to another within the lease and 5 s; its logs, on two nodes, never
    /// overlap in time and are listed and served by any node; its snapshot too; removed,
    /// it stops.
    func testAStreamOfANodeKilledMovesAndIsNeverTrackedTwiceAtOnce() async throws {
        let shared = dir.appendingPathComponent("shared").path
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 20), toPath: shared + "/cam.mp4")
        let (database, nodes) = try startFleet(3, shared: shared, leaseSeconds: 2)
        defer { database.stop() }

        // A file read again whenever it ends stands in for a camera every node reaches.
        let spec = #"{"name": "cam", "url": "\#(shared)/cam.mp4", "retryInitialSeconds": 0.1, "retryMaxSeconds": 0.1}"#
        let added = try await get(nodes[0].api + "/api/v1/streams", post: spec)
        XCTAssertEqual(added.status, 201, "\(added.json)")
        let twice = try await get(nodes[1].api + "/api/v1/streams", post: spec)
        XCTAssertEqual(twice.status, 409, "\(twice.json)")
        let unreadable = try await get(
            nodes[1].api + "/api/v1/streams", post: #"{"name": "door", "url": "rtsp://door", "analytics": "door.json"}"#)
        XCTAssertEqual(unreadable.status, 400)
        XCTAssertTrue((unreadable.json["error"] as? String ?? "").contains("inline"), "\(unreadable.json)")
        let nameless = try await get(nodes[1].api + "/api/v1/streams", post: #"{"url": "rtsp://door"}"#)
        XCTAssertEqual(nameless.status, 400)
        XCTAssertTrue((nameless.json["error"] as? String ?? "").contains("streams[0].name"), "\(nameless.json)")

        var holder: FleetNodeProcess?
        try wait("the stream to be tracked on one node") {
            let tracking = nodes.filter { (trackedStream("cam", on: $0)?["frames"] as? Int ?? 0) > 5 }
            holder = tracking.count == 1 ? tracking[0] : nil
            return holder != nil
        }
        let first = try XCTUnwrap(holder)
        let listed = try await get(nodes[2].api + "/api/v1/streams").json["fleet"] as? [[String: Any]]
        XCTAssertEqual(listed?.first?["node"] as? String, first.name, "\(listed ?? [])")
        // The page shows which node tracks it.
        let page = try runProcess(
            "chromium",
            ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom", nodes[2].api + "/"])
        XCTAssertEqual(page.status, 0, page.stderr)
        let row = page.output.components(separatedBy: #"<tr data-node="\#(first.name)">"#).dropFirst().first
        XCTAssertTrue(row?.components(separatedBy: "</tr>").first?.contains("<td>cam</td>") ?? false, page.output)
        // Its picture from a node that does not track it.
        let elsewhere = try XCTUnwrap(nodes.first { $0.name != first.name })
        let (jpeg, answer) = try await fetch(
            URLRequest(url: URL(string: elsewhere.api + "/api/v1/streams/cam/snapshot.jpg?width=160")!))
        XCTAssertEqual(answer.statusCode, 200, String(decoding: jpeg, as: UTF8.self))
        XCTAssertEqual(answer.value(forHTTPHeaderField: "Content-Type"), "image/jpeg")
        XCTAssertEqual(answer.value(forHTTPHeaderField: "X-Trackd-Node"), first.name)
        XCTAssertEqual(Array(jpeg.prefix(2)), [0xFF, 0xD8])

        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        let killed = Date()
        let survivors = nodes.filter { $0.name != first.name }
        var second: FleetNodeProcess?
        try wait("another node to track the stream", timeout: 30) {
            second = survivors.first { (trackedStream("cam", on: $0)?["frames"] as? Int ?? 0) > 0 }
            return second != nil
        }
        let moved = Date().timeIntervalSince(killed)
        XCTAssertLessThan(moved, 2 + 5, "tracked again within the lease and 5 s")
        let next = try XCTUnwrap(second)
        let current = try XCTUnwrap(streamLogSpans("cam", on: [next]).last)
        try wait("frames on the new node") {
            (trackedStream("cam", on: next)?["frames"] as? Int ?? 0) > 10
        }

        // Every node lists both nodes' logs; the dead node's cannot be fetched, and says so.
        let third = try XCTUnwrap(survivors.first { $0.name != next.name })
        let logs = try await get(third.api + "/api/v1/streams/cam/logs").json
        let entries = try XCTUnwrap(logs["logs"] as? [[String: Any]], "\(logs)")
        XCTAssertTrue(entries.contains { $0["node"] as? String == next.name && $0["file"] as? String == current.file }, "\(logs)")
        XCTAssertEqual(logs["unreachable"] as? [String], [first.name], "\(logs)")
        let (fetched, served) = try await fetch(
            URLRequest(url: URL(string: third.api + "/api/v1/streams/cam/logs/\(current.file)?node=\(next.name)")!))
        XCTAssertEqual(served.statusCode, 200, String(decoding: fetched, as: UTF8.self))
        XCTAssertEqual(served.value(forHTTPHeaderField: "X-Trackd-Node"), next.name)
        XCTAssertTrue(String(decoding: fetched, as: UTF8.self).hasPrefix(current.lines[0]))

        // Removed over a third node's API: its node stops it at its next renewal.
        let removed = try await get(third.api + "/api/v1/streams/cam", delete: true)
        XCTAssertEqual(removed.status, 202, "\(removed.json)")
        try wait("the removed stream to stop", timeout: 5) { trackedStream("cam", on: next) == nil }
        let gone = try await get(third.api + "/api/v1/streams/cam", delete: true)
        XCTAssertEqual(gone.status, 404)

        let spans = try streamLogSpans("cam", on: nodes)
        XCTAssertEqual(Set(spans.map(\.node)), [first.name, next.name], "\(spans.map(\.file))")
        assertNeverTwoAtOnce(spans)
        XCTAssertTrue(try XCTUnwrap(spans.last).lines.last?.contains(#""status":"interrupted""#) ?? false)
        for node in survivors { XCTAssertEqual(stop(node.process).0, 0) }
    }
}
