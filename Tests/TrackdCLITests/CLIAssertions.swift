import TestSupport
import TrackLog
import XCTest

/// A failed command: exit status 1, one line on stderr starting `trackd: error: ` and
/// containing `text`, and (unless the command reports work done before failing)
/// nothing on stdout.
func assertOneLineError(
    _ result: ProcessResult, contains text: String, stdoutEmpty: Bool = true,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(result.status, 1, file: file, line: line)
    XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "stderr: \(result.stderr)", file: file, line: line)
    XCTAssertTrue(result.stderr.hasPrefix("trackd: error: "), result.stderr, file: file, line: line)
    XCTAssertTrue(result.stderr.contains(text), "expected '\(text)' in: \(result.stderr)", file: file, line: line)
    XCTAssertTrue(!stdoutEmpty || result.stdout.isEmpty, "stdout: \(result.output)", file: file, line: line)
}

/// Every record of a track log: its reader (header, cut-off tail), frames and end line.
func readLog(_ path: String) throws -> (reader: TrackLogReader, frames: [LogFrame], end: LogEnd?) {
    let log = try readLogWithEvents(path)
    return (log.reader, log.frames, log.end)
}

/// Every record of a track log, its events too.
func readLogWithEvents(_ path: String) throws -> (
    reader: TrackLogReader, frames: [LogFrame], end: LogEnd?, events: [LogEvent]
) {
    let reader = try TrackLogReader(path: path)
    var frames: [LogFrame] = []
    var events: [LogEvent] = []
    var end: LogEnd?
    while let record = try reader.next() {
        switch record {
        case .frame(let f): frames.append(f)
        case .event(let e): events.append(e)
        case .end(let e): end = e
        case .header: XCTFail("a second header in \(path)")
        }
    }
    return (reader, frames, end, events)
}
