import Foundation
import TestSupport
import XCTest

/// `trackd detect` run as a subprocess, on the models and media scripts/setup installs.
final class DetectCommandTests: XCTestCase {
    private var trackd: String { productsDirectory.appendingPathComponent("trackd").path }

    func testDefaultModelPrintsThePersonTheDogAndTheHorse() throws {
        let image = try Deps.media("person.jpg")
        let result = try runProcess(trackd, ["detect", image])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.output.split(separator: "\n")
        XCTAssertEqual(lines.first, "# yolox-nano-coco.onnx (yolox, 80 classes, 416x416)")
        let boxes = lines.dropFirst().map { $0.split(separator: " ") }
        XCTAssertEqual(boxes.map { String($0[2]) }.sorted(), ["dog", "horse", "person"], result.output)
        let b = try XCTUnwrap(boxes.first { $0[2] == "person" })
        XCTAssertEqual(b[0], "0")
        let (left, top, width, height) = (Double(b[4])!, Double(b[5])!, Double(b[6])!, Double(b[7])!)
        XCTAssertEqual(left + width / 2, 233, accuracy: 10)
        XCTAssertEqual(top + height / 2, 237, accuracy: 15)

        // --classes keeps the named classes; an unknown name lists the model's.
        let people = try runProcess(trackd, ["detect", image, "--classes", "person"])
        XCTAssertEqual(people.output.split(separator: "\n").dropFirst().map { $0.split(separator: " ")[2] }, ["person"])
        assertOneLineError(
            try runProcess(trackd, ["detect", image, "--classes", "person,pedestrian"]),
            contains: "unknown class 'pedestrian'; the model's classes are person, bicycle, car, motorcycle")
    }

    func testYOLOv8ExportAsJSON() throws {
        let result = try runProcess(
            trackd,
            [
                "detect", "--model", try Deps.model("yolov8s-fall.onnx"), "--json",
                "--classes", "Normal", try Deps.media("vtest.avi"), "--frames", "3"
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let frames = try result.output.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(frames.map { $0["frame"] as? Int }, [0, 1, 2])
        XCTAssertEqual(frames.map { $0["time"] as? Double }, [0, 0.1, 0.2])
        let boxes = frames.flatMap { $0["detections"] as? [[String: Any]] ?? [] }
        XCTAssertFalse(boxes.isEmpty)
        for box in boxes {
            XCTAssertEqual(box["class"] as? String, "Normal")
            let b = try XCTUnwrap(box["box"] as? [Double])
            XCTAssertTrue(b[0] >= 0 && b[1] >= 0 && b[0] + b[2] <= 768 && b[1] + b[3] <= 576, "\(b)")
        }
    }

    func testBadInputsFailWithOneLine() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("model.onnx")
        try "hello\n".write(to: text, atomically: true, encoding: .utf8)
        let image = try Deps.media("person.jpg")
        assertOneLineError(
            try runProcess(trackd, ["detect", "--model", dir.appendingPathComponent("none.onnx").path, image]),
            contains: "model not found")
        assertOneLineError(
            try runProcess(trackd, ["detect", "--model", text.path, image]),
            contains: "not a model OpenVINO can read")
        assertOneLineError(
            try runProcess(trackd, ["detect", dir.appendingPathComponent("none.jpg").path]),
            contains: "file not found")
        assertOneLineError(
            try runProcess(trackd, ["detect", Fixtures.path("not-a-video.mp4")]),
            contains: "not a media file")
        let bad = try runProcess(trackd, ["detect", "--precision", "f64", image])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("Please provide one of 'auto', 'f32', 'bf16' or 'f16'"), bad.stderr)
        let help = try runProcess(trackd, ["detect", "--help"])
        let flowed = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(flowed.contains("(values: auto, f32, bf16, f16; default: auto)"), "typed options list their choices")
    }

    /// An installed layout (bin/trackd, share/trackd/models) run by its name through
    /// PATH, as a packaged trackd is: the model is found beside the binary's real path.
    func testAnInstalledBinaryRunFromPATHFindsItsModel() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bin = dir.appendingPathComponent("bin")
        let models = dir.appendingPathComponent("share/trackd/models")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: trackd, toPath: bin.appendingPathComponent("trackd").path)
        let model = try Deps.model("yolox-nano-coco.onnx")
        try FileManager.default.createSymbolicLink(
            atPath: models.appendingPathComponent("yolox-nano-coco.onnx").path, withDestinationPath: model)
        let run = try runProcess(
            "/usr/bin/env", ["-i", "PATH=\(bin.path):/usr/bin:/bin", "trackd", "detect", try Deps.media("person.jpg")],
            directory: dir)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.output.contains("person"), run.output)
    }

    func testMissingDefaultModelSaysHowToGetIt() throws {
        // A copy of the binary outside the project, with nowhere to find the model.
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("trackd")
        try FileManager.default.copyItem(atPath: trackd, toPath: copy.path)
        assertOneLineError(
            try runProcess(copy.path, ["detect", try Deps.media("person.jpg")]),
            contains: "the default model is not installed")
    }
}
