import Foundation
import TestSupport
import TrackLog
import XCTest

/// `trackd serve` with `mqtt`: events to a real mosquitto broker, started by the test
/// on a loopback port, through the outbox (nothing lost while the broker is down, or
/// after `kill -9` of the daemon).
extension ServeTests {
    /// mosquitto on `port` (anonymous unless `passwords` names its password file);
    /// `persistent`: it keeps its subscribers' sessions and queued messages across a
    /// restart.
    func startBroker(port: Int, passwords: String? = nil, persistent: Bool = false, tls: TestCertificates? = nil) throws
        -> Process
    {
        let conf = dir.appendingPathComponent("mosquitto-\(port).conf").path
        // Run as root (a CI container), mosquitto would drop to its own user, who cannot
        // read the test's files.
        var text = "listener \(port) 127.0.0.1\nuser \(NSUserName())\n"
        if let tls { text += "cafile \(tls.ca)\ncertfile \(tls.cert)\nkeyfile \(tls.key)\n" }
        text += persistent ? "persistence true\npersistence_location \(dir.path)/\n" : "persistence false\n"
        text += passwords.map { "allow_anonymous false\npassword_file \($0)\n" } ?? "allow_anonymous true\n"
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
        let broker = Process()
        broker.executableURL = URL(fileURLWithPath: "/usr/sbin/mosquitto")
        broker.arguments = ["-c", conf]
        broker.standardOutput = FileHandle.nullDevice
        broker.standardError = FileHandle.nullDevice
        try spawn(broker)
        senders.append(broker)
        try wait("the broker to listen", timeout: 10) {
            guard let fd = try? connectLoopback(port: port) else { return false }
            close(fd)
            return true
        }
        return broker
    }

