import Foundation

/// The repository's `fixtures/` folder and the files in it.
public enum Fixtures {
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures")

    public static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// Videos that decode cleanly from start to end.
    public static let goodVideos = ["h264.mp4", "mjpeg.avi", "hevc-audio.mkv", "vfr.mp4", "no-pts.h264"]

    /// `checksums.tsv`: (file, frame index, MD5 of the CLI's RGB24 frame).
    public static func checksums() throws -> [(file: String, frame: Int, md5: String)] {
        try String(contentsOfFile: path("checksums.tsv"), encoding: .utf8)
            .split(separator: "\n")
            .filter { !$0.hasPrefix("#") }
            .map { line in
                let f = line.split(separator: "\t").map(String.init)
                return (f[0], Int(f[1])!, f[2])
            }
    }
}

public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: String
    public var output: String { String(decoding: stdout, as: UTF8.self) }
}

public enum TestError: Error, CustomStringConvertible {
    case command(String)
    case missing(String)
    public var description: String {
        switch self {
        case .command(let text), .missing(let text): text
        }
    }
}

/// Starts `process` with no signal blocked. A child inherits the signal mask of the
/// thread that spawns it, and the threads tests run on block signals (libdispatch's
/// worker threads, where async tests run, block most of them, SIGTERM included): a
/// helper started there would never get its SIGTERM, and would outlive the suite.
/// Foundation's `Process` spawns on the calling thread, so the mask is cleared
/// around `run()` only.
public func spawn(_ process: Process) throws {
    var none = sigset_t()
    sigemptyset(&none)
    var saved = sigset_t()
    pthread_sigmask(SIG_SETMASK, &none, &saved)
    defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
    try process.run()
}

/// Ends a helper process, whether its test passed or failed: SIGTERM, up to `grace`
/// seconds to exit, then SIGKILL; reaped either way.
public func stopChild(_ process: Process, grace: Double = 5) {
    guard process.processIdentifier > 0 else { return }
    if process.isRunning { kill(process.processIdentifier, SIGTERM) }
    let deadline = Date().addingTimeInterval(grace)
    while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
}

/// Runs a program to completion and collects what it printed.
public func runProcess(
    _ executable: String, _ arguments: [String], stdin: Data? = nil,
    directory: URL? = nil
) throws -> ProcessResult {
    let process = Process()
    if let directory { process.currentDirectoryURL = directory }
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = input
    try spawn(process)
    // Drain both pipes on their own threads so a chatty child never blocks.
    nonisolated(unsafe) var errData = Data()
    let errDone = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        errDone.signal()
    }
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    errDone.wait()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus, stdout: outData,
        stderr: String(decoding: errData, as: UTF8.self))
}

/// The reference decoder: ffmpeg's own tools on the same file.
public enum FFmpegCLI {
    /// Presentation times (`best_effort_timestamp_time`) of every frame
    /// `ffprobe -show_frames` reports for the first video stream; `nil` entries are N/A.
    /// `explode` makes the decoder drop damaged frames, as the reader does by default.
    public static func frameTimes(_ file: String, explode: Bool = false) throws -> [Double?] {
        let result = try runProcess(
            "ffprobe",
            ["-v", "error"] + (explode ? ["-err_detect", "explode"] : []) + [
                "-select_streams", "v:0", "-show_frames",
                "-show_entries", "frame=best_effort_timestamp_time", "-of", "json", file
            ])
        guard let root = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any],
            let frames = root["frames"] as? [[String: Any]]
        else {
            throw TestError.command("ffprobe printed no frames for \(file): \(result.stderr)")
        }
        return frames.map { ($0["best_effort_timestamp_time"] as? String).flatMap(Double.init) }
    }

    /// Frame `index` converted by the CLI to packed RGB24 at `width`×`height` (native
    /// size when nil), with swscale's bicubic filter as the CLI uses by default.
    public static func rgbFrame(_ file: String, index: Int, width: Int? = nil, height: Int? = nil) throws -> [UInt8] {
        let scale = width.map { ",scale=\($0):\(height!)" } ?? ""
        let result = try runProcess(
            "ffmpeg",
            [
                "-hide_banner", "-v", "error", "-i", file, "-map", "0:v:0",
                "-vf", "select=eq(n\\,\(index))\(scale)", "-fps_mode", "passthrough",
                "-frames:v", "1", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"
            ])
        guard result.status == 0, !result.stdout.isEmpty else {
            throw TestError.command("ffmpeg could not extract frame \(index) of \(file): \(result.stderr)")
        }
        return [UInt8](result.stdout)
    }
}

