import Fleet
import Foundation
import Hummingbird
import NIOCore
import ServiceFiles

/// A stream's logs on this node's disk: `logs/streams/<name>/`, oldest first.
struct StreamLogs: Sendable {
    let spool: Spool

    struct Entry: Codable, Sendable, Equatable {
        var file: String
        var bytes: Int64
        /// In a fleet: the node whose disk holds it.
        var node: String?
    }

    func folder(_ stream: String) throws -> String {
        guard ServiceConfig.StreamConfig.isValid(name: stream) else {
            throw HTTPError(.badRequest, message: "'\(stream)' is not a stream's name")
        }
        return spool.logs + "/streams/" + stream
    }

    /// Its logs here (files being started, still hidden, are not yet logs).
    func list(_ stream: String, node: String?) throws -> [Entry] {
        let folder = try folder(stream)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") && !$0.hasPrefix(".") }.sorted().map { file in
            let size = (try? FileManager.default.attributesOfItem(atPath: folder + "/" + file)[.size] as? NSNumber)
            return Entry(file: file, bytes: size?.int64Value ?? 0, node: node)
        }
    }

    /// The path of one of its logs, checked to be a plain log name.
    func path(_ stream: String, file: String) throws -> String {
        guard file.hasSuffix(".jsonl"), !file.hasPrefix("."), !file.contains("/") else {
            throw HTTPError(.badRequest, message: "'\(file)' is not a stream log's name")
        }
        return try folder(stream) + "/" + file
    }
}

/// The fleet's streams over the API: declared in the database from any node, leased by
/// one node at a time; their logs, spread over every node that tracked them, listed
/// and served from any node.
extension FleetAPI {
    /// Adds a stream (a `streams` entry of a node's configuration, its analytics
    /// inline); the fleet leases it to a node with a free slot.
    func addStream(_ body: ByteBuffer) async throws -> String {
        let data = Data(buffer: body)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HTTPError(.badRequest, message: "a stream is a JSON object, as an entry of a configuration's streams")
        }
        if object["analytics"] is String {
            throw HTTPError(
                .badRequest, message: "'analytics' must be given inline: a file named here would be read on no node")
        }
        let stream: ServiceConfig.StreamConfig
        do {
            guard
                let parsed = try ServiceConfig.parse(
                    Data(#"{"streams": ["#.utf8) + data + Data("]}".utf8), file: "the stream"
                ).streams.first
            else { throw HTTPError(.badRequest, message: "no stream given") }
            stream = parsed
        } catch let error as ConfigError {
            throw HTTPError(.badRequest, message: "\(error)")
        }
        let spec = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        guard try await database({ try await store.addStream(name: stream.name, spec: spec) }) else {
            throw HTTPError(.conflict, message: "the fleet already has a stream \(stream.name)")
        }
        return stream.name
    }

    func removeStream(_ name: String) async throws {
        guard try await database({ try await store.removeStream(name) }) else {
            throw HTTPError(.notFound, message: "the fleet has no stream \(name)")
        }
    }

    func streams() async throws -> [StreamRow] {
        try await database { try await store.streams() }
    }

    /// The logs of a stream on every node that has tracked it; the nodes that did not
    /// answer, apart.
    func streamLogs(_ name: String, local: StreamLogs) async throws -> (logs: [StreamLogs.Entry], unreachable: [String]) {
        var logs: [StreamLogs.Entry] = []
        var unreachable: [String] = []
        for (node, advertise) in try await database({ try await store.holders(of: name) }) {
            if node == fleet.node {
                logs += try local.list(name, node: node)
                continue
            }
            do {
                logs += try await fetch(
                    StreamLogsAnswer.self, "/api/v1/streams/\(name)/logs?node=\(node)", from: node, at: advertise
                ).logs
            } catch {
                unreachable.append(node)
            }
        }
        return (logs, unreachable)
    }

    /// Where a stream is tracked now: its node and that node's address.
    func holder(of name: String) async throws -> (node: String, advertise: String?)? {
        let (streams, nodes) = try await database { (try await store.streams(), try await store.nodes()) }
        guard let node = streams.first(where: { $0.name == name })?.node else { return nil }
        return (node, nodes.first { $0.name == node }?.advertise)
    }
}

/// GET /api/v1/streams/{name}/logs.
struct StreamLogsAnswer: Codable {
    var logs: [StreamLogs.Entry]
    /// Nodes that have tracked the stream and did not answer.
    var unreachable: [String]?
}
