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
/// track --mot-out` the frames it logs, so both write the same file.
public final class FrameExporter {
    public let format: ExportFormat
    private var refiner: Refiner?
    /// How long a track may be unseen before it can be written (`tracks`).
    private let patience: Double
    private var output: BufferedText
    private var live: [Int: TrackSummary] = [:]
    private var summary = ExportSummary()

    /// `refiner`: offline refinement of the frames on their way out; nil: the log's
    /// boxes as they are. `maxLostSeconds`: the tracker's, from the log's header.
    public init(format: ExportFormat, refiner: Refiner? = nil, maxLostSeconds: Double,
                write: @escaping (String) throws -> Void) throws {
        self.format = format
        self.refiner = refiner
        patience = maxLostSeconds
        output = BufferedText(write: write)
        if format == .csv { try output.add("frame,time,id,class,class_id,score,left,top,width,height,state\n") }
    }

    public func add(_ frame: LogFrame) throws {
        for ready in refiner?.add(frame) ?? [frame] { try emit(ready) }
    }

    /// Writes what is still held (refined frames, live tracks) and flushes.
    public func finish() throws -> ExportSummary {
        for ready in refiner?.finish() ?? [] { try emit(ready) }
        for id in live.keys.sorted() { try output.add(live[id]!.jsonLine + "\n") }
        summary.tracks += live.count
        live = [:]
        try output.flush()
        return summary
    }

    private func emit(_ frame: LogFrame) throws {
        summary.frames += 1
        summary.boxes += frame.tracks.count
        for t in frame.tracks {
            switch format {
            case .mot:
                try output.add(MOTText.resultLine(MOTRecord(t, in: frame)) + "\n")
            case .csv:
                try output.add("\(frame.frame),\(frame.time),\(t.id),\(csvField(t.class)),\(t.classId),\(t.score),"
                    + "\(t.box[0]),\(t.box[1]),\(t.box[2]),\(t.box[3]),\(csvField(t.state))\n")
            case .tracks:
                live[t.id, default: TrackSummary(t, frame)].add(t, frame)
            }
        }
        if format == .tracks {
            let gone = live.values.filter { frame.time - $0.lastTime > patience }.map(\.id).sorted()
            for id in gone { try output.add(live.removeValue(forKey: id)!.jsonLine + "\n") }
            summary.tracks += gone.count
        }
    }

    private func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension FrameExporter {
    /// Streams the rest of a track log through an exporter of `format`.
    public static func export(_ reader: TrackLogReader, format: ExportFormat, refiner: Refiner? = nil,
                              to write: @escaping (String) throws -> Void) throws -> ExportSummary {
        let exporter = try FrameExporter(format: format, refiner: refiner, maxLostSeconds: reader.header.tracker.maxLostSeconds,
                                         write: write)
        var unfinished = true
        while let record = try reader.next() {
            switch record {
            case .frame(let frame): try exporter.add(frame)
            case .end: unfinished = false
            case .header: break
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
    private let output: TextOutput
    private let exporter: FrameExporter

    public init(path: String, refiner: Refiner? = nil) throws {
        let output = try TextOutput(creating: path)
        // Only `tracks` waits on lost tracks; MOT rows are written frame by frame.
        exporter = try FrameExporter(format: .mot, refiner: refiner, maxLostSeconds: 0) { try output.write($0) }
        self.output = output
    }

    public func append(_ frame: LogFrame) throws {
        try exporter.add(frame)
    }

    public func finish() throws {
        _ = try exporter.finish()
        try output.close()
    }
}

extension MOTRecord {
    /// A logged track as a MOTChallenge results row (frames count from 1 there).
    init(_ t: LogTrack, in frame: LogFrame) {
        self.init(frame: frame.frame + 1, id: t.id, left: t.box[0], top: t.box[1], width: t.box[2], height: t.box[3],
                  confidence: t.score)
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

    init(_ t: LogTrack, _ frame: LogFrame) {
        id = t.id
        className = t.class
        classId = t.classId
        firstTime = frame.time
        firstFrame = frame.frame
        lastTime = frame.time
        lastFrame = frame.frame
    }

    mutating func add(_ t: LogTrack, _ frame: LogFrame) {
        lastTime = frame.time
        lastFrame = frame.frame
        frames += 1
        scoreSum += t.score
        path.append((frame.time, ((t.box[0] + t.box[2] / 2) * 100).rounded() / 100, ((t.box[1] + t.box[3] / 2) * 100).rounded() / 100))
    }

    var jsonLine: String {
        let points = path.map { "[\($0.0),\($0.1),\($0.2)]" }.joined(separator: ",")
        return "{\"id\":\(id),\"class\":\(jsonString(className)),\"classId\":\(classId),\"firstTime\":\(firstTime),"
            + "\"lastTime\":\(lastTime),\"firstFrame\":\(firstFrame),\"lastFrame\":\(lastFrame),\"frames\":\(frames),"
            + "\"meanScore\":\((scoreSum / Double(max(frames, 1)) * 1000).rounded() / 1000),\"path\":[\(points)]}"
    }
}

/// Collects text and hands it on in blocks of about 64 KiB.
private struct BufferedText {
    let write: (String) throws -> Void
    private var pending = ""

    init(write: @escaping (String) throws -> Void) { self.write = write }

    mutating func add(_ text: String) throws {
        pending += text
        if pending.utf8.count >= 1 << 16 { try flush() }
    }

    mutating func flush() throws {
        guard !pending.isEmpty else { return }
        try write(pending)
        pending = ""
    }
}
