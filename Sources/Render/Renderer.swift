import Foundation
import TrackLog
import VideoIO

public enum RenderError: Error, Sendable, CustomStringConvertible {
    case sizeMismatch(log: String, logSize: (Int, Int), video: String, videoSize: (Int, Int))

    public var description: String {
        switch self {
        case .sizeMismatch(let log, let a, let video, let b):
            "\(log) tracked a \(a.0)x\(a.1) video, but \(video) is \(b.0)x\(b.1): not the same video"
        }
    }
}

public struct RenderSummary: Sendable {
    public var frames = 0
    public var boxes = 0
    public var codec = ""
}

/// Draws a track log over its video: each track's box, id and recent trail in a
/// colour of its own, encoded to a new file. Frames the detector skipped (--stride)
/// keep the boxes of the last logged frame. The output covers the frames up to the
/// log's last one.
public struct Renderer {
    /// Seconds of trail behind each track.
    public var trailSeconds = 2.0

    public init() {}

    public func render(video: String, log: String, output: String) throws -> RenderSummary {
        let reader = try TrackLogReader(path: log)
        let frames = try FrameReader(video)
        let info = frames.info
        let logged = reader.header.video
        if logged.width > 0, (logged.width, logged.height) != (info.width, info.height) {
            throw RenderError.sizeMismatch(log: log, logSize: (logged.width, logged.height), video: video, videoSize: (info.width, info.height))
        }
        let writer = try VideoWriter(path: output, width: info.width, height: info.height, frameRate: info.frameRate?.value ?? 25)
        var summary = RenderSummary(codec: writer.codecName)
        let thickness = max(2, info.height / 360)
        let scale = max(2, info.height / 270)

        var pending = try nextFrame(reader)
        var shown: [LogTrack] = []
        var trails: [Int: [(time: Double, x: Double, y: Double)]] = [:]
        while pending != nil || !shown.isEmpty, let frame = try frames.nextFrame() {
            // Take every log frame up to this one (the log may skip frames).
            var advanced = false
            while let next = pending, next.frame <= frame.index {
                shown = next.tracks
                for t in next.tracks where t.box.count == 4 {
                    trails[t.id, default: []].append((next.time, t.box[0] + t.box[2] / 2, t.box[1] + t.box[3] / 2))
                }
                pending = try nextFrame(reader)
                advanced = true
            }
            if !advanced && pending == nil { break }  // past the log's last frame
            for id in Array(trails.keys) {
                trails[id]!.removeAll { frame.time - $0.time > trailSeconds }
                if trails[id]!.isEmpty { trails[id] = nil }
            }

            var canvas = Canvas(image: frame.image)
            for (id, points) in trails where points.count > 1 {
                for (a, b) in zip(points, points.dropFirst()) {
                    canvas.line(a.x, a.y, b.x, b.y, thickness: thickness, colour(for: id))
                }
            }
            for t in shown where t.box.count == 4 {
                let c = colour(for: t.id)
                let x0 = Int(t.box[0].rounded()), y0 = Int(t.box[1].rounded())
                let x1 = Int((t.box[0] + t.box[2]).rounded()), y1 = Int((t.box[1] + t.box[3]).rounded())
                canvas.outline(x0: x0, y0: y0, x1: x1, y1: y1, thickness: thickness, c)
                let label = String(t.id), pad = scale
                let w = Canvas.textWidth(label, scale: scale) + 2 * pad, h = 5 * scale + 2 * pad
                let ly = y0 - h >= 0 ? y0 - h : y0
                canvas.fill(x0: x0, y0: ly, x1: x0 + w, y1: ly + h, c)
                canvas.text(label, x: x0 + pad, y: ly + pad, scale: scale, (0, 0, 0))
                summary.boxes += 1
            }
            try writer.write(canvas.image, time: frame.time)
            summary.frames += 1
        }
        try writer.finish()
        return summary
    }

    private func nextFrame(_ reader: TrackLogReader) throws -> LogFrame? {
        while let record = try reader.next() {
            if case .frame(let f) = record { return f }
        }
        return nil
    }
}
