import Fleet
import Foundation
import Hummingbird
import Logging
import Metrics
import Pipeline
import Prometheus
import ServiceFiles
import ServiceLifecycle

/// `serve`'s HTTP API, one more service of the group: health for a supervisor or a
/// load balancer, Prometheus metrics, the daemon's status, jobs submitted and followed
/// (`JobsAPI`), each stream's latest frame with its tracks (a JPEG), track events, and
/// a page. The rest answers JSON; an error is `{"error": "..."}` with its status code.
/// With a token (required off a loopback address) every request needs
/// `Authorization: Bearer <token>` (401 otherwise). Before that, `BrowserGuard`
/// refuses what a web page in a browser could make of the API. The token and the
/// allowed hosts and origins are read from the configuration in force at each
/// request, so a SIGHUP that changes them applies at once.
struct HTTPService: Service {
    let http: ServiceConfig.HTTPConfig
    let config: Locked<ServiceConfig>
    let spool: Spool
    let state: ServiceState
    let running: RunningJobs
    let metrics: PrometheusCollectorRegistry
    let events: TrackEvents
    let snapshots: Snapshots
    /// This node's fleet's jobs; nil: no fleet.
    let fleet: FleetAPI?
    let logger: Logger
    /// Called once the socket listens (systemd's READY=1 waits for it).
    let listening: @Sendable (String) -> Void

