import TestSupport
import VideoIO
import XCTest

/// The reader against FFmpeg's own tools on every fixture: same frames, same
/// timestamps, same pixels.
final class ReaderParityTests: XCTestCase {
    override func setUp() { FFmpegLogLevel.quiet.apply() }

    func testFrameCountAndTimesMatchFFprobe() throws {
        for name in Fixtures.goodVideos {
            let path = Fixtures.path(name)
            let expected = try FFmpegCLI.frameTimes(path)
            let reader = try FrameReader(path)
            var frames: [FrameInfo] = []
            while let info = try reader.nextFrameInfo() { frames.append(info) }

            XCTAssertEqual(frames.count, expected.count, "\(name): frame count")
            XCTAssertEqual(frames.map(\.index), Array(0..<frames.count), "\(name): indices")
            XCTAssertEqual(reader.stats.framesDelivered, frames.count)
            XCTAssertFalse(reader.stats.skippedAnything, "\(name): \(reader.stats)")
            for (frame, time) in zip(frames, expected) {
                if let time {
                    XCTAssertEqual(frame.time, time, accuracy: 1e-6, "\(name): frame \(frame.index)")
                    XCTAssertNotNil(frame.pts)
                } else {
                    XCTAssertTrue(frame.hasEstimatedTime, "\(name): frame \(frame.index) has no PTS")
                }
                XCTAssertEqual(frame.sourceWidth, reader.info.width)
                XCTAssertEqual(frame.sourceHeight, reader.info.height)
            }
        }
    }

    func testFramesWithoutTimestampsGetAMonotonicEstimate() throws {
        let reader = try FrameReader(Fixtures.path("no-pts.h264"))
        var times: [Double] = []
        while let info = try reader.nextFrameInfo() {
            XCTAssertNil(info.pts)
            times.append(info.time)
        }
        XCTAssertEqual(times.count, 60)
        XCTAssertEqual(times.first, 0)
        // One frame duration (1/30 s, from the stream's frame rate) apart.
        for (a, b) in zip(times, times.dropFirst()) {
            XCTAssertEqual(b - a, 1.0 / 30, accuracy: 1e-9)
        }
    }

    func testVariableFrameRateKeepsTheRealGaps() throws {
        let reader = try FrameReader(Fixtures.path("vfr.mp4"))
        var times: [Double] = []
        while let info = try reader.nextFrameInfo() { times.append(info.time) }
        let gaps = Set(zip(times, times.dropFirst()).map { (($1 - $0) * 30).rounded() })
        // Three of every five frames kept: gaps of one and three frame periods.
        XCTAssertEqual(gaps, [1, 3])
    }

    func testKnownFrameChecksumsAreStable() throws {
        for (file, index, expected) in try Fixtures.checksums() {
            let reader = try FrameReader(Fixtures.path(file))
            var frame: Frame?
            while let next = try reader.nextFrame() {
                if next.index == index {
                    frame = next
                    break
                }
            }
            let found = try XCTUnwrap(frame, "\(file): frame \(index) not reached")
            XCTAssertEqual(found.image.width, reader.info.width)
            XCTAssertEqual(found.image.pixels.count, reader.info.width * reader.info.height * 3)
            XCTAssertNil(found.letterbox)
            XCTAssertEqual(try md5(found.image.pixels), expected, "\(file) frame \(index)")
        }
    }

    func testReadingTwiceGivesIdenticalFrames() throws {
        for name in Fixtures.goodVideos {
            let first = try allFrames(name)
            let second = try allFrames(name)
            XCTAssertEqual(first.count, second.count, name)
            for (a, b) in zip(first, second) {
                XCTAssertEqual(a.info, b.info, name)
                XCTAssertEqual(a.image, b.image, "\(name): frame \(a.index) differs")
            }
        }
    }

    func testDecoderThreadCountDoesNotChangeTheFrames() throws {
        var single = FrameReader.Options()
        single.decoderThreads = 1
        single.scalerThreads = 1
        var many = FrameReader.Options()
        many.decoderThreads = 4
        many.scalerThreads = 3
        for name in ["h264.mp4", "hevc-audio.mkv"] {
            let a = try allFrames(name, options: single)
            let b = try allFrames(name, options: many)
            XCTAssertEqual(a.map(\.info), b.map(\.info), name)
            XCTAssertEqual(a.map(\.image), b.map(\.image), name)
        }
    }

