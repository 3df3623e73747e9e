import Foundation
import TestSupport
import XCTest

/// The inputs fuzzing found problems with (Benchmarks/fuzz-inputs/<target>/), replayed
/// through the same parsers by FuzzParsers built plainly: each must now parse or be
/// refused, never crash or hang.
final class FuzzInputTests: XCTestCase {
    func testInputsFuzzingFoundAreHandled() throws {
        let kept = Deps.repository.appendingPathComponent("Benchmarks/fuzz-inputs")
        let targets = try FileManager.default.contentsOfDirectory(atPath: kept.path).sorted()
        XCTAssertFalse(targets.isEmpty)
        for target in targets {
            let files = try FileManager.default.contentsOfDirectory(atPath: kept.appendingPathComponent(target).path).sorted()
                .map { kept.appendingPathComponent(target).appendingPathComponent($0).path }
            let process = Process()
            process.executableURL = productsDirectory.appendingPathComponent("FuzzParsers")
            process.arguments = files
            process.environment = ["TRACKD_FUZZ_TARGET": target, "SWIFT_BACKTRACE": "enable=no"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try spawn(process)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "\(target): \(files)")
        }
    }
}