    /// `mosquitto_sub` on `topics` (QoS 1), each message as `topic payload` on a line of
    /// the file returned.
    /// `persistent`: a session the broker keeps (and the client reconnects to) across a
    /// restart of the broker.
    func subscribe(port: Int, topics: [String] = ["trackd/#"], persistent: Bool = false) throws -> String {
        let received = dir.appendingPathComponent("mqtt-\(UUID().uuidString).txt").path
        XCTAssertTrue(FileManager.default.createFile(atPath: received, contents: nil))
        let sub = Process()
        sub.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_sub")
        sub.arguments = [
            "-h", "127.0.0.1", "-p", String(port), "-t", "trackd/#", "-v", "-q", "1", "-i", "trackd-test-sub-\(port)"
        ]
        sub.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: received))
        sub.standardError = FileHandle.nullDevice
        try spawn(sub)
        senders.append(sub)
        Thread.sleep(forTimeInterval: 0.3)
        return received
    }

    /// The messages received on `topic`, their payloads as JSON objects.
    func messages(_ file: String, topic: String) -> [[String: Any]] {
        ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            guard line.hasPrefix(topic + " ") else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(line.dropFirst(topic.count + 1).utf8)) as? [String: Any]
        }
    }

    /// What a job's log says its events were: each track's start and end, and its
    /// analytics events, as (event, id) pairs.
    func expectedEvents(_ log: String) throws -> [String] {
        let read = try readLogWithEvents(log)
        let ids = Set(read.frames.flatMap { $0.tracks.map(\.id) })
        return (ids.flatMap { ["start \($0)", "end \($0)"] } + read.events.map { "\($0.kind.rawValue) \($0.id)" }).sorted()
    }

    /// The events received (duplicates, by `eventId`, set aside: at least once) are the
    /// `expected` ones, and in order: each track's start before its end.
    func assertDelivered(_ got: [[String: Any]], _ expected: [String], line: UInt = #line) {
        var seen = Set<String>()
        let unique = got.filter { seen.insert($0["eventId"] as? String ?? "").inserted }
        let order = unique.compactMap { e in (e["event"] as? String).map { ($0, e["id"] as? Int ?? -1) } }
        XCTAssertEqual(order.map { "\($0.0) \($0.1)" }.sorted(), expected, line: line)
        for (k, e) in order.enumerated() where e.0 == "end" {
            XCTAssertTrue(order[..<k].contains { $0 == ("start", e.1) }, "track \(e.1) starts before it ends", line: line)
        }
    }

    var countingDoor: String {
        #""analytics": {"relative": true, "lines": [{"name": "door", "from": [0.39, 0.95], "to": [0.39, 0.2]}]}"#
    }

    func testEveryEventOfAJobArrivesAtTheBrokerWithTheLogsIds() throws {
        try FileManager.default.createDirectory(atPath: spool + "/media", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 4), toPath: spool + "/media/clip.mp4")
        let port = try freeTCPPort()
        _ = try startBroker(port: port)
        let received = try subscribe(port: port)
        let daemon = try start(try config(#", "mqtt": {"url": "mqtt://127.0.0.1:\#(port)", "clientId": "trackd-test"}"#))
        try wait("online") {
            ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").contains("trackd/available online")
        }
        try #"{"video": "media/clip.mp4", \#(countingDoor)}"#.write(
            toFile: spool + "/inbox/job.json", atomically: true, encoding: .utf8)
        try wait("the job to be done") { files("done").contains("job.json") }
        let expected = try expectedEvents(spool + "/logs/job.jsonl")
        XCTAssertGreaterThan(expected.count, 4)
        var got: [[String: Any]] = []
        try wait("every event at the broker") {
            got = messages(received, topic: "trackd/events")
            return got.count >= expected.count
        }
        XCTAssertEqual(
            got.compactMap { e in (e["event"] as? String).map { "\($0) \(e["id"] as? Int ?? -1)" } }.sorted(), expected)
        XCTAssertTrue(got.allSatisfy { $0["source"] as? String == "job:job.json" })
        XCTAssertEqual(Set(got.compactMap { $0["eventId"] as? String }).count, got.count, "each event has an id of its own")
        XCTAssertEqual(stop(daemon).0, 0)
        try wait("offline") {
            ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").contains("trackd/available offline")
        }
    }

    /// The broker is down while a job runs, and the daemon is killed with its events
    /// waiting: after a restart, with the broker back, every event arrives.
    func testEventsWaitingWhenTheDaemonIsKilledAreDeliveredAfterARestart() throws {
        try FileManager.default.createDirectory(atPath: spool + "/media", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 4), toPath: spool + "/media/clip.mp4")
        let port = try freeTCPPort()
        let path = try config(#", "mqtt": {"url": "mqtt://127.0.0.1:\#(port)", "clientId": "trackd-test"}"#)
        let first = try start(path)
        try wait("the spool") { FileManager.default.fileExists(atPath: spool + "/inbox") }
        try #"{"video": "media/clip.mp4", \#(countingDoor)}"#.write(
            toFile: spool + "/inbox/job.json", atomically: true, encoding: .utf8)
        try wait("the job to be done") { files("done").contains("job.json") }
        let expected = try expectedEvents(spool + "/logs/job.jsonl")
        try wait("the receiver's backlog in the status") {
            let status = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: spool + "/status.json")))
            let receivers = (status as? [String: Any])?["receivers"] as? [[String: Any]]
            return receivers?.first?["pending"] as? Int == expected.count && receivers?.first?["state"] as? String != "connected"
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()

        _ = try startBroker(port: port)
        let received = try subscribe(port: port)
        let second = try start(path)
        var got: [[String: Any]] = []
        try wait("every event at the broker") {
            got = messages(received, topic: "trackd/events")
            return got.count >= expected.count
        }
        assertDelivered(got, expected)
        XCTAssertEqual(stop(second).0, 0)
    }

    func testABrokerThatRefusesThePasswordIsReported() throws {
        let port = try freeTCPPort()
        let passwords = dir.appendingPathComponent("passwords").path
        let made = try runProcess("/usr/bin/mosquitto_passwd", ["-c", "-b", passwords, "trackd", "right-password"])
        XCTAssertEqual(made.status, 0, made.stderr)
        _ = try startBroker(port: port, passwords: passwords)
        let secret = dir.appendingPathComponent("mqtt.pass").path
        try "wrong-password\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let daemon = try start(
            try config(
                #", "mqtt": {"url": "mqtt://127.0.0.1:\#(port)", "username": "trackd", "passwordFile": "\#(secret)"}"#))
        try wait("the refusal in the status") {
            let status = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: spool + "/status.json")))
            let receiver = ((status as? [String: Any])?["receivers"] as? [[String: Any]])?.first
            return (receiver?["lastError"] as? String ?? "").contains("not authorised")
        }
        XCTAssertTrue(daemonLog().contains("refused the connection"), daemonLog())
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// A stream's line counts and zone occupancy as retained topics, announced to Home
    /// Assistant, and the status on `PREFIX/stats`.
    func testAStreamsCountsAreRetainedTopicsAnnouncedToHomeAssistant() throws {
        let port = try freeTCPPort()
        _ = try startBroker(port: port)
        let udp = try freeUDPPort()
        let counting =
            #""analytics": {"relative": true, "lines": [{"name": "door", "from": [0.39, 0.95], "to": [0.39, 0.2], "classes": ["person"]}], "#
            + #""zones": [{"name": "queue", "polygon": [[0.5, 0.3], [0.7, 0.3], [0.7, 0.6]], "classes": ["person"]}]}"#
        let daemon = try start(
            try config(
                #", "mqtt": {"url": "mqtt://127.0.0.1:\#(port)", "clientId": "trackd-test", "homeAssistant": true, "statsSeconds": 1}, "#
                    + #""streams": [{"name": "cam", "url": "udp://127.0.0.1:\#(udp)", "options": {\#(quickProbe)}, \#(counting)}]"#
            ))
        let sender = try startSender(try clip(seconds: 4), port: udp)
        defer { stopChild(sender) }
        try wait("frames") { streamFrames("cam") >= 10 }
        // A client that comes later gets the retained values and announcements (and,
        // within a second, the status).
        var text = ""
        try wait("the counts, the announcements and the status") {
            let listen = try runProcess(
                "/usr/bin/mosquitto_sub", ["-p", String(port), "-t", "trackd/#", "-t", "homeassistant/#", "-v", "-W", "2"])
            text = listen.output
            return ["trackd/cam/door/in/person ", "trackd/cam/door/out/person ", "trackd/cam/queue/person ", "trackd/stats {"]
                .allSatisfy(text.contains)
                && text.contains("homeassistant/sensor/trackd-test/cam_door_in_person/config ")
        }
        let announcement = try XCTUnwrap(
            text.split(separator: "\n").first { $0.hasPrefix("homeassistant/sensor/trackd-test/cam_queue_person/config ") })
        let config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(announcement.split(separator: " ", maxSplits: 1)[1].utf8))
                as? [String: Any])
        XCTAssertEqual(config["state_topic"] as? String, "trackd/cam/queue/person")
        XCTAssertEqual(config["availability_topic"] as? String, "trackd/available")
        XCTAssertEqual(config["state_class"] as? String, "measurement")
        XCTAssertNotNil(config["unique_id"] as? String)
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// The broker stopped for 20 s while a job runs and started again: every event
    /// arrives once it is back (some may arrive twice: at least once), each track's
    /// start before its end.
    func testEventsDuringABrokerOutageArriveOnceItIsBack() throws {
        try FileManager.default.createDirectory(atPath: spool + "/media", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 10), toPath: spool + "/media/clip.mp4")
        let port = try freeTCPPort()
        let broker = try startBroker(port: port, persistent: true)
        let received = try subscribe(port: port, persistent: true)
        let daemon = try start(try config(#", "mqtt": {"url": "mqtt://127.0.0.1:\#(port)", "clientId": "trackd-test"}"#))
        try wait("online") {
            ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").contains("trackd/available online")
        }
        try #"{"video": "media/clip.mp4", \#(countingDoor)}"#.write(
            toFile: spool + "/inbox/job.json", atomically: true, encoding: .utf8)
        try wait("the first events") { !messages(received, topic: "trackd/events").isEmpty }
        stopChild(broker)
        Thread.sleep(forTimeInterval: 20)
        _ = try startBroker(port: port, persistent: true)
        try wait("the job to be done") { files("done").contains("job.json") }
        let expected = try expectedEvents(spool + "/logs/job.jsonl")
        var got: [[String: Any]] = []
        try wait("every event once the broker is back", timeout: 90) {
            got = messages(received, topic: "trackd/events")
            return Set(got.compactMap { $0["eventId"] as? String }).count >= expected.count
        }
        assertDelivered(got, expected)
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// At SIGHUP a bad `mqtt` section or webhook is refused (the running configuration
    /// kept) and a changed one is said to take effect at the next start.
    func testAReloadRefusesABadMQTTSectionAndSaysWhenANewOneTakesEffect() throws {
        let port = try freeTCPPort()
        let path = try config(#", "mqtt": {"url": "mqtt://127.0.0.1:\#(port)"}"#)
        let daemon = try start(path)
        try wait("the status") { FileManager.default.fileExists(atPath: spool + "/status.json") }
        try config(#", "mqtt": {"url": "mqtt://127.0.0.1:\#(port)", "qos": 3}"#)
        kill(daemon.processIdentifier, SIGHUP)
        try wait("the refusal") { daemonLog().contains("SIGHUP: keeping the running configuration") }
        XCTAssertTrue(daemonLog().contains("mqtt.qos: must be between"), daemonLog())
        try config(#", "mqtt": {"url": "mqtt://127.0.0.1:\#(port)"}, "webhooks": [{"url": "ftp://h/x"}]"#)
        kill(daemon.processIdentifier, SIGHUP)
        try wait("the second refusal") { daemonLog().contains("webhooks[0].url: must be an http:// or https:// URL") }
        try config(#", "mqtt": {"url": "mqtt://127.0.0.1:\#(port)", "topicPrefix": "site"}"#)
        kill(daemon.processIdentifier, SIGHUP)
        try wait("the warning") { daemonLog().contains("a new mqtt, webhooks or fleet section take effect at the next start") }
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// A CA and a server certificate for 127.0.0.1 signed by it, made with openssl.
    struct TestCertificates {
        var ca: String
        var cert: String
        var key: String
    }

    func makeCertificates(_ name: String) throws -> TestCertificates {
        let folder = dir.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let f = { (file: String) in folder + "/" + file }
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: f("ext.cnf"), atomically: true, encoding: .utf8)
        for arguments in [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=\(name) CA", "-keyout", f("ca.key"),
                "-out", f("ca.crt")
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", f("server.key"), "-out",
                f("server.csr")
            ],
            [
                "x509", "-req", "-in", f("server.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days",
                "1",
                "-extfile", f("ext.cnf"), "-out", f("server.crt")
            ]
        ] {
            let made = try runProcess("/usr/bin/openssl", arguments)
            XCTAssertEqual(made.status, 0, made.stderr)
        }
        return TestCertificates(ca: f("ca.crt"), cert: f("server.crt"), key: f("server.key"))
    }

    /// `mqtts://` with another CA: the failure is reported; with the broker's CA (and
    /// MQTT 5), the daemon is online.
    func testEventsGoOverTLSAndAWrongCAIsReported() throws {
        let port = try freeTCPPort()
        let good = try makeCertificates("tls")
        let other = try makeCertificates("other")
        _ = try startBroker(port: port, tls: good)
        let wrong = try start(
            try config(
                #", "mqtt": {"url": "mqtts://127.0.0.1:\#(port)", "clientId": "trackd-test", "tls": {"caFile": "\#(other.ca)"}}"#)
        )
        try wait("the failure in the status") {
            let status = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: spool + "/status.json")))
            let receiver = ((status as? [String: Any])?["receivers"] as? [[String: Any]])?.first
            return receiver?["state"] as? String == "retrying" && receiver?["lastError"] as? String != nil
        }
        XCTAssertEqual(stop(wrong).0, 0)

        let listen = Process()
        listen.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_sub")
        let received = dir.appendingPathComponent("tls-received.txt").path
        XCTAssertTrue(FileManager.default.createFile(atPath: received, contents: nil))
        listen.arguments = [
            "-h", "127.0.0.1", "-p", String(port), "--cafile", good.ca, "-t", "trackd/#", "-v", "-i", "trackd-test-tls-sub"
        ]
        listen.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: received))
        listen.standardError = FileHandle.nullDevice
        try spawn(listen)
        senders.append(listen)
        // MQTT 5 this time.
        let right = try start(
            try config(
                #", "mqtt": {"url": "mqtts://127.0.0.1:\#(port)", "clientId": "trackd-test", "protocol": "5", "#
                    + #""tls": {"caFile": "\#(good.ca)"}}"#))
        try wait("online over TLS") {
            ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").contains("trackd/available online")
        }
        XCTAssertEqual(stop(right).0, 0)
    }
}
