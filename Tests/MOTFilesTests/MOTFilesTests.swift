import MOTFiles
import TestSupport
import XCTest

final class MOTFilesTests: XCTestCase {
    func testParsesDetectionsGroundTruthAndResults() throws {
        let text = """
            1,-1,889.7,422.6,137.7,520.4,0.94,-1,-1,-1
            1,1,912,484,97,109,0,7,0.25

            2 3 10 20 30 40
            """
        let records = try MOTText.parse(text, file: "det.txt")
        XCTAssertEqual(records.count, 3)
        XCTAssertEqual(
            records[0],
            MOTRecord(
                frame: 1, id: -1, left: 889.7, top: 422.6, width: 137.7, height: 520.4,
                confidence: 0.94, classID: -1, visibility: -1))
        XCTAssertEqual(records[1].classID, 7)
        XCTAssertEqual(records[1].visibility, 0.25)
        XCTAssertEqual(records[1].confidence, 0)
        XCTAssertEqual(records[2], MOTRecord(frame: 2, id: 3, left: 10, top: 20, width: 30, height: 40))
    }

    func testMalformedLinesAreNamedByFileAndLine() {
        let cases: [(String, Int, String)] = [
            ("1,-1,1,2,3,4,0.9\n1,-1,1,2,3\n", 2, "expected at least 6 fields"),
            ("1,-1,1,2,3,4,0.9\n\n1,-1,a,2,3,4\n", 3, "field 3 is not a number"),
            ("0,-1,1,2,3,4\n", 1, "frame must be a whole number from 1"),
            ("1.5,-1,1,2,3,4\n", 1, "frame must be a whole number from 1"),
            ("1,-1,1,2,-3,4\n", 1, "must not be negative"),
            ("1,-1,1,2,nan,4\n", 1, "field 5 is not a number")
        ]
        for (text, line, message) in cases {
            XCTAssertThrowsError(try MOTText.parse(text, file: "seq/det.txt")) { error in
                let e = error as? MOTFileError
                XCTAssertEqual(e?.line, line, text)
                XCTAssertEqual(e?.file, "seq/det.txt")
                XCTAssertTrue(e?.description.hasPrefix("seq/det.txt:\(line): ") == true, "\(String(describing: e))")
                XCTAssertTrue(e?.message.contains(message) == true, "\(String(describing: e))")
            }
        }
    }

    /// The byte-level number writer gives exactly Swift's own shortest form, on the
    /// decimals trackd logs and on arbitrary Doubles.
    func testShortestNumbersAreSwiftsOwn() {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [
            0, -0.0, 1, -1, 0.1, 0.2, 0.3, 1e-4, 9.999e-5, 0.00012, 1e15, 999_999_999_999_999.9, 1e16,
            .infinity, -.infinity, .nan, .ulpOfOne, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
            123_456_789.123456, 4_503_599_627_370_495.5, 0.000_123_456_7
        ]
        for _ in 0..<200_000 {
            let decimals = Double(Int.random(in: 0...7, using: &generator))
            let magnitude = Double.random(in: -5...16, using: &generator)
            let raw = Double.random(in: -1...1, using: &generator) * pow(10, magnitude)
            let power = pow(10, decimals)
            values.append((raw * power).rounded() / power)
            values.append(Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &generator)))
        }
        for v in values {
            var bytes: [UInt8] = []
            bytes.appendShortest(v)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), v.description)
        }
    }

    func testResultLineRoundTrips() throws {
        let record = MOTRecord(frame: 12, id: 3, left: 10.256, top: -4, width: 30.5, height: 80, confidence: 0.875)
        let line = MOTText.resultLine(record)
        XCTAssertEqual(line, "12,3,10.26,-4,30.5,80,0.88,-1,-1,-1")
        let back = try XCTUnwrap(MOTText.parse(line, file: "r").first)
        XCTAssertEqual(back.frame, 12)
        XCTAssertEqual(back.id, 3)
        XCTAssertEqual(back.left, 10.26)
        let small = MOTRecord(frame: 1, id: 1, left: 0.05, top: -0.001, width: 1199.999, height: 0.5, confidence: 1)
        XCTAssertEqual(MOTText.resultLine(small), "1,1,0.05,0,1200,0.5,1,-1,-1,-1")
        let negative = MOTRecord(frame: 1, id: 1, left: -2.5, top: -0.07, width: 3.1, height: 100.101, confidence: 0.999)
        XCTAssertEqual(MOTText.resultLine(negative), "1,1,-2.5,-0.07,3.1,100.1,1,-1,-1,-1")
    }

    func testSequenceInfo() throws {
        let info = try SequenceInfo.parse(
            """
            [Sequence]
            name=MOT17-02-FRCNN
            imDir=img1
            frameRate=30
            seqLength=299
            imWidth=1920
            imHeight=1080
            imExt=.jpg
            """, file: "seqinfo.ini")
        XCTAssertEqual(info, SequenceInfo(name: "MOT17-02-FRCNN", frameRate: 30, length: 299, width: 1920, height: 1080))

        XCTAssertThrowsError(try SequenceInfo.parse("[Sequence]\nframeRate=thirty\n", file: "s.ini")) { error in
            XCTAssertEqual((error as? MOTFileError)?.line, 2)
        }
        XCTAssertThrowsError(try SequenceInfo.parse("[Sequence]\nframeRate=30\n", file: "s.ini")) { error in
            XCTAssertEqual((error as? MOTFileError)?.message, "[Sequence] has no seqLength")
        }
        // Found by fuzzing: a size past Int.max trapped; a fraction was cut off.
        for (key, value) in [("imHeight", String(repeating: "2", count: 40)), ("seqLength", "299.5"), ("imWidth", "1e12")] {
            let text = "[Sequence]\nframeRate=30\nseqLength=299\nimWidth=1920\nimHeight=1080\n"
                .replacingOccurrences(of: "\(key)=", with: "\(key)=\(value)\n; was ")
            XCTAssertThrowsError(try SequenceInfo.parse(text, file: "s.ini"), key) { error in
                XCTAssertEqual(
                    (error as? MOTFileError)?.message,
                    "\(key) must be a whole number from 1 to 999999999, found '\(value)'", key)
            }
        }
    }

    func testReadsTheVendoredBenchmarkFiles() throws {
        let root = BenchmarkData.valhalf("MOT17-02-FRCNN")
        let detections = try MOTText.read(root.appendingPathComponent("det/det.txt").path)
        XCTAssertEqual(detections.count, 24951)
        XCTAssertTrue(detections.allSatisfy { $0.id == -1 && $0.confidence > 0 })
        let info = try SequenceInfo.read(root.appendingPathComponent("seqinfo.ini").path)
        XCTAssertEqual(info.length, 299)
        XCTAssertEqual(detections.map(\.frame).max(), 299)
        XCTAssertThrowsError(try MOTText.read(root.appendingPathComponent("missing.txt").path)) { error in
            XCTAssertEqual((error as? MOTFileError)?.message, "no such file")
        }
    }
}
