import AsyncHTTPClient
import Fleet
import Foundation
import Hummingbird
import NIOCore
import ServiceFiles

/// The HTTP API on a node of a fleet: jobs submitted into the fleet's queue in
/// PostgreSQL, listed, followed and cancelled fleet-wide from any node; streams added
/// and removed there; logs and snapshots served by any node (fetched from the node
/// that holds them).
struct FleetAPI: Sendable {
    let store: FleetStore
    let fleet: ServiceConfig.FleetConfig
    let spool: Spool
    /// The token this node's API asks for: the other nodes ask for the same one.
    let token: @Sendable () -> String?

    /// Queues a job checked as the spool checks one: a path is one under the fleet's
    /// shared storage, which every node mounts.
    func submit(_ body: ByteBuffer, api: JobsAPI) async throws -> JobsAPI.Job {
        let prepared = try api.prepare(body, name: "the job", videoRoot: fleet.sharedRoot)
        guard prepared.source.contains("://") || fleet.sharedRoot != nil else {
            throw HTTPError(
                .badRequest,
                message: "'source' must be an http(s) URL: this fleet has no shared storage for paths (fleet.sharedRoot)")
        }
        let id = try await database {
            try await store.enqueue(source: prepared.source, spec: String(decoding: prepared.job, as: UTF8.self))
        }
        return JobsAPI.Job(id: fleetJobName(id), state: .queued)
    }

    func list() async throws -> [JobsAPI.Job] {
        try await database { try await store.jobs() }.map(describe)
    }

    func job(_ name: String) async throws -> JobsAPI.Job? {
        guard let id = fleetJobID(name) else { return nil }
        return try await database { try await store.job(id) }.map(describe)
    }

    /// Cancels the job wherever it is: its node stops it at its next renewal.
    func cancel(_ name: String) async throws -> JobsAPI.Job? {
        guard let id = fleetJobID(name), let found = try await database({ try await store.job(id) }) else { return nil }
        guard ["queued", "running"].contains(found.state) else {
            throw HTTPError(.conflict, message: "job \(name) has already ended (\(describe(found).state.rawValue))")
        }
        return try await database { try await store.cancel(job: id, reason: JobRunner.cancelled) }.map(describe)
    }

    /// The job's log: from this node's disk, or fetched from the node that wrote it.
    func log(_ name: String, context: some RequestContext) async throws -> Response {
        guard let id = fleetJobID(name), let row = try await database({ try await store.job(id) }) else {
            throw HTTPError(.notFound, message: "no job \(name)")
        }
        guard let path = row.log, let node = row.node else {
            throw HTTPError(.notFound, message: "job \(name) has no log yet (\(row.state))")
        }
        if node == fleet.node { return try await localLog(path, context: context) }
        return try await forward("/api/v1/jobs/" + name + "/log", to: node, at: row.advertise, for: "the log")
    }

    /// A GET answered by the node that has what it asks for, passed on as it comes.
    func forward(_ path: String, to node: String, at advertise: String?, for what: String) async throws -> Response {
        let answer = try await get(path, from: node, at: advertise, for: what)
        var headers = HTTPFields()
        headers[.contentType] = answer.headers.first(name: "Content-Type") ?? "application/octet-stream"
        headers[.init("X-Trackd-Node")!] = node
        for name in ["X-Trackd-Frame", "Cache-Control"] {
            if let value = answer.headers.first(name: name) { headers[.init(name)!] = value }
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: answer.body))
    }

    /// A GET answered by the named node.
    func forward(_ path: String, to node: String, for what: String) async throws -> Response {
        let nodes = try await database { try await store.nodes() }
        return try await forward(path, to: node, at: nodes.first { $0.name == node }?.advertise, for: what)
    }

    /// A GET of JSON from another node.
    func fetch<T: Decodable>(_ type: T.Type, _ path: String, from node: String, at advertise: String?) async throws -> T {
        let answer = try await get(path, from: node, at: advertise, for: "it")
        return try JSONDecoder().decode(T.self, from: Data(buffer: try await answer.body.collect(upTo: 16 << 20)))
    }

    /// Another node's answer to a GET with the shared token; a 502 that says why when
    /// there is none, or not a 200.
    private func get(_ path: String, from node: String, at advertise: String?, for what: String) async throws
        -> HTTPClientResponse
    {
        guard let advertise else { throw HTTPError(.badGateway, message: "node \(node) is not in the fleet") }
        var request = HTTPClientRequest(url: advertise + path)
        if let token = token() { request.headers.add(name: "Authorization", value: "Bearer " + token) }
        let answer: HTTPClientResponse
        do {
            answer = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        } catch {
            throw HTTPError(.badGateway, message: "node \(node) (\(advertise)), which holds \(what), does not answer: \(error)")
        }
        guard answer.status == .ok else {
            throw HTTPError(.badGateway, message: "node \(node) (\(advertise)) answered \(answer.status.code) for \(what)")
        }
        return answer
    }

    /// GET /api/v1/fleet: the nodes with their load, the jobs and streams each runs,
    /// the queue.
    struct Overview: Encodable {
        var node: String
        var nodes: [NodeRow]
        var queuedJobs: Int
        /// Running jobs' ids by node.
        var running: [String: [String]]
        var streams: [StreamRow]
    }

    func overview() async throws -> Overview {
        let (nodes, jobs, streams) = try await database {
            (try await store.nodes(), try await store.jobs(), try await store.streams())
        }
        var running: [String: [String]] = [:]
        for job in jobs where job.state == "running" { running[job.node ?? "", default: []].append(fleetJobName(job.id)) }
        return Overview(
            node: fleet.node, nodes: nodes, queuedJobs: jobs.filter { $0.state == "queued" }.count, running: running,
            streams: streams)
    }

    /// A job's row as the API reports it.
    private func describe(_ row: JobRow) -> JobsAPI.Job {
        let state: JobsAPI.Job.State =
            switch row.state {
            case "queued": .queued
            case "running": .processing
            case "done": .done
            default: .failed
            }
        var job = JobsAPI.Job(id: fleetJobName(row.id), state: state)
        job.log = row.log
        job.node = row.node
        job.attempts = row.attempts
        if state == .processing || state == .done { job.frames = row.frames }
        job.error = row.error
        return job
    }

    /// A statement's failure as a 503 that says what the database said.
    func database<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw HTTPError(.serviceUnavailable, message: "the fleet's database: " + databaseErrorDescription(error))
        }
    }
}

/// A log file of this node's, streamed.
func localLog(_ path: String, context: some RequestContext) async throws -> Response {
    guard FileManager.default.fileExists(atPath: path) else {
        throw HTTPError(.notFound, message: "the log \(path) is not on this node")
    }
    let body = try await FileIO(threadPool: .singleton).loadFile(path: path, context: context)
    var headers = HTTPFields()
    headers[.contentType] = "application/x-ndjson"
    return Response(status: .ok, headers: headers, body: body)
}
