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
/// Off a loopback address every request needs `Authorization: Bearer <token>` (401
/// otherwise), as the configuration requires a token there.
struct HTTPService: Service {
    let http: ServiceConfig.HTTPConfig
    let config: Locked<ServiceConfig>
    let spool: Spool
    let state: ServiceState
    let running: RunningJobs
    let metrics: PrometheusCollectorRegistry
    let events: TrackEvents
    let snapshots: Snapshots
    let logger: Logger
    /// Called once the socket listens (systemd's READY=1 waits for it).
    let listening: @Sendable (String) -> Void

    func run() async throws {
        let router = Router()
        router.add(middleware: ErrorsAsJSON())
        if let token = http.token { router.add(middleware: BearerToken(token: token)) }
        let jobs = JobsAPI(spool: spool, state: state, running: running) { [config] in config.value.maxJobBytes }
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
        router.get("/api/v1/streams") { _, _ in json(["streams": state.snapshot.streams]) }
        router.get("/api/v1/streams/:name/snapshot.jpg") { request, context in
            let name = try context.parameters.require("name")
            guard config.value.streams.contains(where: { $0.name == name }) else {
                throw HTTPError(.notFound, message: "no stream \(name)")
            }
            let width = try request.uri.queryParameters.get("width").map { text in
                guard let width = Int(text), (16...8192).contains(width) else {
                    throw HTTPError(.badRequest, message: "width must be a whole number of pixels from 16 to 8192")
                }
                return width
            }
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
            return json(try jobs.submit(body), status: .created)
        }
        router.get("/api/v1/jobs") { _, _ in json(["jobs": jobs.list()]) }
        router.get("/api/v1/jobs/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let job = jobs.job(id) else { throw HTTPError(.notFound, message: "no job \(id)") }
            return json(job)
        }
        router.delete("/api/v1/jobs/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let job = try jobs.cancel(id) else { throw HTTPError(.notFound, message: "no job \(id)") }
            return json(job, status: .accepted)
        }
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(http.host, port: http.port), serverName: "trackd"),
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

/// Refuses a request without `Authorization: Bearer <token>`.
struct BearerToken<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
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
