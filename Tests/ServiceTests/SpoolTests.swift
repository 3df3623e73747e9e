import Foundation
import TestSupport
import XCTest

@testable import ServiceFiles

/// The spool's rule for files still being written, on a clock the test gives: no
/// waiting, so the result does not depend on how busy the machine is.
final class SpoolTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testAFileIsReadyOnlyOnceItHasStoppedChangingForStableSeconds() throws {
        let spool = try Spool(root: dir.path)
        let growing = spool.inbox + "/b.mp4"
        try Data(repeating: 1, count: 1000).write(to: URL(fileURLWithPath: growing))
        XCTAssertEqual(spool.ready(stableSeconds: 1.5, now: 100), [], "first seen: the wait starts")
        XCTAssertEqual(spool.ready(stableSeconds: 1.5, now: 101), [], "unchanged for 1 s of 1.5")

        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: growing))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(repeating: 2, count: 1000))
        try handle.close()
        XCTAssertEqual(spool.ready(stableSeconds: 1.5, now: 102), [], "it grew: the wait starts over")
        XCTAssertEqual(spool.ready(stableSeconds: 1.5, now: 103.4), [])
        XCTAssertEqual(spool.ready(stableSeconds: 1.5, now: 103.5), ["b.mp4"], "unchanged for 1.5 s since it grew")

        // The same size with a new modification time is a change too.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: growing)
        XCTAssertEqual(spool.ready(stableSeconds: 1.5, now: 104), [])
        XCTAssertEqual(spool.ready(stableSeconds: 1.5, now: 105.5), ["b.mp4"])
    }

    func testPartAndHiddenFilesAreNeverReadyAndLinksAreHandedOverAtOnce() throws {
        let spool = try Spool(root: dir.path)
        for name in ["a.mp4.part", ".hidden.mp4"] {
            try Data(repeating: 1, count: 10).write(to: URL(fileURLWithPath: spool.inbox + "/" + name))
        }
        try FileManager.default.createSymbolicLink(atPath: spool.inbox + "/link.mp4", withDestinationPath: "/etc/passwd")
        // A link is not waited for: it is handed over to be refused.
        XCTAssertEqual(spool.ready(stableSeconds: 1.5, now: 100), ["link.mp4"])
        XCTAssertEqual(spool.ready(stableSeconds: 1.5, now: 1000), ["link.mp4"])
    }

    func testReadyFilesComeOldestFirstAndAClaimMovesThemToProcessing() throws {
        let spool = try Spool(root: dir.path)
        for (name, seconds) in [("new.mp4", 2_000_000.0), ("old.mp4", 1_000_000.0)] {
            let path = spool.inbox + "/" + name
            try Data(repeating: 1, count: 10).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: seconds)], ofItemAtPath: path)
        }
        _ = spool.ready(stableSeconds: 1, now: 100)
        XCTAssertEqual(spool.ready(stableSeconds: 1, now: 101), ["old.mp4", "new.mp4"])
        XCTAssertEqual(spool.claim("old.mp4"), "old.mp4")
        XCTAssertNil(spool.claim("old.mp4"), "already taken")
        XCTAssertEqual(spool.leftInProcessing(), ["old.mp4"])
        XCTAssertEqual(spool.ready(stableSeconds: 1, now: 102), ["new.mp4"])
    }
}

