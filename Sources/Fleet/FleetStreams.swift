import PostgresNIO

/// A stream the fleet tracks, as one node holds it.
public struct ClaimedStream: Sendable, Equatable {
    public var name: String
    /// The stream's configuration (a `streams` entry of a node's JSON), as declared.
    public var spec: String
}

/// A stream as the fleet knows it.
public struct StreamRow: Sendable, Equatable, Codable {
    public var name: String
    /// The node that holds its lease, while one does.
    public var node: String?
    public var leased: Bool
}

extension FleetStore {
    /// Declares streams (a node's configured ones, at its start): new names are added,
    /// known ones take the settings given.
    public func declare(streams: [(name: String, spec: String)]) async throws {
        for stream in streams {
            _ = try await rows(
                .declare,
                """
                INSERT INTO trackd_streams (name, spec) VALUES (\(stream.name), \(stream.spec)::jsonb)
                ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec
                """)
        }
    }

    /// Adds a stream; false when one of that name exists.
    public func addStream(name: String, spec: String) async throws -> Bool {
        try await !rows(
            .declare,
            """
            INSERT INTO trackd_streams (name, spec) VALUES (\(name), \(spec)::jsonb) ON CONFLICT (name) DO NOTHING
            RETURNING 1
            """
        ).isEmpty
    }

    /// Removes a stream; its holder stops it at its next renewal. False when there was none.
    public func removeStream(_ name: String) async throws -> Bool {
        try await !rows(.declare, "DELETE FROM trackd_streams WHERE name = \(name) RETURNING 1").isEmpty
    }

    /// Every stream, by name, with its holder.
    public func streams() async throws -> [StreamRow] {
        try await rows(
            .streams,
            """
            SELECT name, node, coalesce(lease_until >= now(), false) FROM trackd_streams ORDER BY name
            """
        ).map {
            let (name, node, leased) = try $0.decode((String, String?, Bool).self)
            return StreamRow(name: name, node: leased ? node : nil, leased: leased)
        }
    }

    /// Leases streams nobody holds (or whose lease ran out) to `node`, up to its fair
    /// share: the streams spread over the live nodes by their stream slots, and never
    /// more than its own `slots`. Streams leased to it that it is not `tracking` come
    /// first: a claim whose answer was lost (its statement timed out after it
    /// committed), or one it stopped while the database was out of reach.
    public func claimStreams(
        node: String, generation: Int64, slots: Int, tracking: Set<String>, leaseSeconds: Double
    ) async throws -> [ClaimedStream] {
        guard slots > 0 else { return [] }
        let tracked = Array(tracking)
        return try await rows(
            .claimStreams,
            """
            WITH live AS (
                SELECT greatest(coalesce(sum(stream_slots), 0), 1) AS slots FROM trackd_nodes
                WHERE heartbeat >= now() - make_interval(secs => lease_seconds)
            ), held AS (
                SELECT count(*) AS n FROM trackd_streams
                WHERE node = \(node) AND generation = \(generation) AND lease_until >= now() AND name = ANY(\(tracked))
            ), share AS (
                SELECT greatest(0, least(\(slots) - held.n,
                    ceil((SELECT count(*) FROM trackd_streams)::float8 * \(slots) / live.slots)::bigint - held.n)) AS k
                FROM live, held
            ), claimed AS (
                UPDATE trackd_streams s SET node = \(node), generation = \(generation),
                    lease_until = now() + make_interval(secs => \(leaseSeconds))
                FROM (
                    SELECT name FROM trackd_streams
                    WHERE node IS NULL OR lease_until < now()
                        OR (node = \(node) AND generation = \(generation) AND NOT name = ANY(\(tracked)))
                    ORDER BY node IS NOT DISTINCT FROM \(node) DESC, name LIMIT (SELECT k FROM share) FOR UPDATE SKIP LOCKED
                ) free
                WHERE s.name = free.name
                RETURNING s.name, s.spec::text AS spec
            ), holders AS (
                INSERT INTO trackd_stream_holders SELECT name, \(node) FROM claimed ON CONFLICT DO NOTHING
            )
            SELECT name, spec FROM claimed
            """
        ).map {
            let (name, spec) = try $0.decode((String, String).self)
            return ClaimedStream(name: name, spec: spec)
        }.sorted { $0.name < $1.name }
    }

    /// Renews the leases of the streams `node` tracks; the names still its own (one
    /// missing was removed, or taken over after a lease ran out: stop it).
    public func renewStreams(_ names: [String], node: String, generation: Int64, leaseSeconds: Double) async throws
        -> Set<String>
    {
        guard !names.isEmpty else { return [] }
        return Set(
            try await rows(
                .renewStreams,
                """
                UPDATE trackd_streams SET lease_until = now() + make_interval(secs => \(leaseSeconds))
                WHERE name = ANY(\(names)) AND node = \(node) AND generation = \(generation) AND lease_until >= now()
                RETURNING name
                """
            ).map { try $0.decode(String.self) })
    }

    /// The nodes that have tracked a stream (and hold its logs), with where each is
    /// reached.
    public func holders(of stream: String) async throws -> [(node: String, advertise: String?)] {
        try await rows(
            .streamHolders,
            """
            SELECT h.node, n.advertise FROM trackd_stream_holders h LEFT JOIN trackd_nodes n ON n.name = h.node
            WHERE h.stream = \(stream) ORDER BY h.node
            """
        ).map { try $0.decode((String, String?).self) }
    }

    /// Gives streams up (a graceful stop): other nodes take them at once.
    public func releaseStreams(_ names: [String], node: String, generation: Int64) async throws {
        guard !names.isEmpty else { return }
        _ = try await rows(
            .releaseStreams,
            """
            UPDATE trackd_streams SET node = NULL, generation = NULL, lease_until = NULL
            WHERE name = ANY(\(names)) AND node = \(node) AND generation = \(generation)
            """)
    }
}
