import Foundation
import MOTFiles

/// What `export` turns a track log into.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// MOTChallenge results: `frame,id,left,top,width,height,score,-1,-1,-1`, frames from 1.
    case mot
    /// CSV with a header row, one row per box.
    case csv
    /// JSON lines, one object per track: id, class, first and last time and frame,
    /// frame count, mean score, path of box centres `[time, x, y]`.
    case tracks
}

public struct ExportSummary: Sendable {
    public var frames = 0
    public var boxes = 0
    public var tracks = 0
    /// The log's last line was cut off (a crash); the complete lines were exported.
    public var truncated = false
    /// The log has no end line (the run was killed).
    public var unfinished = true
}

/// A track log's frames turned into another format as they come, in constant memory:
/// rows are written as frames arrive, and for `tracks` a track is written as soon as
/// it has been gone longer than the tracker keeps lost tracks (ids are never reused),
/// so only live tracks are held. `trackd export` feeds it a log's frames and `trackd
/// track --mot-out` the frames it logs, so both write the same file. Rows are
/// formatted at the byte level: exports of millions of boxes run at disk speed.
public final class FrameExporter {
    /// Where the formatted bytes go, in blocks of about 64 KiB.
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    public let format: ExportFormat
    private var refiner: Refiner?
    /// How long a track may be unseen before it can be written (`tracks`).
    private let patience: Double
    private let sink: Sink
    private var pending: [UInt8] = []
    private var live: [Int: TrackSummary] = [:]
    private var summary = ExportSummary()

    /// `refiner`: offline refinement of the frames on their way out; nil: the log's
    /// boxes as they are. `maxLostSeconds`: the tracker's, from the log's header.
    public init(format: ExportFormat, refiner: Refiner? = nil, maxLostSeconds: Double, to sink: @escaping Sink) throws {
        self.format = format
        self.refiner = refiner
        patience = maxLostSeconds
        self.sink = sink
        pending.reserveCapacity(1 << 17)
        if format == .csv { pending.append(contentsOf: "frame,time,id,class,class_id,score,left,top,width,height,state\n".utf8) }
    }

    public func add(_ frame: LogFrame) throws {
        guard var refiner else { return try emit(FrameFields(frame)) }
        let ready = refiner.add(frame)
        self.refiner = refiner
        for frame in ready { try emit(FrameFields(frame)) }
    }

    /// Adds a frame read in place (`TrackLogReader.read(into:)`): without a refiner,
    /// straight from the fields, with no per-frame allocation.
    public func add(_ fields: FrameFields) throws {
        if refiner != nil { return try add(LogFrame(fields)) }
        try emit(fields)
    }

    /// Writes what is still held (refined frames, live tracks) and flushes.
    public func finish() throws -> ExportSummary {
        if var refiner {
            let ready = refiner.finish()
            self.refiner = nil
            for frame in ready { try emit(FrameFields(frame)) }
        }
        for id in live.keys.sorted() { live[id]!.appendJSONLine(to: &pending) }
        summary.tracks += live.count
        live = [:]
        try flush()
        return summary
    }

    private func emit(_ frame: FrameFields) throws {
        summary.frames += 1
        summary.boxes += frame.tracks.count
        // Formatted into a local: a class's stored property is checked for exclusive
        // access at every append.
        var out = pending
        pending = []
        for t in frame.tracks {
            switch format {
            case .mot:
                MOTText.appendResultLine(
                    MOTRecord(
                        frame: frame.frame + 1, id: t.id, left: t.left, top: t.top, width: t.width,
                        height: t.height, confidence: t.score), to: &out)
                out.append(UInt8(ascii: "\n"))
            case .csv:
                Self.appendCSVRow(frame, t, to: &out)
            case .tracks:
                live[t.id, default: TrackSummary(t, frame)].add(t, frame)
            }
        }
        if format == .tracks {
            let gone = live.values.filter { frame.time - $0.lastTime > patience }.map(\.id).sorted()
            for id in gone { live.removeValue(forKey: id)!.appendJSONLine(to: &out) }
            summary.tracks += gone.count
        }
        pending = out
        if pending.count >= 1 << 16 { try flush() }
    }

    private static func appendCSVRow(_ frame: FrameFields, _ t: TrackFields, to out: inout [UInt8]) {
        out.appendDecimal(frame.frame)
        appendCSVNumber(frame.time, to: &out)
        out.append(UInt8(ascii: ","))
        out.appendDecimal(t.id)
        out.append(UInt8(ascii: ","))
        appendCSVField(t.className, to: &out)
        out.append(UInt8(ascii: ","))
        out.appendDecimal(t.classId)
        appendCSVNumber(t.score, to: &out)
        appendCSVNumber(t.left, to: &out)
        appendCSVNumber(t.top, to: &out)
        appendCSVNumber(t.width, to: &out)
        appendCSVNumber(t.height, to: &out)
        out.append(UInt8(ascii: ","))
        appendCSVField(t.state, to: &out)
        out.append(UInt8(ascii: "\n"))
    }

