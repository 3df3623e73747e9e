import Foundation
import Logging
import Metrics
import Pipeline
import ServiceFiles
import ServiceLifecycle
import VideoIO

/// Delivers the events of the outbox to an MQTT broker, on its own thread, in order,
/// at least once: an event leaves the outbox only when the broker has acknowledged it
/// (QoS 1; handed to the socket, for QoS 0). While the broker is down or refuses us,
/// events wait on disk and libmosquitto reconnects with back-off; a lost connection
/// sends again from the first event not acknowledged. Publishes
/// `PREFIX/available` = `online` (retained) on connecting, and `offline` when it
/// stops (the broker says it for us, as our last will, if the daemon dies); the
/// streams' counts as retained messages (`MQTTCounts`), with Home Assistant's
/// discovery messages for them when asked; and the status every `statsSeconds`.
final class MQTTService: Service, Sendable {
    static let receiver = "mqtt"

    private let config: ServiceConfig.MQTTConfig
    private let outbox: Outbox
    private let counts: MQTTCounts
    private let state: ServiceState
    private let logger: Logger

    init(config: ServiceConfig.MQTTConfig, outbox: Outbox, counts: MQTTCounts, state: ServiceState, logger: Logger) {
        self.config = config
        self.outbox = outbox
        self.counts = counts
        self.state = state
        self.logger = logger
    }

    func run() async throws {
        let stop = StopSignal()
        await withTaskCancellationOrGracefulShutdownHandler {
            await onOwnThread(named: "trackd mqtt") { [self] in deliver(until: stop) }
        } onCancelOrGracefulShutdown: {
            stop.request(SIGTERM)
        }
    }

    /// Messages published and not yet acknowledged, in the order sent.
    private final class InFlight: @unchecked Sendable {
        private let lock = NSLock()
        private var sent: [(mid: Int32, end: Outbox.Position, done: Bool)] = []

        var count: Int { lock.withLock { sent.count } }

        /// Sends under the lock, so that an acknowledgement (on libmosquitto's thread)
        /// always finds its message.
        func send(_ publish: () throws -> Int32, end: Outbox.Position) throws {
            try lock.withLock { sent.append((try publish(), end, false)) }
        }

        /// The message `mid` was acknowledged: where the acknowledged run from the
        /// first message sent now ends, and how many messages it adds.
        func acknowledge(_ mid: Int32) -> (end: Outbox.Position, count: Int)? {
            lock.withLock {
                guard let k = sent.firstIndex(where: { $0.mid == mid }) else { return nil }
                sent[k].done = true
                let run = sent.prefix { $0.done }
                guard let last = run.last else { return nil }
                sent.removeFirst(run.count)
                return (last.end, run.count)
            }
        }

        func clear() { lock.withLock { sent.removeAll() } }
    }

