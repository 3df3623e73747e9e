import Detection
import Fleet
import Foundation
import Logging
import Metrics
import Pipeline
import PostgresNIO
import Prometheus
import ServiceFiles
import ServiceLifecycle

/// `trackd serve`: the daemon as a `ServiceGroup` — the spool's job workers, one
/// service per live stream, and the status writer — with SIGTERM and SIGINT as
/// graceful-shutdown signals and SIGHUP to reload the configuration.
public enum Daemon {
    /// Runs until a shutdown signal; throws when the configuration, spool or model
    /// is not usable (before READY=1 is sent).
    public static func run(configPath: String, version: String, logger: Logger) async throws {
        // First of all: SIGHUP's default action would end the process.
        signal(SIGHUP, SIG_IGN)
        // Every descriptor the system allows (the unit raises the hard limit): the API's
        // connections are capped well below, so streams and logs keep theirs.
        var files = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files) == 0, files.rlim_cur < files.rlim_max {
            files.rlim_cur = files.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files)
        }
        let config = try ServiceConfig.load(configPath)
        for warning in config.http?.warnings ?? [] { logger.warning("\(configPath): \(warning)") }
        let spool = try Spool(root: config.spool)
        // The model must load before the service says it is ready (nothing else runs
        // yet, so its front end may be silenced); every job and stream then shares it.
        // Compiled for as many frames at once as run most of the time: streams run all
        // the time, jobs now and then, so one stream beside an idle worker keeps the
        // latency setting (every core on each frame).
        let detectors = DetectorPool(concurrency: max(config.workers, config.fleet?.streamSlots ?? config.streams.count))
        let model = try loadDetector(detectors.options(config.detector))
        detectors.share(model, settings: config.detector)
        logger.info("model: \(model.summary), for \(detectors.concurrency) frame(s) at once")

        // A node of a fleet joins it before anything runs: a name another live process
        // holds, or a database it cannot reach, stops it here with the reason.
        var fleetNode: (store: FleetStore, generation: Int64)?
        var database: Task<Void, Never>?
        defer { database?.cancel() }
        if let fleet = config.fleet {
            for warning in fleet.warnings { logger.warning("\(configPath): \(warning)") }
            // The client's own messages (a connection attempt refused, every few
            // milliseconds while the database is down) only when they are serious: the
            // fleet's loop reports the failure once, in words.
            var quiet = logger
            quiet.logLevel = .critical
            let client = PostgresClient(configuration: try Self.databaseConfiguration(fleet), backgroundLogger: quiet)
            database = Task { await client.run() }
            let store = FleetStore(client: client, logger: logger)
            let node = NodeInfo(
                name: fleet.node, advertise: fleet.advertise, workers: config.workers, streamSlots: fleet.streamSlots,
                leaseSeconds: fleet.leaseSeconds)
            // This node's configured streams become the fleet's: any node may track them.
            let declared = try Self.streamEntries(configPath)
            do {
                let generation = try await withDeadline(seconds: 30, "joining the fleet") {
                    try await store.migrate()
                    let generation = try await store.register(node)
                    try await store.declare(streams: declared)
                    return generation
                }
                fleetNode = (store, generation)
                logger.info(
                    "fleet: joined as \(fleet.node) (generation \(generation)) at \(fleet.host):\(fleet.port)/\(fleet.databaseName)"
                )
            } catch {
                throw ServiceError.fleet("\(fleet.database): \(databaseErrorDescription(error))")
            }
        }
        let box = Locked(config)
        let state = ServiceState()
        let notifier = Notifier()
        // Metrics for /metrics: swift-metrics' process-wide backend, set once.
        let metrics = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: metrics)
        // Zone visits last seconds to hours.
        factory.valueHistogramBuckets["trackd_zone_dwell_seconds"] = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]
        MetricsSystem.bootstrap(factory)
        Gauge(label: "trackd_build_info", dimensions: [("version", version)]).record(1)
        // The jobs' series exist, at 0, before the first job (the streams' do as their
        // services start).
        _ = JobRunner.metrics
        let running = RunningJobs()
        // Events to a broker or a webhook wait in an outbox under the spool until it
        // takes them. Their services come first: the last to be stopped, after the jobs
        // and streams.
        var services: [any Service] = []
        var destinations: [TrackEvents.Destination] = []
        let counts = config.mqtt.map { _ in MQTTCounts() }
        if let mqtt = config.mqtt, let counts {
            let outbox = try Outbox(directory: spool.root + "/outbox/" + MQTTService.receiver, maxBytes: mqtt.maxOutboxBytes)
            destinations.append(TrackEvents.Destination(outbox: outbox))
            services.append(MQTTService(config: mqtt, outbox: outbox, counts: counts, state: state, logger: logger))
        }
        for hook in config.webhooks {
            for warning in hook.warnings { logger.warning("\(configPath): \(warning)") }
            let outbox = try Outbox(directory: spool.root + "/outbox/webhook-" + hook.name, maxBytes: hook.maxOutboxBytes)
            destinations.append(TrackEvents.Destination(outbox: outbox, kinds: hook.events))
            services.append(WebhookService(config: hook, outbox: outbox, state: state, logger: logger, version: version))
        }
        let events = TrackEvents(destinations: destinations)
        let snapshots = Snapshots()
        services += [
            SpoolService(
                spool: spool, config: box, detectors: detectors, state: state, logger: logger, version: version, running: running,
                events: events)
        ]
        var fleetAPI: FleetAPI?
        if let fleet = config.fleet, let (store, generation) = fleetNode {
            let runner = JobRunner(
                spool: spool, detectors: detectors, state: state, logger: logger, version: version, running: running,
                events: events)
            let streams = FleetStreams(slots: fleet.streamSlots, state: state, logger: logger) { stream, leased in
                StreamService(
                    stream: stream, spool: spool, config: box, detectors: detectors, state: state, logger: logger,
                    version: version, events: events, snapshots: snapshots, counts: counts, leased: leased)
            }
            services.append(
                FleetService(
                    store: store, fleet: fleet, generation: generation, config: box, spool: spool, running: running,
                    runner: runner, streams: streams, state: state, logger: logger))
            fleetAPI = FleetAPI(store: store, fleet: fleet, spool: spool) { [box] in box.value.http?.token }
        }
        // In a fleet, streams run where the fleet leases them (above).
        for stream in config.streams where config.fleet == nil {
            services.append(
                StreamService(
                    stream: stream, spool: spool, config: box, detectors: detectors, state: state, logger: logger,
                    version: version, events: events, snapshots: snapshots, counts: counts))
        }
        services.append(StatusService(state: state, config: box, notifier: notifier, logger: logger))
        // Ready once everything can be asked for: with the HTTP API, once it listens.
        let ready: @Sendable () -> Void = { notifier.notify("READY=1", "STATUS=" + state.summary) }
        if let http = config.http {
            services.append(
                HTTPService(
                    http: http, config: box, spool: spool, state: state, running: running, metrics: metrics, events: events,
                    snapshots: snapshots, fleet: fleetAPI, logger: logger
                ) { address in
                    state.httpListening(on: address)
                    ready()
                })
        }

        // SIGHUP: read the configuration again; jobs that start afterwards use it, and
        // the HTTP API's next request its token and allowed hosts and origins.
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler {
            do {
                let given = try ServiceConfig.load(configPath)
                let fresh = try Self.reloaded(given, listening: config.http, file: configPath)
                if fresh.spool != box.value.spool || fresh.streams != box.value.streams || fresh.mqtt != box.value.mqtt
                    || fresh.webhooks != box.value.webhooks || fresh.fleet != box.value.fleet
                {
                    logger.warning(
                        "reloaded \(configPath): a new spool, new streams, a new mqtt, webhooks or fleet section take effect at the next start"
                    )
                }
                if given.http?.host != fresh.http?.host || given.http?.port != fresh.http?.port {
                    logger.warning(
                        "reloaded \(configPath): a new http.listen (or http added or removed) takes effect at the next start")
                }
                for warning in fresh.http?.warnings ?? [] { logger.warning("\(configPath): \(warning)") }
                box.value = fresh
                logger.info("reloaded \(configPath)")
            } catch {
                logger.error("SIGHUP: keeping the running configuration: \(error)")
            }
        }
        hangup.resume()
        defer { hangup.cancel() }

        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        logger.info("serving \(config.spool) with \(config.workers) worker(s) and \(config.streams.count) stream(s)")
        if config.http == nil { ready() }
        try await group.run()
        logger.info("stopped")
    }

    /// The configuration's `streams` entries as JSON objects, each as given (an
    /// analytics file read into it), for the fleet's database.
    static func streamEntries(_ configPath: String) throws -> [(name: String, spec: String)] {
        let object = try StrictJSON.object(try Data(contentsOf: URL(fileURLWithPath: configPath)))
        let folder = URL(fileURLWithPath: configPath).deletingLastPathComponent().path
        return try (object["streams"] as? [[String: Any]] ?? []).map { entry in
            var entry = entry
            if let file = entry["analytics"] as? String {
                let path = file.hasPrefix("/") ? file : folder + "/" + file
                entry["analytics"] = try StrictJSON.object(try Data(contentsOf: URL(fileURLWithPath: path)))
            }
            let spec = String(decoding: try JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]), as: UTF8.self)
            return (entry["name"] as? String ?? "", spec)
        }
    }

    /// How a node reaches the fleet's database: sslmode as libpq's (`prefer` and
    /// `require` encrypt without checking the server's certificate, `verify-full` checks
    /// it and its name). A few connections: a node's statements run one after another.
    static func databaseConfiguration(_ fleet: ServiceConfig.FleetConfig) throws -> PostgresClient.Configuration {
        var unchecked = TLSConfiguration.makeClientConfiguration()
        unchecked.certificateVerification = .none
        let tls: PostgresClient.Configuration.TLS =
            switch fleet.sslMode {
            case "disable": .disable
            case "require": .require(unchecked)
            case "verify-full": .require(.makeClientConfiguration())
            default: .prefer(unchecked)
            }
        var configuration = PostgresClient.Configuration(
            host: fleet.host, port: fleet.port, username: fleet.user, password: fleet.password, database: fleet.databaseName,
            tls: tls)
        configuration.options.maximumConnections = 3
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// The configuration a reload puts in force: `fresh`, except that the HTTP API goes
    /// on listening where it listens (`listening`; none if it was not started), and
    /// off loopback only with a token.
    static func reloaded(_ fresh: ServiceConfig, listening: ServiceConfig.HTTPConfig?, file: String) throws -> ServiceConfig {
        var fresh = fresh
        guard let listening else {
            fresh.http = nil
            return fresh
        }
        var http = fresh.http ?? listening
        (http.host, http.port) = (listening.host, listening.port)
        if http.token == nil, !http.isLoopback {
            throw ConfigError(
                file: file, field: "http.token",
                reason: "the API listens on \(http.host), off loopback, until a restart: a token is still required")
        }
        fresh.http = http
        return fresh
    }
}
