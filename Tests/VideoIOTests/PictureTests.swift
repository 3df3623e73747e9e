import Foundation
import TestSupport
import XCTest

@testable import VideoIO

/// Pictures kept by reference for snapshots, and JPEG encoding.
final class PictureTests: XCTestCase {
    /// A kept picture is the decoded frame at its own size, whatever the reader
    /// delivers to the detector: at native size it converts to the reader's own
    /// pixels; scaled to a width, the height follows.
    func testAKeptPictureIsTheDecodedFrame() throws {
        var options = FrameReader.Options()
        options.keepsPictures = true
        options.output = .letterbox(width: 64, height: 64)
        let reader = try FrameReader(Fixtures.path("h264.mp4"), options: options)
        let frame = try XCTUnwrap(reader.nextFrame())
        let picture = try XCTUnwrap(frame.picture)
        XCTAssertEqual([picture.width, picture.height], [320, 240])
        XCTAssertEqual(frame.image.width, 64, "the reader's frame is still letterboxed")
        let half = try picture.rgb(maxWidth: 160)
        XCTAssertEqual([half.width, half.height], [160, 120])

        var native = FrameReader.Options()
        native.scaling = .bilinear
        let plain = try XCTUnwrap(try FrameReader(Fixtures.path("h264.mp4"), options: native).nextFrame())
        XCTAssertEqual(try picture.rgb(), plain.image, "the same conversion as the reader's")
        XCTAssertNil(plain.picture, "kept only when asked")
    }

    /// An encoded picture decodes (with FFmpeg's JPEG decoder, through the reader)
    /// to the same size and, within JPEG's loss, the same colours.
    func testJPEGRoundTrip() throws {
        try roundTrip(width: 96, height: 64)
        try roundTrip(width: 97, height: 65)  // odd sizes, as some cameras have
    }

    private func roundTrip(width: Int, height: Int) throws {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                (pixels[i], pixels[i + 1], pixels[i + 2]) = x < width / 2 ? (220, 40, 30) : (20, 90, 200)
            }
        }
        let image = Image(width: width, height: height, pixelFormat: .rgb24, pixels: pixels)
        let jpeg = try JPEG.encode(image)
        XCTAssertEqual(Array(jpeg.prefix(2)), [0xFF, 0xD8])
        XCTAssertEqual(Array(jpeg.suffix(2)), [0xFF, 0xD9], "a whole JPEG file")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trackd-\(UUID().uuidString).jpg").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(jpeg).write(to: URL(fileURLWithPath: path))
        let decoded = try XCTUnwrap(try FrameReader(path).nextFrame()).image
        XCTAssertEqual([decoded.width, decoded.height], [width, height])
        for (x, want) in [(10, (220, 40, 30)), (width - 10, (20, 90, 200))] {
            let got = decoded[x, 30]
            XCTAssertEqual(Double(got.0), Double(want.0), accuracy: 12, "red at x \(x)")
            XCTAssertEqual(Double(got.1), Double(want.1), accuracy: 12, "green at x \(x)")
            XCTAssertEqual(Double(got.2), Double(want.2), accuracy: 12, "blue at x \(x)")
        }
    }
}
