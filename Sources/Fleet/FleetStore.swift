import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// A fleet's shared state in PostgreSQL: its schema (created and migrated by trackd
/// itself), its nodes with their heartbeats, and its job queue, claimed with
/// `FOR UPDATE SKIP LOCKED` so that nodes never wait on each other's claims.
///
/// Every statement is one round trip and holds no lock beyond its transaction, so a
/// node that dies leaves nothing locked: what it held is known by its lease running out.
public struct FleetStore: Sendable {
    private let client: PostgresClient
    private let logger: Logger

    /// Told how long each statement took, answer read (a benchmark's figures).
    public var observe: (@Sendable (Statement, Duration) -> Void)?

    /// The statements of the fleet's coordination, for `observe`.
    public enum Statement: String, Sendable, CaseIterable {
        case register, heartbeat, enqueue, claim, extend, started, release, cancel, finish, jobs, queueDepth, nodes, leave
        case declare, streams, claimStreams, renewStreams, releaseStreams, streamHolders
    }

    /// `client` must be running (`PostgresClient.run()`) while the store is used.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Runs one statement and reads its whole answer, so that its connection goes back
    /// to the pool clean.
    func rows(_ statement: Statement, _ query: PostgresQuery) async throws -> [PostgresRow] {
        let start = ContinuousClock.now
        let rows = try await client.query(query, logger: logger).all()
        observe?(statement, ContinuousClock.now - start)
        return rows
    }

    // MARK: Schema

