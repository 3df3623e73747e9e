import Analytics
import Metrics
import Pipeline
import TrackLog

/// A source's analytics as Prometheus series: `trackd_line_crossings_total` (a
/// counter per line, direction and class), `trackd_zone_objects` (a gauge: tracks in
/// the zone now, per class) and `trackd_zone_dwell_seconds` (a histogram of finished
/// visits). Made per source (a stream's name, `spool` for jobs), so that a stream's
/// counts go on across reconnections and log rotations.
final class AnalyticsMetricsSink: FrameSink, @unchecked Sendable {
    private let source: String
    private var crossings: [String: Counter] = [:]
    private var zoneGauges: [String: Gauge] = [:]
    private var dwell: [String: Recorder] = [:]
    /// What the gauges said last, so that a frame only touches those that changed.
    private var shown: [String: [String: Int]] = [:]

    init(source: String) { self.source = source }

    func take(_ frame: TrackedFrame) {
        count(frame.events)
        guard let now = frame.occupancy, now != shown else { return }
        for (zone, classes) in now {
            let names = Set(classes.keys).union(shown[zone].map { Array($0.keys) } ?? [])
            for name in names.sorted() where classes[name] != shown[zone]?[name] {
                let key = zone + "\u{0}" + name
                let gauge =
                    zoneGauges[key]
                    ?? Gauge(label: "trackd_zone_objects", dimensions: [("source", source), ("zone", zone), ("class", name)])
                zoneGauges[key] = gauge
                gauge.record(classes[name] ?? 0)
            }
        }
        shown = now
    }

    func finish(_ end: RunEnd) {
        count(end.events)
        for gauge in zoneGauges.values { gauge.record(0) }
        shown = [:]
    }

    private func count(_ events: [LogEvent]) {
        for e in events {
            switch e.kind {
            case .line:
                let direction = e.direction?.rawValue ?? ""
                let key = [e.name, direction, e.class].joined(separator: "\u{0}")
                let counter =
                    crossings[key]
                    ?? Counter(
                        label: "trackd_line_crossings_total",
                        dimensions: [("source", source), ("line", e.name), ("direction", direction), ("class", e.class)])
                crossings[key] = counter
                counter.increment()
            case .exit:
                let key = e.name + "\u{0}" + e.class
                let recorder =
                    dwell[key]
                    ?? Recorder(
                        label: "trackd_zone_dwell_seconds",
                        dimensions: [("source", source), ("zone", e.name), ("class", e.class)],
                        aggregate: true)
                dwell[key] = recorder
                recorder.record(e.seconds ?? 0)
            case .enter, .loiter, .speed: break
            }
        }
    }
}