/// Job names and job files: no job takes another's name or log, and a job names only
/// a regular file under the spool.
final class SpoolJobTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func put(_ path: String) throws {
        try Data("x".utf8).write(to: URL(fileURLWithPath: path))
    }

    func testAClaimNeverTakesTheNameOrTheLogOfAnotherJob() throws {
        let spool = try Spool(root: dir.path)
        // dup.mp4 was tracked before: done, with its log.
        try put(spool.done + "/dup.mp4")
        try put(spool.logs + "/dup.jsonl")
        try put(spool.inbox + "/dup.mp4")
        XCTAssertEqual(spool.claim("dup.mp4"), "dup-2.mp4")
        XCTAssertEqual(spool.leftInProcessing(), ["dup-2.mp4"])
        XCTAssertEqual(spool.logPath("dup-2.mp4"), spool.logs + "/dup-2.jsonl")
        // A third, while the second is still running.
        try put(spool.inbox + "/dup.mp4")
        XCTAssertEqual(spool.claim("dup.mp4"), "dup-3.mp4")
        // Another extension, the same stem: the log name is taken.
        try put(spool.logs + "/cam.jsonl")
        try put(spool.inbox + "/cam.json")
        XCTAssertEqual(spool.claim("cam.json"), "cam-2.json")
        // A name that failed before is taken too.
        try put(spool.failed + "/bad.mp4")
        try put(spool.inbox + "/bad.mp4")
        XCTAssertEqual(spool.claim("bad.mp4"), "bad-2.mp4")
        try put(spool.inbox + "/new.mp4")
        XCTAssertEqual(spool.claim("new.mp4"), "new.mp4")
        XCTAssertEqual(spool.leftInProcessing(), ["bad-2.mp4", "cam-2.json", "dup-2.mp4", "dup-3.mp4", "new.mp4"])
    }

    func testJobsOfOneStemClaimedTogetherGetLogsOfTheirOwn() throws {
        let spool = try Spool(root: dir.path)
        // Both visible in one poll: neither has a log yet when the other is claimed.
        try put(spool.inbox + "/q.mp4")
        try put(spool.inbox + "/q.json")
        let first = try XCTUnwrap(spool.claim("q.json"))
        let second = try XCTUnwrap(spool.claim("q.mp4"))
        XCTAssertEqual([first, second], ["q.json", "q-2.mp4"])
        XCTAssertNotEqual(spool.logPath(first), spool.logPath(second))
        // A failed job's error report does not hold its stem back from another.
        try put(spool.inbox + "/r.mp4")
        XCTAssertEqual(spool.claim("r.mp4"), "r.mp4")
        spool.fail("r.mp4", error: "broken")
        try put(spool.inbox + "/r.json")
        XCTAssertEqual(spool.claim("r.json"), "r-2.json", "r's log name belongs to the failed r.mp4")
    }

    /// Job files are read strictly: a key given twice, a control character in a path
    /// or URL, and a number JSON cannot hold are refused with what is wrong; a URL's
    /// scheme is taken in any case and handed on in the case FFmpeg knows.
    func testJobFilesAreReadStrictly() throws {
        let spool = try Spool(root: dir.path)
        try put(spool.media + "/good.mp4")
        for (text, message) in [
            (#"{"video": "media/good.mp4", "video": "/etc/passwd"}"#, "j.json gives the key 'video' twice in one object"),
            (#"{"video": "media/good.mp4", "vid\u0065o": "x"}"#, "gives the key 'video' twice"),
            (#"{"video": "media/good.mp4", "stride": 1e400}"#, "j.json is not valid JSON (Number 1e400"),
            (#"{"video": "media/good.mp4\u0000.txt"}"#, "j.json: 'video' holds a control character"),
            (#"{"url": "http://host/a.mp4\r\nX: y"}"#, "j.json: 'url' holds a control character"),
            ("[1]", "j.json is not a JSON object"),
            (#"{"video": "media/good.mp4", "maxFrames": 0}"#, "j.json: 'maxFrames' must be a whole number >= 1"),
            (#"{"video": "media/good.mp4", "maxSeconds": -1}"#, "j.json: 'maxSeconds' must be a number of seconds > 0"),
            (
                #"{"video": "media/good.mp4", "analytics": {"lines": [{"name": "a", "from": [0, 0], "to": [0, 0]}]}}"#,
                "j.json: analytics.lines[0].to: the line has no length"
            ),
            (
                #"{"video": "media/good.mp4", "analytics": "../outside.json"}"#,
                "j.json: 'analytics' must be a path under the spool"
            ),
            (
                #"{"video": "media/good.mp4", "analytics": "media/none.json"}"#,
                "j.json: no such file under the spool: media/none.json"
            )
        ] {
            XCTAssertThrowsError(try JobSpec.parse(Data(text.utf8), name: "j.json", spool: spool), text) { error in
                XCTAssertTrue("\(error)".contains(message), "\(text): \(error)")
            }
        }
        // Analytics inline or in a file under the spool.
        try #"{"lines": [{"name": "door", "from": [0, 0], "to": [0, 9]}]}"#.write(
            toFile: spool.media + "/door.json", atomically: true, encoding: .utf8)
        let counted = try JobSpec.parse(
            Data(#"{"video": "media/good.mp4", "analytics": "media/door.json"}"#.utf8), name: "j.json", spool: spool)
        XCTAssertEqual(counted.analytics?.lines.first?.name, "door")
        // Nested objects and arrays keep their own keys.
        XCTAssertNil(StrictJSON.repeatedKey(in: Data(#"{"a": {"b": 1}, "b": [{"a": 2}, {"a": 3}], "c": "a"}"#.utf8)))
        XCTAssertEqual(
            try JobSpec.parse(Data(#"{"url": "HTTP://Example.com/A.mp4"}"#.utf8), name: "j.json", spool: spool).source,
            "http://Example.com/A.mp4")
    }

    func testAJobNamingAFIFOOrADirectoryIsRefused() throws {
        let spool = try Spool(root: dir.path)
        XCTAssertEqual(mkfifo(spool.media + "/pipe.mp4", 0o600), 0)
        try FileManager.default.createDirectory(atPath: spool.media + "/folder.mp4", withIntermediateDirectories: false)
        try put(spool.media + "/good.mp4")
        for (job, video) in [("fifo.json", "pipe.mp4"), ("dir.json", "folder.mp4"), ("good.json", "good.mp4")] {
            try #"{"video": "media/\#(video)"}"#.write(toFile: spool.processing + "/" + job, atomically: true, encoding: .utf8)
        }
        for job in ["fifo.json", "dir.json"] {
            XCTAssertThrowsError(try JobSpec.load(job, spool: spool, maxJobBytes: 4096)) { error in
                XCTAssertTrue("\(error)".contains("is not a regular file"), "\(error)")
            }
        }
        XCTAssertEqual(try JobSpec.load("good.json", spool: spool, maxJobBytes: 4096).source.hasSuffix("/media/good.mp4"), true)
    }

    func testAJobThatEndsBeforeItStartsIsRefused() throws {
        let spool = try Spool(root: dir.path)
        try put(spool.media + "/good.mp4")
        for (job, range) in [("backwards.json", #""start": 10, "end": 5"#), ("instant.json", #""start": 5, "end": 5"#)] {
            try #"{"video": "media/good.mp4", \#(range)}"#.write(
                toFile: spool.processing + "/" + job, atomically: true, encoding: .utf8)
        }
        XCTAssertThrowsError(try JobSpec.load("backwards.json", spool: spool, maxJobBytes: 4096)) { error in
            XCTAssertEqual(
                "\(error)".contains("backwards.json: 'end' (5.0 s) must not be before 'start' (10.0 s)"), true, "\(error)")
        }
        XCTAssertEqual(try JobSpec.load("instant.json", spool: spool, maxJobBytes: 4096).end, 5)
    }
}
