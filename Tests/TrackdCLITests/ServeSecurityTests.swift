import Foundation
import TestSupport
import XCTest

/// What a web page in a browser on the daemon's host cannot do to its API, and what a
/// reload of the configuration changes at once, asked over loopback with requests
/// written byte for byte (a client library would not send a foreign `Host`).
extension ServeTests {
    /// One request to the daemon's API at `port`, written byte for byte.
    func ask(
        _ port: Int, _ method: String, _ target: String, host: String? = nil, headers: [String] = [], body: String = ""
    ) throws -> (status: Int, body: String) {
        let lines =
            ["\(method) \(target) HTTP/1.1", "Host: \(host ?? "127.0.0.1:\(port)")", "Connection: close"] + headers
            + (method == "GET" ? [] : ["Content-Length: \(body.utf8.count)"])
        return try rawHTTP(port: port, lines.joined(separator: "\r\n") + "\r\n\r\n" + body)
    }

    func testAWebPageCannotDriveTheLoopbackAPIAndAReloadChangesTheToken() throws {
        let port = try freeTCPPort()
        let path = try config(#", "http": {"listen": "127.0.0.1:\#(port)"}"#)
        let daemon = try start(path)
        _ = try listeningAddress()
        let evil = "Origin: http://evil.example"
        let json = "Content-Type: application/json"
        let job = #"{"source": "media/none.mp4"}"#
        let cases: [(String, String, String?, [String], String, Int)] = [
            // A cross-site "simple" POST: no preflight, so the server must refuse it.
            ("POST", "/api/v1/jobs", nil, ["Content-Type: text/plain", evil], job, 403),
            ("POST", "/api/v1/jobs", nil, ["Content-Type: text/plain"], job, 415),
            ("POST", "/api/v1/jobs", nil, ["Content-Type: application/x-www-form-urlencoded"], job, 415),
            ("POST", "/api/v1/jobs", nil, [], job, 415),
            ("POST", "/api/v1/jobs", nil, [json, evil], job, 403),
            ("POST", "/api/v1/jobs", nil, [json, "Origin: null"], job, 403),
            ("DELETE", "/api/v1/jobs/x.json", nil, [evil], "", 403),
            ("GET", "/api/v1/status", nil, [evil], "", 403),
            // DNS rebinding: the page's own name, pointed at 127.0.0.1.
            ("GET", "/api/v1/status", "evil.example:\(port)", [], "", 421),
            ("GET", "/api/v1/streams/cam/snapshot.jpg", "evil.example", [], "", 421),
            ("POST", "/api/v1/jobs", "evil.example:\(port)", [json], job, 421),
            // This machine's own names and addresses, and the API's own page.
            ("GET", "/api/v1/status", "localhost:\(port)", [], "", 200),
            ("GET", "/api/v1/status", "[::1]:\(port)", [], "", 200),
            ("GET", "/api/v1/status", nil, ["Origin: http://127.0.0.1:\(port)"], "", 200),
            // Past the guard, the body is checked: an empty job is a 400, not a 415.
            ("POST", "/api/v1/jobs", nil, ["Content-Type: application/json; charset=utf-8"], "{}", 400)
        ]
        for (method, target, host, headers, body, expected) in cases {
            let answer = try ask(port, method, target, host: host, headers: headers, body: body)
            XCTAssertEqual(answer.status, expected, "\(method) \(target) \(host ?? "") \(headers): \(answer.body)")
            if expected >= 400 { XCTAssertTrue(answer.body.contains(#""error""#), answer.body) }
        }
        // Bodies read strictly, with what is wrong.
        for (body, message) in [
            (#"{"source": "media/a.mp4", "source": "/etc/passwd"}"#, "the body gives the key 'source' twice"),
            (#"{"source": "media/a.mp4\u0000.txt"}"#, "'source' holds a control character"),
            (#"{"source": "media/a.mp4", "options": {"stride": 1e400}}"#, "the body is not valid JSON (Number 1e400")
        ] {
            let answer = try ask(port, "POST", "/api/v1/jobs", headers: [json], body: body)
            XCTAssertEqual(answer.status, 400, body)
            XCTAssertTrue(answer.body.contains(message), "\(body): \(answer.body)")
        }
        XCTAssertEqual(files("inbox"), [], "no job got through")

        // A job's error report is not a job; an id may come percent-encoded.
        try Data("x".utf8).write(to: URL(fileURLWithPath: spool + "/failed/old.mp4"))
        try Data(#"{"error": "broken"}"#.utf8).write(to: URL(fileURLWithPath: spool + "/failed/old.mp4.error.json"))
        XCTAssertEqual(try ask(port, "GET", "/api/v1/jobs/old.mp4.error.json").status, 404)
        let encoded = try ask(port, "GET", "/api/v1/jobs/old%2Emp4")
        XCTAssertEqual(encoded.status, 200, encoded.body)
        XCTAssertTrue(encoded.body.contains(#""error":"broken""#) && encoded.body.contains(#""state":"failed""#), encoded.body)

        // A reload: a token (the old configuration had none), a name and an origin.
        let first = "first-token-0123456789"
        let second = "second-token-0123456789"
        func reload(token: String) throws {
            let before = daemonLog().components(separatedBy: "reloaded \(path)").count
            _ = try config(
                #", "http": {"listen": "127.0.0.1:\#(port)", "token": "\#(token)", "allowedHosts": ["trackd.lan"], "allowedOrigins": ["https://ops.example.com"]}"#
            )
            kill(daemon.processIdentifier, SIGHUP)
            try wait("the reload") { daemonLog().components(separatedBy: "reloaded \(path)").count > before }
        }
        try reload(token: first)
        XCTAssertEqual(try ask(port, "GET", "/api/v1/status").status, 401, "a token is now required")
        XCTAssertEqual(try ask(port, "GET", "/api/v1/status", headers: ["Authorization: Bearer \(first)"]).status, 200)
        XCTAssertEqual(
            try ask(port, "GET", "/api/v1/status", host: "trackd.lan:\(port)", headers: ["Authorization: Bearer \(first)"])
                .status,
            200, "an allowed name")
        XCTAssertEqual(
            try ask(
                port, "GET", "/api/v1/status", headers: ["Authorization: Bearer \(first)", "Origin: https://ops.example.com"]
            ).status, 200, "an allowed origin")
        // A leaked token is revoked by the next reload.
        try reload(token: second)
        XCTAssertEqual(try ask(port, "GET", "/api/v1/status", headers: ["Authorization: Bearer \(first)"]).status, 401)
        XCTAssertEqual(try ask(port, "GET", "/api/v1/status", headers: ["Authorization: Bearer \(second)"]).status, 200)

        // A new listen address waits for a restart, and says so.
        _ = try config(#", "http": {"listen": "127.0.0.1:\#(try freeTCPPort())", "token": "\#(second)"}"#)
        kill(daemon.processIdentifier, SIGHUP)
        try wait("the warning") {
            daemonLog().contains("a new http.listen (or http added or removed) takes effect at the next start")
        }
        XCTAssertEqual(try ask(port, "GET", "/api/v1/status", headers: ["Authorization: Bearer \(second)"]).status, 200)
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// Slow clients (a header sent a byte at a time, or never finished) are closed
    /// after idleSeconds, at most maxConnections are served at once, and the API still
    /// answers.
    func testSlowClientsAreClosedAndCappedAndTheAPIStillAnswers() throws {
        let port = try freeTCPPort()
        let daemon = try start(
            try config(#", "http": {"listen": "127.0.0.1:\#(port)", "maxConnections": 16, "idleSeconds": 1}"#))
        _ = try listeningAddress()
        let descriptors = {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.processIdentifier)/fd"))?.count ?? 0
        }
        let before = descriptors()
        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        for _ in 0..<60 {
            let fd = try connectLoopback(port: port)
            sockets.append(fd)
            let start = Array("GET /healthz HTTP/1.1\r\nHo".utf8)
            XCTAssertEqual(write(fd, start, start.count), start.count)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertLessThanOrEqual(descriptors() - before, 16 + 2, "no more than maxConnections taken")
        // Each is closed by the server (an end of file here) once idle for a second;
        // those waiting in the listen queue are taken and closed in turn.
        var open = Set(sockets)
        try wait("every slow client to be closed", timeout: 30) {
            var buffer = [UInt8](repeating: 0, count: 4096)
            for fd in open {
                let n = read(fd, &buffer, buffer.count)
                if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { open.remove(fd) }
            }
            return open.isEmpty
        }
        let health = try ask(port, "GET", "/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// URL jobs fetch only where urlJobs.allowHosts says, before and after redirects;
    /// with a token and no list, not from this host's loopback services.
    func testURLJobsFetchOnlyWhereAllowedBeforeAndAfterRedirects() throws {
        // A whole-file recording (index first), as a server without byte ranges serves it.
        let clip = dir.appendingPathComponent("clip.mp4").path
        let made = try runProcess(
            "ffmpeg", ["-v", "error", "-y", "-i", Fixtures.path("h264.mp4"), "-c", "copy", "-movflags", "+faststart", clip])
        XCTAssertEqual(made.status, 0, made.stderr)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = [
            "-c",
            """
            import http.server, sys
            class Redirect(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    if self.path == "/clip.mp4":
                        data = open(sys.argv[1], "rb").read()
                        self.send_response(200)
                        self.send_header("Content-Type", "video/mp4")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                    self.send_response(302)
                    self.send_header("Location", "http://127.0.0.1:%d/clip.mp4" % self.server.server_port)
                    self.end_headers()
                def log_message(self, *args):
                    pass
            s = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
            print(s.server_port, flush=True)
            s.serve_forever()
            """,
            clip
        ]
        let out = Pipe()
        server.standardOutput = out
        try spawn(server)
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let web = try XCTUnwrap(
            Int(
                String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(
                    in: .whitespacesAndNewlines)))
        let port = try freeTCPPort()
        let path = try config(#", "urlJobs": {"allowHosts": ["localhost"]}, "http": {"listen": "127.0.0.1:\#(port)"}"#)
        let daemon = try start(path)
        _ = try listeningAddress()
        func submit(_ url: String) throws -> (status: Int, body: String) {
            try ask(port, "POST", "/api/v1/jobs", headers: ["Content-Type: application/json"], body: #"{"source": "\#(url)"}"#)
        }
        let direct = try submit("http://127.0.0.1:\(web)/clip.mp4")
        XCTAssertEqual(direct.status, 400)
        XCTAssertTrue(direct.body.contains("127.0.0.1 is not in urlJobs.allowHosts"), direct.body)

        let redirected = try submit("http://localhost:\(web)/r.mp4")
        XCTAssertEqual(redirected.status, 201, redirected.body)
        let id = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(redirected.body.utf8)) as? [String: Any])?["id"] as? String)
        try wait("the redirected job to fail") { files("failed").contains(id + ".error.json") }
        let report = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: spool + "/failed/\(id).error.json")))
                as? [String: Any])
        XCTAssertEqual(
            report["error"] as? String,
            "redirected to http://127.0.0.1:\(web)/clip.mp4: 127.0.0.1 is not in urlJobs.allowHosts")
        XCTAssertEqual(files("done"), [])

        // With a token and no list, this host's loopback is out of reach of API jobs.
        _ = try config(#", "http": {"listen": "127.0.0.1:\#(port)", "token": "a-token-0123456789"}"#)
        kill(daemon.processIdentifier, SIGHUP)
        try wait("the reload") { daemonLog().contains("reloaded \(path)") }
        let loopback = try ask(
            port, "POST", "/api/v1/jobs", headers: ["Content-Type: application/json", "Authorization: Bearer a-token-0123456789"],
            body: #"{"source": "http://localhost:8089/api/v1/status"}"#)
        XCTAssertEqual(loopback.status, 400)
        XCTAssertTrue(loopback.body.contains("a loopback or link-local address"), loopback.body)
        XCTAssertEqual(stop(daemon).0, 0)
    }
}
