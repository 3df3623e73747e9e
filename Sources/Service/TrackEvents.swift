import Foundation
import Pipeline
import TrackLog

/// Track starts and ends, as JSON lines, handed to every client of
/// `/api/v1/events`. A client that reads too slowly loses the oldest events, never
/// holds up tracking.
final class TrackEvents: Sendable {
    /// The clients, and whether the service has stopped (under one lock, so that no
    /// client can join after the others were ended).
    private let state = Locked<(clients: [UUID: AsyncStream<String>.Continuation], closed: Bool)>(([:], false))

    /// A new client's events, until `finish` or until it stops listening.
    func subscribe() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let id = UUID()
        continuation.onTermination = { [state] _ in state.withLock { $0.clients[id] = nil } }
        let joined = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.clients[id] = continuation
            return true
        }
        if !joined { continuation.finish() }
        return stream
    }

    /// Whether anyone listens: events are made only then.
    var hasClients: Bool { !state.value.clients.isEmpty }

    func publish(_ event: String) {
        for client in state.value.clients.values { client.yield(event) }
    }

    /// Ends every client's stream: the service is stopping.
    func finish() {
        let clients = state.withLock { state in
            defer { (state.clients, state.closed) = ([:], true) }
            return state.clients.values
        }
        for client in clients { client.finish() }
    }
}

/// Turns one source's logged frames into track events: a start when an id is first
/// logged, an end once it has been unseen longer than the tracker keeps lost tracks
/// (ids are never reused), and an end for every track still open when the source ends.
final class TrackLifecycle: @unchecked Sendable {
    private struct Open {
        var lastTime: Double
        var last: LogTrack
    }

    /// `stream:<name>` or `job:<name>`.
    private let source: String
    private let patience: Double
    private let events: TrackEvents
    private var open: [Int: Open] = [:]

    init(source: String, maxLostSeconds: Double, events: TrackEvents) {
        self.source = source
        patience = maxLostSeconds
        self.events = events
    }

    func frame(_ frame: LogFrame) {
        for t in frame.tracks {
            if open[t.id] == nil { publish("start", t, time: frame.time) }
            open[t.id] = Open(lastTime: frame.time, last: t)
        }
        // Only the tracks gone this frame are put in order.
        let gone = open.filter { frame.time - $0.value.lastTime > patience }.sorted { $0.key < $1.key }
        for (id, track) in gone {
            publish("end", track.last, time: track.lastTime)
            open[id] = nil
        }
    }

    /// The source ended: every open track ends at its last sighting.
    func finish() {
        for (_, track) in open.sorted(by: { $0.key < $1.key }) { publish("end", track.last, time: track.lastTime) }
        open = [:]
    }

    private func publish(_ kind: String, _ t: LogTrack, time: Double) {
        guard events.hasClients else { return }
        let event = Event(event: kind, id: t.id, class: t.class, source: source, time: time, box: t.box)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(event) else { return }
        events.publish(String(decoding: data, as: UTF8.self))
    }

    private struct Event: Encodable {
        var event: String
        var id: Int
        var `class`: String
        var source: String
        var time: Double
        var box: [Double]
    }
}
