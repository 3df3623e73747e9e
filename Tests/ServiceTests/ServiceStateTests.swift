import Foundation
import XCTest

@testable import Service

/// What the status file says of jobs and streams, and what the watchdog measures:
/// trackd's own progress, never a source's silence. On a clock the test sets.
final class ServiceStateTests: XCTestCase {
    private final class Clock: @unchecked Sendable {
        var now = 1000.0
    }

    private let clock = Clock()
    private lazy var state = ServiceState(clock: { [clock] in clock.now })

    private func stream(_ name: String) -> ServiceState.Stream? {
        state.snapshot.streams.first { $0.name == name }
    }

    func testARunningJobShowsItsLog() throws {
        state.jobStarted("dup-2.mp4", log: "/spool/logs/dup-2.jsonl")
        let job = try XCTUnwrap(state.snapshot.jobs.first)
        XCTAssertEqual(job.name, "dup-2.mp4")
        XCTAssertEqual(job.log, "/spool/logs/dup-2.jsonl")
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(state.snapshot)) as? [String: Any]
        XCTAssertEqual(((json?["jobs"] as? [[String: Any]])?.first)?["log"] as? String, "/spool/logs/dup-2.jsonl")
    }

    /// A connected stream whose source sends nothing is reported silent (fps 0), and
    /// however long that lasts the watchdog sees no stall; when frames flow again it
    /// is tracking again.
    func testASilentSourceIsReportedNotStalled() {
        state.update(stream: "cam") { $0.state = .tracking }
        for frames in 1...50 {
            state.streamTookFrame("cam")
            clock.now += 0.04
            state.update(stream: "cam") {
                $0.frames = frames
                $0.framesPerSecond = 25
            }
        }
        clock.now += ServiceState.silentAfter - 1
        XCTAssertEqual(stream("cam")?.state, .tracking)
        XCTAssertEqual(stream("cam")?.framesPerSecond, 25)
        clock.now += 3600
        XCTAssertEqual(stream("cam")?.state, .silent)
        XCTAssertEqual(stream("cam")?.silentSeconds, 3600 + Int(ServiceState.silentAfter) - 1)
        XCTAssertEqual(stream("cam")?.framesPerSecond, 0)
        XCTAssertTrue(state.summary.contains("0/1 streams tracking, 1 silent"), state.summary)
        XCTAssertNil(state.stall)

        state.streamTookFrame("cam")
        state.update(stream: "cam") { $0.frames += 1 }
        XCTAssertEqual(stream("cam")?.state, .tracking)
        XCTAssertNil(stream("cam")?.silentSeconds)
    }

    /// Waiting to reconnect is not a stall, nor is a stream never connected.
    func testRetryingAndConnectingStreamsAreNotStalls() {
        state.update(stream: "a") { $0.state = .connecting }
        state.update(stream: "b") { $0.state = .tracking }
        state.streamTookFrame("b")
        state.update(stream: "b") {
            $0.state = .retrying
            $0.reconnects += 1
        }
        clock.now += 3600
        XCTAssertNil(state.stall)
        XCTAssertEqual(stream("a")?.state, .connecting)
        XCTAssertEqual(stream("b")?.state, .retrying)
    }

    /// A stream that holds a frame it does not finish (a hung detector, a log write
    /// that never returns) is a stall from the moment it took it; so is a running job
    /// that stops advancing. The longest one is named.
    func testWorkThatDoesNotAdvanceIsAStall() {
        state.update(stream: "cam") { $0.state = .tracking }
        state.streamTookFrame("cam")
        clock.now += 10
        state.streamTookFrame("cam")
        XCTAssertEqual(state.stall, ServiceState.Stall(who: "stream cam", seconds: 10))
        XCTAssertEqual(stream("cam")?.state, .tracking, "busy, not silent")

        state.jobStarted("a.mp4", log: "/spool/logs/a.jsonl")
        clock.now += 50
        XCTAssertEqual(state.stall, ServiceState.Stall(who: "stream cam", seconds: 60))
        state.update(stream: "cam") { $0.frames = 1 }
        XCTAssertEqual(state.stall, ServiceState.Stall(who: "job a.mp4", seconds: 50))
        state.jobProgress("a.mp4", frames: 1, fps: 10)
        clock.now += 1
        XCTAssertEqual(state.stall, ServiceState.Stall(who: "job a.mp4", seconds: 1))
        state.jobEnded("a.mp4", .done)
        XCTAssertNil(state.stall)
    }
}