/// MD5 of `bytes` as hex, from coreutils' md5sum (the same tool the fixture script uses).
public func md5(_ bytes: [UInt8]) throws -> String {
    let result = try runProcess("md5sum", [], stdin: Data(bytes))
    return String(result.output.prefix(32))
}

/// The directory holding the built products (`.build/debug` or `.build/release`).
public var productsDirectory: URL {
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        return bundle.bundleURL.deletingLastPathComponent()
    }
    return Bundle.main.bundleURL
}

/// A fresh temporary directory, removed by the caller.
public func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("trackd-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// SplitMix64: random numbers that are the same on every run, so a failing random
/// case reproduces.
public struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What `scripts/setup` installs into the git-ignored `.deps/`: models and real media.
public enum Deps {
    public static let repository = Fixtures.directory.deletingLastPathComponent()

    /// `.deps/models/<name>` or `.deps/media/<name>`; fails the test with the fix if missing.
    public static func path(_ kind: String, _ name: String) throws -> String {
        let path = repository.appendingPathComponent(".deps/\(kind)/\(name)").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestError.missing("\(path) is missing: run scripts/setup")
        }
        return path
    }

    public static func model(_ name: String) throws -> String { try path("models", name) }
    public static func media(_ name: String) throws -> String { try path("media", name) }

    /// A script under `scripts/`.
    public static func script(_ name: String) -> String {
        repository.appendingPathComponent("scripts/\(name)").path
    }
}

/// The benchmark data vendored in `Benchmarks/data/` (see its SOURCES.md).
public enum BenchmarkData {
    public static let directory = Deps.repository.appendingPathComponent("Benchmarks/data")

    /// MOT17 val-half: seven sequences with gt, YOLOX-X detections and seqinfo.ini.
    public static let valhalf = directory.appendingPathComponent("MOT17/valhalf")

    /// One val-half sequence folder, such as `MOT17-09-FRCNN`.
    public static func valhalf(_ sequence: String) -> URL {
        valhalf.appendingPathComponent(sequence)
    }
}

