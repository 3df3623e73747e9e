import Foundation
import TestSupport
import XCTest

/// The helpers the tests start (daemons, stream senders, web servers, event clients)
/// can be stopped: none starts with SIGTERM blocked or ignored, even when started from
/// an async test, whose thread (a libdispatch worker) blocks most signals.
final class HelperProcessTests: XCTestCase {
    func testAHelperStartedFromAnAsyncTestStartsWithNoSignalBlockedAndEndsOnSIGTERM() async throws {
        let status = try runProcess("/bin/grep", ["-E", "^Sig(Blk|Ign):", "/proc/self/status"])
        XCTAssertEqual(status.status, 0, status.stderr)
        let masks = Dictionary(
            uniqueKeysWithValues: status.output.split(separator: "\n").compactMap { line -> (String, UInt64)? in
                let parts = line.split(separator: "\t")
                guard parts.count == 2, let mask = UInt64(parts[1], radix: 16) else { return nil }
                return (String(parts[0]), mask)
            })
        XCTAssertEqual(masks["SigBlk:"], 0, status.output)
        let term = UInt64(1) << (SIGTERM - 1)
        XCTAssertEqual((masks["SigIgn:"] ?? term) & term, 0, "SIGTERM is not ignored: \(status.output)")

        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["60"]
        try spawn(sleeper)
        let started = Date()
        stopChild(sleeper)
        XCTAssertEqual(sleeper.terminationReason, .uncaughtSignal)
        XCTAssertEqual(sleeper.terminationStatus, SIGTERM, "ended by SIGTERM, not by the SIGKILL that follows a timeout")
        XCTAssertLessThan(Date().timeIntervalSince(started), 4)
    }
}
