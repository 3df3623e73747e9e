import Foundation
import TestSupport
import VideoIO
import XCTest

/// A local path is opened by trackd and what the descriptor is decides how it is read,
/// so a video swapped for a FIFO between a check and the open never holds the reader
/// in a blocking open(2) that no interrupt reaches.
final class LocalInputTests: XCTestCase {
    private final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }

    func testAVideoSwappedForAFIFOAtTheOpenNeverHangsTheReader() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let video = dir.appendingPathComponent("video.mp4").path
        let path = dir.appendingPathComponent("job.mp4").path
        try FileManager.default.copyItem(atPath: Fixtures.path("h264.mp4"), toPath: video)
        XCTAssertEqual(link(video, path), 0)

        // Puts a FIFO and the video in turn under `path`. Each FIFO keeps a name of
        // its own, so that a reader caught in one can be let go.
        let done = Flag()
        let swapped = DispatchSemaphore(value: 0)
        let fifos = dir.appendingPathComponent("fifos")
        try FileManager.default.createDirectory(at: fifos, withIntermediateDirectories: false)
        Thread.detachNewThread {
            let file = dir.appendingPathComponent("next-file").path
            let fifo = dir.appendingPathComponent("next-fifo").path
            var n = 0
            while !done.isSet {
                let kept = fifos.appendingPathComponent("\(n)").path
                n += 1
                mkfifo(kept, 0o600)
                link(kept, fifo)
                rename(fifo, path)
                link(video, file)
                rename(file, path)
                usleep(200)
            }
            swapped.signal()
        }
        defer {
            done.set()
            swapped.wait()
        }

        var opened = 0
        var refused = 0
        // Until both have happened (the swapper may be starved for a while on a busy
        // machine), 200 opens at least.
        for attempt in 0..<5000 where attempt < 200 || opened == 0 || refused == 0 {
            let finished = DispatchSemaphore(value: 0)
            let deadline = Date().addingTimeInterval(0.05)
            nonisolated(unsafe) var result: Result<FrameReader, any Error>?
            Thread.detachNewThread {
                var options = FrameReader.Options()
                options.interrupt = { Date() > deadline }
                result = Result { try FrameReader(path, options: options) }
                finished.signal()
            }
            if finished.wait(timeout: .now() + 10) == .timedOut {
                XCTFail("the reader hung in its open")
                // Let it go: a writer comes to each FIFO and goes.
                for name in (try? FileManager.default.contentsOfDirectory(atPath: fifos.path)) ?? [] {
                    let writer = open(fifos.appendingPathComponent(name).path, O_WRONLY | O_NONBLOCK)
                    if writer >= 0 { close(writer) }
                }
                _ = finished.wait(timeout: .now() + 10)
                break
            }
            switch result {
            case .success(let reader):
                XCTAssertEqual(reader.info.width, 320)
                opened += 1
            default: refused += 1
            }
        }
        XCTAssertGreaterThan(opened, 0, "some opens found the video")
        XCTAssertGreaterThan(refused, 0, "some found the FIFO, and gave up at the interrupt")
    }
}