/// A socket of `type` (`SOCK_DGRAM`, `SOCK_STREAM`) bound to a port on loopback that
/// the kernel picks (so tests running at once do not collide), and that port.
public func loopbackSocket(_ type: __socket_type) throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(type.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard fd >= 0, bound else {
        if fd >= 0 { close(fd) }
        throw TestError.command("cannot bind a socket on loopback: errno \(errno)")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// A UDP port on loopback that nothing is bound to now.
public func freeUDPPort() throws -> Int {
    let (fd, port) = try loopbackSocket(SOCK_DGRAM)
    close(fd)
    return port
}

/// A loopback TCP port that was free a moment ago.
public func freeTCPPort() throws -> Int {
    let (fd, port) = try loopbackSocket(SOCK_STREAM)
    close(fd)
    return port
}

/// MP4 files with a damaged index: 5 s of vtest.avi at 10 fps, H.264 with B-frames
/// (so the `ctts` box holds each frame's composition offset), then one box patched.
public enum DamagedMP4 {
    /// The intact file, in `dir`.
    public static func intact(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("intact.mp4").path
        let made = try runProcess(
            "ffmpeg",
            [
                "-v", "error", "-y", "-i", try Deps.media("vtest.avi"), "-t", "5", "-r", "10",
                "-c:v", "libx264", "-threads", "1", "-bf", "2", "-g", "12", "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", path
            ])
        guard made.status == 0 else { throw TestError.command("ffmpeg: \(made.stderr)") }
        return path
    }

    /// A copy of `intact` named `name` with `ctts` entries (run index → offset in
    /// time-base ticks) replaced: frames shown before their neighbours, or before the
    /// start of the presentation.
    public static func compositionOffsets(_ intact: String, _ offsets: [Int: UInt32], name: String) throws -> String {
        try patch(intact, box: "ctts", name: name) { bytes, box in
            for (entry, offset) in offsets { store(offset, in: &bytes, at: box + 12 + 8 * entry + 4) }
        }
    }

    /// A copy of `intact` whose `stts` claims a billion entries.
    public static func absurdTimeToSample(_ intact: String, name: String) throws -> String {
        try patch(intact, box: "stts", name: name) { bytes, box in store(0x3FFF_FFFF, in: &bytes, at: box + 8) }
    }

    private static func patch(
        _ intact: String, box name: String, name target: String,
        _ change: (inout [UInt8], Int) -> Void
    ) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: intact)))
        let tag = Array(name.utf8)
        guard let at = (0..<(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == tag }) else {
            throw TestError.command("no \(name) box in \(intact)")
        }
        change(&bytes, at)
        let path = URL(fileURLWithPath: intact).deletingLastPathComponent().appendingPathComponent(target).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private static func store(_ value: UInt32, in bytes: inout [UInt8], at offset: Int) {
        for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (24 - 8 * k)) }
    }
}

/// One HTTP/1.1 exchange over a plain socket to `127.0.0.1:port`, `request` sent as
/// given (so a test can send any `Host` or a request a client library would not), read
/// until the server closes: the status code and the body.
public func rawHTTP(port: Int, _ request: String, timeout: Int = 30) throws -> (status: Int, body: String) {
    let fd = try connectLoopback(port: port)
    defer { close(fd) }
    var wait = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
    let bytes = Array(request.utf8)
    guard write(fd, bytes, bytes.count) == bytes.count else { throw TestError.command("write: errno \(errno)") }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while case let n = read(fd, &buffer, buffer.count), n > 0 { answer += buffer[..<n] }
    let text = String(decoding: answer, as: UTF8.self)
    let parts = text.components(separatedBy: "\r\n\r\n")
    let statusLine = parts.first?.split(separator: "\r\n").first ?? ""
    guard let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
        throw TestError.command("no HTTP answer: \(text)")
    }
    return (status, parts.dropFirst().joined(separator: "\r\n\r\n"))
}

/// A TCP connection to `127.0.0.1:port`: its descriptor, for the caller to close.
public func connectLoopback(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestError.command("socket: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        throw TestError.command("connect to port \(port): errno \(errno)")
    }
    return fd
}

/// A web server on loopback that answers every request with the headers of a large
/// video and then one byte every half second: a source that never trips a network
/// timeout and never gives a frame. Stopped with SIGKILL: it is only a stand-in.
public final class TrickleServer {
    public let port: Int
    private let process: Process

    public init() throws {
        let script = """
            import socket, sys, threading, time
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(16)
            print(s.getsockname()[1], flush=True)
            def serve(c):
                try:
                    c.recv(65536)
                    c.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Type: video/mp4\\r\\nContent-Length: 100000000\\r\\n\\r\\n")
                    while True:
                        c.sendall(b"\\0")
                        time.sleep(0.5)
                except OSError:
                    pass
            while True:
                c, _ = s.accept()
                threading.Thread(target=serve, args=(c,), daemon=True).start()
            """
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        // The last argument only names it, for the CI's check for leftover helpers.
        process.arguments = ["-c", script, "trackd-test-trickle-server"]
        let out = Pipe()
        process.standardOutput = out
        try spawn(process)
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestError.command("the trickle server did not say its port: \(line)")
        }
        self.port = port
    }

    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