    func run() async throws {
        let router = Router()
        router.add(middleware: ErrorsAsJSON())
        router.add(
            middleware: BrowserGuard { [config, http] in
                var settings = config.value.http ?? http
                // The name the fleet's other nodes reach this one by is its own.
                if let advertised = config.value.fleet.flatMap({ URL(string: $0.advertise)?.host?.lowercased() }) {
                    settings.allowedHosts.append(advertised)
                }
                return settings
            })
        router.add(middleware: BearerToken { [config, http] in (config.value.http ?? http).token })
        let jobs = JobsAPI(
            spool: spool, state: state, running: running, maxJobBytes: { [config] in config.value.maxJobBytes },
            urlJobs: { [config, http] in (config.value.urlJobs, (config.value.http ?? http).token != nil) })
        router.get("/") { _, _ in
            answer(ByteBuffer(string: StatusPage.html), type: "text/html; charset=utf-8")
        }
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/readyz") { _, _ in readiness() }
        router.get("/api/v1/status") { _, _ in json(state.snapshot) }
        router.get("/metrics") { _, _ in
            // Jobs by state are counted in the spool when asked for.
            let counts = jobs.counts()
            for state in JobsAPI.Job.State.allCases {
                Gauge(label: "trackd_jobs", dimensions: [("state", state.rawValue)]).record(counts[state] ?? 0)
            }
            var text: [UInt8] = []
            metrics.emit(into: &text)
            return answer(ByteBuffer(bytes: text), type: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/api/v1/events") { _, _ in
            // Server-sent events: one JSON line per event, until the client goes or the
            // service stops (`events.finish()` ends every stream).
            let stream = events.subscribe()
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: ": trackd track events\n\n"))
                    for await event in stream { try await writer.write(ByteBuffer(string: "data: \(event)\n\n")) }
                    try await writer.finish(nil)
                })
        }
        let streamLogs = StreamLogs(spool: spool)
        router.get("/api/v1/streams") { _, _ in
            guard let fleet else { return json(["streams": state.snapshot.streams]) }
            return json(FleetStreamsAnswer(streams: state.snapshot.streams, fleet: try await fleet.streams()))
        }
        router.post("/api/v1/streams") { request, _ in
            guard let fleet else { throw notAFleet("its streams are those of its configuration") }
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: config.value.maxJobBytes)
            } catch {
                throw HTTPError(.contentTooLarge, message: "a stream is at most \(config.value.maxJobBytes) bytes")
            }
            return json(["name": try await fleet.addStream(body)], status: .created)
        }
        router.delete("/api/v1/streams/:name") { _, context in
            guard let fleet else { throw notAFleet("its streams are those of its configuration") }
            let name = try context.parameters.require("name")
            try await fleet.removeStream(name)
            return json(["name": name], status: .accepted)
        }
        // In a fleet, `?node=` asks the named node for what it holds itself.
        router.get("/api/v1/streams/:name/logs") { request, context in
            let name = try context.parameters.require("name")
            let node = request.uri.queryParameters.get("node").map { String($0) }
            if let fleet, let node, node != fleet.fleet.node {
                return try await fleet.forward("/api/v1/streams/\(name)/logs?node=\(node)", to: node, for: "the logs")
            }
            if let fleet, node == nil {
                let (logs, unreachable) = try await fleet.streamLogs(name, local: streamLogs)
                return json(StreamLogsAnswer(logs: logs, unreachable: unreachable))
            }
            let logs = try streamLogs.list(name, node: node)
            if fleet == nil, logs.isEmpty, !config.value.streams.contains(where: { $0.name == name }) {
                throw HTTPError(.notFound, message: "no stream \(name)")
            }
            return json(StreamLogsAnswer(logs: logs, unreachable: nil))
        }
        router.get("/api/v1/streams/:name/logs/:file") { request, context in
            let name = try context.parameters.require("name")
            let file = try context.parameters.require("file")
            let path = try streamLogs.path(name, file: file)
            if let fleet, let node = request.uri.queryParameters.get("node").map { String($0) }, node != fleet.fleet.node {
                return try await fleet.forward("/api/v1/streams/\(name)/logs/\(file)?node=\(node)", to: node, for: "the log")
            }
            return try await localLog(path, context: context)
        }
        router.get("/api/v1/streams/:name/snapshot.jpg") { request, context in
            let name = try context.parameters.require("name")
            let width = try request.uri.queryParameters.get("width").map { text in
                guard let width = Int(text), (16...8192).contains(width) else {
                    throw HTTPError(.badRequest, message: "width must be a whole number of pixels from 16 to 8192")
                }
                return width
            }
            let here =
                fleet == nil
                ? config.value.streams.contains { $0.name == name } : state.snapshot.streams.contains { $0.name == name }
            if let fleet, !here, request.uri.queryParameters.get("node") == nil {
                guard let holder = try await fleet.holder(of: name) else {
                    throw HTTPError(.notFound, message: "no node tracks stream \(name)")
                }
                let query = "node=\(holder.node)" + (width.map { "&width=\($0)" } ?? "")
                return try await fleet.forward(
                    "/api/v1/streams/\(name)/snapshot.jpg?" + query, to: holder.node, at: holder.advertise, for: "the stream")
            }
            guard here else { throw HTTPError(.notFound, message: "no stream \(name)") }
            let made = await onOwnThread(named: "trackd snapshot") {
                Result { try snapshots.jpeg(stream: name, maxWidth: width) }
            }
            guard let jpeg = try made.get() else {
                throw HTTPError(.serviceUnavailable, message: "stream \(name) has no frame yet")
            }
            var response = answer(ByteBuffer(bytes: jpeg.bytes), type: "image/jpeg")
            response.headers[.cacheControl] = "no-store"
            response.headers[.init("X-Trackd-Frame")!] = String(jpeg.frame)
            return response
        }
        router.post("/api/v1/jobs") { request, _ in
            var request = request
            let limit = config.value.maxJobBytes
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: limit)
            } catch {
                throw HTTPError(.contentTooLarge, message: "jobs are at most \(limit) bytes")
            }
            if let fleet { return json(try await fleet.submit(body, api: jobs), status: .created) }
            return json(try jobs.submit(body), status: .created)
        }
        router.get("/api/v1/jobs") { _, _ in
            guard let fleet else { return json(["jobs": jobs.list()]) }
            // This node's own spool's jobs, then the fleet's (whose files here are its copies).
            let own = jobs.list().filter { fleetJobID($0.id) == nil }
            return json(["jobs": own + (try await fleet.list())])
        }
        router.get("/api/v1/jobs/:id") { _, context in
            let id = try jobID(context)
            let found = if let fleet, fleetJobID(id) != nil { try await fleet.job(id) } else { jobs.job(id) }
            guard let found else { throw HTTPError(.notFound, message: "no job \(id)") }
            return json(found)
        }
        router.get("/api/v1/jobs/:id/log") { _, context in
            let id = try jobID(context)
            if let fleet, fleetJobID(id) != nil { return try await fleet.log(id, context: context) }
            guard let found = jobs.job(id) else { throw HTTPError(.notFound, message: "no job \(id)") }
            guard let log = found.log else { throw HTTPError(.notFound, message: "job \(id) has no log yet (queued)") }
            return try await localLog(log, context: context)
        }
        router.delete("/api/v1/jobs/:id") { _, context in
            let id = try jobID(context)
            let found = if let fleet, fleetJobID(id) != nil { try await fleet.cancel(id) } else { try jobs.cancel(id) }
            guard let found else { throw HTTPError(.notFound, message: "no job \(id)") }
            return json(found, status: .accepted)
        }
        router.get("/api/v1/fleet") { _, _ in
            guard let fleet else { throw notAFleet(nil) }
            return json(try await fleet.overview())
        }
        // A slow client is closed after idleSeconds (a header sent a byte at a time
        // never completes a part), and at most maxConnections are served at once.
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(http.idleSeconds * 1e9)))),
            configuration: ApplicationConfiguration(
                address: .hostname(http.host, port: http.port), serverName: "trackd",
                availableConnectionsDelegate: .maximum(http.maxConnections, logger: logger)),
            onServerRunning: { [listening, http, logger] channel in
                let port = channel.localAddress?.port ?? http.port
                let address = http.host.contains(":") ? "[\(http.host)]:\(port)" : "\(http.host):\(port)"
                logger.info("http: listening on \(address)")
                listening(address)
            },
            logger: logger
        )
        try await withGracefulShutdownHandler {
            try await app.runService(gracefulShutdownSignals: [])
        } onGracefulShutdown: { [events] in
            // Open event streams would hold the server's shutdown for good.
            events.finish()
        }
    }

    /// Ready when nothing has stalled past `stallSeconds` (the watchdog's rule) and the
    /// spool can be written.
    private func readiness() -> Response {
        let limit = config.value.stallSeconds
        if let stalled = state.stall, stalled.seconds >= limit {
            return json(
                Readiness(ready: false, reason: "\(stalled.who) has not advanced for \(Int(stalled.seconds)) s"),
                status: .serviceUnavailable)
        }
        if let node = state.snapshot.fleet, !node.databaseReachable {
            return json(
                Readiness(ready: false, reason: "the fleet's database: \(node.lastError ?? "unreachable")"),
                status: .serviceUnavailable)
        }
        for dir in [spool.inbox, spool.processing, spool.logs] where access(dir, W_OK) != 0 {
            return json(Readiness(ready: false, reason: "\(dir) is not writable"), status: .serviceUnavailable)
        }
        return json(Readiness(ready: true, reason: nil))
    }

    private struct Readiness: Encodable {
        var ready: Bool
        var reason: String?
    }
}

