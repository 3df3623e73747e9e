import Analytics
import Foundation
import Pipeline
import TrackLog

/// The latest line counts and zone occupancy of every stream, as retained MQTT
/// messages: `PREFIX/STREAM/LINE/DIRECTION/CLASS` (crossings so far) and
/// `PREFIX/STREAM/ZONE/CLASS` (tracks in the zone now). Only the latest value of each
/// matters, so they do not go through the outbox: the MQTT service publishes what
/// changed, and everything again on each connection.
final class MQTTCounts: Sendable {
    struct Sensor: Sendable, Equatable {
        /// The topic under the prefix.
        var topic: String
        var stream: String
        /// The line or zone.
        var name: String
        /// `in` or `out` for a line; nil for a zone.
        var direction: String?
        var `class`: String
    }

    private struct Board {
        var values: [String: (sensor: Sensor, value: Int)] = [:]
        /// Topics whose value changed since the MQTT service last took them.
        var changed = Set<String>()
    }

    private let board = Locked(Board())

    func set(_ sensor: Sensor, _ value: Int) {
        board.withLock { board in
            guard board.values[sensor.topic]?.value != value else { return }
            board.values[sensor.topic] = (sensor, value)
            board.changed.insert(sensor.topic)
        }
    }

    /// What changed since the last call (every value when `all`), in topic order.
    func take(all: Bool) -> [(sensor: Sensor, value: Int)] {
        board.withLock { board in
            let topics = all ? Set(board.values.keys) : board.changed
            board.changed = []
            return topics.sorted().compactMap { board.values[$0] }
        }
    }
}

/// A stream's counts and occupancy into `MQTTCounts`, frame by frame; every line and
/// zone is there from the first frame, at 0, for each class it names.
final class MQTTCountsSink: FrameSink, @unchecked Sendable {
    private let counts: MQTTCounts
    private let stream: String
    private let config: AnalyticsConfig

    init(_ counts: MQTTCounts, stream: String, config: AnalyticsConfig) {
        self.counts = counts
        self.stream = stream
        self.config = config
    }

    private func topic(_ parts: String...) -> String {
        // A topic level may not hold the wildcards or a slash.
        ([stream] + parts).map { $0.map { "/#+".contains($0) ? "_" : $0 }.reduce("") { $0 + String($1) } }.joined(
            separator: "/")
    }

    func take(_ frame: TrackedFrame) {
        for line in config.lines {
            let totals = frame.totals?.lines[line.name] ?? EventTotals.Line()
            for (direction, byClass) in [("in", totals.in), ("out", totals.out)] {
                for name in Set(line.classes ?? []).union(byClass.keys).sorted() {
                    counts.set(
                        MQTTCounts.Sensor(
                            topic: topic(line.name, direction, name), stream: stream, name: line.name, direction: direction,
                            class: name), byClass[name] ?? 0)
                }
            }
        }
        for zone in config.zones {
            let inside = frame.occupancy?[zone.name] ?? [:]
            for name in Set(zone.classes ?? []).union(inside.keys).sorted() {
                counts.set(
                    MQTTCounts.Sensor(
                        topic: topic(zone.name, name), stream: stream, name: zone.name, direction: nil, class: name),
                    inside[name] ?? 0)
            }
        }
    }

    func finish(_ end: RunEnd) {}
}
