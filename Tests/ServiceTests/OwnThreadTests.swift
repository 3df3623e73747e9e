import Pipeline
import XCTest

@testable import Service

/// Notes when it is freed, and takes its time being freed (as a model does).
private final class SlowToFree: Sendable {
    let freed: Locked<Bool>
    init(_ freed: Locked<Bool>) { self.freed = freed }
    deinit {
        Thread.sleep(forTimeInterval: 0.05)
        freed.value = true
    }
}

final class OwnThreadTests: XCTestCase {
    /// What the work holds is freed on its thread before the caller resumes: never
    /// later, on a thread still ending (where a model's last release could race the
    /// process's exit).
    func testTheWorkIsLetGoBeforeTheCallerResumes() async {
        for _ in 0..<3 {
            let freed = Locked(false)
            var held: SlowToFree? = SlowToFree(freed)
            let value = await onOwnThread(named: "trackd test") { [held] in held != nil ? 1 : 0 }
            held = nil
            XCTAssertEqual(value, 1)
            XCTAssertTrue(freed.value, "freed before onOwnThread returned")
        }
    }
}