    /// A comma and a number as Swift prints it: the shortest text that reads back as
    /// the same Double, as the log has it.
    private static func appendCSVNumber(_ value: Double, to out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        out.appendShortest(value)
    }

    /// A CSV field, quoted when it holds a comma, a quote or a newline.
    private static func appendCSVField(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            guard bytes.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") })
            else {
                return out.append(contentsOf: bytes)
            }
            out.append(UInt8(ascii: "\""))
            for b in bytes {
                if b == UInt8(ascii: "\"") { out.append(b) }
                out.append(b)
            }
            out.append(UInt8(ascii: "\""))
        }
    }

    private func flush() throws {
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBytes { try sink($0) }
        pending.removeAll(keepingCapacity: true)
    }
}

extension FrameExporter {
    /// Streams the rest of a track log through an exporter of `format`.
    public static func export(
        _ reader: TrackLogReader, format: ExportFormat, refiner: Refiner? = nil,
        to sink: @escaping Sink
    ) throws -> ExportSummary {
        let exporter = try FrameExporter(
            format: format, refiner: refiner, maxLostSeconds: reader.header.tracker.maxLostSeconds,
            to: sink)
        var unfinished = true
        var fields = FrameFields()
        while let line = try reader.read(into: &fields) {
            switch line {
            case .frame: try exporter.add(fields)
            case .end: unfinished = false
            case .header, .event: break
            }
        }
        var summary = try exporter.finish()
        summary.unfinished = unfinished
        summary.truncated = reader.truncatedTail
        return summary
    }
}

/// MOTChallenge results of a run, written as it goes by the exporter `trackd export
/// --format mot` uses: `frame,id,left,top,width,height,score,-1,-1,-1`, frames from 1,
/// the log's boxes; refined (gaps filled, boxes smoothed) when given a `Refiner`.
public final class MOTResultWriter {
    private let file: OutputFile
    private let output: TextOutput
    private let exporter: FrameExporter

    /// The results are put in place by `finish` (see `OutputFile`).
    public init(path: String, refiner: Refiner? = nil) throws {
        file = OutputFile(path)
        let output = try TextOutput(file)
        // Only `tracks` waits on lost tracks; MOT rows are written frame by frame.
        exporter = try FrameExporter(format: .mot, refiner: refiner, maxLostSeconds: 0) { try output.write($0) }
        self.output = output
    }

    /// Takes back results that will not be finished: whatever the path held stays.
    public func discard() {
        file.discard()
    }

    // Results never finished (a failed run) leave nothing behind; once put in place
    // there is nothing left to take back.
    deinit { file.discard() }

    public func append(_ frame: LogFrame) throws {
        try exporter.add(frame)
    }

    public func finish() throws {
        do {
            _ = try exporter.finish()
            try output.close()
            try file.commit()
        } catch {
            file.discard()
            throw error
        }
    }
}

/// One track, gathered from the frames it appears in.
private struct TrackSummary {
    let id: Int
    let className: String
    let classId: Int
    let firstTime: Double
    let firstFrame: Int
    var lastTime: Double
    var lastFrame: Int
    var frames = 0
    var scoreSum = 0.0
    var path: [(Double, Double, Double)] = []

    init(_ t: TrackFields, _ frame: FrameFields) {
        id = t.id
        className = t.className
        classId = t.classId
        firstTime = frame.time
        firstFrame = frame.frame
        lastTime = frame.time
        lastFrame = frame.frame
    }

    mutating func add(_ t: TrackFields, _ frame: FrameFields) {
        lastTime = frame.time
        lastFrame = frame.frame
        frames += 1
        scoreSum += t.score
        path.append((frame.time, ((t.left + t.width / 2) * 100).rounded() / 100, ((t.top + t.height / 2) * 100).rounded() / 100))
    }

    func appendJSONLine(to bytes: inout [UInt8]) {
        let points = path.map { "[\($0.0),\($0.1),\($0.2)]" }.joined(separator: ",")
        bytes.append(
            contentsOf: ("{\"id\":\(id),\"class\":\(jsonString(className)),\"classId\":\(classId),\"firstTime\":\(firstTime),"
                + "\"lastTime\":\(lastTime),\"firstFrame\":\(firstFrame),\"lastFrame\":\(lastFrame),\"frames\":\(frames),"
                + "\"meanScore\":\((scoreSum / Double(max(frames, 1)) * 1000).rounded() / 1000),\"path\":[\(points)]}\n").utf8)
    }
}