    private func deliver(until stop: StopSignal) {
        let name = Self.receiver
        let available = config.topicPrefix + "/available"
        let events = config.topicPrefix + "/events"
        let meter = ReceiverMeter(receiver: name, outbox: outbox, state: state)
        let client: MosquittoClient
        do {
            client = try MosquittoClient(config, willTopic: available)
        } catch {
            logger.error("mqtt: \(error); events wait in \(outbox.directory)")
            state.receiverFailed(name, "\(error)")
            state.update(receiver: name) { $0.state = .stopped }
            while stop.requested == nil { stop.sleep(1) }
            return
        }
        let connected = Locked(false)
        // The broker's last refusal: reported once, not at every retry, and not
        // replaced by the disconnection that follows it.
        let refusal = Locked<String?>(nil)
        let acknowledgedCount = Locked(0)
        let inFlight = InFlight()
        let broker = "\(config.host):\(config.port)"
        let failed: @Sendable (String) -> Void = { [state, logger] failure in
            let new = refusal.withLock { last in
                defer { last = failure }
                return last != failure
            }
            if new {
                logger.error("mqtt: \(failure); retrying")
                state.receiverFailed(name, failure)
            }
            state.update(receiver: name) { $0.state = .retrying }
        }
        client.onConnect = { [state, logger, config] code, reason in
            guard code == 0 else { return failed("\(broker) refused the connection: \(reason)") }
            refusal.value = nil
            _ = try? client.publish(available, Data("online".utf8), qos: 1, retain: true)
            connected.value = true
            logger.info("mqtt: connected to \(broker) as \(config.clientId)")
            state.update(receiver: name) {
                $0.state = .connected
                $0.lastError = nil
            }
        }
        client.onError = { message in
            guard !connected.value else { return }
            failed("cannot connect to \(broker): \(message)")
        }
        client.onDisconnect = { [outbox, state, logger] code, reason in
            connected.value = false
            inFlight.clear()
            outbox.rewind()
            guard code != 0, refusal.value == nil else { return }
            logger.warning("mqtt: lost \(broker): \(reason); reconnecting")
            state.receiverFailed(name, "lost \(broker): \(reason)")
            state.update(receiver: name) { $0.state = .retrying }
        }
        client.onPublish = { [outbox] mid in
            guard let acknowledged = inFlight.acknowledge(mid) else { return }
            outbox.acknowledge(upTo: acknowledged.end, count: acknowledged.count)
            acknowledgedCount.withLock { $0 += acknowledged.count }
        }
        do {
            try client.start()
        } catch {
            logger.error("mqtt: \(error)")
            state.receiverFailed(name, "\(error)")
        }

        // The delivery loop: up to `window` messages in flight at once.
        let window = 256
        var wasConnected = false
        var stats = 0.0
        var announced = Set<String>()
        while stop.requested == nil {
            var sent = 0
            let isConnected = connected.value
            if isConnected {
                // Counts that changed (all of them on a new connection), announced to
                // Home Assistant the first time; the status now and then.
                for (sensor, value) in counts.take(all: !wasConnected) {
                    if config.homeAssistant, !announced.contains(sensor.topic) || !wasConnected {
                        _ = try? client.publish(
                            discoveryTopic(sensor), discovery(sensor), qos: 1, retain: true)
                        announced.insert(sensor.topic)
                    }
                    _ = try? client.publish(
                        config.topicPrefix + "/" + sensor.topic, Data(String(value).utf8), qos: 1, retain: true)
                }
                if monotonicSeconds() - stats >= config.statsSeconds {
                    stats = monotonicSeconds()
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    if let status = try? encoder.encode(state.snapshot) {
                        _ = try? client.publish(config.topicPrefix + "/stats", status, qos: 0, retain: false)
                    }
                }
            }
            wasConnected = isConnected
            if connected.value, inFlight.count < window {
                let entries = outbox.next(limit: window - inFlight.count)
                for entry in entries {
                    do {
                        try inFlight.send(
                            { try client.publish(events, entry.line, qos: config.qos, retain: false) }, end: entry.end)
                        sent += 1
                    } catch {
                        // Not connected after all: the disconnection sends these again.
                        outbox.rewind()
                        break
                    }
                }
                if entries.isEmpty { outbox.sync() }
            }
            meter.report(delivered: acknowledgedCount.value)
            if sent == 0 { stop.sleep(0.01) }
        }
        // Stopping: what is in flight has a moment to be acknowledged, then `offline`.
        let deadline = monotonicSeconds() + 2
        while inFlight.count > 0, connected.value, monotonicSeconds() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if connected.value {
            _ = try? client.publish(available, Data("offline".utf8), qos: 1, retain: true)
            Thread.sleep(forTimeInterval: 0.2)
        }
        client.stop()
        outbox.saveCursor()
        meter.report(delivered: acknowledgedCount.value, now: true)
        state.update(receiver: name) { $0.state = .stopped }
    }

    /// Home Assistant's discovery topic for a count: `homeassistant/sensor/NODE/OBJECT/config`.
    private func discoveryTopic(_ sensor: MQTTCounts.Sensor) -> String {
        "homeassistant/sensor/\(Self.identifier(config.clientId))/\(Self.identifier(sensor.topic))/config"
    }

    /// A count as a Home Assistant sensor of the device `clientId`, available while
    /// trackd is (`PREFIX/available`).
    private func discovery(_ sensor: MQTTCounts.Sensor) -> Data {
        let what = [sensor.stream, sensor.name, sensor.direction, sensor.class].compactMap { $0 }.joined(separator: " ")
        let payload: [String: Any] = [
            "name": what,
            "unique_id": Self.identifier(config.clientId + "_" + sensor.topic),
            "state_topic": config.topicPrefix + "/" + sensor.topic,
            "availability_topic": config.topicPrefix + "/available",
            "payload_available": "online",
            "payload_not_available": "offline",
            "state_class": sensor.direction == nil ? "measurement" : "total_increasing",
            "icon": sensor.direction == nil ? "mdi:account-group" : "mdi:counter",
            "device": ["identifiers": [config.clientId], "name": "trackd " + config.clientId, "manufacturer": "trackd"]
        ]
        return (try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }

    /// Letters, digits, `_` and `-` only, as Home Assistant's ids take them.
    static func identifier(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
    }
}
