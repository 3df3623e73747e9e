import Analytics
import Foundation
import Geometry
import TrackLog
import VideoIO

public enum RenderError: Error, Sendable, CustomStringConvertible {
    case sizeMismatch(log: String, logSize: (Int, Int), video: String, videoSize: (Int, Int))
    case otherFile(log: String, logged: String, loggedBytes: Int64, video: String, videoBytes: Int64)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .sizeMismatch(let log, let a, let video, let b):
            "\(log) tracked a \(a.0)x\(a.1) video, but \(video) is \(b.0)x\(b.1): not the same video (--force draws it anyway)"
        case .otherFile(let log, let logged, let loggedBytes, let video, let videoBytes):
            "\(log) tracked \(logged) (\(loggedBytes) bytes), but \(video) has \(videoBytes) bytes: not the same video "
                + "(--force draws it anyway)"
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}

public struct RenderSummary: Sendable {
    public var frames = 0
    public var boxes = 0
    public var codec = ""
    /// The log's last frame (index, time) when the video went on past it: the
    /// output stops there.
    public var logEndedAt: (frame: Int, time: Double)?
    /// Frames of the log after the video's last frame (the video is shorter).
    public var framesPastTheVideo = 0
}

/// Draws a track log over its video: each track's box, id and recent trail in a
/// colour of its own, encoded to a new file. Frames the detector skipped (--stride)
/// keep the boxes of the last logged frame. The output covers the frames up to the
/// log's last one.
public struct Renderer {
    /// Seconds of trail behind each track.
    public var trailSeconds = 2.0
    /// Draws a log whose header names another video (another picture size, or a
    /// file of another size) instead of refusing it.
    public var force = false
    /// Lines and zones to draw, with the counts so far of the log's tracks (the
    /// analytics run again over the log as it is drawn).
    public var analytics: AnalyticsConfig?

    public init() {}

    /// Renders into a hidden file beside `output`, renamed into place at the end, so
    /// that a failure never leaves a partial, unplayable video under its name.
    public func render(video: String, log: String, output: String) throws -> RenderSummary {
        let reader = try TrackLogReader(path: log)
        let frames = try FrameReader(video)
        try checkTheLogIsOf(video, frames.info, reader.header, log: log)
        let destination = OutputFile(output)
        // The extension of the name given chooses the container; a name without one
        // (`-`, /dev/null) gets Matroska, which a pipe can take: it never seeks back.
        let container: VideoWriter.Container =
            URL(fileURLWithPath: output).pathExtension.isEmpty ? .named("matroska") : .forFileName(output)
        do {
            let summary = try render(
                frames, reader, into: destination.workingPath ?? VideoWriter.standardOutput, container: container)
            do {
                try destination.commit()
            } catch let error as TextOutput.WriteError {
                throw RenderError.cannotWrite(path: output, reason: error.reason)
            }
            return summary
        } catch {
            destination.discard()
            throw error
        }
    }

    private func checkTheLogIsOf(_ video: String, _ info: MediaInfo, _ header: LogHeader, log: String) throws {
        guard !force else { return }
        let logged = header.video
        if logged.width > 0, (logged.width, logged.height) != (info.width, info.height) {
            throw RenderError.sizeMismatch(
                log: log, logSize: (logged.width, logged.height), video: video, videoSize: (info.width, info.height))
        }
        if let loggedBytes = header.source.bytes,
            let bytes = (try? FileManager.default.attributesOfItem(atPath: video)[.size] as? NSNumber)?.int64Value,
            bytes != loggedBytes
        {
            throw RenderError.otherFile(
                log: log, logged: header.source.path, loggedBytes: loggedBytes, video: video, videoBytes: bytes)
        }
    }

    private func render(
        _ frames: FrameReader, _ reader: TrackLogReader, into path: String, container: VideoWriter.Container
    ) throws -> RenderSummary {
        let info = frames.info
        let writer = try VideoWriter(
            path: path, width: info.width, height: info.height, frameRate: info.frameRate?.value ?? 25, container: container)
        var summary = RenderSummary(codec: writer.codecName)
        let picture = Box(x1: 0, y1: 0, x2: Double(info.width), y2: Double(info.height))
        let (thickness, scale) = Canvas.strokes(height: info.height)
        let header = reader.header
        var counting = try analytics.map {
            Analytics(
                config: try $0.resolved(width: info.width, height: info.height, classes: header.detector.classes),
                maxLostSeconds: header.tracker.maxLostSeconds)
        }

        var pending = try nextFrame(reader)
        var last: LogFrame?
        var shown: [LogTrack] = []
        var trails: [Int: [(time: Double, x: Double, y: Double)]] = [:]
        while pending != nil || !shown.isEmpty, let frame = try frames.nextFrame() {
            // Take every log frame up to this one (the log may skip frames).
            var advanced = false
            while let next = pending, next.frame <= frame.index {
                shown = next.tracks
                _ = counting?.update(next)
                for t in next.tracks {
                    let b = picture.clip(t.rect)
                    trails[t.id, default: []].append((next.time, b.centerX, b.centerY))
                }
                last = next
                pending = try nextFrame(reader)
                advanced = true
            }
            if !advanced && pending == nil {  // past the log's last frame
                summary.logEndedAt = last.map { ($0.frame, $0.time) }
                break
            }
            for id in Array(trails.keys) {
                trails[id]!.removeAll { frame.time - $0.time > trailSeconds }
                if trails[id]!.isEmpty { trails[id] = nil }
            }

            var canvas = Canvas(image: frame.image)
            if let counting {
                let overlay = AnalyticsOverlay(config: counting.config, totals: counting.totals, occupancy: counting.occupancy)
                canvas.draw(overlay, sx: 1, sy: 1, thickness: thickness, scale: scale)
            }
            for (id, points) in trails where points.count > 1 {
                for (a, b) in zip(points, points.dropFirst()) {
                    canvas.line(a.x, a.y, b.x, b.y, thickness: thickness, colour(for: id))
                }
            }
            for t in shown {
                // Drawn inside the picture: a box past the edge still shows its border there.
                canvas.label(picture.clip(t.rect), id: t.id, thickness: thickness, scale: scale)
                summary.boxes += 1
            }
            try writer.write(canvas.image, time: frame.time)
            summary.frames += 1
        }
        while pending != nil {
            summary.framesPastTheVideo += 1
            pending = try nextFrame(reader)
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
