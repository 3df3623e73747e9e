import Foundation
import TestSupport
import Tracking
import XCTest

@testable import TrackLog

final class TrackLogTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func header(maxLost: Double = 1) -> LogHeader {
        var tracker = TrackerConfig()
        tracker.maxLostSeconds = maxLost
        return LogHeader(
            trackd: "test", created: "2026-01-01T00:00:00Z", source: .init(path: "/v.mp4", bytes: 10),
            video: .init(width: 640, height: 480, frameRate: 10, timeBase: "1/10"),
            detector: .init(model: "m", kind: "k", classes: ["person", "car, red"], confidence: 0.25, iou: 0.45, stride: 1),
            tracker: tracker)
    }

    private func frame(_ index: Int, _ tracks: [(Int, Int, Double)]) -> LogFrame {
        LogFrame(
            frame: index, time: Double(index) / 10,
            tracks: tracks.map { id, cls, x in
                LogTrack(
                    id: id, class: cls == 0 ? "person" : "car, red", classId: cls, score: 0.5 + Double(id) / 100,
                    box: [x, 20, 10, 30], state: "confirmed")
            })
    }

    /// Writes a log of `frames`, with an end line unless `end` is nil.
    private func write(
        _ frames: [LogFrame], end: LogEnd? = LogEnd(status: .complete, frames: 0, tracks: 0, wallSeconds: 1),
        header: LogHeader? = nil
    ) throws -> String {
        let path = dir.appendingPathComponent("log.jsonl").path
        let writer = try TrackLogWriter(path: path)
        try writer.begin(header ?? self.header())
        for f in frames { try writer.append(f) }
        if let end { try writer.finish(end) }
        return path
    }

    private func readAll(_ path: String) throws -> (TrackLogReader, [LogRecord]) {
        let reader = try TrackLogReader(path: path)
        var records: [LogRecord] = []
        while let r = try reader.next() { records.append(r) }
        return (reader, records)
    }

    func testRoundTrip() throws {
        let frames = [frame(0, []), frame(1, [(1, 0, 5.5), (2, 1, 100)]), frame(2, [(1, 0, 6)])]
        let end = LogEnd(status: .interrupted, frames: 3, tracks: 2, wallSeconds: 0.5)
        let (reader, records) = try readAll(try write(frames, end: end))
        XCTAssertEqual(reader.header, header())
        XCTAssertEqual(records, frames.map(LogRecord.frame) + [.end(end)])
        XCTAssertFalse(reader.truncatedTail)
        let failed = LogEnd(status: .failed, frames: 1, tracks: 0, wallSeconds: 1, error: "truncated \"video\"")
        XCTAssertEqual(try readAll(try write([frame(0, [])], end: failed)).1.last, .end(failed))
    }

    func testLogCutByACrashKeepsEveryCompleteLine() throws {
        let frames = (0..<50).map { frame($0, [(1, 0, Double($0))]) }
        let path = try write(frames, end: nil)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let lineEnds = bytes.indices.filter { bytes[$0] == UInt8(ascii: "\n") }
        // Cut anywhere inside the last 10 lines: every complete line before the cut
        // survives. (A line cut just before its newline is whole JSON, and is kept.)
        for cut in stride(from: lineEnds[40] + 1, to: bytes.count, by: 37) + [lineEnds[45]] {
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            let (reader, records) = try readAll(path)
            let whole = lineEnds.filter { $0 < cut }.count - 1 + (lineEnds.contains(cut) ? 1 : 0)
            XCTAssertEqual(records.count, whole, "cut at \(cut)")
            XCTAssertTrue(records == frames.prefix(whole).map(LogRecord.frame), "cut at \(cut)")
            XCTAssertEqual(reader.truncatedTail, !lineEnds.contains(cut - 1) && !lineEnds.contains(cut), "cut at \(cut)")
        }
    }

    /// A long line is read whole, however many chunks it spans; one longer than the
    /// limit is refused, named by its number, without reading it all into memory.
    func testLongLinesAreReadAndOverlongOnesNamed() throws {
        var long = frame(1, [(7, 0, 1)])
        long.tracks[0].class = String(repeating: "a", count: 5 << 20)
        let path = try write([frame(0, []), long, frame(2, [])], end: nil)
        let (_, records) = try readAll(path)
        XCTAssertEqual(records, [.frame(frame(0, [])), .frame(long), .frame(frame(2, []))])

        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[2] = #"{"type":"frame","frame":1,"pad":""# + String(repeating: "x", count: LineReader.maxLineBytes) + #""}"#
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let reader = try TrackLogReader(path: path)
        XCTAssertEqual(try reader.next(), .frame(frame(0, [])))
        XCTAssertThrowsError(try reader.next()) { error in
            XCTAssertEqual(
                error as? TrackLogError, .malformedLine(path: path, line: 3, reason: "longer than 64 MiB; no track log line is"))
        }
    }

    func testDamagedLineInTheMiddleIsNamed() throws {
        let path = try write([frame(0, []), frame(1, [])])
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[2] = #"{"type":"frame","frame":"one","time":0.1,"tracks":[]}"#
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let reader = try TrackLogReader(path: path)
        XCTAssertNotNil(try reader.next())
        XCTAssertThrowsError(try reader.next()) { error in
            XCTAssertEqual("\(error)", "\(path):3: missing or bad frame")
        }
    }

    /// trackd writes frames in order with finite numbers; a log that does not (edited,
    /// or two logs run together) is an error naming the line, not silent garbage.
    func testFramesOutOfOrderOrNotFiniteAreNamed() throws {
        let path = try write([frame(0, [(1, 0, 1)]), frame(1, [(1, 0, 2)]), frame(2, [(1, 0, 3)])])
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        for (edit, message) in [
            (
                { (l: inout [String]) in l.insert(l[2], at: 3) },
                "4: frame 1 repeats or goes back (the frame line before is frame 1)"
            ),
            ({ (l: inout [String]) in l.swapAt(2, 3) }, "4: frame 1 repeats or goes back (the frame line before is frame 2)"),
            (
                { (l: inout [String]) in l[3] = l[3].replacingOccurrences(of: #""time":0.2"#, with: #""time":0.05"#) },
                "4: time 0.05 s is not after the frame line before's (0.1 s)"
            ),
            (
                { (l: inout [String]) in l[2] = l[2].replacingOccurrences(of: #""time":0.1"#, with: #""time":1e999"#) },
                "3: time inf is not a finite number of seconds"
            ),
            (
                { (l: inout [String]) in l[2] = l[2].replacingOccurrences(of: #""box":[2.0,"#, with: #""box":[1e999,"#) },
                "3: track 1 has a number that is not finite"
            )
        ] {
            var edited = lines
            edit(&edited)
            try (edited.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try readAll(path), message) { XCTAssertEqual("\($0)", "\(path):\(message)") }
        }
    }

    func testUnknownKeysAndLineTypesAreSkipped() throws {
        let path = try write([frame(0, [(1, 0, 1)])])
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[1] = lines[1].replacingOccurrences(of: #""state":"confirmed"}"#, with: #""state":"confirmed","speed":3}"#)
        lines.insert(#"{"type":"annotation","text":"from a newer trackd"}"#, at: 2)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let (_, records) = try readAll(path)
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records.first, .frame(frame(0, [(1, 0, 1)])))
    }

    func testOtherMajorSchemasAndNonLogsAreRefused() throws {
        let path = try write([])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "trackd.tracklog/1", with: "trackd.tracklog/2.3").write(
            toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TrackLogReader(path: path)) { error in
            XCTAssertEqual("\(error)", "\(path) has schema trackd.tracklog/2.3; this trackd reads trackd.tracklog/1")
        }
        try text.replacingOccurrences(of: "trackd.tracklog/1", with: "trackd.tracklog/1.4").write(
            toFile: path, atomically: true, encoding: .utf8)
        XCTAssertNoThrow(try TrackLogReader(path: path), "a newer minor version is read")
        for content in ["", "hello\n", #"{"type":"frame","frame":0,"time":0,"tracks":[]}"# + "\n"] {
            try content.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try TrackLogReader(path: path)) { error in
                XCTAssertEqual(error as? TrackLogError, .notATrackLog(path: path), content)
            }
        }
        XCTAssertThrowsError(try TrackLogReader(path: dir.appendingPathComponent("none").path)) { error in
            XCTAssertTrue("\(error)".contains("no such file"))
        }
    }

    /// A device that takes writes but cannot be synced (/dev/null) is a fine target:
    /// a run whose log is thrown away, for its --mot-out results.
    func testALogToDevNullFinishes() throws {
        let writer = try TrackLogWriter(path: "/dev/null")
        try writer.begin(header())
        try writer.append(frame(0, [(1, 0, 10)]))
        XCTAssertNoThrow(try writer.finish(LogEnd(status: .complete, frames: 1, tracks: 1, wallSeconds: 0)))
    }

    func testFullDiskIsAWriteError() throws {
        let writer = try TrackLogWriter(path: "/dev/full")
        XCTAssertThrowsError(try writer.begin(header())) { error in
            XCTAssertEqual("\(error)", "cannot write the track log /dev/full: No space left on device")
        }
        XCTAssertThrowsError(try TrackLogWriter(path: dir.appendingPathComponent("no/such/dir/log.jsonl").path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot create the track log"), "\(error)")
        }
    }

    func testFrameLinesAreValidJSONInAFixedKeyOrder() throws {
        var f = frame(3, [(7, 1, 1.25)])
        f.tracks[0].class = "quote \" back\\slash\ttab \u{1}"
        let line = f.jsonLine
        XCTAssertTrue(
            line.hasPrefix(
                #"{"type":"frame","frame":3,"time":0.3,"tracks":[{"id":7,"class":"quote \" back\\slash\ttab \u0001","#), line)
        XCTAssertEqual(try JSONDecoder().decode(LogFrame.self, from: Data(line.utf8)), f)
    }

    /// The frame line parser checks the whole line as JSON, decodes what it keeps and
    /// converts numbers exactly as strtod does.
    func testLineParserReadsJSON() throws {
        func parse(_ line: String) throws -> (FrameFields, FrameLineParser.Parsed) {
            var fields = FrameFields()
            var bytes = Array(line.utf8)
            let parsed = try bytes.withUnsafeMutableBufferPointer {
                try FrameLineParser.parse(UnsafeBufferPointer($0), into: &fields)
            }
            return (fields, parsed)
        }
        let extra = #""x":{"a":[1,-2.5e3,0.125,true,false,null],"e":{},"l":[], "k" : [ 1 , { "k" : "v" } ] }"#
        let line =
            #"{"type":"frame",\#(extra),"frame":3,"time":0.1,"tracks":[{"id":7,"class":"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","classId":1,"score":0.875,"box":[1e2,-0.0,12.345678901234567,"skipped",3E-2],"extra":[]}]}"#
        let (fields, parsed) = try parse(line)
        XCTAssertEqual(parsed.type, "frame")
        XCTAssertNil(parsed.problem)
        XCTAssertEqual(fields.frame, 3)
        XCTAssertEqual(fields.time, 0.1)
        XCTAssertEqual(fields.tracks.count, 1)
        let t = fields.tracks[0]
        XCTAssertEqual(t.className, "x\"\\/\u{8}\u{c}\n\r\té😀")
        XCTAssertEqual([t.left, t.top, t.width, t.height], [100, -0.0, 12.345678901234567, 0.03])
        XCTAssertEqual(t.state, "confirmed")
        // Every number form converts as strtod does, on the fast path and off it.
        for text in [
            "0.1", "0.3", "123.45", "-7.25", "1e22", "9007199254740993", "0.000001", "1.7976931348623157e308",
            "4.9e-324", "123456789012345.6", "0.1234567890123456789", "5e-324", "2.2250738585072014e-308", "100.0"
        ] {
            let (f, _) = try parse(#"{"type":"frame","frame":0,"time":\#(text),"tracks":[]}"#)
            XCTAssertEqual(f.time.bitPattern, strtod(text, nil).bitPattern, text)
        }
        for bad in [
            "", "{", #"{"a":}"#, #"{"a":1,}"#, #"{"a":[1 2]}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":-}"#, #"{"a":"\x"}"#,
            "{} {}", #"{"a":tru}"#, "{\"a\":\"a\tb\"}".replacingOccurrences(of: "\\t", with: "\t"),
            #"{"type":"frame","tracks":[{"class":"\ud800x"}]}"#
        ] {
            XCTAssertThrowsError(try parse(bad), bad)
        }
        // A lone surrogate fits JSON's grammar: it is refused only in a string that is kept.
        XCTAssertNoThrow(try parse(#"{"a":"\ud800"}"#))
        // Fields of the wrong kind are named in a fixed order, whatever the keys' order.
        XCTAssertEqual(
            try parse(#"{"tracks":[{"box":[1,2,3]}],"time":"x","type":"frame","frame":1}"#).1.problem?.reason,
            "missing or bad time")
        XCTAssertEqual(
            try parse(#"{"type":"frame","frame":1,"time":0,"tracks":[{"id":1,"class":"a","classId":0,"score":1,"box":[1,2,3]}]}"#)
                .1.problem?.reason,
            "tracks[0].box must have 4 numbers")
        XCTAssertEqual(try parse(#"{"type":"end","status":"complete"}"#).1.type, "end")
    }

    func testExportFormats() throws {
        let frames = [frame(0, [(1, 0, 10)]), frame(1, [(1, 0, 12), (2, 1, 50)]), frame(30, [(3, 0, 5)]), frame(31, [(3, 0, 7)])]
        let path = try write(frames)
        func export(_ format: ExportFormat) throws -> (String, ExportSummary) {
            var text = ""
            let summary = try FrameExporter.export(try TrackLogReader(path: path), format: format) {
                text += String(decoding: $0, as: UTF8.self)
            }
            return (text, summary)
        }
        let (mot, summary) = try export(.mot)
        XCTAssertEqual(mot.split(separator: "\n").first, "1,1,10,20,10,30,0.51,-1,-1,-1")
        XCTAssertEqual(mot.split(separator: "\n").count, 5)
        XCTAssertEqual(summary.frames, 4)
        XCTAssertEqual(summary.boxes, 5)
        XCTAssertFalse(summary.unfinished)

        let (csv, _) = try export(.csv)
        let rows = csv.split(separator: "\n")
        XCTAssertEqual(rows[0], "frame,time,id,class,class_id,score,left,top,width,height,state")
        XCTAssertEqual(rows[3], #"1,0.1,2,"car, red",1,0.52,50.0,20.0,10.0,30.0,confirmed"#)

        // Tracks 1 and 2 end 2.9 s before frame 30 (more than maxLostSeconds, 1 s), so
        // they are written as soon as frame 30 is read, before track 3.
        let (tracks, s2) = try export(.tracks)
        let objects = try tracks.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(s2.tracks, 3)
        XCTAssertEqual(objects.map { $0["id"] as? Int }, [1, 2, 3])
        XCTAssertEqual(objects[0]["frames"] as? Int, 2)
        XCTAssertEqual(objects[0]["firstTime"] as? Double, 0)
        XCTAssertEqual(objects[0]["lastFrame"] as? Int, 1)
        XCTAssertEqual(objects[0]["meanScore"] as? Double, 0.51)
        XCTAssertEqual(objects[0]["path"] as? [[Double]], [[0, 15, 35], [0.1, 17, 35]])
        XCTAssertEqual(objects[1]["class"] as? String, "car, red")
    }

    /// Refinement fills a track's gap between two observations, linearly in time, and
    /// nothing before a track's first box or after its last; a gap longer than the
    /// limit stays open. Every frame comes out once, in order, though held back.
    func testGapFillerInterpolatesOnlyBetweenObservations() {
        // Track 1 at x 10 (frame 0), then unseen for frames 1-3, then x 50 (frame 4).
        // Track 2 seen on frames 0-1 only. Track 3 unseen for 1.5 s (frames 5-19).
        var frames = [frame(0, [(1, 0, 10), (2, 1, 100)]), frame(1, [(2, 1, 102)]), frame(2, [(3, 0, 0)])]
        frames += [frame(3, []), frame(4, [(1, 0, 50)])]
        frames += (5...19).map { frame($0, []) } + [frame(20, [(3, 0, 30)])]
        var filler = GapFiller(maxGap: 1)
        var out: [LogFrame] = []
        for f in frames {
            let ready = filler.add(f)
            XCTAssertTrue(ready.allSatisfy { f.time - $0.time > 1 }, "held only while a gap may still reach it")
            out += ready
        }
        out += filler.finish()
        XCTAssertEqual(out.map(\.frame), frames.map(\.frame))
        let filled = out.flatMap { f in f.tracks.filter { $0.state == "interpolated" }.map { (f.frame, $0) } }
        XCTAssertEqual(filled.map(\.0), [1, 2, 3])
        XCTAssertEqual(filled.map { $0.1.id }, [1, 1, 1])
        XCTAssertEqual(filled.map { $0.1.box[0] }, [20, 30, 40])
        XCTAssertEqual(filled.first?.1.score, 0.51)
        XCTAssertEqual(filled.first?.1.class, "person")
        XCTAssertFalse(out.contains { f in f.frame > 1 && f.tracks.contains { $0.id == 2 } }, "nothing after track 2's end")
        XCTAssertFalse(
            out.contains { f in (3...19).contains(f.frame) && f.tracks.contains { $0.id == 3 } }, "a 1.8 s gap stays open")

        // Through the exporter, with the limit the tracker's: the same three boxes.
        let path = try? write(frames)
        var text = ""
        XCTAssertNoThrow(
            try FrameExporter.export(try TrackLogReader(path: path!), format: .csv, refiner: Refiner(maxGap: 1, sigma: 0)) {
                text += String(decoding: $0, as: UTF8.self)
            })
        XCTAssertEqual(text.split(separator: "\n").filter { $0.hasSuffix(",interpolated") }.count, 3)
    }

    /// Smoothing pulls a jittery track onto its line, moves only boxes (none added or
    /// dropped, ids and order kept), and hands every frame out once, in order.
    func testBoxSmootherPullsJitterOntoTheLine() {
        // Track 1 moves 2 px a frame with ±3 px of jitter; track 2 appears on two frames.
        let frames = (0..<40).map { k in
            frame(k, [(1, 0, 100 + 2 * Double(k) + (k % 2 == 0 ? 3 : -3))] + (k == 10 || k == 11 ? [(2, 1, 300)] : []))
        }
        var smoother = BoxSmoother(sigma: 0.1)
        var out: [LogFrame] = []
        for f in frames { out += smoother.add(f) }
        out += smoother.finish()
        XCTAssertEqual(out.map(\.frame), frames.map(\.frame))
        XCTAssertEqual(out.map { $0.tracks.map(\.id) }, frames.map { $0.tracks.map(\.id) })
        func error(_ f: [LogFrame]) -> Double {
            f[5..<35].map { abs($0.tracks[0].box[0] - (100 + 2 * Double($0.frame))) }.reduce(0, +) / 30
        }
        XCTAssertEqual(error(frames), 3)
        XCTAssertLessThan(error(out), 1, "jitter mostly gone")
        XCTAssertEqual(out[10].tracks[1].box[0], 300, "a still box stays")
    }

    private func entries() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() }

    /// The log appears under its name only with its header.
    func testNoEmptyLogBeforeTheHeaderAndNothingLeftWhenAbandoned() throws {
        let path = dir.appendingPathComponent("log.jsonl").path
        let writer = try TrackLogWriter(path: path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "not under its name before the header")
        XCTAssertEqual(entries().count, 1)
        XCTAssertTrue(entries()[0].hasPrefix(".log.") && entries()[0].hasSuffix(".partial.jsonl"), "\(entries())")
        try writer.begin(header())
        XCTAssertEqual(entries(), ["log.jsonl"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").count, 1)
        XCTAssertTrue(text.hasPrefix(#"{"created""#), text)

        // A run that ends before its header (the video would not open) leaves nothing,
        // and an older file of that name keeps its contents.
        let old = dir.appendingPathComponent("old.jsonl").path
        try "older contents\n".write(toFile: old, atomically: true, encoding: .utf8)
        try TrackLogWriter(path: old).abandon()
        do { _ = try TrackLogWriter(path: dir.appendingPathComponent("dropped.jsonl").path) }
        XCTAssertEqual(entries(), ["log.jsonl", "old.jsonl"])
        XCTAssertEqual(try String(contentsOfFile: old, encoding: .utf8), "older contents\n")

        // A link named as the log still points at it afterwards.
        let target = dir.appendingPathComponent("target.jsonl").path
        let link = dir.appendingPathComponent("link.jsonl").path
        try "x\n".write(toFile: target, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        try TrackLogWriter(path: link).begin(header())
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)
        XCTAssertTrue(try String(contentsOfFile: target, encoding: .utf8).hasPrefix(#"{"created""#))
    }
}
