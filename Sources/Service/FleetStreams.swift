import Fleet
import Foundation
import Logging
import Pipeline
import ServiceFiles

/// The daemon's stream services as a fleet node's stream workload: a stream leased to
/// this node runs as a `StreamService` of its own task, for as long as its lease
/// holds; a lost lease stops it after its current frame, its log ended.
struct FleetStreams: FleetStreamWorkload {
    let slots: Int
    /// Makes the service for a stream's configuration, tracking while `leased` holds.
    let service: @Sendable (ServiceConfig.StreamConfig, _ leased: @escaping @Sendable () -> Bool) -> StreamService
    let state: ServiceState
    let logger: Logger
    /// The streams tracked, and those stopping (a stream leased again waits for its
    /// last run here to end: one log at a time).
    private let running = Locked<[String: Task<Void, Never>]>([:])
    private let stopping = Locked<[String: Task<Void, Never>]>([:])

    init(
        slots: Int, state: ServiceState, logger: Logger,
        service: @escaping @Sendable (ServiceConfig.StreamConfig, _ leased: @escaping @Sendable () -> Bool) -> StreamService
    ) {
        self.slots = slots
        self.state = state
        self.logger = logger
        self.service = service
    }

    func tracking() -> Set<String> { Set(running.value.keys) }

    func start(_ stream: ClaimedStream, leased: @escaping @Sendable () -> Bool) {
        let config: ServiceConfig.StreamConfig
        do {
            // The entry as a node's configuration gave it, checked by the same rules.
            guard
                let parsed = try ServiceConfig.parse(
                    Data(#"{"streams": [\#(stream.spec)]}"#.utf8), file: "the fleet's stream \(stream.name)"
                ).streams.first
            else { return }
            config = parsed
        } catch {
            logger.error("fleet stream \(stream.name): \(error)")
            return
        }
        let made = service(config, leased)
        running.withLock { [stopping] in
            let previous = stopping.value[stream.name]
            $0[stream.name] = Task {
                await previous?.value
                try? await made.run()
            }
        }
    }

    func stop(_ name: String) async {
        guard let task = running.withLock({ $0.removeValue(forKey: name) }) else { return }
        stopping.withLock { $0[name] = task }
        task.cancel()
        await task.value
        stopping.withLock { if $0[name] == task { $0[name] = nil } }
        // Its line in the status belongs to the node that tracks it now.
        if running.value[name] == nil { state.remove(stream: name) }
    }
}