/// A 404 for what only a fleet's node has.
private func notAFleet(_ instead: String?) -> HTTPError {
    HTTPError(.notFound, message: "this daemon is not a node of a fleet (no fleet section)" + (instead.map { ": " + $0 } ?? ""))
}

/// GET /api/v1/streams on a fleet's node: the streams it tracks, and the fleet's.
private struct FleetStreamsAnswer: Encodable {
    var streams: [ServiceState.Stream]
    var fleet: [StreamRow]
}

/// The `{id}` of a job's path, percent-decoded as clients encode it.
private func jobID(_ context: some RequestContext) throws -> String {
    let raw = try context.parameters.require("id")
    return raw.removingPercentEncoding ?? raw
}

/// A JSON response: keys sorted, so answers compare byte for byte.
func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data(#"{"error":"cannot encode the answer"}"#.utf8)
    return answer(ByteBuffer(bytes: data + [0x0A]), type: "application/json", status: status)
}

/// A whole answer of `type`.
func answer(_ body: ByteBuffer, type: String, status: HTTPResponse.Status = .ok) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = type
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
}

/// Errors as `{"error": "..."}` with their status code, the router's own (404, 405)
/// included.
struct ErrorsAsJSON<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            return json(["error": error.body ?? error.status.reasonPhrase], status: error.status)
        } catch {
            return json(["error": "\(error)"], status: .internalServerError)
        }
    }
}

