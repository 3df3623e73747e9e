import CMallocInfo
import TestSupport
import VideoIO
import XCTest

/// Opening and closing the same file many times must not grow the heap: every
/// FFmpeg context, packet, frame and scaler is freed when the reader goes away.
final class MemoryTests: XCTestCase {
    override func setUp() { FFmpegLogLevel.quiet.apply() }

    private func heapInUse() -> Int { trackd_heap_in_use() }

    private func openReadOneClose(_ path: String, options: FrameReader.Options) throws {
        let reader = try FrameReader(path, options: options)
        _ = try XCTUnwrap(reader.nextFrame())
    }

    func testOpeningAndClosingAThousandTimesLeaksNothing() throws {
        var options = FrameReader.Options()
        options.output = .letterbox(width: 160, height: 160)
        options.decoderThreads = 2
        for name in ["h264.mp4", "hevc-audio.mkv"] {
            let path = Fixtures.path(name)
            // Warm up: lazily built tables (codec, swscale, Foundation) stay for good.
            for _ in 0..<50 { try openReadOneClose(path, options: options) }
            let before = heapInUse()
            for _ in 0..<1000 { try openReadOneClose(path, options: options) }
            let grown = heapInUse() - before
            // A leak of even 64 bytes per open would show as 64 KB here.
            XCTAssertLessThan(grown, 64 * 1024, "\(name): heap grew by \(grown) bytes over 1,000 opens")
        }
    }

    func testFailedOpensLeakNothing() throws {
        let paths = ["empty.mp4", "not-a-video.mp4", "audio-only.m4a", "unknown-codec.avi"].map(Fixtures.path)
        func attempt() { for path in paths { _ = try? FrameReader(path) } }
        for _ in 0..<20 { attempt() }
        let before = heapInUse()
        for _ in 0..<250 { attempt() }
        let grown = heapInUse() - before
        XCTAssertLessThan(grown, 64 * 1024, "heap grew by \(grown) bytes over 1,000 failed opens")
    }
}
