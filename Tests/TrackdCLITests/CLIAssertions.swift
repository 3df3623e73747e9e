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

/// Three copies of the woman from person.jpg (boxes 60 × 194) walking over a plain
/// 640 × 360 background for 8 s at 10 fps, written to `video`: A walks right
/// (x = 20 + 60t, y = 100), B walks left (x = 480 − 50t, y = 140) and the two cross (one
/// hides the other), C walks slowly down the right side (x = 560, y = 10 + 8t).
/// Returns the ground truth as MOTChallenge lines (ids 1, 2, 3).
func makeWalkers(_ video: String) throws -> [String] {
    let made = try runProcess(
        "ffmpeg",
        [
            "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x6a7a5a:s=640x360:r=10:d=8",
            "-loop", "1", "-i", try Deps.media("person.jpg"), "-filter_complex",
            "[1]crop=86:278:190:98,scale=60:194,split=3[a][b][c];[0][a]overlay=x='20+60*t':y=100:shortest=1[v1];"
                + "[v1][b]overlay=x='480-50*t':y=140[v2];[v2][c]overlay=x=560:y='10+8*t'",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-frames:v", "80", video
        ])
    XCTAssertEqual(made.status, 0, made.stderr)
    var truth: [String] = []
    for n in 0..<80 {
        let t = Double(n) / 10
        // overlay places at whole pixels (it truncates the expressions).
        for (id, x, y) in [
            (1, (20 + 60 * t).rounded(.down), 100.0), (2, (480 - 50 * t).rounded(.down), 140),
            (3, 560, (10 + 8 * t).rounded(.down))
        ] {
            truth.append("\(n + 1),\(id),\(x),\(y),60,194,1,1,1")
        }
    }
    return truth
}