    func testLetterboxMatchesTheCLIScaleAndPadsWithGrey() throws {
        // 320x240 into 416x416: scaled to 416x312, 52 rows of padding above and below.
        var options = FrameReader.Options()
        options.output = .letterbox(width: 416, height: 416)
        let reader = try FrameReader(Fixtures.path("h264.mp4"), options: options)
        var frame = try XCTUnwrap(reader.nextFrame())
        while frame.index < 9 { frame = try XCTUnwrap(reader.nextFrame()) }

        let box = try XCTUnwrap(frame.letterbox)
        XCTAssertEqual([box.contentWidth, box.contentHeight, box.padLeft, box.padTop, box.padBottom], [416, 312, 0, 52, 52])
        XCTAssertEqual(box.scale, 1.3, accuracy: 1e-12)
        XCTAssertEqual(frame.image.width, 416)
        XCTAssertEqual(frame.image.height, 416)

        let pixels = frame.image.pixels
        let stride = frame.image.bytesPerRow
        let content = Array(pixels[(52 * stride)..<((52 + 312) * stride)])
        let reference = try FFmpegCLI.rgbFrame(Fixtures.path("h264.mp4"), index: 9, width: 416, height: 312)
        XCTAssertEqual(content, reference, "scaled picture differs from ffmpeg -vf scale=416:312")
        let padding = pixels[..<(52 * stride)] + pixels[((52 + 312) * stride)...]
        XCTAssertEqual(padding.count, 2 * 52 * stride)
        XCTAssertTrue(padding.allSatisfy { $0 == 114 })
    }

    func testLetterboxWithSidePaddingAndBGR() throws {
        // 192x144 into a tall 64x128: scaled to 64x48, 40 rows of padding above and below.
        var rgbOptions = FrameReader.Options()
        rgbOptions.output = .letterbox(width: 64, height: 128)
        rgbOptions.padValue = 0
        var bgrOptions = rgbOptions
        bgrOptions.pixelFormat = .bgr24
        let rgb = try XCTUnwrap(try FrameReader(Fixtures.path("mjpeg.avi"), options: rgbOptions).nextFrame())
        let bgr = try XCTUnwrap(try FrameReader(Fixtures.path("mjpeg.avi"), options: bgrOptions).nextFrame())
        XCTAssertEqual(rgb.letterbox?.padTop, 40)
        XCTAssertEqual(rgb.letterbox?.contentHeight, 48)
        for y in stride(from: 0, to: 128, by: 7) {
            for x in stride(from: 0, to: 64, by: 5) {
                let (r, g, b) = rgb.image[x, y]
                let (b2, g2, r2) = bgr.image[x, y]
                // Same colours in the other order; swscale's RGB and BGR writers
                // round differently, by a few levels at most.
                for (c, c2) in [(r, r2), (g, g2), (b, b2)] {
                    XCTAssertLessThanOrEqual(abs(Int(c) - Int(c2)), 4, "pixel \(x),\(y)")
                }
                if y < 40 || y >= 88 { XCTAssertEqual([r, g, b], [0, 0, 0]) }
            }
        }

        // Wide target: padding left and right.
        var wide = FrameReader.Options()
        wide.output = .letterbox(width: 300, height: 72)
        let frame = try XCTUnwrap(try FrameReader(Fixtures.path("mjpeg.avi"), options: wide).nextFrame())
        let box = try XCTUnwrap(frame.letterbox)
        XCTAssertEqual([box.contentWidth, box.contentHeight, box.padLeft, box.padRight], [96, 72, 102, 102])
        XCTAssertTrue((0..<72).allSatisfy { frame.image[0, $0] == (114, 114, 114) && frame.image[299, $0] == (114, 114, 114) })
        XCTAssertFalse((0..<72).allSatisfy { frame.image[150, $0] == (114, 114, 114) })
    }

    func testTopLeftLetterboxHasTheSamePictureAndAllPaddingBelow() throws {
        // YOLOX's placement: 320x240 into 416x416, picture in rows 0..<312.
        var centred = FrameReader.Options()
        centred.output = .letterbox(width: 416, height: 416)
        var corner = centred
        corner.letterboxAlignment = .topLeft
        let a = try XCTUnwrap(try FrameReader(Fixtures.path("h264.mp4"), options: centred).nextFrame())
        let b = try XCTUnwrap(try FrameReader(Fixtures.path("h264.mp4"), options: corner).nextFrame())
        let box = try XCTUnwrap(b.letterbox)
        XCTAssertEqual([box.padLeft, box.padTop, box.padRight, box.padBottom], [0, 0, 0, 104])
        let stride = b.image.bytesPerRow
        XCTAssertEqual(b.image.pixels[..<(312 * stride)], a.image.pixels[(52 * stride)..<(364 * stride)])
        XCTAssertTrue(b.image.pixels[(312 * stride)...].allSatisfy { $0 == 114 })
        let p = box.toSource(x: 208, y: 156)
        XCTAssertEqual(p.x, 160, accuracy: 1e-9)
        XCTAssertEqual(p.y, 120, accuracy: 1e-9)
    }

    private func allFrames(_ name: String, options: FrameReader.Options = .init()) throws -> [Frame] {
        let reader = try FrameReader(Fixtures.path(name), options: options)
        var frames: [Frame] = []
        while let frame = try reader.nextFrame() { frames.append(frame) }
        return frames
    }
}
