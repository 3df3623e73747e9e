import Foundation
import TestSupport
import XCTest

/// Jobs whose source trickles — a server that sends a byte every half second never
/// trips the network timeout — still end: at a cancel, at a shutdown, and on their own
/// after `stallSeconds` without a frame; a cancel outlives a restart; and the password
/// in a job's URL is never shown.
extension ServeTests {
    private func submit(_ port: Int, _ url: String) throws -> String {
        try submitJob(port, #"{"source": "\#(url)"}"#)
    }

    /// Submits a job over the API; its id.
    private func submitJob(_ port: Int, _ body: String) throws -> String {
        let answer = try ask(port, "POST", "/api/v1/jobs", headers: ["Content-Type: application/json"], body: body)
        XCTAssertEqual(answer.status, 201, answer.body)
        let json = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
        return try XCTUnwrap(json?["id"] as? String)
    }

    /// The error of a job in `failed/`.
    private func errorReport(_ job: String) -> String {
        let data = FileManager.default.contents(atPath: spool + "/failed/\(job).error.json") ?? Data()
        return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["error"] as? String ?? ""
    }

    private func mode(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o777 : 0
    }

    func testATrickledJobEndsAtACancelAShutdownAndAfterStallSecondsAndItsPasswordIsNeverShown() throws {
        let trickle = try TrickleServer()
        defer { trickle.stop() }
        let port = try freeTCPPort()
        let path = try config(#", "stallSeconds": 3, "http": {"listen": "127.0.0.1:\#(port)"}"#)
        var daemon = try start(path)
        _ = try listeningAddress()
        let secret = "s3cret-pass"
        let slow = "http://viewer:\(secret)@127.0.0.1:\(trickle.port)/slow.mp4"
        // probe gives such a source up too.
        let probe = try runProcess(trackd, ["probe", slow, "--stall-seconds", "2"])
        XCTAssertEqual(probe.status, 1)
        XCTAssertEqual(
            probe.stderr,
            "trackd: error: http://***@127.0.0.1:\(trickle.port)/slow.mp4: gave up: nothing usable received in 2.0 s (--stall-seconds)\n"
        )

        // A recording that never ends stops at maxFrames, done.
        try FileManager.default.createDirectory(atPath: spool + "/media", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 2), toPath: spool + "/media/clip.mp4")
        let boundedID = try submitJob(port, #"{"source": "media/clip.mp4", "options": {"maxFrames": 5}}"#)
        try wait("the bounded job") { files("done").contains(boundedID) }
        let (_, boundedFrames, boundedEnd) = try readLog(
            spool + "/logs/" + boundedID.replacingOccurrences(of: ".json", with: ".jsonl"))
        XCTAssertEqual(boundedFrames.count, 5)
        XCTAssertEqual(boundedEnd?.status, .complete)

        // A cancel ends the wait on the source at once.
        let cancelled = try submit(port, slow)
        try wait("the job to start") { daemonLog().contains("job \(cancelled): tracking") }
        Thread.sleep(forTimeInterval: 0.5)
        let asked = Date()
        let delete = try ask(port, "DELETE", "/api/v1/jobs/\(cancelled)")
        XCTAssertEqual(delete.status, 202, delete.body)
        try wait("the cancel", timeout: 10) { files("failed").contains(cancelled + ".error.json") }
        XCTAssertLessThan(Date().timeIntervalSince(asked), 2, "a cancel takes effect within a second or so")
        XCTAssertTrue(errorReport(cancelled).contains("cancelled over the HTTP API"), errorReport(cancelled))

        // No frame for stallSeconds: failed, saying why.
        let stalled = try submit(port, slow)
        let submitted = Date()
        try wait("the stall", timeout: 30) { files("failed").contains(stalled + ".error.json") }
        XCTAssertLessThan(Date().timeIntervalSince(submitted), 10)
        XCTAssertTrue(errorReport(stalled).contains("no frame in 3 s (stallSeconds)"), errorReport(stalled))

        // A URL that fails: its password is in no report, answer or log line, and the
        // job's files are its user's only.
        let refused = try submit(port, "http://viewer:\(secret)@127.0.0.1:1/none.mp4")
        try wait("the failure") { files("failed").contains(refused + ".error.json") }
        XCTAssertTrue(errorReport(refused).contains("http://***@127.0.0.1:1/none.mp4"), errorReport(refused))
        XCTAssertEqual(mode(spool + "/failed/\(refused)"), 0o600)
        XCTAssertEqual(mode(spool + "/failed/\(refused).error.json"), 0o600)
        let listed = try ask(port, "GET", "/api/v1/jobs")
        XCTAssertTrue(listed.body.contains(refused), listed.body)
        let status = try String(contentsOfFile: spool + "/status.json", encoding: .utf8)
        for (what, text) in [("the job list", listed.body), ("the status", status)] {
            XCTAssertFalse(text.contains(secret), "\(what): \(text)")
        }

        // A shutdown ends a job that waits on its source, which stays to run again.
        let resumed = try submit(port, slow)
        try wait("the job to start") { daemonLog().contains("job \(resumed): tracking") }
        let (code, seconds) = stop(daemon)
        XCTAssertEqual(code, 0)
        XCTAssertLessThan(seconds, 5)
        XCTAssertTrue(files("processing").contains(resumed), "\(files("processing"))")
        let log = daemonLog()
        XCTAssertFalse(log.contains(secret), log)
        XCTAssertTrue(log.contains("http://***@127.0.0.1"), log)

        // A job cancelled whose move to failed/ never happened is not run again.
        XCTAssertTrue(FileManager.default.createFile(atPath: spool + "/processing/.\(resumed).cancelled", contents: nil))
        daemon = try start(path)
        try wait("the cancelled job to be failed") { files("failed").contains(resumed + ".error.json") }
        XCTAssertTrue(errorReport(resumed).contains("cancelled over the HTTP API"), errorReport(resumed))
        XCTAssertFalse(daemonLog().contains("job \(resumed): tracking"), daemonLog())
        XCTAssertEqual(files("processing"), [])
        XCTAssertEqual(stop(daemon).0, 0)
    }
}
