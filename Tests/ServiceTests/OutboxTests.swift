import Foundation
import TestSupport
import XCTest

@testable import ServiceFiles

/// The on-disk outbox of a receiver: in order, at least once across a crash, bounded.
final class OutboxTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func event(_ k: Int) -> Data { Data(#"{"n":\#(k),"pad":"\#(String(repeating: "x", count: 40))"}"#.utf8) }

    private func numbers(_ entries: [Outbox.Entry]) -> [Int] {
        entries.compactMap { (try? JSONSerialization.jsonObject(with: $0.line) as? [String: Any])?["n"] as? Int }
    }

    func testEventsComeOutInOrderAndGoOnlyWhenAcknowledged() throws {
        let outbox = try Outbox(directory: dir.path, segmentBytes: 1000)
        for k in 0..<100 { XCTAssertTrue(outbox.append(event(k))) }
        XCTAssertEqual(outbox.pending, 100)
        let first = outbox.next(limit: 30)
        XCTAssertEqual(numbers(first), Array(0..<30))
        XCTAssertEqual(numbers(outbox.next(limit: 10)), Array(30..<40), "handed out after the first batch")
        // The receiver took the first 30 only: the rest comes again, in order.
        outbox.acknowledge(upTo: first.last!.end, count: 30)
        outbox.rewind()
        XCTAssertEqual(numbers(outbox.next(limit: 1000)), Array(30..<100))
        XCTAssertEqual(outbox.pending, 70)
        // Segments wholly acknowledged are removed from the disk.
        let segments = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".jsonl") }
        XCTAssertLessThan(segments.count, 7, "\(segments)")
    }

    func testAfterACrashDeliveryResumesAtLeastOnceInOrder() throws {
        do {
            let outbox = try Outbox(directory: dir.path, segmentBytes: 1000)
            for k in 0..<50 { outbox.append(event(k)) }
            let taken = outbox.next(limit: 20)
            outbox.acknowledge(upTo: taken.last!.end, count: 20)
            outbox.saveCursor()
            let more = outbox.next(limit: 10)
            // Acknowledged, but the cursor not yet saved when the process dies.
            outbox.acknowledge(upTo: more.last!.end, count: 10)
        }
        // A line half-written when the process died.
        let last = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".jsonl") }.max()!
        let handle = try FileHandle(forWritingTo: dir.appendingPathComponent(last))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"n":999,"pa"#.utf8))
        try handle.close()

        let reopened = try Outbox(directory: dir.path, segmentBytes: 1000)
        let all = numbers(reopened.next(limit: 1000))
        XCTAssertEqual(all.first, 20, "from the last saved cursor: some events again, none lost")
        XCTAssertEqual(all, Array(20..<50), "the cut line is gone")
        XCTAssertEqual(reopened.pending, 30)
        reopened.append(event(50))
        XCTAssertEqual(numbers(reopened.next(limit: 10)), [50], "a new event after the cut starts clean")
    }

    func testAnOutboxOverItsBoundDropsItsOldestEventsAndCountsThem() throws {
        let outbox = try Outbox(directory: dir.path, maxBytes: 3000, segmentBytes: 1000)
        for k in 0..<200 { outbox.append(event(k)) }
        XCTAssertGreaterThan(outbox.dropped, 100)
        XCTAssertEqual(outbox.pending + outbox.dropped, 200)
        let kept = numbers(outbox.next(limit: 1000))
        XCTAssertEqual(kept.last, 199, "the newest are kept")
        XCTAssertEqual(kept, Array(kept.first!...199), "in order, without gaps")
        XCTAssertEqual(kept.count, outbox.pending)
        let bytes = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".jsonl") }
            .map { try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent($0).path)[.size] as! Int }
            .reduce(0, +)
        XCTAssertLessThanOrEqual(bytes, 3000)
    }

    /// A small bound gets segments small enough to keep to it.
    func testASmallBoundIsKeptWithSegmentsSizedToIt() throws {
        let outbox = try Outbox(directory: dir.path, maxBytes: 4096)
        let line = Data(repeating: UInt8(ascii: "x"), count: 239)
        for _ in 0..<25 { outbox.append(line) }
        XCTAssertGreaterThan(outbox.dropped, 0)
        XCTAssertEqual(outbox.pending + outbox.dropped, 25)
        let bytes = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".jsonl") }
            .map { try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent($0).path)[.size] as! Int }
            .reduce(0, +)
        XCTAssertLessThanOrEqual(bytes, 4096)
    }
}
