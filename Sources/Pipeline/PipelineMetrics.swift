import Foundation
import Metrics

/// The pipeline's counts through swift-metrics, each with the dimension `source` (a
/// stream's name, `spool` for the service's jobs): a no-op unless the application has
/// bootstrapped a metrics backend (`serve` exposes them as Prometheus text). Made
/// when the service starts, so that every series is there, at 0, before any work.
/// Every decoded frame is tracked or dropped in the end: frames decoded ahead and
/// left unused when a run stops count as dropped.
public struct PipelineMetrics: Sendable {
    let decoded: Counter
    let dropped: Counter
    let queueDepth: Gauge
    let detectorLatency: Timer
    let tracked: Counter
    private let activeTracks: Gauge
    let logBytes: Counter
    /// Live tracks of each run counting into this source (jobs run side by side),
    /// whose sum is `activeTracks`.
    private let runs = Locked<[ObjectIdentifier: Int]>([:])

    public init(source: String) {
        let dimensions = [("source", source)]
        decoded = Counter(label: "trackd_frames_decoded_total", dimensions: dimensions)
        dropped = Counter(label: "trackd_frames_dropped_total", dimensions: dimensions)
        queueDepth = Gauge(label: "trackd_queue_depth", dimensions: dimensions)
        detectorLatency = Timer(label: "trackd_detector_latency_seconds", dimensions: dimensions)
        tracked = Counter(label: "trackd_frames_tracked_total", dimensions: dimensions)
        activeTracks = Gauge(label: "trackd_active_tracks", dimensions: dimensions)
        logBytes = Counter(label: "trackd_log_bytes_written_total", dimensions: dimensions)
        activeTracks.record(0)
        queueDepth.record(0)
    }

    /// `run` has `count` live tracks now; nil once it has ended.
    func activeTracks(_ count: Int?, of run: AnyObject) {
        let total = runs.withLock { runs in
            runs[ObjectIdentifier(run)] = count
            return runs.values.reduce(0, +)
        }
        activeTracks.record(total)
    }
}