/// Refuses a request without `Authorization: Bearer <token>` while a token is set.
struct BearerToken<Context: RequestContext>: RouterMiddleware {
    let token: @Sendable () -> String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        guard let token = token() else { return try await next(request, context) }
        let given = request.headers[.authorization] ?? ""
        guard given.hasPrefix("Bearer "), Self.same(Array(given.utf8.dropFirst(7)), Array(token.utf8)) else {
            var response = json(["error": "a bearer token is required (Authorization: Bearer <token>)"], status: .unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }

    /// Compares in time that does not depend on where the two first differ.
    private static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// What keeps a web page in a browser on this machine (or one whose name an attacker
/// points at it: DNS rebinding) from driving or reading the API, token or not:
/// - a `Host` that is a name must be `localhost`, the listen address or one of
///   `http.allowedHosts` (a rebinding page sends its own name; IP addresses cannot be
///   rebound) — 421 otherwise;
/// - an `Origin` (which browsers send on every cross-origin request and every POST or
///   DELETE) must be the API's own or one of `http.allowedOrigins` — 403 otherwise;
/// - a POST must say `Content-Type: application/json`, which no page can send to
///   another origin without the preflight this server never grants — 415 otherwise.
struct BrowserGuard<Context: RequestContext>: RouterMiddleware {
    let settings: @Sendable () -> ServiceConfig.HTTPConfig

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        let http = settings()
        let authority = request.head.authority
        if let authority, !Self.hostAllowed(authority, http) {
            throw HTTPError(
                .misdirectedRequest,
                message: "Host \(authority) is not this server's: add it to http.allowedHosts to reach the API by that name")
        }
        if let origin = request.headers[.origin], !Self.originAllowed(origin, authority: authority, http) {
            throw HTTPError(.forbidden, message: "cross-origin request from \(origin) refused: add it to http.allowedOrigins")
        }
        if request.method == .post || request.method == .put || request.method == .patch {
            let type = request.headers[.contentType] ?? ""
            let media = type.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard media.lowercased() == "application/json" else {
                throw HTTPError(
                    .unsupportedMediaType,
                    message: "send the body as Content-Type: application/json (given: \(type.isEmpty ? "none" : type))")
            }
        }
        return try await next(request, context)
    }

    /// `authority` is `host[:port]` or `[v6]:port`.
    static func hostAllowed(_ authority: String, _ http: ServiceConfig.HTTPConfig) -> Bool {
        let host = hostPart(authority).lowercased()
        if host == "localhost" || host == http.host.lowercased() { return true }
        if http.allowedHosts.contains("*") || http.allowedHosts.contains(host) { return true }
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    static func originAllowed(_ origin: String, authority: String?, _ http: ServiceConfig.HTTPConfig) -> Bool {
        if http.allowedOrigins.contains("*") || http.allowedOrigins.contains(origin) { return true }
        // The API's own page: the origin names the host and port the request went to.
        guard let authority, let url = URL(string: origin), url.scheme == "http", let host = url.host else { return false }
        let own = (host.contains(":") ? "[\(host)]" : host) + (url.port.map { ":\($0)" } ?? "")
        return own.lowercased() == authority.lowercased()
    }

    private static func hostPart(_ authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        if let colon = authority.lastIndex(of: ":"), authority.firstIndex(of: ":") == colon {
            return String(authority[..<colon])
        }
        return authority
    }
}
