import Metrics

/// The pipeline's counts through swift-metrics, each with the dimension `source` (a
/// stream's name, `spool` for the service's jobs): a no-op unless the application has
/// bootstrapped a metrics backend (`serve` exposes them as Prometheus text).
public struct PipelineMetrics: Sendable {
    let decoded: Counter
    let dropped: Counter
    let queueDepth: Gauge
    let detectorLatency: Timer
    let tracked: Counter
    let activeTracks: Gauge
    let logBytes: Counter

    public init(source: String) {
        let dimensions = [("source", source)]
        decoded = Counter(label: "trackd_frames_decoded_total", dimensions: dimensions)
        dropped = Counter(label: "trackd_frames_dropped_total", dimensions: dimensions)
        queueDepth = Gauge(label: "trackd_queue_depth", dimensions: dimensions)
        detectorLatency = Timer(label: "trackd_detector_latency_seconds", dimensions: dimensions)
        tracked = Counter(label: "trackd_frames_tracked_total", dimensions: dimensions)
        activeTracks = Gauge(label: "trackd_active_tracks", dimensions: dimensions)
        logBytes = Counter(label: "trackd_log_bytes_written_total", dimensions: dimensions)
    }
}