    /// The schema's versions, in order: each runs once, in its own transaction, under
    /// an advisory lock, so that several nodes starting at once migrate it once.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE trackd_nodes (
                name text PRIMARY KEY,
                generation bigint NOT NULL,
                advertise text NOT NULL,
                workers integer NOT NULL,
                stream_slots integer NOT NULL,
                heartbeat timestamptz NOT NULL,
                lease_seconds double precision NOT NULL
            )
            """,
            """
            CREATE TABLE trackd_jobs (
                id bigserial PRIMARY KEY,
                source text NOT NULL,
                spec jsonb NOT NULL,
                state text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
                node text,
                generation bigint,
                lease_until timestamptz,
                attempts integer NOT NULL DEFAULT 0,
                frames integer NOT NULL DEFAULT 0,
                log text,
                error text,
                created timestamptz NOT NULL DEFAULT now(),
                finished timestamptz
            )
            """,
            "CREATE INDEX trackd_jobs_queued ON trackd_jobs (id) WHERE state = 'queued'"
        ],
        [
            """
            CREATE TABLE trackd_streams (
                name text PRIMARY KEY,
                spec jsonb NOT NULL,
                node text,
                generation bigint,
                lease_until timestamptz,
                created timestamptz NOT NULL DEFAULT now()
            )
            """,
            // Every node that has tracked a stream: where its logs are.
            "CREATE TABLE trackd_stream_holders (stream text NOT NULL, node text NOT NULL, PRIMARY KEY (stream, node))"
        ]
    ]

    /// An arbitrary constant: the advisory lock's key for migrations.
    private static let migrationLock: Int64 = 0x7472_6163_6B64

    /// Brings the schema to the newest version; returns it.
    @discardableResult
    public func migrate() async throws -> Int {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS trackd_schema (version integer NOT NULL)", logger: logger)
            var version = 0
            for try await (v, ) in try await connection.query("SELECT version FROM trackd_schema", logger: logger)
                .decode((Int,).self)
            {
                version = v
            }
            guard version <= Self.migrations.count else { throw FleetError.schemaTooNew(version, Self.migrations.count) }
            for (k, statements) in Self.migrations.enumerated().dropFirst(version) {
                for sql in statements { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
                version = k + 1
            }
            try await connection.query("DELETE FROM trackd_schema", logger: logger)
            try await connection.query("INSERT INTO trackd_schema (version) VALUES (\(version))", logger: logger)
            return version
        }
    }

    // MARK: Nodes

    /// Joins the fleet as `node`; returns the node's new generation, which fences what
    /// an earlier life of the same name still holds. Refused while another process
    /// holds the name (its heartbeat younger than its lease).
    public func register(_ node: NodeInfo) async throws -> Int64 {
        let rows = try await rows(
            .register,
            """
            INSERT INTO trackd_nodes AS n (name, generation, advertise, workers, stream_slots, heartbeat, lease_seconds)
            VALUES (\(node.name), 1, \(node.advertise), \(node.workers), \(node.streamSlots), now(), \(node.leaseSeconds))
            ON CONFLICT (name) DO UPDATE SET
                generation = n.generation + 1, advertise = EXCLUDED.advertise, workers = EXCLUDED.workers,
                stream_slots = EXCLUDED.stream_slots, heartbeat = now(), lease_seconds = EXCLUDED.lease_seconds
            WHERE n.heartbeat < now() - make_interval(secs => n.lease_seconds)
            RETURNING generation
            """)
        guard let generation = try rows.first?.decode(Int64.self) else {
            throw FleetError.nodeNameInUse(node.name)
        }
        return generation
    }

    /// Renews the node's lease; false when the node was fenced off (another process
    /// registered its name after its lease ran out), and must stop what it holds.
    public func heartbeat(node: String, generation: Int64) async throws -> Bool {
        try await !rows(
            .heartbeat,
            """
            UPDATE trackd_nodes SET heartbeat = now() WHERE name = \(node) AND generation = \(generation)
            RETURNING 1
            """
        ).isEmpty
    }

    // MARK: Jobs

    /// Queues a job; returns its id.
    public func enqueue(source: String, spec: String) async throws -> Int64 {
        let rows = try await rows(
            .enqueue, "INSERT INTO trackd_jobs (source, spec) VALUES (\(source), \(spec)::jsonb) RETURNING id")
        guard let id = try rows.first?.decode(Int64.self) else { throw FleetError.noAnswer("enqueue") }
        return id
    }

    /// Claims up to `limit` jobs for `node`: queued ones, oldest first, and running ones
    /// whose node's lease ran out (run again from the start). Rows another node is
    /// claiming are skipped, not waited on. A job claimed by this very node that it is
    /// not `holding` and never started (the claim's answer was lost: its statement
    /// timed out after it committed) is handed over again, as the same attempt, rather
    /// than left until its lease runs out.
    public func claim(node: String, generation: Int64, limit: Int, holding: Set<Int64>, leaseSeconds: Double)
        async throws -> [ClaimedJob]
    {
        guard limit > 0 else { return [] }
        let held = Array(holding)
        let rows = try await rows(
            .claim,
            """
            UPDATE trackd_jobs j SET state = 'running', node = \(node), generation = \(generation), log = NULL,
                lease_until = now() + make_interval(secs => \(leaseSeconds)),
                attempts = j.attempts + CASE WHEN claimable.lost THEN 0 ELSE 1 END
            FROM (
                SELECT id, (state = 'running' AND node = \(node) AND generation = \(generation) AND log IS NULL
                    AND lease_until >= now()) AS lost
                FROM trackd_jobs
                WHERE state = 'queued' OR (state = 'running' AND lease_until < now())
                    OR (state = 'running' AND node = \(node) AND generation = \(generation) AND log IS NULL
                        AND NOT id = ANY(\(held)))
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
            ) claimable
            WHERE j.id = claimable.id
            RETURNING j.id, j.source, j.spec::text, j.attempts
            """)
        return try rows.map { row in
            let (id, source, spec, attempts) = try row.decode((Int64, String, String, Int).self)
            return ClaimedJob(id: id, source: source, spec: spec, attempt: attempts)
        }.sorted { $0.id < $1.id }
    }

    /// Extends the leases of the jobs `node` runs under `generation` and records their
    /// frames; returns the ids still its own (a job missing from the answer was
    /// cancelled or taken over: stop it).
    public func extend(jobs progress: [Int64: Int], node: String, generation: Int64, leaseSeconds: Double) async throws
        -> Set<Int64>
    {
        guard !progress.isEmpty else { return [] }
        let ids = Array(progress.keys)
        let frames = ids.map { progress[$0] ?? 0 }
        let rows = try await rows(
            .extend,
            """
            UPDATE trackd_jobs j SET lease_until = now() + make_interval(secs => \(leaseSeconds)), frames = p.frames
            FROM unnest(\(ids)::bigint[], \(frames)::integer[]) AS p(id, frames)
            WHERE j.id = p.id AND j.state = 'running' AND j.node = \(node) AND j.generation = \(generation)
            RETURNING j.id
            """)
        return Set(try rows.map { try $0.decode(Int64.self) })
    }

    /// Records where a claimed job's log is written (a path on its node).
    public func started(job id: Int64, log: String, node: String, generation: Int64) async throws {
        _ = try await rows(
            .started,
            """
            UPDATE trackd_jobs SET log = \(log), frames = 0
            WHERE id = \(id) AND state = 'running' AND node = \(node) AND generation = \(generation)
            """)
    }

    /// Puts the jobs a node stops running (a graceful shutdown) back in the queue at
    /// once, rather than after their lease.
    public func release(jobs ids: [Int64], node: String, generation: Int64) async throws {
        guard !ids.isEmpty else { return }
        _ = try await rows(
            .release,
            """
            UPDATE trackd_jobs SET state = 'queued', lease_until = NULL
            WHERE id = ANY(\(ids)) AND state = 'running' AND node = \(node) AND generation = \(generation)
            """)
    }

    /// Cancels a job that has not ended, wherever it is, recording `reason` as its
    /// error; the job as it stands then, or nil when there is no such job. Its node
    /// stops it at its next lease renewal.
    public func cancel(job id: Int64, reason: String) async throws -> JobRow? {
        _ = try await rows(
            .cancel,
            """
            UPDATE trackd_jobs SET state = 'cancelled', finished = now(), lease_until = NULL, error = \(reason)
            WHERE id = \(id) AND state IN ('queued', 'running')
            """)
        return try await job(id)
    }

    /// Ends a job `node` ran: `done` or `failed` (with its error). Only the claim that
    /// holds it ends it, so a job ends once however many nodes ran it; false when the
    /// claim was lost.
    public func finish(job id: Int64, node: String, generation: Int64, state: JobEnd, frames: Int, error: String? = nil)
        async throws -> Bool
    {
        try await !rows(
            .finish,
            """
            UPDATE trackd_jobs SET state = \(state.rawValue), finished = now(), lease_until = NULL, frames = \(frames),
                error = \(error)
            WHERE id = \(id) AND state = 'running' AND node = \(node) AND generation = \(generation)
            RETURNING 1
            """
        ).isEmpty
    }

    /// Every job, by id, with where its node answers.
    public func jobs() async throws -> [JobRow] {
        try await jobRows(where: "TRUE")
    }

    /// The job `id`; nil when there is none.
    public func job(_ id: Int64) async throws -> JobRow? {
        try await jobRows(where: "j.id = \(id)").first
    }

    private func jobRows(where condition: String) async throws -> [JobRow] {
        let rows = try await rows(
            .jobs,
            PostgresQuery(
                unsafeSQL: """
                    SELECT j.id, j.source, j.state, j.node, n.advertise, j.attempts, j.frames, j.log, j.error
                    FROM trackd_jobs j LEFT JOIN trackd_nodes n ON n.name = j.node
                    WHERE \(condition) ORDER BY j.id
                    """))
        return try rows.map { try $0.decode((Int64, String, String, String?, String?, Int, Int, String?, String?).self) }.map {
            JobRow(
                id: $0.0, source: $0.1, state: $0.2, node: $0.3, advertise: $0.4, attempts: $0.5, frames: $0.6, log: $0.7,
                error: $0.8)
        }
    }

    /// Jobs waiting for a node.
    public func queueDepth() async throws -> Int {
        try await rows(.queueDepth, "SELECT count(*)::integer FROM trackd_jobs WHERE state = 'queued'").first?.decode(Int.self)
            ?? 0
    }

    /// Every node, alive or not, with the jobs it runs.
    public func nodes() async throws -> [NodeRow] {
        let rows = try await rows(
            .nodes,
            """
            SELECT n.name, n.advertise, n.workers, n.stream_slots, n.lease_seconds,
                extract(epoch FROM now() - n.heartbeat)::double precision,
                (SELECT count(*)::integer FROM trackd_jobs j WHERE j.node = n.name AND j.state = 'running')
            FROM trackd_nodes n ORDER BY n.name
            """)
        return try rows.map { try $0.decode((String, String, Int, Int, Double, Double, Int).self) }.map {
            NodeRow(
                name: $0.0, advertise: $0.1, workers: $0.2, streamSlots: $0.3, alive: $0.5 <= $0.4,
                heartbeatAge: $0.5, runningJobs: $0.6)
        }
    }

    /// Marks the node gone (a graceful stop): the others need not wait for its lease.
    public func leave(node: String, generation: Int64) async throws {
        _ = try await rows(
            .leave, "UPDATE trackd_nodes SET heartbeat = 'epoch' WHERE name = \(node) AND generation = \(generation)")
    }
}

/// What a node tells the fleet of itself.
public struct NodeInfo: Sendable, Equatable {
    public var name: String
    /// Where the other nodes reach its HTTP API.
    public var advertise: String
    public var workers: Int
    public var streamSlots: Int
    public var leaseSeconds: Double

    public init(name: String, advertise: String, workers: Int, streamSlots: Int, leaseSeconds: Double) {
        self.name = name
        self.advertise = advertise
        self.workers = workers
        self.streamSlots = streamSlots
        self.leaseSeconds = leaseSeconds
    }
}

public struct ClaimedJob: Sendable, Equatable {
    public var id: Int64
    public var source: String
    /// The job's JSON, as submitted.
    public var spec: String
    /// 1 for a first run; more when a node died running it.
    public var attempt: Int
}

public struct JobRow: Sendable, Equatable {
    public var id: Int64
    public var source: String
    /// queued, running, done, failed or cancelled.
    public var state: String
    /// The node that runs or ran it, and where that node's API answers.
    public var node: String?
    public var advertise: String?
    public var attempts: Int
    public var frames: Int
    /// The log's path on its node.
    public var log: String?
    public var error: String?
}

public struct NodeRow: Sendable, Equatable, Codable {
    public var name: String
    public var advertise: String
    public var workers: Int
    public var streamSlots: Int
    /// Its heartbeat is within its lease.
    public var alive: Bool
    public var heartbeatAge: Double
    public var runningJobs: Int
}

public enum JobEnd: String, Sendable {
    case done, failed
}

public enum FleetError: Error, Equatable, CustomStringConvertible {
    case nodeNameInUse(String)
    /// Another process registered this node's name after its lease ran out.
    case fenced(String)
    case schemaTooNew(Int, Int)
    case noAnswer(String)
    case timedOut(String, Double)

    public var description: String {
        switch self {
        case .nodeNameInUse(let name):
            "node name '\(name)' is in use by a live node of the fleet (its heartbeat is within its lease); "
                + "give this host another fleet.node, or stop the other one"
        case .fenced(let name):
            "another process took the node name '\(name)' after this one's lease ran out: stopped what it held; "
                + "it restarts as a new generation of that name"
        case .schemaTooNew(let found, let known):
            "the fleet's database has schema version \(found), newer than this trackd knows (\(known)): upgrade trackd"
        case .noAnswer(let what): "the database gave no answer to \(what)"
        case .timedOut(let what, let seconds): "the database did not answer within \(seconds) s (\(what))"
        }
    }
}

extension AsyncSequence {
    /// Every element, read to the end: a statement's rows are read in full so that its
    /// connection goes back to the pool clean.
    func all() async throws -> [Element] {
        var elements: [Element] = []
        for try await element in self { elements.append(element) }
        return elements
    }
}

/// What went wrong with the database, in words: PostgresNIO's errors print a generic
/// text (they may carry a query's values), so the server's message or the kind of
/// failure is taken from them.
public func databaseErrorDescription(_ error: any Error) -> String {
    if let error = error as? FleetError { return error.description }
    if let error = error as? PSQLError {
        if let message = error.serverInfo?[.message] {
            return "the database refused a statement: " + message
        }
        let cause = error.underlying.map { ": \($0)" } ?? ""
        return "the database cannot be reached (\(error.code))\(cause)"
    }
    return "\(error)"
}

/// `body`, or `FleetError.timedOut` after `seconds`: a database that does not answer
/// (a cut network) must not hold a node's loop past its leases. The answer does not
/// wait for `body` to end: a statement waiting for a connection may take its time to
/// notice that it was cancelled, and is left to end on its own.
public func withDeadline<T: Sendable>(
    seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    // The first of the answer, the timer and a cancellation wins; it may come before
    // the continuation is in place, and is then kept for it.
    let first = NIOLockedValueBox<(waiting: CheckedContinuation<T, any Error>?, result: Result<T, any Error>?)>((nil, nil))
    let answered: @Sendable (Result<T, any Error>) -> Void = { result in
        first.withLockedValue { state in
            guard state.result == nil else { return }
            state.result = result
            state.waiting?.resume(with: result)
            state.waiting = nil
        }
    }
    let work = Task {
        do {
            answered(.success(try await body()))
        } catch {
            answered(.failure(error))
        }
    }
    let timer = Task {
        try await Task.sleep(for: .seconds(seconds))
        answered(.failure(FleetError.timedOut(what, seconds)))
    }
    defer {
        work.cancel()
        timer.cancel()
    }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            first.withLockedValue { state in
                if let result = state.result { continuation.resume(with: result) } else { state.waiting = continuation }
            }
        }
    } onCancel: {
        answered(.failure(CancellationError()))
    }
}
