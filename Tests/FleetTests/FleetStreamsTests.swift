import Fleet
import Foundation
import Logging
import XCTest

/// Streams leased across a fleet, against a real PostgreSQL.
extension FleetStoreTests {
    /// Each node takes its share by stream slots, never more than its slots, and every
    /// stream is held by exactly one node.
    func testStreamsSpreadOverTheNodesByTheirSlots() async throws {
        try await withStores { stores in
            let store = stores[0]
            try await store.migrate()
            try await store.declare(streams: (0..<10).map { (String(format: "cam%02d", $0), #"{"url": "rtsp://x"}"#) })
            let a = try await register("a", in: store, slots: 4, lease: 30)
            let b = try await register("b", in: store, slots: 4, lease: 30)
            let c = try await register("c", in: store, slots: 2, lease: 30)
            let byA = try await store.claimStreams(node: "a", generation: a, slots: 4, tracking: [], leaseSeconds: 30)
            let byB = try await store.claimStreams(node: "b", generation: b, slots: 4, tracking: [], leaseSeconds: 30)
            let byC = try await store.claimStreams(node: "c", generation: c, slots: 2, tracking: [], leaseSeconds: 30)
            XCTAssertEqual([byA.count, byB.count, byC.count], [4, 4, 2])
            XCTAssertEqual(Set((byA + byB + byC).map(\.name)).count, 10, "each stream once")
            let tracked = Set(byA.map(\.name))
            let again = try await store.claimStreams(node: "a", generation: a, slots: 4, tracking: tracked, leaseSeconds: 30)
            XCTAssertEqual(again, [], "a holds its share")
            // A stream leased to a that it does not track (the claim's answer was lost)
            // is handed to it again, and to no other node.
            let lost = try XCTUnwrap(byA.last?.name)
            let byB2 = try await store.claimStreams(
                node: "b", generation: b, slots: 4, tracking: Set(byB.map(\.name)), leaseSeconds: 30)
            XCTAssertEqual(byB2, [])
            let handedBack = try await store.claimStreams(
                node: "a", generation: a, slots: 4, tracking: tracked.subtracting([lost]), leaseSeconds: 30)
            XCTAssertEqual(handedBack.map(\.name), [lost])
            let rows = try await store.streams()
            XCTAssertEqual(rows.filter { $0.leased }.count, 10)
            XCTAssertEqual(rows.filter { $0.node == "c" }.count, 2)
        }
    }

    /// A holder that stops renewing loses its streams after the lease, to a live node;
    /// it cannot renew them afterwards (even untaken, an expired lease is not renewed).
    /// A removed stream drops out of its holder's renewal; a released one is free at once.
    func testAStreamWhoseHolderStoppedRenewingMovesAndIsFenced() async throws {
        try await withStores { stores in
            let store = stores[0]
            try await store.migrate()
            try await store.declare(streams: [("door", "{}"), ("yard", "{}")])
            let a = try await register("a", in: store, slots: 2, lease: 1)
            let held = try await store.claimStreams(node: "a", generation: a, slots: 2, tracking: [], leaseSeconds: 1).map(\.name)
            XCTAssertEqual(held, ["door", "yard"])
            let renewed = try await store.renewStreams(held, node: "a", generation: a, leaseSeconds: 1)
            XCTAssertEqual(renewed, ["door", "yard"])
            try await Task.sleep(for: .seconds(1.3))
            let late = try await store.renewStreams(held, node: "a", generation: a, leaseSeconds: 1)
            XCTAssertEqual(late, [], "an expired lease is not renewed")
            let b = try await register("b", in: store, slots: 2, lease: 30)
            let moved = try await store.claimStreams(node: "b", generation: b, slots: 2, tracking: [], leaseSeconds: 30).map(
                \.name)
            XCTAssertEqual(moved, ["door", "yard"])
            let removed = try await store.removeStream("yard")
            XCTAssertTrue(removed)
            let kept = try await store.renewStreams(moved, node: "b", generation: b, leaseSeconds: 30)
            XCTAssertEqual(kept, ["door"])
            try await store.releaseStreams(["door"], node: "b", generation: b)
            let c = try await register("c", in: store, slots: 1, lease: 30)
            let taken = try await store.claimStreams(node: "c", generation: c, slots: 1, tracking: [], leaseSeconds: 30).map(
                \.name)
            XCTAssertEqual(taken, ["door"], "free at once after a release")
            let added = try await store.addStream(name: "door", spec: "{}")
            XCTAssertFalse(added, "a name is one stream")
        }
    }

    /// Two coordination loops with stub streams: they split the streams by their slots;
    /// when one dies (its loop stops, nothing given back), the other takes its streams
    /// once their lease has run out, and never while it held them; a node that leaves
    /// gives its streams back at once.
    func testNodesSplitStreamsTakeADeadNodesAfterItsLeaseAndGiveThemBackOnLeaving() async throws {
        try await withStores(2) { stores in
            try await stores[0].migrate()
            try await stores[0].declare(streams: (0..<6).map { ("cam\($0)", "{}") })
            let tracked = StubStreams.Registry()
            var nodes: [(FleetNode, StubStreams, Task<FleetError?, Never>)] = []
            // Both registered before either claims: each then takes its share.
            let generations = [
                try await register("a", in: stores[0], slots: 6, lease: 2),
                try await register("b", in: stores[1], slots: 6, lease: 2)
            ]
            for (k, name) in ["a", "b"].enumerated() {
                let generation = generations[k]
                let streams = StubStreams(node: name, slots: 6, registry: tracked)
                let loop = FleetNode(
                    store: stores[k], name: name, generation: generation, leaseSeconds: 2, workload: NoJobs(),
                    streams: streams, pollSeconds: { 0.05 }, logger: Logger(label: "fleet-test"))
                nodes.append((loop, streams, Task { await loop.run() }))
            }
            try await until("the streams to be split") { nodes.map { $0.1.tracking().count } == [3, 3] }
            let (a, aStreams, aLoop) = nodes[0]
            let (_, bStreams, bLoop) = nodes[1]
            // b dies: its loop stops and its streams with it, nothing is given back.
            let died = Date()
            let bHeld = bStreams.tracking()
            bLoop.cancel()
            _ = await bLoop.value
            bStreams.vanish()
            try await until("a to take b's streams") { aStreams.tracking().count == 6 }
            let waited = Date().timeIntervalSince(died)
            XCTAssertGreaterThan(waited, 2 - 2.0 / 3 - 0.1, "not before b's lease could have run out")
            XCTAssertLessThan(waited, 2 + 1)
            XCTAssertTrue(bHeld.isSubset(of: aStreams.tracking()))
            XCTAssertEqual(tracked.twice, 0, "never two at once")
            aLoop.cancel()
            _ = await aLoop.value
            await a.leave()
            XCTAssertEqual(aStreams.tracking(), [])
            let rows = try await stores[0].streams()
            XCTAssertEqual(rows.filter(\.leased), [], "given back at once")
        }
    }

    private func until(_ what: String, timeout: Double = 10, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw TimedOut(what: what) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

private struct TimedOut: Error {
    var what: String
}

/// No jobs: the loop runs for its streams alone.
private struct NoJobs: FleetWorkload {
    func freeWorkers() -> Int { 0 }
    func start(_ job: ClaimedJob, ended: @escaping @Sendable (FleetJobOutcome) -> Void) -> String? { nil }
    func frames(_ id: Int64) -> Int { 0 }
    func stop(_ id: Int64, cancelled: Bool) -> Bool { false }
    func ended(_ id: Int64) async {}
}

/// Streams "tracked" while held, in a registry shared by the nodes that counts a stream
/// started while another node still tracks it.
private final class StubStreams: FleetStreamWorkload, @unchecked Sendable {
    final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var holders: [String: String] = [:]
        private var starts = 0
        var twice: Int { lock.withLock { starts } }
        func start(_ stream: String, on node: String) {
            lock.withLock {
                if holders[stream] != nil { starts += 1 }
                holders[stream] = node
            }
        }
        func stop(_ stream: String, on node: String) {
            lock.withLock { if holders[stream] == node { holders[stream] = nil } }
        }
    }

    let node: String
    let slots: Int
    private let registry: Registry
    private let lock = NSLock()
    private var mine: Set<String> = []

    init(node: String, slots: Int, registry: Registry) {
        self.node = node
        self.slots = slots
        self.registry = registry
    }

    func tracking() -> Set<String> { lock.withLock { mine } }
    func start(_ stream: ClaimedStream, leased: @escaping @Sendable () -> Bool) {
        lock.withLock { _ = mine.insert(stream.name) }
        registry.start(stream.name, on: node)
    }
    func stop(_ name: String) async {
        lock.withLock { _ = mine.remove(name) }
        registry.stop(name, on: node)
    }
    func vanish() {
        for name in tracking() { registry.stop(name, on: node) }
        lock.withLock { mine.removeAll() }
    }
}
