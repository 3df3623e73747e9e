import Detection
import TestSupport
import Tracking
import XCTest

@testable import Service
@testable import ServiceFiles

/// The service's `tracker` keys sit on top of the tracker's defaults, as `trackd
/// track --config` does, and are read by the same decoder.
final class ServiceConfigTests: XCTestCase {
    func testAKeyGivenTwiceIsRefused() throws {
        XCTAssertThrowsError(
            try ServiceConfig.parse(Data(#"{"http": {"token": "0123456789abcdef", "token": "x"}}"#.utf8), file: "c.json")
        ) {
            XCTAssertEqual("\($0)", "c.json: gives the key 'token' twice in one object")
        }
    }

    func testTrackerKeysOverrideTheDefaults() throws {
        let config = try ServiceConfig.parse(Data(#"{"tracker": {"maxLostSeconds": 2}}"#.utf8), file: "c.json")
        XCTAssertEqual(config.tracker.highScore, TrackerConfig().highScore)
        XCTAssertEqual(config.tracker.maxLostSeconds, 2)
        XCTAssertEqual(try ServiceConfig.parse(Data("{}".utf8), file: "c.json").tracker, TrackerConfig())
        XCTAssertThrowsError(try ServiceConfig.parse(Data(#"{"tracker": {"noise": {"size": true}}}"#.utf8), file: "c.json")) {
            XCTAssertTrue("\($0)".hasPrefix("c.json: tracker.noise.size: "), "\($0)")
        }
    }

    /// A fleet's section: the database as a URL without its password, this node's name
    /// and address, and the HTTP API it needs.
    func testTheFleetSection() throws {
        func parse(_ fleet: String, http: Bool = true) throws -> ServiceConfig.FleetConfig? {
            try ServiceConfig.parse(Data(#"{\#(http ? #""http": {},"# : "") "fleet": \#(fleet)}"#.utf8), file: "c.json").fleet
        }
        let node = #""node": "host1", "advertise": "http://host1:8089/""#
        let fleet = try XCTUnwrap(
            try parse(
                #"{"database": "postgresql://trackd@db.lan:6432/tracks?sslmode=require", \#(node), "leaseSeconds": 5, "streamSlots": 0}"#
            ))
        XCTAssertEqual(fleet.host, "db.lan")
        XCTAssertEqual(fleet.port, 6432)
        XCTAssertEqual(fleet.user, "trackd")
        XCTAssertEqual(fleet.databaseName, "tracks")
        XCTAssertEqual(fleet.sslMode, "require")
        XCTAssertEqual(fleet.advertise, "http://host1:8089")
        XCTAssertEqual(fleet.leaseSeconds, 5)
        XCTAssertEqual(fleet.streamSlots, 0, "a node for jobs alone")
        let defaults = try XCTUnwrap(try parse(#"{"database": "postgres://trackd@db", \#(node)}"#))
        XCTAssertEqual([defaults.port, Int(defaults.leaseSeconds), defaults.streamSlots], [5432, 15, 4])
        XCTAssertEqual([defaults.databaseName, defaults.sslMode], ["trackd", "prefer"])
        XCTAssertNil(defaults.password)
        for (bad, field) in [
            (#"{"database": "mysql://trackd@db", \#(node)}"#, "database"),
            (#"{"database": "postgresql://db/trackd", \#(node)}"#, "database"),
            (#"{"database": "postgresql://trackd:secret@db/trackd", \#(node)}"#, "database"),
            (#"{"database": "postgresql://trackd@db/trackd?sslmode=allow", \#(node)}"#, "database"),
            (#"{"database": "postgresql://trackd@db", "advertise": "http://h:1"}"#, "node"),
            (#"{"database": "postgresql://trackd@db", "node": "a b", "advertise": "http://h:1"}"#, "node"),
            (#"{"database": "postgresql://trackd@db", "node": "a"}"#, "advertise"),
            (#"{"database": "postgresql://trackd@db", "node": "a", "advertise": "h:1"}"#, "advertise"),
            (#"{"database": "postgresql://trackd@db", \#(node), "leaseSeconds": 0}"#, "leaseSeconds"),
            (#"{"database": "postgresql://trackd@db", \#(node), "streamSlots": -1}"#, "streamSlots"),
            (#"{"database": "postgresql://trackd@db", \#(node), "sharedRoot": "videos"}"#, "sharedRoot"),
            (#"{"database": "postgresql://trackd@db", \#(node), "passwordFile": "/nonexistent"}"#, "passwordFile"),
            (#"{"database": "postgresql://trackd@db", \#(node), "workers": 2}"#, "workers")
        ] {
            XCTAssertThrowsError(try parse(bad), bad) { XCTAssertTrue("\($0)".hasPrefix("c.json: fleet.\(field): "), "\($0)") }
        }
        XCTAssertThrowsError(try parse(#"{"database": "postgresql://trackd@db", \#(node)}"#, http: false)) {
            XCTAssertTrue("\($0)".contains("needs the http section"), "\($0)")
        }
    }

    /// The HTTP API binds loopback unless told otherwise, and anywhere else only with
    /// a token: the rule is on the address, 127.0.0.0/8, ::1 and localhost counting
    /// as loopback.
    func testHTTPListenAndTheTokenRule() throws {
        func parse(_ http: String) throws -> ServiceConfig.HTTPConfig? {
            try ServiceConfig.parse(Data(#"{"http": \#(http)}"#.utf8), file: "c.json").http
        }
        XCTAssertNil(try ServiceConfig.parse(Data("{}".utf8), file: "c.json").http, "off when absent")
        XCTAssertEqual(try parse("{}")?.host, "127.0.0.1")
        XCTAssertEqual(try parse("{}")?.port, 8089)
        for loopback in ["127.0.0.1:80", "127.0.0.2:0", "[::1]:8089", "localhost:9000"] {
            XCTAssertEqual(try parse(#"{"listen": "\#(loopback)"}"#)?.isLoopback, true, loopback)
        }
        for open in ["0.0.0.0:8089", "10.0.0.5:80", "[::]:8089", "128.0.0.1:80"] {
            XCTAssertThrowsError(try parse(#"{"listen": "\#(open)"}"#), open) {
                XCTAssertTrue("\($0)".hasPrefix("c.json: http.token: is required"), "\($0)")
            }
            XCTAssertEqual(try parse(#"{"listen": "\#(open)", "token": "0123456789abcdef"}"#)?.token, "0123456789abcdef")
        }
        for (bad, field) in [
            (#"{"listen": "8089"}"#, "listen"), (#"{"listen": "example.com:80"}"#, "listen"),
            (#"{"listen": "1.2.3.4:70000"}"#, "listen"), (#"{"token": "short"}"#, "token"),
            (#"{"token": "0123456789abcdef", "tokenFile": "/t"}"#, "tokenFile"),
            (#"{"tokenFile": "/nonexistent/token"}"#, "tokenFile"), (#"{"port": 1}"#, "port")
        ] {
            XCTAssertThrowsError(try parse(bad), bad) { XCTAssertTrue("\($0)".hasPrefix("c.json: http.\(field): "), "\($0)") }
        }
    }

    /// Names and origins a browser may use, checked at load; a secret file that other
    /// users may read is taken with a warning, as ssh warns.
    func testAllowedHostsAndOriginsAndAReadableTokenFile() throws {
        func parse(_ http: String) throws -> ServiceConfig.HTTPConfig? {
            try ServiceConfig.parse(Data(#"{"http": \#(http)}"#.utf8), file: "c.json").http
        }
        let http = try XCTUnwrap(
            try parse(#"{"allowedHosts": ["Trackd.LAN", "*"], "allowedOrigins": ["https://ops.example.com:8443", "*"]}"#))
        XCTAssertEqual(http.allowedHosts, ["trackd.lan", "*"])
        XCTAssertEqual(http.allowedOrigins, ["https://ops.example.com:8443", "*"])
        for (bad, field) in [
            (#"{"allowedHosts": ["http://x"]}"#, "allowedHosts"), (#"{"allowedHosts": ["x:80"]}"#, "allowedHosts"),
            (#"{"allowedHosts": "x"}"#, "allowedHosts"), (#"{"allowedOrigins": ["ops.example.com"]}"#, "allowedOrigins"),
            (#"{"allowedOrigins": ["https://x/path"]}"#, "allowedOrigins"),
            (#"{"allowedOrigins": ["ftp://x"]}"#, "allowedOrigins"), (#"{"maxConnections": 0}"#, "maxConnections"),
            (#"{"idleSeconds": 0}"#, "idleSeconds")
        ] {
            XCTAssertThrowsError(try parse(bad), bad) { XCTAssertTrue("\($0)".hasPrefix("c.json: http.\(field): "), "\($0)") }
        }

        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("token").path
        try "0123456789abcdef0123".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(file, 0o644), 0)
        let open = try XCTUnwrap(try parse(#"{"tokenFile": "\#(file)"}"#))
        XCTAssertEqual(open.token, "0123456789abcdef0123")
        XCTAssertEqual(open.warnings.count, 1)
        XCTAssertTrue(open.warnings[0].contains("any user of this machine may read it (mode 644)"), "\(open.warnings)")
        XCTAssertEqual(chmod(file, 0o640), 0)
        XCTAssertEqual(try parse(#"{"tokenFile": "\#(file)"}"#)?.warnings, [])
    }

    /// A reload takes the new token and lists, but the API goes on where it listens,
    /// and off loopback never without a token.
    func testAReloadKeepsTheListenAddressAndATokenOffLoopback() throws {
        var running = ServiceConfig.HTTPConfig()
        (running.host, running.port, running.token) = ("0.0.0.0", 8089, "old-token-0123456789")
        var fresh = ServiceConfig()
        fresh.http = ServiceConfig.HTTPConfig()
        fresh.http?.token = "new-token-0123456789"
        let kept = try Daemon.reloaded(fresh, listening: running, file: "c.json")
        XCTAssertEqual(kept.http?.host, "0.0.0.0")
        XCTAssertEqual(kept.http?.token, "new-token-0123456789")
        fresh.http?.token = nil
        XCTAssertThrowsError(try Daemon.reloaded(fresh, listening: running, file: "c.json")) {
            XCTAssertTrue("\($0)".hasPrefix("c.json: http.token: "), "\($0)")
        }
        fresh.http = nil
        XCTAssertEqual(
            try Daemon.reloaded(fresh, listening: running, file: "c.json").http, running, "http removed: kept as it runs")
        fresh.http = running
        XCTAssertNil(try Daemon.reloaded(fresh, listening: nil, file: "c.json").http, "not started: not started by a reload")
    }

    /// Where URL jobs may fetch from: listed names, suffixes and addresses; with no
    /// list, anywhere, but not this host's loopback or link-local services for jobs
    /// that came over a token-protected API.
    func testURLJobHosts() throws {
        let listed = try ServiceConfig.parse(
            Data(#"{"urlJobs": {"allowHosts": ["NAS.example", ".cdn.example", "10.0.0.5"]}}"#.utf8), file: "c.json"
        ).urlJobs
        for url in ["http://nas.example/a.mp4", "https://a.cdn.example/b.mp4", "http://10.0.0.5:8080/c.mp4"] {
            XCTAssertNil(listed.refusal(of: url, guarded: true), url)
        }
        for url in ["http://evil.example/a.mp4", "http://cdn.example.evil/a.mp4", "http://127.0.0.1/a.mp4"] {
            XCTAssertEqual(listed.refusal(of: url, guarded: false)?.hasSuffix("is not in urlJobs.allowHosts"), true, url)
        }
        let open = URLJobHosts()
        for url in [
            "http://127.0.0.1:8089/api/v1/status", "http://localhost/a.mp4", "http://[::1]/a.mp4",
            "http://169.254.169.254/latest",
            "http://0.0.0.0:22/", "http://[::ffff:127.0.0.1]/a.mp4"
        ] {
            XCTAssertEqual(open.refusal(of: url, guarded: true)?.contains("a loopback or link-local address"), true, url)
            XCTAssertNil(open.refusal(of: url, guarded: false), "a job file dropped by hand: \(url)")
        }
        XCTAssertNil(open.refusal(of: "http://10.1.2.3/a.mp4", guarded: true))
        XCTAssertThrowsError(try ServiceConfig.parse(Data(#"{"urlJobs": {"allowHosts": ["http://x"]}}"#.utf8), file: "c.json")) {
            XCTAssertTrue("\($0)".hasPrefix("c.json: urlJobs.allowHosts: "), "\($0)")
        }
    }

    func testDetectorInputSizeShapeAndNMSMode() throws {
        let config = try ServiceConfig.parse(
            Data(#"{"detector": {"inputSize": 512, "inputShape": "fitted", "classAwareNMS": true}}"#.utf8), file: "c.json")
        XCTAssertEqual(config.detector.options.inputSize, 512)
        XCTAssertEqual(config.detector.options.inputShape, .fitted)
        XCTAssertEqual(try ServiceConfig.parse(Data("{}".utf8), file: "c.json").detector.options.inputShape, .square)
        XCTAssertThrowsError(try ServiceConfig.parse(Data(#"{"detector": {"inputShape": "round"}}"#.utf8), file: "c.json")) {
            XCTAssertEqual("\($0)", "c.json: detector.inputShape: must be one of square, fitted")
        }
        XCTAssertTrue(config.detector.options.classAwareNMS)
        XCTAssertFalse(try ServiceConfig.parse(Data("{}".utf8), file: "c.json").detector.options.classAwareNMS)
        XCTAssertThrowsError(try ServiceConfig.parse(Data(#"{"detector": {"classAwareNMS": 1}}"#.utf8), file: "c.json")) {
            XCTAssertEqual("\($0)", "c.json: detector.classAwareNMS: must be true or false")
        }
    }

    func testStreamOptionsNoFFmpegComponentTakesAreRefusedAtLoad() throws {
        let good =
            #"{"streams": [{"name": "cam", "url": "rtsp://10.0.0.5/live", "options": {"rtsp_transport": "tcp", "rw_timeout": "1000000", "probesize": "65536"}}]}"#
        XCTAssertEqual(try ServiceConfig.parse(Data(good.utf8), file: "c.json").streams.first?.options.count, 3)
        let bad =
            #"{"streams": [{"name": "cam", "url": "rtsp://10.0.0.5/live", "options": {"rtsp_transport": "tcp", "rtsp_trasnport": "tcp"}}]}"#
        XCTAssertThrowsError(try ServiceConfig.parse(Data(bad.utf8), file: "c.json")) {
            XCTAssertEqual("\($0)", "c.json: streams[0].options: no FFmpeg demuxer or protocol takes the option 'rtsp_trasnport'")
        }
    }

    /// A stream's analytics, inline or in a file beside the configuration, read when the
    /// configuration is; a bad one stops the load (or a reload) naming its key.
    func testAStreamsAnalyticsAreReadInlineOrFromAFileAndABadOneNamesItsKey() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inline =
            #"{"streams": [{"name": "cam", "url": "rtsp://10.0.0.5/live", "#
            + #""analytics": {"lines": [{"name": "door", "from": [0, 0], "to": [0, 9]}]}}]}"#
        XCTAssertEqual(
            try ServiceConfig.parse(Data(inline.utf8), file: "c.json").streams.first?.analytics?.lines.first?.name, "door")
        try #"{"zones": [{"name": "queue", "polygon": [[0, 0], [9, 0], [9, 9]]}]}"#.write(
            to: dir.appendingPathComponent("cam.json"), atomically: true, encoding: .utf8)
        let config = dir.appendingPathComponent("trackd.json").path
        try #"{"streams": [{"name": "cam", "url": "rtsp://10.0.0.5/live", "analytics": "cam.json"}]}"#.write(
            toFile: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ServiceConfig.load(config).streams.first?.analytics?.zones.first?.name, "queue")

        let bad =
            #"{"streams": [{"name": "cam", "url": "rtsp://10.0.0.5/live", "#
            + #""analytics": {"zones": [{"name": "z", "polygon": [[0,0],[9,9],[9,0],[0,9]]}]}}]}"#
        XCTAssertThrowsError(try ServiceConfig.parse(Data(bad.utf8), file: "c.json")) {
            XCTAssertEqual("\($0)", "c.json: streams[0].analytics.zones[0].polygon: the polygon crosses itself (edges 0 and 2)")
        }
        try #"{"lines": [{"name": "a", "from": [1, 1], "to": [1, 1]}]}"#.write(
            to: dir.appendingPathComponent("cam.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ServiceConfig.load(config)) {
            XCTAssertEqual(
                "\($0)", dir.appendingPathComponent("cam.json").path + ": lines[0].to: the line has no length (to = from)")
        }
    }

    func testTheMQTTSectionIsReadAndABadOneNamesItsKey() throws {
        let good =
            #"{"mqtt": {"url": "mqtts://broker.example:8884", "topicPrefix": "site/a", "clientId": "cam-host", "qos": 0, "protocol": "5", "homeAssistant": true}}"#
        let mqtt = try XCTUnwrap(try ServiceConfig.parse(Data(good.utf8), file: "c.json").mqtt)
        XCTAssertEqual(
            [mqtt.host, String(mqtt.port), mqtt.topicPrefix, mqtt.clientId], ["broker.example", "8884", "site/a", "cam-host"])
        XCTAssertEqual([mqtt.qos, mqtt.protocolVersion], [0, 5])
        XCTAssertTrue(mqtt.tls && mqtt.homeAssistant)
        XCTAssertEqual(try ServiceConfig.parse(Data(#"{"mqtt": {}}"#.utf8), file: "c.json").mqtt?.port, 1883)
        for (json, message) in [
            (#"{"mqtt": {"url": "http://broker"}}"#, "c.json: mqtt.url: must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"),
            (#"{"mqtt": {"url": "mqtt://user:pw@broker"}}"#, "c.json: mqtt.url: must be mqtt://"),
            (#"{"mqtt": {"qos": 2}}"#, "c.json: mqtt.qos: must be between 0.0 and 1.0"),
            (#"{"mqtt": {"topicPrefix": "a/#"}}"#, "c.json: mqtt.topicPrefix: must be a topic without wildcards"),
            (#"{"mqtt": {"passwordFile": "/nonexistent/pass"}}"#, "c.json: mqtt.passwordFile: cannot read /nonexistent/pass"),
            (#"{"mqtt": {"tls": {"caFile": "/etc/hostname"}}}"#, "c.json: mqtt.tls: needs an mqtts:// url"),
            (#"{"mqtt": {"protocol": "4"}}"#, "c.json: mqtt.protocol: must be \"3.1.1\" or \"5\""),
            (#"{"mqtt": {"urls": "mqtt://broker"}}"#, "c.json: mqtt.urls: unknown field")
        ] {
            XCTAssertThrowsError(try ServiceConfig.parse(Data(json.utf8), file: "c.json"), json) {
                XCTAssertTrue("\($0)".hasPrefix(message), "\(json): \($0)")
            }
        }
    }

    func testWebhooksAreReadWithNamesOfTheirOwnAndABadOneNamesItsKey() throws {
        let secret = NSTemporaryDirectory() + "/trackd-hook-\(UUID().uuidString)"
        try "s3cret\n".write(toFile: secret, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secret) }
        let good =
            #"{"webhooks": [{"url": "https://hooks.example.com/trackd/in", "events": ["line", "loiter"], "secretFile": "\#(secret)"}, {"url": "http://10.0.0.5:8123/api/webhook/abc", "name": "ha", "timeoutSeconds": 2}]}"#
        let hooks = try ServiceConfig.parse(Data(good.utf8), file: "c.json").webhooks
        XCTAssertEqual(hooks.map(\.name), ["hooks.example.com-trackd-in", "ha"])
        XCTAssertEqual(hooks.map(\.events), [["line", "loiter"], nil])
        XCTAssertEqual(hooks.map(\.secret), ["s3cret", nil])
        XCTAssertEqual(hooks.map(\.timeoutSeconds), [10, 2])
        let twice = #"{"url": "http://h/a", "events": ["start"]}"#
        for (json, message) in [
            (#"{"webhooks": [{"url": "ftp://h/a"}]}"#, "c.json: webhooks[0].url: must be an http:// or https:// URL"),
            (#"{"webhooks": [{"url": "https://u:p@h/a"}]}"#, "c.json: webhooks[0].url: must be an http:// or https:// URL"),
            (#"{"webhooks": [{}]}"#, "c.json: webhooks[0].url: must be an http:// or https:// URL"),
            (
                #"{"webhooks": [{"url": "http://h/a", "events": ["line", "cross"]}]}"#,
                "c.json: webhooks[0].events: 'cross' is not an event"
            ),
            (#"{"webhooks": [{"url": "http://h/a", "events": []}]}"#, "c.json: webhooks[0].events: must name at least one"),
            ("{\"webhooks\": [\(twice), \(twice)]}", "c.json: webhooks[1].name: 'h-a' names two webhooks"),
            (#"{"webhooks": [{"url": "http://h/a", "name": "a/b"}]}"#, "c.json: webhooks[0].name: must be a non-empty name"),
            (
                #"{"webhooks": [{"url": "http://h/a", "secretFile": "/nonexistent/s"}]}"#,
                "c.json: webhooks[0].secretFile: cannot read"
            ),
            (
                #"{"webhooks": [{"url": "http://h/a", "retryInitialSeconds": 5, "retryMaxSeconds": 1}]}"#,
                "c.json: webhooks[0].retryMaxSeconds: must be between 5.0"
            ),
            (#"{"webhooks": [{"url": "http://h/a", "header": "x"}]}"#, "c.json: webhooks[0].header: unknown field"),
            (#"{"webhooks": {"url": "http://h/a"}}"#, "c.json: webhooks: must be a list")
        ] {
            XCTAssertThrowsError(try ServiceConfig.parse(Data(json.utf8), file: "c.json"), json) {
                XCTAssertTrue("\($0)".hasPrefix(message), "\(json): \($0)")
            }
        }
    }
}
