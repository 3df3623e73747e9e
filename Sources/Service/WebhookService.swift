import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Pipeline
import ServiceFiles
import ServiceLifecycle
import VideoIO

/// POSTs the events of one webhook's outbox to its URL, one JSON event per request, in
/// order, at least once: an event leaves the outbox when the receiver answers 2xx.
/// No answer in `timeoutSeconds`, a connection that fails, a 5xx, 408 or 429: the same
/// event is sent again after a back-off (doubling from `retryInitialSeconds` to
/// `retryMaxSeconds`, or as `Retry-After` says). Any other answer (a 4xx, a redirect)
/// would be the same at every try: the event is set aside, counted as rejected and
/// logged. With a secret, each request carries `X-Trackd-Signature-256:
/// sha256=HEX`, the HMAC-SHA256 of its body.
final class WebhookService: Service, Sendable {
    /// At a graceful shutdown, what waits is sent for at most this long (the jobs and
    /// streams stopped first, so their last events are in the outbox); the rest waits
    /// on disk for the next start.
    static let drainSeconds = 3.0

    private let config: ServiceConfig.WebhookConfig
    private let outbox: Outbox
    private let state: ServiceState
    private let logger: Logger
    private let version: String

    /// The receiver's name in the status and metrics.
    var receiver: String { "webhook:" + config.name }

    init(config: ServiceConfig.WebhookConfig, outbox: Outbox, state: ServiceState, logger: Logger, version: String) {
        self.config = config
        self.outbox = outbox
        self.state = state
        self.logger = logger
        self.version = version
    }

    func run() async throws {
        let timeout = TimeAmount.nanoseconds(Int64(config.timeoutSeconds * 1e9))
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(
                redirectConfiguration: .disallow, timeout: HTTPClient.Configuration.Timeout(connect: timeout, read: timeout)))
        // When the graceful shutdown began (monotonic seconds).
        let stopping = Locked<Double?>(nil)
        await withGracefulShutdownHandler {
            await deliver(client, stopping: stopping)
        } onGracefulShutdown: {
            stopping.value = monotonicSeconds()
        }
        try? await client.shutdown()
        outbox.saveCursor()
        state.update(receiver: receiver) { $0.state = .stopped }
    }

    private enum Outcome {
        case delivered
        /// Sending it again would get the same answer.
        case rejected(String)
        case failed(String, retryAfter: Double?)
    }

    private func deliver(_ client: HTTPClient, stopping: Locked<Double?>) async {
        let meter = ReceiverMeter(receiver: receiver, outbox: outbox, state: state, rejects: true)
        var (delivered, rejected) = (0, 0)
        var delay = config.retryInitialSeconds
        // The last failure, logged once rather than at every retry.
        var failure: String?
        // Read ahead from the outbox (a read per event would cost more than its POST).
        var ahead: ArraySlice<Outbox.Entry> = []
        while !Task.isCancelled {
            meter.report(delivered: delivered, rejected: rejected)
            if let since = stopping.value, monotonicSeconds() - since > Self.drainSeconds { break }
            if ahead.isEmpty { ahead = outbox.next(limit: 64)[...] }
            guard let entry = ahead.popFirst() else {
                outbox.sync()
                if stopping.value != nil { break }
                await pause(0.02, stopping)
                continue
            }
            switch await post(entry.line, client) {
            case .delivered:
                outbox.acknowledge(upTo: entry.end, count: 1)
                delivered += 1
                delay = config.retryInitialSeconds
                // The first answer, or back from failing: the failure is over (a rejection
                // stays the last error).
                if failure != nil { logger.info("webhook \(config.name): delivering again to \(config.url)") }
                if failure != nil || delivered == 1 {
                    state.update(receiver: receiver) { [recovered = failure != nil] in
                        $0.state = .connected
                        if recovered { $0.lastError = nil }
                    }
                }
                failure = nil
            case .rejected(let reason):
                outbox.acknowledge(upTo: entry.end, count: 1)
                rejected += 1
                logger.error("webhook \(config.name): \(reason); the event is set aside, not retried")
                state.receiverFailed(receiver, reason)
            case .failed(let reason, let retryAfter):
                outbox.rewind()
                ahead = []
                if reason != failure {
                    logger.error("webhook \(config.name): \(reason); retrying")
                    state.receiverFailed(receiver, reason)
                    failure = reason
                }
                state.update(receiver: receiver) { $0.state = .retrying }
                if stopping.value != nil { break }
                await pause(retryAfter.map { min($0, config.retryMaxSeconds) } ?? delay, stopping)
                delay = min(delay * 2, config.retryMaxSeconds)
            }
        }
        meter.report(delivered: delivered, rejected: rejected, now: true)
    }

    /// Sleeps `seconds`, or until the graceful shutdown or cancellation.
    private func pause(_ seconds: Double, _ stopping: Locked<Double?>) async {
        let end = monotonicSeconds() + seconds
        while monotonicSeconds() < end, stopping.value == nil, !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(max(0, min(0.05, end - monotonicSeconds())) * 1e9))
        }
    }

    private func post(_ body: Data, _ client: HTTPClient) async -> Outcome {
        var request = HTTPClientRequest(url: config.url)
        request.method = .POST
        request.headers = headers(for: body)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .nanoseconds(Int64(config.timeoutSeconds * 1e9)))
        } catch {
            return .failed(describe(error), retryAfter: nil)
        }
        // The answer's start, for the journal; read whole so that the connection is kept.
        let text = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
        let said = text.isEmpty ? "" : ": " + String(text.prefix(200)).replacingOccurrences(of: "\n", with: " ")
        let answer = "\(config.url) answered \(response.status.code) \(response.status.reasonPhrase)\(said)"
        switch response.status.code {
        case 200..<300:
            return .delivered
        case 408, 429, 500...:
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Double($0) }
            return .failed(answer, retryAfter: retryAfter)
        default:
            return .rejected(answer)
        }
    }

    /// The JSON body's headers: its kind and id (for routing and de-duplication without
    /// parsing it) and, with a secret, its signature.
    private func headers(for body: Data) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: "trackd/\(version)")
        let event = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        if let kind = event?["event"] as? String { headers.add(name: "X-Trackd-Event", value: kind) }
        if let id = event?["eventId"] as? String { headers.add(name: "X-Trackd-Event-Id", value: id) }
        if let secret = config.secret {
            headers.add(name: "X-Trackd-Signature-256", value: "sha256=" + Self.signature(body, secret: secret))
        }
        return headers
    }

    /// HMAC-SHA256 of `body` keyed with `secret`, in lowercase hex.
    static func signature(_ body: Data, secret: String) -> String {
        HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    /// A failed request in a line: no answer in time, or why the connection failed.
    private func describe(_ error: any Error) -> String {
        let url = config.url
        if let error = error as? HTTPClientError,
            [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error)
        {
            return "no answer from \(url) in \(config.timeoutSeconds) s"
        }
        if let error = error as? NIOConnectionError {
            let why = error.connectionErrors.first.map { failure -> String in
                (failure.error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(failure.error)"
            }
            return "cannot connect to \(url): \(why ?? "no address for \(error.host)")"
        }
        if let error = error as? IOError { return "cannot connect to \(url): " + String(cString: strerror(error.errnoCode)) }
        return "cannot POST to \(url): \(error)"
    }
}
