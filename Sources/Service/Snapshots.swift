import Analytics
import Foundation
import Pipeline
import Render
import TrackLog
import VideoIO

/// Each live stream's latest decoded picture with the tracks logged for it, kept by
/// reference (no copy, no conversion) as frames go by, and drawn and encoded only
/// when someone asks: `/api/v1/streams/{name}/snapshot.jpg`.
final class Snapshots: Sendable {
    private struct Latest {
        let picture: Picture
        let frame: LogFrame
        let analytics: AnalyticsOverlay?
    }

    private let latest = Locked<[String: Latest]>([:])

    func keep(_ picture: Picture, frame: LogFrame, analytics: AnalyticsOverlay?, stream: String) {
        latest.withLock { $0[stream] = Latest(picture: picture, frame: frame, analytics: analytics) }
    }

    /// The stream's latest picture with its tracks drawn, as a JPEG at most
    /// `maxWidth` pixels wide, and the logged frame it shows; nil before its first frame.
    func jpeg(stream: String, maxWidth: Int?) throws -> (bytes: [UInt8], frame: Int)? {
        guard let shown = latest.withLock({ $0[stream] }) else { return nil }
        let image = try shown.picture.rgb(maxWidth: maxWidth)
        let drawn = drawTracks(
            shown.frame.tracks, on: image, sourceWidth: shown.picture.width, sourceHeight: shown.picture.height,
            analytics: shown.analytics)
        return (try JPEG.encode(drawn), shown.frame.frame)
    }
}

/// Keeps each frame's picture for the stream's snapshot, with its analytics' lines,
/// zones and counts at that frame.
final class SnapshotSink: FrameSink, @unchecked Sendable {
    private let snapshots: Snapshots
    private let stream: String
    private let analytics: AnalyticsConfig?

    init(_ snapshots: Snapshots, stream: String, analytics: AnalyticsConfig?) {
        self.snapshots = snapshots
        self.stream = stream
        self.analytics = analytics
    }

    func take(_ frame: TrackedFrame) {
        guard let picture = frame.picture else { return }
        let overlay = analytics.map {
            AnalyticsOverlay(config: $0, totals: frame.totals ?? EventTotals(), occupancy: frame.occupancy ?? [:])
        }
        snapshots.keep(picture, frame: frame.frame, analytics: overlay, stream: stream)
    }

    func finish(_ end: RunEnd) {}
}
