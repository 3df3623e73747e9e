import Foundation
import Pipeline
import ServiceFiles
import TrackLog

/// Track starts and ends and analytics events, as JSON lines, handed to every client
/// of `/api/v1/events` and appended to the outbox of every receiver (MQTT, webhooks)
/// that wants their kind. A client that reads too slowly loses the oldest events,
/// never holds up tracking; a receiver's outbox keeps them on disk until it
/// acknowledges them.
final class TrackEvents: Sendable {
    /// A receiver's outbox, and the kinds of event it takes (nil: all).
    struct Destination: Sendable {
        var outbox: Outbox
        var kinds: Set<String>?
    }

    private let destinations: [Destination]

    init(destinations: [Destination] = []) { self.destinations = destinations }

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
    var wanted: Bool { !destinations.isEmpty || !state.value.clients.isEmpty }

    /// `event`: its JSON; `kind`: its `"event"`.
    func publish(_ event: String, kind: String) {
        for client in state.value.clients.values { client.yield(event) }
        for d in destinations where d.kinds?.contains(kind) ?? true { d.outbox.append(Data(event.utf8)) }
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

/// Turns one source's tracked frames into events for `/api/v1/events`: a track's
/// start when its id is first logged, its end once it has been unseen longer than the
/// tracker keeps lost tracks (ids are never reused) or when the source ends, and the
/// analytics events (`line`, `enter`, `exit`, `loiter`, `speed`) as they are decided.
final class EventsSink: FrameSink, @unchecked Sendable {
    private struct Open {
        var lastTime: Double
        var last: LogTrack
    }

    /// `stream:<name>` or `job:<name>`.
    private let source: String
    private let patience: Double
    private let events: TrackEvents
    private var open: [Int: Open] = [:]
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    init(source: String, maxLostSeconds: Double, events: TrackEvents) {
        self.source = source
        patience = maxLostSeconds
        self.events = events
    }

    func take(_ frame: TrackedFrame) {
        for t in frame.frame.tracks {
            if open[t.id] == nil { publish(Event(kind: "start", t, time: frame.frame.time, source: source)) }
            open[t.id] = Open(lastTime: frame.frame.time, last: t)
        }
        // Only the tracks gone this frame are put in order.
        let gone = open.filter { frame.frame.time - $0.value.lastTime > patience }.sorted { $0.key < $1.key }
        for (id, track) in gone {
            publish(Event(kind: "end", track.last, time: track.lastTime, source: source))
            open[id] = nil
        }
        for e in frame.events { publish(Event(e, source: source)) }
    }

    /// The source ended: the last analytics events, then every open track ends at its
    /// last sighting.
    func finish(_ end: RunEnd) {
        for e in end.events { publish(Event(e, source: source)) }
        for (_, track) in open.sorted(by: { $0.key < $1.key }) {
            publish(Event(kind: "end", track.last, time: track.lastTime, source: source))
        }
        open = [:]
    }

    private func publish(_ event: Event) {
        guard events.wanted, let data = try? encoder.encode(event) else { return }
        events.publish(String(decoding: data, as: UTF8.self), kind: event.event)
    }

    /// One event as clients get it: what happened (`event`), to which track, where;
    /// `eventId` is unique, for receivers that may get an event twice.
    private struct Event: Encodable {
        var eventId = UUID().uuidString.lowercased()
        var event: String
        var id: Int
        var `class`: String
        var source: String
        var time: Double
        var box: [Double]
        var frame: Int?
        var name: String?
        var direction: String?
        var seconds: Double?
        var kmh: Double?

        init(kind: String, _ t: LogTrack, time: Double, source: String) {
            (event, id, self.class, self.source, self.time, box) = (kind, t.id, t.class, source, time, t.box)
        }

        init(_ e: LogEvent, source: String) {
            (event, id, self.class, self.source, time, box) = (e.kind.rawValue, e.id, e.class, source, e.time, e.box)
            (frame, name, direction, seconds, kmh) = (e.frame, e.name, e.direction?.rawValue, e.seconds, e.kmh)
        }
    }
}
