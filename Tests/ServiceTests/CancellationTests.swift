import Foundation
import Geometry
import Logging
import Pipeline
import TestSupport
import VideoIO
import XCTest

@testable import Detection
@testable import Service
@testable import ServiceFiles

/// The services end when their task is cancelled, as they do on a graceful shutdown,
/// without waiting out a poll or a back-off.
final class CancellationTests: XCTestCase {
    private func cancelAfterHalfASecond(_ run: @escaping @Sendable () async throws -> Void) async throws -> Double {
        let task = Task { try await run() }
        try await Task.sleep(nanoseconds: 500_000_000)
        let start = monotonicSeconds()
        task.cancel()
        _ = try? await task.value
        return monotonicSeconds() - start
    }

    func testAStreamWaitingToReconnectEndsWhenCancelled() async throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = ServiceConfig()
        config.spool = dir.path
        var stream = ServiceConfig.StreamConfig()
        stream.name = "cam"
        stream.url = "tcp://127.0.0.1:1"  // refused at once: the stream then waits 30 s
        stream.retryInitialSeconds = 30
        config.streams = [stream]
        let detectors = DetectorPool(concurrency: 1)
        detectors.share(StubDetector(), settings: config.detector)
        let state = ServiceState()
        let service = StreamService(
            stream: stream, spool: try Spool(root: dir.path), config: Locked(config), detectors: detectors,
            state: state, logger: Logger(label: "test"), version: "test")
        let seconds = try await cancelAfterHalfASecond { try await service.run() }
        XCTAssertLessThan(seconds, 2, "ended within its back-off of 30 s")
        XCTAssertEqual(state.snapshot.streams.first?.state, .stopped)
        XCTAssertEqual(state.snapshot.streams.first?.reconnects, 1)
    }

    func testTheSpoolAndStatusServicesEndWhenCancelled() async throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = ServiceConfig()
        config.spool = dir.path
        config.pollSeconds = 30
        let box = Locked(config)
        let state = ServiceState()
        let logger = Logger(label: "test")
        let spool = SpoolService(
            spool: try Spool(root: dir.path), config: box, detectors: DetectorPool(concurrency: 1), state: state,
            logger: logger, version: "test")
        let status = StatusService(state: state, config: box, notifier: Notifier(environment: [:]), logger: logger)
        let spoolSeconds = try await cancelAfterHalfASecond { try await spool.run() }
        XCTAssertLessThan(spoolSeconds, 2, "ended within its poll of 30 s")
        let statusSeconds = try await cancelAfterHalfASecond { try await status.run() }
        XCTAssertLessThan(statusSeconds, 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: config.statusPath), "the status file is written on the way out")
    }
}
